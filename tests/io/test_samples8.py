"""The decoder's 8-bit samples, kept beside the float pixels: present exactly where the
pixels are still those samples, carried through the preprocessing steps that only cut or
copy, and used by the 8-bit views of :class:`imgdelta.features.Features`."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from imgdelta import Preprocess, load_image
from imgdelta.features import Features
from imgdelta.preprocess import prepare_pair

from testdata import SEED, photo


def _encoded(array: np.ndarray, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **params)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return np.ascontiguousarray(photo("astronaut")[100:260, 120:320])


def test_8bit_sources_keep_their_samples(astronaut):
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    palette = Image.fromarray(astronaut).quantize(64)
    palette_png = io.BytesIO()
    palette.save(palette_png, format="PNG")
    cases = {
        "jpeg": load_image(_encoded(astronaut, "JPEG", quality=85)),
        "jpeg at 1/2": load_image(_encoded(astronaut, "JPEG", quality=85), draft_size=80),
        "png": load_image(_encoded(astronaut, "PNG")),
        "gray png": load_image(_encoded(photo("camera")[:50, :60], "PNG")),
        "palette png": load_image(palette_png.getvalue()),
        "uint8 array": load_image(astronaut),
        "rgba, alpha ignored": load_image(rgba, alpha="ignore"),
    }
    for label, loaded in cases.items():
        assert loaded.samples8 is not None, label
        assert loaded.samples8.shape == loaded.pixels.shape and loaded.samples8.dtype == np.uint8, label
        assert np.abs(loaded.samples8 / 255.0 - loaded.pixels).max() < 1e-6, label
        assert not loaded.samples8.flags.writeable, label
    assert cases["jpeg at 1/2"].scale == 0.5


def test_samples_are_absent_where_the_pixels_are_not_8bit_samples(astronaut):
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 128, np.uint8)])
    cases = {
        "16-bit png": load_image(_encoded(astronaut.astype(np.uint16)[:, :, 0] * 257, "PNG")),
        "float array": load_image(astronaut / 255.0, data_range=1.0),
        "alpha composited": load_image(rgba),
        "gray=True": load_image(astronaut, gray=True),
    }
    for label, loaded in cases.items():
        assert loaded.samples8 is None, label


def test_a_uint8_array_is_copied_not_shared(astronaut):
    array = astronaut.copy()
    loaded = load_image(array)
    array[:] = 0
    assert loaded.samples8.max() > 0


def test_preprocessing_keeps_samples_only_where_it_cuts_or_copies(astronaut):
    a = load_image(astronaut)
    b = load_image(np.roll(astronaut, 3, axis=1))
    gray = load_image(astronaut[:, :, 0])
    bigger = load_image(np.pad(astronaut, ((0, 10), (0, 6), (0, 0))))

    plain = prepare_pair(a, b)
    assert plain.a8 is a.samples8 and plain.b8 is b.samples8
    cropped = prepare_pair(a, b, Preprocess(crop=(10, 20, 50, 40)))
    assert np.array_equal(cropped.a8, astronaut[20:60, 10:60]) and cropped.a8.shape == cropped.a.shape
    mixed = prepare_pair(gray, a)
    assert np.array_equal(mixed.a8, np.repeat(astronaut[:, :, :1], 3, axis=2)) and mixed.b8 is a.samples8
    corner = prepare_pair(a, bigger, Preprocess(resize="crop"))
    assert np.array_equal(corner.b8, bigger.samples8[:160, :200]) and np.array_equal(corner.a8, a.samples8)
    to_first = prepare_pair(a, bigger, Preprocess(resize="to-first"))
    assert to_first.a8 is a.samples8 and to_first.b8 is None
    for options in (Preprocess(blur=1.0), Preprocess(grayscale=True), Preprocess(thumbnail=64)):
        prepared = prepare_pair(a, b, options)
        assert prepared.a8 is None and prepared.b8 is None, options
    exposed = prepare_pair(a, b, Preprocess(exposure="meanstd"))
    assert exposed.a8 is a.samples8 and exposed.b8 is None


def test_8bit_views_agree_with_and_without_samples():
    import cv2

    rng = np.random.default_rng(SEED)
    for image in (photo("coffee")[:120, :150], photo("camera")[:90, :70], rng.integers(0, 256, (64, 80, 3), np.uint8)):
        loaded = load_image(image)
        with_samples, without = Features(loaded.pixels, loaded.samples8), Features(loaded.pixels)
        assert np.array_equal(with_samples.pixels8, without.pixels8)
        assert np.array_equal(with_samples.pixels8.reshape(image.shape), image)
        assert np.array_equal(with_samples.luma8, without.luma8)
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        assert np.array_equal(with_samples.luma8, gray)
        assert np.array_equal(with_samples.rgba8[:, :, 3], np.full(image.shape[:2], 255, np.uint8))
        assert np.array_equal(with_samples.rgba8[:, :, :3], with_samples.pixels8 if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2))


def test_features_refuse_samples_of_another_shape():
    pixels = np.zeros((4, 5, 3), np.float32)
    with pytest.raises(ValueError, match="samples8"):
        Features(pixels, np.zeros((4, 5, 1), np.uint8))
    with pytest.raises(ValueError, match="samples8"):
        Features(pixels, np.zeros((4, 5, 3), np.float32))
