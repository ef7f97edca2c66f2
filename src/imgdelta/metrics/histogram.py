"""Distances between luminance distributions: OpenCV's compareHist family and the EMD.

Histograms have 256 bins of the 8-bit luminance and are normalised to sum 1 before
comparison, so values do not depend on the image size. Each formula is OpenCV's
``compareHist`` on those normalised histograms, including its guards for empty bins.
"""

from __future__ import annotations

import math

import numpy as np

from ..features import FeaturePair
from . import MetricOptions, register

_DBL_EPSILON = float(np.finfo(np.float64).eps)
_FLT_EPSILON = float(np.finfo(np.float32).eps)


def _counts(pair: FeaturePair) -> tuple[np.ndarray, np.ndarray]:
    if pair.mask is None:
        return pair.a.luma_histogram, pair.b.luma_histogram
    counts_a = np.bincount(pair.a.luma8[pair.mask], minlength=256).astype(np.float64)
    counts_b = np.bincount(pair.b.luma8[pair.mask], minlength=256).astype(np.float64)
    return counts_a, counts_b


def _histograms(pair: FeaturePair) -> tuple[np.ndarray, np.ndarray]:
    counts_a, counts_b = _counts(pair)
    return counts_a / counts_a.sum(), counts_b / counts_b.sum()


@register(
    "hist_correlation",
    kind="similarity",
    lower=-1.0,
    upper=1.0,
    identical=1.0,
    summary="correlation of the luminance histograms",
    reference="cv2.compareHist(..., cv2.HISTCMP_CORREL)",
)
def histogram_correlation(pair: FeaturePair, options: MetricOptions) -> float:
    h1, h2 = _histograms(pair)
    d1, d2 = h1 - h1.mean(), h2 - h2.mean()
    squares = float(np.dot(d1, d1)) * float(np.dot(d2, d2))
    # OpenCV's convention when a histogram has no spread: call it a perfect match
    return float(np.dot(d1, d2)) / math.sqrt(squares) if abs(squares) > _DBL_EPSILON else 1.0


@register(
    "hist_chi2",
    kind="distance",
    lower=0.0,
    upper=math.inf,
    identical=0.0,
    summary="chi-square distance of luminance histograms, sum((h1 - h2)^2 / h1)",
    reference="cv2.compareHist(..., cv2.HISTCMP_CHISQR)",
    symmetric=False,
)
def histogram_chi_square(pair: FeaturePair, options: MetricOptions) -> float:
    h1, h2 = _histograms(pair)
    used = np.abs(h1) > _DBL_EPSILON
    return float(np.sum((h1[used] - h2[used]) ** 2 / h1[used]))


@register(
    "hist_intersection",
    kind="similarity",
    lower=0.0,
    upper=1.0,
    identical=1.0,
    summary="intersection of luminance histograms, sum(min(h1, h2))",
    reference="cv2.compareHist(..., cv2.HISTCMP_INTERSECT) on histograms normalised to sum 1",
)
def histogram_intersection(pair: FeaturePair, options: MetricOptions) -> float:
    # both images count the same pixels, so summing whole counts first keeps 1.0 exact
    counts_a, counts_b = _counts(pair)
    return float(np.minimum(counts_a, counts_b).sum()) / float(counts_a.sum())


@register(
    "hist_bhattacharyya",
    kind="distance",
    lower=0.0,
    upper=1.0,
    identical=0.0,
    summary="Bhattacharyya (Hellinger) distance of luminance histograms",
    reference="cv2.compareHist(..., cv2.HISTCMP_BHATTACHARYYA)",
)
def histogram_bhattacharyya(pair: FeaturePair, options: MetricOptions) -> float:
    h1, h2 = _histograms(pair)
    total = float(h1.sum() * h2.sum())
    scale = 1.0 / math.sqrt(total) if abs(total) > _FLT_EPSILON else 1.0
    return math.sqrt(max(1.0 - float(np.sqrt(h1 * h2).sum()) * scale, 0.0))


@register(
    "hist_kl",
    kind="distance",
    lower=0.0,
    upper=math.inf,
    identical=0.0,
    summary="Kullback-Leibler divergence of the second luminance histogram from the first",
    reference="cv2.compareHist(..., cv2.HISTCMP_KL_DIV): sum(h1 log(h1 / h2)), empty h2 bins as 1e-10",
    symmetric=False,
)
def histogram_kl_divergence(pair: FeaturePair, options: MetricOptions) -> float:
    h1, h2 = _histograms(pair)
    used = np.abs(h1) > _DBL_EPSILON
    p = h1[used]
    q = np.where(np.abs(h2[used]) > _DBL_EPSILON, h2[used], 1e-10)
    return float(np.sum(p * np.log(p / q)))


@register(
    "emd",
    kind="distance",
    lower=0.0,
    upper=1.0,
    identical=0.0,
    summary="earth mover's (1-D Wasserstein) distance between the luminance values",
    reference="scipy.stats.wasserstein_distance of the two sets of luminance values",
)
def earth_movers_distance(pair: FeaturePair, options: MetricOptions) -> float:
    # both sets have one value per counted pixel, so the optimal transport pairs the
    # sorted values in order
    u = np.sort(pair.masked(pair.a.luma), axis=None)
    v = np.sort(pair.masked(pair.b.luma), axis=None)
    return float(np.mean(np.abs(u - v), dtype=np.float64))
