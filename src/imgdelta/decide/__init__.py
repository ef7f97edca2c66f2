"""Scores -> decisions: verdicts from tolerances and rules; keep-or-skip for frame sequences."""

from .change import ChangeDetector, Decision, DetectorSettings, NoiseProfile, PreparedFrame, calibrate_detector, has_changed
from .verdict import Rule, Tolerance, Verdict, judge, parse_rule

__all__ = [
    "ChangeDetector",
    "Decision",
    "DetectorSettings",
    "NoiseProfile",
    "PreparedFrame",
    "Rule",
    "Tolerance",
    "Verdict",
    "calibrate_detector",
    "has_changed",
    "judge",
    "parse_rule",
]
