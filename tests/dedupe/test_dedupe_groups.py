"""Union-find against SciPy's connected components; the keeper policies."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from imgdelta.dedupe.groups import Candidate, choose_keeper, connected_groups
from imgdelta.errors import OptionError


@pytest.mark.parametrize("seed", range(5))
def test_groups_are_scipys_connected_components(seed):
    rng = np.random.default_rng(seed)
    count = 500
    first = rng.integers(0, count, size=300)
    second = rng.integers(0, count, size=300)
    ours = connected_groups(count, first, second)
    graph = coo_matrix((np.ones(first.size), (first, second)), shape=(count, count))
    _, labels = connected_components(graph, directed=False)
    expected = {}
    for item, label in enumerate(labels):
        expected.setdefault(label, []).append(item)
    assert ours == sorted((g for g in expected.values() if len(g) > 1), key=lambda g: g[0])


def test_no_pairs_no_groups():
    assert connected_groups(10, np.zeros(0, np.int64), np.zeros(0, np.int64)) == []


def files() -> list[Candidate]:
    return [
        Candidate("b/copy.jpg", 2000, 1500, 400_000, 3_000_000_000_000_000_000, None, 9.0),
        Candidate("a/original.png", 4000, 3000, 9_000_000, 2_000_000_000_000_000_000, 1_400_000_000.0, 5.0),
        Candidate("c/small.jpg", 800, 600, 90_000, 1_000_000_000_000_000_000, 1_500_000_000.0, 2.0),
    ]


def test_largest_keeps_the_most_pixels():
    index, reason = choose_keeper(files(), "largest")
    assert index == 1 and reason == "largest (4000x3000, 9000000 bytes)"


def test_oldest_prefers_the_exif_date_to_the_file_time():
    index, reason = choose_keeper(files(), "oldest")
    assert index == 1 and reason.startswith("oldest (taken 2014-05-13")
    no_dates = [Candidate(c.path, c.width, c.height, c.size, c.mtime_ns, None, c.sharpness) for c in files()]
    index, reason = choose_keeper(no_dates, "oldest")
    assert index == 2 and "modified" in reason


def test_sharpest_keeps_the_highest_sharpness():
    assert choose_keeper(files(), "sharpest")[0] == 0


def test_ties_go_to_the_largest_then_the_first_path():
    same = [Candidate(p, 100, 100, 10, 1, None, 1.0) for p in ("z/b10.jpg", "z/b2.jpg", "z/b3.jpg")]
    for policy in ("largest", "oldest", "sharpest"):
        assert choose_keeper(same, policy)[0] == 1  # b2 before b3 before b10
    bigger = same[:2] + [Candidate("z/b3.jpg", 100, 100, 11, 1, None, 1.0)]
    assert choose_keeper(bigger, "sharpest")[0] == 2


def test_unknown_policy():
    with pytest.raises(OptionError, match="keep policy 'newest'"):
        choose_keeper(files(), "newest")
