"""Perceptual image hashes, bit-identical to the ``imagehash`` package.

This module implements the four classic perceptual hashes -- average hash
(aHash), difference hash (dHash), DCT perceptual hash (pHash) and Haar
wavelet hash (wHash) -- so that for every Pillow image mode and every image
size the bits are *exactly* those of ``imagehash.average_hash``,
``imagehash.dhash``, ``imagehash.phash`` and ``imagehash.whash`` (version
4.3.2, default arguments).  Bit-identity is obtained by performing the same
Pillow operations in the same order (``Image.convert('L')`` followed by a
``Image.resize`` with the LANCZOS filter), the same NumPy reductions, the
same ``scipy.fftpack`` DCT and the same PyWavelets transforms; the code
itself is an independent implementation.  Beside them, the colour hash
(:func:`color_hash`) equals ``imagehash.colorhash``: shares of black, grey
and hue bins from Pillow's own 'L' and 'HSV' conversions.

The hash values are wrapped in the immutable :class:`PerceptualHash`, whose
difference ``h1 - h2`` is the Hamming distance between the two bit
matrices: 0 for identical (or perceptually indistinguishable) images and at
most ``len(h)`` (64 bits for the default 8x8 hashes) for unrelated ones.

SciPy and PyWavelets are imported lazily inside the functions that need
them, so importing this module only costs NumPy and Pillow.

References
----------
.. [1] N. Krawetz, "Looks Like It", The Hacker Factor Blog, 2011.
       https://www.hackerfactor.com/blog/index.php?/archives/432-Looks-Like-It.html
.. [2] N. Krawetz, "Kind of Like That", The Hacker Factor Blog, 2013.
       https://www.hackerfactor.com/blog/index.php?/archives/529-Kind-of-Like-That.html
.. [3] C. Zauner, "Implementation and Benchmarking of Perceptual Image Hash
       Functions", Master's thesis, Upper Austria University of Applied
       Sciences, Hagenberg, 2010.
.. [4] J. Buchner, "ImageHash: a perceptual image hashing module for
       Python", https://github.com/JohannesBuchner/imagehash (wavelet hash
       derived from the Kaggle "Avito Duplicate Ads Detection" solutions).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping

import numpy as np
from PIL import Image

__all__ = [
    "COLOR_HASH_BINS",
    "HASH_FUNCTIONS",
    "PerceptualHash",
    "average_hash",
    "color_hash",
    "difference_hash",
    "hash_from_luma8",
    "perceptual_hash",
    "wavelet_hash",
]

#: Resampling filter used by imagehash for every downscale.
_LANCZOS = Image.Resampling.LANCZOS

#: Default hash side length (8 x 8 = 64 bits), as in imagehash.
_DEFAULT_HASH_SIZE = 8

#: pHash works on a (hash_size * factor)^2 thumbnail, as imagehash's default.
_PHASH_HIGHFREQ_FACTOR = 4

#: Square hash kind names, in the order of :data:`HASH_FUNCTIONS`.
_SQUARE_KINDS = ("ahash", "dhash", "phash", "whash")

#: Every kind a :class:`PerceptualHash` may carry.
_KINDS = (*_SQUARE_KINDS, "colorhash")

#: Rows of a colour hash: black, grey, six faint and six bright hue bins.
COLOR_HASH_BINS = 14

#: Bits per bin of imagehash.colorhash's default (14 x 3 = 42 bits).
_DEFAULT_BINBITS = 3

_HEX_DIGITS = frozenset(string.hexdigits)


def _hex_width(n_bits: int) -> int:
    """Number of hex digits imagehash prints for ``n_bits`` bits."""
    return -(-n_bits // 4)


class PerceptualHash:
    """Immutable perceptual hash: a boolean bit matrix plus its kind.

    Parameters
    ----------
    bits : array_like of bool, shape (n, n), or (14, binbits) for a colorhash
        The hash bits, row-major (the first row holds the most significant
        bits of the integer / hex value).  ``n`` must be at least 2; a
        colour hash has :data:`COLOR_HASH_BINS` rows of ``binbits >= 1``
        bits.  Integer arrays are accepted if they contain only 0 and 1.
        The array is copied; :attr:`bits` returns a read-only view that
        cannot be made writeable.
    kind : str or None, optional
        Name of the hash function that produced the bits: ``"ahash"``,
        ``"dhash"``, ``"phash"``, ``"whash"``, ``"colorhash"``, or ``None``
        when unknown (for instance for a hash parsed from hex without a
        kind; such a hash is square).

    Notes
    -----
    * ``h1 - h2`` is the Hamming distance (an ``int`` between 0 and
      ``len(h1)``); hashes of different shapes raise ``ValueError``.
    * ``str(h)`` is the zero-padded lowercase hex string printed by
      ``str(imagehash.ImageHash)``; :meth:`from_hex` inverts it.
    * ``int(h)`` is the integer whose binary expansion is the row-major bit
      string; ``len(h)`` is the number of bits.
    * Equality and hashing depend on the bits (and hence the shape) only, not
      on :attr:`kind`, which is descriptive metadata: equal bits imply equal
      objects and equal ``hash()`` values, so hashes can be used in sets and
      as dict keys.  (``imagehash.ImageHash.__hash__`` keeps only 8 bits of
      information and compares flattened arrays, so hashes of different
      shapes can be "equal" there; this class does not have that problem.)
    """

    __slots__ = ("_bits", "_kind", "_value")

    _bits: np.ndarray
    _kind: str | None
    _value: int

    def __init__(self, bits: object, kind: str | None = None) -> None:
        arr = np.asarray(bits)
        if kind == "colorhash":
            if arr.ndim != 2 or arr.shape[0] != COLOR_HASH_BINS or arr.shape[1] < 1:
                raise ValueError(
                    f"colorhash bits must be a ({COLOR_HASH_BINS}, binbits) array, "
                    f"got shape {arr.shape}"
                )
        elif arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
            raise ValueError(
                f"hash bits must be a square 2-D array, got shape {arr.shape}"
            )
        elif arr.shape[0] < 2:
            raise ValueError(
                f"hash bits must be at least 2x2, got shape {arr.shape}"
            )
        if arr.dtype != np.bool_:
            if arr.dtype.kind not in "biu" or not np.isin(arr, (0, 1)).all():
                raise ValueError(
                    "hash bits must be boolean or contain only 0 and 1, "
                    f"got dtype {arr.dtype}"
                )
            arr = arr.astype(np.bool_)
        if kind is not None and kind not in _KINDS:
            raise ValueError(
                f"unknown hash kind {kind!r}; expected one of {_KINDS} or None"
            )
        # A view of an immutable bytes object: read-only, and numpy refuses
        # to flip it back to writeable, so the value really is immutable.
        frozen = np.frombuffer(
            np.ascontiguousarray(arr).tobytes(), dtype=np.bool_
        ).reshape(arr.shape)
        n_bits = frozen.size
        packed = np.packbits(frozen.ravel()).tobytes()
        value = int.from_bytes(packed, "big") >> (8 * len(packed) - n_bits)
        object.__setattr__(self, "_bits", frozen)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_value", value)

    # -- construction -----------------------------------------------------
    @classmethod
    def from_hex(
        cls,
        hex_string: str,
        *,
        kind: str | None = None,
        hash_size: int | None = None,
    ) -> "PerceptualHash":
        """Parse a hash from its hex form (the inverse of ``str(h)``).

        Parameters
        ----------
        hex_string : str
            Hex digits only (either case, no ``0x`` prefix, no whitespace),
            as produced by ``str(h)`` or ``str(imagehash_hash)``.
        kind : str or None, optional
            Kind recorded on the result (see :class:`PerceptualHash`).
        hash_size : int, optional
            Side ``n`` of the (n, n) bit matrix.  By default it is inferred
            from the string length, which is unambiguous for ``n >= 2``
            (16 hex digits -> 8x8).  A colour hash (``kind="colorhash"``)
            takes no ``hash_size``: its ``binbits`` follow from the length
            (11 hex digits -> 14x3), unambiguously too.

        Returns
        -------
        PerceptualHash

        Raises
        ------
        ValueError
            If the string is empty, contains non-hex characters, has a
            length that matches no square hash (or not ``hash_size``), or
            encodes a value that needs more than ``n * n`` bits.
        """
        if not isinstance(hex_string, str):
            raise TypeError(
                f"hex string must be str, got {type(hex_string).__name__}"
            )
        if not hex_string or not _HEX_DIGITS.issuperset(hex_string):
            raise ValueError(
                f"invalid perceptual hash hex string {hex_string!r}: "
                "expected a non-empty string of hex digits 0-9a-f"
            )
        length = len(hex_string)
        if kind == "colorhash":
            return cls._colorhash_from_hex(hex_string, hash_size)
        if hash_size is None:
            n = 2
            while _hex_width(n * n) < length:
                n += 1
            if _hex_width(n * n) != length:
                raise ValueError(
                    f"invalid perceptual hash hex string {hex_string!r}: "
                    f"length {length} does not match any square hash size"
                )
        else:
            n = _check_hash_size(hash_size)
            if _hex_width(n * n) != length:
                raise ValueError(
                    f"invalid perceptual hash hex string {hex_string!r}: "
                    f"a {n}x{n} hash needs {_hex_width(n * n)} hex digits, "
                    f"got {length}"
                )
        value = int(hex_string, 16)
        n_bits = n * n
        if value >> n_bits:
            raise ValueError(
                f"invalid perceptual hash hex string {hex_string!r}: value "
                f"does not fit in the {n_bits} bits of a {n}x{n} hash"
            )
        return cls(_bits_of_int(value, n_bits).reshape(n, n), kind)

    @classmethod
    def _colorhash_from_hex(
        cls, hex_string: str, hash_size: int | None
    ) -> "PerceptualHash":
        if hash_size is not None:
            raise ValueError(
                "hash_size applies to square hashes; a colorhash's binbits "
                "follow from the length of its hex string"
            )
        length = len(hex_string)
        binbits = 1
        while _hex_width(COLOR_HASH_BINS * binbits) < length:
            binbits += 1
        n_bits = COLOR_HASH_BINS * binbits
        if _hex_width(n_bits) != length:
            raise ValueError(
                f"invalid colorhash hex string {hex_string!r}: length {length} "
                f"does not match any {COLOR_HASH_BINS} x binbits hash"
            )
        value = int(hex_string, 16)
        if value >> n_bits:
            raise ValueError(
                f"invalid colorhash hex string {hex_string!r}: value does not "
                f"fit in the {n_bits} bits of a {COLOR_HASH_BINS}x{binbits} hash"
            )
        bits = _bits_of_int(value, n_bits).reshape(COLOR_HASH_BINS, binbits)
        return cls(bits, "colorhash")

    # -- accessors --------------------------------------------------------
    @property
    def bits(self) -> np.ndarray:
        """Read-only ``bool`` array of shape ``(n, n)``."""
        return self._bits

    @property
    def kind(self) -> str | None:
        """Name of the producing hash function (``"phash"``...) or None."""
        return self._kind

    @property
    def hash_size(self) -> int:
        """Side ``n`` of a square bit matrix (8 for the default 64-bit
        hashes); the number of rows, 14, of a colour hash."""
        return int(self._bits.shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        """Shape ``(n, n)`` of the bit matrix."""
        return (int(self._bits.shape[0]), int(self._bits.shape[1]))

    # -- immutability -----------------------------------------------------
    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self):
        return (type(self), (np.array(self._bits), self._kind))

    def __copy__(self) -> "PerceptualHash":
        return self

    def __deepcopy__(self, memo: dict) -> "PerceptualHash":
        return self

    # -- protocol ---------------------------------------------------------
    def __sub__(self, other: object) -> int:
        """Hamming distance: number of differing bits."""
        if not isinstance(other, PerceptualHash):
            return NotImplemented
        if self._bits.shape != other._bits.shape:
            raise ValueError(
                "cannot compare perceptual hashes of different shapes: "
                f"{self.shape} and {other.shape}"
            )
        return int(np.count_nonzero(self._bits != other._bits))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PerceptualHash):
            return NotImplemented
        return (
            self._bits.shape == other._bits.shape
            and self._value == other._value
        )

    def __hash__(self) -> int:
        return hash((self._bits.shape[0], self._value))

    def __int__(self) -> int:
        return self._value

    def __len__(self) -> int:
        return int(self._bits.size)

    def __str__(self) -> str:
        return format(self._value, f"0{_hex_width(self._bits.size)}x")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}.from_hex({str(self)!r}, kind={self._kind!r})"
        )


# ---------------------------------------------------------------------------
# helpers


def _bits_of_int(value: int, n_bits: int) -> np.ndarray:
    """The ``n_bits`` binary digits of ``value``, most significant first."""
    return np.array(
        [(value >> (n_bits - 1 - i)) & 1 for i in range(n_bits)], dtype=np.bool_
    )


def _check_hash_size(hash_size: int) -> int:
    if isinstance(hash_size, bool) or not isinstance(hash_size, (int, np.integer)):
        raise TypeError(f"hash_size must be an int, got {hash_size!r}")
    hash_size = int(hash_size)
    if hash_size < 2:
        raise ValueError(f"hash_size must be >= 2, got {hash_size}")
    return hash_size


def _luma_thumbnail(image: Image.Image, width: int, height: int) -> np.ndarray:
    """``image.convert('L').resize((width, height), LANCZOS)`` as uint8 (h, w).

    This is precisely the preprocessing every imagehash function performs;
    reproducing it call for call is what makes the hashes bit-identical for
    all modes (Pillow's own mode -> 'L' conversion: ITU-R 601-2 luma for
    colour modes, clipping for 'I'/'F', alpha ignored, palette looked up).
    """
    _check_image(image)
    small = image.convert("L").resize((width, height), _LANCZOS)
    return np.asarray(small)


def _check_image(image: Image.Image) -> None:
    if not isinstance(image, Image.Image):
        raise TypeError(
            f"expected a PIL.Image.Image, got {type(image).__name__}"
        )
    if image.width < 1 or image.height < 1:
        raise ValueError(f"cannot hash an empty image of size {image.size}")


def _floor_log2(n: int) -> int:
    """Exact ``int(numpy.log2(n))`` for positive ints (they agree for every
    size Pillow can represent; this form cannot suffer rounding)."""
    return int(n).bit_length() - 1


# ---------------------------------------------------------------------------
# the four hashes


def average_hash(
    image: Image.Image, *, hash_size: int = _DEFAULT_HASH_SIZE
) -> PerceptualHash:
    """Average hash (aHash), bit-identical to ``imagehash.average_hash``.

    Algorithm (Krawetz, "Looks Like It" [1]_): convert to 8-bit luma,
    shrink to ``hash_size x hash_size`` with a Lanczos filter (discarding
    detail and aspect ratio), then set each bit to whether that pixel is
    strictly brighter than the mean of the thumbnail.

    Parameters
    ----------
    image : PIL.Image.Image
        Any mode ('1', 'L', 'P', 'RGB', 'RGBA', 'LA', 'CMYK', 'I;16', 'I',
        'F', ...) and any non-empty size.
    hash_size : int, keyword-only
        Side of the bit matrix; default 8 (64 bits).

    Returns
    -------
    PerceptualHash
        Kind ``"ahash"``.  ``h1 - h2`` ranges over 0..64 bits (0..n*n) and
        is 0 for identical images.

    References
    ----------
    .. [1] https://www.hackerfactor.com/blog/index.php?/archives/432-Looks-Like-It.html
    """
    n = _check_hash_size(hash_size)
    pixels = _luma_thumbnail(image, n, n)
    return PerceptualHash(pixels > np.mean(pixels), "ahash")


def difference_hash(
    image: Image.Image, *, hash_size: int = _DEFAULT_HASH_SIZE
) -> PerceptualHash:
    """Difference hash (dHash), bit-identical to ``imagehash.dhash``.

    Algorithm (Krawetz, "Kind of Like That" [1]_, a gradient variant of
    "Looks Like It"): convert to 8-bit luma, shrink with Lanczos to
    ``(hash_size + 1)`` columns by ``hash_size`` rows, and set each bit to
    whether a pixel is strictly brighter than its left neighbour (horizontal
    gradient sign).

    Parameters
    ----------
    image : PIL.Image.Image
        Any mode and any non-empty size.
    hash_size : int, keyword-only
        Side of the bit matrix; default 8 (64 bits).

    Returns
    -------
    PerceptualHash
        Kind ``"dhash"``.  ``h1 - h2`` ranges over 0..64 bits (0..n*n) and
        is 0 for identical images.

    References
    ----------
    .. [1] https://www.hackerfactor.com/blog/index.php?/archives/529-Kind-of-Like-That.html
    """
    n = _check_hash_size(hash_size)
    pixels = _luma_thumbnail(image, n + 1, n)
    return PerceptualHash(pixels[:, 1:] > pixels[:, :-1], "dhash")


def perceptual_hash(
    image: Image.Image, *, hash_size: int = _DEFAULT_HASH_SIZE
) -> PerceptualHash:
    """DCT perceptual hash (pHash), bit-identical to ``imagehash.phash``.

    Algorithm (Zauner 2010 [1]_, as popularised by Krawetz [2]_): convert
    to 8-bit luma, shrink with Lanczos to ``4 * hash_size`` square (32x32),
    take the unnormalised 2-D type-II DCT (columns first, then rows, via
    ``scipy.fftpack.dct`` exactly as imagehash does), keep the top-left
    ``hash_size x hash_size`` low-frequency block (DC term included) and set
    each bit to whether that coefficient is strictly above the block's
    median.

    Parameters
    ----------
    image : PIL.Image.Image
        Any mode and any non-empty size.
    hash_size : int, keyword-only
        Side of the bit matrix; default 8 (64 bits).

    Returns
    -------
    PerceptualHash
        Kind ``"phash"``.  ``h1 - h2`` ranges over 0..64 bits (0..n*n) and
        is 0 for identical images.

    Notes
    -----
    ``scipy.fftpack`` (not ``scipy.fft``) is used on purpose: it calls the
    pocketfft DCT directly, like imagehash, whereas ``scipy.fft`` dispatches
    through a user-replaceable backend.  It is imported on first use.

    References
    ----------
    .. [1] C. Zauner, "Implementation and Benchmarking of Perceptual Image
           Hash Functions", Master's thesis, FH Hagenberg, 2010.
    .. [2] https://www.hackerfactor.com/blog/index.php?/archives/432-Looks-Like-It.html
    """
    from scipy import fftpack  # lazy: ~0.2 s import

    n = _check_hash_size(hash_size)
    side = n * _PHASH_HIGHFREQ_FACTOR
    pixels = _luma_thumbnail(image, side, side)
    coeffs = fftpack.dct(fftpack.dct(pixels, axis=0), axis=1)
    low = coeffs[:n, :n]
    return PerceptualHash(low > np.median(low), "phash")


def wavelet_hash(
    image: Image.Image, *, hash_size: int = _DEFAULT_HASH_SIZE
) -> PerceptualHash:
    """Haar wavelet hash (wHash), bit-identical to ``imagehash.whash``.

    Algorithm (as in imagehash [1]_, from the Kaggle "Avito Duplicate Ads
    Detection" competition): let ``S`` be the largest power of two not
    above the image's smaller side, but at least ``hash_size``; convert to
    luma, shrink with Lanczos to ``S x S`` and scale to [0, 1].  Remove the
    overall brightness by a full-depth 2-D Haar decomposition with the
    coarsest approximation (LL) coefficient zeroed and reconstructed, then
    decompose again with Haar down to ``hash_size x hash_size`` and set each
    bit to whether that approximation coefficient is strictly above their
    median.

    Parameters
    ----------
    image : PIL.Image.Image
        Any mode and any non-empty size.
    hash_size : int, keyword-only
        Side of the bit matrix; must be a power of two; default 8 (64 bits).

    Returns
    -------
    PerceptualHash
        Kind ``"whash"``.  ``h1 - h2`` ranges over 0..64 bits (0..n*n) and
        is 0 for identical images.

    Notes
    -----
    Equivalent to ``imagehash.whash(image)`` with its defaults
    (``mode='haar'``, ``remove_max_haar_ll=True``, ``image_scale`` derived
    from ``min(image.size)``).  PyWavelets is imported on first use.

    References
    ----------
    .. [1] https://github.com/JohannesBuchner/imagehash
    """
    import pywt  # lazy

    n = _check_hash_size(hash_size)
    if n & (n - 1):
        raise ValueError(f"wavelet hash_size must be a power of 2, got {n}")
    _check_image(image)
    scale = max(1 << _floor_log2(min(image.size)), n)
    full_depth = _floor_log2(scale)
    depth = full_depth - _floor_log2(n)

    pixels = _luma_thumbnail(image, scale, scale) / 255.0

    coeffs = pywt.wavedec2(pixels, "haar", level=full_depth)
    coeffs[0] = np.zeros_like(coeffs[0])  # drop the global DC (LL) term
    pixels = pywt.waverec2(coeffs, "haar")

    low = pywt.wavedec2(pixels, "haar", level=depth)[0]
    return PerceptualHash(low > np.median(low), "whash")


# ---------------------------------------------------------------------------
# the colour hash

#: Saturation levels (Pillow's 0..255 HSV) of imagehash's classes: below
#: 256 // 3 a pixel is grey; from there up to 256 * 2 // 3 a faint colour,
#: above it a bright one.  A saturation of exactly 170 is a colour that falls
#: in neither hue histogram (imagehash compares with < and >), yet counts in
#: their denominator.
_GREY_BELOW, _COLOUR_SPLIT = 256 // 3, 256 * 2 // 3

#: Luma below this is black, whatever the hue (imagehash: 256 // 8).
_BLACK_BELOW = 256 // 8

#: imagehash bins hue with numpy.histogram over linspace(0, 255, 7): six
#: half-open bins, the last one closed.  As a lookup table over 0..255.
_HUE_BIN = np.minimum(
    np.searchsorted(np.linspace(0, 255, 7), np.arange(256), side="right") - 1, 5
).astype(np.uint8)

#: Per saturation level, the first code of its class: grey 0, faint 6,
#: unbinned colour 12, bright 18 (each class spans six hue codes); black
#: pixels get the single code 24.
_SATURATION_CODE = np.select(
    [np.arange(256) < _GREY_BELOW, np.arange(256) < _COLOUR_SPLIT, np.arange(256) == _COLOUR_SPLIT],
    [0, 6, 12],
    18,
).astype(np.uint8)
_BLACK_CODE = 24


#: calcHist counts in float32, exact up to 2**24: larger images are counted
#: in pieces of this many pixels.
_EXACT_COUNT = 1 << 24


def _count_codes(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """How many times each of ``0..n_codes - 1`` occurs in uint8 ``codes``."""
    import cv2  # lazy

    flat = np.ascontiguousarray(codes).reshape(-1)
    total = np.zeros(n_codes, np.int64)
    for start in range(0, flat.size, _EXACT_COUNT):
        piece = flat[start : start + _EXACT_COUNT].reshape(-1, 1)
        total += cv2.calcHist([piece], [0], None, [n_codes], [0, n_codes]).ravel().astype(np.int64)
    return total


def color_hash(image: Image.Image, *, binbits: int = _DEFAULT_BINBITS) -> PerceptualHash:
    """Colour hash, bit-identical to ``imagehash.colorhash``.

    Algorithm (imagehash [1]_): with Pillow's 'L' and 'HSV' conversions of
    the image, take the share of black pixels (luma < 32), the share of
    grey ones among the rest (saturation < 85), and among the remaining
    coloured pixels the shares of six hue bins for faint colours
    (saturation < 170) and six for bright ones (saturation > 170).  Each of
    these 14 shares ``f`` becomes ``v = min(2**binbits - 1, int(f *
    2**binbits))``, written in ``binbits`` bits the way imagehash writes
    them: bit ``i`` is set when ``v // 2**(binbits - 1 - i) % 2**(binbits -
    i)`` is non-zero (a mix of the binary digits and "at least" flags, kept
    as is for compatibility).

    Parameters
    ----------
    image : PIL.Image.Image
        Any mode that Pillow converts to both 'L' and 'HSV' (every mode of
        :func:`average_hash` but 'LAB' and 'La', where Pillow raises its own
        ``ValueError``, as it does for imagehash), any non-empty size.
    binbits : int, keyword-only
        Bits per bin; default 3 (14 x 3 = 42 bits).

    Returns
    -------
    PerceptualHash
        Kind ``"colorhash"``, bits of shape (14, binbits).  ``h1 - h2``
        ranges over 0..14 * binbits bits and is 0 for identical images.

    References
    ----------
    .. [1] https://github.com/JohannesBuchner/imagehash (``colorhash``)
    """
    _check_image(image)
    if isinstance(binbits, bool) or not isinstance(binbits, (int, np.integer)) or binbits < 1:
        raise ValueError(f"binbits must be a whole number >= 1, got {binbits!r}")
    binbits = int(binbits)
    import cv2  # lazy

    luma = np.asarray(image.convert("L"))
    hue, saturation, _ = cv2.split(np.asarray(image.convert("HSV")))
    codes = cv2.add(cv2.LUT(saturation, _SATURATION_CODE), cv2.LUT(hue, _HUE_BIN))
    codes[luma < _BLACK_BELOW] = _BLACK_CODE
    counts = _count_codes(codes, _BLACK_CODE + 1)
    pixels = luma.size
    coloured = max(1, int(counts[6:_BLACK_CODE].sum()))
    levels = 1 << binbits
    # the same float operations in the same order as imagehash, so that the
    # truncations agree: share times levels for black and grey, count times
    # levels over the coloured pixels for the hue bins
    scaled = [int(counts[_BLACK_CODE]) / pixels * levels, int(counts[0:6].sum()) / pixels * levels]
    scaled += [float(int(n) * levels) / coloured for n in (*counts[6:12], *counts[18:24])]
    values = np.array([min(levels - 1, int(x)) for x in scaled])
    shifts = binbits - 1 - np.arange(binbits)
    bits = (values[:, None] >> shifts) % (1 << (binbits - np.arange(binbits))) > 0
    return PerceptualHash(bits, "colorhash")


#: Hash kind name -> hashing function.
HASH_FUNCTIONS: Mapping[str, Callable[..., PerceptualHash]] = {
    "ahash": average_hash,
    "dhash": difference_hash,
    "phash": perceptual_hash,
    "whash": wavelet_hash,
}


def hash_from_luma8(luma: np.ndarray, kind: str) -> PerceptualHash:
    """Hash an 8-bit luminance array with one of :data:`HASH_FUNCTIONS`.

    The array is wrapped as a Pillow 'L' image (``PIL.Image.fromarray``) and
    hashed, so the result equals ``HASH_FUNCTIONS[kind](img.convert('L'))``
    for any image ``img`` whose 'L' conversion is ``luma``.

    Parameters
    ----------
    luma : numpy.ndarray of uint8, shape (H, W)
        Luminance, 0 (black) .. 255 (white); ``H, W >= 1``.
    kind : {"ahash", "dhash", "phash", "whash"}

    Returns
    -------
    PerceptualHash
        Hash of kind ``kind`` (0..64 bits of Hamming range).

    Raises
    ------
    TypeError
        If ``luma`` is not a uint8 ndarray.
    ValueError
        If ``luma`` is not a non-empty 2-D array or ``kind`` is unknown.
    """
    try:
        func = HASH_FUNCTIONS[kind]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown hash kind {kind!r}; expected one of {sorted(HASH_FUNCTIONS)}"
        ) from None
    if not isinstance(luma, np.ndarray) or luma.dtype != np.uint8:
        raise TypeError(
            "luma must be a numpy uint8 array, got "
            + (f"dtype {luma.dtype}" if isinstance(luma, np.ndarray) else type(luma).__name__)
        )
    if luma.ndim != 2 or luma.size == 0:
        raise ValueError(
            f"luma must be a non-empty 2-D (H, W) array, got shape {luma.shape}"
        )
    image = Image.fromarray(np.ascontiguousarray(luma))
    return func(image)
