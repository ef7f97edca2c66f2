"""Folders in natural order, and reduced-scale JPEG decoding for per-frame work."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import imgdelta
from imgdelta.io import list_images, load_image, natural_key

from testdata import photo


def test_natural_order_and_only_images(tmp_path):
    names = ["frame10.jpg", "frame2.jpg", "Frame1.png", "frame2b.jpg", "notes.txt", "frame100.JPG"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.jpg").mkdir()
    assert [p.name for p in list_images(tmp_path)] == ["Frame1.png", "frame2.jpg", "frame2b.jpg", "frame10.jpg", "frame100.JPG"]
    assert natural_key("a9") < natural_key("a10") < natural_key("b1")


def test_glob_pattern(tmp_path):
    for name in ("cam_3.png", "cam_20.png", "other_1.png"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path / "cam_*.png")] == ["cam_3.png", "cam_20.png"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: root / "missing", "no such folder"),
        (lambda root: root, "holds no image file"),
        (lambda root: root / "*.png", "matches no image file"),
    ],
)
def test_folder_errors(tmp_path, make, message):
    (tmp_path / "readme.txt").write_text("not an image")
    with pytest.raises(imgdelta.InputError, match=message):
        list_images(make(tmp_path))


def test_a_file_is_not_a_folder(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    with pytest.raises(imgdelta.InputError, match="not a folder"):
        list_images(tmp_path / "a.png")


@pytest.mark.parametrize(("draft", "expected_width"), [(None, 1600), (1600, 1600), (800, 800), (700, 800), (200, 200), (150, 200)])
def test_jpeg_draft_decodes_at_the_smallest_sufficient_scale(tmp_path, draft, expected_width):
    big = Image.fromarray(photo("astronaut")).resize((1600, 1600))
    big.save(tmp_path / "big.jpg", quality=90)
    loaded = load_image(tmp_path / "big.jpg", draft_size=draft)
    assert loaded.width == expected_width
    assert loaded.scale == pytest.approx(expected_width / 1600)
    full = np.asarray(big.resize((expected_width, expected_width), Image.Resampling.BOX), dtype=np.float32) / 255
    assert np.abs(loaded.pixels - full).mean() < 0.03  # same picture, smaller


def test_draft_leaves_other_formats_whole(tmp_path):
    Image.fromarray(photo("coffee")).save(tmp_path / "c.png")
    loaded = load_image(tmp_path / "c.png", draft_size=50)
    assert loaded.size == (600, 400) and loaded.scale == 1.0


def test_draft_with_exif_rotation(tmp_path):
    image = Image.fromarray(photo("coffee")).resize((1200, 800))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    image.save(tmp_path / "r.jpg", exif=exif)
    loaded = load_image(tmp_path / "r.jpg", draft_size=300)
    assert loaded.size == (200, 300) and loaded.orientation == 6


def test_gray_decoding_gives_the_luma_of_the_colour_decode(tmp_path):
    from PIL import Image
    from testdata import photo

    from imgdelta.preprocess import luminance

    rgb = photo("astronaut")
    for name, fmt in (("a.jpg", "JPEG"), ("a.png", "PNG")):
        Image.fromarray(rgb).save(tmp_path / name, format=fmt)
        for draft in (None, 100):
            colour = load_image(tmp_path / name, draft_size=draft)
            gray = load_image(tmp_path / name, draft_size=draft, gray=True)
            assert gray.pixels.shape == colour.pixels.shape[:2] + (1,) and gray.scale == colour.scale
            # JPEG's own Y channel is BT.601 luma; the colour decode clips saturated colours
            # to [0, 255] after upsampling the chroma, so a few pixels differ more than rounding
            difference = np.abs(gray.pixels[:, :, 0] - luminance(colour.pixels))
            assert difference.mean() < 0.5 / 255 and np.quantile(difference, 0.999) <= 8 / 255, (name, draft)
    array = load_image(rgb, gray=True)
    assert array.pixels.shape == (512, 512, 1)


@pytest.mark.parametrize(
    "full, size, expected",
    [((1920, 1080), 200, (240, 135)), ((600, 400), 200, (300, 200)), ((3840, 2160), 200, (200, 112)), ((150, 100), 200, (150, 100)), ((1280, 720), 200, (200, 112))],
)
def test_analysis_shape_is_what_jpeg_decoding_gives_for_free(tmp_path, full, size, expected):
    from imgdelta.io import analysis_shape

    assert analysis_shape(*full, size) == expected
    assert analysis_shape(*expected, size) == expected  # a reduced frame stays as it is
    Image.new("RGB", full, (90, 120, 150)).save(tmp_path / "f.jpg")
    decoded = load_image(tmp_path / "f.jpg", draft_size=size)
    if max(decoded.size) <= 1.5 * size:
        assert decoded.size == expected


@pytest.mark.parametrize("orientation", [1, 6, 3])
def test_reduced_jpeg_decoding_gives_pillows_draft_pixels(tmp_path, orientation):
    """Reduced-scale JPEG frames are decoded by OpenCV, which asks libjpeg for the same
    scaling as Pillow's draft mode: the pixels must be Pillow's, bit for bit, at every
    scale and with the EXIF orientation applied alike."""
    from PIL import ImageOps

    image = Image.fromarray(photo("chelsea")).resize((1001, 667))
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.save(tmp_path / "f.jpg", quality=85, exif=exif)
    scales = set()
    for draft in (400, 200, 100):  # 1/2, 1/4 and 1/8 of 1001 x 667 pixels
        loaded = load_image(tmp_path / "f.jpg", draft_size=draft)
        scales.add(round(1 / loaded.scale))
        with Image.open(tmp_path / "f.jpg") as pil:
            factor = draft / max(pil.size)
            pil.draft("RGB", (int(np.ceil(pil.width * factor)), int(np.ceil(pil.height * factor))))
            expected = np.asarray(ImageOps.exif_transpose(pil).convert("RGB"), dtype=np.float32) / np.float32(255)
        assert np.array_equal(loaded.pixels, expected), draft
    assert scales == {2, 4, 8}


def test_a_truncated_or_padded_jpeg_is_still_judged_by_pillow(tmp_path):
    """OpenCV only warns about a missing end of file; such a file goes to Pillow, which
    reports it. Bytes after the end marker make it Pillow's as well, and it decodes."""
    Image.fromarray(photo("coffee")).save(tmp_path / "whole.jpg", quality=90)
    data = (tmp_path / "whole.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(imgdelta.InputError, match="cut.jpg: cannot decode JPEG data"):
        load_image(tmp_path / "cut.jpg", draft_size=100)
    (tmp_path / "padded.jpg").write_bytes(data + b"camera notes")
    padded = load_image(tmp_path / "padded.jpg", draft_size=100)
    assert np.array_equal(padded.pixels, load_image(tmp_path / "whole.jpg", draft_size=100).pixels)
