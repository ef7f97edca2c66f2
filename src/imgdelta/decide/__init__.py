"""Scores -> decisions: verdicts from tolerances and rules; keep-or-skip for frame sequences."""

from .change import ChangeDetector, Decision, DetectorSettings, NoiseProfile, calibrate_detector, has_changed
from .verdict import Rule, Tolerance, Verdict, judge, parse_rule

__all__ = [
    "ChangeDetector",
    "Decision",
    "DetectorSettings",
    "NoiseProfile",
    "Rule",
    "Tolerance",
    "Verdict",
    "calibrate_detector",
    "has_changed",
    "judge",
    "parse_rule",
]
