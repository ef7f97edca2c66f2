"""Properties every metric must have: identity, symmetry, bounds, monotonic in noise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import imgdelta
from imgdelta.features import Features, FeaturePair
from imgdelta.metrics import MetricOptions, available_metrics

from testdata import photo

ALL = sorted(available_metrics())
SYMMETRIC = sorted(name for name, metric in available_metrics().items() if metric.symmetric)


def _pair(a: np.ndarray, b: np.ndarray) -> FeaturePair:
    return FeaturePair(Features(a), Features(b))


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    return photo("coffee")[:160, :240].astype(np.float32) / 255.0


def _noisy(scene: np.ndarray, sigma: float, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(scene + rng.normal(0, sigma, scene.shape), 0, 1).astype(np.float32)


def test_every_metric_declares_a_consistent_record():
    for name, metric in available_metrics().items():
        assert metric.name == name
        assert metric.kind in ("distance", "similarity")
        assert metric.lower < metric.upper
        assert metric.lower <= metric.identical <= metric.upper
        assert metric.summary and metric.reference
        if metric.parent is not None:
            assert name in available_metrics()[metric.parent].figures


def test_symmetry_is_declared_not_assumed():
    # chi-square and Kullback-Leibler divide by the first histogram: asymmetric by definition
    assert not available_metrics()["hist_kl"].symmetric
    assert not available_metrics()["hist_chi2"].symmetric
    assert available_metrics()["ssim"].symmetric


@pytest.mark.parametrize("name", ALL)
def test_identical_images_give_the_identical_value(name, scene):
    metric = available_metrics()[name]
    value = metric.compute(_pair(scene, scene.copy()), MetricOptions())
    assert value == metric.identical


@pytest.mark.parametrize("name", SYMMETRIC)
def test_symmetric(name, scene):
    metric = available_metrics()[name]
    other = _noisy(scene, 0.05)
    forward = metric.compute(_pair(scene, other), MetricOptions())
    backward = metric.compute(_pair(other, scene), MetricOptions())
    assert forward == pytest.approx(backward, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("name", ALL)
def test_values_stay_in_the_declared_range(name, scene):
    metric = available_metrics()[name]
    others = [_noisy(scene, 0.3), 1.0 - scene, np.zeros_like(scene), np.ones_like(scene)]
    for other in others:
        value = metric.compute(_pair(scene, other), MetricOptions())
        assert metric.lower <= value <= metric.upper, (name, value)


#: Metrics that must move steadily away from "identical" as noise grows.
MONOTONIC = ["mae", "mse", "rmse", "psnr", "ssim", "ncc", "changed_fraction", "max_abs", "pixelmatch", "emd", "hist_bhattacharyya"]


@pytest.mark.parametrize("name", MONOTONIC)
def test_monotonic_in_added_noise(name, scene):
    metric = available_metrics()[name]
    values = [metric.compute(_pair(scene, _noisy(scene, sigma)), MetricOptions()) for sigma in (0.005, 0.02, 0.06, 0.15)]
    ordered = values if metric.kind == "distance" else [-v for v in values]
    assert all(x <= y for x, y in zip(ordered, ordered[1:])), values
    assert ordered[0] < ordered[-1]


@settings(max_examples=60, deadline=None)
@given(
    a=arrays(np.uint8, st.tuples(st.integers(1, 24), st.integers(1, 24), st.just(3))),
    data=st.data(),
)
def test_random_pairs_stay_in_range_through_compare(a, data):
    b = data.draw(arrays(np.uint8, a.shape))
    result = imgdelta.compare(a, b, metrics=[n for n in ALL if n != "jpeg_size"])
    for name, value in result.metrics.items():
        metric = available_metrics()[name]
        assert metric.lower <= value <= metric.upper or (name == "psnr" and math.isinf(value)), (name, value)
    assert result.identical == bool(np.array_equal(a, b))
