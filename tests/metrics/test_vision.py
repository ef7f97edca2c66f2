"""nmi, ciede2000, flow and template against their references, on real photos.

References (test-only dependencies): scikit-image (``normalized_mutual_information``,
``rgb2lab`` + ``deltaE_ciede2000``), OpenCV called directly (``calcOpticalFlowFarneback``,
``goodFeaturesToTrack`` + ``calcOpticalFlowPyrLK``, ``matchTemplate`` + ``minMaxLoc``), and
the CIEDE2000 test data published by Sharma, Wu and Dalal (2005).
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

import imgdelta
from imgdelta import ChangeDetector, DetectorSettings
from imgdelta.cli.main import main
from imgdelta.features import Features, FeaturePair
from imgdelta.metrics import MetricOptions, available_metrics
from imgdelta.metrics.colour import JUST_NOTICEABLE, _ciede2000, ciede2000_map
from imgdelta.metrics.motion import analysis_size, consistent_flow

from testdata import photo

MINE = ("nmi", "ciede2000", "edges", "flow", "template", "gmsd", "fsim")


def _measure(a, b, names, **kwargs) -> dict:
    return imgdelta.compare(a, b, metrics=names, **kwargs).metrics


def _luma(image: np.ndarray) -> np.ndarray:
    """imgdelta's luminance of a uint8 image (float32 BT.601 of the pixels / 255)."""
    pixels = image.astype(np.float32) / np.float32(255)
    return Features(pixels[..., None] if pixels.ndim == 2 else pixels).luma


def _luma8(image: np.ndarray) -> np.ndarray:
    """The gray image an OpenCV user makes of a uint8 photo."""
    import cv2

    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def _shifted(name: str, size: int, dx: int, dy: int) -> tuple[np.ndarray, np.ndarray]:
    """A crop of a photo and the same crop with its content moved (dx, dy) pixels."""
    big = photo(name)
    a = big[40 : 40 + size, 40 : 40 + size]
    b = big[40 - dy : 40 - dy + size, 40 - dx : 40 - dx + size]
    return a, b


# -- nmi ------------------------------------------------------------------------------


def test_nmi_equals_skimage_on_the_same_luminance(photo_pairs):
    from skimage.metrics import normalized_mutual_information

    for label, a, b in photo_pairs:
        expected = normalized_mutual_information(_luma(a), _luma(b), bins=100)
        # scikit-image builds a float32 density for float32 input; counts are exact here
        assert _measure(a, b, ["nmi"])["nmi"] == pytest.approx(expected, rel=1e-7), label


def test_nmi_agrees_with_skimage_on_float64_luminance(photo_pairs):
    from skimage.metrics import normalized_mutual_information

    weights = np.array([0.299, 0.587, 0.114])
    for label, a, b in photo_pairs[::3]:
        la = a / 255.0 if a.ndim == 2 else a @ weights / 255
        lb = b / 255.0 if b.ndim == 2 else b @ weights / 255
        assert _measure(a, b, ["nmi"])["nmi"] == pytest.approx(normalized_mutual_information(la, lb), abs=1e-5), label


def test_nmi_counts_only_the_kept_pixels():
    from skimage.metrics import normalized_mutual_information

    rng = np.random.default_rng(11)
    a = photo("coffee")
    b = np.clip(a + rng.normal(0, 25, a.shape), 0, 255).astype(np.uint8)
    mask = np.zeros(a.shape[:2], bool)
    mask[50:300, 100:500] = True
    got = _measure(a, b, ["nmi"], preprocess=imgdelta.Preprocess(mask=mask))["nmi"]
    expected = normalized_mutual_information(_luma(a)[mask], _luma(b)[mask])
    assert got == pytest.approx(expected, rel=1e-7)
    assert got != pytest.approx(_measure(a, b, ["nmi"])["nmi"], rel=1e-3)


def test_nmi_sees_dependence_not_values():
    a = photo("camera")
    assert _measure(a, a, ["nmi"])["nmi"] == 2.0
    # inverted: each still determines the other, up to 256 levels falling in 100 bins
    assert _measure(a, 255 - a, ["nmi"])["nmi"] > 1.95
    noise = np.random.default_rng(3).integers(0, 256, a.shape, dtype=np.uint8)
    assert _measure(a, noise, ["nmi"])["nmi"] < 1.02  # independent


def test_nmi_of_flat_images():
    flat = np.full((20, 30), 90, np.uint8)
    assert _measure(flat, flat.copy(), ["nmi"])["nmi"] == 2.0
    assert _measure(flat, flat + 50, ["nmi"])["nmi"] == 1.0  # no information to share
    assert _measure(flat, photo("camera")[:20, :30], ["nmi"])["nmi"] == pytest.approx(1.0)


# -- ciede2000 ------------------------------------------------------------------------

#: Sharma, Wu, Dalal 2005, "The CIEDE2000 color-difference formula: implementation
#: notes, supplementary test data, and mathematical observations", Table 1 (pairs 1-3, 7,
#: 17-20, 25, 26, 33, 34): Lab of both samples and the published dE00.
SHARMA_PAIRS = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
    ((50.0, 2.8361, -74.0200), (50.0, 0.0, -82.7485), 3.4412),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (61.0, -5.0, 29.0), 22.8977),
    ((50.0, 2.5, 0.0), (56.0, -27.0, -3.0), 31.9030),
    ((50.0, 2.5, 0.0), (58.0, 24.0, 15.0), 19.4535),
    ((50.0, 2.5, 0.0), (50.0, 3.1736, 0.5854), 1.0000),
    ((50.0, 2.5, 0.0), (50.0, 0.0, -2.5), 4.3065),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
]


def test_ciede2000_formula_reproduces_sharmas_published_pairs():
    lab1 = tuple(np.array([p[0][i] for p in SHARMA_PAIRS], np.float32) for i in range(3))
    lab2 = tuple(np.array([p[1][i] for p in SHARMA_PAIRS], np.float32) for i in range(3))
    got = _ciede2000(lab1, lab2)
    assert got == pytest.approx([p[2] for p in SHARMA_PAIRS], abs=1e-4)
    assert _ciede2000(lab2, lab1) == pytest.approx(got, abs=1e-5)  # symmetric


def test_ciede2000_equals_skimage_on_photos(photo_pairs):
    from skimage.color import deltaE_ciede2000, rgb2lab

    for label, a, b in photo_pairs:
        if a.ndim == 2:
            continue
        expected = deltaE_ciede2000(rgb2lab(a), rgb2lab(b))
        got = _measure(a, b, ["ciede2000"])
        assert got["ciede2000"] == pytest.approx(expected.mean(), abs=1e-4), label
        assert got["ciede2000_max"] == pytest.approx(expected.max(), abs=1e-2), label
        # a pixel within float32 rounding of the threshold may fall either side
        assert got["ciede2000_visible"] == pytest.approx(np.mean(expected > JUST_NOTICEABLE), abs=20 / expected.size), label


def test_ciede2000_map_equals_skimage_pixel_by_pixel():
    from skimage.color import deltaE_ciede2000, rgb2lab

    rng = np.random.default_rng(5)
    a = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)  # every hue and lightness
    b = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    got = ciede2000_map(a / 255.0, b / 255.0)
    expected = deltaE_ciede2000(rgb2lab(a), rgb2lab(b))
    assert got.shape == (120, 160) and got.dtype == np.float32
    assert np.abs(got - expected).max() < 2e-3
    assert np.abs(got - expected).mean() < 1e-5


def test_ciede2000_of_gray_images_is_lightness_alone():
    from skimage.color import deltaE_ciede2000, rgb2lab

    rng = np.random.default_rng(6)
    a = photo("camera")[:200, :300]
    b = np.clip(a + rng.normal(0, 15, a.shape), 0, 255).astype(np.uint8)
    # skimage's Lab of a gray keeps a and b within 1e-2 of 0, hence the tolerance
    expected = deltaE_ciede2000(rgb2lab(np.dstack([a] * 3)), rgb2lab(np.dstack([b] * 3)))
    got = ciede2000_map(a / 255.0, b / 255.0)
    assert np.abs(got - expected).max() < 2e-3
    assert _measure(a, b, ["ciede2000"])["ciede2000"] == pytest.approx(expected.mean(), abs=1e-4)
    # black against white is 100 on lightness alone
    assert ciede2000_map(np.zeros((2, 2)), np.ones((2, 2))) == pytest.approx(np.full((2, 2), 100.0), abs=1e-3)


def test_ciede2000_respects_the_mask():
    from skimage.color import deltaE_ciede2000, rgb2lab

    a = photo("chelsea")
    b = a.copy()
    b[:, :150] = b[:, :150, ::-1]  # colours swapped in the left part only
    mask = np.zeros(a.shape[:2], bool)
    mask[:, 100:] = True
    got = _measure(a, b, ["ciede2000"], preprocess=imgdelta.Preprocess(mask=mask))
    expected = deltaE_ciede2000(rgb2lab(a), rgb2lab(b))[mask]
    assert got["ciede2000"] == pytest.approx(expected.mean(), abs=1e-4)
    assert got["ciede2000_max"] == pytest.approx(expected.max(), abs=1e-2)


# -- flow -----------------------------------------------------------------------------


def _farneback(a8: np.ndarray, b8: np.ndarray) -> np.ndarray:
    """Dense flow as OpenCV's tutorial computes it (pyramid 0.5, 3 levels, window 15,
    3 iterations, poly_n 5, poly_sigma 1.2)."""
    return cv2.calcOpticalFlowFarneback(a8, b8, None, 0.5, 3, 15, 3, 5, 1.2, 0)


def _opencv_flow(a8: np.ndarray, b8: np.ndarray) -> tuple[np.ndarray, float]:
    """Dense magnitudes, and the median length of Lucas-Kanade tracks of A's corners."""
    corners = cv2.goodFeaturesToTrack(a8, maxCorners=200, qualityLevel=0.01, minDistance=7, blockSize=7)
    moved, status, _ = cv2.calcOpticalFlowPyrLK(a8, b8, corners, None, winSize=(15, 15), maxLevel=2)
    tracks = (moved - corners).reshape(-1, 2)[status.ravel() == 1]
    return np.linalg.norm(_farneback(a8, b8), axis=2), float(np.median(np.linalg.norm(tracks, axis=1)))


def _robust_max(a8: np.ndarray, b8: np.ndarray, sx: float = 1.0, sy: float = 1.0) -> float:
    """99th percentile of the flow magnitudes where the forward flow is undone by the
    backward flow: Sundaram, Brox, Keutzer 2010, |w + w'|^2 < 0.01 (|w|^2 + |w'|^2)
    + 0.5, w' the backward flow where the pixel lands (bilinear), landing inside B."""
    forward, backward = _farneback(a8, b8), _farneback(b8, a8)
    h, w = a8.shape
    x = np.arange(w, dtype=np.float32)[None, :] + forward[..., 0]
    y = np.arange(h, dtype=np.float32)[:, None] + forward[..., 1]
    back = cv2.remap(backward, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    lhs = ((forward + back) ** 2).sum(axis=2)
    rhs = 0.01 * ((forward**2).sum(axis=2) + (back**2).sum(axis=2)) + 0.5
    keep = (lhs < rhs) & (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
    magnitude = np.hypot(forward[..., 0] * sx, forward[..., 1] * sy)
    return float(np.percentile(magnitude[keep] if keep.any() else magnitude, 99))


def test_flow_equals_opencv_called_directly(photo_pairs):
    for label, a, b in photo_pairs[::4]:
        a8, b8 = _luma8(a), _luma8(b)
        size = analysis_size(a8.shape)
        sx, sy = a8.shape[1] / size[0], a8.shape[0] / size[1]
        small_a = cv2.resize(a8, size, interpolation=cv2.INTER_AREA)
        small_b = cv2.resize(b8, size, interpolation=cv2.INTER_AREA)
        flow = _farneback(small_a, small_b)
        magnitude = np.hypot(flow[..., 0] * sx, flow[..., 1] * sy)
        got = _measure(a, b, ["flow"])
        assert got["flow"] == pytest.approx(magnitude.mean(), rel=1e-5), label
        assert got["flow_max"] == pytest.approx(_robust_max(small_a, small_b, sx, sy), rel=1e-5), label
        assert got["flow_moving"] == pytest.approx(np.mean(magnitude > 1.0), abs=1e-9), label


def test_forward_backward_consistency_by_hand():
    """Sundaram, Brox, Keutzer 2010: |w + w'|^2 < 0.01 (|w|^2 + |w'|^2) + 0.5."""
    forward = np.zeros((6, 10, 2), np.float32)
    forward[..., 0] = 3.0  # everything moves 3 pixels right
    undone = -forward
    kept = consistent_flow(forward, undone)
    assert kept[:, :7].all() and not kept[:, 7:].any()  # columns 7..9 land outside
    # a backward flow of 0 leaves |w + w'|^2 = 9 against 0.01 * 9 + 0.5
    assert not consistent_flow(forward, np.zeros_like(forward)).any()
    # back by 2.4 leaves 0.6: 0.36 < 0.01 (9 + 5.76) + 0.5 = 0.648; back by 2.1 leaves
    # 0.9: 0.81 > 0.01 (9 + 4.41) + 0.5 = 0.634
    short = undone.copy()
    short[..., 0] = -2.4
    assert consistent_flow(forward, short)[:, :7].all()
    short[..., 0] = -2.1
    assert not consistent_flow(forward, short).any()


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "camera", "rocket"])
def test_flow_max_of_a_uniform_shift_is_the_shift(name):
    """The content of a 256-pixel crop moved 5 pixels right by slicing (no wrap-round):
    flow_max, a robust maximum, is within 1 pixel of 5, where the single longest vector
    (content leaving the frame) reached 42.8 on these photos. flow, the mean, counts the
    textureless pixels near 0, so it is at most the shift and below it (1.6 to 4.8 here,
    as the docstring says); flow_lk finds the shift itself."""
    big = photo(name)
    a, b = big[10:266, 10:266], big[10:266, 5:261]
    got = _measure(a, b, ["flow"])
    assert got["flow_max"] == pytest.approx(5.0, abs=1.0)
    assert got["flow_lk"] == pytest.approx(5.0, abs=0.05)
    assert 1.5 < got["flow"] < 5.0


def test_an_appearing_box_can_still_read_as_motion():
    """Nothing moves, a black box appears: dense flow explains it as motion. The robust
    maximum is well below the longest vector, but not 0 (the docstring's figures)."""
    figures = []
    for name in ("astronaut", "coffee", "chelsea", "camera", "rocket"):
        a = photo(name)[:256, :256]
        b = a.copy()
        b[100:150, 100:160] = 0
        got = _measure(a, b, ["flow"])
        longest = float(np.linalg.norm(_farneback(_luma8(a), _luma8(b)), axis=2).max())
        assert got["flow_lk"] == 0.0 and got["flow_max"] < longest, name
        figures.append((got["flow_max"], longest))
    assert max(f for f, _ in figures) < 11 and min(longest for _, longest in figures) > 9


def test_flow_at_full_size_equals_opencv_and_finds_a_known_shift():
    a, b = _shifted("chelsea", 256, 3, 2)  # 256 px: computed at full size
    magnitude, track = _opencv_flow(_luma8(a), _luma8(b))
    got = _measure(a, b, ["flow"])
    assert got["flow"] == pytest.approx(magnitude.mean(), rel=1e-5)
    assert got["flow_lk"] == pytest.approx(track, rel=1e-5)
    assert got["flow_lk"] == pytest.approx(np.hypot(3, 2), abs=0.05)  # 3.61 px
    assert got["flow"] == pytest.approx(np.hypot(3, 2), rel=0.15)
    assert got["flow_moving"] > 0.9


def test_flow_of_a_large_image_is_in_input_pixels():
    big = cv2.resize(photo("chelsea"), (1400, 1400), interpolation=cv2.INTER_CUBIC)
    a, b = big[100:1124, 100:1124], big[94:1118, 92:1116]  # 1024 px, moved (8, 6): 10 px
    got = _measure(a, b, ["flow"])
    assert got["flow_lk"] == pytest.approx(10.0, abs=0.3)
    assert got["flow"] == pytest.approx(10.0, rel=0.15)


def test_flow_is_declared_asymmetric_and_ignores_masked_motion():
    assert not available_metrics()["flow"].symmetric and not available_metrics()["flow_lk"].symmetric
    a, b = _shifted("coffee", 200, 4, 0)
    still = a.copy()
    still[:, 100:] = b[:, 100:]  # the right half moves, the left stays
    mask = np.zeros(a.shape[:2], bool)
    mask[:, :80] = True
    masked = _measure(a, still, ["flow"], preprocess=imgdelta.Preprocess(mask=mask))
    assert masked["flow"] < 0.1 and masked["flow_moving"] < 0.02
    assert _measure(a, still, ["flow"])["flow"] > 1.0


# -- template -------------------------------------------------------------------------


def test_template_equals_opencv_match_template(photo_pairs):
    for label, a, b in photo_pairs[::2]:
        la, lb = _luma(a), _luma(b)
        h, w = la.shape
        my, mx = int(h * 0.1), int(w * 0.1)
        scores = cv2.matchTemplate(la, np.ascontiguousarray(lb[my : h - my, mx : w - mx]), cv2.TM_CCOEFF_NORMED)
        _, best, _, (x, y) = cv2.minMaxLoc(scores)
        got = _measure(a, b, ["template"])
        assert got["template"] == pytest.approx(best, abs=1e-6), label
        assert (got["template_dx"], got["template_dy"]) == (mx - x, my - y), label


@pytest.mark.parametrize("dx, dy", [(3, 2), (-5, 4), (0, -7)])
def test_template_finds_the_shift(dx, dy):
    a, b = _shifted("astronaut", 200, dx, dy)
    got = _measure(a, b, ["template"])
    assert (got["template_dx"], got["template_dy"]) == (dx, dy)
    assert got["template"] > 0.999
    back = _measure(b, a, ["template"])
    assert (back["template_dx"], back["template_dy"]) == (-dx, -dy)
    assert _measure(a, b, ["ssim"])["ssim"] < 0.7  # what a shift costs a pixel-aligned metric


def test_template_of_identical_and_flat_images():
    a = photo("camera")[:100, :120]
    assert _measure(a, a, ["template"]) == {"template": 1.0, "template_dx": 0.0, "template_dy": 0.0}
    flat = np.full((50, 60), 77, np.uint8)
    other = flat.copy()
    other[0, 0] = 200  # only the margin differs: the flat middles match
    assert _measure(flat, other, ["template"])["template"] == 1.0
    # a flat middle correlates with nothing (OpenCV itself would call it a perfect match)
    assert _measure(a[:50, :60], flat, ["template"])["template"] == 0.0
    assert not available_metrics()["template"].symmetric


# -- every metric of this family: API, command line, filter -------------------------


def test_figures_are_registered_under_their_names():
    figures = {
        "ciede2000": ("ciede2000_max", "ciede2000_visible"),
        "edges": ("edges_lost", "edges_new"),
        "flow": ("flow_max", "flow_moving", "flow_lk"),
        "template": ("template_dx", "template_dy"),
        "fsim": ("fsim_c",),
    }
    metrics = available_metrics()
    for name in MINE:
        assert metrics[name].figures == figures.get(name, ())


@pytest.fixture(scope="module")
def image_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vision")
    a, b = _shifted("chelsea", 160, 2, 1)
    b = b.copy()
    b[60:90, 70:110] = 20
    Image.fromarray(a).save(folder / "a.png")
    Image.fromarray(b).save(folder / "b.png")
    return folder


@pytest.mark.parametrize("name", MINE)
def test_each_metric_through_compare_json(name, image_files, capsys):
    code = main(["compare", str(image_files / "a.png"), str(image_files / "b.png"), "--json", "--metric", name])
    assert code in (0, 1)
    values = json.loads(capsys.readouterr().out)["metrics"]
    assert list(values) == [name, *available_metrics()[name].figures]
    a = np.asarray(Image.open(image_files / "a.png"))
    b = np.asarray(Image.open(image_files / "b.png"))
    assert values == pytest.approx(_measure(a, b, [name]))
    assert values[name] != available_metrics()[name].identical


@pytest.mark.parametrize("name, threshold", [("ciede2000", 2.0), ("template", 0.9), ("gmsd", 0.1)])
def test_a_metric_of_this_family_decides_the_filter(name, threshold):
    """The filter hands metrics single-channel luminance at its analysis size."""
    base = photo("coffee").astype(np.float32) / 255
    rng = np.random.default_rng(8)
    noisy = np.clip(base + rng.normal(0, 0.004, base.shape), 0, 1).astype(np.float32)
    changed = base.copy()
    changed[100:250, 200:400] = base[:150, :200][::-1]
    detector = ChangeDetector(DetectorSettings(metric=name, threshold=threshold))
    decisions = [detector.update(frame) for frame in (base, noisy, changed)]
    assert [d.keep for d in decisions] == [True, False, True]
    assert name in decisions[2].scores


def test_single_channel_pairs_work_for_every_metric():
    rng = np.random.default_rng(9)
    a = rng.random((40, 50, 1)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.05, a.shape), 0, 1).astype(np.float32)
    pair = FeaturePair(Features(a), Features(b))
    for name in MINE:
        metric = available_metrics()[name]
        value = metric.compute(pair, MetricOptions())
        assert metric.lower <= value <= metric.upper and value != metric.identical, name
