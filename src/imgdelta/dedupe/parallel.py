"""Run a function over chunks of work in a pool of processes, surviving a worker that dies.

A decoder that crashes or a file that exhausts memory kills its worker process, and Python's
pool then fails every chunk it holds. Here at most two chunks per worker are in flight, so
when the pool breaks only those are suspect: they are run again one file at a time, one at a
time, in fresh pools, until the file that kills a worker alone is found; it gets ``on_crash``
and everything else its result. Results arrive as chunks finish, not in submission order.

Workers never outlive the process that owns the pool. Killed (``kill -9`` included), it
takes them along: on Linux the kernel sends each worker SIGKILL when its parent dies
(``PR_SET_PDEATHSIG``), and everywhere a thread in each worker ends it within a quarter of a
second once the owner is gone. Stopped by an exception (Ctrl-C, SIGTERM that the command
line turns into one, a caller that stops reading the results), the owner kills the workers
at once rather than letting them finish the chunks they hold. Workers ignore SIGINT: Ctrl-C
reaches the whole process group, and stopping is the owner's decision.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
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


#: prctl(2) option: the signal a process gets when the thread that forked it ends.
_PR_SET_PDEATHSIG = 1
#: Seconds between two looks at the owner, for where the kernel does not watch it.
_WATCH_EVERY = 0.25


def _pool(jobs: int) -> ProcessPoolExecutor:
    context = _context()
    server = context.get_start_method() == "forkserver"
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_tie_to_owner, initargs=(os.getpid(), server))


def _tie_to_owner(owner: int, server: bool) -> None:
    """First thing in each worker: end when ``owner`` (the process with the pool) ends,
    however it ends. ``server``: the worker is a child of the fork server, not of ``owner``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked worker inherits the owner's handler
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no libc to call: the watching thread still works
            pass
    started = _start_time(owner) if server else None

    def alive() -> bool:
        if server:
            # The fork server lives as long as any of its children, so the parent never
            # changes: the owner itself is watched (forkserver is used on Linux only).
            return started is not None and _start_time(owner) == started
        return os.getppid() == owner

    if not alive():  # the owner died before the kernel was told to watch it
        os._exit(1)
    threading.Thread(target=_watch, args=(alive,), name="imgdelta-owner-watch", daemon=True).start()


def _start_time(pid: int) -> str | None:
    """When the process ``pid`` started (Linux), or None when it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the name in parentheses may hold spaces
    return None if fields[0] in ("Z", "X") else fields[19]


def _watch(alive: Callable[[], bool]) -> None:
    while alive():
        time.sleep(_WATCH_EVERY)
    os._exit(1)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """End the workers now, not after the chunks they hold."""
    kill = getattr(pool, "kill_workers", None)  # Python 3.14
    # Before 3.14 the executor offers no way to reach its processes but this attribute.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    if kill is not None:
        kill()
    else:
        for process in processes:
            process.kill()  # SIGKILL: a worker has nothing to clean up, and prints nothing
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(timeout=5.0)


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

    Closing the iterator before its end, or an exception raised while it waits (Ctrl-C),
    kills the workers at once.
    """
    queue: deque[Sequence[Item]] = deque(chunks)
    suspects: deque[Item] = deque()
    while queue or suspects:
        pool = _pool(jobs)
        try:
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
        except BaseException:  # KeyboardInterrupt, GeneratorExit (the caller stopped reading), ...
            _kill_workers(pool)
            raise
        finally:
            pool.shutdown(wait=True)


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
