"""The orchestration: compare two images, filter a sequence of frames. Nothing else."""

from .compare import Comparison, WorstPixel, compare, json_number, measure
from .filter import FilterResult, KeptFrame, filter_frames, open_run

__all__ = [
    "Comparison",
    "FilterResult",
    "KeptFrame",
    "WorstPixel",
    "compare",
    "filter_frames",
    "json_number",
    "measure",
    "open_run",
]
