"""A progress line on stderr for long runs: only on a terminal, redrawn at most 10 times a second."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressLine"]


class ProgressLine:
    """``[#####.....]  1234/5000 frames, 17 kept, 410 frames/s, 9 s left``."""

    def __init__(self, label: str, *, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label = label
        self.started = time.monotonic()
        self._drawn = 0.0
        self._width = 0

    def __call__(self, done: int, total: int | None, kept: int, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._drawn < 0.1 and (total is None or done < total):
            return
        self._drawn = now
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        if total:
            filled = int(20 * min(done, total) / total)
            left = (total - done) / rate if rate > 0 else 0.0
            text = f"{self.label} [{'#' * filled}{'.' * (20 - filled)}] {done}/{total} frames, {kept} kept, {rate:.0f} frames/s, {left:.0f} s left"
        else:
            text = f"{self.label} {done} frames, {kept} kept, {rate:.1f} frames/s"
        self._write(text)

    def message(self, text: str, *, event: bool = True) -> None:
        """A status line (capture). On a terminal it replaces the line; in a log only events
        (a kept frame, a lost camera) are written, so days of capture stay readable."""
        if self.enabled:
            self._write(text)
        elif event:
            print(text, file=self.stream, flush=True)

    def _write(self, text: str) -> None:
        padding = " " * max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write(f"\r{text}{padding}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0
