"""The signature: DCT hash (against SciPy's DCT), alternates, thumbnail and sharpness."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.fft
from skimage import data

from imgdelta.dedupe.search import popcount
from imgdelta.dedupe.signature import ALTERNATES, HASH_SIDE, THUMB_SIDE, VIEWS, dct_hashes, signature

PHOTOS = ("astronaut", "coffee", "camera", "chelsea", "rocket")


def luma(name: str) -> np.ndarray:
    image = getattr(data, name)()
    if image.ndim == 3:
        image = cv2.cvtColor(image[:, :, :3], cv2.COLOR_RGB2GRAY)
    return image.astype(np.float32) / 255.0


def reference_hash(square: np.ndarray) -> int:
    """Zauner's pHash as the module documents it, from scipy.fft's orthonormal DCT-II: the
    64 lowest frequencies by u + v then u, DC left out, each bit set above their median."""
    coefficients = scipy.fft.dctn(square.astype(np.float64), type=2, norm="ortho")
    order = sorted((u + v, u, v) for u in range(HASH_SIDE) for v in range(HASH_SIDE) if (u, v) != (0, 0))[:64]
    low = np.array([coefficients[u, v] for _, u, v in order])
    bits = "".join("1" if c > np.median(low) else "0" for c in low)
    return int(bits, 2)


def test_dct_hash_matches_scipy_reference():
    rng = np.random.default_rng(3)
    squares = [rng.random((HASH_SIDE, HASH_SIDE)) for _ in range(5)]
    squares += [cv2.resize(luma(name), (HASH_SIDE, HASH_SIDE), interpolation=cv2.INTER_AREA) for name in PHOTOS]
    ours = dct_hashes(np.stack(squares))
    assert ours.dtype == np.uint64
    assert [int(h) for h in ours] == [reference_hash(s) for s in squares]


def test_half_the_bits_are_set_so_distances_are_even():
    hashes = dct_hashes(np.stack([cv2.resize(luma(n), (HASH_SIDE, HASH_SIDE), interpolation=cv2.INTER_AREA) for n in PHOTOS]))
    assert (popcount(hashes) == 32).all()
    distances = popcount(hashes[:, None] ^ hashes[None, :])
    assert (distances % 2 == 0).all()


@pytest.mark.parametrize("name", PHOTOS)
def test_brightness_and_contrast_leave_the_hash_unchanged(name):
    """The AC coefficients scale with contrast, an offset moves only DC, and the median
    threshold ignores a positive scale: the hash of ``a * x + b`` is the hash of ``x``."""
    image = luma(name)
    changed = image * 0.8 + 0.15
    assert signature(changed).hash == signature(image).hash


@pytest.mark.parametrize("name", PHOTOS)
def test_signature_fields(name):
    result = signature(luma(name))
    assert 0 <= result.hash < 1 << 64
    assert result.alternates.shape == (ALTERNATES,) and result.alternates.dtype == np.uint64
    assert ALTERNATES == len(VIEWS) + 1
    assert result.thumbnail.shape == (THUMB_SIDE, THUMB_SIDE) and result.thumbnail.dtype == np.uint8
    assert result.sharpness > 0
    # The last alternate is the hash with one bit flipped.
    assert int(popcount(np.uint64(result.hash) ^ result.alternates[-1])) == 1


def test_uint8_float_and_channel_inputs_agree():
    image = getattr(data, "camera")()
    a = signature(image)
    b = signature(image.astype(np.float32) / 255.0)
    c = signature(image[:, :, None])
    assert a.hash == b.hash == c.hash
    assert np.array_equal(a.alternates, b.alternates) and np.array_equal(a.thumbnail, c.thumbnail)


@pytest.mark.parametrize("shape", [(0, 5), (4, 4, 3), (7,)])
def test_bad_arrays_are_refused(shape):
    with pytest.raises(ValueError, match="luminance array"):
        signature(np.zeros(shape, np.float32))


@pytest.mark.parametrize("name", PHOTOS)
def test_a_crop_is_nearer_to_a_view_than_to_the_whole(name):
    """A copy cropped by 6 % at a corner is close to the original's corner view."""
    image = luma(name)
    height, width = image.shape
    crop = image[: round(height * 0.94), round(width * 0.06) :]
    original, cropped = signature(image), signature(crop)
    whole = int(popcount(np.uint64(original.hash) ^ np.uint64(cropped.hash)))
    nearest_view = int(popcount(original.alternates[: len(VIEWS)] ^ np.uint64(cropped.hash)).min())
    assert nearest_view < whole
    assert nearest_view <= 6


def test_sharpness_falls_with_blur_and_is_zero_when_flat():
    image = luma("astronaut")
    blurred = cv2.GaussianBlur(image, (0, 0), 4.0)
    assert signature(blurred).sharpness < 0.5 * signature(image).sharpness
    assert signature(np.full((50, 80), 0.4, np.float32)).sharpness == 0.0
    # A small copy enlarged to the working size has less detail than the original.
    small = cv2.resize(image, (48, 48), interpolation=cv2.INTER_AREA)
    assert signature(small).sharpness < signature(image).sharpness
