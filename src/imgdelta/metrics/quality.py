"""The image-quality family: MS-SSIM, UQI, VIF, PSNR-B, SCC, SAM, ERGAS and RASE.

Full-reference measures from image coding and remote sensing, with the conventions of
sewar 0.4.10 (windows, constants on 8-bit data, how colour is treated) so that values
agree with it on 8-bit images, except where sewar's result is not a sound definition;
each metric's docstring says where it differs and why.

Colour: each metric treats a colour image as sewar does (most measure every channel and
average; PSNR-B measures luminance; SAM compares the colour vectors of pixels; ERGAS and
RASE take the channels as spectral bands). A single-channel image (luminance, as the
filter passes) is a one-band image.

Scale: imgdelta's pixels are in [0, 1]. Formulas that do not change when both images are
multiplied by 255 run on [0, 1]; constants defined on 8-bit values are converted (SSIM's
C1 and C2) or the data is multiplied by 255 (VIF's noise variance).
"""

from __future__ import annotations

import math

import numpy as np

from ..features import FeaturePair, Features
from . import MetricOptions, register
from ._quality_kernels import (
    MS_SSIM_WEIGHTS,
    RASE_WINDOW,
    SCC_REACH,
    UQI_WINDOW,
    blocking_effect_factor,
    halve,
    ms_ssim_scales,
    rase_map,
    scc_map,
    spectral_angle_map,
    ssim_and_cs,
    strip_sums,
    uqi_map,
    uqi_map_levels,
    valid_crop,
    vif_sums,
    vif_window,
)

#: PSNR-B's lowest value, 10 log10(1 / 2): MSE and BEF are each at most 1 on [0, 1].
PSNR_B_LOWEST = -10.0 * math.log10(2.0)
#: ERGAS: ratio of the high-resolution to the low-resolution pixel size, h / l (sewar's
#: ``r``; 1/4 for a 4x pan-sharpening).
ERGAS_RATIO = 0.25


def _image(features: Features, samples: bool = False) -> np.ndarray:
    """The pixels (with ``samples``, the 8-bit samples) as OpenCV takes them: (H, W, 3)
    for colour, (H, W) for one channel."""
    pixels = features.samples8 if samples else features.pixels
    return np.ascontiguousarray(pixels[:, :, 0] if features.is_gray else pixels)


def _images(pair: FeaturePair, samples: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Both images, the second with its ignored pixels taken from the first.

    Windowed metrics then see no difference from ignored pixels, not even in the windows
    of kept pixels next to them.
    """
    a = _image(pair.a, samples)
    b = _image(pair.b, samples)
    if pair.mask is not None:
        b = np.where(pair.mask if b.ndim == 2 else pair.mask[:, :, None], b, a)
    return a, b


def _windowed_mean(compute, pair: FeaturePair, window: int, reach: int, scratch: bool = False, samples: bool = False) -> float:
    """Mean of a per-window map over the windows inside the image (sewar's crop of
    ``round(window / 2)`` on every side) and the kept pixels, over all channels.

    A mask that keeps no pixel of that inner part falls back to its kept pixels anywhere.
    ``samples`` measures the images' 8-bit samples instead of their float pixels.
    """
    a, b = _images(pair, samples)
    crop = valid_crop(a.shape, int(round(window / 2)))
    keep = pair.mask
    if keep is not None and not keep[crop].any():
        crop = valid_crop(a.shape, 0)
    [(total, count)] = strip_sums(compute, (a, b), reach, crop, keep, scratch)
    return total / count


@register(
    "ms_ssim",
    kind="similarity",
    lower=0.0,
    upper=1.0,
    identical=1.0,
    summary="multi-scale SSIM: structure at 5 scales, luminance at the coarsest (Gaussian 11x11, per channel)",
    reference=(
        "Wang, Simoncelli, Bovik 2003, Multiscale structural similarity for image quality assessment; "
        "sewar 0.4.10 full_ref.msssim on 8-bit data"
    ),
    masked=False,
)
def multiscale_ssim(pair: FeaturePair, options: MetricOptions) -> float:
    """Multi-scale structural similarity.

    ``MS-SSIM = cs_1^w1 cs_2^w2 ... cs_{M-1}^w{M-1} ssim_M^wM``, where ``cs_j`` and
    ``ssim_j`` are the mean contrast-structure term and the mean SSIM at scale ``j``
    (Gaussian window 11 x 11, sigma 1.5, valid windows only, K1 = 0.01, K2 = 0.03 on the
    data range), weights 0.0448, 0.2856, 0.3001, 0.2363, 0.1333, and each scale the
    previous one halved by 2 x 2 means. Colour: at each scale the terms of the channels
    are averaged. Range [0, 1]; 1 when identical; similarity.

    Equal to sewar's ``msssim`` on single-channel images of at least 176 pixels a side
    (11 x 2^4, room for five scales). Differences, by design:

    * colour: sewar's downsampling filter also runs across the channel axis, mixing each
      channel with its neighbour at every scale; here channels stay apart.
    * a negative mean contrast-structure (anti-correlated structure, e.g. an inverted
      image) counts as 0, as in TensorFlow's ``tf.image.ssim_multiscale``; sewar raises it
      to a fractional power as a complex number and keeps the real part.
    * smaller images use fewer scales (as sewar does), with their weights rescaled to
      sum to 1, so that one scale is SSIM itself; sewar keeps the weights as they are,
      which pulls small images towards 1 (and it refuses images narrower than the
      window, which are measured here with mirrored borders).
    """
    import cv2

    scales = ms_ssim_scales(*pair.a.shape)
    weights = np.array(MS_SSIM_WEIGHTS[:scales])
    if scales < len(MS_SSIM_WEIGHTS):
        weights /= weights.sum()
    a = _image(pair.a)
    b = _image(pair.b)
    channels = 1 if a.ndim == 2 else a.shape[2]
    # per scale, the terms of each channel; sewar averages its per-channel means
    terms = np.zeros((scales, 2))
    # one channel at a time, so that the sums, differences and their halvings exist for
    # one plane only
    for channel in range(channels):
        x = a if a.ndim == 2 else np.ascontiguousarray(a[:, :, channel])
        y = b if b.ndim == 2 else np.ascontiguousarray(b[:, :, channel])
        # halving is linear, so the sum and difference of the images can be halved directly
        s = cv2.addWeighted(x, 1.0, y, 1.0, -1.0)
        d = cv2.subtract(x, y)
        del x, y
        for scale in range(scales):
            terms[scale] += ssim_and_cs(s, d)
            if scale < scales - 1:
                s = halve(s)
                d = halve(d)
    terms /= channels
    value = 1.0
    for scale in range(scales):
        ssim, cs = terms[scale]
        last = scale == scales - 1
        value *= max(ssim if last else cs, 0.0) ** weights[scale]
    return min(max(float(value), 0.0), 1.0)


@register(
    "uqi",
    kind="similarity",
    lower=-1.0,
    upper=1.0,
    identical=1.0,
    summary="universal quality index: correlation x luminance x contrast in 8x8 windows, per channel",
    reference="Wang, Bovik 2002, A universal image quality index (and Wang's reference code)",
)
def universal_quality_index(pair: FeaturePair, options: MetricOptions) -> float:
    """Universal image quality index, the mean over 8 x 8 sliding windows.

    ``Q = 4 sigma_xy mu_x mu_y / ((sigma_x^2 + sigma_y^2)(mu_x^2 + mu_y^2))`` per window
    (population statistics), averaged over the windows inside the image and over the
    channels. Where both windows are flat Q is ``2 mu_x mu_y / (mu_x^2 + mu_y^2)`` (1 if
    both are black), as in Wang's code. Range [-1, 1]; 1 when identical; similarity.
    With a mask, the mean runs over the windows of kept pixels, and ignored pixels of the
    second image are taken from the first.

    The window placement and border crop are sewar's ``uqi`` (window of pixel ``i``:
    ``i - 4 .. i + 3``; 4 pixels left out on every side). sewar's values differ: it puts
    window means where Wang's code has window sums (``N * mean(xy) - mean(x) mean(y)``
    is not ``N`` times a covariance), which pulls its index towards 1 (0.92 where the
    index is 0.20: the top-left 256 x 256 of scikit-image's camera with Gaussian noise of
    sigma 20 levels). Images narrower than 9 pixels are measured over every window,
    borders mirrored.
    """
    if pair.a.samples8 is not None and pair.b.samples8 is not None:
        value = _windowed_mean(uqi_map_levels, pair, UQI_WINDOW, UQI_WINDOW // 2, scratch=True, samples=True)
    else:
        value = _windowed_mean(uqi_map, pair, UQI_WINDOW, UQI_WINDOW // 2, scratch=True)
    return min(max(value, -1.0), 1.0)


@register(
    "vif",
    kind="similarity",
    lower=0.0,
    upper=math.inf,
    identical=1.0,
    summary="visual information fidelity (pixel domain, 4 scales): share of the first image's information in the second",
    reference="Sheikh, Bovik 2006, Image information and visual quality (VIFp); sewar 0.4.10 full_ref.vifp",
    masked=False,
    symmetric=False,
)
def visual_information_fidelity(pair: FeaturePair, options: MetricOptions) -> float:
    """Pixel-domain visual information fidelity of the second image against the first.

    At 4 scales (Gaussian windows 17, 9, 5, 3 pixels, sigma = size / 5; each scale the
    previous one filtered and subsampled by 2) the second image is modelled as
    ``y = g x + v`` in every window, and::

        VIF = sum log(1 + g^2 sigma_x^2 / (sigma_v^2 + sigma_n^2)) / sum log(1 + sigma_x^2 / sigma_n^2)

    with ``sigma_n^2 = 2`` on 8-bit values, sums over windows and scales. Colour: the
    mean of the channels' VIF. Range [0, inf): 1 when identical, below 1 when
    information is lost, above 1 when contrast is enhanced; similarity, not symmetric.

    Equal to sewar's ``vifp`` on images of at least 41 pixels a side (room for the four
    windows). A window that no longer fits ends the sum (sewar lets SciPy swap image and
    window there); an image narrower than 17 pixels is measured with mirrored borders.
    Where the first image is flat at every scale the ratio is undefined (0 / 0; NaN in
    sewar): 1 if the channels are equal, else 0. A window where the first image is flat
    holds none of its information, so it adds nothing to either sum: a change confined
    to flat parts of the first image (farther inside them than the windows reach) leaves
    VIF within 1e-9 of 1, as in sewar and the paper.

    Channels are measured one at a time and each scale in strips of rows with the
    window's margin, float64 only within a strip: on a 3840 x 2160 colour pair the
    process peaked at 0.48 GB, where whole-image float64 statistics took 2.6 GB.
    """
    if pair.identical:
        return 1.0
    a = _image(pair.a)
    b = _image(pair.b)
    channels = 1 if a.ndim == 2 else a.shape[2]
    values = []
    # one channel at a time, each in strips of rows: the memory beyond the images is a
    # few strips per core and the coarser scales of one channel
    for channel in range(channels):
        x = a if a.ndim == 2 else a[:, :, channel]
        y = b if b.ndim == 2 else b[:, :, channel]
        size = vif_window(1)
        if min(x.shape) < size:
            x = np.pad(x, size // 2, mode="symmetric")
            y = np.pad(y, size // 2, mode="symmetric")
        kept, held = vif_sums(x, y)
        if held > 0.0:
            values.append(kept / held)
        else:
            # a flat reference holds no information to preserve: the ratio is undefined
            values.append(1.0 if np.array_equal(x, y) else 0.0)
    return max(float(np.mean(values)), 0.0)


@register(
    "psnr_b",
    kind="similarity",
    lower=PSNR_B_LOWEST,
    upper=math.inf,
    identical=math.inf,
    unit="dB",
    summary="PSNR with the 8x8 blocking the second image adds beyond the first's (blocking effect factor), on luminance",
    reference=(
        "Yim, Bovik 2011, Quality assessment of deblocked images (PSNR-B), with BEF(B) - BEF(A) in place of BEF(B); "
        "sewar 0.4.10 full_ref.psnrb"
    ),
    masked=False,
    symmetric=False,
)
def psnr_blocking(pair: FeaturePair, options: MetricOptions) -> float:
    """PSNR-B: peak signal-to-noise ratio with a penalty for block edges the second image adds.

    ``PSNR-B = 10 log10(1 / (MSE + max(BEF(B) - BEF(A), 0)))`` on luminance in [0, 1] (the
    same as MAX = 255 on 8-bit values). BEF, the blocking effect factor of an image, is
    ``eta (D_B - D_Bc)`` when the mean squared step across 8 x 8 block boundaries ``D_B``
    exceeds the mean squared step elsewhere ``D_Bc`` (else 0), with
    ``eta = log2(8) / log2(min(height, width))``. Range [-3.01, inf) dB; infinite (null
    in JSON) when identical; similarity, not symmetric (blocking is counted against the
    first image's).

    Yim and Bovik define ``MSE-B = MSE + BEF(B)``: all of the test image's blocking is
    penalised, including what the original has itself (an original that was once JPEG
    compressed, or natural edges that happen to lie on the grid). Compared with itself
    such an image scores ``10 log10(1 / BEF)``, finite (40.6 dB for scikit-image's
    astronaut, 39.1 dB for its camera), so with the paper's formula a change of one
    level in one pixel of the astronaut scores about 40 dB, next to infinity for no
    change at all (a difference of nothing has no error). Here only the blocking the
    second image adds beyond the first's counts, so the value falls continuously from
    infinity as the images move apart. Where the original has no blocking of its own
    (``BEF(A) = 0``, the paper's setting of an uncompressed original, e.g. scikit-image's
    coffee) the value is the paper's; otherwise it is the paper's ``MSE-B`` less the
    constant ``BEF(A)``, so test images of one original rank as in the paper (ties aside
    where the floor at 0 applies). Blocking is not additive:
    next to the block edges of a blocky original a small change moves ``D_B - D_Bc`` to
    first order while the MSE moves to second, so it can score well below the PSNR. On
    128-pixel crops of camera, astronaut and coffee compressed at JPEG quality 10 and 50,
    a one-level change of one pixel, at each of the 64 places of a block, scored 0 to
    22 dB below the PSNR of 90.3 dB (a third to a half of them more than 1 dB below),
    never under 68 dB, where the paper's formula gives 28 to 37 dB.

    sewar's ``psnrb`` is the paper's formula given the luminance, except for its count of
    boundary steps: it divides by ``height * width / 8 - 1`` per direction, not by the
    ``height * (width / 8 - 1)`` steps it sums (the paper's count), which understates
    ``D_B`` on small images. Images narrower than a block take ``eta = 1``.
    """
    import cv2

    a = pair.a.luma
    b = pair.b.luma
    mse = cv2.norm(a, b, cv2.NORM_L2SQR) / a.size
    if mse == 0.0:
        return math.inf
    added = max(blocking_effect_factor(b) - blocking_effect_factor(a), 0.0)
    # MSE and BEF are each at most 1 on [0, 1]; float32 luminance may pass 1 by an ulp
    return max(10.0 * math.log10(1.0 / (mse + added)), PSNR_B_LOWEST)


@register(
    "scc",
    kind="similarity",
    lower=-1.0,
    upper=1.0,
    identical=1.0,
    summary="spatial correlation coefficient: local correlation of Laplacian-filtered images, 8x8 windows",
    reference="Zhou, Civco, Silander 1998 (high-pass correlation); windows and filter of sewar 0.4.10 full_ref.scc",
)
def spatial_correlation_coefficient(pair: FeaturePair, options: MetricOptions) -> float:
    """Spatial correlation coefficient: how well fine detail (edges, texture) matches.

    Both images are filtered by the 8-neighbour Laplacian (mirrored borders), and the
    correlation coefficient of the filtered values is taken in the 8 x 8 window of every
    pixel (zeros outside the image) and averaged over pixels and channels. Range
    [-1, 1]; 1 when identical; similarity. With a mask, the mean runs over kept pixels,
    and ignored pixels of the second image are taken from the first. Like any
    correlation it ignores offsets and gains (``b = 2 a + c`` scores 1 where ``a`` has
    detail).

    Equal to sewar's ``scc`` except in windows where both images are flat (no detail in
    either), where the correlation is undefined: they count as a perfect match, 1, where
    the two images are equal over the window and 0 where they are not (as ``ncc`` treats
    flat images); sewar counts 0 for all of them, so identical images do not score 1. A
    window flat in only one image scores 0 in both. Two flat images of different levels
    (black against white) score 0.
    """
    value = _windowed_mean(scc_map, pair, 0, SCC_REACH)
    return min(max(value, -1.0), 1.0)


@register(
    "sam",
    kind="distance",
    lower=0.0,
    upper=math.pi / 2,
    identical=0.0,
    unit="radians",
    summary="spectral angle mapper: mean angle between the colour vectors of pixels (black against lit: pi/2)",
    reference="Kruse et al. 1993, The spectral image processing system (SIPS); sewar 0.4.10 full_ref.sam",
)
def spectral_angle_mapper(pair: FeaturePair, options: MetricOptions) -> float:
    """Mean spectral angle: the angle between each pixel's colour vectors, averaged.

    ``angle = arccos(a . b / (|a| |b|))`` per pixel, in radians, averaged over the pixels
    that are not black in both images. It measures changes of hue and saturation and
    ignores brightness (``b = 2 a`` gives 0). A black pixel has no direction: against a
    pixel that is not black it counts as a right angle, pi/2 (the two share no
    direction, ``a . b = 0``), so black against any other colour is as far as SAM goes;
    black in both, it is left out. Range [0, pi/2] for non-negative values; 0 when
    identical; distance. A single-channel image is one-band vectors: any two positive
    values are parallel, so only black against non-black counts (black against white:
    pi/2). When every pixel is black in both images the value is 0.

    Equal to sewar's ``sam`` where no pixel is black in only one image; sewar leaves
    those pixels out (and gives NaN when none remains), so an image against a black one
    scores 0 there, as if they were alike.
    """
    a = _image(pair.a)
    [(total, _), (count, _)] = strip_sums(spectral_angle_map, (a, _image(pair.b)), 0, valid_crop(a.shape, 0), pair.mask)
    return min(total / count, math.pi / 2) if count > 0 else 0.0


def _band_statistics(pair: FeaturePair) -> tuple[list[float], list[float]]:
    """Mean squared error and the first image's mean of every channel, over kept pixels."""
    import cv2

    a = _image(pair.a)
    b = _image(pair.b)
    mask = None if pair.mask is None else pair.mask.astype(np.uint8)
    step = cv2.subtract(a, b)
    cv2.multiply(step, step, dst=step)
    channels = 1 if a.ndim == 2 else a.shape[2]
    errors = cv2.mean(step, mask=mask)[:channels]
    means = cv2.mean(a, mask=mask)[:channels]
    return list(errors), list(means)


@register(
    "ergas",
    kind="distance",
    lower=0.0,
    upper=math.inf,
    identical=0.0,
    summary="ERGAS: relative global error, 25 sqrt(mean over channels of (RMSE / first image's mean)^2)",
    reference="Wald 2000, Quality of high resolution synthesised images (ERGAS, h/l = 1/4); sewar 0.4.10 full_ref.ergas",
    symmetric=False,
)
def relative_global_error(pair: FeaturePair, options: MetricOptions) -> float:
    """ERGAS, erreur relative globale adimensionnelle de synthèse.

    ``ERGAS = 100 (h / l) sqrt(1/N sum_k (RMSE_k / mu_k)^2)`` over the N channels, with
    ``RMSE_k`` the root mean squared error of channel k and ``mu_k`` its mean in the
    first image, h / l = 1/4 (sewar's default ``r``). Relative errors: the same on any
    data scale. Range [0, inf); 0 when identical; distance, not symmetric. With a mask,
    over kept pixels. A channel that is black in the first image contributes 0 if it is
    black in the second too (sewar: NaN), else makes ERGAS infinite (as in sewar).
    """
    errors, means = _band_statistics(pair)
    relative = [error / mean**2 if mean > 0 else (math.inf if error > 0 else 0.0) for error, mean in zip(errors, means)]
    return 100.0 * ERGAS_RATIO * math.sqrt(sum(relative) / len(relative))


@register(
    "rase",
    kind="distance",
    lower=0.0,
    upper=math.inf,
    identical=0.0,
    summary="RASE: relative average spectral error in 8x8 windows, 100 RMSE / first image's mean, in percent",
    reference="Ranchin, Wald 2000 (RASE); the sliding windows of sewar 0.4.10 full_ref.rase",
    unit="%",
    symmetric=False,
)
def relative_average_spectral_error(pair: FeaturePair, options: MetricOptions) -> float:
    """Relative average spectral error, averaged over 8 x 8 sliding windows.

    ``RASE = 100 / M sqrt(1/N sum_k MSE_k)`` in each window, with ``MSE_k`` the mean
    squared error of channel k and ``M`` the mean of the first image over the window and
    all N channels; averaged over the windows inside the image (sewar's placement: the
    window of pixel ``i`` spans ``i - 4 .. i + 3``, 4 pixels left out on every side).
    Relative: the same on any data scale. Dark windows weigh heavily. Range [0, inf);
    0 when identical; distance, not symmetric. With a mask, over the windows of kept
    pixels, ignored pixels of the second image taken from the first. A window where the
    first image is black (``M = 0``) has no relative error and counts 0, as in sewar, so a
    change confined to pure black places of the first image does not count; when the
    first image is black everywhere it is compared and the second is not, RASE is
    infinite (sewar: 0, the value of identical images), as a black band makes ERGAS
    infinite. Images narrower than 9 pixels are measured over every window, borders
    mirrored.
    """
    value = _windowed_mean(rase_map, pair, RASE_WINDOW, RASE_WINDOW // 2)
    if value == 0.0 and not pair.identical and not pair.masked(pair.a.pixels).any():
        return math.inf
    return value
