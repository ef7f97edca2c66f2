"""What dedupe keeps of an image: a 64-bit DCT hash, hashes of slightly cropped and turned
views, a 32x32 thumbnail and a sharpness figure. Pure functions of a luminance array.

The hash is a perceptual hash in the manner of Zauner's pHash [1]_: the luminance is shrunk
to 32x32 (area averaging), transformed with the orthonormal 2-D DCT-II, and each of the 64
lowest frequencies (in zigzag order: by ``u + v``, then by ``u``; the DC term left out) gives
one bit, set when its coefficient is above the median of the 64. Half of the bits are set
(unless coefficients tie), so the Hamming distance between two hashes is even.

A crop of a few per cent moves and rescales everything in the frame, which flips a quarter of
the bits of any global hash. So each image also gets *view hashes*: the same hash of the
image cropped to 94 % of each side at nine anchor points (corners, edge middles, centre),
and of the image turned by +-1.5 degrees (cropped to 95 %, so no border shows). A copy
cropped by 3-8 % is close to one of its original's views; one straightened by 1-2 degrees
is close to a turned view. One more alternate hash is the image's own with the bit flipped
whose coefficient lies nearest the median: the bit a small change flips first (multi-probe
hashing in the manner of Lv et al. [2]_). The search compares every image's hash with
every other image's hash and alternates (see :mod:`.search`).

The thumbnail (32x32, uint8, aspect ratio ignored) is what :mod:`.verify` compares; the
sharpness is the variance of the Laplacian over the variance of the luminance, both on the
image shrunk (or enlarged) to 128 pixels on its longer side, which a blurred or upscaled
copy has less of.

References
----------
.. [1] C. Zauner, "Implementation and Benchmarking of Perceptual Image Hash Functions",
       Master's thesis, FH Hagenberg, 2010.
.. [2] Q. Lv, W. Josephson, Z. Wang, M. Charikar, K. Li, "Multi-probe LSH: efficient indexing
       for high-dimensional similarity search", VLDB 2007.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "ALTERNATES",
    "HASH_SIDE",
    "SIGNATURE_VERSION",
    "THUMB_SIDE",
    "VIEWS",
    "WORK_SIDE",
    "Signature",
    "dct_hashes",
    "signature",
]

#: Side of the square image the DCT is taken of.
HASH_SIDE = 32
#: Side of the stored thumbnail.
THUMB_SIDE = 32
#: Longer side, in pixels, of the image every other figure is computed from.
WORK_SIDE = 128
#: (kept fraction of each side, x anchor, y anchor, rotation in degrees) of each view.
#: Anchor 0 keeps the left/top edge, 1 the right/bottom one.
VIEWS: tuple[tuple[float, float, float, float], ...] = tuple(
    (0.94, ax, ay, 0.0) for ay in (0.0, 0.5, 1.0) for ax in (0.0, 0.5, 1.0)
) + ((0.95, 0.5, 0.5, 1.5), (0.95, 0.5, 0.5, -1.5))
#: Alternate hashes of each image: one per view, and the hash with its least certain bit flipped.
ALTERNATES = len(VIEWS) + 1
#: Changes whenever any of the above (or the hash itself) changes: an index made with
#: another version is rebuilt rather than compared with.
SIGNATURE_VERSION = "dct64-z32-views11-flip1-thumb32-work128/1"


@dataclass(frozen=True, eq=False)
class Signature:
    """What dedupe compares of one image.

    Attributes
    ----------
    hash : int
        The 64-bit DCT hash of the whole image, unsigned.
    alternates : numpy.ndarray
        uint64 (ALTERNATES,): the hashes the image may also be found by: those of the views,
        in the order of :data:`VIEWS`, then the hash with its least certain bit flipped.
    thumbnail : numpy.ndarray
        uint8 (THUMB_SIDE, THUMB_SIDE): the luminance, aspect ratio ignored.
    sharpness : float
        Variance of the Laplacian over the variance of the luminance at 128 pixels (0 for a
        flat image); higher is sharper.
    """

    hash: int
    alternates: np.ndarray
    thumbnail: np.ndarray
    sharpness: float


@lru_cache(maxsize=None)
def _dct_rows() -> np.ndarray:
    """The first 11 rows of the orthonormal DCT-II matrix of size HASH_SIDE (float64)."""
    n = HASH_SIDE
    k = np.arange(11)[:, None]
    x = np.arange(n)[None, :]
    matrix = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * x + 1) * k / (2 * n))
    matrix[0] /= np.sqrt(2.0)
    return matrix


@lru_cache(maxsize=None)
def _zigzag() -> tuple[np.ndarray, np.ndarray]:
    """(u, v) of the 64 lowest frequencies without DC, by u + v and then u."""
    order = sorted((u + v, u, v) for u in range(11) for v in range(11) if (u, v) != (0, 0))[:64]
    return np.array([o[1] for o in order]), np.array([o[2] for o in order])


def _low_frequencies(squares: np.ndarray) -> np.ndarray:
    """(n, 64) DCT coefficients of the zigzag frequencies of each square."""
    rows = _dct_rows()
    coefficients = rows @ np.asarray(squares, dtype=np.float64) @ rows.T  # (n, 11, 11)
    u, v = _zigzag()
    return coefficients[:, u, v]


def _packed(bits: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.packbits(bits, axis=1)).view(">u8")[:, 0].astype(np.uint64)


def dct_hashes(squares: np.ndarray) -> np.ndarray:
    """The 64-bit DCT hash of each of a stack of HASH_SIDE x HASH_SIDE luminance images.

    Parameters
    ----------
    squares : numpy.ndarray
        (n, HASH_SIDE, HASH_SIDE), any real dtype.

    Returns
    -------
    numpy.ndarray
        uint64 (n,): bit 63 is the first zigzag frequency, bit 0 the 64th.
    """
    low = _low_frequencies(squares)
    return _packed(low > np.median(low, axis=1, keepdims=True))


def _resized(image: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2

    shrinking = width <= image.shape[1] and height <= image.shape[0]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def _work_image(luma: np.ndarray) -> np.ndarray:
    """The luminance with its longer side WORK_SIDE pixels (float32)."""
    height, width = luma.shape
    scale = WORK_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return _resized(np.ascontiguousarray(luma, dtype=np.float32), *size)


def _view(work: np.ndarray, keep: float, ax: float, ay: float, degrees: float) -> np.ndarray:
    import cv2

    height, width = work.shape
    if degrees:
        turn = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), degrees, 1.0)
        work = cv2.warpAffine(work, turn, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    w, h = max(1, round(width * keep)), max(1, round(height * keep))
    x, y = round((width - w) * ax), round((height - h) * ay)
    return work[y : y + h, x : x + w]


def _sharpness(work: np.ndarray) -> float:
    import cv2

    variance = float(np.var(work, dtype=np.float64))
    if variance < 1e-8:
        return 0.0
    laplacian = cv2.Laplacian(work, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT)
    return float(np.var(laplacian, dtype=np.float64) / variance)


def signature(luma: np.ndarray) -> Signature:
    """The :class:`Signature` of a luminance image.

    Parameters
    ----------
    luma : numpy.ndarray
        (H, W) or (H, W, 1), values in [0, 1] (float) or 0..255 (uint8); any size.
        Orientation must already be applied.
    """
    luma = np.asarray(luma)
    if luma.ndim == 3 and luma.shape[2] == 1:
        luma = luma[:, :, 0]
    if luma.ndim != 2 or luma.size == 0:
        raise ValueError(f"expected a non-empty (H, W) luminance array, got shape {luma.shape}")
    if luma.dtype == np.uint8:
        luma = luma.astype(np.float32) / np.float32(255.0)
    work = _work_image(luma)
    squares = [_resized(work, HASH_SIDE, HASH_SIDE)]
    squares += [_resized(_view(work, *view), HASH_SIDE, HASH_SIDE) for view in VIEWS]
    low = _low_frequencies(np.stack(squares))
    median = np.median(low, axis=1, keepdims=True)
    hashes = _packed(low > median)
    # The bit whose coefficient lies nearest the median is the one a small change flips first.
    weakest = int(np.argmin(np.abs(low[0] - median[0, 0])))
    flipped = hashes[0] ^ np.uint64(1 << (63 - weakest))
    thumbnail = np.clip(np.rint(_resized(work, THUMB_SIDE, THUMB_SIDE) * 255.0), 0, 255).astype(np.uint8)
    return Signature(
        hash=int(hashes[0]),
        alternates=np.concatenate([hashes[1:], [flipped]]).astype(np.uint64),
        thumbnail=thumbnail,
        sharpness=_sharpness(work),
    )
