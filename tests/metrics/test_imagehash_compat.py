"""Bit-identity of imgdelta's perceptual hashes with the imagehash package.

Every comparison is against ``str(imagehash.<fn>(img))`` (the hex form) and
``imagehash`` Hamming distances, on real photographs bundled with
scikit-image (no downloads) converted to every Pillow mode we support and
resized to tiny, odd, non-square and large sizes.
"""

from __future__ import annotations

import copy
import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

import imagehash
import numpy as np
import pytest
import skimage.data
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageEnhance

from imgdelta.metrics import _imagehash as ih
from imgdelta.metrics._imagehash import (
    HASH_FUNCTIONS,
    PerceptualHash,
    average_hash,
    difference_hash,
    hash_from_luma8,
    perceptual_hash,
    wavelet_hash,
)

#: (our function, imagehash function) for every kind.
PAIRS = {
    "ahash": (average_hash, imagehash.average_hash),
    "dhash": (difference_hash, imagehash.dhash),
    "phash": (perceptual_hash, imagehash.phash),
    "whash": (wavelet_hash, imagehash.whash),
}

PHOTOS = ("astronaut", "coffee", "chelsea", "camera", "rocket", "moon")

MODES = ("1", "L", "P", "RGB", "RGBA", "LA", "CMYK", "I;16", "I", "F")

#: (width, height): tiny, odd, non-square, around the powers of two that
#: change whash's image_scale, and large.  ``None`` keeps the photo's size.
SIZES = (
    (1, 1),
    (2, 1),
    (1, 7),
    (3, 5),
    (5, 3),
    (7, 7),
    (8, 8),
    (9, 8),
    (16, 15),
    (17, 33),
    (32, 32),
    (65, 40),
    (1, 200),
    (127, 96),
    (300, 211),
    None,
)


# ---------------------------------------------------------------------------
# image fixtures


def _load_photo(name: str) -> Image.Image:
    arr = getattr(skimage.data, name)()
    return Image.fromarray(np.ascontiguousarray(arr))


@pytest.fixture(scope="module")
def photos() -> dict[str, Image.Image]:
    return {name: _load_photo(name) for name in PHOTOS}


def to_mode(img: Image.Image, mode: str, rng: np.random.Generator) -> Image.Image:
    """Convert ``img`` to ``mode`` with content that exercises the mode.

    High-bit-depth modes get values outside 0..255 (Pillow clips them when
    converting to 'L'), alpha modes get a non-trivial alpha plane, and 'P'
    uses an adaptive palette.
    """
    rgb = img.convert("RGB")
    luma = np.asarray(rgb.convert("L"), dtype=np.float64)
    if mode == "I;16":
        arr = np.clip(luma * 1.5 + rng.integers(0, 3, luma.shape), 0, 65535)
        out = Image.fromarray(arr.astype(np.uint16))
    elif mode == "I":
        arr = luma * 2.0 - 100.0 + rng.integers(-2, 3, luma.shape)
        out = Image.fromarray(arr.astype(np.int32))
    elif mode == "F":
        arr = luma * 1.2 - 20.0 + rng.uniform(-0.5, 0.5, luma.shape)
        out = Image.fromarray(arr.astype(np.float32))
    elif mode in ("RGBA", "LA"):
        alpha = Image.fromarray(
            rng.integers(0, 256, luma.shape, dtype=np.uint8)
        )
        out = rgb.convert("RGBA")
        out.putalpha(alpha)
        out = out.convert(mode)
    elif mode == "P":
        out = rgb.quantize(colors=64)
    else:
        out = rgb.convert(mode)
    assert out.mode == mode
    return out


def _resized(img: Image.Image, size: tuple[int, int] | None) -> Image.Image:
    return img if size is None else img.resize(size, Image.Resampling.BILINEAR)


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out


# ---------------------------------------------------------------------------
# bit-identity on real photos


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("photo", PHOTOS)
def test_hex_identical_all_modes_and_sizes(photos, photo, mode):
    rng = np.random.default_rng(100 * PHOTOS.index(photo) + MODES.index(mode))
    source = to_mode(photos[photo], mode, rng)
    mismatches = []
    for size in SIZES:
        # Resize the photo first, then convert, so that the hashes see each
        # mode's own content (dithering, palette, clipping) at that size.
        img = to_mode(_resized(photos[photo], size), mode, rng) if size else source
        for kind, (ours, theirs) in PAIRS.items():
            got, want = str(ours(img)), str(theirs(img))
            if got != want:
                mismatches.append((kind, img.size, got, want))
    assert not mismatches


@pytest.mark.parametrize("photo", ["astronaut", "rocket"])
def test_hex_identical_large_and_extreme_aspect(photos, photo):
    for size in [(1920, 1080), (1080, 1920), (2000, 3), (3, 2000)]:
        img = photos[photo].resize(size, Image.Resampling.BICUBIC)
        for kind, (ours, theirs) in PAIRS.items():
            assert str(ours(img)) == str(theirs(img)), (kind, size)


@pytest.mark.parametrize("hash_size", [2, 4, 5, 16])
def test_hex_identical_other_hash_sizes(photos, hash_size):
    img = photos["coffee"]
    for kind, (ours, theirs) in PAIRS.items():
        if kind == "whash" and hash_size & (hash_size - 1):
            with pytest.raises(ValueError, match="power of 2"):
                ours(img, hash_size=hash_size)
            continue
        h = ours(img, hash_size=hash_size)
        assert h.shape == (hash_size, hash_size)
        assert len(h) == hash_size * hash_size
        assert str(h) == str(theirs(img, hash_size=hash_size))


def test_bits_and_kind_match_imagehash(photos):
    img = photos["chelsea"]
    for kind, (ours, theirs) in PAIRS.items():
        h = ours(img)
        assert h.kind == kind
        assert h.bits.dtype == np.bool_ and h.bits.shape == (8, 8)
        np.testing.assert_array_equal(h.bits, theirs(img).hash)
        assert HASH_FUNCTIONS[kind] is ours
    assert set(HASH_FUNCTIONS) == {"ahash", "dhash", "phash", "whash"}


# ---------------------------------------------------------------------------
# Hamming distances on degraded pairs


def _variants(img: Image.Image) -> dict[str, Image.Image]:
    w, h = img.size
    return {
        "jpeg50": _jpeg(img, 50),
        "half": img.resize((w // 2, h // 2), Image.Resampling.BILINEAR),
        "odd": img.resize((w * 3 // 4 + 1, h * 2 // 3 + 1), Image.Resampling.BICUBIC),
        "bright": ImageEnhance.Brightness(img).enhance(1.35),
        "dark": ImageEnhance.Brightness(img).enhance(0.6),
    }


@pytest.mark.parametrize("photo", PHOTOS)
def test_hamming_distances_match_imagehash(photos, photo):
    img = photos[photo]
    distances = {}
    for name, other in _variants(img).items():
        for kind, (ours, theirs) in PAIRS.items():
            d_ours = ours(img) - ours(other)
            d_theirs = theirs(img) - theirs(other)
            assert type(d_ours) is int
            assert d_ours == int(d_theirs), (name, kind)
            assert 0 <= d_ours <= 64
            distances[name, kind] = d_ours
        assert ours(img) - ours(img) == 0
    # Sanity: near-duplicates stay near (a loose bound; not a compat check).
    assert all(d <= 32 for d in distances.values())


def test_unrelated_photos_distances_match(photos):
    names = list(PHOTOS)
    for a, b in zip(names, names[1:]):
        for kind, (ours, theirs) in PAIRS.items():
            assert ours(photos[a]) - ours(photos[b]) == int(
                theirs(photos[a]) - theirs(photos[b])
            )


# ---------------------------------------------------------------------------
# hypothesis: random small images


@st.composite
def small_images(draw):
    mode = draw(st.sampled_from(["L", "RGB"]))
    w = draw(st.integers(1, 40))
    h = draw(st.integers(1, 40))
    shape = (h, w) if mode == "L" else (h, w, 3)
    # A small alphabet often produces ties (flat regions, equal medians).
    values = draw(
        st.one_of(
            st.just(st.integers(0, 255)),
            st.lists(st.integers(0, 255), min_size=1, max_size=3).map(
                st.sampled_from
            ),
        )
    )
    arr = draw(hnp.arrays(np.uint8, shape, elements=values))
    return Image.fromarray(arr)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(img=small_images())
def test_hypothesis_small_random_images_bit_identical(img):
    for kind, (ours, theirs) in PAIRS.items():
        h, ref = ours(img), theirs(img)
        assert str(h) == str(ref), kind
        np.testing.assert_array_equal(h.bits, ref.hash)


# ---------------------------------------------------------------------------
# hash_from_luma8


def test_hash_from_luma8_matches_image_path(photos):
    rng = np.random.default_rng(7)
    for photo in ("astronaut", "moon"):
        img = photos[photo]
        luma = np.asarray(img.convert("L"))
        for kind, (ours, theirs) in PAIRS.items():
            h = hash_from_luma8(luma, kind)
            assert h == ours(img)
            assert str(h) == str(theirs(img))
    # Non-contiguous views are accepted.
    arr = rng.integers(0, 256, (40, 60), dtype=np.uint8)
    view = arr[::2, ::3]
    for kind, (_, theirs) in PAIRS.items():
        expected = theirs(Image.fromarray(np.ascontiguousarray(view)))
        assert str(hash_from_luma8(view, kind)) == str(expected)


def test_hash_from_luma8_rejects_bad_input():
    luma = np.zeros((4, 4), np.uint8)
    with pytest.raises(ValueError, match="unknown hash kind 'md5'"):
        hash_from_luma8(luma, "md5")
    with pytest.raises(TypeError, match="uint8"):
        hash_from_luma8(luma.astype(np.float32), "ahash")
    with pytest.raises(ValueError, match=r"2-D .*\(4, 4, 3\)"):
        hash_from_luma8(np.zeros((4, 4, 3), np.uint8), "ahash")
    with pytest.raises(ValueError, match="non-empty"):
        hash_from_luma8(np.zeros((0, 4), np.uint8), "ahash")


def test_hash_functions_reject_bad_input():
    with pytest.raises(TypeError, match="PIL.Image.Image"):
        average_hash(np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match="empty image"):
        wavelet_hash(Image.new("L", (0, 5)))
    with pytest.raises(ValueError, match=">= 2"):
        perceptual_hash(Image.new("L", (8, 8)), hash_size=1)


# ---------------------------------------------------------------------------
# PerceptualHash value semantics


def _random_hash(rng, n=8, kind=None):
    return PerceptualHash(rng.integers(0, 2, (n, n)).astype(bool), kind)


def test_from_hex_round_trip(photos):
    rng = np.random.default_rng(2024)
    for kind, (ours, _) in PAIRS.items():
        h = ours(photos["rocket"])
        back = PerceptualHash.from_hex(str(h), kind=kind)
        assert back == h and back.kind == kind
        assert PerceptualHash.from_hex(str(h).upper()) == h
        assert eval(repr(h), {"PerceptualHash": PerceptualHash}) == h
    for n in range(2, 17):
        for _ in range(5):
            h = _random_hash(rng, n)
            s = str(h)
            # Same hex as imagehash prints, and imagehash parses it back.
            assert s == str(imagehash.ImageHash(h.bits))
            assert PerceptualHash.from_hex(s) == h
            assert PerceptualHash.from_hex(s, hash_size=n) == h
            assert int(h) == int(s, 16)
            assert len(h) == n * n
    # Extreme values keep their zero padding.
    zeros = PerceptualHash(np.zeros((8, 8), bool))
    ones = PerceptualHash(np.ones((8, 8), bool))
    assert str(zeros) == "0" * 16 and int(zeros) == 0
    assert str(ones) == "f" * 16 and int(ones) == 2**64 - 1
    assert ones - zeros == 64


def test_from_hex_matches_imagehash_parser():
    rng = np.random.default_rng(11)
    for n in (2, 3, 4, 6, 8, 12):
        h = _random_hash(rng, n)
        ref = imagehash.hex_to_hash(str(h))
        np.testing.assert_array_equal(PerceptualHash.from_hex(str(h)).bits, ref.hash)


@pytest.mark.parametrize(
    "bad, message",
    [
        ("", "invalid perceptual hash hex string ''"),
        ("xyz0123456789abc", "invalid perceptual hash hex string 'xyz0123456789abc'"),
        ("0x0123456789abcd", "'0x0123456789abcd'"),
        (" 0123456789abcde", "' 0123456789abcde'"),
        ("0123456789abcdef0", "'0123456789abcdef0'.*does not match any square"),
        ("fff", "'fff'.*does not fit in the 9 bits"),
    ],
)
def test_from_hex_invalid(bad, message):
    with pytest.raises(ValueError, match=message):
        PerceptualHash.from_hex(bad)


def test_from_hex_invalid_explicit_size_and_type():
    with pytest.raises(ValueError, match="needs 4 hex digits, got 16"):
        PerceptualHash.from_hex("0123456789abcdef", hash_size=4)
    with pytest.raises(TypeError, match="must be str"):
        PerceptualHash.from_hex(b"0123456789abcdef")


def test_eq_and_hash_consistent():
    rng = np.random.default_rng(5)
    base = [_random_hash(rng) for _ in range(50)]
    # Independently built copies with equal bits (and any kind metadata).
    copies = [PerceptualHash(h.bits.copy(), "phash") for h in base]
    parsed = [PerceptualHash.from_hex(str(h)) for h in base]
    for a, b, c in zip(base, copies, parsed):
        assert a == b == c
        assert hash(a) == hash(b) == hash(c)
        assert not (a != b)
    assert len(set(base + copies + parsed)) == len({str(h) for h in base})
    table = {h: i for i, h in enumerate(base)}
    assert all(table[c] == i for i, c in enumerate(copies))
    # imagehash collides every 8x8 hash that differs only by a byte shift;
    # ours does not conflate different values.
    a = PerceptualHash.from_hex("00000000000000ff")
    b = PerceptualHash.from_hex("000000000000ff00")
    assert imagehash.hex_to_hash(str(a)).__hash__() == imagehash.hex_to_hash(str(b)).__hash__()
    assert a != b and len({a, b}) == 2
    # Same integer value, different shapes: not equal.
    small = PerceptualHash(np.zeros((2, 2), bool))
    big = PerceptualHash(np.zeros((4, 4), bool))
    assert small != big
    assert PerceptualHash(np.zeros((8, 8), bool)) != "0000000000000000"


def test_subtract_different_shapes_raises():
    rng = np.random.default_rng(3)
    h8, h16 = _random_hash(rng, 8), _random_hash(rng, 16)
    with pytest.raises(ValueError, match=r"\(8, 8\) and \(16, 16\)"):
        h8 - h16
    with pytest.raises(TypeError):
        h8 - None
    with pytest.raises(TypeError):
        h8 - str(h8)


def test_immutable_and_picklable():
    rng = np.random.default_rng(9)
    h = _random_hash(rng, 8, "whash")
    with pytest.raises(AttributeError, match="immutable"):
        h.kind = "phash"
    with pytest.raises(AttributeError):
        h._bits = np.zeros((8, 8), bool)
    with pytest.raises(ValueError):
        h.bits[0, 0] = not h.bits[0, 0]
    with pytest.raises(ValueError):
        h.bits.setflags(write=True)
    # The constructor copies: mutating the source does not change the hash.
    src = np.zeros((8, 8), bool)
    z = PerceptualHash(src)
    src[0, 0] = True
    assert int(z) == 0
    for clone in (pickle.loads(pickle.dumps(h)), copy.copy(h), copy.deepcopy(h)):
        assert clone == h and clone.kind == "whash" and hash(clone) == hash(h)


def test_constructor_validation():
    with pytest.raises(ValueError, match="square"):
        PerceptualHash(np.zeros((8, 9), bool))
    with pytest.raises(ValueError, match="square"):
        PerceptualHash(np.zeros(64, bool))
    with pytest.raises(ValueError, match="at least 2x2"):
        PerceptualHash(np.zeros((1, 1), bool))
    with pytest.raises(ValueError, match="only 0 and 1"):
        PerceptualHash(np.full((8, 8), 2))
    with pytest.raises(ValueError, match="unknown hash kind 'sha1'"):
        PerceptualHash(np.zeros((8, 8), bool), "sha1")
    assert PerceptualHash(np.eye(8, dtype=int)) == PerceptualHash(np.eye(8, dtype=bool))


def test_module_import_does_not_load_scipy_or_pywt():
    src = Path(ih.__file__).resolve().parents[2]
    code = (
        "import sys, imgdelta.metrics._imagehash as m; "
        "assert not any(k == 'pywt' or k.startswith(('scipy', 'pywt.')) "
        "for k in sys.modules), sorted(k for k in sys.modules if 'scipy' in k)"
    )
    env = dict(os.environ, PYTHONPATH=str(src))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
