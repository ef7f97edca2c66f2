"""Array kernels of the image-quality metrics in :mod:`imgdelta.metrics.quality`.

The kernels take float32 images on the [0, 1] scale, either (H, W) or (H, W, C) with the
channels interleaved (OpenCV filters every channel of such an array on its own), and
return per-window maps or the sums a metric needs; the metric module decides how masks
and identical images are treated. Local statistics come from OpenCV's box and Gaussian
filters, which sum in double precision even for float32 input; reductions are float64.

Windowed maps are computed in horizontal strips of a few dozen rows, each with the rows
of context its windows reach, on all cores: the temporaries of a strip stay in cache,
and the result equals the whole-image computation.

Where the reference defines a constant on 8-bit data (0..255), the kernels either use
the equivalent constant on the [0, 1] scale or work on values multiplied by 255; each
says which.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

#: Variance (on the [0, 1] scale) below which a window counts as flat. OpenCV's box
#: filter keeps running sums, so an exactly flat window can come out with a variance of
#: about 1e-16 instead of 0; real detail on 8-bit data has variances above 1e-7 (on
#: 16-bit data above 1e-11).
FLAT_VARIANCE = 1e-12

#: Output rows per strip of :func:`strip_sums`.
STRIP_ROWS = 64


class Scratch:
    """Named arrays that one thread's strip computations reuse from strip to strip.

    A fresh temporary of a few megabytes costs more in page faults than the arithmetic
    done on it: the C allocator returns freed blocks of that size to the system and maps
    new ones, so each strip would fault all of its temporaries in again.
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def array(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        """An uninitialised contiguous array of this shape and type, in the memory ``name``
        had last time when it is large enough (strips differ by a row or two)."""
        size = int(np.prod(shape))
        memory = self._arrays.get(name)
        if memory is None or memory.dtype != dtype or memory.size < size:
            memory = self._arrays[name] = np.empty(size, dtype)
        return memory[:size].reshape(shape)


def strip_sums(
    compute: Callable[..., Sequence[np.ndarray]],
    inputs: Sequence[np.ndarray],
    reach: int,
    crop: tuple[slice, slice],
    keep: np.ndarray | None = None,
    scratch: bool = False,
) -> list[tuple[float, int]]:
    """Sum and count of each map of ``compute(*inputs)`` over ``crop`` (and ``keep``).

    ``compute`` takes row ranges of the inputs and returns maps of the same rows; a map
    row may depend on input rows up to ``reach`` away (filters mirror the borders of the
    piece they get, so rows within ``reach`` of a cut are recomputed by the neighbouring
    strip). ``keep`` is a bool array of the image's (H, W) shape or None. With
    ``scratch``, ``compute`` also gets ``scratch=`` a :class:`Scratch` of its thread; the
    maps it returns may live in that scratch, as each is summed before the next strip.
    """
    import os
    import threading
    from concurrent.futures import ThreadPoolExecutor

    height = inputs[0].shape[0]
    top, bottom, _ = crop[0].indices(height)
    rows = bottom - top
    pieces = max(1, rows // STRIP_ROWS)
    bounds = [top + rows * i // pieces for i in range(pieces + 1)]

    local = threading.local()

    def measure(i: int) -> list[tuple[float, int]]:
        first, last = bounds[i], bounds[i + 1]
        low, high = max(0, first - reach), min(height, last + reach)
        parts = [x[low:high] for x in inputs]
        if scratch:
            if not hasattr(local, "scratch"):
                local.scratch = Scratch()
            maps = compute(*parts, scratch=local.scratch)
        else:
            maps = compute(*parts)
        sums = []
        for values in maps:
            part = values[first - low : last - low, crop[1]]
            if keep is not None:
                part = part[keep[first:last, crop[1]]]
            sums.append((float(np.sum(part, dtype=np.float64)), int(part.size)))
        return sums

    if pieces == 1:
        results = [measure(0)]
    else:
        with ThreadPoolExecutor(min(os.cpu_count() or 1, pieces)) as pool:
            results = list(pool.map(measure, range(pieces)))
    return [(sum(r[k][0] for r in results), sum(r[k][1] for r in results)) for k in range(len(results[0]))]


def valid_crop(shape: tuple[int, ...], margin: int) -> tuple[slice, slice]:
    """The rows and columns at least ``margin`` pixels from every border.

    A side too short to keep any is kept whole: small images are measured over every
    window, their borders mirrored.
    """
    rows, cols = (slice(margin, n - margin) if n > 2 * margin else slice(0, n) for n in shape[:2])
    return rows, cols


def box_mean(values: np.ndarray, size: int, border: int, depth: int = -1) -> np.ndarray:
    """Mean over the ``size`` x ``size`` window of each pixel (``depth``: OpenCV's ddepth).

    The window of pixel ``i`` spans ``i - size // 2 .. i + (size - 1) // 2`` (for 8:
    ``i - 4 .. i + 3``), where scipy's ``uniform_filter`` and ``convolve2d(mode='same')``
    place an even window.
    """
    import cv2

    return cv2.boxFilter(values, depth, (size, size), normalize=True, borderType=border)


# -- MS-SSIM ---------------------------------------------------------------------------

#: Wang, Simoncelli, Bovik 2003, and sewar's ``msssim``: scale weights, finest first.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
#: Gaussian window of every scale: 11 x 11, sigma 1.5, as in the paper and sewar.
MS_SSIM_WINDOW = 11
MS_SSIM_SIGMA = 1.5
#: K1 = 0.01 and K2 = 0.03 with L = 1 (the same as L = 255 on 8-bit data).
MS_SSIM_C1 = 0.01**2
MS_SSIM_C2 = 0.03**2


def ms_ssim_scales(height: int, width: int) -> int:
    """How many scales fit: the short side must stay at least the window at the last one.

    sewar's count, ``floor(log2(min_side / 11)) + 1``, at most 5; an image narrower than
    the window gets one scale.
    """
    short = min(height, width)
    if short < MS_SSIM_WINDOW:
        return 1
    return min(len(MS_SSIM_WEIGHTS), int(np.floor(np.log2(short / MS_SSIM_WINDOW))) + 1)


def halve(image: np.ndarray) -> np.ndarray:
    """The image at half resolution: means of 2 x 2 blocks, ``ceil(n / 2)`` per side.

    Output row ``i`` averages input rows ``2i - 1`` and ``2i`` (row -1 taken as row 0),
    likewise for columns: scipy's ``uniform_filter(size=2)`` followed by ``[::2, ::2]``,
    the downsampling of sewar's ``msssim``, here on each channel separately.
    """
    height, width = image.shape[:2]
    # repeat the first row and column, then pair neighbours; an unpaired last one drops out
    padded = np.empty((height + 1, width + 1, *image.shape[2:]), np.float32)
    padded[1:, 1:] = image
    padded[0, 1:] = image[0]
    padded[1:, 0] = image[:, 0]
    padded[0, 0] = image[0, 0]
    rows, cols = (height + 1) // 2, (width + 1) // 2
    p = padded[: 2 * rows, : 2 * cols]
    total = p[0::2, 0::2] + p[1::2, 0::2]
    total += p[0::2, 1::2]
    total += p[1::2, 1::2]
    total *= np.float32(0.25)
    return total


def _ssim_and_cs_maps(s: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    size = (MS_SSIM_WINDOW, MS_SSIM_WINDOW)

    def blur(values: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(values, size, MS_SSIM_SIGMA, sigmaY=MS_SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)

    mu_s = blur(s)
    mu_d = blur(d)
    v_s = blur(cv2.multiply(s, s))
    v_s -= cv2.multiply(mu_s, mu_s)
    v_d = blur(cv2.multiply(d, d))
    v_d -= cv2.multiply(mu_d, mu_d)
    cv2.add(mu_s, 1.0, dst=mu_s)
    cv2.multiply(mu_s, mu_s, dst=mu_s)
    cv2.multiply(mu_d, mu_d, dst=mu_d)
    c1 = 2 * MS_SSIM_C1
    c2 = 2 * MS_SSIM_C2
    cs = cv2.divide(cv2.add(cv2.subtract(v_s, v_d), c2), cv2.add(cv2.add(v_s, v_d), c2))
    ssim = cv2.divide(cv2.add(cv2.subtract(mu_s, mu_d), c1), cv2.add(cv2.add(mu_s, mu_d), c1))
    cv2.multiply(ssim, cs, dst=ssim)
    return ssim, cs


def ssim_and_cs(s: np.ndarray, d: np.ndarray) -> tuple[float, float]:
    """Mean SSIM and mean contrast-structure term over the valid windows (and channels).

    The inputs are the sum and the difference of the two images, ``s = x + y - 1`` and
    ``d = x - y`` (centred near 0 so that float32 variances keep their accuracy). With
    ``mu`` and ``v`` the Gaussian-weighted mean and variance of each,
    ``2 sigma_xy = (v_s - v_d) / 2``, ``sigma_x^2 + sigma_y^2 = (v_s + v_d) / 2``,
    ``2 mu_x mu_y = (mu_s'^2 - mu_d^2) / 2`` and ``mu_x^2 + mu_y^2 = (mu_s'^2 + mu_d^2) / 2``
    (``mu_s' = mu_s + 1``), so four filters give what five give from ``x`` and ``y``::

        cs   = (2 sigma_xy + C2) / (sigma_x^2 + sigma_y^2 + C2)
        ssim = (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1) * cs

    The windows are those entirely inside the image (a border of 5 is left out), as in
    sewar's ``ssim(..., mode='valid')``; an image narrower than the window is measured
    whole, its borders mirrored.
    """
    pad = MS_SSIM_WINDOW // 2
    if min(s.shape[:2]) < MS_SSIM_WINDOW:
        widths = ((pad, pad), (pad, pad)) + ((0, 0),) * (s.ndim - 2)
        s = np.pad(s, widths, mode="symmetric")
        d = np.pad(d, widths, mode="symmetric")
    (ssim, count), (cs, _) = strip_sums(_ssim_and_cs_maps, (s, d), pad, valid_crop(s.shape, pad))
    return ssim / count, cs / count


# -- UQI -------------------------------------------------------------------------------

#: Wang and Bovik 2002: an 8 x 8 sliding window (also sewar's default ``ws``).
UQI_WINDOW = 8


def uqi_map(x: np.ndarray, y: np.ndarray, scratch: Scratch | None = None) -> list[np.ndarray]:
    """Universal quality index of every 8 x 8 window, the images' shape.

    ``Q = 4 sigma_xy mu_x mu_y / ((sigma_x^2 + sigma_y^2)(mu_x^2 + mu_y^2))`` with
    population statistics. Where both windows are flat the structure term is undefined
    and Q is the luminance term ``2 mu_x mu_y / (mu_x^2 + mu_y^2)``, and 1 where both are
    also black: the conventions of Wang's reference code. Borders are mirrored. Returned
    as a one-map list, the form :func:`strip_sums` takes; ``scratch`` lends arrays that
    outlive one strip.

    Q does not change when both images are scaled alike, so 8-bit data (every value
    exactly ``k / 255`` in float32) is measured on its levels ``k``: window sums of
    levels, their squares and products are integers that int32 holds exactly, so the
    variances come without rounding, exactly flat windows are found exactly, and Q is
    within a few float32 roundings (1e-7) of its exact value. Other data uses float64
    moments, where the squares and products of float32 numbers are exact; float32
    moments would lose 1e-5 of the mean, because with no constant to steady it the
    structure term of a nearly flat window divides two small variances. Identical images
    give exactly 1 in every window.
    """
    scratch = scratch or Scratch()
    levels_x = _levels8(x, scratch, "x")
    levels_y = _levels8(y, scratch, "y") if levels_x is not None else None
    if levels_y is not None:
        return [_uqi_map_levels(levels_x, levels_y, scratch)]
    return [_uqi_map_float(x, y)]


def uqi_map_levels(x: np.ndarray, y: np.ndarray, scratch: Scratch | None = None) -> list[np.ndarray]:
    """:func:`uqi_map` of 8-bit data given as its uint8 levels."""
    return [_uqi_map_levels(x, y, scratch or Scratch())]


def _levels8(values: np.ndarray, scratch: Scratch, name: str) -> np.ndarray | None:
    """The 8-bit levels ``k`` of ``values`` (uint8) when every value is ``float32(k / 255)``,
    else None."""
    import cv2

    levels = cv2.convertScaleAbs(values, dst=scratch.array(f"levels_{name}", values.shape, np.uint8), alpha=255.0)
    back = np.divide(levels, np.float32(255.0), out=scratch.array("back", values.shape, np.float32), dtype=np.float32)
    return levels if cv2.norm(back, values, cv2.NORM_INF) == 0 else None


def _uqi_map_levels(x: np.ndarray, y: np.ndarray, scratch: Scratch) -> np.ndarray:
    import cv2

    n = UQI_WINDOW * UQI_WINDOW
    shape = x.shape
    square = scratch.array("square", shape, np.uint16)

    def window_sum(values: np.ndarray, name: str) -> np.ndarray:
        out = scratch.array(name, shape, np.int32)
        return cv2.boxFilter(values, cv2.CV_32S, (UQI_WINDOW, UQI_WINDOW), dst=out, normalize=False, borderType=cv2.BORDER_REFLECT)

    sum_x = window_sum(x, "sum_x")
    sum_y = window_sum(y, "sum_y")
    spread = window_sum(np.multiply(x, x, out=square, dtype=np.uint16), "spread")
    spread += window_sum(np.multiply(y, y, out=square, dtype=np.uint16), "sum_yy")
    covariance = window_sum(np.multiply(x, y, out=square, dtype=np.uint16), "covariance")
    # with S the window sums: n^2 mu_x mu_y = S_x S_y, n^2 (mu_x^2 + mu_y^2) = S_x^2 + S_y^2,
    # n^2 (sigma_x^2 + sigma_y^2) = n (S_xx + S_yy) - (S_x^2 + S_y^2) and n^2 sigma_xy =
    # n S_xy - S_x S_y, each below 2^31 for 8-bit levels and n = 64
    product = np.multiply(sum_x, sum_y, out=scratch.array("product", shape, np.int32))
    level = np.multiply(sum_x, sum_x, out=sum_x)
    level += np.multiply(sum_y, sum_y, out=sum_y)
    spread *= n
    spread -= level
    covariance *= n
    covariance -= product
    flat = np.equal(spread, 0, out=scratch.array("flat", shape, np.bool_))
    if flat.any():
        # Q = 4 covariance product / (spread level) becomes the luminance term
        # 2 product / level where both windows are flat, and 1 where both are also black
        black = flat & (level == 0)
        covariance[flat] = 1
        spread[flat] = 2
        spread[black] = 4
        product[black] = 1
        level[black] = 1
    # the integers are exact; only the two ratios and their product round, in float32
    q = np.divide(covariance, spread, out=scratch.array("q", shape, np.float32), dtype=np.float32)
    q *= np.divide(product, level, out=scratch.array("luminance", shape, np.float32), dtype=np.float32)
    q *= np.float32(4.0)
    return q


def _uqi_map_float(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    import cv2

    f64 = cv2.CV_64F
    border = cv2.BORDER_REFLECT
    mu_x = box_mean(x, UQI_WINDOW, border, f64)
    mu_y = box_mean(y, UQI_WINDOW, border, f64)
    squares = cv2.multiply(x, x, dtype=f64)
    squares += cv2.multiply(y, y, dtype=f64)
    spread = box_mean(squares, UQI_WINDOW, border)
    covariance = box_mean(cv2.multiply(x, y, dst=squares, dtype=f64), UQI_WINDOW, border)
    level = cv2.multiply(mu_x, mu_x, dst=squares)
    level += cv2.multiply(mu_y, mu_y)  # mu_x^2 + mu_y^2
    spread -= level  # sigma_x^2 + sigma_y^2
    cv2.multiply(mu_x, mu_y, dst=mu_x)  # mu_x mu_y
    covariance -= mu_x  # sigma_xy
    q = cv2.multiply(covariance, mu_x, dst=covariance, scale=4.0)
    denominator = cv2.multiply(spread, level, dst=mu_y)
    flat = spread <= 2 * FLAT_VARIANCE
    if flat.any():
        mean = level[flat]
        q[flat] = np.where(mean > 0, 2 * mu_x[flat], 1.0)
        denominator[flat] = np.where(mean > 0, mean, 1.0)
    return cv2.divide(q, denominator, dst=q)


# -- SCC -------------------------------------------------------------------------------

#: The high-pass filter of Zhou, Civco and Silander 1998 (and sewar): the 8-neighbour
#: Laplacian. sewar applies it through ``generic_laplace``, which sums it over both axes,
#: doubling it; a correlation coefficient does not change when both inputs are doubled.
SCC_HIGH_PASS = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], np.float64)
#: Size of the window of the local correlation (sewar's ``ws``).
SCC_WINDOW = 8
#: Rows of input one row of :func:`scc_map` depends on, either way: Laplacian and window.
SCC_REACH = 1 + SCC_WINDOW // 2


def scc_map(x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Local correlation coefficient of the Laplacian-filtered images, every 8 x 8 window.

    The Laplacian runs in float64 with mirrored borders, so flat regions give exactly 0.
    The windows are those of ``convolve2d(mode='same')`` with zeros outside the image,
    as in sewar. Where a window is flat (no detail; variance below :data:`FLAT_VARIANCE`)
    the coefficient is undefined: a window flat in only one image gives 0; one flat in
    both gives 1 where the two images are equal over the window and 0 where they are not
    (sewar gives 0 for all of these), the convention of ``ncc`` for flat images. Identical
    images give exactly 1 in every window (``sqrt(v * v) == v``); two flat images of
    different levels give 0. Returned as a one-map list, the form :func:`strip_sums` takes.
    """
    import cv2

    border = cv2.BORDER_CONSTANT
    f32 = cv2.CV_32F
    hx = cv2.filter2D(x.astype(np.float64), -1, SCC_HIGH_PASS, borderType=cv2.BORDER_REFLECT).astype(np.float32)
    hy = cv2.filter2D(y.astype(np.float64), -1, SCC_HIGH_PASS, borderType=cv2.BORDER_REFLECT).astype(np.float32)
    mu_x = box_mean(hx, SCC_WINDOW, border)
    mu_y = box_mean(hy, SCC_WINDOW, border)
    v_x = box_mean(cv2.multiply(hx, hx), SCC_WINDOW, border)
    v_x -= cv2.multiply(mu_x, mu_x)
    v_y = box_mean(cv2.multiply(hy, hy), SCC_WINDOW, border)
    v_y -= cv2.multiply(mu_y, mu_y)
    c_xy = box_mean(cv2.multiply(hx, hy, dst=hx), SCC_WINDOW, border)
    c_xy -= cv2.multiply(mu_x, mu_y, dst=mu_x)
    flat_x = v_x < np.float32(FLAT_VARIANCE)
    flat_y = v_y < np.float32(FLAT_VARIANCE)
    spread = cv2.multiply(v_x, v_y, dtype=f32)
    cv2.sqrt(spread, dst=spread)
    either = flat_x | flat_y
    if either.any():
        spread[either] = 1.0
        c_xy[either] = 0.0
        both = flat_x & flat_y
        if both.any():
            c_xy[both & ~window_differs(x, y, SCC_WINDOW, border)] = 1.0
    r = cv2.divide(c_xy, spread, dst=c_xy)
    np.clip(r, -1.0, 1.0, out=r)
    return [r]


def window_differs(x: np.ndarray, y: np.ndarray, size: int, border: int) -> np.ndarray:
    """True where the ``size`` x ``size`` windows of :func:`box_mean` hold any unequal
    value (per channel for (H, W, C) input).

    Counts of unequal pixels are summed, and sums of small integers are exact, so an
    equal window gives exactly 0 where a mean of squared differences could leave a
    running-sum remainder.
    """
    import cv2

    unequal = (x != y).astype(np.float32)
    counts = cv2.boxFilter(unequal, -1, (size, size), normalize=False, borderType=border)
    return counts > 0.5


# -- RASE ------------------------------------------------------------------------------

#: Side of RASE's sliding window (sewar's ``ws``).
RASE_WINDOW = 8
#: A window whose reference mean (on [0, 1]) is below this counts as black; running sums
#: can leave about 1e-16 where the exact mean is 0.
RASE_BLACK = 1e-9


def rase_map(x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """``100 / M sqrt(1/N sum_k MSE_k)`` in every 8 x 8 window, mirrored borders.

    ``MSE_k``: mean squared error of channel k over the window, ``M``: mean of ``x`` over
    the window and all N channels. Where ``x`` is black over the window (``M = 0``) no
    relative error can be formed and the window counts 0, as in sewar. Returned as a
    one-map list, the form :func:`strip_sums` takes.
    """
    import cv2

    border = cv2.BORDER_REFLECT
    step = cv2.subtract(x, y)
    cv2.multiply(step, step, dst=step)
    if x.ndim == 3:
        # the windows are linear: the mean over channels can come first
        average = np.full((1, x.shape[2]), 1.0 / x.shape[2], np.float32)
        step = cv2.transform(step, average)
        mean = box_mean(cv2.transform(x, average), RASE_WINDOW, border)
    else:
        mean = box_mean(x, RASE_WINDOW, border)
    mse = box_mean(step, RASE_WINDOW, border)
    np.maximum(mse, 0, out=mse)
    cv2.sqrt(mse, dst=mse)
    black = mean <= np.float32(RASE_BLACK)
    if black.any():
        mean[black] = 1.0
        mse[black] = 0.0
    values = cv2.divide(mse, mean, dst=mse)
    values *= np.float32(100.0)
    return [values]


# -- VIF -------------------------------------------------------------------------------

#: Sheikh and Bovik 2006, pixel domain (sewar's ``vifp``): variance of the visual noise
#: on 8-bit values, the number of scales, and the guard against empty variances.
VIF_NOISE_VARIANCE = 2.0
VIF_SCALES = 4
VIF_EPS = 1e-10


def vif_window(scale: int) -> int:
    """Gaussian window size of ``scale`` (1 = finest): 17, 9, 5, 3; sigma is size / 5."""
    return 2 ** (VIF_SCALES - scale + 1) + 1


def _centred_levels(values: np.ndarray) -> np.ndarray:
    """Float64 values on the 8-bit scale, centred: ``(v - 0.5) * 255`` for [0, 1] input.

    sewar's noise variance and guard are defined on 8-bit values; centring keeps the
    float64 variances of flat windows below the guard.
    """
    levels = values.astype(np.float64)
    levels -= 0.5
    levels *= 255.0
    return levels


def _vif_blur(values: np.ndarray, size: int, dst: np.ndarray | None = None) -> np.ndarray:
    import cv2

    sigma = size / 5.0
    return cv2.GaussianBlur(values, (size, size), sigma, dst=dst, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)


def _vif_maps(x: np.ndarray, y: np.ndarray, size: int, levels: bool) -> list[np.ndarray]:
    """Information preserved and present in the window of every pixel of a row strip.

    ``levels``: the strips are float64 on the 8-bit scale already; else float32 on
    [0, 1], converted here. Each temporary is the strip's size: the caller keeps the
    valid windows.
    """
    import cv2

    if not levels:
        x = _centred_levels(x)
        y = _centred_levels(y)
    mu_x = _vif_blur(x, size)
    mu_y = _vif_blur(y, size)
    v_x = _vif_blur(cv2.multiply(x, x), size)
    v_x -= cv2.multiply(mu_x, mu_x)
    v_y = _vif_blur(cv2.multiply(y, y), size)
    v_y -= cv2.multiply(mu_y, mu_y)
    c_xy = cv2.multiply(x, y, dst=None if levels else x)
    c_xy = _vif_blur(c_xy, size, dst=c_xy)
    c_xy -= cv2.multiply(mu_x, mu_y, dst=mu_x)
    np.maximum(v_x, 0, out=v_x)
    np.maximum(v_y, 0, out=v_y)
    gain = cv2.add(v_x, VIF_EPS, dst=mu_y)
    cv2.divide(c_xy, gain, dst=gain)
    noise = cv2.multiply(gain, c_xy, dst=c_xy)
    cv2.subtract(v_y, noise, dst=noise)
    no_reference = v_x < VIF_EPS
    no_distorted = v_y < VIF_EPS
    # where the reference is flat, everything in the distorted window is noise
    noise[no_reference] = v_y[no_reference]
    gain[no_reference] = 0.0
    v_x[no_reference] = 0.0
    gain[no_distorted] = 0.0
    noise[no_distorted] = 0.0
    negative = gain < 0
    noise[negative] = v_y[negative]
    gain[negative] = 0.0
    np.maximum(noise, VIF_EPS, out=noise)
    noise += VIF_NOISE_VARIANCE
    gain *= gain
    gain *= v_x
    gain /= noise
    preserved = np.log1p(gain, out=gain)
    v_x /= VIF_NOISE_VARIANCE
    present = np.log1p(v_x, out=v_x)
    return [preserved, present]


def _vif_reduce(x: np.ndarray, size: int, levels: bool) -> np.ndarray:
    """The next scale: Gaussian-filtered (``size``, valid part), every second row and
    column kept; float64 on the 8-bit scale. Filtered in strips of rows, each with the
    window's margin, so no full-size temporary is made."""
    pad = size // 2
    height, width = x.shape
    rows = height - 2 * pad
    out = np.empty(((rows + 1) // 2, (width - 2 * pad + 1) // 2))
    step = 2 * STRIP_ROWS
    for first in range(0, rows, step):
        last = min(rows, first + step)
        piece = x[first : last + 2 * pad]
        blurred = _vif_blur(piece if levels else _centred_levels(piece), size)
        out[first // 2 : (last + 1) // 2] = blurred[pad : pad + last - first : 2, pad : width - pad : 2]
    return out


def vif_sums(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Information preserved and information present in one channel, over windows and scales.

    ``x`` and ``y`` are float32 (H, W) planes on [0, 1] (any strides: a channel of an
    interleaved image will do); the statistics are float64 on the centred 8-bit scale.
    At each scale, over the windows inside the image, with ``g = sigma_xy / sigma_x^2``
    and ``s_v^2 = sigma_y^2 - g sigma_xy`` (the distortion's gain and noise)::

        preserved += log(1 + g^2 sigma_x^2 / (s_v^2 + sigma_n^2))
        present   += log(1 + sigma_x^2 / sigma_n^2)

    with sewar's guards: where ``sigma_x^2 < eps`` the gain is 0 and ``s_v^2 = sigma_y^2``;
    where ``sigma_y^2 < eps`` the gain and ``s_v^2`` are 0; a negative gain becomes 0 with
    ``s_v^2 = sigma_y^2``; ``s_v^2`` is at least eps. Between scales the image is
    Gaussian-filtered (the next scale's window, valid part) and every second row and
    column kept. A scale whose window no longer fits ends the sum. Natural logarithms:
    the ratio of the sums does not depend on the base.

    Every step runs on strips of rows with the window's margin (:func:`strip_sums`), so
    the memory used beyond the inputs is the coarser scales (a quarter of the plane's
    pixels at the second, in float64) and a few strips per core, and the sums equal the
    whole-plane computation.
    """
    from functools import partial

    preserved = present = 0.0
    levels = False
    for scale in range(1, VIF_SCALES + 1):
        size = vif_window(scale)
        if min(x.shape) < size:
            break
        if scale > 1:
            x = _vif_reduce(x, size, levels)
            y = _vif_reduce(y, size, levels)
            levels = True
            if min(x.shape) < size:
                break
        pad = size // 2
        compute = partial(_vif_maps, size=size, levels=levels)
        [(kept, _), (held, _)] = strip_sums(compute, (x, y), pad, valid_crop(x.shape, pad))
        preserved += kept
        present += held
    return preserved, present


# -- PSNR-B ----------------------------------------------------------------------------

#: Block size of the coding grid (8, JPEG's and H.264's transform).
PSNR_B_BLOCK = 8


def blocking_effect_factor(y: np.ndarray, block: int = PSNR_B_BLOCK) -> float:
    """BEF of Yim and Bovik 2011 of one float32 plane (in the squared units of its values).

    ``D_B``: mean squared difference of neighbouring pixels across block boundaries
    (horizontal and vertical pairs together), ``D_Bc``: the same over all other
    neighbouring pairs. ``BEF = eta (D_B - D_Bc)`` when ``D_B > D_Bc``, else 0, with
    ``eta = log2(block) / log2(min(height, width))``. The means divide by the number of
    pairs actually summed, which is the paper's ``N_V (N_H / B - 1)`` when the width is a
    multiple of the block (sewar divides by ``N_V N_H / B - 1``). An image smaller than a
    block in either direction takes ``eta = 1``, its value at ``min(height, width) = block``.
    """
    import cv2

    height, width = y.shape
    boundary_sum = other_sum = 0.0
    boundary_count = other_count = 0
    # axis 1: steps between neighbouring columns, summed down each column pair
    for axis, length, across in ((1, width, height), (0, height, width)):
        if length < 2:
            continue
        if axis == 1:
            step = cv2.subtract(y[:, 1:], y[:, :-1])
        else:
            step = cv2.subtract(y[1:], y[:-1])
        cv2.multiply(step, step, dst=step)
        totals = cv2.reduce(step, 1 - axis, cv2.REDUCE_SUM, dtype=cv2.CV_64F).ravel()
        on_boundary = totals[block - 1 :: block]
        boundary = float(on_boundary.sum())
        boundary_sum += boundary
        other_sum += float(totals.sum()) - boundary
        boundary_count += on_boundary.size * across
        other_count += (totals.size - on_boundary.size) * across
    d_boundary = boundary_sum / boundary_count if boundary_count else 0.0
    d_other = other_sum / other_count if other_count else 0.0
    if d_boundary <= d_other:
        return 0.0
    short = min(height, width)
    eta = np.log2(block) / np.log2(short) if short > block else 1.0
    return float(eta * (d_boundary - d_other))


# -- SAM -------------------------------------------------------------------------------


def spectral_angle_map(x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Angle between the colour vectors of each pixel (radians), and where it counts.

    (H, W, 3) images, or (H, W) as one-band vectors. ``atan2(|x cross y|, x . y)``
    equals sewar's ``arccos(x . y / (|x| |y|))`` and stays accurate for nearly parallel
    vectors in float32. Values are non-negative, so a vector is zero when its channels
    sum to 0. Where exactly one of the two vectors is zero the angle is undefined and
    counts as a right angle, pi/2 (the two share no direction: ``x . y = 0``); where
    both are zero the pixel does not count (second map: 0, else 1), as in sewar, which
    also leaves out the pixels zero in one image only. Identical vectors give exactly 0.
    Returned in the form :func:`strip_sums` takes.
    """
    import cv2

    if x.ndim == 2:
        # one band: positive numbers are parallel; only a zero against a non-zero is not
        lit_x, lit_y = x > 0, y > 0
        angles = np.where(lit_x != lit_y, np.float32(np.pi / 2), np.float32(0.0))
        return [angles, (lit_x | lit_y).astype(np.float32)]
    ones = np.ones((1, 3), np.float32)
    dot = cv2.transform(cv2.multiply(x, y), ones)
    # cross product: x rotated one channel left times y rotated one right, and back
    left = [1, 2, 0]
    right = [2, 0, 1]
    cross = cv2.subtract(cv2.multiply(x[:, :, left], y[:, :, right]), cv2.multiply(x[:, :, right], y[:, :, left]))
    cv2.multiply(cross, cross, dst=cross)
    length = cv2.transform(cross, ones)
    cv2.sqrt(length, dst=length)
    angles = np.arctan2(length, dot)
    lit_x = cv2.transform(x, ones) > 0
    lit_y = cv2.transform(y, ones) > 0
    # atan2(0, 0) is 0 where a vector is zero: a zero against a non-zero is a right angle
    angles[lit_x != lit_y] = np.pi / 2
    return [angles, (lit_x | lit_y).astype(np.float32)]
