"""Is a candidate pair the same picture? Aligned gradient correlation of 32x32 thumbnails.

Hashes find candidates; many are false (two sunsets, two overlapping crops of one photo).
The check compares the pair's thumbnails (see :mod:`.signature`) after undoing a crop of up
to 8 %, as the normalised correlation of their gradients:

1. *Views*: each thumbnail is resampled (area averaging) to 24x24 whole, and cropped to 96 %
   and 92 % of each side at nine anchor points (corners, edge middles, centre): 19 views.
2. *Features*: each view is smoothed (Gaussian, sigma 0.7 pixel) and its horizontal and
   vertical derivatives taken (central differences). Gradients, not grey levels: a smooth
   sky or a vignette correlates with any other smooth sky, its edges do not; brightness and
   contrast changes vanish in the normalisation.
3. *Score*: the cosine similarity (Pearson correlation) of the two feature vectors,
   maximised over one image's views against the other's whole view and the other way
   round: ``s = max(max_v <f_v(A), f_0(B)>, max_v <f_0(A), f_v(B)>)``, in [-1, 1], 1 when
   identical. A pair is the same picture when ``s >= threshold``.

Flat images (gradients under 0.5 grey level per pixel at 24x24) have no structure to
correlate: two flat images match when their mean brightness differs by at most 10 % of the
range; a flat image never matches one with structure.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .defaults import DEFAULT_THRESHOLD
from .signature import THUMB_SIDE

__all__ = ["DEFAULT_THRESHOLD", "VERIFY_SIDE", "pair_similarity", "similarity"]

#: Side of the views compared.
VERIFY_SIDE = 24
#: Kept fractions of each side and anchors of the views (1.0 is the whole thumbnail).
_SCALES = (1.0, 0.96, 0.92)
_ANCHORS = (0.0, 0.5, 1.0)
_SMOOTHING = 0.7
#: A view whose RMS gradient (grey levels per pixel) is below this is flat.
_FLAT_GRADIENT = 0.5
#: Two flat images match when their means differ by at most this share of 255.
_FLAT_MEAN = 0.10
_PAIRS_PER_STEP = 1024


def _area_matrix(start: float, length: float, size: int, source: int) -> np.ndarray:
    """(size, source) weights averaging ``[start, start + length)`` of ``source`` pixels into ``size``."""
    edges = start + length * np.arange(size + 1) / size
    pixels = np.arange(source)
    low = np.maximum(edges[:-1, None], pixels[None, :])
    high = np.minimum(edges[1:, None], pixels[None, :] + 1)
    weights = np.clip(high - low, 0.0, None)
    return weights / weights.sum(axis=1, keepdims=True)


def _gaussian_matrix(size: int, sigma: float) -> np.ndarray:
    """(size, size) Gaussian smoothing with reflected borders."""
    radius = int(np.ceil(3 * sigma))
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    matrix = np.zeros((size, size))
    for row in range(size):
        for offset, weight in zip(offsets, kernel):
            column = row + offset
            column = -column - 1 if column < 0 else 2 * size - column - 1 if column >= size else column
            matrix[row, column] += weight
    return matrix


@lru_cache(maxsize=None)
def _operators() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(smooth_y, derive_x, derive_y, smooth_x): per view, (24, 32) smoothing and (22, 32)
    derivative matrices along each axis, so that a view's horizontal gradient is
    ``smooth_y @ T @ derive_x.T`` and its vertical one ``derive_y @ T @ smooth_x.T`` for a
    thumbnail ``T``."""
    blur = _gaussian_matrix(VERIFY_SIDE, _SMOOTHING)
    difference = np.zeros((VERIFY_SIDE - 2, VERIFY_SIDE))
    difference[np.arange(VERIFY_SIDE - 2), np.arange(VERIFY_SIDE - 2)] = -0.5
    difference[np.arange(VERIFY_SIDE - 2), np.arange(2, VERIFY_SIDE)] = 0.5
    windows = [(1.0, 0.5)] + [(scale, anchor) for scale in _SCALES[1:] for anchor in _ANCHORS]
    axes = [(blur @ _area_matrix((THUMB_SIDE - THUMB_SIDE * s) * a, THUMB_SIDE * s, VERIFY_SIDE, THUMB_SIDE)) for s, a in windows]
    views = [(0, 0)] + [(1 + i * len(_ANCHORS) + x, 1 + i * len(_ANCHORS) + y) for i in range(len(_SCALES) - 1) for y in range(len(_ANCHORS)) for x in range(len(_ANCHORS))]
    smooth_y = np.stack([axes[y] for _, y in views])
    smooth_x = np.stack([axes[x] for x, _ in views])
    derive_y = np.stack([difference @ axes[y] for _, y in views])
    derive_x = np.stack([difference @ axes[x] for x, _ in views])
    return tuple(m.astype(np.float32) for m in (smooth_y, derive_x, derive_y, smooth_x))  # type: ignore[return-value]


def _features(thumbnails: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(unit feature vectors (n, views, f) float32, RMS gradient of the whole view (n,))."""
    smooth_y, derive_x, derive_y, smooth_x = _operators()
    t = thumbnails.astype(np.float32)[:, None]  # (n, 1, 32, 32), broadcast over the views
    horizontal = (smooth_y[None] @ t) @ derive_x.transpose(0, 2, 1)[None]  # (n, views, 24, 22)
    vertical = (derive_y[None] @ t) @ smooth_x.transpose(0, 2, 1)[None]  # (n, views, 22, 24)
    n, views = t.shape[0], smooth_y.shape[0]
    features = np.concatenate([horizontal.reshape(n, views, -1), vertical.reshape(n, views, -1)], axis=2)
    features -= features.mean(axis=2, keepdims=True)
    norms = np.sqrt(np.einsum("nvf,nvf->nv", features, features))[:, :, None]
    rms = norms[:, 0, 0] / np.sqrt(features.shape[2])
    features /= np.maximum(norms, np.float32(1e-6))
    return features, rms


def _scores(fa: np.ndarray, rms_a: np.ndarray, mean_a: np.ndarray, fb: np.ndarray, rms_b: np.ndarray, mean_b: np.ndarray) -> np.ndarray:
    a_views = np.einsum("pvf,pf->pv", fa, fb[:, 0])
    b_views = np.einsum("pf,pvf->pv", fa[:, 0], fb)
    score = np.maximum(a_views.max(axis=1), b_views.max(axis=1)).astype(np.float64)
    flat_a, flat_b = rms_a < _FLAT_GRADIENT, rms_b < _FLAT_GRADIENT
    close = np.abs(mean_a - mean_b) / 255.0 <= _FLAT_MEAN
    score = np.where(flat_a & flat_b, np.where(close, 1.0, 0.0), score)
    score = np.where(flat_a ^ flat_b, 0.0, score)
    return np.clip(score, -1.0, 1.0)


def similarity(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The similarity of each pair of thumbnails, in [-1, 1] (1: the same picture).

    Parameters
    ----------
    first, second : numpy.ndarray
        uint8 (n, THUMB_SIDE, THUMB_SIDE): pair ``i`` is ``first[i]`` and ``second[i]``.

    Returns
    -------
    numpy.ndarray
        float64 (n,).
    """
    first, second = np.asarray(first), np.asarray(second)
    if first.shape != second.shape or first.ndim != 3 or first.shape[1:] != (THUMB_SIDE, THUMB_SIDE):
        raise ValueError(f"expected two (n, {THUMB_SIDE}, {THUMB_SIDE}) thumbnail stacks, got {first.shape} and {second.shape}")
    count = first.shape[0]
    return pair_similarity(first, np.arange(count), second, np.arange(count))


def pair_similarity(first: np.ndarray, first_index: np.ndarray, second: np.ndarray, second_index: np.ndarray) -> np.ndarray:
    """``similarity(first[first_index], second[second_index])``, computing each image's
    views once per step however many pairs it is in.

    Parameters
    ----------
    first, second : numpy.ndarray
        uint8 (n, THUMB_SIDE, THUMB_SIDE) thumbnail stacks (they may be the same array).
    first_index, second_index : numpy.ndarray
        Integer (p,): the pairs.
    """
    first_index = np.asarray(first_index, dtype=np.int64)
    second_index = np.asarray(second_index, dtype=np.int64)
    scores = np.empty(first_index.shape[0], dtype=np.float64)
    for start in range(0, first_index.shape[0], _PAIRS_PER_STEP):
        stop = start + _PAIRS_PER_STEP
        parts = []
        for stack, index in ((first, first_index[start:stop]), (second, second_index[start:stop])):
            unique, where = np.unique(index, return_inverse=True)
            thumbs = stack[unique]
            features, rms = _features(thumbs)
            means = thumbs.mean(axis=(1, 2), dtype=np.float64)
            parts.append((features[where], rms[where], means[where]))
        scores[start:stop] = _scores(*parts[0], *parts[1])
    return scores
