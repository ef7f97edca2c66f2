"""The vectorised pixelmatch classification must equal the ``pixelmatch`` package 0.4.0.

Every comparison runs the pure-Python package on flat lists of Python ints (NumPy uint8
scalars would wrap around in its alpha blending) and reads its per-pixel verdict from the
diff image it draws: red = counted difference, yellow = anti-aliasing. The package is
slow, so images stay small (about 96x96 for photographs) and its results are cached.
"""

from __future__ import annotations

import functools
import io
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageDraw, ImageFont
from pixelmatch.core import pixelmatch
from pixelmatch.utils import color_delta
from skimage import data as skdata

from imgdelta.metrics import _pixelmatch as pm
from imgdelta.metrics._pixelmatch import classify, mismatch_count

SEED = 20241124
THRESHOLDS = (0.0, 0.05, 0.1, 0.5, 1.0)
CROP = 96

# ---------------------------------------------------------------------------------------
# Reference: the package itself.


def package_result(a: np.ndarray, b: np.ndarray, threshold: float, include_aa: bool):
    """(mismatch count, label map) as the package reports them."""
    height, width = a.shape[:2]
    output = [0] * (height * width * 4)
    count = pixelmatch(
        a.ravel().tolist(),
        b.ravel().tolist(),
        width,
        height,
        output,
        threshold=threshold,
        includeAA=include_aa,
    )
    out = np.asarray(output, dtype=np.uint8).reshape(height, width, 4)
    red = (out[..., 0] == 255) & (out[..., 1] == 0) & (out[..., 2] == 0)
    yellow = (out[..., 0] == 255) & (out[..., 1] == 255) & (out[..., 2] == 0)
    labels = np.zeros((height, width), dtype=np.uint8)
    labels[red] = 1
    labels[yellow] = 2
    return count, labels


_CACHE: dict = {}


def cached_package_result(key, a, b, threshold, include_aa):
    full_key = (key, threshold, include_aa)
    if full_key not in _CACHE:
        _CACHE[full_key] = package_result(a, b, threshold, include_aa)
    return _CACHE[full_key]


def assert_matches(a, b, threshold, include_aa, expected=None):
    count, labels = expected or package_result(a, b, threshold, include_aa)
    got = classify(a, b, threshold=threshold, include_aa=include_aa)
    assert got.dtype == np.uint8 and got.shape == a.shape[:2]
    diff = np.argwhere(got != labels)
    assert diff.size == 0, (
        f"{len(diff)} pixels differ, first (y, x) {diff[:5].tolist()}: "
        f"ours {got[tuple(diff[0])]}, package {labels[tuple(diff[0])]}"
    )
    assert mismatch_count(a, b, threshold=threshold, include_aa=include_aa) == count
    assert int(np.count_nonzero(labels == 1)) == count
    if include_aa:
        assert not np.any(got == 2)
    return labels


# ---------------------------------------------------------------------------------------
# Test images.


def to_rgba(img: np.ndarray, alpha: np.ndarray | int = 255) -> np.ndarray:
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    out = np.empty(img.shape[:2] + (4,), dtype=np.uint8)
    out[..., :3] = img[..., :3]
    out[..., 3] = alpha
    return out


def jpeg(rgba: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba[..., :3])).save(
        buf, format="JPEG", quality=quality
    )
    back = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    return to_rgba(back, rgba[..., 3])


# Crop origins chosen on edges and texture, where anti-aliasing detection matters.
PHOTOS = {
    "astronaut": (lambda: skdata.astronaut(), (120, 180)),
    "coffee": (lambda: skdata.coffee(), (150, 250)),
    "chelsea": (lambda: skdata.chelsea(), (60, 120)),
    "camera": (lambda: skdata.camera(), (100, 200)),
    "rocket": (lambda: skdata.rocket(), (200, 200)),
}
VARIANTS = ("jpeg60", "shift1", "patch", "noise")


@functools.lru_cache(maxsize=None)
def photo_pair(name: str, variant: str):
    loader, (y, x) = PHOTOS[name]
    full = to_rgba(loader())
    a = full[y : y + CROP, x : x + CROP].copy()
    rng = np.random.default_rng([SEED, list(PHOTOS).index(name), VARIANTS.index(variant)])
    if variant == "jpeg60":
        b = jpeg(a, 60)
    elif variant == "shift1":
        b = full[y + 1 : y + 1 + CROP, x + 1 : x + 1 + CROP].copy()
    elif variant == "patch":
        b = a.copy()
        donor = to_rgba(skdata.coffee())[:30, :30]
        b[20:50, 40:70] = donor
        b[-12:, :12] = donor[:12, :12]  # also at a corner
    else:
        noise = rng.integers(-4, 5, size=a.shape[:2] + (3,))
        b = a.copy()
        b[..., :3] = np.clip(a[..., :3].astype(int) + noise, 0, 255)
    return a, b


def _supersampled(draw_fn, size: int, shift: int, colours) -> np.ndarray:
    """Render at 4x and box-filter down: genuinely anti-aliased edges."""
    scale = 4
    background, ink = colours
    img = Image.new("RGB", (size * scale, size * scale), background)
    draw_fn(ImageDraw.Draw(img), scale, shift * scale, ink)
    return to_rgba(np.asarray(img.resize((size, size), Image.Resampling.BOX)))


def _lines(draw, s, d, ink):
    # Lines run off the canvas so anti-aliased pixels land on borders and corners.
    draw.line([(-10 + d, 5 * s), (70 * s + d, 40 * s)], fill=ink, width=s)
    draw.line([(5 * s + d, -10), (30 * s + d, 70 * s)], fill=ink, width=2 * s)
    draw.line([(-10 + d, -10), (70 * s + d, 70 * s)], fill=ink, width=s)
    draw.ellipse([(30 * s + d, 30 * s), (55 * s + d, 50 * s)], outline=ink, width=s)


def _text(draw, s, d, ink):
    font = ImageFont.load_default(size=14 * s)
    draw.text((2 * s + d, 2 * s), "AaW", fill=ink, font=font)
    draw.text((1 * s + d, 30 * s), "g@7", fill=ink, font=font)


DRAWINGS = {
    "lines-bw": (_lines, ("white", "black")),
    "lines-colour": (_lines, ((30, 60, 200), (250, 200, 20))),
    "text-bw": (_text, ("white", "black")),
    "text-colour": (_text, ((240, 240, 230), (200, 0, 40))),
}


@functools.lru_cache(maxsize=None)
def drawing_pair(name: str):
    draw_fn, colours = DRAWINGS[name]
    return _supersampled(draw_fn, 64, 0, colours), _supersampled(draw_fn, 64, 1, colours)


@functools.lru_cache(maxsize=None)
def translucent_pairs():
    rng = np.random.default_rng([SEED, 99])
    a, b = photo_pair("chelsea", "jpeg60")
    gradient = np.linspace(0, 255, CROP).astype(np.uint8)[None, :].repeat(CROP, 0)
    random_alpha = rng.integers(0, 256, size=(CROP, CROP), dtype=np.uint8)
    some_clear = np.where(rng.random((CROP, CROP)) < 0.2, 0, 255).astype(np.uint8)
    pairs = {}
    # Same colours, different alpha: only the blending over white differs.
    pairs["alpha-only"] = (to_rgba(a, gradient), to_rgba(a, gradient.T))
    pairs["jpeg-translucent"] = (to_rgba(a, random_alpha), to_rgba(b, random_alpha))
    pairs["alpha-holes"] = (to_rgba(a, some_clear), to_rgba(b, 255))
    lines_a, lines_b = drawing_pair("lines-bw")
    half = np.full(lines_a.shape[:2], 128, dtype=np.uint8)
    pairs["aa-half-alpha"] = (to_rgba(lines_a, half), to_rgba(lines_b, half))
    # Fully transparent pixels of any colour blend to the same white.
    c = a.copy()
    c[..., 3] = 0
    d = b.copy()
    d[..., 3] = 0
    d[::2, ::3] = a[::2, ::3]
    pairs["transparent"] = (c, d)
    return pairs


# ---------------------------------------------------------------------------------------
# Photographs.


@pytest.mark.parametrize("include_aa", [False, True], ids=["aa-ignored", "aa-counted"])
@pytest.mark.parametrize("threshold", THRESHOLDS)
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", list(PHOTOS))
def test_photographs_match_package(name, variant, threshold, include_aa):
    a, b = photo_pair(name, variant)
    key = ("photo", name, variant)
    assert_matches(a, b, threshold, include_aa,
                   cached_package_result(key, a, b, threshold, include_aa))


def test_photograph_pairs_exercise_the_interesting_cases():
    """Guard against test data that would make the comparison trivial."""
    a, b = photo_pair("astronaut", "shift1")
    labels = cached_package_result(("photo", "astronaut", "shift1"), a, b, 0.1, False)[1]
    assert np.count_nonzero(labels == 1) > 50
    a, b = photo_pair("coffee", "jpeg60")
    _, labels = cached_package_result(("photo", "coffee", "jpeg60"), a, b, 0.0, False)
    assert np.count_nonzero(labels == 2) > 0


# ---------------------------------------------------------------------------------------
# Anti-aliased drawings.


@pytest.mark.parametrize("include_aa", [False, True], ids=["aa-ignored", "aa-counted"])
@pytest.mark.parametrize("threshold", THRESHOLDS)
@pytest.mark.parametrize("name", list(DRAWINGS))
def test_antialiased_drawings_match_package(name, threshold, include_aa):
    a, b = drawing_pair(name)
    expected = cached_package_result(("drawing", name), a, b, threshold, include_aa)
    assert_matches(a, b, threshold, include_aa, expected)


@pytest.mark.parametrize("name", list(DRAWINGS))
def test_drawings_really_contain_antialiasing(name):
    a, b = drawing_pair(name)
    _, labels = cached_package_result(("drawing", name), a, b, 0.1, False)
    assert np.count_nonzero(labels == 2) >= 5, "no anti-aliased pixel in the test data"
    assert np.count_nonzero(labels == 1) >= 5


def test_drawings_flag_pixels_on_borders():
    edge = np.zeros((64, 64), dtype=bool)
    edge[[0, -1], :] = True
    edge[:, [0, -1]] = True
    a, b = drawing_pair("lines-bw")
    _, labels = cached_package_result(("drawing", "lines-bw"), a, b, 0.1, False)
    assert np.any(labels[edge] == 2) and np.any(labels[edge] == 1)


# ---------------------------------------------------------------------------------------
# Alpha, borders, corners, identical inputs.


@pytest.mark.parametrize("include_aa", [False, True], ids=["aa-ignored", "aa-counted"])
@pytest.mark.parametrize("threshold", [0.0, 0.1, 0.5])
@pytest.mark.parametrize(
    "name", ["alpha-only", "jpeg-translucent", "alpha-holes", "aa-half-alpha", "transparent"]
)
def test_translucent_images_match_package(name, threshold, include_aa):
    a, b = translucent_pairs()[name]
    assert np.any(a[..., 3] < 255) or np.any(b[..., 3] < 255)
    expected = cached_package_result(("alpha", name), a, b, threshold, include_aa)
    labels = assert_matches(a, b, threshold, include_aa, expected)
    if name == "aa-half-alpha" and threshold == 0.1 and not include_aa:
        assert np.any(labels == 2)


def test_fully_transparent_pixels_never_differ():
    a, b = translucent_pairs()["transparent"]
    both_clear = (a[..., 3] == 0) & (b[..., 3] == 0)
    assert np.any(a[both_clear] != b[both_clear])
    assert not np.any(classify(a, b, threshold=0.0)[both_clear])


def test_border_and_corner_pixels():
    """Random palette images with changes on the border only; the anti-aliasing rules
    start with one "equal" neighbour there and have fewer neighbours to visit."""
    rng = np.random.default_rng([SEED, 7])
    aa_on_border = aa_in_corner = 0
    for _ in range(120):
        h, w = rng.integers(2, 9, size=2)
        palette = rng.integers(0, 256, size=(3, 4), dtype=np.uint8)
        palette[:, 3] = 255
        a = palette[rng.integers(0, 3, size=(h, w))]
        b = a.copy()
        border = np.zeros((h, w), dtype=bool)
        border[[0, -1], :] = border[:, [0, -1]] = True
        change = border & (rng.random((h, w)) < 0.5)
        b[change] = palette[rng.integers(0, 3, size=int(change.sum()))]
        labels = assert_matches(a, b, 0.05, False)
        aa_on_border += int(np.count_nonzero(labels[border] == 2))
        aa_in_corner += int(np.count_nonzero(labels[[0, 0, -1, -1], [0, -1, 0, -1]] == 2))
    assert aa_on_border > 0 and aa_in_corner > 0


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (7, 1), (2, 2), (3, 3)])
def test_degenerate_shapes(shape):
    rng = np.random.default_rng([SEED, *shape])
    palette = rng.integers(0, 256, size=(3, 4), dtype=np.uint8)
    for _ in range(20):
        a = palette[rng.integers(0, 3, size=shape)]
        b = palette[rng.integers(0, 3, size=shape)]
        for threshold in (0.0, 0.1):
            assert_matches(a, b, threshold, False)


def test_empty_image():
    a = np.zeros((0, 5, 4), dtype=np.uint8)
    assert classify(a, a.copy()).shape == (0, 5)
    assert mismatch_count(a, a.copy()) == 0


@pytest.mark.parametrize("threshold", [0.0, 0.1])
def test_identical_inputs(threshold):
    a, _ = photo_pair("rocket", "noise")
    alpha = translucent_pairs()["jpeg-translucent"][0]
    for img in (a, alpha):
        assert pixelmatch(img.ravel().tolist(), img.ravel().tolist(), CROP, CROP) == 0
        labels = classify(img, img.copy(), threshold=threshold)
        assert labels.dtype == np.uint8 and not labels.any()
        assert mismatch_count(img, img, threshold=threshold) == 0


def test_non_contiguous_inputs():
    a, b = photo_pair("astronaut", "shift1")
    a_view, b_view = a[::-1, ::2], b[::-1, ::2]
    assert not a_view.flags.c_contiguous
    assert_matches(np.ascontiguousarray(a_view), np.ascontiguousarray(b_view), 0.1, False)
    np.testing.assert_array_equal(
        classify(a_view, b_view),
        classify(np.ascontiguousarray(a_view), np.ascontiguousarray(b_view)),
    )


# ---------------------------------------------------------------------------------------
# Every internal strategy gives the same answer (they only trade speed).

_NEVER, _ALWAYS = 0, 10**12
STRATEGIES = [
    (dense, sibling_map, full_luma)
    for dense in (_NEVER, _ALWAYS)
    for sibling_map in (_NEVER, _ALWAYS)
    for full_luma in (_NEVER, _ALWAYS)
]


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: "-".join(map(str, s)))
def test_all_strategies_agree(strategy, monkeypatch):
    dense, sibling_map, full_luma = strategy
    monkeypatch.setattr(pm, "_DENSE_DELTA_RATIO", dense)
    monkeypatch.setattr(pm, "_SIBLING_MAP_RATIO", sibling_map)
    monkeypatch.setattr(pm, "_FULL_LUMA_RATIO", full_luma)
    monkeypatch.setattr(pm, "_AA_BLOCK", 256)  # several candidate blocks
    monkeypatch.setattr(pm, "_SCREEN_BLOCK", 1000)  # blocks not aligned to rows
    monkeypatch.setattr(pm, "_SIBLING_BAND_PIXELS", 300)  # several row bands
    cases = [
        (("drawing", "text-bw"), *drawing_pair("text-bw")),
        (("photo", "chelsea", "shift1"), *photo_pair("chelsea", "shift1")),
        (("alpha", "aa-half-alpha"), *translucent_pairs()["aa-half-alpha"]),
    ]
    for key, a, b in cases:
        for threshold in (0.0, 0.1):
            expected = cached_package_result(key, a, b, threshold, False)
            assert_matches(a, b, threshold, False, expected)


# ---------------------------------------------------------------------------------------
# Property tests on small images from a small palette: equal neighbours are common, which
# is what drives the anti-aliasing branches (zero counts, ties, sibling counts).

ALPHAS = st.sampled_from([0, 1, 128, 254, 255])


@st.composite
def palette_pairs(draw):
    height = draw(st.integers(1, 12))
    width = draw(st.integers(1, 12))
    opaque = draw(st.booleans())
    colour = st.tuples(
        st.integers(0, 255),
        st.integers(0, 255),
        st.integers(0, 255),
        st.just(255) if opaque else ALPHAS,
    )
    palette = np.array(draw(st.lists(colour, min_size=1, max_size=4)), dtype=np.uint8)
    n = len(palette)
    index = hnp.arrays(np.uint8, (height, width), elements=st.integers(0, n - 1))
    idx_a = draw(index)
    how = draw(st.sampled_from(["independent", "edited", "shifted"]))
    if how == "independent":
        idx_b = draw(index)
    elif how == "edited":
        idx_b = idx_a.copy()
        mask = draw(hnp.arrays(np.bool_, (height, width)))
        idx_b[mask] = draw(index)[mask]
    else:
        idx_b = np.roll(idx_a, draw(st.sampled_from([(0, 1), (1, 0), (1, 1)])), axis=(0, 1))
    return palette[idx_a], palette[idx_b]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pair=palette_pairs(),
    threshold=st.one_of(st.sampled_from(THRESHOLDS), st.floats(0.0, 1.0)),
    include_aa=st.booleans(),
)
def test_random_palette_images_match_package(pair, threshold, include_aa):
    a, b = pair
    assert_matches(a, b, threshold, include_aa)


PIXEL = hnp.arrays(np.uint8, (4,), elements=st.integers(0, 255))
OPAQUE_PIXEL = st.tuples(*[st.integers(0, 255)] * 3).map(lambda c: np.array([*c, 255], np.uint8))


@settings(max_examples=300, deadline=None)
@given(p=st.one_of(PIXEL, OPAQUE_PIXEL), q=st.one_of(PIXEL, OPAQUE_PIXEL))
def test_colour_and_brightness_deltas_are_bit_identical(p, q):
    flat_p, flat_q = p.tolist(), q.tolist()
    ours = pm._yiq_delta(p[None], q[None])[0]
    assert ours == color_delta(flat_p, flat_q, 0, 0)
    brightness = (pm._luma(p[None]) - pm._luma(q[None]))[0]
    assert brightness == color_delta(flat_p + flat_q, flat_p + flat_q, 0, 4, True)


@settings(max_examples=300, deadline=None)
@given(p=OPAQUE_PIXEL, q=OPAQUE_PIXEL, threshold=st.floats(0.0, 1.0))
def test_integer_screen_never_drops_a_difference(p, q, threshold):
    """Pairs skipped by the uint8 screen are provably at or below the threshold."""
    max_delta = 35215 * threshold * threshold
    limit = pm._screen_limit(max_delta)
    spread = int(np.abs(p.astype(int) - q.astype(int)).max())
    delta = color_delta(p.tolist(), q.tolist(), 0, 0)
    assert delta <= pm._CORNER_DELTA * spread * spread + 1e-6
    if spread <= limit:
        assert not delta > max_delta


def test_threshold_one_flags_nothing():
    # The largest possible delta, red against cyan, stays below 35215.
    red = np.array([[[255, 0, 0, 255]]], dtype=np.uint8)
    cyan = np.array([[[0, 255, 255, 255]]], dtype=np.uint8)
    assert math.isclose(color_delta(red.ravel().tolist(), cyan.ravel().tolist(), 0, 0),
                        35214.75, abs_tol=0.01)
    assert mismatch_count(red, cyan, threshold=1.0) == 0
    assert mismatch_count(red, cyan, threshold=0.99) == 1


# ---------------------------------------------------------------------------------------
# Validation.

GOOD = np.zeros((4, 5, 4), dtype=np.uint8)


@pytest.mark.parametrize("func", [classify, mismatch_count])
@pytest.mark.parametrize(
    ("a", "b", "kwargs", "pattern"),
    [
        (GOOD.astype(np.float32), GOOD, {}, r"rgba_a has dtype float32.*uint8"),
        (GOOD, GOOD.astype(np.int64), {}, r"rgba_b has dtype int64.*uint8"),
        (GOOD[..., :3], GOOD[..., :3], {}, r"rgba_a has shape \(4, 5, 3\).*alpha"),
        (GOOD[..., 0], GOOD, {}, r"rgba_a has shape \(4, 5\).*\(height, width, 4\)"),
        (GOOD, GOOD[:3], {}, r"rgba_a has shape \(4, 5, 4\) but rgba_b has shape \(3, 5, 4\)"),
        (GOOD, GOOD, {"threshold": -0.1}, r"threshold=-0\.1 .*\[0, 1\].*e\.g\. 0\.1"),
        (GOOD, GOOD, {"threshold": 1.5}, r"threshold=1\.5 "),
        (GOOD, GOOD, {"threshold": float("nan")}, r"threshold=nan "),
        (GOOD, GOOD, {"threshold": "0.1"}, r"threshold='0\.1' is not a number"),
        (GOOD, GOOD, {"threshold": True}, r"threshold=True "),
        (GOOD, GOOD, {"include_aa": "yes"}, r"include_aa='yes' is not a bool"),
    ],
)
def test_invalid_arguments(func, a, b, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        func(a, b, **kwargs)


def test_accepts_numpy_scalars_and_bools():
    a, b = drawing_pair("lines-bw")
    expected = mismatch_count(a, b, threshold=0.1, include_aa=False)
    assert mismatch_count(a, b, threshold=np.float64(0.1), include_aa=np.False_) == expected
    assert isinstance(mismatch_count(a, b), int)
