"""Image files and arrays -> float32 in [0, 1]: formats, bit depths, orientation, alpha, errors.

Every picture is a real photograph bundled with scikit-image (no downloads), encoded here
into ``tmp_path`` by Pillow, OpenCV, tifffile or, where none of them can write the layout
(16-bit gray + alpha PNG, 12-bit TIFF), by a few lines of ``struct`` + ``zlib`` below.

References: the source arrays themselves for lossless formats (exact float32 equality with
``value / (2**bits - 1)``); Pillow's own decoding of the same file for lossy formats and for
EXIF orientation (``PIL.ImageOps.exif_transpose``), plus a tolerance against the source.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import struct
import tempfile
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
import tifffile
from PIL import Image, ImageFile, ImageOps

from imgdelta.errors import InputError, OptionError
from imgdelta.io.images import DEFAULT_MAX_PIXELS, LoadedImage, load_image, open_image_file, parse_alpha

H, W = 72, 96  # not square, so that a wrong rotation cannot pass


# ---------------------------------------------------------------------------------------------
# Real photographs, cropped, and files made from them
# ---------------------------------------------------------------------------------------------


def _rgb(name: str, y: int = 120, x: int = 150) -> np.ndarray:
    return np.ascontiguousarray(getattr(skimage.data, name)()[y : y + H, x : x + W, :3])


def _gray(name: str, y: int = 120, x: int = 150) -> np.ndarray:
    return np.ascontiguousarray(getattr(skimage.data, name)()[y : y + H, x : x + W])


ASTRONAUT = _rgb("astronaut", 30, 180)
COFFEE = _rgb("coffee")
CHELSEA = _rgb("chelsea", 80, 160)
CAMERA = _gray("camera", 100, 200)
MOON = _gray("moon", 200, 200)
#: A real alpha channel: the camera photo (values from near 0 to near 255).
ALPHA8 = CAMERA
#: 16-bit samples whose low byte matters: high byte from one photo, low byte from another.
RGB16 = (ASTRONAUT.astype(np.uint16) << 8) | COFFEE
GRAY16 = (CAMERA.astype(np.uint16) << 8) | MOON
ALPHA16 = (MOON.astype(np.uint16) << 8) | CAMERA


def _unit(values: np.ndarray, bits: int) -> np.ndarray:
    """The exact float32 the loader must give for integer samples of ``bits`` bits."""
    return values.astype(np.float32) / np.float32(2**bits - 1)


def _save(path: Path, image: Image.Image, fmt: str | None = None, **options) -> Path:
    image.save(path, fmt, **options)
    return path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png(width: int, height: int, bit_depth: int, color_type: int, rows: bytes, extra: bytes = b"") -> bytes:
    """A PNG from raw filter-0 scanlines (``rows`` already has each line's filter byte)."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + extra
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
    )


def _png16(samples: np.ndarray, color_type: int, extra: bytes = b"") -> bytes:
    height, width = samples.shape[:2]
    lines = samples.astype(">u2").reshape(height, -1).view(np.uint8).reshape(height, -1)
    rows = b"".join(b"\x00" + line.tobytes() for line in lines)
    return _png(width, height, 16, color_type, rows, extra)


def _exif_bytes(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def _with_png_exif(png: bytes, orientation: int) -> bytes:
    """``png`` with an eXIf chunk (raw TIFF data, no "Exif\\0\\0") right after IHDR."""
    exif = _exif_bytes(orientation)
    exif = exif[6:] if exif.startswith(b"Exif\x00\x00") else exif
    return png[:33] + _chunk(b"eXIf", exif) + png[33:]


def _tiff12(gray12: np.ndarray) -> bytes:
    """A baseline TIFF with BitsPerSample 12: samples packed MSB first, rows padded to a byte."""
    height, width = gray12.shape
    rows = []
    for line in gray12.astype(np.uint32):
        padded = np.append(line, 0) if width % 2 else line
        first, second = padded[0::2], padded[1::2]
        packed = np.stack([first >> 4, ((first & 0xF) << 4) | (second >> 8), second & 0xFF], axis=1)
        rows.append(packed.astype(np.uint8).tobytes()[: (width * 12 + 7) // 8])
    pixels = b"".join(rows)
    tags = [  # (tag, type SHORT=3 / LONG=4, value)
        (256, 4, width),
        (257, 4, height),
        (258, 3, 12),
        (259, 3, 1),
        (262, 3, 1),
        (273, 4, 0),  # strip offset, filled in below
        (277, 3, 1),
        (278, 4, height),
        (279, 4, len(pixels)),
    ]
    ifd_size = 2 + 12 * len(tags) + 4
    data_at = 8 + ifd_size
    entries = b"".join(
        struct.pack("<HHI", tag, kind, 1)
        + (struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", data_at if tag == 273 else value))
        for tag, kind, value in tags
    )
    return b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(tags)) + entries + b"\x00" * 4 + pixels


def _check_loaded(result: LoadedImage) -> None:
    assert isinstance(result, LoadedImage)
    assert result.pixels.dtype == np.float32
    assert result.pixels.ndim == 3 and result.pixels.shape[2] in (1, 3)
    assert np.isfinite(result.pixels).all()
    assert 0.0 <= result.pixels.min() and result.pixels.max() <= 1.0
    if result.alpha is not None:
        assert result.alpha.dtype == np.float32 and result.alpha.shape == result.pixels.shape[:2]


# ---------------------------------------------------------------------------------------------
# Lossless 8-bit formats: exact values
# ---------------------------------------------------------------------------------------------

#: (format, extension, Pillow mode written, save options, Pillow mode the loader must report)
LOSSLESS_8BIT = [
    ("PNG", "png", "L", {}, "L"),
    ("PNG", "png", "LA", {}, "LA"),
    ("PNG", "png", "RGB", {}, "RGB"),
    ("PNG", "png", "RGBA", {}, "RGBA"),
    ("PNG", "png", "P", {}, "P"),
    ("PNG", "png", "1", {}, "1"),
    ("TIFF", "tif", "L", {}, "L"),
    ("TIFF", "tif", "LA", {}, "LA"),
    ("TIFF", "tif", "RGB", {}, "RGB"),
    ("TIFF", "tif", "RGBA", {}, "RGBA"),
    ("TIFF", "tif", "RGB", {"compression": "tiff_lzw"}, "RGB"),
    ("TIFF", "tif", "CMYK", {}, "CMYK"),
    ("BMP", "bmp", "L", {}, "L"),
    ("BMP", "bmp", "RGB", {}, "RGB"),
    ("BMP", "bmp", "P", {}, "P"),
    ("WEBP", "webp", "RGB", {"lossless": True}, "RGB"),
    ("WEBP", "webp", "RGBA", {"lossless": True, "exact": True}, "RGBA"),
    ("GIF", "gif", "P", {}, "P"),
]


def _source_image(mode: str) -> Image.Image:
    """The photo in ``mode``; modes with alpha take the camera photo as their alpha."""
    rgb = Image.fromarray(CHELSEA)
    if mode == "LA":
        return Image.fromarray(np.dstack([np.asarray(rgb.convert("L")), ALPHA8]), "LA")
    if mode == "RGBA":
        return Image.fromarray(np.dstack([CHELSEA, ALPHA8]), "RGBA")
    if mode == "P":
        return rgb.quantize(colors=97)
    return rgb.convert(mode)


@pytest.mark.parametrize(("fmt", "ext", "mode", "options", "reported"), LOSSLESS_8BIT, ids=lambda v: str(v))
def test_lossless_8bit_files_give_exact_values(tmp_path, fmt, ext, mode, options, reported):
    source = _source_image(mode)
    path = _save(tmp_path / f"photo.{ext}", source, fmt, **options)
    result = load_image(path, alpha="ignore")
    _check_loaded(result)
    assert (result.format, result.mode, result.bit_depth, result.orientation) == (
        fmt,
        reported,
        1 if mode == "1" else 8,
        1,
    )
    assert result.source == str(path)
    assert result.size == (W, H)
    # the reference: what was written, in its own colour space, without the loader's help
    if mode in ("L", "LA", "1"):
        expected = np.asarray(source.convert("L"))[:, :, None]
    else:
        expected = np.asarray(source.convert("RGB"))
    np.testing.assert_array_equal(result.pixels, _unit(expected, 8))
    if mode in ("LA", "RGBA"):
        np.testing.assert_array_equal(result.alpha, _unit(ALPHA8, 8))
    else:
        assert result.alpha is None


def test_cmyk_tiff_matches_the_rgb_it_was_made_from(tmp_path):
    # Pillow's RGB -> CMYK -> RGB is exact (K = 0), so the source photo is the reference
    path = _save(tmp_path / "cmyk.tif", Image.fromarray(COFFEE).convert("CMYK"))
    result = load_image(path)
    assert result.mode == "CMYK" and result.channels == 3
    np.testing.assert_array_equal(result.pixels, _unit(COFFEE, 8))


# ---------------------------------------------------------------------------------------------
# Lossy formats: Pillow's decoding exactly, the source within a tolerance
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "ext", "mode", "options", "mean_tol", "max_tol"),
    [
        ("JPEG", "jpg", "RGB", {"quality": 95}, 0.02, 0.25),
        ("JPEG", "jpg", "RGB", {"quality": 90, "progressive": True}, 0.025, 0.3),
        ("JPEG", "jpg", "L", {"quality": 95}, 0.02, 0.2),
        ("JPEG", "jpg", "CMYK", {"quality": 95}, 0.03, 0.3),
        ("WEBP", "webp", "RGB", {"quality": 90}, 0.03, 0.35),
        ("WEBP", "webp", "RGBA", {"quality": 90}, 0.03, 0.35),
        ("GIF", "gif", "RGB", {}, 0.06, 0.5),  # quantized to 256 colours on save
    ],
    ids=lambda v: str(v),
)
def test_lossy_files_within_tolerance(tmp_path, fmt, ext, mode, options, mean_tol, max_tol):
    source = _source_image(mode)
    path = _save(tmp_path / f"photo.{ext}", source, fmt, **options)
    result = load_image(path, alpha="ignore")
    _check_loaded(result)
    assert result.format == fmt and result.bit_depth == 8 and result.orientation == 1
    with Image.open(path) as decoded:
        assert result.mode == decoded.mode
        gray = decoded.mode == "L"
        pillow = np.asarray(decoded.convert("L" if gray else "RGB"))
    np.testing.assert_array_equal(result.pixels, _unit(pillow[:, :, None] if gray else pillow, 8))
    original = _unit(np.asarray(source.convert("L" if gray else "RGB")), 8)
    error = np.abs(result.pixels - (original[:, :, None] if gray else original))
    assert error.mean() < mean_tol and error.max() < max_tol
    if mode == "RGBA":  # lossy WebP keeps alpha (losslessly unless told otherwise)
        assert np.abs(result.alpha - _unit(ALPHA8, 8)).max() <= 2 / 255


def test_gif_gives_the_first_frame(tmp_path):
    frames = [Image.fromarray(photo).quantize(colors=64) for photo in (CHELSEA, COFFEE, ASTRONAUT)]
    path = tmp_path / "animated.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with Image.open(path) as check:
        assert check.n_frames == 3
    result = load_image(path)
    assert result.format == "GIF" and result.mode == "P"
    first = _unit(np.asarray(frames[0].convert("RGB")), 8)
    np.testing.assert_array_equal(result.pixels, first)
    assert np.abs(result.pixels - _unit(CHELSEA, 8)).mean() < 0.05
    assert np.abs(result.pixels - _unit(COFFEE, 8)).mean() > 0.1  # not some later frame


# ---------------------------------------------------------------------------------------------
# Palette with and without transparency; PNG colour keys
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "ext"), [("PNG", "png"), ("GIF", "gif")])
def test_palette_with_transparency(tmp_path, fmt, ext):
    paletted = Image.fromarray(COFFEE).quantize(colors=50)
    indices = np.asarray(paletted)
    key = int(np.bincount(indices.ravel()).argmax())  # the commonest colour turns transparent
    path = _save(tmp_path / f"key.{ext}", paletted, fmt, transparency=key)
    opaque_rgb = _unit(np.asarray(paletted.convert("RGB")), 8)
    clear = indices == key
    assert 0 < clear.sum() < clear.size

    ignored = load_image(path, alpha="ignore")
    assert ignored.mode == "P" and ignored.format == fmt
    np.testing.assert_array_equal(ignored.alpha, (~clear).astype(np.float32))
    np.testing.assert_array_equal(ignored.pixels[~clear], opaque_rgb[~clear])

    black = load_image(path)
    np.testing.assert_array_equal(black.pixels[clear], 0.0)
    np.testing.assert_array_equal(black.pixels[~clear], opaque_rgb[~clear])
    white = load_image(path, alpha="white")
    np.testing.assert_array_equal(white.pixels[clear], 1.0)


def test_palette_without_transparency_has_no_alpha(tmp_path):
    path = _save(tmp_path / "p.png", Image.fromarray(COFFEE).quantize(colors=50))
    result = load_image(path)
    assert result.mode == "P" and result.alpha is None and result.channels == 3


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_png_colour_key_8bit(tmp_path, mode):
    image = Image.fromarray(CHELSEA).convert(mode)
    array = np.asarray(image)
    key = int(array[10, 20]) if mode == "L" else tuple(int(v) for v in array[10, 20])
    path = _save(tmp_path / "key.png", image, transparency=key)
    clear = (array == key) if mode == "L" else np.all(array == np.array(key), axis=2)
    result = load_image(path, alpha="white")
    assert result.mode == mode and result.alpha is not None
    np.testing.assert_array_equal(result.alpha, (~clear).astype(np.float32))
    np.testing.assert_array_equal(result.pixels[clear], 1.0)
    expected = _unit(array if mode == "RGB" else array[:, :, None], 8)
    np.testing.assert_array_equal(result.pixels[~clear], expected[~clear])


def test_png_colour_key_16bit_gray_and_rgb(tmp_path):
    gray_key = int(GRAY16[5, 7])
    gray = tmp_path / "gray_key.png"
    gray.write_bytes(_png16(GRAY16, 0, extra=_chunk(b"tRNS", struct.pack(">H", gray_key))))
    result = load_image(gray, alpha="ignore")
    assert result.bit_depth == 16 and result.channels == 1
    np.testing.assert_array_equal(result.pixels[:, :, 0], _unit(GRAY16, 16))
    np.testing.assert_array_equal(result.alpha, (GRAY16 != gray_key).astype(np.float32))

    rgb_key = tuple(int(v) for v in RGB16[5, 7])
    rgb = tmp_path / "rgb_key.png"
    rgb.write_bytes(_png16(RGB16, 2, extra=_chunk(b"tRNS", struct.pack(">HHH", *rgb_key))))
    result = load_image(rgb, alpha="ignore")
    assert result.bit_depth == 16 and result.channels == 3
    np.testing.assert_array_equal(result.pixels, _unit(RGB16, 16))
    np.testing.assert_array_equal(result.alpha, np.any(RGB16 != np.array(rgb_key), axis=2).astype(np.float32))


# ---------------------------------------------------------------------------------------------
# 16 and 12 bits: full precision, scaled from the declared depth
# ---------------------------------------------------------------------------------------------


def test_16bit_gray_png(tmp_path):
    path = _save(tmp_path / "gray16.png", Image.fromarray(GRAY16))
    result = load_image(path)
    assert (result.format, result.mode, result.bit_depth) == ("PNG", "I;16", 16)
    np.testing.assert_array_equal(result.pixels[:, :, 0], _unit(GRAY16, 16))


@pytest.mark.parametrize("alpha", [False, True], ids=["RGB", "RGBA"])
def test_16bit_colour_png_keeps_full_precision(tmp_path, alpha):
    samples = np.dstack([RGB16, ALPHA16]) if alpha else RGB16
    path = tmp_path / "colour16.png"
    assert cv2.imwrite(str(path), samples[:, :, [2, 1, 0, 3] if alpha else [2, 1, 0]])
    with Image.open(path) as pillow:  # what Pillow alone would give: 8 bits
        assert np.asarray(pillow).dtype == np.uint8
    result = load_image(path, alpha="ignore")
    assert (result.format, result.mode, result.bit_depth) == ("PNG", "RGBA;16" if alpha else "RGB;16", 16)
    np.testing.assert_array_equal(result.pixels, _unit(RGB16, 16))
    if alpha:
        np.testing.assert_array_equal(result.alpha, _unit(ALPHA16, 16))
        composited = load_image(path)  # over black
        expected = _unit(RGB16, 16) * _unit(ALPHA16, 16)[:, :, None]
        np.testing.assert_allclose(composited.pixels, expected, rtol=0, atol=1e-7)
    else:
        assert result.alpha is None


def test_16bit_gray_alpha_png(tmp_path):
    path = tmp_path / "la16.png"
    path.write_bytes(_png16(np.dstack([GRAY16, ALPHA16]), 4))
    result = load_image(path, alpha="ignore")
    assert (result.mode, result.bit_depth, result.channels) == ("LA;16", 16, 1)
    np.testing.assert_array_equal(result.pixels[:, :, 0], _unit(GRAY16, 16))
    np.testing.assert_array_equal(result.alpha, _unit(ALPHA16, 16))
    white = load_image(path, alpha="white")
    assert white.channels == 1
    a = _unit(ALPHA16, 16)
    np.testing.assert_allclose(white.pixels[:, :, 0], _unit(GRAY16, 16) * a + (1 - a), rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("name", "samples", "options", "mode", "channels"),
    [
        ("gray", GRAY16, {"photometric": "minisblack"}, "I;16", 1),
        ("gray big-endian", GRAY16, {"photometric": "minisblack", "byteorder": ">"}, "I;16B", 1),
        ("rgb", RGB16, {"photometric": "rgb"}, "RGB;16", 3),
        ("rgb big-endian", RGB16, {"photometric": "rgb", "byteorder": ">"}, "RGB;16", 3),
        ("rgba", np.dstack([RGB16, ALPHA16]), {"photometric": "rgb", "extrasamples": ["unassalpha"]}, "RGBA;16", 3),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_16bit_tiff_keeps_full_precision(tmp_path, name, samples, options, mode, channels):
    path = tmp_path / "photo16.tif"
    tifffile.imwrite(path, np.ascontiguousarray(samples), **options)
    result = load_image(path, alpha="ignore")
    assert (result.format, result.mode, result.bit_depth, result.channels) == ("TIFF", mode, 16, channels)
    expected = RGB16 if channels == 3 else GRAY16[:, :, None]
    np.testing.assert_array_equal(result.pixels, _unit(expected, 16))
    if mode == "RGBA;16":
        np.testing.assert_array_equal(result.alpha, _unit(ALPHA16, 16))


def test_16bit_planar_tiff_is_refused_not_scrambled(tmp_path):
    # OpenCV 5.0 and Pillow 13 both decode separate 16-bit planes into scrambled pixels
    path = tmp_path / "planar16.tif"
    tifffile.imwrite(path, np.ascontiguousarray(RGB16.transpose(2, 0, 1)), photometric="rgb", planarconfig="separate")
    np.testing.assert_array_equal(tifffile.imread(path), RGB16.transpose(2, 0, 1))  # the file is right
    with pytest.raises(InputError, match=r"planar16.tif: TIFF with separate 16-bit colour planes"):
        load_image(path)
    planar8 = tmp_path / "planar8.tif"  # 8-bit planes are read correctly
    planes = np.ascontiguousarray(COFFEE.transpose(2, 0, 1))
    tifffile.imwrite(planar8, planes, photometric="rgb", planarconfig="separate")
    np.testing.assert_array_equal(load_image(planar8).pixels, _unit(COFFEE, 8))


def test_16bit_tiff_written_by_opencv(tmp_path):
    path = tmp_path / "cv.tif"
    assert cv2.imwrite(str(path), RGB16[:, :, ::-1])
    result = load_image(path)
    assert result.bit_depth == 16
    np.testing.assert_array_equal(result.pixels, _unit(RGB16, 16))


def test_12bit_tiff_scaled_by_4095(tmp_path):
    gray12 = (CAMERA.astype(np.uint16) << 4) | (MOON.astype(np.uint16) >> 4)
    gray12[0, 0], gray12[0, 1] = 4095, 0  # the extremes map to exactly 1 and 0
    path = tmp_path / "gray12.tif"
    path.write_bytes(_tiff12(gray12))
    result = load_image(path)
    assert (result.format, result.bit_depth, result.mode) == ("TIFF", 12, "I;16")
    np.testing.assert_array_equal(result.pixels[:, :, 0], _unit(gray12, 12))
    assert result.pixels[0, 0, 0] == 1.0 and result.pixels[0, 1, 0] == 0.0


def test_16bit_cmyk_tiff_is_read_not_refused(tmp_path):
    cmyk = np.dstack([RGB16, GRAY16])
    path = tmp_path / "cmyk16.tif"
    tifffile.imwrite(path, cmyk, photometric="separated")
    result = load_image(path)
    assert result.mode == "CMYK" and result.channels == 3
    _check_loaded(result)


def test_corrupt_16bit_png_prints_nothing(tmp_path, capfd):
    data = bytearray(_png16(RGB16, 2))
    data[200] ^= 0x10  # inside IDAT: libpng reports a CRC error on stderr by itself
    path = tmp_path / "corrupt16.png"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="corrupt16.png: cannot decode PNG data"):
        load_image(path)
    truncated = tmp_path / "truncated16.png"
    truncated.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(InputError, match="truncated16.png"):
        load_image(truncated)
    os.write(2, b"still here\n")  # file descriptor 2 is back where it was
    captured = capfd.readouterr()
    assert captured.err == "still here\n" and captured.out == ""


# ---------------------------------------------------------------------------------------------
# EXIF orientation, compared with PIL.ImageOps.exif_transpose
# ---------------------------------------------------------------------------------------------

ORIENTATIONS = range(1, 9)


def _exif_transposed(samples: np.ndarray, orientation: int) -> np.ndarray:
    """Pillow's exif_transpose applied to each channel of an integer array."""
    planes = samples[:, :, None] if samples.ndim == 2 else samples
    out = []
    for plane in np.moveaxis(planes, 2, 0):
        image = Image.fromarray(np.ascontiguousarray(plane))
        image.info["exif"] = _exif_bytes(orientation)
        out.append(np.asarray(ImageOps.exif_transpose(image)))
    return np.stack(out, axis=2)


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_exif_orientation_jpeg(tmp_path, orientation):
    path = _save(tmp_path / "o.jpg", Image.fromarray(ASTRONAUT), quality=95, exif=_exif_bytes(orientation))
    result = load_image(path)
    assert result.orientation == orientation
    with Image.open(path) as image:
        expected = np.asarray(ImageOps.exif_transpose(image))
    assert result.size == ((H, W) if orientation >= 5 else (W, H))
    np.testing.assert_array_equal(result.pixels, _unit(expected, 8))


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_exif_orientation_png_rgba(tmp_path, orientation):
    source = Image.fromarray(np.dstack([CHELSEA, ALPHA8]), "RGBA")
    path = _save(tmp_path / "o.png", source, exif=_exif_bytes(orientation))
    result = load_image(path, alpha="ignore")
    assert result.orientation == orientation
    expected = _exif_transposed(np.dstack([CHELSEA, ALPHA8]), orientation)
    np.testing.assert_array_equal(result.pixels, _unit(expected[:, :, :3], 8))
    np.testing.assert_array_equal(result.alpha, _unit(expected[:, :, 3], 8))


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_exif_orientation_16bit_png(tmp_path, orientation):
    path = tmp_path / "o16.png"
    path.write_bytes(_with_png_exif(_png16(RGB16, 2), orientation))
    result = load_image(path)
    assert (result.orientation, result.bit_depth) == (orientation, 16)
    np.testing.assert_array_equal(result.pixels, _unit(_exif_transposed(RGB16, orientation), 16))
    with Image.open(path) as pillow:  # Pillow's own view of the file (its high bytes) agrees
        high_bytes = np.asarray(ImageOps.exif_transpose(pillow))
    np.testing.assert_array_equal(np.round(result.pixels * 65535).astype(np.uint16) >> 8, high_bytes)


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_exif_orientation_16bit_gray_png(tmp_path, orientation):
    path = _save(tmp_path / "o16g.png", Image.fromarray(GRAY16), exif=_exif_bytes(orientation))
    result = load_image(path)
    assert (result.orientation, result.mode) == (orientation, "I;16")
    np.testing.assert_array_equal(result.pixels, _unit(_exif_transposed(GRAY16, orientation), 16))


@pytest.mark.parametrize("orientation", ORIENTATIONS)
def test_exif_orientation_16bit_tiff(tmp_path, orientation):
    path = tmp_path / "o16.tif"
    tifffile.imwrite(path, RGB16, photometric="rgb", extratags=[(274, "H", 1, orientation, True)])
    result = load_image(path)
    assert (result.orientation, result.bit_depth, result.format) == (orientation, 16, "TIFF")
    np.testing.assert_array_equal(result.pixels, _unit(_exif_transposed(RGB16, orientation), 16))


@pytest.mark.parametrize("orientation", [3, 6])
def test_exif_orientation_8bit_tiff(tmp_path, orientation):
    path = _save(tmp_path / "o.tif", Image.fromarray(COFFEE), tiffinfo={274: orientation})
    result = load_image(path)
    assert result.orientation == orientation
    np.testing.assert_array_equal(result.pixels, _unit(_exif_transposed(COFFEE, orientation), 8))


def test_out_of_range_orientation_is_ignored(tmp_path):
    path = _save(tmp_path / "o9.jpg", Image.fromarray(COFFEE), quality=95, exif=_exif_bytes(9))
    result = load_image(path)
    assert result.orientation == 1 and result.size == (W, H)


# ---------------------------------------------------------------------------------------------
# Alpha policies
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "background"),
    [
        ("black", (0.0, 0.0, 0.0)),
        ("white", (1.0, 1.0, 1.0)),
        ("#336699", (0x33 / 255, 0x66 / 255, 0x99 / 255)),
        ("#FFA500", (1.0, 0xA5 / 255, 0.0)),
        ((0.25, 0.5, 0.75), (0.25, 0.5, 0.75)),
    ],
    ids=str,
)
def test_alpha_composited_over_background(tmp_path, policy, background):
    path = _save(tmp_path / "rgba.png", Image.fromarray(np.dstack([COFFEE, ALPHA8]), "RGBA"))
    result = load_image(path, alpha=policy)
    color, a = _unit(COFFEE, 8), _unit(ALPHA8, 8)[:, :, None]
    expected = color * a + np.asarray(background, dtype=np.float32) * (np.float32(1) - a)
    np.testing.assert_allclose(result.pixels, expected, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(result.alpha, _unit(ALPHA8, 8))  # the original alpha is kept
    assert result.channels == 3


def test_alpha_default_is_black_and_ignore_keeps_colour(tmp_path):
    path = _save(tmp_path / "rgba.png", Image.fromarray(np.dstack([COFFEE, ALPHA8]), "RGBA"))
    assert np.array_equal(load_image(path).pixels, load_image(path, alpha="black").pixels)
    ignored = load_image(path, alpha="ignore")
    np.testing.assert_array_equal(ignored.pixels, _unit(COFFEE, 8))
    np.testing.assert_array_equal(ignored.alpha, _unit(ALPHA8, 8))


def test_gray_alpha_over_colour_becomes_rgb(tmp_path):
    path = _save(tmp_path / "la.png", Image.fromarray(np.dstack([CAMERA, MOON]), "LA"))
    gray = load_image(path, alpha="white")
    assert gray.channels == 1
    tinted = load_image(path, alpha="#ff0000")
    assert tinted.channels == 3
    a = _unit(MOON, 8)
    np.testing.assert_allclose(tinted.pixels[:, :, 0], _unit(CAMERA, 8) * a + (1 - a), atol=1e-6)
    np.testing.assert_allclose(tinted.pixels[:, :, 1], _unit(CAMERA, 8) * a, atol=1e-6)


@pytest.mark.parametrize("bad", ["#12345", "#gggggg", "transparent", "", (1.0, 0.0), (0.0, 0.5, 2.0)], ids=repr)
def test_unknown_alpha_policy(bad):
    with pytest.raises(OptionError, match="alpha"):
        load_image(CHELSEA, alpha=bad)
    with pytest.raises(OptionError, match="alpha"):
        parse_alpha(bad)


# ---------------------------------------------------------------------------------------------
# Arrays through the API: the range is explicit
# ---------------------------------------------------------------------------------------------


def test_uint8_array_implies_255():
    result = load_image(CHELSEA)
    assert (result.bit_depth, result.mode, result.format, result.source) == (8, "RGB", None, "<array>")
    np.testing.assert_array_equal(result.pixels, _unit(CHELSEA, 8))
    gray = load_image(CAMERA, name="camera")
    assert gray.channels == 1 and gray.source == "camera"


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint16, np.int32, np.int16])
def test_other_dtypes_need_data_range(dtype):
    with pytest.raises(OptionError, match="data_range"):
        load_image(CHELSEA.astype(dtype))


def test_float_and_16bit_arrays_with_data_range():
    floats = CHELSEA.astype(np.float32) / 255
    np.testing.assert_array_equal(load_image(floats, data_range=1.0).pixels, floats)
    result = load_image(RGB16, data_range=65535)
    assert result.bit_depth == 16
    np.testing.assert_array_equal(result.pixels, _unit(RGB16, 16))
    twelve = load_image(GRAY16 >> 4, data_range=4095)
    assert twelve.bit_depth == 12
    np.testing.assert_array_equal(twelve.pixels[:, :, 0], _unit(GRAY16 >> 4, 12))


@pytest.mark.parametrize("data_range", [0, -1.0, "255", float("nan")], ids=repr)
def test_bad_data_range(data_range):
    with pytest.raises(OptionError, match="data_range"):
        load_image(CHELSEA.astype(np.float32), data_range=data_range)


def test_values_outside_data_range_or_not_finite():
    with pytest.raises(OptionError, match="outside"):
        load_image(CHELSEA.astype(np.float32), data_range=1.0)
    bad = CHELSEA.astype(np.float32) / 255
    bad[0, 0, 0] = np.nan
    with pytest.raises(OptionError, match="NaN"):
        load_image(bad, data_range=1.0)


def test_rgba_array_and_bad_shapes():
    result = load_image(np.dstack([COFFEE, ALPHA8]), alpha="ignore")
    np.testing.assert_array_equal(result.alpha, _unit(ALPHA8, 8))
    with pytest.raises(OptionError, match="shape"):
        load_image(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(OptionError, match="no pixels"):
        load_image(np.zeros((0, 4, 3), np.uint8))
    with pytest.raises(OptionError, match="cannot use an object of type"):
        load_image(3.5)


def test_bytes_pil_and_loaded_inputs(tmp_path):
    path = _save(tmp_path / "c.png", Image.fromarray(CHELSEA))
    from_bytes = load_image(path.read_bytes())
    assert from_bytes.source == "<bytes>" and from_bytes.format == "PNG"
    np.testing.assert_array_equal(from_bytes.pixels, _unit(CHELSEA, 8))
    with Image.open(path) as image:
        from_pil = load_image(image, name="pil")
    assert from_pil.source == "pil"
    np.testing.assert_array_equal(from_pil.pixels, _unit(CHELSEA, 8))
    assert load_image(from_bytes) is from_bytes
    assert load_image(str(path)).source == str(path)


def test_pixels_are_read_only():
    result = load_image(CHELSEA)
    with pytest.raises(ValueError, match="read-only"):
        result.pixels[0, 0, 0] = 1


# ---------------------------------------------------------------------------------------------
# Decompression bombs: refused before decoding
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def no_decoding(monkeypatch):
    """Make any pixel decoding by Pillow or OpenCV fail the test."""

    def forbidden(*args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", forbidden)
    monkeypatch.setattr(cv2, "imdecode", forbidden)


def test_max_pixels_refuses_before_decoding(tmp_path, no_decoding):
    path = _save(tmp_path / "c.png", Image.fromarray(CHELSEA))
    message = (
        rf"^{re.escape(str(path))}: {W}x{H} = {W * H} pixels exceeds the limit of {W * H - 1} "
        r"\(decompression-bomb guard; raise max_pixels, or --max-pixels on the command line, if you trust the file\)$"
    )
    with pytest.raises(InputError, match=message):
        load_image(path, max_pixels=W * H - 1)
    with pytest.raises(InputError, match=message):
        open_image_file(path, max_pixels=W * H - 1)


def test_max_pixels_boundary_and_none(tmp_path):
    path = _save(tmp_path / "c.png", Image.fromarray(CHELSEA))
    assert load_image(path, max_pixels=W * H).size == (W, H)
    assert load_image(path, max_pixels=None).size == (W, H)
    assert open_image_file(path, max_pixels=W * H).size == (W, H)
    assert DEFAULT_MAX_PIXELS == 178_956_970


@pytest.mark.parametrize(
    ("width", "height"),
    [(20_000, 9_000), (15_000, 15_000), (100_000, 100_000)],  # 1.8e8 (just over), 2.25e8, 1e10
)
def test_decompression_bomb_header(tmp_path, no_decoding, width, height):
    # a header declaring a huge image over a few bytes of (invalid) data: it must be refused
    # for its size, from the header alone
    path = tmp_path / "bomb.png"
    path.write_bytes(_png(width, height, 8, 2, b"\x00" * 64))
    # Pillow refuses these itself, before our own check ("WxH = N pixels ..."): either will do
    size = rf"({width}x{height} = )?{width * height} pixels"
    pattern = rf"^{re.escape(str(path))}: {size} exceeds the limit of {DEFAULT_MAX_PIXELS} \(decompression-bomb guard"
    with pytest.raises(InputError, match=pattern):
        load_image(path)
    with pytest.raises(InputError, match=pattern):
        open_image_file(path)
    with pytest.raises(InputError, match=rf"{re.escape(str(path))}: {size} exceeds the limit of 1000 "):
        load_image(path, max_pixels=1000)


def test_decompression_bomb_beyond_pillow_limit_names_pillow(tmp_path, no_decoding):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png(20_000, 20_000, 8, 2, b"\x00" * 64))
    # max_pixels above Pillow's own hard limit cannot lift it: the message says whose limit
    with pytest.raises(InputError, match=r"400000000 pixels exceeds Pillow's own limit of \d+ .*MAX_IMAGE_PIXELS"):
        load_image(path, max_pixels=None)


def test_bomb_in_memory_under_the_limit_is_fine():
    assert load_image(np.zeros((3000, 4000, 3), np.uint8), max_pixels=10).size == (4000, 3000)


# ---------------------------------------------------------------------------------------------
# Bad input: one InputError, one line, naming the file and the problem
# ---------------------------------------------------------------------------------------------


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good_png = _save(tmp_path / "good.png", Image.fromarray(CHELSEA))
    good_jpg = _save(tmp_path / "good.jpg", Image.fromarray(CHELSEA), quality=90)
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("this is not a picture\n")
    jpeg = good_jpg.read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    png = good_png.read_bytes()
    (tmp_path / "truncated.png").write_bytes(png[: len(png) // 2])
    (tmp_path / "bomb.png").write_bytes(_png(20_000, 10_000, 8, 2, b"\x00" * 64))
    return {
        "missing": (tmp_path / "missing.png", "no such file"),
        "empty": (tmp_path / "empty.png", "empty file"),
        "folder": (tmp_path / "folder.png", "is a folder"),
        "text": (tmp_path / "text.png", "not an image file"),
        "truncated jpeg": (tmp_path / "truncated.jpg", "cannot decode JPEG data .*truncated"),
        "truncated png": (tmp_path / "truncated.png", "cannot decode PNG data .*truncated"),
        "bomb": (tmp_path / "bomb.png", "200000000 pixels exceeds the limit"),
    }


BAD_KINDS = ["missing", "empty", "folder", "text", "truncated jpeg", "truncated png", "bomb"]


@pytest.mark.parametrize("opener", ["load_image", "open_image_file"])
@pytest.mark.parametrize("kind", BAD_KINDS)
def test_bad_input_is_one_line_input_error(tmp_path, kind, opener):
    path, problem = _bad_files(tmp_path)[kind]
    function = load_image if opener == "load_image" else open_image_file
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(InputError) as error:
            function(path)
    assert caught == []
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert re.search(problem, message), message
    assert error.value.__cause__ is None  # raised "from None": no chained traceback
    assert error.value.__context__ is None or error.value.__suppress_context__


def test_bad_bytes_name_the_source(tmp_path):
    with pytest.raises(InputError, match=r"^<bytes>: not an image file"):
        load_image(b"GIF89a but not really")
    with pytest.raises(InputError, match=r"^upload\.png: cannot decode PNG data"):
        png = (_save(tmp_path / "c.png", Image.fromarray(CHELSEA))).read_bytes()
        load_image(png[:-400], name="upload.png")


@contextlib.contextmanager
def _unreadable(data: bytes):
    """A file that this process really cannot read, even when it runs as root.

    Root reads mode-000 files, so for root the read happens with the effective user id of
    an ordinary user (``os.seteuid``, undone afterwards) in a folder that user can enter: the
    kernel then refuses the file itself. A readable file beside it proves the refusal is
    about the file's permissions, not the folder's.
    """
    folder = Path(tempfile.mkdtemp(prefix="imgdelta-perm-"))
    try:
        folder.chmod(0o711)
        locked, readable = folder / "locked.png", folder / "readable.png"
        locked.write_bytes(data)
        readable.write_bytes(data)
        locked.chmod(0)
        readable.chmod(0o644)
        if os.access(locked, os.R_OK):  # root, or CAP_DAC_OVERRIDE: become somebody else
            assert os.geteuid() == 0, "mode 000 file readable without being root"
            os.seteuid(65534)
            try:
                assert not os.access(locked, os.R_OK, effective_ids=True)
                yield locked, readable
            finally:
                os.seteuid(0)
        else:
            yield locked, readable
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_unreadable_file(tmp_path):
    data = _save(tmp_path / "c.png", Image.fromarray(CHELSEA)).read_bytes()
    load_image(data)  # import every lazy module before the user id may change
    with _unreadable(data) as (locked, readable):
        assert load_image(readable).size == (W, H)
        with pytest.raises(InputError, match=rf"^{re.escape(str(locked))}: permission denied$"):
            load_image(locked)
        with pytest.raises(InputError, match=rf"^{re.escape(str(locked))}: permission denied$"):
            open_image_file(locked)


def test_open_image_file_is_pillows_view(tmp_path):
    path = _save(tmp_path / "o.jpg", Image.fromarray(ASTRONAUT), quality=95, exif=_exif_bytes(6))
    image = open_image_file(path)
    with Image.open(path) as reference:
        assert image.size == reference.size == (W, H)  # not rotated
        np.testing.assert_array_equal(np.asarray(image), np.asarray(reference))


def test_corrupt_metadata_does_not_warn(tmp_path):
    # an EXIF block whose IFD points past its end: Pillow warns "Corrupt EXIF data"
    exif = bytearray(_exif_bytes(6))
    exif[-12:] = b"\xff" * 12
    buffer = io.BytesIO()
    Image.fromarray(COFFEE).save(buffer, "JPEG", quality=95, exif=bytes(exif))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = load_image(buffer.getvalue())
        except InputError:
            result = None
    assert caught == []
    if result is not None:
        _check_loaded(result)
