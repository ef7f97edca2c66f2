"""SIGINT and SIGTERM as one clean stop, for commands that work in batches (dedupe, hash)
or frame by frame (filter).

While the block of :func:`stop_on_signals` runs, either signal raises :class:`Stopped` in the
main thread: the code below unwinds as for Ctrl-C (the process pool kills its workers, an
index keeps every committed row) and the command says so in one line and exits with
128 + the signal's number, as a shell reports a process that a signal ended (130 for
SIGINT, 143 for SIGTERM). A second signal while stopping is ignored.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["Stopped", "stop_on_signals", "stop_requests"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(KeyboardInterrupt):
    """A stop signal arrived. A KeyboardInterrupt, so that ``except Exception`` lets it pass."""

    def __init__(self, signum: int) -> None:
        self.name = signal.Signals(signum).name
        self.exit_code = 128 + int(signum)
        super().__init__(self.name)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Raise :class:`Stopped` on SIGINT or SIGTERM while the block runs (main thread only:
    elsewhere signals cannot be caught, and the block runs unchanged)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised: list[int] = []

    def stop(signum: int, _frame: Any) -> None:
        if not raised:
            raised.append(signum)
            raise Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)  # None: set outside Python


@contextlib.contextmanager
def stop_requests() -> Iterator[list[int]]:
    """The signals received while the block runs, as a list the block polls to stop at its
    next safe point; a second signal raises :class:`Stopped` at once. Outside the main
    thread the list stays empty."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def stop(signum: int, _frame: Any) -> None:
        if received:
            raise Stopped(signum)
        received.append(signum)

    previous = {sig: signal.signal(sig, stop) for sig in _SIGNALS}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
