"""Compare an image with a background learned from frames: load, preprocess, learn, score."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from ..decide.verdict import Tolerance, Verdict, judge
from ..errors import OptionError, SizeMismatchError
from ..io.folders import list_images
from ..io.images import DEFAULT_MAX_PIXELS, ImageInput, LoadedImage, load_image
from ..metrics.background import BACKGROUND_K, BACKGROUND_NOISE_FLOOR, BackgroundModel, check_threshold
from ..preprocess import PreparedPair, Preprocess, prepare_pair

__all__ = ["BackgroundComparison", "compare_background"]


@dataclass(frozen=True)
class BackgroundComparison:
    """The result of :func:`compare_background`.

    Attributes
    ----------
    background : str
        What the model was learned from (the folder or pattern, or "N frames").
    b : str
        The image compared with it.
    frames : int
        How many frames the model was learned from.
    size : (int, int)
        Width and height compared, after preprocessing.
    channels : int
        1 for luminance, 3 for colour (a pixel is outside when any channel is).
    k, floor : float
        The threshold: a pixel is outside when ``|B - mean| > k * max(std, floor)``.
    metrics : dict
        ``{"background": share}``: the share of compared pixels outside the background.
    outside_pixels, compared_pixels : int
        How many pixels are outside, of how many compared.
    verdict : Verdict or None
        PASS/FAIL when rules were given (``background<=0.01``), else None.
    """

    background: str
    b: str
    frames: int
    size: tuple[int, int]
    channels: int
    k: float
    floor: float
    metrics: dict[str, float]
    outside_pixels: int
    compared_pixels: int
    verdict: Verdict | None = None

    @property
    def exit_code(self) -> int:
        """0 unless a rule failed (then 1), as for :class:`~imgdelta.pipeline.Comparison`."""
        return 1 if self.verdict is not None and self.verdict.failed else 0

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {
            "background": self.background,
            "b": self.b,
            "frames": self.frames,
            "size": list(self.size),
            "channels": self.channels,
            "k": self.k,
            "floor": self.floor,
            "compared_pixels": self.compared_pixels,
            "outside_pixels": self.outside_pixels,
            "metrics": dict(self.metrics),
            "verdict": self.verdict.to_dict() if self.verdict else None,
        }


def _check_options(preprocess: Preprocess, tolerance: Tolerance | None) -> None:
    if preprocess.align is not None:
        raise OptionError("alignment (--align) does not apply with a background model: B is compared with the frames where they are")
    if preprocess.exposure is not None:
        raise OptionError("exposure matching (--exposure) does not apply with a background model: the frames' spread already covers it")
    if tolerance is not None and (tolerance.fail is not None or tolerance.warn is not None or tolerance.hard_fail is not None):
        raise OptionError("per-pixel limits (--fail, --warn, --hard-fail) do not apply with a background model; use a rule such as 'background<=0.01'")


def compare_background(
    frames: str | os.PathLike | Iterable[ImageInput],
    image: ImageInput,
    *,
    k: float = BACKGROUND_K,
    floor: float = BACKGROUND_NOISE_FLOOR,
    preprocess: Preprocess = Preprocess(),
    tolerance: Tolerance | None = None,
    alpha: str | tuple[float, float, float] | None = "black",
    data_range: float | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> BackgroundComparison:
    """How much of ``image`` is outside the background that ``frames`` show?

    Learns a :class:`~imgdelta.metrics.background.BackgroundModel` (per-pixel mean and
    standard deviation) from the frames and reports the share of the image's pixels with
    ``|B - mean| > k * max(std, floor)`` in any channel.

    Parameters
    ----------
    frames : folder, glob pattern, or iterable of images
        A folder's images in natural order (``imgdelta.io.list_images``), or paths, arrays,
        PIL images. All of one size. Read one at a time.
    image : path, bytes, PIL image, NumPy array or LoadedImage
        The image to test (B).
    k : float
        Standard deviations a pixel may be from its mean (3).
    floor : float
        Smallest standard deviation, [0, 1] scale (2/255, OpenCV MOG2's minimum variance).
    preprocess : Preprocess
        Applied to every frame and to B alike: size policy (between B and the frames),
        grayscale, crop, ignore, mask, thumbnail, blur. Alignment and exposure matching
        do not apply.
    tolerance : Tolerance, optional
        Rules on ``background`` (``parse_rule("background<=0.01")``) for a PASS/FAIL verdict.
    alpha, data_range, max_pixels
        As for :func:`imgdelta.compare`, for the frames and the image.

    Raises
    ------
    InputError
        A missing or empty folder, an unreadable frame or image.
    SizeMismatchError
        Frames of different sizes; B of another size than the frames without a resize policy.
    OptionError
        No frame, ``k <= 0``, ``floor < 0``, alignment, exposure or per-pixel limits asked.
    """
    check_threshold(k, floor)
    _check_options(preprocess, tolerance)
    if isinstance(frames, (str, os.PathLike)):
        sources: Iterable[ImageInput] = list_images(frames)
        background = str(frames)
    else:
        sources, background = frames, ""
    second = load_image(image, alpha=alpha, data_range=data_range, max_pixels=max_pixels)
    last: list[PreparedPair] = []

    def prepared() -> Iterator[np.ndarray]:
        first: LoadedImage | None = None
        for source in sources:
            frame = load_image(source, alpha=alpha, data_range=data_range, max_pixels=max_pixels)
            if first is None:
                first = frame
                if preprocess.resize is None and frame.size != second.size:
                    raise SizeMismatchError(
                        f"{second.source} is {second.width}x{second.height} but the first background frame, "
                        f"{frame.source}, is {frame.width}x{frame.height}: choose --resize (to-first resizes "
                        "B to the frames), which the frames must all share"
                    )
            elif frame.size != first.size:
                raise SizeMismatchError(
                    f"background frame {frame.source} is {frame.width}x{frame.height} but {first.source} "
                    f"is {first.width}x{first.height}: the frames must all have one size"
                )
            pair = prepare_pair(frame, second, preprocess)
            last[:] = [pair]
            yield pair.a

    model = BackgroundModel.learn(prepared())
    pair = last[0]
    outside = model.outliers(pair.b, k=k, floor=floor)
    compared = outside.size if pair.mask is None else int(np.count_nonzero(pair.mask))
    outside_count = int(np.count_nonzero(outside if pair.mask is None else outside & pair.mask))
    share = outside_count / compared
    metrics = {"background": share}
    verdict = None
    if tolerance is not None and tolerance.active:
        verdict = judge(np.empty(0, np.float32), metrics, tolerance)
    height, width = outside.shape
    return BackgroundComparison(
        background=background or f"{model.frames} frames",
        b=second.source,
        frames=model.frames,
        size=(width, height),
        channels=model.shape[2],
        k=float(k),
        floor=float(floor),
        metrics=metrics,
        outside_pixels=outside_count,
        compared_pixels=compared,
        verdict=verdict,
    )
