"""Pictures of results: diff images and run reports. Reads results and manifests only."""

from .diff import DIFF_STYLES, render_diff
from .report import build_report

__all__ = ["DIFF_STYLES", "build_report", "render_diff"]
