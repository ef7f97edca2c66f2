"""edges against OpenCV; GMSD and FSIM against their papers' formulas and known properties.

No installed library computes GMSD or FSIM, so they are checked three ways:

- hand-checkable cases whose intermediate values are worked out in the docstrings;
- a literal float64 transcription, written here, of the algorithms as the authors publish
  them (Xue, Zhang, Mou, Bovik 2014, "Gradient Magnitude Similarity Deviation", IEEE TIP
  23(2), and its GMSD.m; Zhang, Zhang, Mou, Zhang 2011, "FSIM: A Feature Similarity Index
  for Image Quality Assessment", IEEE TIP 20(8), and its FeatureSIM.m with Kovesi's
  phasecong2), with MATLAB's ``conv2(..., 'same')`` rebuilt from SciPy's full convolution;
- properties: identity, symmetry, monotonic in noise, flat images, phase congruency peaking
  on a step edge.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

import imgdelta
from imgdelta.features import Features, FeaturePair
from imgdelta.metrics import MetricOptions, available_metrics
from imgdelta.metrics.gradient import (
    CANNY_HIGH,
    CANNY_LOW,
    _box_reduce,
    edge_map,
    fsim_factor,
    log_gabor_bank,
    phase_congruency,
)

from testdata import photo


def _measure(a, b, names, **kwargs) -> dict:
    return imgdelta.compare(a, b, metrics=names, **kwargs).metrics


def _luma8(image: np.ndarray) -> np.ndarray:
    """The gray image an OpenCV user makes of a uint8 photo."""
    import cv2

    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def _noisy(image: np.ndarray, sigma: float, seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def conv2_same(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """MATLAB's ``conv2(x, kernel, 'same')``: the full convolution from index floor(m / 2).

    MATLAB's own example fixes the offset for even kernels: conv([-1 2 3 -2 0 1 2],
    [2 4 -1 1], 'same') is [15 5 -9 7 6 7 -1], elements 3 to 9 of the full result.
    """
    from scipy.signal import convolve2d

    full = convolve2d(x, kernel, mode="full")
    top, left = kernel.shape[0] // 2, kernel.shape[1] // 2
    return full[top : top + x.shape[0], left : left + x.shape[1]]


def test_conv2_same_reproduces_matlabs_example():
    got = conv2_same(np.array([[-1, 2, 3, -2, 0, 1, 2]], float), np.array([[2, 4, -1, 1]], float))
    assert got.ravel().tolist() == [15, 5, -9, 7, 6, 7, -1]


# -- edges ----------------------------------------------------------------------------


def _square(offset: tuple[int, int] = (0, 0), size: int = 128) -> np.ndarray:
    image = np.full((size, size), 40, np.uint8)
    y, x = 40 + offset[1], 40 + offset[0]
    image[y : y + 40, x : x + 40] = 210
    return image


def test_edge_maps_are_opencvs_canny(photo_pairs):
    for label, a, _ in photo_pairs[::5]:
        luma8 = _luma8(a)
        assert np.array_equal(edge_map(luma8), cv2.Canny(luma8, CANNY_LOW, CANNY_HIGH)), label


def test_edges_value_counts_unmatched_edge_pixels(photo_pairs):
    from scipy.ndimage import binary_dilation

    square = np.ones((3, 3), bool)
    for label, a, b in photo_pairs[::2]:
        ea = cv2.Canny(_luma8(a), 100, 200) > 0
        eb = cv2.Canny(_luma8(b), 100, 200) > 0
        lost = np.count_nonzero(ea & ~binary_dilation(eb, square))
        new = np.count_nonzero(eb & ~binary_dilation(ea, square))
        got = _measure(a, b, ["edges"])
        assert got["edges"] == pytest.approx((lost + new) / (ea.sum() + eb.sum()), abs=1e-12), label
        assert got["edges_lost"] == pytest.approx(lost / ea.sum(), abs=1e-12), label
        assert got["edges_new"] == pytest.approx(new / eb.sum(), abs=1e-12), label


def test_edges_tolerate_one_pixel_but_not_five():
    a = _square()
    assert _measure(a, _square((1, 0)), ["edges"])["edges"] == 0.0
    assert _measure(a, _square((1, -1)), ["edges"])["edges"] == 0.0
    assert _measure(a, _square((5, 5)), ["edges"])["edges"] > 0.9
    # moved along x only, the top and bottom sides still lie on each other
    assert _measure(a, _square((5, 0)), ["edges"])["edges"] == pytest.approx(0.5, abs=0.1)


def test_edges_lost_and_new_tell_which_image_has_them():
    a = _square()
    empty = np.full_like(a, 40)
    assert _measure(a, empty, ["edges"]) == {"edges": 1.0, "edges_lost": 1.0, "edges_new": 0.0}
    assert _measure(empty, a, ["edges"]) == {"edges": 1.0, "edges_lost": 0.0, "edges_new": 1.0}
    assert _measure(empty, empty + 3, ["edges"])["edges"] == 0.0  # no edges anywhere
    assert not available_metrics()["edges_lost"].symmetric and available_metrics()["edges"].symmetric


def test_edges_ignore_masked_changes_without_leaking():
    a = photo("astronaut")[:256, :256]
    b = a.copy()
    b[100:160, 100:160] = 255 - b[100:160, 100:160]
    ignore = imgdelta.Preprocess(ignore=((100, 100, 60, 60),))
    # Canny's hysteresis would carry changed edges out of the rectangle if B kept them
    assert _measure(a, b, ["edges"], preprocess=ignore)["edges"] == 0.0
    c = b.copy()
    c[20:40, 20:40] = 0
    outside = _measure(a, c, ["edges"], preprocess=ignore)["edges"]
    assert 0 < outside < _measure(a, c, ["edges"])["edges"]


# -- GMSD -----------------------------------------------------------------------------


def matlab_gmsd(y1: np.ndarray, y2: np.ndarray) -> float:
    """GMSD.m step by step in float64 on 0..255 luminance (T = 170, 2x2 average, Prewitt)."""
    average = np.full((2, 2), 0.25)
    y1 = conv2_same(y1, average)[::2, ::2]
    y2 = conv2_same(y2, average)[::2, ::2]
    dx = np.array([[1, 0, -1]] * 3) / 3
    g1 = np.hypot(conv2_same(y1, dx), conv2_same(y1, dx.T))
    g2 = np.hypot(conv2_same(y2, dx), conv2_same(y2, dx.T))
    quality = (2 * g1 * g2 + 170) / (g1**2 + g2**2 + 170)
    return float(np.std(quality, ddof=1))  # MATLAB's std2 divides by N - 1


def test_gmsd_of_a_hand_checked_case():
    """A black 4x4 image against one whose top-left 2x2 block is white.

    Halved, B is [[1, 0], [0, 0]] (on [0, 1]) and A is all 0. With zeros outside, B's
    Prewitt gradients are: (0, 0) 0 (its neighbours to the right and below are 0 on both
    sides of the kernel); (0, 1) and (1, 0) 1/3; (1, 1) sqrt(2)/3. A's are all 0, so
    GMS = T / (m^2 + T), T = 170 / 255^2 = 0.0026144: [1, 0.022989, 0.022989, 0.011628],
    mean 0.264402, squared deviations 0.541105, 0.058280, 0.058280, 0.063894, their sum over
    N - 1 = 3 is 0.240520, and its square root 0.4904.
    """
    a = np.zeros((4, 4), np.uint8)
    b = a.copy()
    b[:2, :2] = 255
    t = 170 / 255**2
    gms = [1.0, t / (1 / 9 + t), t / (1 / 9 + t), t / (2 / 9 + t)]
    expected = float(np.std(gms, ddof=1))
    assert expected == pytest.approx(0.4904, abs=1e-4)
    assert _measure(a, b, ["gmsd"])["gmsd"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("shape", [(9, 13), (10, 7), (33, 48), (1, 1), (2, 5)])
def test_gmsd_equals_the_authors_formula_step_by_step(shape):
    rng = np.random.default_rng(21)
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = np.clip(a + rng.normal(0, 30, shape), 0, 255).astype(np.uint8)
    expected = matlab_gmsd(a.astype(float), b.astype(float)) if a.size > 4 else 0.0
    assert _measure(a, b, ["gmsd"])["gmsd"] == pytest.approx(expected, rel=1e-5, abs=1e-7)


def test_gmsd_on_a_photo_equals_the_formula_and_grows_with_noise():
    a = photo("camera")[:200, :240]
    values = []
    for sigma in (2, 8, 20, 45):
        b = _noisy(a, sigma)
        value = _measure(a, b, ["gmsd"])["gmsd"]
        assert value == pytest.approx(matlab_gmsd(a.astype(float), b.astype(float)), rel=1e-5)
        values.append(value)
    assert values == sorted(values) and values[0] > 0
    assert _measure(a, a, ["gmsd"])["gmsd"] == 0.0


# -- FSIM -----------------------------------------------------------------------------


def test_fsim_reduction_factor_and_box_average_follow_the_authors_code():
    assert [fsim_factor(s) for s in [(100, 100), (383, 600), (384, 600), (1080, 1920), (2160, 3840)]] == [1, 1, 2, 4, 8]
    rng = np.random.default_rng(2)
    for shape, factor in [((9, 13), 2), ((10, 11), 3), ((17, 22), 4), ((3, 2), 5)]:
        x = rng.random(shape)
        expected = conv2_same(x, np.full((factor, factor), 1 / factor**2))[::factor, ::factor]
        assert _box_reduce(x.astype(np.float32), factor) == pytest.approx(expected, abs=1e-6)


def _matlab_grid(n: int) -> np.ndarray:
    """phasecong2's normalised frequency axis before ifftshift."""
    if n % 2:
        return np.arange(-(n - 1) / 2, (n - 1) / 2 + 1) / (n - 1)
    return np.arange(-n / 2, n / 2) / n


def matlab_phasecong2(image: np.ndarray) -> np.ndarray:
    """phasecong2 of FeatureSIM.m in float64: filters built on the centred grid and
    quadrant-shifted, the noise sums taken over the spatial filters as the code does."""
    rows, cols = image.shape
    x, y = np.meshgrid(_matlab_grid(cols), _matlab_grid(rows))
    radius = np.fft.ifftshift(np.sqrt(x**2 + y**2))
    theta = np.fft.ifftshift(np.arctan2(-y, x))
    radius[0, 0] = 1
    lowpass = np.fft.ifftshift(1 / (1 + (np.sqrt(x**2 + y**2) / 0.45) ** 30))
    log_gabor = []
    for s in range(4):
        g = np.exp(-(np.log(radius * 6 * 2**s) ** 2) / (2 * math.log(0.55) ** 2)) * lowpass
        g[0, 0] = 0
        log_gabor.append(g)
    spectrum = np.fft.fft2(image)
    energy_all = np.zeros(image.shape)
    amplitude_all = np.zeros(image.shape)
    for o in range(4):
        angle = o * math.pi / 4
        ds = np.sin(theta) * math.cos(angle) - np.cos(theta) * math.sin(angle)
        dc = np.cos(theta) * math.cos(angle) + np.sin(theta) * math.sin(angle)
        spread = np.exp(-(np.abs(np.arctan2(ds, dc)) ** 2) / (2 * (math.pi / 4 / 1.2) ** 2))
        responses, spatial = [], []
        for s in range(4):
            filt = log_gabor[s] * spread
            spatial.append(np.real(np.fft.ifft2(filt)) * math.sqrt(rows * cols))
            responses.append(np.fft.ifft2(spectrum * filt))
            if s == 0:
                filter_power = np.sum(filt**2)
        sum_e = sum(r.real for r in responses)
        sum_o = sum(r.imag for r in responses)
        norm = np.sqrt(sum_e**2 + sum_o**2) + 1e-4
        mean_e, mean_o = sum_e / norm, sum_o / norm
        energy = sum(r.real * mean_e + r.imag * mean_o - np.abs(r.real * mean_o - r.imag * mean_e) for r in responses)
        noise_power = -np.median(np.abs(responses[0]) ** 2) / math.log(0.5) / filter_power
        sum_an2 = sum(np.sum(g**2) for g in spatial)
        sum_aiaj = sum(np.sum(spatial[i] * spatial[j]) for i in range(4) for j in range(i + 1, 4))
        tau = math.sqrt((2 * noise_power * sum_an2 + 4 * noise_power * sum_aiaj) / 2)
        threshold = (tau * math.sqrt(math.pi / 2) + 2 * math.sqrt((2 - math.pi / 2) * tau**2)) / 1.7
        energy_all += np.maximum(energy - threshold, 0)
        amplitude_all += sum(np.abs(r) for r in responses)
    return energy_all / amplitude_all


def matlab_fsim(image1: np.ndarray, image2: np.ndarray) -> tuple[float, float]:
    """FeatureSIM.m in float64 on 0..255 RGB or gray: (FSIM, FSIMc)."""
    rows, cols = image1.shape[:2]
    factor = max(1, math.floor(min(rows, cols) / 256 + 0.5))  # MATLAB's round: halves up
    kernel = np.full((factor, factor), 1 / factor**2)

    def reduce(channel):
        return conv2_same(channel, kernel)[::factor, ::factor]

    def yiq(image):
        if image.ndim == 2:
            return image, None, None
        r, g, b = image[..., 0], image[..., 1], image[..., 2]
        return 0.299 * r + 0.587 * g + 0.114 * b, 0.596 * r - 0.274 * g - 0.322 * b, 0.211 * r - 0.523 * g + 0.312 * b

    y1, i1, q1 = (None if c is None else reduce(c) for c in yiq(image1))
    y2, i2, q2 = (None if c is None else reduce(c) for c in yiq(image2))
    pc1, pc2 = matlab_phasecong2(y1), matlab_phasecong2(y2)
    dx = np.array([[3, 0, -3], [10, 0, -10], [3, 0, -3]]) / 16
    g1 = np.hypot(conv2_same(y1, dx), conv2_same(y1, dx.T))
    g2 = np.hypot(conv2_same(y2, dx), conv2_same(y2, dx.T))
    pc_sim = (2 * pc1 * pc2 + 0.85) / (pc1**2 + pc2**2 + 0.85)
    g_sim = (2 * g1 * g2 + 160) / (g1**2 + g2**2 + 160)
    weight = np.maximum(pc1, pc2)
    fsim = np.sum(g_sim * pc_sim * weight) / np.sum(weight)
    if i1 is None:
        return fsim, fsim
    i_sim = (2 * i1 * i2 + 200) / (i1**2 + i2**2 + 200)
    q_sim = (2 * q1 * q2 + 200) / (q1**2 + q2**2 + 200)
    chroma = np.real(np.power((i_sim * q_sim).astype(complex), 0.03))
    return fsim, np.sum(g_sim * pc_sim * chroma * weight) / np.sum(weight)


@pytest.mark.parametrize("shape", [(32, 40), (33, 47), (64, 64)])
def test_phase_congruency_equals_the_transcription(shape):
    rng = np.random.default_rng(13)
    image = cv2.GaussianBlur(rng.random(shape) * 255, (0, 0), 1.5)
    expected = matlab_phasecong2(image)
    got = phase_congruency(image.astype(np.float32))
    assert np.abs(got - expected).max() < 1e-4


def test_noise_threshold_gain_equals_the_spatial_sums():
    """The bank's Parseval shortcut equals summing the spatial filters, for odd and even sizes."""
    for shape in [(20, 31), (25, 16)]:
        bank = log_gabor_bank(shape)
        rows, cols = shape
        for o in range(4):
            filters = bank.filters[o].astype(np.float64)
            spatial = [np.real(np.fft.ifft2(f)) * math.sqrt(rows * cols) for f in filters]
            squares = sum(np.sum(g * g) for g in spatial)
            cross = sum(np.sum(spatial[i] * spatial[j]) for i in range(4) for j in range(i + 1, 4))
            tau = math.sqrt((2 * squares + 4 * cross) / (2 * np.sum(filters[0] ** 2)))
            expected = (tau * math.sqrt(math.pi / 2) + 2 * tau * math.sqrt(2 - math.pi / 2)) / 1.7
            assert bank.noise_gain[o] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("source, size", [("camera", (300, 260)), ("astronaut", (420, 400)), ("coffee", (400, 600))])
def test_fsim_equals_the_transcription_on_photos(source, size):
    a = photo(source)[: size[0], : size[1]]
    b = _noisy(cv2.GaussianBlur(a, (0, 0), 1.2), 6)  # blurred and noisy: a typical distortion
    expected, expected_c = matlab_fsim(a.astype(float), b.astype(float))
    got = _measure(a, b, ["fsim"])
    assert got["fsim"] == pytest.approx(expected, abs=2e-5)
    assert got["fsim_c"] == pytest.approx(expected_c, abs=2e-5)
    assert got["fsim"] < 0.99


def test_phase_congruency_peaks_on_a_step_edge():
    """Kovesi 1999: the Fourier components of a step are all in phase at the step, so PC is
    highest there and falls away from it, whatever the step's height; a flat image has none.

    (The FFT makes the image periodic, so a second, opposite step sits at the border, 48
    pixels away: the longest filters see both, which keeps the peak near 0.8, not 1.)
    """
    step = np.zeros((64, 96), np.float32)
    step[:, 48:] = 200
    pc = phase_congruency(step)
    columns = pc.mean(axis=0)
    assert columns[47:49].max() == pytest.approx(columns.max()) and columns.max() > 0.8
    assert np.all(np.diff(columns[48:60]) < 0) and columns[59] < 0.2
    assert phase_congruency(step * 0.25) == pytest.approx(pc, abs=1e-3)
    assert not phase_congruency(np.full((30, 40), 90, np.float32)).any()


def test_fsim_properties():
    a = photo("chelsea")[:256, :256]
    assert _measure(a, a.copy(), ["fsim"]) == {"fsim": 1.0, "fsim_c": 1.0}
    values = [_measure(a, _noisy(a, sigma), ["fsim"])["fsim"] for sigma in (3, 10, 25, 60)]
    assert values == sorted(values, reverse=True) and values[0] < 1
    swapped = _measure(a, a[..., ::-1], ["fsim"])  # colours changed far more than luminance
    assert swapped["fsim_c"] < swapped["fsim"] - 0.01
    gray = photo("camera")[:200, :200]
    noisy = _noisy(gray, 10)
    gray_values = _measure(gray, noisy, ["fsim"])
    assert gray_values["fsim"] == gray_values["fsim_c"]


def test_fsim_of_flat_images():
    flat = np.full((40, 50), 120, np.uint8)
    other = _measure(flat, flat + 40, ["fsim"])["fsim"]  # no features: unweighted mean
    assert 0 < other < 1 and other == pytest.approx(_measure(flat + 40, flat, ["fsim"])["fsim"])
    textured = photo("astronaut")[100:228, 100:228]
    against_flat = _measure(textured, np.full_like(textured, 120), ["fsim"])["fsim"]
    assert against_flat < 0.5 and against_flat < _measure(textured, _noisy(textured, 60), ["fsim"])["fsim"]


def test_gradient_metrics_take_one_channel_and_masks():
    rng = np.random.default_rng(3)
    a = rng.random((48, 64, 1)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1).astype(np.float32)
    mask = np.zeros((48, 64), bool)
    mask[:, :32] = True
    c = b.copy()
    c[:, 32:] = 0  # differs from b only where the mask ignores
    for name in ("edges", "gmsd", "fsim"):
        metric = available_metrics()[name]
        with_b = metric.compute(FeaturePair(Features(a), Features(b), mask), MetricOptions())
        with_c = metric.compute(FeaturePair(Features(a), Features(c), mask), MetricOptions())
        assert with_b == with_c, name
