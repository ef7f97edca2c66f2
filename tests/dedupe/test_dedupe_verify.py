"""Verification of candidate pairs on thumbnails: invariants, and the collection's true pairs
against its hard negatives."""

from __future__ import annotations

from itertools import combinations

import cv2
import numpy as np
import pytest
from skimage import data

from imgdelta.dedupe.collection import hash_file
from imgdelta.dedupe.verify import DEFAULT_THRESHOLD, pair_similarity, similarity


def thumb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3:
        image = cv2.cvtColor(image[:, :, :3], cv2.COLOR_RGB2GRAY)
    return cv2.resize(image, (32, 32), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def thumbs() -> np.ndarray:
    return np.stack([thumb(getattr(data, name)()) for name in ("astronaut", "coffee", "camera", "chelsea", "rocket")])


def test_identical_is_one_and_the_score_is_symmetric(thumbs):
    assert np.allclose(similarity(thumbs, thumbs), 1.0, atol=1e-5)
    a, b = thumbs, np.roll(thumbs, 1, axis=0)
    assert np.allclose(similarity(a, b), similarity(b, a), atol=1e-6)
    assert (similarity(a, b) < DEFAULT_THRESHOLD).all()


def test_brightness_and_contrast_do_not_matter(thumbs):
    changed = np.clip(thumbs.astype(np.float64) * 0.7 + 40, 0, 255).round().astype(np.uint8)
    assert (similarity(thumbs, changed) > 0.98).all()


def test_a_small_crop_matches_and_a_large_shift_does_not():
    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    crop = image[20:490, 10:480]  # about 8 % off
    shifted = image[:, 150:]  # 30 % off one side
    pairs = similarity(np.stack([thumb(image)] * 2), np.stack([thumb(crop), thumb(shifted)]))
    assert pairs[0] >= DEFAULT_THRESHOLD > pairs[1]


def test_flat_images():
    flat = np.full((4, 32, 32), 120, np.uint8)
    other = flat.copy()
    other[1] = 135  # 6 % brighter: the same blank picture
    other[2] = 200  # another blank picture
    other[3] = thumb(data.camera())  # structure against none
    assert similarity(flat, other).tolist() == [1.0, 1.0, 0.0, 0.0]


def test_pairs_by_index_equal_gathered_stacks(thumbs):
    first, second = np.array([0, 0, 3, 4, 2]), np.array([1, 0, 2, 3, 2])
    expected = similarity(thumbs[first], thumbs[second])
    assert np.allclose(pair_similarity(thumbs, first, thumbs, second), expected)


def test_shapes_are_checked(thumbs):
    with pytest.raises(ValueError, match="thumbnail stacks"):
        similarity(thumbs, thumbs[:2])
    with pytest.raises(ValueError, match="thumbnail stacks"):
        similarity(thumbs[:, :16], thumbs[:, :16])


def test_every_true_pair_passes_and_every_other_pair_fails(collection):
    """All pairs of the collection, not only those the hash search would propose: copies of
    one picture against each other, and everything else (overlapping crops of one photo,
    quarters of one texture, different photos)."""
    _, items = collection
    thumbnails = np.stack([hash_file(item.path).signature.thumbnail for item in items])
    first, second = map(np.array, zip(*combinations(range(len(items)), 2)))
    scores = pair_similarity(thumbnails, first, thumbnails, second)
    same = np.array([items[a].picture == items[b].picture for a, b in zip(first, second)])
    assert scores[same].min() >= DEFAULT_THRESHOLD + 0.05
    assert scores[~same].max() < DEFAULT_THRESHOLD - 0.1
