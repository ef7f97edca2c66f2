"""Image files and in-memory images -> float32 arrays in [0, 1].

The rules, applied once here so that no metric ever guesses:

* Values are scaled from the bit depth the *file declares* (PNG IHDR, TIFF BitsPerSample,
  the Pillow mode), never from the array's dtype. 16-bit colour PNG and TIFF, which Pillow
  would cut to 8 bits, are decoded with OpenCV at full depth.
* EXIF orientation is applied.
* Alpha is composited over a background (black unless told otherwise) or ignored, and the
  original alpha is kept beside the pixels.
* Files declaring more pixels than ``max_pixels`` are refused before decoding.
* Arrays given through the API carry their range explicitly: ``uint8`` is 0..255; any
  other dtype needs ``data_range``.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import struct
import sys
import threading
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Union

import numpy as np

from ..errors import InputError, OptionError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "ImageInput",
    "LoadedImage",
    "load_image",
    "open_image_file",
    "parse_alpha",
]

#: Pillow's own decompression-bomb limit, the same number, enforced before decoding.
DEFAULT_MAX_PIXELS = 178_956_970

ImageInput = Union[str, os.PathLike, bytes, np.ndarray, "PIL.Image.Image", "LoadedImage"]

_NAMED_BACKGROUNDS = {"black": (0.0, 0.0, 0.0), "white": (1.0, 1.0, 1.0)}


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """A decoded image, ready for preprocessing and metrics.

    Attributes
    ----------
    pixels : numpy.ndarray
        float32, shape (H, W, C) with C = 1 (gray) or 3 (RGB), values in [0, 1], alpha
        already handled as asked.
    alpha : numpy.ndarray or None
        float32 (H, W) in [0, 1]: the original alpha channel, when the image had one.
    bit_depth : int
        Bits per sample the source declared (8 for uint8 arrays).
    mode : str
        The source's pixel layout as Pillow names it (``"RGB"``, ``"I;16"``, ``"RGBA;16"``...).
    source : str
        File path, or a short description for in-memory images.
    orientation : int
        EXIF orientation tag that was applied (1 when none).
    format : str or None
        File format (``"JPEG"``, ``"PNG"``...), None for in-memory images.
    scale : float
        Decoded width over the file's width: below 1 when a reduced JPEG decode was asked.
    samples8 : numpy.ndarray or None
        uint8, the shape of ``pixels``: the decoder's own 8-bit samples, kept so that
        8-bit work needs no rounding; None when the source had other depths or alpha was
        composited.
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    mode: str = "RGB"
    source: str = "<array>"
    orientation: int = 1
    format: str | None = None
    scale: float = 1.0
    samples8: np.ndarray | None = None

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), as image tools print it."""
        return (self.width, self.height)

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2])


def parse_alpha(value: str | tuple[float, float, float] | None) -> tuple[float, float, float] | None:
    """Turn an alpha policy into a background colour, or None for 'ignore alpha'.

    Accepts ``"black"``, ``"white"``, ``"ignore"``, ``"#rrggbb"`` or an RGB tuple in [0, 1].
    """
    if value is None or value == "ignore":
        return None
    if isinstance(value, tuple):
        if len(value) != 3 or not all(0.0 <= float(c) <= 1.0 for c in value):
            raise OptionError(f"alpha background {value!r} must be three values in [0, 1]")
        return tuple(float(c) for c in value)  # type: ignore[return-value]
    text = str(value).strip().lower()
    if text in _NAMED_BACKGROUNDS:
        return _NAMED_BACKGROUNDS[text]
    if text.startswith("#") and len(text) == 7:
        try:
            return tuple(int(text[i : i + 2], 16) / 255.0 for i in (1, 3, 5))  # type: ignore[return-value]
        except ValueError:
            pass
    raise OptionError(
        f"--alpha {value!r} is not understood: use black, white, ignore or a colour like #808080"
    )


def load_image(
    image: ImageInput,
    *,
    alpha: str | tuple[float, float, float] | None = "black",
    data_range: float | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    name: str | None = None,
    draft_size: int | None = None,
    gray: bool = False,
) -> LoadedImage:
    """Decode a file, bytes, PIL image or array into a :class:`LoadedImage`.

    Parameters
    ----------
    image : path, bytes, PIL.Image.Image, numpy.ndarray or LoadedImage
        The image. Arrays are (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) (the last is RGBA).
    alpha : {"black", "white", "ignore", "#rrggbb"} or RGB tuple
        Background that transparent pixels are composited over; ``"ignore"`` drops alpha.
    data_range : float, optional
        Largest possible value of an array input (1.0 for float images in [0, 1], 4095 for
        12-bit data). Required for every dtype except ``uint8``; ignored for files.
    max_pixels : int or None
        Refuse files declaring more pixels than this (decompression-bomb guard). None
        disables the check.
    name : str, optional
        How to name the image in messages and results.
    draft_size : int, optional
        Decode JPEG files at the smallest scale (1/2, 1/4 or 1/8, which the decoder gets
        almost for free) whose longer side is still at least this many pixels; other
        formats decode at full size. ``LoadedImage.scale`` tells the scale used.
    gray : bool
        Return BT.601 luma only, (H, W, 1). Colour JPEG files then decode straight to luma
        (their Y channel), which skips the colour conversion; other images are converted.

    Raises
    ------
    InputError
        The file is missing, empty, not an image, truncated or corrupt, or too large.
    OptionError
        An array without a usable ``data_range``, or an unknown alpha policy.
    """
    background = parse_alpha(alpha)
    if isinstance(image, LoadedImage):
        return _grayed(image, gray)
    if isinstance(image, np.ndarray):
        return _grayed(_from_array(image, data_range, background, name or "<array>"), gray)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return _grayed(_decode(bytes(image), name or "<bytes>", background, max_pixels, draft_size, gray), gray)
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        return _grayed(_decode(_read_file(path), name or str(image), background, max_pixels, draft_size, gray), gray)
    pil_image = _as_pil_image(image)
    if pil_image is not None:
        return _grayed(_from_pil(pil_image, name or "<PIL image>", background, orientation=1, fmt=None), gray)
    raise OptionError(
        f"cannot use an object of type {type(image).__name__} as an image: "
        "pass a path, bytes, a PIL image or a NumPy array"
    )


def _as_pil_image(obj: Any):
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a core dependency
        return None
    return obj if isinstance(obj, Image.Image) else None


def _read_file(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not an image file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not data:
        raise InputError(f"{path}: empty file")
    return data


@contextlib.contextmanager
def _quiet_decoding():
    """Keep decoders from talking: what they say becomes one :class:`InputError` or nothing.

    * Pillow's ``UserWarning`` on damaged metadata ("Corrupt EXIF data", "Truncated File
      Read", "Tag data larger than file") and its ``DecompressionBombWarning`` (the pixel
      limit is ours, checked with a clear message) are ignored: the pixels either decode or
      raise.
    * C libraries print straight to file descriptor 2 (libpng's "libpng error: IDAT: CRC
      error", libtiff's "Using code not yet in table.", OpenCV's "[ WARN:0@...]" log), which
      no Python setting can stop and which would break the command line's promise of one
      line of error. Descriptor 2 points at /dev/null while decoding. Concurrent and nested
      uses share one redirection (a counter under a lock), so it is always put back; other
      threads' writes to stderr during a decode are lost.
    """
    from PIL import Image

    with warnings.catch_warnings(), _native_stderr_silenced():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        yield


_stderr_lock = threading.Lock()
_stderr_users = 0
_stderr_saved: int | None = None


@contextlib.contextmanager
def _native_stderr_silenced():
    global _stderr_users, _stderr_saved
    with _stderr_lock:
        if _stderr_users == 0:
            try:
                if sys.stderr is not None:
                    sys.stderr.flush()
                saved = os.dup(2)
            except (OSError, ValueError):  # no descriptor 2 to protect, or a closed stream
                saved = None
            if saved is not None:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                os.close(devnull)
            _stderr_saved = saved
        _stderr_users += 1
    try:
        yield
    finally:
        with _stderr_lock:
            _stderr_users -= 1
            if _stderr_users == 0 and _stderr_saved is not None:
                os.dup2(_stderr_saved, 2)
                os.close(_stderr_saved)
                _stderr_saved = None


def _declared_png_depth(data: bytes) -> tuple[int, int] | None:
    """(bit depth, colour type) from a PNG's IHDR chunk, or None if not a PNG."""
    if len(data) >= 29 and data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return data[24], data[25]
    return None


def open_image_file(path: str | os.PathLike, *, max_pixels: int | None = DEFAULT_MAX_PIXELS):
    """Open and fully decode a file with Pillow, exactly as ``PIL.Image.open`` would.

    Nothing is converted or rotated: this is for algorithms defined on Pillow's own view of
    the file (imagehash-compatible hashes). Errors are the same clear :class:`InputError`
    as :func:`load_image`'s.
    """
    source = str(path)
    data = _read_file(Path(path))
    with _quiet_decoding():
        pil = _open(data, source, max_pixels)
        _load(pil, source)
    return pil


def _open(data: bytes, source: str, max_pixels: int | None):
    """Pillow's lazy image for ``data``, after the header checks."""
    from PIL import Image, UnidentifiedImageError

    # Called inside _quiet_decoding(): Pillow's DecompressionBombWarning is ignored there,
    # the pixel limit is ours (checked below, with a clear message).
    try:
        pil = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise InputError(f"{source}: not an image file, or a format imgdelta cannot read") from None
    except Image.DecompressionBombError as exc:
        raise InputError(_pillow_bomb_message(source, exc, max_pixels)) from None
    except Exception as exc:  # corrupt headers raise many exception types
        raise InputError(f"{source}: cannot read image header ({_describe(exc)})") from None
    width, height = pil.size
    if width <= 0 or height <= 0:
        raise InputError(f"{source}: image has no pixels ({width}x{height})")
    if max_pixels is not None and width * height > max_pixels:
        raise InputError(
            f"{source}: {width}x{height} = {width * height} pixels exceeds the limit of "
            f"{max_pixels} (decompression-bomb guard; raise max_pixels, or --max-pixels on the command line, if you trust the file)"
        )
    return pil


def _pillow_bomb_message(source: str, exc: BaseException, max_pixels: int | None) -> str:
    """Our message for a file Pillow refused to open for its size.

    Pillow raises, before our own check can run, above twice ``PIL.Image.MAX_IMAGE_PIXELS``
    (178956970 pixels by default: the same number as DEFAULT_MAX_PIXELS), whatever
    ``max_pixels`` says.
    """
    from PIL import Image

    found = re.search(r"\((\d+) pixels\)", str(exc))
    count = f"{int(found.group(1))} pixels" if found else "too many pixels"
    pillow_limit = 2 * Image.MAX_IMAGE_PIXELS if Image.MAX_IMAGE_PIXELS else None
    if max_pixels is not None and (pillow_limit is None or max_pixels <= pillow_limit):
        return (
            f"{source}: {count} exceeds the limit of {max_pixels} "
            "(decompression-bomb guard; raise max_pixels, or --max-pixels on the command line, if you trust the file)"
        )
    return (
        f"{source}: {count} exceeds Pillow's own limit of {pillow_limit} (decompression-bomb "
        "guard; raise PIL.Image.MAX_IMAGE_PIXELS if you trust the file)"
    )


def _load(pil, source: str) -> None:
    """Decode the pixels (called inside _quiet_decoding())."""
    try:
        pil.load()
    except Exception as exc:  # truncated and corrupt data raise many exception types
        raise InputError(f"{source}: cannot decode {pil.format or 'image'} data ({_describe(exc)})") from None


def _grayed(loaded: LoadedImage, gray: bool) -> LoadedImage:
    if not gray or loaded.channels == 1:
        return loaded
    import cv2

    luma = cv2.cvtColor(np.ascontiguousarray(loaded.pixels), cv2.COLOR_RGB2GRAY)[:, :, None]
    luma.setflags(write=False)
    return replace(loaded, pixels=luma, samples8=None)


def _decode(data: bytes, source: str, background, max_pixels: int | None, draft_size: int | None = None, gray: bool = False) -> LoadedImage:
    with _quiet_decoding():
        return _decode_quietly(data, source, background, max_pixels, draft_size, gray)


def analysis_shape(width: int, height: int, size: int) -> tuple[int, int]:
    """(width, height) of the small image a frame of ``width`` x ``height`` is analysed at.

    The smallest of the frame halved up to three times whose longer side is still at least
    ``size`` (what a JPEG decoder gives almost for free with ``draft_size=size``), shrunk
    to ``size`` when that is still over 1.5 times it. The same frame therefore gets the same
    analysis image whether it arrives as a JPEG file, a PNG or an array.
    """
    longer = max(width, height)
    scale = 1
    for candidate in (2, 4, 8):
        if math.ceil(longer / candidate) >= size:
            scale = candidate
    width, height = math.ceil(width / scale), math.ceil(height / scale)
    longer = max(width, height)
    if longer > 1.5 * size:
        factor = size / longer
        return max(1, round(width * factor)), max(1, round(height * factor))
    return width, height


def _draft(pil, draft_size: int | None, gray: bool = False) -> float:
    """Ask the JPEG decoder for a reduced scale (and luma only); returns the scale it will deliver."""
    if pil.format != "JPEG":
        return 1.0
    if draft_size is None:
        if gray and pil.mode == "RGB":
            pil.draft("L", pil.size)
        return 1.0
    if draft_size < 1:
        raise OptionError(f"draft_size={draft_size} must be a positive number of pixels")
    width, height = pil.size
    longest = max(width, height)
    mode = "L" if gray and pil.mode == "RGB" else pil.mode
    if draft_size >= longest:
        if mode != pil.mode:
            pil.draft(mode, pil.size)
        return 1.0
    factor = draft_size / longest
    pil.draft(mode, (max(1, math.ceil(width * factor)), max(1, math.ceil(height * factor))))
    return pil.size[0] / width


def _decode_quietly(
    data: bytes, source: str, background, max_pixels: int | None, draft_size: int | None = None, gray: bool = False
) -> LoadedImage:
    pil = _open(data, source, max_pixels)
    fmt = pil.format
    scale = _draft(pil, draft_size, gray)
    orientation = _exif_orientation(pil)
    if _needs_full_depth_decoder(pil, data):
        if fmt == "TIFF" and pil.tag_v2.get(284) == 2:
            # Neither OpenCV (5.0) nor Pillow (13) reads separate 16-bit colour planes right:
            # both return scrambled pixels. Refuse rather than compare garbage.
            raise InputError(
                f"{source}: TIFF with separate 16-bit colour planes (PlanarConfiguration 2) "
                "is not supported; save it with interleaved samples"
            )
        return _decode_full_depth(data, source, background, orientation, fmt)
    reduced = _reduced_jpeg(data, pil, scale) if not gray else None
    if reduced is not None:
        rgb = _apply_orientation(reduced, orientation)
        return replace(_assemble(_to_unit(rgb, 255.0), background, 8, "RGB", source, orientation, fmt, rgb), scale=scale)
    _load(pil, source)
    try:
        loaded = _from_pil(pil, source, background, orientation=orientation, fmt=fmt)
        return replace(loaded, scale=scale) if scale != 1.0 else loaded
    except InputError:
        raise
    except Exception as exc:  # a decodable header over undecodable pixels
        raise InputError(f"{source}: cannot decode {fmt or 'image'} data ({_describe(exc)})") from None


def _reduced_jpeg(data: bytes, pil, scale: float) -> np.ndarray | None:
    """The reduced-scale decode Pillow's draft mode set up, done by OpenCV instead: RGB
    uint8, or None where that is not sure to give the same pixels.

    Both hand the same scaling to libjpeg and get the same pixels (checked in the tests),
    but OpenCV decodes straight into an array, which is cheaper per frame. Only complete
    colour JPEG files take this way: a file without its end marker goes to Pillow, which
    reports the truncation that OpenCV would only warn about.
    """
    import cv2

    if pil.format != "JPEG" or pil.mode != "RGB" or scale >= 1.0 or data[-2:] != b"\xff\xd9":
        return None
    width, height = pil.size
    factor = round(1 / scale)
    flag = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}.get(factor)
    if flag is None:
        return None
    try:
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), flag | cv2.IMREAD_IGNORE_ORIENTATION)
    except cv2.error:
        return None
    if bgr is None or bgr.shape != (height, width, 3):
        return None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _exif_orientation(pil) -> int:
    try:
        value = int(pil.getexif().get(0x0112, 1))
    except Exception:  # a broken EXIF block must not stop us from reading the pixels
        return 1
    return value if 1 <= value <= 8 else 1


def _needs_full_depth_decoder(pil, data: bytes) -> bool:
    """True for 16-bit colour files, which Pillow silently reduces to 8 bits."""
    if pil.format == "PNG":
        declared = _declared_png_depth(data)
        return declared is not None and declared[0] == 16 and declared[1] in (2, 4, 6)
    if pil.format == "TIFF" and pil.mode in ("RGB", "RGBA"):
        # Only layouts OpenCV returns as BGR/BGRA: it cannot read 16-bit CMYK, for one.
        bits = pil.tag_v2.get(258) if hasattr(pil, "tag_v2") else None
        if isinstance(bits, tuple) and len(bits) >= 2 and max(bits) > 8:
            return True
    return False


def _decode_full_depth(data: bytes, source: str, background, orientation: int, fmt) -> LoadedImage:
    import cv2

    if fmt == "TIFF" and orientation != 1:
        # OpenCV's TIFF reader applies the Orientation tag itself (its PNG reader does not,
        # with IMREAD_UNCHANGED): neutralise it so that it is applied once, below.
        data = _tiff_with_orientation_1(data)
    try:  # called inside _quiet_decoding(): libpng and libtiff complaints go nowhere
        array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except Exception as exc:  # cv2.error on some corrupt or oversized files
        raise InputError(f"{source}: cannot decode {fmt} data at full bit depth ({_describe(exc)})") from None
    if array is None:
        raise InputError(f"{source}: cannot decode {fmt} data at full bit depth")
    if array.dtype != np.uint16:
        raise InputError(f"{source}: expected 16-bit samples, decoder gave {array.dtype}")
    declared = _declared_png_depth(data) if fmt == "PNG" else None
    if declared is not None and declared[1] == 4 and array.ndim == 3 and array.shape[2] == 4:
        # Gray + alpha: OpenCV returns it as BGRA with B = G = R; keep gray and alpha.
        array = array[:, :, [0, 3]]
    elif array.ndim == 3 and array.shape[2] >= 3:
        order = [2, 1, 0] + ([3] if array.shape[2] == 4 else [])
        array = array[:, :, order]
    array = _apply_orientation(array, orientation)
    mode = {2: "LA;16", 3: "RGB;16", 4: "RGBA;16"}.get(array.shape[2] if array.ndim == 3 else 1, "I;16")
    return _assemble(_to_unit(array, 65535.0), background, 16, mode, source, orientation, fmt)


def _tiff_with_orientation_1(data: bytes) -> bytes:
    """``data`` with the first IFD's Orientation (tag 274) set to 1; unchanged if absent."""
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None:
        return data
    try:
        magic = struct.unpack_from(order + "H", data, 2)[0]
        if magic == 42:  # classic TIFF: 2-byte entry count, 12-byte entries
            ifd, count_format, entry_size, value_at = struct.unpack_from(order + "I", data, 4)[0], "H", 12, 8
        elif magic == 43:  # BigTIFF: 8-byte entry count, 20-byte entries
            ifd, count_format, entry_size, value_at = struct.unpack_from(order + "Q", data, 8)[0], "Q", 20, 12
        else:
            return data
        count = struct.unpack_from(order + count_format, data, ifd)[0]
        first = ifd + struct.calcsize(count_format)
        for i in range(count):
            entry = first + i * entry_size
            tag, kind = struct.unpack_from(order + "HH", data, entry)
            if tag == 274 and kind == 3:  # SHORT, stored in the entry itself
                patched = bytearray(data)
                struct.pack_into(order + "H", patched, entry + value_at, 1)
                return bytes(patched)
    except struct.error:
        pass
    return data


def _to_unit(samples: np.ndarray, maximum: float) -> np.ndarray:
    """Integer samples -> float32 in [0, 1], dividing in place to allocate one array, not two."""
    values = samples.astype(np.float32)
    values /= np.float32(maximum)
    return values


def _apply_orientation(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) to an (H, W[, C]) array, as Pillow's exif_transpose."""
    transforms = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, k=-1),
        7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
        8: lambda a: np.rot90(a, k=1),
    }
    return np.ascontiguousarray(transforms[orientation](array))


def _bits_of(pil, default: int) -> int:
    bits = pil.tag_v2.get(258) if hasattr(pil, "tag_v2") else None
    if isinstance(bits, tuple) and bits:
        return int(bits[0])
    if isinstance(bits, int):
        return bits
    return default


def _from_pil(pil, source: str, background, *, orientation: int, fmt) -> LoadedImage:
    from PIL import ImageOps

    if getattr(pil, "is_animated", False):
        pil.seek(0)
    if orientation != 1:
        pil = ImageOps.exif_transpose(pil)
    mode = pil.mode
    if mode == "1":
        samples = np.asarray(pil.convert("L"))
        return _assemble(_to_unit(samples, 255.0), background, 1, mode, source, orientation, fmt, samples)
    if mode in ("L", "RGB") and pil.info.get("transparency") is not None:
        # A PNG colour key (tRNS): pixels of that value are transparent. OpenCV honours it
        # for 16-bit colour files, so must we, for the same picture at 8 bits.
        samples = np.asarray(pil.convert(mode + "A"))
        return _assemble(_to_unit(samples, 255.0), background, 8, mode, source, orientation, fmt, samples)
    if mode in ("L", "LA", "RGB", "RGBA"):
        samples = np.asarray(pil)
        return _assemble(_to_unit(samples, 255.0), background, 8, mode, source, orientation, fmt, samples)
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in pil.info
        samples = np.asarray(pil.convert("RGBA" if has_alpha else "RGB"))
        return _assemble(_to_unit(samples, 255.0), background, 8, mode, source, orientation, fmt, samples)
    if mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        samples = np.asarray(pil.convert("RGB"))
        return _assemble(_to_unit(samples, 255.0), background, 8, mode, source, orientation, fmt, samples)
    if mode.startswith("I;16") or mode == "I":
        raw = np.asarray(pil)
        if mode == "I":
            bits = _bits_of(pil, 32 if fmt == "TIFF" else 16)
        else:
            bits = _bits_of(pil, 16)
        scale = float(2**bits - 1)
        array = raw.astype(np.float64) / scale
        if array.min() < 0 or array.max() > 1:
            raise InputError(f"{source}: sample values exceed the declared {bits}-bit range")
        key = pil.info.get("transparency")
        if isinstance(key, int) and not isinstance(key, bool):  # 16-bit gray PNG colour key
            array = np.dstack([array, (raw != key).astype(np.float64)])
        return _assemble(array.astype(np.float32), background, bits, mode, source, orientation, fmt)
    if mode == "F":
        # Floating-point files have no bit depth; by convention their range is [0, 1].
        array = np.asarray(pil, dtype=np.float32)
        if not np.isfinite(array).all():
            raise InputError(f"{source}: floating-point image contains NaN or infinity")
        return _assemble(np.clip(array, 0.0, 1.0), background, 32, mode, source, orientation, fmt)
    raise InputError(f"{source}: pixel mode {mode} is not supported")


def _assemble(
    array: np.ndarray, background, bit_depth, mode, source, orientation, fmt, samples8: np.ndarray | None = None
) -> LoadedImage:
    """Split alpha from colour and composite; ``array`` is float32 in [0, 1].

    ``samples8``, the uint8 samples ``array`` was made from, are kept wherever the pixels
    are still exactly those samples.
    """
    if array.ndim == 2:
        array = array[:, :, None]
        samples8 = samples8[:, :, None] if samples8 is not None else None
    channels = array.shape[2]
    alpha = None
    if channels in (2, 4):
        alpha = np.ascontiguousarray(array[:, :, -1])
        color = array[:, :, :-1]
        samples8 = np.ascontiguousarray(samples8[:, :, :-1]) if samples8 is not None and background is None else None
        if background is not None:
            if color.shape[2] == 1 and len(set(background)) == 1:
                bg = np.float32(background[0])
            else:
                if color.shape[2] == 1:
                    color = np.repeat(color, 3, axis=2)
                bg = np.asarray(background, dtype=np.float32)
            a = alpha[:, :, None]
            color = color * a + bg * (np.float32(1.0) - a)
        array = np.ascontiguousarray(color, dtype=np.float32)
    elif channels not in (1, 3):
        raise InputError(f"{source}: {channels} channels are not supported")
    array.setflags(write=False)
    if alpha is not None:
        alpha.setflags(write=False)
    if samples8 is not None:
        samples8 = np.ascontiguousarray(samples8)
        samples8.setflags(write=False)
    return LoadedImage(
        pixels=array,
        alpha=alpha,
        bit_depth=bit_depth,
        mode=mode,
        source=source,
        orientation=orientation,
        format=fmt,
        samples8=samples8,
    )


def _from_array(array: np.ndarray, data_range: float | None, background, source: str) -> LoadedImage:
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 2, 3, 4)):
        raise OptionError(
            f"array of shape {array.shape} is not an image: use (H, W), (H, W, 3) or (H, W, 4)"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise OptionError(f"array of shape {array.shape} has no pixels")
    if data_range is None:
        if array.dtype == np.uint8:
            data_range = 255.0
        else:
            raise OptionError(
                f"data_range is required for {array.dtype} arrays (for example data_range=1.0 "
                "for floats in [0, 1], 65535 for 16-bit data); only uint8 implies 255"
            )
    if not (isinstance(data_range, (int, float, np.integer, np.floating)) and float(data_range) > 0):
        raise OptionError(f"data_range={data_range!r} must be a positive number")
    if array.dtype.kind not in "uif" and array.dtype != np.bool_:
        raise OptionError(f"array dtype {array.dtype} is not numeric")
    scaled = array.astype(np.float64) / float(data_range)
    if not np.isfinite(scaled).all():
        raise OptionError("array contains NaN or infinity")
    if scaled.min() < 0.0 or scaled.max() > 1.0 + 1e-6:
        raise OptionError(
            f"array values lie outside [0, data_range={data_range}]: "
            f"min {float(array.min())}, max {float(array.max())}; pass the right data_range"
        )
    scaled = np.clip(scaled, 0.0, 1.0).astype(np.float32)
    bits = max(1, int(np.ceil(np.log2(float(data_range) + 1)))) if array.dtype.kind in "ui" else 32
    mode = "L" if array.ndim == 2 else {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[array.shape[2]]
    # a copy: the caller may go on writing into the array it passed
    samples8 = array.copy() if array.dtype == np.uint8 else None
    return _assemble(scaled, background, bits, mode, source, 1, None, samples8)
