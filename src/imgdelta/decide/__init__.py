"""Scores -> decisions: verdicts from tolerances and rules (and, for sequences, thresholds)."""

from .verdict import Rule, Tolerance, Verdict, judge, parse_rule

__all__ = ["Rule", "Tolerance", "Verdict", "judge", "parse_rule"]
