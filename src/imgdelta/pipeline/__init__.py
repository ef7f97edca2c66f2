"""The orchestration: compare two images, filter a sequence of frames. Nothing else.

Each half is imported on first use, so that ``imgdelta filter`` does not load the metrics
that only ``compare`` needs.
"""

from typing import TYPE_CHECKING

from .._lazy import exports_loader

if TYPE_CHECKING:
    from .comparison import Comparison, WorstPixel, compare, json_number, measure
    from .difference import Difference, diff
    from .filter import FilterResult, KeptFrame, filter_frames, open_run

_EXPORTS = {
    "Comparison": ".comparison",
    "WorstPixel": ".comparison",
    "compare": ".comparison",
    "json_number": ".comparison",
    "measure": ".comparison",
    "Difference": ".difference",
    "diff": ".difference",
    "FilterResult": ".filter",
    "KeptFrame": ".filter",
    "filter_frames": ".filter",
    "open_run": ".filter",
}
__all__ = sorted(_EXPORTS)


__getattr__ = exports_loader(__name__, _EXPORTS, globals())
