"""Preprocessing: size policies, regions, masks, alignment, exposure, blur."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import imgdelta
from imgdelta import Preprocess
from imgdelta.metrics import available_metrics
from imgdelta.preprocess import parse_rect, parse_size_policy

from testdata import photo


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    return photo("astronaut")[:240, :320]


def test_different_sizes_need_a_policy(scene):
    with pytest.raises(imgdelta.SizeMismatchError, match=r"is 320x240 but .* is 300x200: choose --resize"):
        imgdelta.compare(scene, scene[:200, :300])


def test_size_policies(scene):
    small = np.asarray(Image.fromarray(scene).resize((160, 120), Image.Resampling.BILINEAR))
    result = imgdelta.compare(scene, small, preprocess=Preprocess(resize="to-first"), metrics=["ssim"])
    assert result.size == (320, 240) and result.metrics["ssim"] > 0.7
    cropped = imgdelta.compare(scene, scene[:200, :300], preprocess=Preprocess(resize="crop"), metrics=["mae"])
    assert cropped.size == (300, 200) and cropped.identical
    both = imgdelta.compare(scene, small, preprocess=Preprocess(resize=(64, 48)), metrics=["mae"])
    assert both.size == (64, 48)


def test_crop_limits_the_comparison(scene):
    b = scene.copy()
    b[200:, 300:] = 0
    assert not imgdelta.compare(scene, b).identical
    assert imgdelta.compare(scene, b, preprocess=Preprocess(crop=(0, 0, 300, 200))).identical


@pytest.mark.parametrize("name", sorted(available_metrics()))
def test_every_metric_respects_ignored_regions(name, scene):
    b = scene.copy()
    b[40:90, 60:140] = 255 - b[40:90, 60:140]
    metric = available_metrics()[name]
    result = imgdelta.compare(scene, b, metrics=[name], preprocess=Preprocess(ignore=((60, 40, 80, 50),)))
    assert result.metrics[name] == metric.identical
    assert result.compared_pixels == 320 * 240 - 80 * 50


@pytest.mark.parametrize("options", [{"blur": 2.0}, {"thumbnail": 64}, {"blur": 1.0, "thumbnail": 100}])
def test_ignored_regions_do_not_spread_through_blur_or_shrinking(options, scene):
    # the change lies only inside the ignored rectangle; blurring or shrinking B before its
    # ignored pixels are taken from A would carry it into the pixels around it
    b = scene.copy()
    b[103:131, 102:139] = (255, 0, 0)
    ignore = Preprocess(ignore=((102, 103, 37, 28),), **options)
    result = imgdelta.compare(scene, b, metrics=["max_abs", "pixelmatch", "ssim"], preprocess=ignore)
    assert result.identical and result.metrics["max_abs"] == 0 and result.metrics["pixelmatch"] == 0
    # outside the rectangle a change still counts
    b[10:20, 10:20] = 0
    assert not imgdelta.compare(scene, b, metrics=["max_abs"], preprocess=ignore).identical


def test_alignment_of_pictures_too_small_or_identical(scene):
    for shape in ((9, 1), (1, 9), (50, 1)):
        with pytest.raises(imgdelta.OptionError, match="--align needs pictures at least 2 pixels"):
            imgdelta.compare(np.zeros(shape, np.uint8), np.zeros(shape, np.uint8), preprocess=Preprocess(align="phase"))
    with pytest.raises(imgdelta.OptionError, match="--align needs"):
        imgdelta.compare(scene, scene, preprocess=Preprocess(crop=(10, 10, 1, 50), align="phase"))
    black = np.zeros((32, 32), np.uint8)
    for method in ("phase", "ecc"):
        result = imgdelta.compare(black, black, preprocess=Preprocess(align=method))
        assert result.identical and (result.alignment.dx, result.alignment.dy) == (0.0, 0.0)
    # a flat picture gives no shift to find: phase correlation would make one up
    square = np.full((64, 64), 128, np.uint8)
    square[20:30, 20:30] = 255
    for a, b, which in ((np.full((64, 64), 128, np.uint8), square, "A"), (square, np.full((64, 64), 90, np.uint8), "B")):
        for method in ("phase", "ecc"):
            with pytest.raises(imgdelta.OptionError, match=f"--align: {which} is flat, with no detail to align on"):
                imgdelta.compare(a, b, preprocess=Preprocess(align=method))


@pytest.mark.parametrize("method", ["phase", "ecc"])
def test_alignment_ignores_what_b_shows_in_ignored_places(method, scene):
    b = scene.copy()
    b[100:140, 200:260] = (255, 0, 0)
    options = Preprocess(ignore=((200, 100, 60, 40),), align=method)
    result = imgdelta.compare(scene, b, metrics=["max_abs"], preprocess=options)
    assert result.identical and (result.alignment.dx, result.alignment.dy) == (0.0, 0.0)


def test_mask_image_file(scene, tmp_path):
    mask = np.full(scene.shape[:2], 255, np.uint8)
    mask[:, :100] = 0
    Image.fromarray(mask).save(tmp_path / "mask.png")
    b = scene.copy()
    b[:, :100] = 0
    assert imgdelta.compare(scene, b, preprocess=Preprocess(mask=str(tmp_path / "mask.png"))).identical
    with pytest.raises(imgdelta.OptionError, match="mask .* is 10x10 but the image is 320x240"):
        imgdelta.compare(scene, b, preprocess=Preprocess(mask=np.ones((10, 10), np.uint8)))


@pytest.mark.parametrize("method", ["phase", "ecc"])
def test_alignment_finds_and_undoes_a_shift(method):
    big = photo("astronaut")
    a = big[100:356, 100:356]
    b = big[97:353, 104:360]  # content moved 4 px left and 3 px down
    before = imgdelta.compare(a, b, metrics=["mae"]).metrics["mae"]
    result = imgdelta.compare(a, b, metrics=["mae"], preprocess=Preprocess(align=method))
    assert result.alignment.method == method
    assert result.alignment.dx == pytest.approx(-4, abs=0.1)
    assert result.alignment.dy == pytest.approx(3, abs=0.1)
    assert result.metrics["mae"] < before / 5
    assert result.compared_pixels < 256 * 256  # the shifted-in border is left out


def test_exposure_normalisation(scene):
    brighter = np.clip(scene.astype(np.float64) * 0.8 + 30, 0, 255).astype(np.uint8)
    raw = imgdelta.compare(scene, brighter, metrics=["mae"]).metrics["mae"]
    for method in ("meanstd", "histogram"):
        fixed = imgdelta.compare(scene, brighter, metrics=["mae"], preprocess=Preprocess(exposure=method)).metrics["mae"]
        assert fixed < raw / 4, method


def test_blur_suppresses_noise(scene):
    rng = np.random.default_rng(2)
    noisy = np.clip(scene + rng.normal(0, 10, scene.shape), 0, 255).astype(np.uint8)
    raw = imgdelta.compare(scene, noisy, metrics=["rmse"]).metrics["rmse"]
    blurred = imgdelta.compare(scene, noisy, metrics=["rmse"], preprocess=Preprocess(blur=2.0)).metrics["rmse"]
    assert blurred < raw / 2


def test_grayscale_and_thumbnail(scene):
    result = imgdelta.compare(scene, scene, preprocess=Preprocess(grayscale=True, thumbnail=100))
    assert result.channels == 1 and result.size == (100, 75)


def test_gray_and_colour_images_compare_in_colour(scene):
    gray = np.asarray(Image.fromarray(scene).convert("L"))
    rgb_of_gray = np.repeat(gray[:, :, None], 3, axis=2)
    assert imgdelta.compare(gray, rgb_of_gray).identical


@pytest.mark.parametrize("text", ["1,2", "a,b,c,d", "1,2,0,4"])
def test_bad_rectangles(text):
    with pytest.raises(imgdelta.OptionError, match="--crop"):
        parse_rect(text, option="--crop")


@pytest.mark.parametrize("text", ["0x5", "big", "10x"])
def test_bad_size_policies(text):
    with pytest.raises(imgdelta.OptionError, match="--resize"):
        parse_size_policy(text)


def test_region_outside_the_image(scene):
    with pytest.raises(imgdelta.OptionError, match="lies outside the 320x240 image"):
        imgdelta.compare(scene, scene, preprocess=Preprocess(crop=(400, 0, 10, 10)))
