"""The registry: metrics with several figures, computed once and reported under their names."""

from __future__ import annotations

import numpy as np
import pytest

import imgdelta
import imgdelta.metrics as registry
from imgdelta.features import Features, FeaturePair
from imgdelta.metrics import Figure, MetricOptions, available_metrics, get_metric, register
from imgdelta.pipeline import measure


@pytest.fixture
def scratch_registry(monkeypatch):
    """Registrations made in a test vanish after it."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(available_metrics()))


@pytest.fixture
def counted(scratch_registry):
    calls = []

    @register(
        "spread",
        kind="distance",
        lower=0.0,
        upper=1.0,
        identical=0.0,
        summary="mean difference",
        reference="test",
        figures={
            "max": Figure(kind="distance", lower=0.0, upper=1.0, identical=0.0, summary="largest difference"),
            "ratio": Figure(kind="similarity", lower=0.0, upper=1.0, identical=1.0, summary="share unchanged", symmetric=False),
        },
    )
    def spread(pair, options):
        calls.append(1)
        error = pair.masked(pair.pixel_error)
        return {"spread": float(error.mean()), "spread_max": float(error.max()), "spread_ratio": float((error == 0).mean())}

    return calls


def _pair() -> FeaturePair:
    a = np.zeros((4, 4, 1), np.float32)
    b = a.copy()
    b[0, 0, 0] = 0.5
    return FeaturePair(Features(a), Features(b))


def test_figures_are_metrics_with_their_own_records(counted):
    main, largest, ratio = get_metric("spread"), get_metric("spread_max"), get_metric("spread_ratio")
    assert main.figures == ("spread_max", "spread_ratio") and main.parent is None
    assert largest.parent == "spread" and largest.reference == "test" and largest.summary == "largest difference"
    assert ratio.kind == "similarity" and ratio.identical == 1.0 and not ratio.symmetric
    assert get_metric("spread").compute(_pair(), MetricOptions()) == pytest.approx(0.5 / 16)
    assert get_metric("spread_max").compute(_pair(), MetricOptions()) == 0.5


def test_asking_for_the_main_name_reports_every_figure_from_one_computation(counted):
    values = measure(_pair(), ["mae", "spread"], MetricOptions())
    assert list(values) == ["mae", "spread", "spread_max", "spread_ratio"]
    assert values["spread_ratio"] == 15 / 16
    assert len(counted) == 1


def test_a_figure_alone_reports_only_itself_and_shares_the_computation(counted):
    values = measure(_pair(), ["spread_max", "spread_ratio"], MetricOptions())
    assert values == {"spread_max": 0.5, "spread_ratio": 15 / 16}
    assert len(counted) == 1


def test_figures_work_through_compare_and_rules(counted):
    a = np.zeros((8, 8), np.uint8)
    b = a.copy()
    b[0, 0] = 255
    result = imgdelta.compare(a, b, metrics=["spread"], tolerance=imgdelta.Tolerance(rules=(imgdelta.parse_rule("spread_max<=0.5"),)))
    assert set(result.metrics) == {"spread", "spread_max", "spread_ratio"}
    assert result.verdict.failed


def test_a_function_returning_other_names_is_caught(scratch_registry):
    @register(
        "broken",
        kind="distance",
        lower=0.0,
        upper=1.0,
        identical=0.0,
        summary="s",
        reference="r",
        figures={"extra": Figure(kind="distance", lower=0.0, upper=1.0, identical=0.0, summary="e")},
    )
    def broken(pair, options):
        return {"broken": 0.0}

    with pytest.raises(RuntimeError, match=r"returned \['broken'\], not \['broken', 'broken_extra'\]"):
        measure(_pair(), ["broken"], MetricOptions())


def test_names_are_registered_once(scratch_registry):
    figure = Figure(kind="distance", lower=0.0, upper=1.0, identical=0.0, summary="e")
    with pytest.raises(RuntimeError, match="'ssim' is registered twice"):
        register("ssim", kind="distance", lower=0, upper=1, identical=0, summary="s", reference="r")(lambda p, o: 0.0)
    register("fresh_max", kind="distance", lower=0, upper=1, identical=0, summary="s", reference="r")(lambda p, o: 0.0)
    with pytest.raises(RuntimeError, match="'fresh_max' is registered twice"):
        register("fresh", kind="distance", lower=0, upper=1, identical=0, summary="s", reference="r", figures={"max": figure})(
            lambda p, o: {}
        )
    assert "fresh" not in available_metrics()  # nothing of a refused registration is kept
