"""idiff-style verdicts: PASS, WARN or FAIL from per-pixel tolerances and metric rules.

The tolerance model follows OpenImageIO's ``idiff``: a pixel fails when its error (largest
channel difference on the [0, 1] scale) exceeds ``fail``; the comparison fails when more
than ``allow_pixels`` pixels fail *and* they are more than ``fail_percent`` of the image, or
when any pixel exceeds ``hard_fail``. ``warn``/``warn_percent`` grade the same way. Rules on
metric values (``ssim>=0.95``) fail the comparison when broken.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from typing import Literal, Mapping

import numpy as np

from ..errors import OptionError

__all__ = ["Rule", "Tolerance", "Verdict", "judge", "parse_rule"]

_OPERATORS = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_RULE_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|inf)\s*$")


@dataclass(frozen=True)
class Rule:
    """A condition a metric's value must meet, such as ``ssim >= 0.95``."""

    metric: str
    op: Literal["<", "<=", ">", ">="]
    value: float

    def holds(self, measured: float | None) -> bool:
        # None stands for an infinite PSNR: identical images
        observed = math.inf if measured is None else measured
        return bool(_OPERATORS[self.op](observed, self.value))

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"


def parse_rule(text: str, *, option: str = "rule") -> Rule:
    """Parse ``"NAME<=VALUE"`` (or <, >, >=) into a :class:`Rule`."""
    match = _RULE_RE.match(text)
    if not match:
        raise OptionError(f"{option} {text!r} is not NAME<=VALUE (for example ssim>=0.95 or mae<0.01)")
    name, op, value = match.groups()
    return Rule(metric=name, op=op, value=float(value))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Tolerance:
    """When two images count as the same. Every limit is optional; none set means no verdict.

    Attributes
    ----------
    fail, warn : float or None
        Per-pixel error (largest channel difference, [0, 1] scale) above which a pixel fails
        or warns.
    fail_percent, warn_percent : float
        Percentage of pixels allowed over ``fail`` / ``warn`` before the image fails / warns.
    hard_fail : float or None
        Any single pixel over this fails the image, whatever the percentages.
    allow_pixels : int
        Number of pixels allowed over ``fail`` before the image fails.
    rules : tuple of Rule
        Conditions on metric values; a broken one fails the image.
    """

    fail: float | None = None
    warn: float | None = None
    fail_percent: float = 0.0
    warn_percent: float = 0.0
    hard_fail: float | None = None
    allow_pixels: int = 0
    rules: tuple[Rule, ...] = ()

    def __post_init__(self) -> None:
        for name in ("fail", "warn", "hard_fail"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise OptionError(f"{name.replace('_', '-')}={value} must lie in [0, 1] (the image scale)")
        for name in ("fail_percent", "warn_percent"):
            value = getattr(self, name)
            if not 0.0 <= value <= 100.0:
                raise OptionError(f"{name.replace('_', '-')}={value} must lie in [0, 100]")
        if self.allow_pixels < 0:
            raise OptionError(f"allow-pixels={self.allow_pixels} must be >= 0")

    @property
    def active(self) -> bool:
        """True when any limit or rule is set, so a verdict is asked for."""
        return bool(
            self.fail is not None or self.warn is not None or self.hard_fail is not None or self.rules
        )


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`judge`, with every reason that led to it."""

    status: Literal["PASS", "WARN", "FAIL"]
    reasons: tuple[str, ...]
    pixels: int
    fail_pixels: int
    warn_pixels: int

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "reasons": list(self.reasons),
            "pixels": self.pixels,
            "fail_pixels": self.fail_pixels,
            "warn_pixels": self.warn_pixels,
        }


def judge(pixel_errors: np.ndarray, metrics: Mapping[str, float | None], tolerance: Tolerance) -> Verdict:
    """Grade a comparison.

    Parameters
    ----------
    pixel_errors : numpy.ndarray
        Per-pixel error of every counted pixel (any shape), [0, 1] scale.
    metrics : mapping
        Measured metric values by name (None for an infinite PSNR).
    tolerance : Tolerance
        The limits.
    """
    total = int(pixel_errors.size)
    fail_count = int(np.count_nonzero(pixel_errors > tolerance.fail)) if tolerance.fail is not None else 0
    warn_count = int(np.count_nonzero(pixel_errors > tolerance.warn)) if tolerance.warn is not None else 0
    failures: list[str] = []
    warnings: list[str] = []
    if tolerance.fail is not None and fail_count > tolerance.allow_pixels:
        share = 100.0 * fail_count / total
        if share > tolerance.fail_percent:
            failures.append(
                f"{fail_count} pixels ({share:.3g}%) differ by more than {tolerance.fail:g}"
            )
    if tolerance.hard_fail is not None:
        worst = float(pixel_errors.max()) if total else 0.0
        if worst > tolerance.hard_fail:
            failures.append(f"a pixel differs by {worst:.6g}, over the hard limit {tolerance.hard_fail:g}")
    for rule in tolerance.rules:
        if rule.metric not in metrics:
            raise OptionError(f"rule {rule} names metric {rule.metric!r}, which was not measured")
        measured = metrics[rule.metric]
        if not rule.holds(measured):
            shown = "inf" if measured is None else f"{measured:.6g}"
            failures.append(f"{rule.metric} = {shown} breaks {rule}")
    if tolerance.warn is not None and warn_count > 0:
        share = 100.0 * warn_count / total
        if share > tolerance.warn_percent:
            warnings.append(f"{warn_count} pixels ({share:.3g}%) differ by more than {tolerance.warn:g}")
    status: Literal["PASS", "WARN", "FAIL"] = "FAIL" if failures else "WARN" if warnings else "PASS"
    return Verdict(
        status=status,
        reasons=tuple(failures + warnings),
        pixels=total,
        fail_pixels=fail_count,
        warn_pixels=warn_count,
    )
