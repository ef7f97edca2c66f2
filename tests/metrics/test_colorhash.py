"""Bit-identity of imgdelta's colour hash with ``imagehash.colorhash``, and the ``colorhash`` metric.

Every comparison is against ``str(imagehash.colorhash(img, binbits))`` (the hex form) and
imagehash's Hamming distances, on real photographs bundled with scikit-image converted to
every Pillow mode both can convert to HSV, at tiny, odd, non-square and large sizes.
"""

from __future__ import annotations

import json

import imagehash
import numpy as np
import pytest
import skimage.data
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageEnhance

import imgdelta
from imgdelta.cli.main import main
from imgdelta.metrics import _imagehash as ih
from imgdelta.metrics._imagehash import COLOR_HASH_BINS, PerceptualHash, color_hash

from testdata import jpeg_roundtrip, photo

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")

#: Every mode of the imagehash compatibility tests: Pillow converts each to 'L' and 'HSV'.
MODES = ("1", "L", "P", "RGB", "RGBA", "LA", "CMYK", "I;16", "I", "F")

SIZES = ((1, 1), (2, 1), (1, 7), (3, 5), (7, 7), (16, 15), (17, 33), (65, 40), (1, 200), (300, 211), None)


@pytest.fixture(scope="module")
def photos() -> dict[str, Image.Image]:
    return {name: Image.fromarray(np.ascontiguousarray(getattr(skimage.data, name)())) for name in PHOTOS}


def _to_mode(img: Image.Image, mode: str, rng: np.random.Generator) -> Image.Image:
    """``img`` in ``mode``, with content that exercises it (values beyond 0..255 for the
    high-depth modes, a real alpha plane, an adaptive palette)."""
    rgb = img.convert("RGB")
    luma = np.asarray(rgb.convert("L"), dtype=np.float64)
    if mode == "I;16":
        return Image.fromarray(np.clip(luma * 1.5 + rng.integers(0, 3, luma.shape), 0, 65535).astype(np.uint16))
    if mode == "I":
        return Image.fromarray((luma * 2.0 - 100.0).astype(np.int32))
    if mode == "F":
        return Image.fromarray((luma * 1.2 - 20.0).astype(np.float32))
    if mode in ("RGBA", "LA"):
        out = rgb.convert("RGBA")
        out.putalpha(Image.fromarray(rng.integers(0, 256, luma.shape, dtype=np.uint8)))
        return out.convert(mode)
    if mode == "P":
        return rgb.quantize(colors=64)
    return rgb.convert(mode)


@pytest.mark.parametrize("photo_name", PHOTOS)
def test_hex_identical_for_every_mode_and_size(photos, photo_name):
    rng = np.random.default_rng(PHOTOS.index(photo_name))
    mismatches = []
    for size in SIZES:
        resized = photos[photo_name] if size is None else photos[photo_name].resize(size, Image.Resampling.BILINEAR)
        for mode in MODES:
            img = _to_mode(resized, mode, rng)
            assert img.mode == mode
            got, want = str(color_hash(img)), str(imagehash.colorhash(img))
            if got != want:
                mismatches.append((mode, img.size, got, want))
    assert not mismatches


@pytest.mark.parametrize("binbits", [1, 2, 4, 5, 8])
def test_hex_identical_for_other_bits_per_bin(photos, binbits):
    for img in photos.values():
        h = color_hash(img, binbits=binbits)
        assert h.shape == (COLOR_HASH_BINS, binbits) and len(h) == COLOR_HASH_BINS * binbits
        assert str(h) == str(imagehash.colorhash(img, binbits=binbits))
        np.testing.assert_array_equal(h.bits, imagehash.colorhash(img, binbits=binbits).hash)


def test_large_and_extreme_aspect(photos):
    for size in [(1920, 1080), (3, 2000), (2000, 3)]:
        img = photos["astronaut"].resize(size, Image.Resampling.BICUBIC)
        assert str(color_hash(img)) == str(imagehash.colorhash(img)), size


def test_saturation_on_the_class_boundaries():
    """Pixels of saturation exactly 85 and 170 and luma exactly 32: imagehash compares with
    < and >, so saturation 170 is coloured yet in neither hue histogram."""
    # HSV saturation 170: (255, 85, 85) and (200, 66, 66); 85: (255, 170, 170); luma 32: gray 32
    colours = [(255, 85, 85), (200, 66, 66), (255, 170, 170), (32, 32, 32), (31, 31, 31), (10, 200, 40), (90, 30, 30)]
    rng = np.random.default_rng(3)
    for _ in range(40):
        picks = rng.integers(0, len(colours), size=(6, 7))
        img = Image.fromarray(np.array(colours, np.uint8)[picks])
        for binbits in (2, 3):
            assert str(color_hash(img, binbits=binbits)) == str(imagehash.colorhash(img, binbits=binbits))
    assert np.asarray(Image.fromarray(np.array([colours[:2]], np.uint8)).convert("HSV"))[0, :, 1].tolist() == [170, 170]


def test_counts_above_the_float32_exact_range(monkeypatch, photos):
    # calcHist counts in float32; images beyond 2**24 pixels are counted in pieces. Pieces of
    # 1000 pixels here take that path on a photo.
    img = photos["coffee"]
    expected = str(imagehash.colorhash(img))
    monkeypatch.setattr(ih, "_EXACT_COUNT", 1000)
    assert str(color_hash(img)) == expected


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(
    arr=hnp.arrays(
        np.uint8,
        st.tuples(st.integers(1, 30), st.integers(1, 30), st.just(3)),
        elements=st.sampled_from([0, 31, 32, 66, 85, 170, 200, 255]),
    )
)
def test_small_random_images_bit_identical(arr):
    img = Image.fromarray(arr)
    h, ref = color_hash(img), imagehash.colorhash(img)
    assert str(h) == str(ref)
    np.testing.assert_array_equal(h.bits, ref.hash)


def test_hamming_distances_match_imagehash(photos):
    for img in photos.values():
        w, h = img.size
        others = [
            ImageEnhance.Color(img).enhance(0.4),
            ImageEnhance.Brightness(img).enhance(0.5),
            img.resize((w // 2, h // 2), Image.Resampling.BILINEAR),
            Image.fromarray(jpeg_roundtrip(np.asarray(img), 40)),
        ]
        for other in others:
            distance = color_hash(img) - color_hash(other)
            assert type(distance) is int and 0 <= distance <= 42
            assert distance == int(imagehash.colorhash(img) - imagehash.colorhash(other))


def test_value_semantics():
    img = Image.fromarray(photo("chelsea"))
    h = color_hash(img)
    assert h.kind == "colorhash" and h.shape == (14, 3) and len(str(h)) == 11
    assert PerceptualHash.from_hex(str(h), kind="colorhash") == h
    assert eval(repr(h), {"PerceptualHash": PerceptualHash}) == h
    assert h.hash_size == 14 and int(h) == int(str(h), 16)
    for binbits in (1, 2, 3, 4, 5, 7):
        other = color_hash(img, binbits=binbits)
        assert PerceptualHash.from_hex(str(other), kind="colorhash").shape == (14, binbits)
    # the same bits read as another kind are not a colour hash
    with pytest.raises(ValueError, match=r"square 2-D array, got shape \(14, 3\)"):
        PerceptualHash(h.bits, "phash")
    with pytest.raises(ValueError, match=r"colorhash bits must be a \(14, binbits\) array, got shape \(8, 8\)"):
        PerceptualHash(np.zeros((8, 8), bool), "colorhash")
    with pytest.raises(ValueError, match="length 12 does not match any 14 x binbits hash"):
        PerceptualHash.from_hex("0" * 12, kind="colorhash")
    with pytest.raises(ValueError, match="hash_size applies to square hashes"):
        PerceptualHash.from_hex(str(h), kind="colorhash", hash_size=3)
    with pytest.raises(ValueError, match="does not fit in the 14 bits"):
        PerceptualHash.from_hex("ffff", kind="colorhash")
    with pytest.raises(ValueError, match="cannot compare perceptual hashes of different shapes"):
        h - color_hash(img, binbits=2)
    with pytest.raises(ValueError, match="binbits must be a whole number >= 1, got 0"):
        color_hash(img, binbits=0)
    with pytest.raises(ValueError, match="empty image"):
        color_hash(Image.new("RGB", (0, 3)))


def test_metric_equals_imagehash_distance_through_compare_and_the_cli(tmp_path, capsys):
    rng = np.random.default_rng(11)
    a = photo("coffee")[:300, :450]
    for b in (jpeg_roundtrip(a, 30), photo("chelsea")[:300, :450], np.clip(a * 0.5 + rng.normal(0, 4, a.shape), 0, 255).astype(np.uint8)):
        expected = imagehash.colorhash(Image.fromarray(a)) - imagehash.colorhash(Image.fromarray(b))
        assert imgdelta.compare(a, b, metrics=["colorhash"]).metrics["colorhash"] == expected
    b = photo("astronaut")[: a.shape[0], : a.shape[1]]
    Image.fromarray(a).save(tmp_path / "a.png")
    Image.fromarray(b).save(tmp_path / "b.png")
    assert main(["compare", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--metric", "colorhash", "--json"]) == 0
    value = json.loads(capsys.readouterr().out)["metrics"]["colorhash"]
    assert value == imagehash.colorhash(Image.fromarray(a)) - imagehash.colorhash(Image.fromarray(b)) > 0
