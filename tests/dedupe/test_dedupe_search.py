"""Multi-index search against brute force, and brute force against a plain Python loop."""

from __future__ import annotations

import numpy as np
import pytest

from imgdelta.dedupe import search
from imgdelta.dedupe.search import HashSet, block_layout, brute_force_pairs, merge_pairs, near_pairs, popcount, search_tasks
from imgdelta.errors import OptionError


def planted(count: int, alternates: int, rng: np.random.Generator) -> HashSet:
    """Random hashes, a third of them copies of another with 0-9 bits flipped; alternates
    are the hash with 1-3 bits flipped (some random)."""
    hashes = rng.integers(0, np.iinfo(np.uint64).max, size=count, dtype=np.uint64, endpoint=True)
    for i in range(1, count, 3):
        for bit in rng.choice(64, size=int(rng.integers(0, 10)), replace=False):
            hashes[i] = hashes[i - 1] ^ (np.uint64(1) << np.uint64(bit))
    extra = np.stack([hashes ^ (np.uint64(1) << rng.integers(0, 64, size=count).astype(np.uint64)) for _ in range(alternates)], axis=1)
    extra[::5] = rng.integers(0, np.iinfo(np.uint64).max, size=extra[::5].shape, dtype=np.uint64, endpoint=True)
    return HashSet(hashes, extra)


def naive(first: HashSet, second: HashSet | None, radius: int) -> dict[tuple[int, int], int]:
    """Every pair by two Python loops over ints and bin(x).count('1')."""
    found: dict[tuple[int, int], int] = {}

    def words(side: HashSet, i: int) -> list[int]:
        return [int(side.hashes[i])] + [int(w) for w in side.alternates[i]]

    others = first if second is None else second
    for i in range(len(first)):
        for j in range(len(others)):
            if second is None and i == j:
                continue
            d = min(
                min(bin(int(first.hashes[i]) ^ w).count("1") for w in words(others, j)),
                min(bin(int(others.hashes[j]) ^ w).count("1") for w in words(first, i)),
            )
            if d <= radius:
                key = (min(i, j), max(i, j)) if second is None else (i, j)
                found[key] = min(d, found.get(key, 99))
    return found


def as_dict(pairs) -> dict[tuple[int, int], int]:
    return {(int(a), int(b)): int(d) for a, b, d in zip(pairs.first, pairs.second, pairs.distance)}


@pytest.mark.parametrize("radius", [0, 3, 5, 8])
def test_brute_force_matches_python_loops(radius):
    rng = np.random.default_rng(21)
    a, b = planted(40, 3, rng), planted(25, 3, rng)
    assert as_dict(brute_force_pairs(a, radius=radius)) == naive(a, None, radius)
    assert as_dict(brute_force_pairs(a, b, radius=radius)) == naive(a, b, radius)


@pytest.mark.parametrize(
    ("count", "radius"),
    # 150 images: tables small enough to be binary-searched; 2600: direct-addressed ones.
    [(150, r) for r in (0, 2, 4, 5, 6, 7, 9, 12, 16)] + [(2600, r) for r in (0, 5, 6, 9)],
)
def test_multi_index_search_finds_exactly_the_brute_force_pairs(count, radius):
    rng = np.random.default_rng(count + radius)
    images = planted(count, 12, rng)
    ours, reference = near_pairs(images, radius=radius), brute_force_pairs(images, radius=radius)
    for name in ("first", "second", "distance"):
        assert np.array_equal(getattr(ours, name), getattr(reference, name)), name
    assert len(ours) > 0 or radius == 0


@pytest.mark.parametrize("radius", [1, 5, 8])
def test_search_between_two_sets(radius):
    rng = np.random.default_rng(7 * radius)
    new, old = planted(300, 12, rng), planted(500, 12, rng)
    # Some new images near old ones.
    new.hashes[:50] = old.hashes[100:150] ^ np.uint64(0b1011)
    ours, reference = near_pairs(new, old, radius=radius), brute_force_pairs(new, old, radius=radius)
    assert as_dict(ours) == as_dict(reference)
    assert len(ours) >= (50 if radius >= 3 else 0)


def test_pairs_are_sorted_unique_and_at_their_smallest_distance():
    parts = [(np.array([3, 1, 5]), np.array([1, 3, 2]), np.array([4, 2, 5], dtype=np.int16)), (np.array([1]), np.array([3]), np.array([1], dtype=np.int16))]
    pairs = merge_pairs(parts, symmetric=True)
    assert pairs.first.tolist() == [1, 2] and pairs.second.tolist() == [3, 5] and pairs.distance.tolist() == [1, 5]


@pytest.mark.parametrize("radius", range(0, 17))
def test_block_layout_keeps_the_pigeonhole_promise(radius):
    layout = block_layout(radius)
    assert sum(bits for _, bits in layout) == 64
    assert all(bits <= 22 for _, bits in layout)
    assert radius // len(layout) <= 1
    assert [shift for shift, _ in layout] == sorted((shift for shift, _ in layout), reverse=True)
    assert layout[-1][0] == 0


@pytest.mark.parametrize("radius", [-1, 17, 2.5, True, "5"])
def test_bad_radius_is_refused(radius):
    with pytest.raises(OptionError, match="radius"):
        block_layout(radius)


def test_tasks_cover_every_block_and_query():
    tasks = search_tasks(2_500_000, 5, step=1 << 20)
    assert {t.block for t in tasks} == {0, 1, 2}
    for block in range(3):
        ranges = sorted((t.start, t.stop) for t in tasks if t.block == block)
        assert ranges[0][0] == 0 and ranges[-1][1] == 2_500_000
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))


def test_popcount_without_numpy_bitwise_count(monkeypatch):
    rng = np.random.default_rng(5)
    words = rng.integers(0, np.iinfo(np.uint64).max, size=1000, dtype=np.uint64, endpoint=True)
    expected = [bin(int(w)).count("1") for w in words]
    assert popcount(words).tolist() == expected
    monkeypatch.delattr(search.np, "bitwise_count", raising=False)
    assert popcount(words).tolist() == expected


def test_alternates_must_match_the_hashes():
    with pytest.raises(ValueError, match="alternates must be"):
        HashSet(np.zeros(3, np.uint64), np.zeros((2, 4), np.uint64))
