"""diff(a, b): where two images differ, after the same noise suppression the filter uses."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..decide.change import ChangeDetector, Decision, DetectorSettings, has_changed
from ..decide.regions import Region, find_regions
from ..errors import OptionError, SizeMismatchError
from ..io.images import DEFAULT_MAX_PIXELS, ImageInput, LoadedImage, load_image

__all__ = ["DIFF_ANALYSIS_SIZE", "DIFF_RULES", "Difference", "diff"]

#: Longer side of the analysis image for a single pair: finer than the filter's, since
#: boxes are drawn at full resolution and one pair is cheap.
DIFF_ANALYSIS_SIZE = 1024
#: What counts as changed: the change detector's judgement (photos, camera frames), or
#: pixelmatch's per-pixel rule at full resolution (rendered output, where one pixel counts).
DIFF_RULES = ("detector", "pixelmatch")


@dataclass(frozen=True, eq=False)
class Difference:
    """Where ``a`` and ``b`` differ.

    ``changed`` and ``magnitude`` are at the analysis resolution (``changed.shape``; full
    resolution with the pixelmatch rule); ``regions`` and ``size`` are in full-resolution
    pixels. The images differ where there are regions; ``rule`` says what counted (and
    ``threshold``, pixelmatch's, when it was pixelmatch's). ``decision`` is what a
    time-lapse filter with the same settings makes of the pair
    (:func:`~imgdelta.has_changed`): it works at its own, coarser analysis size and weighs
    the changed area against its threshold, so a small region can come with a "same"
    decision, and a change of the light alone with a "lighting" one and no region.
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
    rule: str = "detector"
    threshold: float = 0.1

    @property
    def size(self) -> tuple[int, int]:
        return self.a.size

    @property
    def summary(self) -> str:
        """One line: the regions, or why there are none."""
        if self.identical:
            return "identical pixels"
        if not self.regions and self.rule == "pixelmatch":
            return f"no changed region (no pixel differs by pixelmatch's rule at threshold {self.threshold:g})"
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
            "rule": self.rule,
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
    rule: str = "detector",
    threshold: float = 0.1,
) -> Difference:
    """Find the regions where ``b`` differs from ``a``.

    With ``rule="detector"``, sensor noise, JPEG artefacts, a global brightness change and
    a pixel of shift are not differences (the change detector's judgement, at up to
    ``analysis_size`` pixels on the longer side), nor is a change only a pixel or two
    across. With ``rule="pixelmatch"``, every pixel that pixelmatch would count at
    ``threshold`` is a difference (anti-aliased edges are not), at full resolution: the
    rule for rendered output, where a one-pixel line or a changed digit matters. What
    remains is grouped into connected regions, nearby pieces merged.

    Raises
    ------
    InputError, OptionError
        An image cannot be read, or an option is wrong.
    SizeMismatchError
        The images differ in size.
    """
    if rule not in DIFF_RULES:
        raise OptionError(f"rule {rule!r}: use {' or '.join(DIFF_RULES)}")
    if not 0.0 <= threshold <= 1.0:
        raise OptionError(f"threshold {threshold!r} must lie in [0, 1]")
    first = load_image(a, alpha=alpha, data_range=data_range, max_pixels=max_pixels, name=None)
    second = load_image(b, alpha=alpha, data_range=data_range, max_pixels=max_pixels, name=None)
    if first.size != second.size:
        raise SizeMismatchError(
            f"{first.source} is {first.width}x{first.height} but {second.source} is {second.width}x{second.height}: "
            "diff draws on pictures of one size (imgdelta compare --resize can measure these)"
        )
    base = settings or DetectorSettings()
    # the filter's own judgement, from files as the filter reads them (JPEG at a reduced
    # scale) and at its own analysis size; the regions need a finer one
    def as_filter_reads(given: ImageInput, loaded: LoadedImage) -> ImageInput:
        return given if isinstance(given, (str, os.PathLike, bytes)) else loaded

    decision = has_changed(as_filter_reads(a, first), as_filter_reads(b, second), settings=base)
    identical = bool(np.array_equal(first.pixels, second.pixels))
    if rule == "pixelmatch":
        changed, magnitude = _pixelmatch_change(first, second, threshold)
    else:
        changed, magnitude = _detector_change(first, second, base, analysis_size)
    regions = [] if identical else find_regions(changed, magnitude, first.size)
    fraction = 0.0 if identical else float(changed.mean())
    return Difference(first, second, changed, magnitude, regions, fraction, decision, identical, rule=rule, threshold=threshold)


def _detector_change(
    first: LoadedImage, second: LoadedImage, settings: DetectorSettings, analysis_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """The change detector's changed map and |luma difference| at the analysis size."""
    detector = ChangeDetector(replace(settings, analysis_size=max(16, min(analysis_size, max(first.size)))))
    detector.update(first.pixels, full_size=first.size)
    detector.update(second.pixels, full_size=second.size)
    if detector.last_change is None or detector.last_difference is None:  # skipped as dark or blank
        return np.zeros((1, 1), bool), np.zeros((1, 1), np.float32)
    return detector.last_change, np.abs(detector.last_difference)


def _pixelmatch_change(first: LoadedImage, second: LoadedImage, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """pixelmatch's different pixels and the largest channel difference, full resolution."""
    from ..features import FeaturePair, Features
    from ..metrics._pixelmatch import DIFFERENT, classify

    a = Features(first.pixels, first.samples8)
    b = Features(second.pixels, second.samples8)
    if a.is_gray != b.is_gray:  # one gray, one colour: compared in colour
        a, b = (Features(np.repeat(f.pixels, 3, axis=2)) if f.is_gray else f for f in (a, b))
    labels = classify(a.rgba8, b.rgba8, threshold=threshold)
    return labels == DIFFERENT, FeaturePair(a, b).pixel_error
