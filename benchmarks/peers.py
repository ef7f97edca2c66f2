"""What a catalogue row of ``bench_compare.py`` needs: a metric and its reference, run alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class PeerCase:
    """imgdelta's ``metric`` beside ``peer`` on the same pair.

    ``run(a, b)`` computes the reference's value from two uint8 RGB arrays (H, W, 3), doing
    its own conversions as a user of that library would, and returns the number imgdelta's
    ``metric`` should equal (up to the reference's own conventions).
    """

    metric: str
    peer: str
    run: Callable[[np.ndarray, np.ndarray], float]
    repeat: int = 3
    peer_repeat: int = 1
    tolerance: float = 1e-6

    def agreement(self, ours: float, theirs: float) -> str:
        difference = abs(float(ours) - float(theirs))
        return f"|diff| = {difference:.1e}" + ("" if difference <= self.tolerance * max(1.0, abs(float(theirs))) else " (over tolerance)")
