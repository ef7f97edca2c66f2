"""Damaged files: a decoded image or an InputError, nothing else.

Seeds are a small crop of a real photograph (``skimage.data.chelsea``) encoded in every
format the loader reads, through each decoding path it has (Pillow, Pillow's libtiff, and
OpenCV for 16-bit colour). Hypothesis truncates them, flips bits, overwrites runs of bytes,
saves them under the wrong extension, and makes garbage behind real magic numbers.

The only outcomes allowed, for :func:`load_image` and :func:`open_image_file` alike:

* a result (float32 pixels, finite, in [0, 1]; or a loaded PIL image with pixels), or
* an :class:`InputError` with a one-line message naming the source,

and, in both cases, no Python warning and nothing written to stderr by a C library.
"""

from __future__ import annotations

import functools
import io
import warnings

import cv2
import numpy as np
import pytest
import skimage.data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from imgdelta.errors import InputError
from imgdelta.io.images import LoadedImage, load_image, open_image_file

#: Per-test budget: the whole file runs in well under 40 s on two cores.
FUZZ = settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@functools.cache
def seeds() -> dict[str, bytes]:
    """name -> encoded bytes of the same 24x32 crop of a real photo."""
    crop = np.ascontiguousarray(skimage.data.chelsea()[120:144, 180:212])
    alpha = np.ascontiguousarray(skimage.data.camera()[200:224, 200:232])
    rgb = Image.fromarray(crop)
    rgba = Image.fromarray(np.dstack([crop, alpha]), "RGBA")

    def encode(image: Image.Image, fmt: str, **options) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        return buffer.getvalue()

    exif = Image.Exif()
    exif[0x0112] = 6
    wide = (crop.astype(np.uint16) << 8) | crop[::-1, ::-1]
    paletted = rgb.quantize(colors=32)
    return {
        "png": encode(rgb, "PNG"),
        "png-rgba": encode(rgba, "PNG"),
        "png-palette-alpha": encode(paletted, "PNG", transparency=3),
        "png-16-rgb": cv2.imencode(".png", wide[:, :, ::-1])[1].tobytes(),
        "png-16-rgba": cv2.imencode(".png", np.dstack([wide[:, :, ::-1], wide[:, :, 0]]))[1].tobytes(),
        "png-16-gray": encode(Image.fromarray(wide[:, :, 1]), "PNG"),
        "jpeg": encode(rgb, "JPEG", quality=90, exif=exif.tobytes()),
        "jpeg-progressive": encode(rgb, "JPEG", quality=80, progressive=True),
        "jpeg-cmyk": encode(rgb.convert("CMYK"), "JPEG", quality=90),
        "tiff": encode(rgb, "TIFF", tiffinfo={274: 6}),
        "tiff-lzw": encode(rgba, "TIFF", compression="tiff_lzw"),
        "tiff-16-rgb": cv2.imencode(".tiff", wide[:, :, ::-1])[1].tobytes(),
        "gif": encode(paletted, "GIF", transparency=3),
        "webp": encode(rgb, "WEBP", quality=80),
        "webp-lossless": encode(rgba, "WEBP", lossless=True),
        "bmp": encode(rgb, "BMP"),
        "bmp-palette": encode(paletted, "BMP"),
    }


SEED_NAMES = sorted(seeds())
EXTENSIONS = ["png", "jpg", "jpeg", "tif", "tiff", "gif", "webp", "bmp", "txt", ""]
MAGIC = [
    b"\x89PNG\r\n\x1a\n",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    b"\xff\xd8\xff\xe0",
    b"\xff\xd8\xff\xe1",
    b"II*\x00",
    b"MM\x00*",
    b"II+\x00",
    b"GIF89a",
    b"GIF87a",
    b"RIFF\x00\x10\x00\x00WEBPVP8 ",
    b"RIFF\x00\x10\x00\x00WEBPVP8L",
    b"BM",
    b"",
]


def check_outcome(call, source: str, capfd) -> object:
    """Run ``call``; allow only a valid result or a one-line InputError, quietly."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call()
        except InputError as exc:
            message = str(exc)
            assert "\n" not in message and message.startswith(f"{source}: "), message
            result = None
    assert [str(w.message) for w in caught] == []
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
    if isinstance(result, LoadedImage):
        pixels = result.pixels
        assert pixels.dtype == np.float32 and pixels.ndim == 3 and pixels.shape[2] in (1, 3)
        assert pixels.shape[0] >= 1 and pixels.shape[1] >= 1
        assert np.isfinite(pixels).all() and pixels.min() >= 0.0 and pixels.max() <= 1.0
        if result.alpha is not None:
            assert result.alpha.dtype == np.float32 and result.alpha.shape == pixels.shape[:2]
            assert np.isfinite(result.alpha).all() and 0.0 <= result.alpha.min() and result.alpha.max() <= 1.0
    elif result is not None:
        assert isinstance(result, Image.Image)
        assert result.width >= 1 and result.height >= 1
        gray = np.asarray(result.convert("L"))  # what the hashes do with it next
        assert gray.shape == (result.height, result.width)
    return result


def both_ways(data: bytes, path, capfd) -> None:
    """The damaged bytes through load_image (as bytes and as a file) and open_image_file."""
    check_outcome(lambda: load_image(data), "<bytes>", capfd)
    path.write_bytes(data)
    check_outcome(lambda: load_image(path), str(path), capfd)
    check_outcome(lambda: open_image_file(path), str(path), capfd)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def test_every_seed_decodes(capfd):
    for name in SEED_NAMES:
        result = check_outcome(lambda: load_image(seeds()[name]), "<bytes>", capfd)
        assert isinstance(result, LoadedImage), name


@FUZZ
@given(name=st.sampled_from(SEED_NAMES), cut=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated(folder, capfd, name, cut):
    data = seeds()[name]
    both_ways(data[: int(cut * len(data))], folder / f"truncated.{name.split('-')[0]}", capfd)


@FUZZ
@given(
    name=st.sampled_from(SEED_NAMES),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 7)), min_size=1, max_size=12),
)
def test_bit_flips(folder, capfd, name, flips):
    data = bytearray(seeds()[name])
    for where, bit in flips:
        data[int(where * len(data))] ^= 1 << bit
    both_ways(bytes(data), folder / f"flipped.{name.split('-')[0]}", capfd)


@FUZZ
@given(
    name=st.sampled_from(SEED_NAMES),
    where=st.floats(0.0, 1.0, exclude_max=True),
    junk=st.binary(min_size=1, max_size=64),
    cut=st.one_of(st.none(), st.floats(0.5, 1.0)),
)
def test_overwritten_runs(folder, capfd, name, where, junk, cut):
    data = bytearray(seeds()[name])
    start = int(where * len(data))
    data[start : start + len(junk)] = junk
    if cut is not None:
        data = data[: int(cut * len(data))]
    both_ways(bytes(data), folder / f"overwritten.{name.split('-')[0]}", capfd)


@pytest.mark.parametrize("name", SEED_NAMES)
def test_wrong_extension_is_read_by_content(folder, capfd, name):
    data = seeds()[name]
    reference = load_image(data, alpha="ignore")
    for ext in EXTENSIONS:
        path = folder / f"{name}.as.{ext}" if ext else folder / f"{name}-no-extension"
        path.write_bytes(data)
        result = check_outcome(lambda: load_image(path, alpha="ignore"), str(path), capfd)
        assert isinstance(result, LoadedImage)
        assert result.format == reference.format
        np.testing.assert_array_equal(result.pixels, reference.pixels)
        assert isinstance(check_outcome(lambda: open_image_file(path), str(path), capfd), Image.Image)


@FUZZ
@given(name=st.sampled_from(SEED_NAMES), ext=st.sampled_from(EXTENSIONS), cut=st.floats(0.05, 1.0))
def test_wrong_extension_and_damaged(folder, capfd, name, ext, cut):
    data = seeds()[name]
    both_ways(data[: int(cut * len(data))], folder / f"mislabelled.{ext}", capfd)


@FUZZ
@given(data=st.binary(min_size=0, max_size=2048))
def test_random_garbage(folder, capfd, data):
    both_ways(data, folder / "garbage.png", capfd)


@FUZZ
@given(magic=st.sampled_from(MAGIC), body=st.binary(min_size=0, max_size=512))
def test_garbage_behind_real_magic(folder, capfd, magic, body):
    both_ways(magic + body, folder / "magic.img", capfd)


@FUZZ
@given(
    header_from=st.sampled_from(SEED_NAMES),
    body_from=st.sampled_from(SEED_NAMES),
    split=st.floats(0.0, 1.0),
)
def test_spliced_formats(folder, capfd, header_from, body_from, split):
    head, body = seeds()[header_from], seeds()[body_from]
    data = head[: int(split * len(head))] + body[int(split * len(body)) :]
    both_ways(data, folder / "spliced.png", capfd)
