"""Confirmed pairs -> groups (union-find), and which file of a group to keep."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import OptionError
from ..io.folders import natural_key
from .defaults import KEEP_POLICIES

__all__ = ["KEEP_POLICIES", "Candidate", "choose_keeper", "connected_groups"]



def connected_groups(count: int, first: np.ndarray, second: np.ndarray) -> list[list[int]]:
    """The groups of two or more of ``count`` items that the pairs connect (union-find).

    Path halving and union by size; each group sorted, groups sorted by their first item.
    """
    parent = list(range(count))
    size = [1] * count

    def root(item: int) -> int:
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    for a, b in zip(first.tolist(), second.tolist()):
        ra, rb = root(a), root(b)
        if ra == rb:
            continue
        if size[ra] < size[rb]:
            ra, rb = rb, ra
        parent[rb] = ra
        size[ra] += size[rb]
    members: dict[int, list[int]] = {}
    for item in range(count):
        if size[root(item)] > 1:
            members.setdefault(root(item), []).append(item)
    return sorted(members.values(), key=lambda group: group[0])


@dataclass(frozen=True)
class Candidate:
    """What the keeper policies look at, for one file."""

    path: str
    width: int
    height: int
    size: int
    mtime_ns: int
    taken: float | None
    sharpness: float


def _largest(c: Candidate) -> tuple:
    return (-(c.width * c.height), -c.size)


def _when(c: Candidate) -> float:
    return c.taken if c.taken is not None and math.isfinite(c.taken) else c.mtime_ns / 1e9


def choose_keeper(files: Sequence[Candidate], policy: str) -> tuple[int, str]:
    """(index of the file to keep, why) by ``policy``.

    ``largest``: the most pixels, then the largest file. ``oldest``: the earliest EXIF date
    taken (the modification time when there is none). ``sharpest``: the highest sharpness.
    Ties go to the largest, then to the first path in natural order.
    """
    if policy not in KEEP_POLICIES:
        raise OptionError(f"keep policy {policy!r}: use one of {', '.join(KEEP_POLICIES)}")
    tie = [(_largest(c), natural_key(c.path)) for c in files]
    if policy == "largest":
        keys = tie
    elif policy == "oldest":
        keys = [(_when(c), *t) for c, t in zip(files, tie)]
    else:
        keys = [(-round(c.sharpness, 6), *t) for c, t in zip(files, tie)]
    best = min(range(len(files)), key=keys.__getitem__)
    chosen = files[best]
    if policy == "largest":
        reason = f"largest ({chosen.width}x{chosen.height}, {chosen.size} bytes)"
    elif policy == "oldest":
        if chosen.taken is not None and math.isfinite(chosen.taken):
            reason = f"oldest (taken {_stamp(chosen.taken)})"
        else:
            reason = f"oldest (modified {_stamp(_when(chosen))} UTC)"
    else:
        reason = f"sharpest (sharpness {chosen.sharpness:.3g})"
    return best, reason


def _stamp(seconds: float) -> str:
    from datetime import datetime, timezone

    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return "unknown"
