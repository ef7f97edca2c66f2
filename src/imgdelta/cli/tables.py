"""Readable tables for people; JSON is printed by the commands themselves."""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from ..metrics import Metric
from ..pipeline import Comparison


#: Control characters as escapes, so that a file name holding a newline or a tab stays on
#: its row and in its column.
_VISIBLE = {code: f"\\x{code:02x}" for code in [*range(32), 127]} | {9: "\\t", 10: "\\n", 13: "\\r"}


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces, with a header line."""
    cells = [[str(c).translate(_VISIBLE) for c in header]] + [[str(c).translate(_VISIBLE) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def format_value(value: float | None) -> str:
    if value is None:
        return "inf"  # JSON's stand-in for an infinite PSNR
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1:
        return str(int(value))
    return f"{value:.6g}"


def with_unit(value: float | None, unit: str | None) -> str:
    """The value and its unit, singular for exactly one ("1 bit", "2 bits")."""
    text = format_value(value)
    if not unit:
        return text
    if text in ("1", "-1") and unit.endswith("s"):
        unit = unit[:-1]
    return f"{text} {unit}"


def _range(metric: Metric) -> str:
    return f"{format_value(metric.lower)}..{format_value(metric.upper)}"


def comparison_table(result: Comparison) -> str:
    from ..metrics import get_metric

    width, height = result.size
    kind = "gray" if result.channels == 1 else "colour"
    lines = [f"{result.a}  vs  {result.b}  ({width}x{height}, {kind}, {result.compared_pixels} pixels compared)"]
    if result.alignment is not None:
        a = result.alignment
        lines.append(f"aligned by {a.method}: B was shifted by dx={a.dx:+.2f}, dy={a.dy:+.2f} pixels")
    rows = []
    for name, value in result.metrics.items():
        metric = get_metric(name)
        if metric.kind == "distance" and metric.lower < metric.identical:
            direction = f"{format_value(metric.identical)} when identical, further from it = more different"
        elif metric.kind == "distance":
            direction = f"{format_value(metric.identical)} when identical, higher = more different"
        else:
            direction = f"{format_value(metric.identical)} when identical, lower = less alike"
        rows.append([name, with_unit(value, metric.unit), _range(metric), direction])
    lines.append("")
    lines.append(table(["metric", "value", "range", "how to read"], rows))
    lines.append("")
    if result.identical:
        lines.append("the images are identical in every compared pixel")
    elif result.worst_pixel is not None:
        w = result.worst_pixel
        values_a = ", ".join(f"{v:.4f}" for v in w.a)
        values_b = ", ".join(f"{v:.4f}" for v in w.b)
        lines.append(f"largest difference {w.error:.4f} at x={w.x}, y={w.y}: A=({values_a}) B=({values_b})")
    if result.verdict is not None:
        lines.append(_verdict_line(result.verdict))
    return "\n".join(lines)


def _verdict_line(verdict) -> str:
    return f"verdict: {verdict.status}" + (f": {'; '.join(verdict.reasons)}" if verdict.reasons else "")


def background_table(result) -> str:
    """``imgdelta compare --background DIR B`` for people (a :class:`BackgroundComparison`)."""
    width, height = result.size
    kind = "gray" if result.channels == 1 else "colour"
    how = f"share of pixels beyond mean +/- {result.k:g} sigma (sigma at least {result.floor:.4g}), 0 when B fits"
    lines = [
        f"{result.b}  vs  the background of {result.background}  ({result.frames} frames, {width}x{height}, {kind}, "
        f"{result.compared_pixels} pixels compared)",
        "",
        table(["metric", "value", "range", "how to read"], [["background", format_value(result.metrics["background"]), "0..1", how]]),
        "",
        f"{result.outside_pixels} pixels outside the background",
    ]
    if result.verdict is not None:
        lines.append(_verdict_line(result.verdict))
    return "\n".join(lines)


def metric_table(metrics: Iterable[Metric], defaults: Sequence[str]) -> str:
    rows = [
        [
            m.name + (" *" if m.name in defaults else ""),
            m.kind,
            _range(m) + (f" {m.unit}" if m.unit else ""),
            format_value(m.identical),
            m.summary,
        ]
        for m in metrics
    ]
    return table(["metric", "kind", "range", "identical", "what it measures"], rows) + "\n* in the default set"
