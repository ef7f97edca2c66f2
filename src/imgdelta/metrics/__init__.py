"""The metric registry: every way imgdelta quantifies difference, each registered once.

A metric is a small function ``(pair, options) -> float`` over a
:class:`~imgdelta.features.FeaturePair` (two preprocessed images of one shape, the mask and
the arrays derived from them), plus a :class:`Metric` record that
says what the number means: distance or similarity, its range, its value on identical
images, and where its definition comes from. Deciders and reports read the record and never
special-case a metric.

Adding a metric is one function in one module of this package, decorated with
:func:`register`. Modules are found and imported on first use of the registry, so start-up
stays light; heavy libraries are imported inside the functions that need them.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable, Literal

from ..errors import OptionError, UnknownMetricError
from ..features import FeaturePair

__all__ = [
    "DEFAULT_METRICS",
    "Metric",
    "MetricOptions",
    "available_metrics",
    "get_metric",
    "register",
]

#: The set ``imgdelta compare`` prints when no metric is chosen: cheap and informative.
DEFAULT_METRICS: tuple[str, ...] = ("mae", "rmse", "psnr", "ssim", "max_abs", "changed_fraction")


@dataclass(frozen=True)
class MetricOptions:
    """Parameters some metrics take. One object, one set of defaults, used by API and CLI.

    Attributes
    ----------
    tolerance : float
        ``changed_fraction``: a pixel changed when its largest channel difference exceeds
        this, on the [0, 1] scale (0.05 is about 13 levels of 255).
    pixelmatch_threshold : float
        ``pixelmatch``: matching threshold in [0, 1]; smaller is more sensitive.
    include_aa : bool
        ``pixelmatch``: count anti-aliased pixels as differences.
    jpeg_quality : int
        ``jpeg_size``: quality both images are encoded at.
    """

    tolerance: float = 0.05
    pixelmatch_threshold: float = 0.1
    include_aa: bool = False
    jpeg_quality: int = 75

    def __post_init__(self) -> None:
        if not 0.0 <= self.tolerance <= 1.0:
            raise OptionError(f"tolerance={self.tolerance} must lie in [0, 1] (the image scale)")
        if not 0.0 <= self.pixelmatch_threshold <= 1.0:
            raise OptionError(f"pixelmatch threshold={self.pixelmatch_threshold} must lie in [0, 1]")
        if not 1 <= int(self.jpeg_quality) <= 100:
            raise OptionError(f"jpeg_quality={self.jpeg_quality} must lie in 1..100")


Compute = Callable[[FeaturePair, MetricOptions], float]


@dataclass(frozen=True)
class Metric:
    """What a registered metric computes and how to read its number.

    Attributes
    ----------
    name : str
        The name used on the command line and in JSON.
    compute : callable
        ``compute(pair, options) -> float``.
    kind : {"distance", "similarity"}
        Distance: larger means more different. Similarity: larger means more alike.
    lower, upper : float
        Range of the value (``upper`` may be ``inf``).
    identical : float
        Value on two identical images.
    summary : str
        One line for tables and ``--help``.
    reference : str
        Where the definition comes from.
    unit : str
        Unit of the value, if any ("dB", "bits", "pixels").
    masked : bool
        Whether ``compute`` honours a mask itself. For metrics that cannot (hashes, file
        sizes), the pipeline makes ignored pixels of the second image equal to the first's.
    """

    name: str
    compute: Compute = field(repr=False)
    kind: Literal["distance", "similarity"]
    lower: float
    upper: float
    identical: float
    summary: str
    reference: str
    unit: str = ""
    masked: bool = True

    def differs(self, value: float | None) -> bool:
        """True when ``value`` is different from the value on identical images."""
        if value is None:  # PSNR of identical images is infinite
            return False
        return bool(value != self.identical)


_REGISTRY: dict[str, Metric] = {}
_loaded = False


def register(
    name: str,
    *,
    kind: Literal["distance", "similarity"],
    lower: float,
    upper: float,
    identical: float,
    summary: str,
    reference: str,
    unit: str = "",
    masked: bool = True,
) -> Callable[[Compute], Compute]:
    """Decorator that registers ``compute`` under ``name``. Names are unique."""

    def decorator(compute: Compute) -> Compute:
        if name in _REGISTRY:
            raise RuntimeError(f"metric {name!r} is registered twice")
        _REGISTRY[name] = Metric(
            name=name,
            compute=compute,
            kind=kind,
            lower=lower,
            upper=upper,
            identical=identical,
            summary=summary,
            reference=reference,
            unit=unit,
            masked=masked,
        )
        return compute

    return decorator


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    _loaded = True


def available_metrics() -> dict[str, Metric]:
    """All registered metrics by name, sorted."""
    _load_all()
    return dict(sorted(_REGISTRY.items()))


def get_metric(name: str) -> Metric:
    """The metric registered as ``name``.

    Raises
    ------
    UnknownMetricError
        No such metric; the message lists the known names.
    """
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise UnknownMetricError(f"unknown metric {name!r}; known metrics: {known}") from None
