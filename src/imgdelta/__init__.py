"""imgdelta: how different are these two images, and does the difference matter?

The public API. Everything here is stable; modules whose names start with an underscore
are not.
"""

from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING

from ._lazy import exports_loader

if TYPE_CHECKING:
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
    from .dedupe import DuplicateGroup, DuplicateReport, find_duplicates
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
    from .metrics.background import BackgroundModel
    from .pipeline.background import compare_background
    from .io.sources import Frame, FrameSource, open_source
    from .pipeline import Comparison, FilterResult, WorstPixel, compare, filter_frames
    from .preprocess import Alignment, Preprocess

#: Where each public name lives. They are imported on first use, so that ``imgdelta``'s
#: commands load only what they need: starting Python is part of every command's time.
_EXPORTS = {
    "Alignment": ".preprocess",
    "BackgroundModel": ".metrics.background",
    "ChangeDetector": ".decide.change",
    "Comparison": ".pipeline",
    "DEFAULT_METRICS": ".metrics",
    "Decision": ".decide.change",
    "DetectorSettings": ".decide.change",
    "DuplicateGroup": ".dedupe",
    "DuplicateReport": ".dedupe",
    "FeaturePair": ".features",
    "Features": ".features",
    "FilterResult": ".pipeline",
    "Frame": ".io.sources",
    "FrameSource": ".io.sources",
    "ImgDeltaError": ".errors",
    "InputError": ".errors",
    "LoadedImage": ".io.images",
    "Metric": ".metrics",
    "MetricOptions": ".metrics",
    "NoiseProfile": ".decide.change",
    "OptionError": ".errors",
    "PerceptualHash": ".metrics._imagehash",
    "PreparedFrame": ".decide.change",
    "Preprocess": ".preprocess",
    "Rule": ".decide.verdict",
    "SizeMismatchError": ".errors",
    "SourceLostError": ".errors",
    "StorageError": ".errors",
    "Tolerance": ".decide.verdict",
    "UnknownMetricError": ".errors",
    "Verdict": ".decide.verdict",
    "WorstPixel": ".pipeline",
    "available_metrics": ".metrics",
    "calibrate_detector": ".decide.change",
    "compare": ".pipeline",
    "compare_background": ".pipeline.background",
    "filter_frames": ".pipeline",
    "find_duplicates": ".dedupe",
    "get_metric": ".metrics",
    "has_changed": ".decide.change",
    "load_image": ".io.images",
    "open_source": ".io.sources",
    "parse_rule": ".decide.verdict",
    "register": ".metrics",
}


__all__ = sorted(_EXPORTS)


__getattr__ = exports_loader(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
