"""Vectorised re-implementation of the ``pixelmatch`` mismatch classification.

pixelmatch was written by Mapbox (JavaScript) and ported to Python as the ``pixelmatch``
package. This module reproduces the classification of the Python package, version 0.4.0,
pixel for pixel: same mismatch count, same set of pixels reported as different, same set
reported as anti-aliasing, on every input. It only classifies; it draws no diff image.

The algorithm, per pixel position shared by images A and B:

1. Colour delta. Each RGBA pixel is composited over white when its alpha is below 255
   (``c' = 255 + (c - 255) * a / 255``), converted to YIQ, and the squared perceptual
   distance ``0.5053*dy*dy + 0.299*di*di + 0.1957*dq*dq`` is taken (Kotsarenko & Ramos,
   "Measuring perceived color difference using YIQ NTSC transmission color space in
   mobile applications", 2010). A pixel is over the threshold when that delta is strictly
   greater than ``35215 * threshold * threshold`` (35215 bounds the metric).
2. Anti-aliasing. A pixel over the threshold is not counted when it looks like
   anti-aliasing in A (judged against B) or in B (judged against A), following
   V. Vysniauskas, "Anti-aliased pixel and intensity slope detector", 2009: among its
   (up to 8) neighbours, visited column by column (x outer, y inner), it must have at
   most 2 neighbours of equal brightness (a pixel on the image border starts with one
   such "equal" already), at least one darker and one brighter neighbour; and the
   darkest or the brightest neighbour (the first one met in that visiting order when
   several tie) must have 3 or more identical RGBA neighbours (border again counting as
   one) in both images.

Only NumPy is used, and no Python loop runs over pixels. The work is arranged so that
most pixels never reach float64:

* byte-identical inputs return at once;
* a conservative uint8 screen drops pixels whose delta provably cannot exceed the
  threshold (see :func:`_screen_limit`), and the exact float64 delta -- evaluated with the
  package's own grouping of operations, so every rounding matches -- is computed only for
  the remaining pixels;
* the anti-aliasing test runs only on the pixels over the threshold, all of them at once,
  through fancy indexing of their 8 neighbours. When they are numerous, a whole-image
  map of "3+ identical neighbours in both images" is built first; candidates with no
  such neighbour cannot be anti-aliasing and are settled without computing any luma.
"""

from __future__ import annotations

import numpy as np

__all__ = ["classify", "mismatch_count"]

#: Label of a pixel whose colour delta does not exceed the threshold.
SAME = 0
#: Label of a pixel that counts as a mismatch.
DIFFERENT = 1
#: Label of a pixel over the threshold that was recognised as anti-aliasing (not counted).
ANTIALIASED = 2

# The package writes these constants as decimal literals; keeping the literals keeps the
# doubles, and with them every rounding, identical.
_Y_R, _Y_G, _Y_B = 0.29889531, 0.58662247, 0.11448223
_I_R, _I_G, _I_B = 0.59597799, 0.27417610, 0.32180189
_Q_R, _Q_G, _Q_B = 0.21147017, 0.52261711, 0.31114694
_W_Y, _W_I, _W_Q = 0.5053, 0.299, 0.1957
_MAX_YIQ_DELTA = 35215

# Neighbour offsets (dx, dy) in the package's visiting order: x outer, y inner. The order
# decides which neighbour wins a tie for darkest/brightest, so it must not change.
_DX = np.array([-1, -1, -1, 0, 0, 1, 1, 1], dtype=np.intp)
_DY = np.array([-1, 0, 1, -1, 1, -1, 0, 1], dtype=np.intp)

# Pixels handled per block: small enough that a block's temporaries stay in cache,
# large enough that per-block Python overhead is negligible.
_SCREEN_BLOCK = 1 << 16
_AA_BLOCK = 1 << 15
_SIBLING_BAND_PIXELS = 1 << 18
# Strategy switches, as "candidates * ratio > pixels" (see _run / _over_threshold). They
# only trade speed; every strategy gives identical results, and the tests force each.
_DENSE_DELTA_RATIO = 2
_SIBLING_MAP_RATIO = 64
_FULL_LUMA_RATIO = 9

# Alpha byte of a pixel seen as one native uint32 (endianness-independent).
_ALPHA_MASK_U32 = int(np.array([0, 0, 0, 255], dtype=np.uint8).view(np.uint32)[0])


def _cube_corner_delta() -> float:
    """Largest delta per unit squared channel difference: ``max over s in {-1, 1}^3`` of
    ``s.T @ M @ s``, where ``M`` is the quadratic form mapping an RGB difference to the
    (exact, real-valued) YIQ delta.

    The form is convex, so over the cube ``|d_c| <= m`` its maximum sits at a corner:
    ``delta(d) <= corner * m**2``. About 0.5416, reached by pure red against cyan.
    """
    ky = np.array([_Y_R, _Y_G, _Y_B])
    ki = np.array([_I_R, -_I_G, -_I_B])
    kq = np.array([_Q_R, -_Q_G, _Q_B])
    form = _W_Y * np.outer(ky, ky) + _W_I * np.outer(ki, ki) + _W_Q * np.outer(kq, kq)
    corners = np.array([[1, sg, sb] for sg in (-1, 1) for sb in (-1, 1)], dtype=float)
    return float(np.einsum("ki,ij,kj->k", corners, form, corners).max())


# Inflated slightly so that rounding in this constant cannot make the bound too tight.
_CORNER_DELTA = _cube_corner_delta() * (1.0 + 1e-6)


def _screen_limit(max_delta: float) -> int:
    """Largest per-channel absolute difference that provably stays within ``max_delta``.

    For two opaque pixels the delta is a convex quadratic form of the RGB difference, so
    a pair whose channels all differ by at most ``m`` has ``delta <= _CORNER_DELTA * m**2``.
    The float64 evaluation differs from the real value by well under 1e-9; the 1e-3
    margin absorbs that. Returns 0 when no difference is provably safe: pixels with equal
    RGB are then still skipped, which is exact because their float64 delta is 0.0.
    """
    budget = max_delta - 1e-3
    if budget <= 0.0:
        return 0
    return int(min(255, np.floor(np.sqrt(budget / _CORNER_DELTA))))


def _blended_channels(px: np.ndarray):
    """Float64 R, G, B (contiguous) of (n, 4) uint8 pixels composited over white.

    Blending an opaque pixel gives back its channels exactly (alpha 255 / 255 == 1.0 and
    ``255 + (c - 255) * 1.0 == c``), so blending everything would be exact too; skipping it
    when all pixels are opaque only saves time.
    """
    channels = [px[:, k].astype(np.float64) for k in range(3)]
    alpha = px[:, 3]
    if alpha.size and alpha.min() < 255:
        a = alpha / 255.0  # correctly rounded, like Python's ``a /= 255``
        for c in channels:
            c -= 255.0
            c *= a
            c += 255.0
    return channels


def _luma(px: np.ndarray) -> np.ndarray:
    """Y of YIQ of (n, 4) uint8 pixels, float64, with the package's rounding."""
    r, g, b = _blended_channels(px)
    r *= _Y_R
    g *= _Y_G
    b *= _Y_B
    r += g
    r += b
    return r


def _yiq(px: np.ndarray):
    r, g, b = _blended_channels(px)
    y = r * _Y_R
    y += g * _Y_G
    y += b * _Y_B
    i = r * _I_R
    i -= g * _I_G
    i -= b * _I_B
    q = r * _Q_R
    q -= g * _Q_G
    q += b * _Q_B
    return y, i, q


def _yiq_delta(pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    """Squared YIQ distance of paired (n, 4) uint8 pixels, bit-identical to the package.

    IEEE addition and multiplication are commutative but not associative, so only the
    grouping has to follow the package: ``(r*kr + g*kg) + b*kb`` for each of Y, I, Q and
    ``((0.5053*y)*y + (0.299*i)*i) + (0.1957*q)*q`` for the delta. NumPy performs each
    in-place step as one correctly rounded operation (no fused multiply-add), exactly
    like CPython.
    """
    ya, ia, qa = _yiq(pa)
    yb, ib, qb = _yiq(pb)
    ya -= yb
    ia -= ib
    qa -= qb
    delta = ya * _W_Y
    delta *= ya
    ia2 = ia * _W_I
    ia2 *= ia
    delta += ia2
    qa2 = qa * _W_Q
    qa2 *= qa
    delta += qa2
    return delta


def _over_threshold(a4: np.ndarray, b4: np.ndarray, max_delta: float) -> np.ndarray:
    """Flat indices (ascending) of the pixels whose colour delta exceeds ``max_delta``.

    ``a4``/``b4`` are (N, 4) uint8. Blocks are screened with cheap uint8 operations first;
    only pixels that are not provably below the threshold get the float64 delta.
    """
    limit = _screen_limit(max_delta)
    a32 = a4.view(np.uint32).reshape(-1)
    b32 = b4.view(np.uint32).reshape(-1)
    found = []
    for start in range(0, a32.size, _SCREEN_BLOCK):
        stop = min(start + _SCREEN_BLOCK, a32.size)
        xa, xb = a4[start:stop], b4[start:stop]
        absdiff = np.maximum(xa, xb)
        absdiff -= np.minimum(xa, xb)
        # One uint32 per pixel: non-zero when any channel differs by more than the limit.
        # The alpha byte is included on purpose; it can only add pixels, never drop one.
        big = (absdiff > limit).view(np.uint32).reshape(-1)
        both = a32[start:stop] & b32[start:stop]
        # The corner bound holds for opaque pairs only: blending with different alphas
        # can turn a small channel difference into a large one.
        translucent = (both & _ALPHA_MASK_U32) != _ALPHA_MASK_U32
        unsure = (big != 0) | translucent
        n_unsure = np.count_nonzero(unsure)
        if n_unsure == 0:
            continue
        if _DENSE_DELTA_RATIO * n_unsure > unsure.size:
            # Mostly undecided (low threshold, translucent images): gathering would cost
            # more than evaluating the whole block.
            hit = np.flatnonzero(_yiq_delta(xa, xb) > max_delta)
        else:
            unsure = np.flatnonzero(unsure)
            hit = unsure[_yiq_delta(xa[unsure], xb[unsure]) > max_delta]
        if hit.size:
            found.append(hit + start)
    if not found:
        return np.empty(0, dtype=np.intp)
    return np.concatenate(found).astype(np.intp, copy=False)


# Flat-index offsets of the 8 neighbours, in visiting order, are ``_DY * width + _DX``.
# Neighbours that fall outside the image are gathered with ``mode="clip"`` (top/bottom)
# or wrap onto the adjacent row (left/right); either way they read some valid pixel and
# are then masked out, which avoids padding copies of the whole image.


def _validity(pos: np.ndarray, height: int, width: int):
    """Per-neighbour validity masks (list of 8, visiting order) and border flags."""
    py, px = np.divmod(pos, width)
    left, right = px > 0, px < width - 1
    up, down = py > 0, py < height - 1
    cols = {-1: left, 0: None, 1: right}
    rows = {-1: up, 0: None, 1: down}
    valid = []
    for dx, dy in zip(_DX.tolist(), _DY.tolist()):
        c, r = cols[dx], rows[dy]
        valid.append(c if r is None else r if c is None else c & r)
    border = ~(left & right & up & down)
    return valid, border


def _many_siblings(pos: np.ndarray, a32, b32, height: int, width: int) -> np.ndarray:
    """Whether each flat position has 3+ identical RGBA neighbours in A *and* in B.

    The border flag counts as one, as in the package.
    """
    valid, border = _validity(pos, height, width)
    offsets = _DY * width + _DX
    result = np.ones(pos.shape, dtype=bool)
    for img in (a32, b32):
        centre = img[pos]
        count = border.astype(np.int8)
        for k in range(8):
            same = np.take(img, pos + offsets[k], mode="clip") == centre
            same &= valid[k]
            count += same
        result &= count > 2
    return result


def _luma_u32(pixels: np.ndarray) -> np.ndarray:
    """Luma of native-uint32 RGBA pixels (any shape); same doubles as :func:`_luma`."""
    flat = np.ascontiguousarray(pixels).reshape(-1)
    return _luma(flat.view(np.uint8).reshape(-1, 4)).reshape(pixels.shape)


def _antialiased(
    cand, a32, b32, luma_a, luma_b, siblings, height: int, width: int
) -> np.ndarray:
    """Vysniauskas test for the candidate flat indices ``cand``; True where either image
    marks the pixel as anti-aliased.

    ``luma_a``/``luma_b`` are whole-image luma arrays, or None to compute luma only for
    the gathered pixels (cheaper when candidates are few). ``siblings`` is the flat map
    of :func:`_sibling_map`, or None to test the darkest/brightest pixels on demand.
    Arrays are laid out (neighbour, candidate) so that every step is an elementwise
    operation over all candidates; reductions over a length-8 axis are slow in NumPy.
    """
    valid, border = _validity(cand, height, width)
    nb_index = cand[None, :] + (_DY * width + _DX)[:, None]
    on_border = bool(border.any())
    result = np.zeros(cand.size, dtype=bool)
    for img, luma in ((a32, luma_a), (b32, luma_b)):
        if luma is None:
            y_centre = _luma_u32(img[cand])
            y_nb = _luma_u32(np.take(img, nb_index, mode="clip"))
        else:
            y_centre = luma[cand]
            y_nb = np.take(luma, nb_index, mode="clip")
        if on_border:
            # NaN compares false with everything, so a missing neighbour is neither
            # equal, darker nor brighter -- exactly as if it were not visited.
            for k in range(8):
                np.copyto(y_nb[k], np.nan, where=~valid[k])
        zeroes = border.astype(np.int8)
        darkest = np.zeros(cand.size)
        brightest = np.zeros(cand.size)
        p_min = np.zeros(cand.size, dtype=np.intp)
        p_max = np.zeros(cand.size, dtype=np.intp)
        # Same update rule as the package: start at 0, replace only on strictly smaller
        # (larger) deltas, so ties keep the first neighbour in visiting order. Stopping
        # early once zeroes > 2 does not change the outcome, so all 8 are visited.
        for k in range(8):
            delta = y_centre - y_nb[k]
            zeroes += delta == 0
            lower = delta < darkest
            np.copyto(darkest, delta, where=lower)
            np.copyto(p_min, nb_index[k], where=lower)
            higher = delta > brightest
            np.copyto(brightest, delta, where=higher)
            np.copyto(p_max, nb_index[k], where=higher)
        eligible = (zeroes <= 2) & (darkest < 0) & (brightest > 0) & ~result
        idx = np.flatnonzero(eligible)
        if idx.size == 0:
            continue
        if siblings is not None:
            result[idx] = siblings[p_min[idx]] | siblings[p_max[idx]]
        else:
            sib = _many_siblings(
                np.concatenate([p_min[idx], p_max[idx]]), a32, b32, height, width
            )
            result[idx] = sib[: idx.size] | sib[idx.size :]
    return result


def _sibling_map(a2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    """Whole-image version of :func:`_many_siblings`: flat bool map, True where the pixel
    has 3+ identical neighbours (border counting as one) in both (H, W) uint32 images.

    Equality is symmetric, so 4 comparisons per pixel feed the counts of both pixels of
    each pair. Row bands with a one-row halo keep the working set in cache, which is
    about 3x faster than whole-image passes on 1080p and 4K.
    """
    height, width = a2.shape
    out = np.empty((height, width), dtype=bool)
    band = max(4, _SIBLING_BAND_PIXELS // max(width, 1))
    count = np.empty((band + 2, width), dtype=np.uint8)
    for r0 in range(0, height, band):
        r1 = min(height, r0 + band)
        g0, g1 = max(0, r0 - 1), min(height, r1 + 1)
        h = g1 - g0
        both = None
        for img in (a2, b2):
            blk = img[g0:g1]
            c = count[:h]
            c[...] = 0
            c[:, 0] = 1
            c[:, -1] = 1
            if g0 == 0:
                c[0] = 1
            if g1 == height:
                c[h - 1] = 1
            for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
                y1, x0, x1 = h - dy, max(0, -dx), width - max(0, dx)
                eq = blk[:y1, x0:x1] == blk[dy : y1 + dy, x0 + dx : x1 + dx]
                c[:y1, x0:x1] += eq
                c[dy : y1 + dy, x0 + dx : x1 + dx] += eq
            many = c[r0 - g0 : r1 - g0] > 2
            both = many if both is None else both & many
        out[r0:r1] = both
    return out.reshape(-1)


def _dilate(mask2: np.ndarray) -> np.ndarray:
    """3x3 binary dilation (no wrap-around), separable."""
    row = mask2.copy()
    row[:, 1:] |= mask2[:, :-1]
    row[:, :-1] |= mask2[:, 1:]
    out = row.copy()
    out[1:] |= row[:-1]
    out[:-1] |= row[1:]
    return out


def _full_luma(img4: np.ndarray) -> np.ndarray:
    out = np.empty(img4.shape[0], dtype=np.float64)
    for start in range(0, img4.shape[0], _SCREEN_BLOCK):
        out[start : start + _SCREEN_BLOCK] = _luma(img4[start : start + _SCREEN_BLOCK])
    return out


def _check(name: str, arr) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype != np.uint8:
        raise ValueError(
            f"{name} has dtype {arr.dtype}; pixelmatch compares 8-bit RGBA, so pass a "
            f"uint8 array (e.g. {name}.astype(np.uint8) after clipping to 0..255)."
        )
    if arr.ndim != 3 or arr.shape[2] != 4:
        raise ValueError(
            f"{name} has shape {arr.shape}; expected (height, width, 4) RGBA. Add an "
            f"alpha channel of 255 to RGB images and stack gray images to RGB first."
        )
    return np.ascontiguousarray(arr)


def _prepare(rgba_a, rgba_b, threshold, include_aa):
    a = _check("rgba_a", rgba_a)
    b = _check("rgba_b", rgba_b)
    if a.shape != b.shape:
        raise ValueError(
            f"rgba_a has shape {a.shape} but rgba_b has shape {b.shape}; pixelmatch "
            f"compares images of the same size, so resize or crop one of them first."
        )
    if (
        isinstance(threshold, (bool, np.bool_))
        or not isinstance(threshold, (int, float, np.integer, np.floating))
        or not 0.0 <= float(threshold) <= 1.0  # also rejects NaN
    ):
        raise ValueError(
            f"threshold={threshold!r} is not a number in [0, 1]; pass e.g. 0.1 "
            f"(smaller is more sensitive, 0 flags any colour change)."
        )
    if not isinstance(include_aa, (bool, np.bool_)):
        raise ValueError(
            f"include_aa={include_aa!r} is not a bool; pass True to count anti-aliased "
            f"pixels as differences or False to ignore them."
        )
    return a, b, float(threshold), bool(include_aa)


def _run(a, b, threshold, include_aa):
    """Return (candidate flat indices, anti-aliased mask over them or None)."""
    height, width = a.shape[:2]
    a4 = a.reshape(-1, 4)
    b4 = b.reshape(-1, 4)
    if np.array_equal(a4.view(np.uint32), b4.view(np.uint32)):
        return np.empty(0, dtype=np.intp), None
    # Same expression as the package, so the same double: (35215 * t) * t.
    max_delta = _MAX_YIQ_DELTA * threshold * threshold
    cand = _over_threshold(a4, b4, max_delta)
    if include_aa or cand.size == 0:
        return cand, None
    a32 = a4.view(np.uint32).reshape(-1)
    b32 = b4.view(np.uint32).reshape(-1)
    n_pixels = a32.size
    aa = np.zeros(cand.size, dtype=bool)
    siblings = None
    todo = np.arange(cand.size)
    # Checking siblings on demand costs ~0.25 us per candidate, the whole-image map ~5 ns
    # per pixel; with the map, candidates with no sibling-rich neighbour at all (most of
    # them in photographs) are settled without computing any luma.
    if _SIBLING_MAP_RATIO * cand.size > n_pixels:
        siblings = _sibling_map(a32.reshape(height, width), b32.reshape(height, width))
        near = _dilate(siblings.reshape(height, width)).reshape(-1)
        todo = np.flatnonzero(near[cand])
    # Gathering costs ~18 luma evaluations per candidate; whole-image luma costs 2 per
    # pixel. Switch once the candidates are dense enough for the latter to win.
    if _FULL_LUMA_RATIO * todo.size > n_pixels:
        luma_a, luma_b = _full_luma(a4), _full_luma(b4)
    else:
        luma_a = luma_b = None
    for start in range(0, todo.size, _AA_BLOCK):
        part = todo[start : start + _AA_BLOCK]
        aa[part] = _antialiased(
            cand[part], a32, b32, luma_a, luma_b, siblings, height, width
        )
    return cand, aa


def classify(
    rgba_a: np.ndarray,
    rgba_b: np.ndarray,
    *,
    threshold: float = 0.1,
    include_aa: bool = False,
) -> np.ndarray:
    """Label every pixel the way ``pixelmatch`` 0.4.0 (Python) would.

    Parameters
    ----------
    rgba_a, rgba_b : numpy.ndarray
        uint8 arrays of shape (height, width, 4), non-premultiplied RGBA. Translucent
        pixels are composited over white before comparison, as in pixelmatch.
    threshold : float, default 0.1
        Matching threshold in [0, 1]; a pixel is over it when its YIQ delta is strictly
        greater than ``35215 * threshold**2``. 0 flags any visible colour change; 1
        flags nothing (the largest possible delta is just under 35215).
    include_aa : bool, default False
        When True, skip anti-aliasing detection: every pixel over the threshold is a
        difference (pixelmatch's ``includeAA``).

    Returns
    -------
    numpy.ndarray
        uint8 array of shape (height, width): 0 = same or below the threshold,
        1 = counted difference (red in pixelmatch's diff image), 2 = over the threshold
        but detected as anti-aliasing and not counted (yellow). With
        ``include_aa=True`` no pixel is 2.

    Raises
    ------
    ValueError
        If an array is not uint8 (H, W, 4), the shapes differ, ``threshold`` is not in
        [0, 1], or ``include_aa`` is not a bool.

    Notes
    -----
    Algorithm and provenance are described in the module docstring: pixelmatch by
    Mapbox, YIQ delta of Kotsarenko & Ramos, anti-aliasing detector of Vysniauskas
    (2009). The result is identical to the Python ``pixelmatch`` package 0.4.0 with
    ``alpha``/``diff_mask``/``fail_fast`` at their defaults.
    """
    a, b, threshold, include_aa = _prepare(rgba_a, rgba_b, threshold, include_aa)
    labels = np.zeros(a.shape[:2], dtype=np.uint8)
    cand, aa = _run(a, b, threshold, include_aa)
    flat = labels.reshape(-1)
    flat[cand] = DIFFERENT
    if aa is not None:
        flat[cand[aa]] = ANTIALIASED
    return labels


def mismatch_count(
    rgba_a: np.ndarray,
    rgba_b: np.ndarray,
    *,
    threshold: float = 0.1,
    include_aa: bool = False,
) -> int:
    """Number of mismatched pixels, identical to ``pixelmatch`` 0.4.0's return value.

    Parameters
    ----------
    rgba_a, rgba_b : numpy.ndarray
        uint8 arrays of shape (height, width, 4).
    threshold : float, default 0.1
        Matching threshold in [0, 1] (see :func:`classify`).
    include_aa : bool, default False
        Count anti-aliased pixels as differences instead of ignoring them.

    Returns
    -------
    int
        Count of pixels labelled 1 by :func:`classify`.

    Raises
    ------
    ValueError
        On the same invalid inputs as :func:`classify`.
    """
    a, b, threshold, include_aa = _prepare(rgba_a, rgba_b, threshold, include_aa)
    cand, aa = _run(a, b, threshold, include_aa)
    if aa is None:
        return int(cand.size)
    return int(cand.size - np.count_nonzero(aa))
