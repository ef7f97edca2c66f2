"""The HTML report of a filter or capture run: one self-contained file, readable offline.

It holds a plot of the change score over the run with the threshold and the kept frames,
a gallery of kept frames with their heatmaps against the frame kept before and the
reasons, the settings and calibration, and the run's figures. Long runs stay usable: the
plot keeps at most ``max_points`` points (the largest score of each stretch, so no peak
is lost) and the gallery at most ``max_gallery`` frames, evenly chosen. Every name is
escaped; pictures are embedded as small JPEG thumbnails, so the file can be moved alone.
The run's folder is only read.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import time
from pathlib import Path

import numpy as np

__all__ = ["build_report", "peaks"]

_WIDTH, _HEIGHT, _PAD = 960, 260, 40


def _thumbnail(pixels: np.ndarray, size: int) -> str:
    """A data: URL of a JPEG thumbnail of uint8 or float RGB pixels."""
    from PIL import Image

    if pixels.dtype != np.uint8:
        pixels = (np.clip(pixels, 0, 1) * 255 + 0.5).astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    image = Image.fromarray(pixels)
    image.thumbnail((size, size))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _when(seconds: float) -> str:
    """A clock time for wall-clock times (live grabs, file times), seconds for video positions."""
    if seconds > 1e8:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))
    return f"t = {seconds:.3f} s"


def peaks(xs: np.ndarray, ys: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``limit`` points: the largest ``ys`` of each stretch, so no peak is lost."""
    if len(xs) <= limit:
        return xs, ys
    edges = np.linspace(0, len(xs), limit + 1).astype(int)
    keep = [start + int(np.argmax(ys[start:stop])) for start, stop in zip(edges[:-1], edges[1:]) if stop > start]
    return xs[keep], ys[keep]


def _plot(idx: np.ndarray, score: np.ndarray, threshold: float | None, kept: np.ndarray, limit: int) -> str:
    """An inline SVG of the score over the run."""
    if len(idx) == 0:
        return "<p>No frame was judged.</p>"
    finite = np.isfinite(score)
    top = max(float(np.max(score[finite])) if finite.any() else 0.0, (threshold or 0.0) * 1.5, 1e-9)
    # a logarithmic axis from a twentieth of the threshold: a keep just over it stays
    # visible beside a light switched on, which scores a hundred times more
    bottom = max(min((threshold or top) / 20, top / 10), 1e-9)
    first, last = float(idx[0]), float(max(idx[-1], idx[0] + 1))
    span = math.log(top / bottom)

    def x(value: float) -> float:
        return _PAD + (value - first) / (last - first) * (_WIDTH - 2 * _PAD)

    def y(value: float) -> float:
        height = math.log(min(max(value, bottom), top) / bottom) / span
        return _HEIGHT - _PAD - height * (_HEIGHT - 2 * _PAD)

    xs, ys = peaks(idx[finite], score[finite], limit)
    points = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in zip(xs, ys))
    parts = [
        f'<svg id="score-plot" viewBox="0 0 {_WIDTH} {_HEIGHT}" width="100%" role="img" aria-label="change score over the run">',
        f'<line x1="{_PAD}" y1="{_HEIGHT - _PAD}" x2="{_WIDTH - _PAD}" y2="{_HEIGHT - _PAD}" class="axis"/>',
        f'<polyline points="{points}" class="score"/>',
    ]
    if threshold is not None and math.isfinite(threshold):
        parts.append(f'<line x1="{_PAD}" y1="{y(threshold):.1f}" x2="{_WIDTH - _PAD}" y2="{y(threshold):.1f}" class="threshold"/>')
    for value in kept:
        parts.append(f'<line x1="{x(value):.1f}" y1="{_PAD / 2}" x2="{x(value):.1f}" y2="{_HEIGHT - _PAD}" class="kept"/>')
    parts.append(f'<text x="{_PAD}" y="{_HEIGHT - 8}">frame {int(first)}</text>')
    parts.append(f'<text x="{_WIDTH - _PAD}" y="{_HEIGHT - 8}" text-anchor="end">frame {int(idx[-1])}</text>')
    parts.append(f'<text x="{_PAD}" y="{_PAD / 2 - 4}">score, logarithmic from {bottom:.2g} to {top:.4g}; dashed: threshold; green: kept</text>')
    parts.append("</svg>")
    return "\n".join(parts)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table.figures td { padding: 0.15em 1em 0.15em 0; }
svg .axis { stroke: #999; } svg .score { fill: none; stroke: #3465a4; stroke-width: 1.2; }
svg .threshold { stroke: #cc0000; stroke-dasharray: 6 4; } svg .kept { stroke: #4e9a06; stroke-opacity: 0.5; }
svg text { font-size: 12px; fill: #555; }
.gallery { display: flex; flex-wrap: wrap; gap: 1em; }
.card { width: 330px; border: 1px solid #ddd; padding: 0.5em; }
.card img { width: 100%; display: block; } .card .heat { display: none; }
.card.show-heat .frame { display: none; } .card.show-heat .heat { display: block; }
.card p { margin: 0.3em 0; font-size: 0.85em; word-break: break-all; }
pre { background: #f4f4f4; padding: 0.8em; overflow-x: auto; }
"""

_SCRIPT = """
document.querySelectorAll('.card').forEach(function (card) {
  card.addEventListener('click', function () { card.classList.toggle('show-heat'); });
});
"""


def build_report(run_dir: str | Path, *, max_points: int = 2000, max_gallery: int = 200, thumbnail: int = 320) -> str:
    """The report of the run in ``run_dir`` as an HTML document (a string).

    Raises
    ------
    InputError
        ``run_dir`` is missing or holds no manifest.
    StorageError
        Its manifest is not an imgdelta manifest.
    """
    from ..errors import InputError
    from ..io.images import load_image
    from ..pipeline.difference import diff
    from ..store import Manifest
    from .diff import render_diff

    folder = Path(run_dir)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder (give the output folder of imgdelta filter or capture)")
    with Manifest.open(folder, create=False, read_only=True) as manifest:
        rows = list(manifest.rows())
        counts = manifest.counts()
        run = manifest.get_setting("run", {}) or {}
        calibration = manifest.get_setting("calibration")
    idx = np.array([r.idx for r in rows], dtype=np.float64)
    score = np.array([r.score if r.score is not None else np.nan for r in rows], dtype=np.float64)
    thresholds = [r.threshold for r in rows if r.threshold is not None and math.isfinite(r.threshold)]
    threshold = float(np.median(thresholds)) if thresholds else None
    kept = [r for r in rows if r.decision == "keep"]
    shown = kept if len(kept) <= max_gallery else [kept[int(i)] for i in np.linspace(0, len(kept) - 1, max_gallery)]

    cards = []
    # each shown frame's heatmap is against the frame kept just before it
    before = {id(record): kept[i - 1] if i else None for i, record in enumerate(kept)}
    for record in shown:
        if not record.kept_name:
            continue
        path = folder / record.kept_name
        earlier = before[id(record)]
        previous_path = folder / earlier.kept_name if earlier is not None and earlier.kept_name else None
        try:
            frame = load_image(path, draft_size=thumbnail)
            frame_url = _thumbnail(frame.pixels, thumbnail)
            heat_url = None
            if previous_path is not None:
                heat = render_diff(diff(previous_path, path, analysis_size=thumbnail), "heatmap")
                heat_url = _thumbnail(heat, thumbnail)
        except Exception as exc:  # a kept file the user removed or broke must not stop the report
            cards.append(f'<div class="card"><p>{html.escape(record.kept_name)}: cannot show ({html.escape(str(exc))})</p></div>')
            continue
        when = f"frame {record.idx}" + (f", {_when(record.time)}" if record.time is not None else "")
        heat_img = f'<img class="heat" alt="heatmap" src="{heat_url}">' if heat_url else '<p class="heat">first kept frame: no heatmap</p>'
        cards.append(
            f'<div class="card" title="click: frame / heatmap"><img class="frame" alt="{html.escape(record.kept_name)}" src="{frame_url}">'
            f"{heat_img}<p><b>{html.escape(record.kept_name)}</b> ({html.escape(when)})</p>"
            f"<p>{html.escape(record.reason)}</p></div>"
        )

    span = [r.time for r in rows if r.time is not None]
    figures = [
        ("source", run.get("source", "?")),
        ("frames", counts["total"]),
        ("kept", f"{counts['kept']} ({100 * counts['kept'] / counts['total']:.1f}%)" if counts["total"] else "0"),
        ("skipped", counts["skipped"]),
        ("unreadable", counts["errors"]),
        ("time span", f"{max(span) - min(span):.1f} s" if len(span) > 1 else "-"),
        ("threshold (median)", f"{threshold:.4g}" if threshold is not None else "-"),
    ]
    table = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in figures)
    settings = json.dumps(run.get("settings", {}), indent=1, sort_keys=True)
    calibrated = json.dumps(calibration, indent=1, sort_keys=True) if calibration else "not calibrated"
    note = f"<p>Showing {len(shown)} of {len(kept)} kept frames, evenly spread.</p>" if len(shown) < len(kept) else ""
    title = f"imgdelta run: {run.get('source', folder.name)}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n<table class=\"figures\">{table}</table>\n"
        f"<h2>Change score over the run</h2>\n{_plot(idx, score, threshold, np.array([r.idx for r in kept], float), max_points)}\n"
        f"<h2>Kept frames</h2><p>Click a frame to see where it changed from the frame kept before.</p>{note}\n"
        f'<div class="gallery" id="gallery">{"".join(cards)}</div>\n'
        f"<h2>Settings</h2><pre>{html.escape(settings)}</pre>\n<h2>Calibration</h2><pre>{html.escape(calibrated)}</pre>\n"
        f"<p>Made by imgdelta on {html.escape(time.strftime('%Y-%m-%d %H:%M'))}.</p>\n"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )
