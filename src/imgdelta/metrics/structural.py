"""Structure: SSIM and the correlation of luminance."""

from __future__ import annotations

import numpy as np

from ..features import FeaturePair
from . import MetricOptions, register

#: Wang et al. 2004 constants on a data range of 1.
SSIM_K1 = 0.01
SSIM_K2 = 0.03
SSIM_SIGMA = 1.5
#: scipy.ndimage's truncate=3.5 at sigma 1.5 gives a radius of int(3.5 * 1.5 + 0.5) = 5.
SSIM_RADIUS = 5


def _ssim_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """SSIM map of float32 rows, without the ``SSIM_RADIUS`` border on every side.

    The inputs are shifted to be centred on 0 before the second moments are filtered: the
    variances subtract nearly equal numbers, and in float32 that costs accuracy next to
    C2 = 9e-4 unless the numbers are small.
    """
    import cv2

    size = 2 * SSIM_RADIUS + 1
    pad = SSIM_RADIUS

    def blur(values: np.ndarray, dst: np.ndarray | None = None) -> np.ndarray:
        return cv2.GaussianBlur(values, (size, size), SSIM_SIGMA, dst=dst, sigmaY=SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)

    # Contiguous OpenCV operations throughout, cropping only the final map: this loop is
    # bound by memory traffic, and strided views or NumPy temporaries double its time.
    xc = cv2.subtract(x, 0.5)
    yc = cv2.subtract(y, 0.5)
    sigma_x2 = cv2.multiply(xc, xc)
    sigma_y2 = cv2.multiply(yc, yc)
    sigma_xy = cv2.multiply(xc, yc)
    blur(sigma_x2, sigma_x2)
    blur(sigma_y2, sigma_y2)
    blur(sigma_xy, sigma_xy)
    mu_x = blur(xc)
    mu_y = blur(yc)
    # from here on xc and yc are scratch space
    c1 = SSIM_K1**2
    c2 = SSIM_K2**2
    # centred second moments minus squared centred means: variances and covariance
    cv2.subtract(sigma_x2, cv2.multiply(mu_x, mu_x, dst=xc), dst=sigma_x2)
    cv2.subtract(sigma_y2, cv2.multiply(mu_y, mu_y, dst=yc), dst=sigma_y2)
    cv2.subtract(sigma_xy, cv2.multiply(mu_x, mu_y, dst=xc), dst=sigma_xy)
    cv2.add(mu_x, 0.5, dst=mu_x)
    cv2.add(mu_y, 0.5, dst=mu_y)
    numerator = cv2.addWeighted(cv2.multiply(mu_x, mu_y, dst=xc), 2.0, xc, 0.0, c1, dst=xc)
    cv2.multiply(numerator, cv2.addWeighted(sigma_xy, 2.0, sigma_xy, 0.0, c2, dst=sigma_xy), dst=numerator)
    cv2.multiply(mu_x, mu_x, dst=mu_x)
    cv2.multiply(mu_y, mu_y, dst=mu_y)
    denominator = cv2.addWeighted(mu_x, 1.0, mu_y, 1.0, c1, dst=mu_x)
    cv2.multiply(denominator, cv2.addWeighted(sigma_x2, 1.0, sigma_y2, 1.0, c2, dst=sigma_x2), dst=denominator)
    return cv2.divide(numerator, denominator, dst=numerator)[pad:-pad, pad:-pad]


def _as_rows(values: np.ndarray) -> np.ndarray:
    values = np.ascontiguousarray(values, dtype=np.float32)
    if min(values.shape) <= 2 * SSIM_RADIUS:
        # too small for a valid region: measure the whole image, borders reflected
        values = np.pad(values, SSIM_RADIUS, mode="symmetric")
    return values


def ssim_map(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Local SSIM of two 2-D arrays in [0, 1], over the region the window fits in.

    Gaussian window (sigma 1.5, truncated at 3.5 sigma: 11x11), population covariances,
    K1 = 0.01, K2 = 0.03, L = 1:
    ``SSIM = (2 mu_x mu_y + C1)(2 sigma_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2))``.
    The map excludes a border of 5 pixels, as scikit-image does before averaging; images
    narrower than the window are measured whole, their borders reflected.
    """
    return _ssim_rows(_as_rows(x), _as_rows(y))


def _valid_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The part of an image-sized mask that lies on :func:`ssim_map`'s valid region."""
    pad = SSIM_RADIUS
    if min(shape) <= 2 * pad:
        return mask
    return mask[pad:-pad, pad:-pad]


def ssim_mean(x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean of :func:`ssim_map`, over ``mask`` (bool, the image's shape) if given.

    Large images are cut into horizontal strips, each with the 5 rows of context the
    window needs, and measured on all cores; the strips' border rows fall outside the
    valid region, so the result equals the single-piece computation.
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    valid = _valid_mask(mask, x.shape) if mask is not None else None
    if valid is not None and not valid.any():
        valid = None  # the mask keeps only border pixels: measure the whole valid region
    x = _as_rows(x)
    y = _as_rows(y)
    pad = SSIM_RADIUS
    rows = x.shape[0] - 2 * pad
    workers = os.cpu_count() or 1
    # Strips of about 64 rows keep each temporary small enough for the allocator to reuse
    # freed memory instead of mapping fresh pages, whose faults would cost as much as the
    # arithmetic.
    pieces = max(1, rows // 64)
    bounds = [pad + rows * i // pieces for i in range(pieces + 1)]

    def measure(i: int) -> tuple[float, int]:
        top, bottom = bounds[i], bounds[i + 1]
        local = _ssim_rows(x[top - pad : bottom + pad], y[top - pad : bottom + pad])
        if valid is not None:
            local = local[valid[top - pad : bottom - pad]]
        return float(np.sum(local, dtype=np.float64)), int(local.size)

    if pieces == 1:
        results = [measure(0)]
    else:
        with ThreadPoolExecutor(min(workers, pieces)) as pool:
            results = list(pool.map(measure, range(pieces)))
    mean = sum(total for total, _ in results) / sum(n for _, n in results)
    # float32 filtering can overshoot by a few 1e-5 on near-black pairs; SSIM's bounds hold
    return min(max(mean, -1.0), 1.0)


@register(
    "ssim",
    kind="similarity",
    lower=-1.0,
    upper=1.0,
    identical=1.0,
    summary="structural similarity of luminance (Gaussian 11x11 window, sigma 1.5)",
    reference=(
        "Wang, Bovik, Sheikh, Simoncelli 2004; equals skimage.metrics.structural_similarity"
        "(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1)"
    ),
)
def structural_similarity(pair: FeaturePair, options: MetricOptions) -> float:
    if pair.identical:
        return 1.0
    return ssim_mean(pair.a.luma, pair.b.luma, pair.mask)


@register(
    "ncc",
    kind="similarity",
    lower=-1.0,
    upper=1.0,
    identical=1.0,
    summary="Pearson correlation of luminance (1 when both are flat and equal, 0 when one is flat)",
    reference="numpy.corrcoef of the luminance values",
)
def normalized_cross_correlation(pair: FeaturePair, options: MetricOptions) -> float:
    x = pair.masked(pair.a.luma64)
    y = pair.masked(pair.b.luma64)
    dx = x - x.mean()
    dy = y - y.mean()
    sxx = float(np.dot(dx.ravel(), dx.ravel()))
    syy = float(np.dot(dy.ravel(), dy.ravel()))
    if sxx == 0.0 or syy == 0.0:
        # correlation is undefined for a flat image; equal flat images are alike
        return 1.0 if sxx == syy and float(x.mean()) == float(y.mean()) else 0.0
    value = float(np.dot(dx.ravel(), dy.ravel())) / np.sqrt(sxx * syy)
    return float(min(1.0, max(-1.0, value)))
