"""imgdelta: how different are these two images, and does the difference matter?

The public API. Everything here is stable; modules whose names start with an underscore
are not.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .decide.change import (
    ChangeDetector,
    Decision,
    DetectorSettings,
    NoiseProfile,
    PreparedFrame,
    calibrate_detector,
    has_changed,
)
from .decide.verdict import Rule, Tolerance, Verdict, parse_rule
from .errors import (
    ImgDeltaError,
    InputError,
    OptionError,
    SizeMismatchError,
    SourceLostError,
    StorageError,
    UnknownMetricError,
)
from .features import FeaturePair, Features
from .io.images import LoadedImage, load_image
from .metrics import DEFAULT_METRICS, Metric, MetricOptions, available_metrics, get_metric, register
from .metrics._imagehash import PerceptualHash
from .io.sources import Frame, FrameSource, open_source
from .pipeline import Comparison, FilterResult, WorstPixel, compare, filter_frames
from .preprocess import Alignment, Preprocess

__all__ = [
    "Alignment",
    "ChangeDetector",
    "Comparison",
    "DEFAULT_METRICS",
    "Decision",
    "DetectorSettings",
    "FeaturePair",
    "Features",
    "FilterResult",
    "Frame",
    "FrameSource",
    "ImgDeltaError",
    "InputError",
    "LoadedImage",
    "Metric",
    "MetricOptions",
    "NoiseProfile",
    "OptionError",
    "PerceptualHash",
    "PreparedFrame",
    "Preprocess",
    "Rule",
    "SizeMismatchError",
    "SourceLostError",
    "StorageError",
    "Tolerance",
    "UnknownMetricError",
    "Verdict",
    "WorstPixel",
    "available_metrics",
    "calibrate_detector",
    "compare",
    "filter_frames",
    "get_metric",
    "has_changed",
    "load_image",
    "open_source",
    "parse_rule",
    "register",
]
