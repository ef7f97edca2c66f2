"""Pixel norms: mean and largest absolute error, squared error, PSNR, changed share.

All are computed over every pixel and channel that the mask keeps, on the [0, 1] scale that
:mod:`imgdelta.io` produces from the file's declared bit depth, so they are comparable
between 8- and 16-bit files.
"""

from __future__ import annotations

import math

import numpy as np

from ..features import FeaturePair
from . import MetricOptions, register


@register(
    "mae",
    kind="distance",
    lower=0.0,
    upper=1.0,
    identical=0.0,
    summary="mean absolute difference over pixels and channels (diffimg's ratio)",
    reference="mean(|a - b|); equals diffimg's difference ratio",
)
def mean_absolute_error(pair: FeaturePair, options: MetricOptions) -> float:
    return pair.mean_abs


@register(
    "mse",
    kind="distance",
    lower=0.0,
    upper=1.0,
    identical=0.0,
    summary="mean squared difference",
    reference="mean((a - b)^2); skimage.metrics.mean_squared_error",
)
def mean_squared_error(pair: FeaturePair, options: MetricOptions) -> float:
    return pair.mean_squared


@register(
    "rmse",
    kind="distance",
    lower=0.0,
    upper=1.0,
    identical=0.0,
    summary="root mean squared difference",
    reference="sqrt(mse); skimage.metrics.normalized_root_mse with normalization='none'",
)
def root_mean_squared_error(pair: FeaturePair, options: MetricOptions) -> float:
    return math.sqrt(pair.mean_squared)


@register(
    "max_abs",
    kind="distance",
    lower=0.0,
    upper=1.0,
    identical=0.0,
    summary="largest absolute difference of any pixel and channel",
    reference="max(|a - b|); the 'max error' of OpenImageIO idiff",
)
def max_absolute_error(pair: FeaturePair, options: MetricOptions) -> float:
    return pair.max_abs


@register(
    "psnr",
    kind="similarity",
    lower=0.0,
    upper=math.inf,
    identical=math.inf,
    unit="dB",
    summary="peak signal-to-noise ratio, 10 log10(1 / mse); infinite (null in JSON) when identical",
    reference="skimage.metrics.peak_signal_noise_ratio with data_range=1",
)
def peak_signal_noise_ratio(pair: FeaturePair, options: MetricOptions) -> float:
    mse = pair.mean_squared
    return math.inf if mse == 0.0 else 10.0 * math.log10(1.0 / mse)


@register(
    "changed_fraction",
    kind="distance",
    lower=0.0,
    upper=1.0,
    identical=0.0,
    summary="share of pixels whose largest channel difference exceeds the tolerance",
    reference="count(max_c |a - b| > tolerance) / pixels",
)
def changed_fraction(pair: FeaturePair, options: MetricOptions) -> float:
    errors = pair.masked(pair.pixel_error)
    return float(np.count_nonzero(errors > np.float32(options.tolerance))) / errors.size
