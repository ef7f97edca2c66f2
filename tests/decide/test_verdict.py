"""idiff-style verdicts: fail/warn limits, shares, hard cap, allowed pixels, metric rules."""

from __future__ import annotations

import numpy as np
import pytest

import imgdelta
from imgdelta.decide import Tolerance, judge, parse_rule


def _errors(n_big: int, total: int = 1000, big: float = 0.5, small: float = 0.001) -> np.ndarray:
    errors = np.full(total, small, np.float32)
    errors[:n_big] = big
    return errors


def test_no_limit_means_no_verdict():
    assert not Tolerance().active
    result = imgdelta.compare(np.zeros((8, 8), np.uint8), np.full((8, 8), 9, np.uint8))
    assert result.verdict is None and result.exit_code == 0


def test_fail_limit_counts_pixels_over_it():
    verdict = judge(_errors(3), {}, Tolerance(fail=0.1))
    assert verdict.status == "FAIL" and verdict.fail_pixels == 3
    assert "3 pixels" in verdict.reasons[0]


def test_allow_pixels_and_fail_percent_both_must_be_exceeded():
    assert judge(_errors(3), {}, Tolerance(fail=0.1, allow_pixels=3)).status == "PASS"
    assert judge(_errors(4), {}, Tolerance(fail=0.1, allow_pixels=3)).status == "FAIL"
    assert judge(_errors(10), {}, Tolerance(fail=0.1, fail_percent=1.0)).status == "PASS"
    assert judge(_errors(11), {}, Tolerance(fail=0.1, fail_percent=1.0)).status == "FAIL"


def test_hard_fail_overrides_the_percentage():
    tolerance = Tolerance(fail=0.1, fail_percent=50.0, hard_fail=0.4)
    assert judge(_errors(1, big=0.39), {}, tolerance).status == "PASS"
    assert judge(_errors(1, big=0.41), {}, tolerance).status == "FAIL"


def test_warn_grades_below_fail():
    tolerance = Tolerance(fail=0.6, warn=0.1)
    verdict = judge(_errors(5), {}, tolerance)
    assert verdict.status == "WARN" and verdict.warn_pixels == 5 and verdict.fail_pixels == 0
    assert judge(_errors(5), {}, Tolerance(fail=0.6, warn=0.1, warn_percent=1.0)).status == "PASS"


def test_rules_on_metrics():
    rule = parse_rule("ssim>=0.95")
    assert (rule.metric, rule.op, rule.value) == ("ssim", ">=", 0.95)
    assert judge(_errors(0), {"ssim": 0.96}, Tolerance(rules=(rule,))).status == "PASS"
    verdict = judge(_errors(0), {"ssim": 0.9}, Tolerance(rules=(rule,)))
    assert verdict.status == "FAIL" and "ssim = 0.9 breaks ssim>=0.95" in verdict.reasons[0]
    # an infinite PSNR (identical images) satisfies any lower bound
    assert judge(_errors(0), {"psnr": None}, Tolerance(rules=(parse_rule("psnr>40"),))).status == "PASS"


@pytest.mark.parametrize("text", ["ssim=>0.9", "ssim", ">=0.9", "ssim>=x", "9ssim<1"])
def test_bad_rules_are_refused(text):
    with pytest.raises(imgdelta.OptionError, match="is not NAME<=VALUE"):
        parse_rule(text)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"fail": 2.0}, "fail=2.0 must lie in"), ({"fail_percent": 101.0}, "fail-percent=101.0"), ({"allow_pixels": -1}, "allow-pixels=-1")],
)
def test_bad_limits_are_refused(kwargs, message):
    with pytest.raises(imgdelta.OptionError, match=message):
        Tolerance(**kwargs)


def test_compare_reports_worst_pixel_and_fails_with_exit_code_1():
    a = np.zeros((20, 30, 3), np.uint8)
    b = a.copy()
    b[7, 11] = (255, 128, 0)
    result = imgdelta.compare(a, b, tolerance=Tolerance(fail=0.1))
    assert result.verdict.status == "FAIL" and result.exit_code == 1
    worst = result.worst_pixel
    assert (worst.x, worst.y) == (11, 7)
    assert worst.error == pytest.approx(1.0)
    assert worst.a == (0.0, 0.0, 0.0) and worst.b[0] == pytest.approx(1.0)


def test_rule_adds_its_metric_to_the_measured_set():
    a = np.zeros((16, 16), np.uint8)
    result = imgdelta.compare(a, a, metrics=["mae"], tolerance=Tolerance(rules=(parse_rule("ssim>0.5"),)))
    assert set(result.metrics) == {"mae", "ssim"} and result.verdict.status == "PASS"
