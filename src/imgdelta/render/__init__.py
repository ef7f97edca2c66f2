"""Pictures of results: diff images (and, later, reports). Reads result objects only."""

from .diff import DIFF_STYLES, render_diff

__all__ = ["DIFF_STYLES", "render_diff"]
