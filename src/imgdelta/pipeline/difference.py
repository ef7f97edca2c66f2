"""diff(a, b): where two images differ, after the same noise suppression the filter uses."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..decide.change import ChangeDetector, Decision, DetectorSettings, has_changed
from ..decide.regions import Region, find_regions
from ..errors import SizeMismatchError
from ..io.images import DEFAULT_MAX_PIXELS, ImageInput, LoadedImage, load_image

__all__ = ["DIFF_ANALYSIS_SIZE", "Difference", "diff"]

#: Longer side of the analysis image for a single pair: finer than the filter's, since
#: boxes are drawn at full resolution and one pair is cheap.
DIFF_ANALYSIS_SIZE = 1024


@dataclass(frozen=True, eq=False)
class Difference:
    """Where ``a`` and ``b`` differ.

    ``changed`` and ``magnitude`` are at the analysis resolution (``changed.shape``);
    ``regions`` and ``size`` are in full-resolution pixels. The images differ where there
    are regions. ``decision`` is what a time-lapse filter with the same settings makes of
    the pair (:func:`~imgdelta.has_changed`): it works at its own, coarser analysis size and
    weighs the changed area against its threshold, so a small region can come with a
    "same" decision, and a change of the light alone with a "lighting" one and no region.
    """

    a: LoadedImage
    b: LoadedImage
    changed: np.ndarray
    magnitude: np.ndarray
    regions: list[Region]
    changed_fraction: float
    decision: Decision
    identical: bool = False
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int]:
        return self.a.size

    @property
    def summary(self) -> str:
        """One line: the regions, or why there are none."""
        if self.identical:
            return "identical pixels"
        if not self.regions:
            return f"no changed region ({self.decision.reason})"
        count = len(self.regions)
        return f"{count} changed region{'s' if count != 1 else ''}, {100 * self.changed_fraction:.2f}% of the image"

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a.source,
            "b": self.b.source,
            "size": list(self.size),
            "identical": self.identical,
            "changed": bool(self.regions),
            "reason": self.summary,
            "filter_keep": self.decision.keep and not self.identical,
            "filter_reason": self.decision.reason,
            "changed_fraction": round(self.changed_fraction, 6),
            "regions": [list(r.box) for r in self.regions],
            "region_details": [r.to_dict() for r in self.regions],
        }


def diff(
    a: ImageInput,
    b: ImageInput,
    *,
    settings: DetectorSettings | None = None,
    alpha: str | tuple[float, float, float] | None = "black",
    data_range: float | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    analysis_size: int = DIFF_ANALYSIS_SIZE,
) -> Difference:
    """Find the regions where ``b`` differs from ``a``.

    Sensor noise, JPEG artefacts, a global brightness change and a pixel of shift are not
    differences (the change detector's judgement, at up to ``analysis_size`` pixels on the
    longer side); what remains is grouped into connected regions, nearby pieces merged.

    Raises
    ------
    InputError, OptionError
        An image cannot be read, or an option is wrong.
    SizeMismatchError
        The images differ in size.
    """
    first = load_image(a, alpha=alpha, data_range=data_range, max_pixels=max_pixels, name=None)
    second = load_image(b, alpha=alpha, data_range=data_range, max_pixels=max_pixels, name=None)
    if first.size != second.size:
        raise SizeMismatchError(
            f"{first.source} is {first.width}x{first.height} but {second.source} is {second.width}x{second.height}"
        )
    base = settings or DetectorSettings()
    detector = ChangeDetector(replace(base, analysis_size=max(16, min(analysis_size, max(first.size)))))
    detector.update(first.pixels, full_size=first.size)
    detector.update(second.pixels, full_size=second.size)
    # the filter's own judgement, from files as the filter reads them (JPEG at a reduced
    # scale) and at its own analysis size; the regions need a finer one
    def as_filter_reads(given: ImageInput, loaded: LoadedImage) -> ImageInput:
        return given if isinstance(given, (str, os.PathLike, bytes)) else loaded

    decision = has_changed(as_filter_reads(a, first), as_filter_reads(b, second), settings=base)
    identical = bool(np.array_equal(first.pixels, second.pixels))
    if detector.last_change is None or detector.last_difference is None:  # skipped as dark or blank
        shape = (1, 1)
        changed, magnitude = np.zeros(shape, bool), np.zeros(shape, np.float32)
    else:
        changed, magnitude = detector.last_change, np.abs(detector.last_difference)
    regions = [] if identical else find_regions(changed, magnitude, first.size)
    fraction = 0.0 if identical else float(changed.mean())
    return Difference(first, second, changed, magnitude, regions, fraction, decision, identical)
