"""imgdelta: how different are these two images, and does the difference matter?

The public API. Everything here is stable; modules whose names start with an underscore
are not.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .decide.verdict import Rule, Tolerance, Verdict, parse_rule
from .errors import ImgDeltaError, InputError, OptionError, SizeMismatchError, UnknownMetricError
from .features import FeaturePair, Features
from .io.images import LoadedImage, load_image
from .metrics import DEFAULT_METRICS, Metric, MetricOptions, available_metrics, get_metric, register
from .metrics._imagehash import PerceptualHash
from .pipeline import Comparison, WorstPixel, compare
from .preprocess import Alignment, Preprocess

__all__ = [
    "Alignment",
    "Comparison",
    "DEFAULT_METRICS",
    "FeaturePair",
    "Features",
    "ImgDeltaError",
    "InputError",
    "LoadedImage",
    "Metric",
    "MetricOptions",
    "OptionError",
    "PerceptualHash",
    "Preprocess",
    "Rule",
    "SizeMismatchError",
    "Tolerance",
    "UnknownMetricError",
    "Verdict",
    "WorstPixel",
    "available_metrics",
    "compare",
    "get_metric",
    "load_image",
    "parse_rule",
    "register",
]
