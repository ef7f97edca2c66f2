"""Run a function over chunks of work in a pool of processes, surviving a worker that dies.

A decoder that crashes or a file that exhausts memory kills its worker process, and Python's
pool then fails every chunk it holds. Here at most two chunks per worker are in flight, so
when the pool breaks only those are suspect: they are run again one file at a time, one at a
time, in fresh pools, until the file that kills a worker alone is found; it gets ``on_crash``
and everything else its result. Results arrive as chunks finish, not in submission order.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

__all__ = ["default_jobs", "map_chunks"]

Item = TypeVar("Item")
Result = TypeVar("Result")


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _context() -> Any:
    """``fork`` where it is safe and cheap (Linux, no other thread), else a fresh interpreter."""
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork" if threading.active_count() == 1 else "forkserver")
    return multiprocessing.get_context()


def map_chunks(
    work: Callable[[Sequence[Item]], list[Result]],
    chunks: Iterable[Sequence[Item]],
    *,
    jobs: int,
    on_crash: Callable[[Item], Result],
) -> Iterator[tuple[Sequence[Item], list[Result]]]:
    """``(chunk, work(chunk))`` for every chunk, computed by ``jobs`` processes, as they finish.

    Parameters
    ----------
    work : callable
        A module-level function (it is pickled by reference): a chunk of items to a list of
        results, one per item.
    chunks : iterable of sequences
        The work, cut into chunks.
    jobs : int
        Worker processes.
    on_crash : callable
        The result for an item whose worker died while handling it alone.
    """
    queue: deque[Sequence[Item]] = deque(chunks)
    suspects: deque[Item] = deque()
    while queue or suspects:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=_context()) as pool:
            if suspects:
                yield from _isolate(pool, work, suspects, on_crash)
                continue
            running: dict[Future, Sequence[Item]] = {}
            broken = False
            while (queue or running) and not broken:
                while queue and len(running) < 2 * jobs:
                    chunk = queue.popleft()
                    running[pool.submit(work, chunk)] = chunk
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    chunk = running.pop(future)
                    try:
                        results = future.result()
                    except BrokenProcessPool:
                        broken = True
                        suspects.extend(chunk)
                        continue
                    yield chunk, results
            if broken:
                for chunk in running.values():
                    suspects.extend(chunk)


def _isolate(pool: ProcessPoolExecutor, work, suspects: deque, on_crash) -> Iterator[tuple[list, list]]:
    """Run suspect items one by one; the one whose worker dies gets ``on_crash``."""
    while suspects:
        item = suspects.popleft()
        try:
            results = pool.submit(work, [item]).result()
        except BrokenProcessPool:
            yield [item], [on_crash(item)]
            return  # the pool is broken: the caller opens a new one for the rest
        yield [item], results
