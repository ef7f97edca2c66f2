"""Orchestration: load, preprocess, measure, judge. Nothing else lives here."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from ..decide.verdict import Tolerance, Verdict, judge
from ..errors import OptionError
from ..features import Features, FeaturePair
from ..io.images import DEFAULT_MAX_PIXELS, ImageInput, load_image
from ..metrics import DEFAULT_METRICS, MetricOptions, get_metric, metric_names
from ..preprocess import Alignment, Preprocess, prepare_pair

__all__ = ["Comparison", "WorstPixel", "compare", "json_number"]


@dataclass(frozen=True)
class WorstPixel:
    """The pixel with the largest error, in the compared (preprocessed) images' coordinates."""

    x: int
    y: int
    error: float
    a: tuple[float, ...]
    b: tuple[float, ...]

    def to_dict(self) -> dict:
        return {"x": self.x, "y": self.y, "error": self.error, "a": list(self.a), "b": list(self.b)}


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`.

    Attributes
    ----------
    a, b : str
        What was compared (paths, or descriptions of in-memory images).
    size : (int, int)
        Width and height of the compared images, after preprocessing.
    channels : int
        1 for luminance, 3 for colour.
    metrics : dict
        Metric values by name, in the order asked. PSNR of identical images is ``inf``.
    identical : bool
        True when every compared pixel is equal.
    worst_pixel : WorstPixel or None
        Where the largest difference is; None when identical.
    alignment : Alignment or None
        The shift found when alignment was asked for.
    verdict : Verdict or None
        PASS/WARN/FAIL when a tolerance or rule was given, else None.
    """

    a: str
    b: str
    size: tuple[int, int]
    channels: int
    metrics: dict[str, float]
    identical: bool
    worst_pixel: WorstPixel | None = None
    alignment: Alignment | None = None
    verdict: Verdict | None = None
    compared_pixels: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def exit_code(self) -> int:
        """0 same or passing, 1 when a verdict failed (``cmp`` convention)."""
        return 1 if self.verdict is not None and self.verdict.failed else 0

    def to_dict(self) -> dict:
        """A JSON-ready dict: non-finite numbers become None."""
        return {
            "a": self.a,
            "b": self.b,
            "size": list(self.size),
            "channels": self.channels,
            "compared_pixels": self.compared_pixels,
            "identical": self.identical,
            "metrics": {name: json_number(value) for name, value in self.metrics.items()},
            "worst_pixel": self.worst_pixel.to_dict() if self.worst_pixel else None,
            "alignment": self.alignment.to_dict() if self.alignment else None,
            "verdict": self.verdict.to_dict() if self.verdict else None,
        }


def json_number(value: float | int | None) -> float | int | None:
    """``value`` if it is a finite number, else None (JSON has no NaN or Infinity)."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def _worst_pixel(pair: FeaturePair) -> WorstPixel | None:
    errors = pair.pixel_error
    if pair.mask is not None:
        errors = np.where(pair.mask, errors, np.float32(-1.0))
    index = int(np.argmax(errors))
    y, x = divmod(index, errors.shape[1])
    error = float(errors[y, x])
    if error <= 0.0:
        return None

    def values(features: Features) -> tuple[float, ...]:
        return tuple(round(float(v), 6) for v in features.pixels[y, x])

    return WorstPixel(x=x, y=y, error=round(error, 6), a=values(pair.a), b=values(pair.b))


def _unmasked_pair(pair: FeaturePair) -> FeaturePair:
    """The pair with ignored pixels of the second image set to the first's.

    For metrics that cannot restrict themselves to a mask (hashes, file sizes), making the
    ignored pixels equal removes their contribution to the difference.
    """
    if pair.mask is None:
        return pair
    keep = pair.mask[:, :, None]
    b = np.where(keep, pair.b.pixels, pair.a.pixels)
    b8 = np.where(keep, pair.b.samples8, pair.a.samples8) if pair.a.samples8 is not None and pair.b.samples8 is not None else None
    return FeaturePair(pair.a, Features(b, b8), None)


def measure(pair: FeaturePair, names: Iterable[str], options: MetricOptions) -> dict[str, float]:
    """Compute the named metrics on a prepared pair.

    A metric with further figures reports them all, after its main value; a figure asked
    for alone reports only itself. Each computation runs once, however many of its
    figures are asked for.
    """
    metrics = [get_metric(name) for name in names]
    unmasked: FeaturePair | None = None
    measured: dict[str, dict[str, float]] = {}
    values: dict[str, float] = {}
    for metric in metrics:
        root = get_metric(metric.parent) if metric.parent else metric
        if root.name not in measured:
            target = pair
            if not root.masked and pair.mask is not None:
                unmasked = unmasked or _unmasked_pair(pair)
                target = unmasked
            measured[root.name] = root.measure(target, options)
        if metric.parent:
            values[metric.name] = measured[root.name][metric.name]
        else:
            values.update(measured[root.name])
    return values


def compare(
    a: ImageInput,
    b: ImageInput,
    *,
    metrics: Iterable[str] | None = None,
    preprocess: Preprocess = Preprocess(),
    options: MetricOptions = MetricOptions(),
    tolerance: Tolerance | None = None,
    alpha: str | tuple[float, float, float] | None = "black",
    data_range: float | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Comparison:
    """How different are ``a`` and ``b``?

    Parameters
    ----------
    a, b : path, bytes, PIL image, NumPy array or LoadedImage
        The images. Arrays other than uint8 need ``data_range``.
    metrics : str or iterable of str, optional
        Metric names (see :func:`imgdelta.available_metrics`), each string a name or
        comma-separated names, ``"all"`` for every metric; defaults to
        :data:`imgdelta.metrics.DEFAULT_METRICS`. Rules in ``tolerance`` add the metrics
        they name.
    preprocess : Preprocess
        Steps applied identically to both images (resize policy, crop, masks, ...).
    options : MetricOptions
        Parameters of individual metrics (tolerance, pixelmatch threshold, ...).
    tolerance : Tolerance, optional
        Limits for a PASS/WARN/FAIL verdict; without it no verdict is made.
    alpha : str or tuple
        Background for transparent pixels, or "ignore" (see :func:`imgdelta.load_image`).
    data_range : float, optional
        Largest value of array inputs that are not uint8.
    max_pixels : int or None
        Decompression-bomb guard for files.

    Returns
    -------
    Comparison
    """
    names = metric_names(metrics if metrics is not None else DEFAULT_METRICS)
    if tolerance is not None:
        names += [rule.metric for rule in tolerance.rules if rule.metric not in names]
    if not names:
        raise OptionError("no metric chosen: name at least one, or leave the default set")
    for name in names:
        get_metric(name)  # unknown names fail before any decoding
    first = load_image(a, alpha=alpha, data_range=data_range, max_pixels=max_pixels)
    second = load_image(b, alpha=alpha, data_range=data_range, max_pixels=max_pixels)
    prepared = prepare_pair(first, second, preprocess)
    pair = FeaturePair(Features(prepared.a, prepared.a8), Features(prepared.b, prepared.b8), prepared.mask)
    values = measure(pair, names, options)
    verdict = None
    if tolerance is not None and tolerance.active:
        verdict = judge(pair.masked(pair.pixel_error), values, tolerance)
    height, width = pair.a.shape
    return Comparison(
        a=first.source,
        b=second.source,
        size=(width, height),
        channels=int(prepared.a.shape[2]),
        metrics=values,
        identical=pair.identical,
        worst_pixel=_worst_pixel(pair),
        alignment=prepared.alignment,
        verdict=verdict,
        compared_pixels=int(pair.mask.sum()) if pair.mask is not None else width * height,
    )
