"""Fixtures shared by the whole suite."""

from __future__ import annotations

import numpy as np
import pytest

from testdata import PHOTOS, SEED, photo, variants


@pytest.fixture(scope="session")
def photo_pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, a, b) for every photo and variant; uint8 arrays."""
    rng = np.random.default_rng(SEED)
    pairs = []
    for name in PHOTOS:
        image = photo(name)
        for label, other in variants(image, rng).items():
            pairs.append((f"{name}-{label}", image, other))
    return pairs


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="rewrite the golden pictures under tests/*/goldens from the current code",
    )


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))
