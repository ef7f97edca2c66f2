"""Pairs of images whose 64-bit hashes lie within a Hamming radius: multi-index hashing.

Two images are *near* when the Hamming distance between one's hash and the other's hash or
one of its alternate hashes (those of slightly cropped and turned views, and the hash with
its least certain bit flipped: see :mod:`.signature`) is at most ``radius`` bits. Every
image's hash is a *query*; every hash and alternate hash is an *entry*, owned by its image.

Multi-index hashing (Norouzi, Punjani and Fleet [1]_): cut the 64 bits into ``m`` blocks.
Two words within ``r`` bits of each other are within ``floor(r / m)`` bits of each other in
at least one block (pigeonhole), so each query looks up, in one table per block, the
entries whose block equals its own block or differs from it in at most that many bits, and
only those candidates are compared in full (XOR and popcount). The tables are direct-
addressed (a block of ``b`` bits has ``2**b`` buckets, found by one offset lookup), so ``m``
is chosen to keep ``floor(r / m)`` at most 1 with blocks of at most 22 bits: three blocks of
21-22 bits for radii up to 5, more, smaller blocks beyond. A candidate is kept by the first
block that finds it, so no pair is produced twice for the same query and entry.

The search is cut into independent *tasks* (a block and a range of queries) that a Dask
cluster can run anywhere; :func:`merge_pairs` makes the result the same whatever ran them.

References
----------
.. [1] M. Norouzi, A. Punjani, D. J. Fleet, "Fast Search in Hamming Space with Multi-Index
       Hashing", CVPR 2012.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from ..errors import OptionError
from .defaults import DEFAULT_RADIUS, MAX_RADIUS

__all__ = [
    "DEFAULT_RADIUS",
    "MAX_RADIUS",
    "HashSet",
    "Pairs",
    "SearchTask",
    "block_layout",
    "brute_force_pairs",
    "merge_pairs",
    "near_pairs",
    "popcount",
    "run_task",
    "search_tasks",
]

#: Candidates a task's inner loop handles at once, about (bounds the memory of a step to
#: some 150 MB whatever the table's size).
_CANDIDATES_PER_STEP = 1 << 22

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


def popcount(words: np.ndarray) -> np.ndarray:
    """Number of set bits of each uint64 (``numpy.bitwise_count``, or SWAR on NumPy 1.x)."""
    words = np.asarray(words, dtype=np.uint64)
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words)
    x = words - ((words >> np.uint64(1)) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return ((x * _H01) >> np.uint64(56)).astype(np.uint8)


@dataclass(frozen=True)
class HashSet:
    """The hashes of a set of images: ``hashes`` uint64 (n,), ``alternates`` uint64 (n, k)."""

    hashes: np.ndarray
    alternates: np.ndarray

    def __post_init__(self) -> None:
        hashes = np.ascontiguousarray(self.hashes, dtype=np.uint64).reshape(-1)
        alternates = np.ascontiguousarray(self.alternates, dtype=np.uint64)
        if alternates.ndim != 2 or alternates.shape[0] != hashes.shape[0]:
            raise ValueError(f"alternates must be (n, k) for {hashes.shape[0]} hashes, got shape {alternates.shape}")
        object.__setattr__(self, "hashes", hashes)
        object.__setattr__(self, "alternates", alternates)

    def __len__(self) -> int:
        return int(self.hashes.shape[0])

    def entries(self) -> tuple[np.ndarray, np.ndarray]:
        """(every hash and alternate hash, the index of the image owning it)."""
        n, k = self.alternates.shape
        words = np.concatenate([self.hashes, self.alternates.T.reshape(-1)])
        owners = np.tile(np.arange(n, dtype=np.int32), k + 1)
        return words, owners


@dataclass(frozen=True)
class Pairs:
    """Near pairs: image ``first[i]`` and image ``second[i]`` at ``distance[i]`` bits.

    Within one set, ``first < second``; across two sets, ``first`` indexes the first set
    and ``second`` the other. Sorted by (first, second), each pair once, at its smallest
    distance.
    """

    first: np.ndarray
    second: np.ndarray
    distance: np.ndarray

    def __len__(self) -> int:
        return int(self.first.shape[0])


@dataclass(frozen=True)
class SearchTask:
    """Look up the queries ``start:stop`` in the table of block ``block``."""

    block: int
    start: int
    stop: int


def block_layout(radius: int) -> tuple[tuple[int, int], ...]:
    """(shift, bits) of each block, most significant first, for a search radius.

    ``m = max(3, ceil((radius + 1) / 2))`` blocks, as equal as possible, so that each
    query probes its own bucket and those one bit away (none for radius <= 2).
    """
    _check_radius(radius)
    count = max(3, math.ceil((radius + 1) / 2))
    sizes = [64 // count + (1 if i < 64 % count else 0) for i in range(count)]
    layout, shift = [], 64
    for bits in sizes:
        shift -= bits
        layout.append((shift, bits))
    return tuple(layout)


def _check_radius(radius: int) -> None:
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or not 0 <= radius <= MAX_RADIUS:
        raise OptionError(f"radius {radius!r} must be a whole number of bits from 0 to {MAX_RADIUS}")


def search_tasks(queries: int, radius: int, step: int = 1 << 20) -> list[SearchTask]:
    """The tasks that together search ``queries`` queries: every block times query ranges."""
    layout = block_layout(radius)
    return [SearchTask(block, start, min(start + step, queries)) for block in range(len(layout)) for start in range(0, queries, step)]


@dataclass
class _Table:
    """Entries sorted by one block's value. ``offsets[k]`` is where bucket ``k`` starts when
    the table is direct-addressed; small tables (far fewer entries than buckets) keep the
    sorted block values instead and find buckets by binary search."""

    offsets: np.ndarray | None
    keys: np.ndarray | None
    words: np.ndarray
    owners: np.ndarray

    def buckets(self, probes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(first position, count) of each probed bucket."""
        if self.offsets is not None:
            first = self.offsets[probes]
            return first, self.offsets[probes + 1] - first
        first = np.searchsorted(self.keys, probes, side="left")
        return first, np.searchsorted(self.keys, probes, side="right") - first


def _block_keys(words: np.ndarray, shift: int, bits: int) -> np.ndarray:
    return ((words >> np.uint64(shift)) & np.uint64((1 << bits) - 1)).astype(np.int64)


def _table(words: np.ndarray, owners: np.ndarray, shift: int, bits: int) -> _Table:
    keys = _block_keys(words, shift, bits).astype(np.int32)  # blocks have at most 22 bits
    order = np.argsort(keys)  # the order within a bucket does not matter
    if keys.size * 64 < 1 << bits:
        return _Table(None, keys[order], words[order], owners[order])
    offsets = np.zeros((1 << bits) + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=1 << bits), out=offsets[1:])
    return _Table(offsets, None, words[order], owners[order])


def run_task(
    task: SearchTask,
    queries: np.ndarray,
    query_owners: np.ndarray,
    words: np.ndarray,
    owners: np.ndarray,
    radius: int,
    *,
    skip_same_owner: bool,
    table: _Table | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(query owner, entry owner, distance) of every entry within ``radius`` of a query.

    Parameters
    ----------
    task : SearchTask
        Which block's table, and which queries.
    queries, query_owners : numpy.ndarray
        uint64 (q,) and int32 (q,): all the queries and the image each belongs to.
    words, owners : numpy.ndarray
        uint64 (e,) and int32 (e,): all the entries and the image each belongs to.
    skip_same_owner : bool
        Leave out a query's matches with its own image's entries (a search within one set).
    table : optional
        The block's table, when the caller built it already (several tasks of one block).
    """
    layout = block_layout(radius)
    shift, bits = layout[task.block]
    tolerance = radius // len(layout)
    if table is None:
        table = _table(words, owners, shift, bits)
    flips = np.array([0] + ([1 << i for i in range(bits)] if tolerance >= 1 else []), dtype=np.int64)
    earlier = [np.uint64(((1 << b) - 1) << s) for s, b in layout[: task.block]]
    per_query = len(flips) * max(1.0, table.words.size / (1 << bits))
    step = int(min(1 << 18, max(1 << 12, _CANDIDATES_PER_STEP / per_query)))
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for start in range(task.start, task.stop, step):
        chunk = queries[start : min(start + step, task.stop)]
        probes = (_block_keys(chunk, shift, bits)[:, None] ^ flips[None, :]).reshape(-1)
        first, counts = table.buckets(probes)
        hit = counts > 0
        first, counts = first[hit], counts[hit]
        total = int(counts.sum())
        if total == 0:
            continue
        query = np.repeat(np.nonzero(hit)[0] // len(flips) + start, counts)
        ends = np.cumsum(counts)
        position = np.arange(total, dtype=np.int64) + np.repeat(first - (ends - counts), counts)
        difference = queries[query] ^ table.words[position]
        distance = popcount(difference)
        keep = distance <= radius
        for mask in earlier:  # found already by an earlier block
            keep &= popcount(difference & mask) > tolerance
        query_owner = query_owners[query[keep]]
        entry_owner = table.owners[position[keep]]
        distance = distance[keep]
        if skip_same_owner:
            other = query_owner != entry_owner
            query_owner, entry_owner, distance = query_owner[other], entry_owner[other], distance[other]
        found.append((query_owner.astype(np.int64), entry_owner.astype(np.int64), distance.astype(np.int16)))
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.int16)
    return tuple(np.concatenate(parts) for parts in zip(*found))  # type: ignore[return-value]


def merge_pairs(parts: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]], *, symmetric: bool) -> Pairs:
    """One :class:`Pairs` from task results: each pair once, at its smallest distance.

    ``symmetric``: the pairs are of one set, so (a, b) and (b, a) are the same pair.
    """
    parts = list(parts)
    first = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    second = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    distance = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int16)
    if symmetric:
        first, second = np.minimum(first, second), np.maximum(first, second)
    order = np.lexsort((distance, second, first))
    first, second, distance = first[order], second[order], distance[order]
    new = np.ones(first.shape[0], dtype=bool)
    new[1:] = (first[1:] != first[:-1]) | (second[1:] != second[:-1])
    return Pairs(first[new], second[new], distance[new])


Runner = Callable[[Sequence[SearchTask], np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, bool], list]


def _run_here(tasks, queries, query_owners, words, owners, radius, skip_same_owner) -> list:
    """Run the tasks in this process, one thread per block at a time on every core (NumPy
    releases the interpreter lock in the work that matters: sorting, gathering, popcount)."""
    from concurrent.futures import ThreadPoolExecutor

    from .parallel import default_jobs

    layout = block_layout(radius)

    def block_tasks(block: int) -> list:
        shift, bits = layout[block]
        table = _table(words, owners, shift, bits)
        return [
            run_task(task, queries, query_owners, words, owners, radius, skip_same_owner=skip_same_owner, table=table)
            for task in tasks
            if task.block == block
        ]

    blocks = sorted({task.block for task in tasks})
    if len(queries) < 100_000:
        return [result for block in blocks for result in block_tasks(block)]
    with ThreadPoolExecutor(max_workers=min(len(blocks), default_jobs())) as pool:
        return [result for results in pool.map(block_tasks, blocks) for result in results]


def near_pairs(first: HashSet, second: HashSet | None = None, *, radius: int = DEFAULT_RADIUS, runner: Runner | None = None) -> Pairs:
    """The near pairs within ``first`` or, given ``second``, between the two sets.

    Parameters
    ----------
    first, second : HashSet
        The images' hashes and alternate hashes.
    radius : int
        Largest Hamming distance, in bits, between an image's hash and the other's hash or
        alternate hashes (0..16).
    runner : callable, optional
        Runs a list of tasks (``runner(tasks, queries, query_owners, words, owners, radius,
        skip_same_owner)``) and returns their results in any order; the default runs them
        here. :mod:`.distributed` passes one that runs them on a Dask cluster.
    """
    _check_radius(radius)
    run = runner or _run_here
    if second is None:
        words, owners = first.entries()
        query_owners = np.arange(len(first), dtype=np.int32)
        tasks = search_tasks(len(first), radius)
        return merge_pairs(run(tasks, first.hashes, query_owners, words, owners, radius, True), symmetric=True)
    forward_words, forward_owners = second.entries()
    forward = run(search_tasks(len(first), radius), first.hashes, np.arange(len(first), dtype=np.int32), forward_words, forward_owners, radius, False)
    back_words, back_owners = first.entries()
    back = run(search_tasks(len(second), radius), second.hashes, np.arange(len(second), dtype=np.int32), back_words, back_owners, radius, False)
    return merge_pairs(forward + [(b, a, d) for a, b, d in back], symmetric=False)


def brute_force_pairs(first: HashSet, second: HashSet | None = None, *, radius: int = DEFAULT_RADIUS, tile: int | None = None) -> Pairs:
    """The same pairs as :func:`near_pairs`, by comparing every query with every entry.

    Quadratic: the reference for tests and the benchmark, not for large sets. ``tile``
    queries are compared at once (default: about 8 million comparisons a step).
    """
    _check_radius(radius)
    parts = []
    sides = [(first, first)] if second is None else [(first, second), (second, first)]
    for side, (queries_of, entries_of) in enumerate(sides):
        words, owners = entries_of.entries()
        step = tile or max(1, (1 << 23) // max(1, words.size))
        for start in range(0, len(queries_of), step):
            queries = queries_of.hashes[start : start + step]
            distance = popcount(queries[:, None] ^ words[None, :])
            query, entry = np.nonzero(distance <= radius)
            a, b = query.astype(np.int64) + start, owners[entry].astype(np.int64)
            d = distance[query, entry].astype(np.int16)
            if second is None:
                other = a != b
                a, b, d = a[other], b[other], d[other]
            parts.append((a, b, d) if side == 0 else (b, a, d))
    return merge_pairs(parts, symmetric=second is None)
