"""Structure seen through gradients: edge maps, GMSD and FSIM.

``edges`` compares where the edges are; GMSD and FSIM are full-reference quality indices
built on gradient magnitude (FSIM adds phase congruency). GMSD and FSIM follow their
authors' MATLAB code, including its zero-padded borders and downsampling, on imgdelta's
BT.601 luminance scaled to 0..255 where a constant depends on the scale.

Pixels a mask ignores take the first image's values in the second before any filtering,
so no window carries their content into the kept pixels; the figures are then taken over
the kept pixels (of the reduced grid, where one is used: a reduced pixel counts when any
input pixel under it is kept).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..features import FeaturePair
from . import Figure, MetricOptions, register

#: ``cv2.Canny`` hysteresis thresholds on the 8-bit luminance (L1 gradient of the 3x3
#: Sobel): a step of 25 levels starts a weak edge, 50 a strong one.
CANNY_LOW = 100
CANNY_HIGH = 200

#: GMSD's stability constant: T = 170 on 0..255 data (Xue et al. 2014), 170 / 255^2 on [0, 1].
GMSD_T = 170 / 255**2

#: FSIM's constants (Zhang et al. 2011) on 0..255 data: phase congruency and gradient
#: similarity (T1, T2), and for FSIMc the I and Q similarity (T3, T4) and its exponent.
FSIM_T1 = 0.85
FSIM_T2 = 160.0
FSIM_T3 = 200.0
FSIM_T4 = 200.0
FSIM_LAMBDA = 0.03
#: Phase congruency (Kovesi 1999, as FSIM's code sets it): log-Gabor filters of 4 scales
#: and 4 orientations, the smallest of wavelength 6 pixels, each next twice as long.
PC_SCALES = 4
PC_ORIENTATIONS = 4
PC_MIN_WAVELENGTH = 6.0
PC_MULT = 2.0
PC_SIGMA_ON_F = 0.55
PC_D_THETA_ON_SIGMA = 1.2
PC_NOISE_K = 2.0
PC_EPSILON = 1e-4


def _filled(pair: FeaturePair, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``b`` with the pixels the mask ignores taken from ``a``."""
    if pair.mask is None:
        return b
    mask = pair.mask if b.ndim == 2 else pair.mask[:, :, None]
    return np.where(mask, b, a)


# -- edges ------------------------------------------------------------------------------


def edge_map(luma8: np.ndarray) -> np.ndarray:
    """Canny edges of an 8-bit luminance: uint8 (H, W), 255 on edges, 0 elsewhere.

    ``cv2.Canny(luma8, CANNY_LOW, CANNY_HIGH)``: 3x3 Sobel, L1 gradient, no prior blur.
    """
    import cv2

    return cv2.Canny(np.ascontiguousarray(luma8), CANNY_LOW, CANNY_HIGH)


@register(
    "edges",
    kind="distance",
    lower=0.0,
    upper=1.0,
    identical=0.0,
    summary="share of edge pixels (Canny) with no edge within 1 pixel in the other image",
    reference="Canny 1986, cv2.Canny(luma8, 100, 200); nearby edges: cv2.dilate with a 3x3 square",
    figures={
        "lost": Figure(
            kind="distance", lower=0.0, upper=1.0, identical=0.0, summary="share of A's edge pixels gone from B", symmetric=False
        ),
        "new": Figure(kind="distance", lower=0.0, upper=1.0, identical=0.0, summary="share of B's edge pixels not in A", symmetric=False),
    },
)
def edge_change(pair: FeaturePair, options: MetricOptions) -> dict[str, float]:
    """Share of edges that moved, tolerant of a one-pixel shift.

    Edges are :func:`edge_map` of each image's 8-bit luminance. An edge pixel of one image
    is matched when the other has an edge pixel among its 8 neighbours or itself (the
    other map dilated by a 3x3 square). ``edges = (lost + new) / (edges in A + edges in
    B)``, where ``lost`` counts A's unmatched edge pixels and ``new`` B's; ``edges_lost``
    is lost / edges in A and ``edges_new`` new / edges in B (each 0 when there are no
    edges to lose or gain). Range 0 to 1; distance, 0 on identical images, also when
    neither image has an edge.
    """
    import cv2

    a8 = pair.a.luma8
    edges_a = edge_map(a8)
    edges_b = edge_map(_filled(pair, a8, pair.b.luma8))
    square = np.ones((3, 3), np.uint8)
    lost_map = cv2.subtract(edges_a, cv2.dilate(edges_b, square))
    new_map = cv2.subtract(edges_b, cv2.dilate(edges_a, square))
    maps = [edges_a, edges_b, lost_map, new_map]
    if pair.mask is not None:
        keep = pair.mask.astype(np.uint8) * np.uint8(255)
        maps = [cv2.bitwise_and(m, keep) for m in maps]
    count_a, count_b, lost, new = (cv2.countNonZero(m) for m in maps)
    return {
        "edges": (lost + new) / (count_a + count_b) if count_a + count_b else 0.0,
        "edges_lost": lost / count_a if count_a else 0.0,
        "edges_new": new / count_b if count_b else 0.0,
    }


# -- shared pieces of GMSD and FSIM ------------------------------------------------------


def _box_reduce(values: np.ndarray, factor: int) -> np.ndarray:
    """MATLAB's ``conv2(x, ones(F)/F^2, 'same')`` sampled at ``(1:F:end, 1:F:end)``, float32.

    Sample k averages the F x F block starting ``ceil(F / 2) - 1`` before k F, zeros
    outside the image (so border samples are darker), as GMSD's and FSIM's code do.
    ``values`` is (H, W) or (H, W, C); the result has ceil(H / F) x ceil(W / F) pixels.
    """
    import cv2

    values = np.ascontiguousarray(values, dtype=np.float32)
    if factor == 1:
        return values
    before = (factor + 1) // 2 - 1
    height, width = values.shape[:2]
    rows, cols = -(-height // factor), -(-width // factor)
    bottom = rows * factor - height - before
    right = cols * factor - width - before
    # blocks past the last sample are never read: drop the rows and columns they would hold
    values = values[: height + min(bottom, 0), : width + min(right, 0)]
    if before or bottom > 0 or right > 0:
        values = cv2.copyMakeBorder(values, before, max(bottom, 0), before, max(right, 0), cv2.BORDER_CONSTANT, value=0)
    # an area reduction by a whole factor averages exactly the F x F blocks
    return cv2.resize(values, (cols, rows), interpolation=cv2.INTER_AREA)


def _reduce_mask(mask: np.ndarray, factor: int) -> np.ndarray:
    """The reduced pixels of :func:`_box_reduce` with any kept input pixel under them."""
    return _box_reduce(mask.astype(np.float32), factor) > 0


def _correlate_same(values: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """3x3 filtering with zeros outside, as MATLAB's ``conv2(x, k, 'same')`` up to the sign.

    OpenCV correlates where MATLAB convolves; for the antisymmetric gradient kernels used
    here that flips the sign of the result, which the gradient magnitude ignores.
    """
    import cv2

    return cv2.filter2D(values, cv2.CV_32F, kernel.astype(np.float32), borderType=cv2.BORDER_CONSTANT)


def _gradient_magnitude(values: np.ndarray, kernel_x: np.ndarray) -> np.ndarray:
    gx = _correlate_same(values, kernel_x)
    gy = _correlate_same(values, np.ascontiguousarray(kernel_x.T))
    return np.sqrt(gx * gx + gy * gy)


def _similarity(x: np.ndarray, y: np.ndarray, c: float) -> np.ndarray:
    """``(2 x y + c) / (x^2 + y^2 + c)``, the similarity form GMSD and FSIM share."""
    c = np.float32(c)
    return (np.float32(2) * x * y + c) / (x * x + y * y + c)


# -- GMSD -------------------------------------------------------------------------------

#: Prewitt kernel for d/dx, as in GMSD's code: [1 0 -1] in each row, over 3.
PREWITT_X = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], np.float64) / 3


def gms_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """GMSD's gradient magnitude similarity map of two luminances in [0, 1], float32.

    Each image is averaged over 2x2 blocks and halved (:func:`_box_reduce`); gradients are
    Prewitt's (zeros outside); ``GMS = (2 m_a m_b + T) / (m_a^2 + m_b^2 + T)``, T = 170 / 255^2.
    The map has half the input's size, rounded up.
    """
    a = _box_reduce(np.asarray(a, np.float32), 2)
    b = _box_reduce(np.asarray(b, np.float32), 2)
    return _similarity(_gradient_magnitude(a, PREWITT_X), _gradient_magnitude(b, PREWITT_X), GMSD_T)


@register(
    "gmsd",
    kind="distance",
    lower=0.0,
    upper=1.0,
    identical=0.0,
    summary="gradient magnitude similarity deviation of luminance (std of the GMS map)",
    reference="Xue, Zhang, Mou, Bovik 2014, the authors' GMSD.m (T = 170 on 0..255, 2x2 average, Prewitt)",
)
def gradient_magnitude_similarity_deviation(pair: FeaturePair, options: MetricOptions) -> float:
    """Standard deviation of the gradient magnitude similarity map (:func:`gms_map`).

    ``GMSD = std(GMS)`` with N - 1 in the denominator, as MATLAB's ``std2``; 0 when the map
    has a single value. GMS lies in (0, 1], so GMSD lies in [0, 1) (at most sqrt(1/2)).
    Distance, lower is better: 0 on identical images, and on images whose gradients are
    uniformly (dis)similar everywhere.
    """
    a = pair.a.luma
    similarity = gms_map(a, _filled(pair, a, pair.b.luma))
    if pair.mask is not None:
        similarity = similarity[_reduce_mask(pair.mask, 2)]
    values = similarity.ravel()
    if values.size < 2:
        return 0.0
    return float(np.std(values, dtype=np.float64, ddof=1))


# -- FSIM -------------------------------------------------------------------------------

#: Scharr-like kernel for d/dx, as in FSIM's code: [3 0 -3; 10 0 -10; 3 0 -3] / 16.
SCHARR_X = np.array([[3, 0, -3], [10, 0, -10], [3, 0, -3]], np.float64) / 16


def fsim_factor(shape: tuple[int, int]) -> int:
    """FSIM's reduction factor: max(1, round(min(H, W) / 256)), halves rounded up."""
    return max(1, math.floor(min(shape) / 256 + 0.5))


def _frequency_grid(size: int) -> np.ndarray:
    """Frequencies of FSIM's filter grid along one axis, in cycles per pixel, origin first.

    The grid of the authors' code: [-n/2, n/2) / n for even n and [-(n-1)/2, (n-1)/2] /
    (n - 1) for odd n, quadrant-shifted so that frequency 0 comes first.
    """
    if size % 2:
        values = np.arange(-(size - 1) / 2, (size - 1) / 2 + 1) / max(size - 1, 1)
    else:
        values = np.arange(-size / 2, size / 2) / size
    return np.fft.ifftshift(values)


@dataclass(frozen=True)
class LogGaborBank:
    """FSIM's phase congruency filters for one image size, and their noise response.

    ``filters`` holds the log-Gabor filters in the frequency domain, float32
    (orientations, scales, H, W); ``noise_gain`` per orientation turns the square root of
    the smallest scale's median squared response into Kovesi's noise threshold.
    """

    filters: np.ndarray
    noise_gain: np.ndarray

    def thresholds(self, median_energy: np.ndarray) -> np.ndarray:
        """Noise threshold T per orientation from the median of |response|^2 at the smallest scale."""
        return np.sqrt(median_energy / math.log(2)) * self.noise_gain


def log_gabor_bank(shape: tuple[int, int]) -> LogGaborBank:
    """The filters of ``phasecong2`` in FSIM's code for an (H, W) image.

    Radial part: ``exp(-log(r / f0)^2 / (2 log(0.55)^2))`` at centre frequencies f0 =
    1 / (6 * 2^s), times a Butterworth low pass (cut-off 0.45, order 15), 0 at frequency 0.
    Angular part: a Gaussian of the angle to orientation o pi / 4, sigma pi / 4 / 1.2.

    Noise (Kovesi): with noise power P = mean(|EO_1|^2) / sum(F_1^2) (the mean estimated
    as median / log 2) and g_s the spatial filters (real part of the inverse transform,
    times sqrt(H W)), the noise energy has a Rayleigh parameter
    ``tau = sqrt((2 P sum g_s^2 + 4 P sum_{i<j} g_i g_j) / 2)`` and the threshold is
    ``(tau sqrt(pi / 2) + 2 tau sqrt(2 - pi / 2)) / 1.7``. The sums over g are taken in the
    frequency domain: by Parseval's theorem, sum g_i g_j equals the sum of the products of
    the filters' even parts ``(F(k) + F(-k)) / 2``.
    """
    rows, cols = shape
    x = _frequency_grid(cols)[None, :]
    y = _frequency_grid(rows)[:, None]
    radius = np.sqrt(x * x + y * y)
    theta = np.arctan2(-y, x)
    radius[0, 0] = 1.0  # frequency 0: log(0) is avoided and the filters are zeroed there
    low_pass = 1.0 / (1.0 + (radius / 0.45) ** 30)
    log_sigma = 2 * math.log(PC_SIGMA_ON_F) ** 2
    radial = []
    for scale in range(PC_SCALES):
        centre = 1.0 / (PC_MIN_WAVELENGTH * PC_MULT**scale)
        gabor = np.exp(-(np.log(radius / centre) ** 2) / log_sigma) * low_pass
        gabor[0, 0] = 0.0
        radial.append(gabor)
    theta_sigma = math.pi / PC_ORIENTATIONS / PC_D_THETA_ON_SIGMA
    sin_theta, cos_theta = np.sin(theta), np.cos(theta)
    negative_rows = -np.arange(rows) % rows
    negative_cols = -np.arange(cols) % cols
    filters = np.empty((PC_ORIENTATIONS, PC_SCALES, rows, cols), np.float32)
    gain = np.zeros(PC_ORIENTATIONS)
    for o in range(PC_ORIENTATIONS):
        angle = o * math.pi / PC_ORIENTATIONS
        ds = sin_theta * math.cos(angle) - cos_theta * math.sin(angle)
        dc = cos_theta * math.cos(angle) + sin_theta * math.sin(angle)
        spread = np.exp(-(np.arctan2(ds, dc) ** 2) / (2 * theta_sigma**2))
        oriented = np.stack([r * spread for r in radial])
        filters[o] = oriented
        even = 0.5 * (oriented + oriented[:, negative_rows][:, :, negative_cols])
        total = even.sum(axis=0)
        squares = float(np.sum(even * even))
        cross = 0.5 * (float(np.sum(total * total)) - squares)  # sum over pairs i < j
        power = float(np.sum(oriented[0] * oriented[0]))
        if power > 0:  # tiny images can leave the smallest filter empty: no threshold
            tau = math.sqrt((2 * squares + 4 * cross) / (2 * power))
            gain[o] = tau * (math.sqrt(math.pi / 2) + PC_NOISE_K * math.sqrt(2 - math.pi / 2)) / 1.7
    return LogGaborBank(filters, gain)


def phase_congruency(values: np.ndarray, bank: LogGaborBank | None = None) -> np.ndarray:
    """Phase congruency of a 2-D array (Kovesi 1999, ``phasecong2`` of FSIM's code), float32.

    Log-Gabor quadrature filters (:data:`PC_SCALES` scales x :data:`PC_ORIENTATIONS`
    orientations) are applied by FFT. Per orientation, the energy
    ``sum_s (E_s cos(phi_s - phi) - |O_s sin(phi_s - phi)|)`` along the mean phase, less a
    noise threshold estimated from the smallest scale, is summed and divided by the summed
    amplitudes: 0 where nothing lines up, close to 1 on a clean step or line. Flat regions
    (no response at all) give 0. ``bank`` is :func:`log_gabor_bank` of the array's shape.
    """
    from scipy import fft

    values = np.asarray(values, np.float32)
    rows, cols = values.shape
    if bank is None:
        bank = log_gabor_bank((rows, cols))
    # the filters are 0 at frequency 0, so the mean is irrelevant; removing it makes a
    # flat image exactly 0 instead of rounding noise
    spectrum = fft.fft2(values - np.float32(values.mean(dtype=np.float64)), workers=-1)
    filters = bank.filters
    energy = np.zeros((rows, cols), np.float32)
    total_amplitude = np.zeros((rows, cols), np.float32)
    median_energy = np.empty(PC_ORIENTATIONS)
    oriented = []
    for o in range(PC_ORIENTATIONS):  # one orientation at a time bounds the memory
        responses = fft.ifft2(spectrum[None] * filters[o], workers=-1)  # (scales, H, W)
        even, odd = responses.real, responses.imag
        amplitude = np.abs(responses)
        total_amplitude += amplitude.sum(axis=0)
        sum_even = even.sum(axis=0)
        sum_odd = odd.sum(axis=0)
        norm = np.sqrt(sum_even * sum_even + sum_odd * sum_odd) + np.float32(PC_EPSILON)
        mean_even = sum_even / norm
        mean_odd = sum_odd / norm
        oriented.append((even * mean_even + odd * mean_odd - np.abs(even * mean_odd - odd * mean_even)).sum(axis=0))
        median_energy[o] = np.median(amplitude[0] ** 2)
    thresholds = bank.thresholds(median_energy)
    for o in range(PC_ORIENTATIONS):
        energy += np.maximum(oriented[o] - np.float32(thresholds[o]), np.float32(0))
    out = np.zeros((rows, cols), np.float32)
    np.divide(energy, total_amplitude, out=out, where=total_amplitude > 0)
    return out


def _yiq(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Y, I, Q on 0..255 (FSIM's code's weights), float32; I and Q are None for gray."""
    f32 = np.float32
    if pixels.ndim == 2 or pixels.shape[2] == 1:
        return pixels.reshape(pixels.shape[:2]) * f32(255), None, None
    r, g, b = pixels[:, :, 0] * f32(255), pixels[:, :, 1] * f32(255), pixels[:, :, 2] * f32(255)
    y = f32(0.299) * r + f32(0.587) * g + f32(0.114) * b
    i = f32(0.596) * r - f32(0.274) * g - f32(0.322) * b
    q = f32(0.211) * r - f32(0.523) * g + f32(0.312) * b
    return y, i, q


@register(
    "fsim",
    kind="similarity",
    lower=0.0,
    upper=1.0,
    identical=1.0,
    summary="feature similarity of luminance: phase congruency and gradient magnitude",
    reference="Zhang, Zhang, Mou, Zhang 2011, the authors' FeatureSIM.m (phase congruency: Kovesi 1999)",
    figures={
        "c": Figure(
            kind="similarity", lower=0.0, upper=1.0, identical=1.0, summary="FSIMc: FSIM with the chromatic I and Q channels (YIQ)"
        )
    },
)
def feature_similarity(pair: FeaturePair, options: MetricOptions) -> dict[str, float]:
    """FSIM: gradient and phase congruency similarity, weighted by phase congruency.

    As the authors' code: Y = 0.299 R + 0.587 G + 0.114 B on 0..255, reduced by F = max(1,
    round(min(H, W) / 256)) (:func:`_box_reduce`); phase congruency PC (:func:`phase_congruency`)
    and gradient magnitude G (kernel [3 0 -3; 10 0 -10; 3 0 -3] / 16, zeros outside) of each;
    ``S = S_PC S_G`` with ``S_PC = (2 PC1 PC2 + 0.85) / (PC1^2 + PC2^2 + 0.85)`` and
    ``S_G = (2 G1 G2 + 160) / (G1^2 + G2^2 + 160)``; ``FSIM = sum(S PCm) / sum(PCm)``,
    PCm = max(PC1, PC2). ``fsim_c`` (FSIMc) also weighs the I and Q channels:
    ``S (S_I S_Q)^0.03`` with constants 200 (real part of the power, as the code takes it);
    on gray images it equals FSIM. When neither image has any phase congruency (flat
    images) the weights vanish, and the unweighted mean of S is reported instead.
    Range 0 to 1; similarity, 1 on identical images.
    """
    if pair.identical:
        return {"fsim": 1.0, "fsim_c": 1.0}
    pixels_a = pair.a.pixels
    pixels_b = _filled(pair, pixels_a, pair.b.pixels)
    factor = fsim_factor(pair.a.shape)
    # the colour transform is linear: reducing first is the same and far cheaper
    y1, i1, q1 = _yiq(_box_reduce(pixels_a, factor))
    y2, i2, q2 = _yiq(_box_reduce(pixels_b, factor))
    bank = log_gabor_bank(y1.shape)
    pc1 = phase_congruency(y1, bank)
    pc2 = phase_congruency(y2, bank)
    similarity = _similarity(pc1, pc2, FSIM_T1) * _similarity(_gradient_magnitude(y1, SCHARR_X), _gradient_magnitude(y2, SCHARR_X), FSIM_T2)
    weight = np.maximum(pc1, pc2)
    if i1 is not None:
        chroma = _similarity(i1, i2, FSIM_T3) * _similarity(q1, q2, FSIM_T4)
        # MATLAB's real((x)^0.03) for x < 0 is |x|^0.03 cos(0.03 pi)
        power = np.abs(chroma) ** np.float32(FSIM_LAMBDA)
        chroma_factor = np.where(chroma < 0, power * np.float32(math.cos(math.pi * FSIM_LAMBDA)), power)
        similarity_c = similarity * chroma_factor
    else:
        similarity_c = similarity
    if pair.mask is not None:
        kept = _reduce_mask(pair.mask, factor)
        similarity, similarity_c, weight = similarity[kept], similarity_c[kept], weight[kept]
    total = float(np.sum(weight, dtype=np.float64))
    if total == 0.0:
        return {"fsim": float(np.mean(similarity, dtype=np.float64)), "fsim_c": float(np.mean(similarity_c, dtype=np.float64))}

    def weighted(values: np.ndarray) -> float:
        return min(1.0, max(0.0, float(np.sum(values * weight, dtype=np.float64)) / total))

    return {"fsim": weighted(similarity), "fsim_c": weighted(similarity_c)}
