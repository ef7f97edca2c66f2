"""Information shared by two images: normalised mutual information of their luminance."""

from __future__ import annotations

import numpy as np

from ..features import FeaturePair
from . import MetricOptions, register

#: Bins per image of the joint histogram: scikit-image's default.
NMI_BINS = 100


def _bin_indices(values: np.ndarray, bins: int) -> np.ndarray:
    """The bin of every value, as ``numpy.histogramdd(..., bins=bins)`` assigns it.

    Bins split [min, max] into equal parts (a flat array widens to [v - 0.5, v + 0.5]);
    each is closed on the left, and the maximum falls in the last bin. The bin is found by
    arithmetic and then corrected against NumPy's own edges, so values on an edge land
    where NumPy puts them.
    """
    # NumPy computes the edges in the values' own precision
    low, high = values.min(), values.max()
    if low == high:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, bins + 1)
    index = ((values - low) * values.dtype.type(bins / (high - low))).astype(np.int32)
    np.minimum(index, bins - 1, out=index)
    # the arithmetic may land one bin off next to an edge; NumPy's edges decide
    index -= values < edges[index]
    up = values >= edges[index + 1]
    up &= index < bins - 1
    index += up
    return index


def _entropy(counts: np.ndarray) -> float:
    """Shannon entropy (nats) of a histogram given as counts."""
    p = counts[counts > 0] / counts.sum()
    return float(-np.sum(p * np.log(p)))


def mutual_information_ratio(x: np.ndarray, y: np.ndarray, bins: int = NMI_BINS) -> float:
    """``(H(X) + H(Y)) / H(X, Y)`` of two equally long 1-D arrays, histograms of ``bins`` bins.

    Equals ``skimage.metrics.normalized_mutual_information(x, y, bins=bins)``. When both
    arrays are flat the ratio is 0 / 0; it is then 2 when they hold the same value and 1
    otherwise (no information to share).
    """
    joint = np.bincount(_bin_indices(x, bins) * bins + _bin_indices(y, bins), minlength=bins * bins)
    joint = joint.reshape(bins, bins).astype(np.float64)
    h_joint = _entropy(joint)
    if h_joint == 0.0:
        return 2.0 if float(x[0]) == float(y[0]) else 1.0
    h_x = _entropy(joint.sum(axis=1))
    h_y = _entropy(joint.sum(axis=0))
    # rounding can put the ratio a hair outside [1, 2], where it lies exactly
    return min(2.0, max(1.0, (h_x + h_y) / h_joint))


@register(
    "nmi",
    kind="similarity",
    lower=1.0,
    upper=2.0,
    identical=2.0,
    summary="normalised mutual information of luminance, (H(A) + H(B)) / H(A, B), 100 bins",
    reference=(
        "Studholme, Hill, Hawkes 1999; equals skimage.metrics.normalized_mutual_information"
        "(luma_a, luma_b, bins=100) on BT.601 luminance"
    ),
)
def normalized_mutual_information(pair: FeaturePair, options: MetricOptions) -> float:
    """Normalised mutual information of the two luminances.

    ``NMI = (H(A) + H(B)) / H(A, B)``, entropies of the marginal and joint histograms of
    100 x 100 equal bins spanning each image's own range of luminance (scikit-image's
    convention). Range 1 (independent) to 2 (each determines the other, as on identical
    images); similarity, higher is more alike. It depends on how values co-occur, not on
    the values themselves: an inverted or re-lit copy still scores near 2. Only the pixels
    a mask keeps are counted.
    """
    x = pair.masked(pair.a.luma).ravel()
    y = pair.masked(pair.b.luma).ravel()
    return mutual_information_ratio(x, y)
