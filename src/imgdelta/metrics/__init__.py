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

Some metrics give several figures from one computation (optical flow: mean, largest and the
moving share). Such a metric is registered with ``figures``: its function returns a dict of
every figure by full name (``flow``, ``flow_max``, ...), each figure is a metric of its own in
the registry (so it can be asked for, ruled on and chosen by the filter), and asking for the
main name reports all of them from one computation.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable, Iterable, Literal, Mapping

from ..errors import OptionError, UnknownMetricError
from ..features import FeaturePair

__all__ = [
    "DEFAULT_METRICS",
    "Figure",
    "Metric",
    "MetricOptions",
    "available_metrics",
    "get_metric",
    "metric_names",
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
ComputeFigures = Callable[[FeaturePair, MetricOptions], Mapping[str, float]]


@dataclass(frozen=True)
class Figure:
    """How to read a further figure of a metric registered with ``figures``.

    The figure is registered as ``<metric>_<suffix>``, with these attributes and the
    metric's reference; see :class:`Metric` for their meaning.
    """

    kind: Literal["distance", "similarity"]
    lower: float
    upper: float
    identical: float
    summary: str
    unit: str = ""
    symmetric: bool = True


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
    symmetric : bool
        Whether swapping the two images leaves the value unchanged. With a mask or ignored
        regions, metrics that look past single pixels (windows, hashes, descriptors) see
        the second image's ignored pixels taken from the first, so swapping the images
        changes what fills them, and the value may change with it.
    parent : str or None
        For a further figure of a metric registered with ``figures``: that metric's name.
    figures : tuple of str
        For a metric registered with ``figures``: the names of its further figures.
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
    symmetric: bool = True
    parent: str | None = None
    figures: tuple[str, ...] = ()
    compute_figures: ComputeFigures | None = field(default=None, repr=False, compare=False)

    def measure(self, pair: FeaturePair, options: MetricOptions) -> dict[str, float]:
        """This metric's value by name, and those of its further figures, from one computation."""
        if self.compute_figures is None:
            return {self.name: self.compute(pair, options)}
        return dict(self.compute_figures(pair, options))

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
    symmetric: bool = True,
    figures: Mapping[str, Figure] | None = None,
):
    """Decorator that registers ``compute`` under ``name``. Names are unique.

    Without ``figures`` the decorated function returns the value, a float. With ``figures``
    (suffix -> :class:`Figure`) it returns a dict holding ``name`` and every
    ``name_suffix``, and each of those is registered as a metric too.
    """
    extra = {f"{name}_{suffix}": figure for suffix, figure in (figures or {}).items()}

    def decorator(function):
        for registered in (name, *extra):
            if registered in _REGISTRY:
                raise RuntimeError(f"metric {registered!r} is registered twice")
        record = dict(
            name=name,
            kind=kind,
            lower=lower,
            upper=upper,
            identical=identical,
            summary=summary,
            reference=reference,
            unit=unit,
            masked=masked,
            symmetric=symmetric,
        )
        if not extra:
            _REGISTRY[name] = Metric(compute=function, **record)
            return function
        expected = {name, *extra}

        def compute_figures(pair: FeaturePair, options: MetricOptions) -> Mapping[str, float]:
            values = function(pair, options)
            if set(values) != expected:
                raise RuntimeError(f"metric {name!r} returned {sorted(values)}, not {sorted(expected)}")
            return values

        def one_figure(figure_name: str) -> Compute:
            def compute(pair: FeaturePair, options: MetricOptions) -> float:
                return compute_figures(pair, options)[figure_name]

            compute.__name__ = figure_name
            return compute

        _REGISTRY[name] = Metric(compute=one_figure(name), figures=tuple(extra), compute_figures=compute_figures, **record)
        for figure_name, figure in extra.items():
            _REGISTRY[figure_name] = Metric(
                name=figure_name,
                compute=one_figure(figure_name),
                kind=figure.kind,
                lower=figure.lower,
                upper=figure.upper,
                identical=figure.identical,
                summary=figure.summary,
                reference=reference,
                unit=figure.unit,
                masked=masked,
                symmetric=figure.symmetric,
                parent=name,
            )
        return function

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


def metric_names(metrics: str | Iterable[str]) -> list[str]:
    """The names in ``metrics``: one string or several, each a name or comma-separated
    names; ``"all"`` stands for every registered metric. Order kept, repeats dropped."""
    values = [metrics] if isinstance(metrics, str) else list(metrics)
    names = [name.strip() for value in values for name in str(value).split(",") if name.strip()]
    if "all" in names:
        return list(available_metrics())
    return list(dict.fromkeys(names))


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
