"""A background model: per-pixel mean and standard deviation learned from frames.

Where the classic metrics compare B with one image A, a background model compares B with
what a fixed camera usually sees: the mean of each pixel over a set of frames and how much
it varies there (a tree that sways, water, a screen). A pixel of B is outside the background
when it is farther from the mean than k standard deviations, ``|B - mean| > k * max(std,
floor)``, in any channel; the score is the share of such pixels. The noise floor keeps a
perfectly static training set (std = 0) from flagging every pixel that differs at all.

This is the single-Gaussian model of Wren et al. 1997 ("Pfinder"), learned once from the
frames instead of updated frame by frame. Loading the frames from a folder is the
pipeline's job (:func:`imgdelta.pipeline.background.compare_background`); this module
works on arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from ..errors import OptionError, SizeMismatchError

__all__ = ["BACKGROUND_K", "BACKGROUND_NOISE_FLOOR", "BackgroundModel", "check_threshold"]

#: A pixel is outside the background beyond this many standard deviations from the mean.
BACKGROUND_K = 3.0

#: The smallest standard deviation a pixel is given, on the [0, 1] scale: 2 levels of 255,
#: as OpenCV's BackgroundSubtractorMOG2 never lets a variance fall under 4 (its varMin, on
#: 0..255 values). Frames that never changed would otherwise flag any difference at all.
BACKGROUND_NOISE_FLOOR = 2.0 / 255.0


def _as_frame(frame: np.ndarray) -> np.ndarray:
    """``frame`` as a float (H, W, C) array on the [0, 1] scale: uint8 is 0..255, floats are
    taken as [0, 1]; anything else has no scale this module could know."""
    if not isinstance(frame, np.ndarray):
        raise OptionError(
            f"a background frame must be a NumPy array, not {type(frame).__name__}: "
            "imgdelta.compare_background(folder, image) reads files"
        )
    array = frame
    if array.dtype == np.uint8:
        array = array.astype(np.float32) * np.float32(1 / 255)
    elif array.dtype.kind != "f":
        raise OptionError(
            f"a background frame of dtype {array.dtype} has no known scale: give uint8 (0..255) or "
            "floats in [0, 1]"
        )
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3) or array.shape[0] < 1 or array.shape[1] < 1:
        raise OptionError(f"a background frame must be an (H, W), (H, W, 1) or (H, W, 3) array, got shape {array.shape}")
    return array


def _size(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[0]}"


def _kind(shape: tuple[int, ...]) -> str:
    return "gray" if shape[2] == 1 else "colour"


def check_threshold(k: float, floor: float) -> None:
    """Raise :class:`OptionError` unless ``k`` is positive and ``floor`` is at least 0."""
    if not (k > 0 and math.isfinite(k)):
        raise OptionError(f"background k={k} must be a positive number of standard deviations")
    if not (floor >= 0 and math.isfinite(floor)):
        raise OptionError(f"background noise floor={floor} must be a standard deviation >= 0 on the [0, 1] scale")


@dataclass(frozen=True, eq=False)
class BackgroundModel:
    """Per-pixel mean and (population) standard deviation of a set of frames.

    Attributes
    ----------
    mean, std : numpy.ndarray
        float32 (H, W, C), C = 1 or 3, on the scale of the frames ([0, 1] in imgdelta).
    frames : int
        How many frames the model was learned from.
    """

    mean: np.ndarray
    std: np.ndarray
    frames: int

    @classmethod
    def learn(cls, frames: Iterable[np.ndarray]) -> "BackgroundModel":
        """Learn the model from frames of one shape, (H, W) or (H, W, C): uint8 (0..255) or
        floats in [0, 1].

        The frames are read once, one at a time (a generator never has to be held in
        memory): sums of each frame's difference from the first, and of its square, in
        float64, give ``mean`` and ``std`` (ddof = 0, NumPy's default) without the
        cancellation of plain sums of squares.

        Raises
        ------
        OptionError
            No frame, or an array that is not an image.
        SizeMismatchError
            A frame of another size or channel count than the first.
        """
        first: np.ndarray | None = None
        total = squares = None
        count = 0
        for frame in frames:
            array = _as_frame(frame)
            if first is None:
                first = array.astype(np.float64)
                total = np.zeros_like(first)
                squares = np.zeros_like(first)
            elif array.shape[:2] != first.shape[:2]:
                raise SizeMismatchError(
                    f"background frame {count + 1} is {_size(array.shape)} but the first is "
                    f"{_size(first.shape)}: the frames must all have one size"
                )
            elif array.shape != first.shape:
                raise SizeMismatchError(
                    f"background frame {count + 1} is {_kind(array.shape)} but the first is "
                    f"{_kind(first.shape)}: gray and colour frames cannot be mixed"
                )
            deviation = array.astype(np.float64) - first
            total += deviation
            squares += deviation * deviation
            count += 1
        if first is None or total is None or squares is None:
            raise OptionError("a background model needs at least one frame")
        shift = total / count
        variance = np.maximum(squares / count - shift * shift, 0.0)
        return cls(mean=(first + shift).astype(np.float32), std=np.sqrt(variance).astype(np.float32), frames=count)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(H, W, C) of the frames."""
        return tuple(int(n) for n in self.mean.shape)  # type: ignore[return-value]

    def outliers(self, image: np.ndarray, *, k: float = BACKGROUND_K, floor: float = BACKGROUND_NOISE_FLOOR) -> np.ndarray:
        """bool (H, W): pixels with ``|image - mean| > k * max(std, floor)`` in any channel.

        Raises
        ------
        SizeMismatchError
            ``image`` has another size or channel count than the frames.
        OptionError
            ``k`` is not positive or ``floor`` is negative.
        """
        check_threshold(k, floor)
        array = _as_frame(image)
        if array.shape != self.mean.shape:
            raise SizeMismatchError(
                f"the image is {_size(array.shape)} {_kind(array.shape)} but the background frames are "
                f"{_size(self.mean.shape)} {_kind(self.mean.shape)}"
            )
        limit = np.maximum(self.std, np.float32(floor)) * np.float32(k)
        outside = np.abs(array.astype(np.float32) - self.mean) > limit
        return outside.any(axis=2)

    def score(
        self,
        image: np.ndarray,
        *,
        k: float = BACKGROUND_K,
        floor: float = BACKGROUND_NOISE_FLOOR,
        mask: np.ndarray | None = None,
    ) -> float:
        """Share of the pixels (of those ``mask`` keeps) outside the background, in [0, 1].

        0 when the image fits the background everywhere; 1 when no pixel does.
        """
        outside = self.outliers(image, k=k, floor=floor)
        if mask is None:
            return float(np.count_nonzero(outside)) / outside.size
        if mask.shape != outside.shape:
            raise SizeMismatchError(f"the mask is {mask.shape[1]}x{mask.shape[0]} but the image is {outside.shape[1]}x{outside.shape[0]}")
        kept = int(np.count_nonzero(mask))
        if kept == 0:
            raise OptionError("the mask keeps no pixel to compare")
        return float(np.count_nonzero(outside & mask)) / kept
