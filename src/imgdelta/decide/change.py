"""Keep a frame only when the picture really changed: the time-lapse change detector.

:class:`ChangeDetector` is fed frames one at a time and answers keep or skip, with the
reason and the scores. By default it compares each frame with the last *kept* frame, so
slow change adds up until it is stored, and it works on a small luma image (about 200
pixels on the longer side) where sensor noise and JPEG artefacts have averaged away.

One comparison, in order:

1. **Light and jitter**: one robust linear fit explains the frame by the reference times
   a gain, plus an offset, plus the reference's gradients times a small shift. Flicker,
   exposure drift and camera jitter under two analysis pixels are compensated (a camera
   that moved further has changed the picture); a brightness ratio beyond ``lighting`` is
   itself a change ("lights on/off").
2. **Noise**: the noise level, as a function of intensity, is measured on the difference
   itself, from differences between neighbouring pixels (median absolute deviation per
   intensity band), which a smooth real change barely touches; how much the noise is
   correlated between neighbours is learnt over the sequence. A calibration profile adds,
   where frames that showed nothing happening still moved (leaves, water, a screen), a
   floor just above what they did there.
3. **Significance**: a pixel has changed when the frame leaves the range of the reference's
   3x3 neighbourhood (and the other way round) by more than ``sensitivity`` noise deviations
   and by at least ``min_contrast``. A 3x3 opening removes specks; the changed share of the
   frame is the score, kept when it reaches ``min_area``. The same share is also measured
   at a quarter of the resolution (a pool of light is smooth but large) and on the colour
   planes at half resolution (a brown bag on a red car changes colour, not brightness);
   the largest counts.

Classic metrics can replace steps 2-3: ``DetectorSettings(metric="ssim", threshold=0.95)``
keeps a frame when SSIM against the reference falls below 0.95 (any registered metric;
similarities keep below the threshold, distances above it, signed figures further from 0).
"""

from __future__ import annotations

import io
import json
import math
import os
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import OptionError
from ..io.images import LoadedImage, analysis_shape, load_image

if TYPE_CHECKING:
    from ..preprocess import Rect

__all__ = [
    "ChangeDetector",
    "Decision",
    "DetectorSettings",
    "NoiseProfile",
    "PreparedFrame",
    "calibrate_detector",
    "has_changed",
]

Reference = Literal["kept", "previous", "background"]
REFERENCES: tuple[str, ...] = ("kept", "previous", "background")

#: Intensity bands in which the noise level is measured separately (noise depends on light).
_NOISE_BANDS = 4
#: Entries of the intensity -> noise lookup table.
_LUT_SIZE = 64
_LUT_GRID = np.linspace(0, 1, _LUT_SIZE)
_DIAGONAL = np.diag_indices(4)
#: Comparisons between two measurements of the noise level.
_NOISE_REFRESH = 4
#: Largest noise-correlation factor believed from a single comparison (see _noise_lut).
_FIRST_CORRELATION = 1.3
#: When what moved in calibration's static frames covers more than this share of the
#: picture (rain, snow, a big tree), the area threshold is not lowered below the default.
_WIDESPREAD_SHARE = 0.01
#: A changed share of the frame that calibration takes for an event, not for noise.
_LARGE_AREA = 0.05
#: Shifts at or beyond this many analysis pixels are camera movement, not jitter.
_MAX_JITTER = 2.0
#: A colour channel at or above this (on [0, 1]) is at or near the sensor's white: it
#: cannot follow a brighter light, and one that was clipped cannot show a dimmer one.
_NEAR_WHITE = 0.94
#: BT.601 weights as a 1 x 3 transform: a weighted sum of the channels.
_LUMA_ROW = np.array([[0.299, 0.587, 0.114]], np.float32)
#: Structuring elements and pooling blocks, made once.
_SQUARE_2 = np.ones((2, 2), np.uint8)
_SQUARE_3 = np.ones((3, 3), np.uint8)
_SQUARE_4 = np.ones((4, 4), np.uint8)


@dataclass(frozen=True)
class DetectorSettings:
    """Everything that decides keep or skip. One object, read by the API, CLI and profiles.

    Parameters
    ----------
    analysis_size : int
        About the longer side, in pixels, of the image the decision is made on: frames are
        reduced to :func:`imgdelta.io.analysis_shape` of their size, the reduced scale a
        JPEG decoder gives almost for free (between this and 1.5 times this), which is
        most of the speed.
    sensitivity : float
        How many noise standard deviations a pixel must move to count as changed.
    min_contrast : float
        Smallest intensity change (on the [0, 1] scale) that counts, however clean the
        frames: differences a person cannot see on a small area are not changes.
    min_area : float
        Share of the frame (0-1) that must change for the frame to be kept. The default,
        0.2 %, is a fifth of an object of 1 % of the frame.
    lighting : float
        A brightness ratio beyond ``exp(lighting)`` (about x1.22 or x0.82 by default) is a
        change of lighting and keeps the frame; smaller ones are flicker and drift.
    reference : {"kept", "previous", "background"}
        What a frame is compared with: the last kept frame (slow change adds up), the
        previous frame (motion-detector style), or a slowly adapting background average.
    background_rate : float
        Weight of each new frame in the background average (``reference="background"``).
    max_gap_frames, max_gap_seconds : optional
        Keep a frame anyway when this many frames (or seconds) passed since the last kept.
    min_gap_frames, min_gap_seconds : optional
        Never keep two frames closer than this; a change is then stored at the first frame
        after the gap, since frames are compared with the last kept one.
    skip_dark : float, optional
        Skip frames whose mean luma is below this (night, lens cap); 0.04 is a dark frame.
    skip_blank : float, optional
        Skip frames whose luma standard deviation is below this (a uniform grey or black
        frame from a camera that is starting up); 0.01 is a good value.
    roi : (x, y, w, h), optional
        Only this rectangle of the frame counts, in the frame's full-resolution pixels.
    ignore : tuple of (x, y, w, h)
        Rectangles that never count (a clock, a tree), in full-resolution pixels.
    metric, threshold : optional
        Decide with a registered metric instead (``"ssim"`` with ``0.95``): keep when a
        similarity falls below ``threshold``, a distance rises above it, or a signed
        figure (``template_dx``) is further than it from 0. The metric sees the frames'
        luma at the analysis size, so read the threshold off this detector's scores.
    """

    analysis_size: int = 200
    sensitivity: float = 4.0
    min_contrast: float = 0.025
    min_area: float = 0.002
    lighting: float = 0.2
    reference: Reference = "kept"
    background_rate: float = 0.05
    max_gap_frames: int | None = None
    max_gap_seconds: float | None = None
    min_gap_frames: int | None = None
    min_gap_seconds: float | None = None
    skip_dark: float | None = None
    skip_blank: float | None = None
    roi: Rect | None = None
    ignore: tuple[Rect, ...] = ()
    metric: str | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        def positive(name: str, value: float | None, *, zero: bool = False) -> None:
            if value is None:
                return
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0 or (value == 0 and not zero):
                raise OptionError(f"{name} must be a positive number, got {value!r}")

        if not isinstance(self.analysis_size, int) or not 16 <= self.analysis_size <= 4096:
            raise OptionError(f"analysis_size must be an integer from 16 to 4096, got {self.analysis_size!r}")
        positive("sensitivity", self.sensitivity)
        positive("min_contrast", self.min_contrast, zero=True)
        positive("lighting", self.lighting)
        positive("max_gap_seconds", self.max_gap_seconds)
        positive("min_gap_seconds", self.min_gap_seconds)
        positive("skip_dark", self.skip_dark, zero=True)
        positive("skip_blank", self.skip_blank, zero=True)
        if not 0 <= self.min_area < 1:
            raise OptionError(f"min_area is a share of the frame from 0 to 1, got {self.min_area!r}")
        if not 0 < self.background_rate <= 1:
            raise OptionError(f"background_rate must be in (0, 1], got {self.background_rate!r}")
        if self.reference not in REFERENCES:
            raise OptionError(f"reference {self.reference!r} is not one of {', '.join(REFERENCES)}")
        for name in ("max_gap_frames", "min_gap_frames"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise OptionError(f"{name} must be a whole number of frames >= 1, got {value!r}")
        if (self.metric is None) != (self.threshold is None):
            raise OptionError("a metric needs a threshold and a threshold needs a metric (for example ssim and 0.95)")
        if self.metric is not None:
            from ..metrics import get_metric  # the metrics load only when one is asked for

            get_metric(self.metric)  # unknown names fail here, with the list of known ones

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ignore"] = [list(rect) for rect in self.ignore]
        out["roi"] = list(self.roi) if self.roi else None
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DetectorSettings:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("roi") is not None:
            values["roi"] = tuple(values["roi"])
        values["ignore"] = tuple(tuple(r) for r in values.get("ignore", ()))
        return cls(**values)


@dataclass(frozen=True, eq=False)
class PreparedFrame:
    """A frame reduced for the detector (:meth:`ChangeDetector.prepare`): luma, colour
    planes at half its size (None for gray frames), the frame's full (width, height), and
    the share of each pixel's luma in colour channels at or near white (None when no
    channel is anywhere)."""

    luma: np.ndarray
    chroma: np.ndarray | None
    full_size: tuple[int, int]
    white_share: np.ndarray | None = None


@dataclass(frozen=True)
class Decision:
    """What the detector decided about one frame.

    ``kind`` is one of ``first``, ``change``, ``lighting``, ``size``, ``max-gap`` (kept) and
    ``same``, ``min-gap``, ``dark``, ``blank`` (skipped). ``score`` is the number compared
    with ``threshold``: the changed share of the frame, or the chosen metric's value.
    ``scores`` holds every figure measured (changed area, brightness ratio, noise, shift).
    """

    keep: bool
    kind: str
    reason: str
    score: float
    threshold: float
    scores: Mapping[str, float] = field(default_factory=dict)
    index: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "keep": self.keep,
            "kind": self.kind,
            "reason": self.reason,
            "score": _finite(self.score),
            "threshold": _finite(self.threshold),
            "scores": {k: _finite(v) for k, v in self.scores.items()},
        }


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


@dataclass(frozen=True, eq=False)
class NoiseProfile:
    """What calibration learned from frames where nothing changed.

    ``stray_map`` is, at the analysis geometry ``size``, the smallest change (on the [0, 1]
    scale) that counts at each pixel: zero where the static frames showed only noise (the
    live noise estimate rules there), and just above what they showed where something
    always moves (leaves, water, a screen). ``settings`` are the thresholds chosen from the
    static frames; ``report`` describes what was measured (for people). ``chroma_map`` is
    the same floor for colour, at the half size colour is compared at (None in a profile
    saved without one: colour then does not count where things moved).
    """

    size: tuple[int, int]
    stray_map: np.ndarray
    settings: DetectorSettings
    report: Mapping[str, Any] = field(default_factory=dict)
    chroma_map: np.ndarray | None = None

    def fingerprint(self) -> str:
        """A short hash of what this profile adds to the thresholds (its per-pixel floors and
        the noise correlation it measured): two profiles with one fingerprint judge frames
        alike under the same settings."""
        import hashlib

        digest = hashlib.sha256(json.dumps([list(self.size), _finite(self.report.get("correlation"))]).encode())
        for floor in (self.stray_map, self.chroma_map):
            digest.update(b"-" if floor is None else np.ascontiguousarray(floor, np.float32).tobytes())
        return digest.hexdigest()[:16]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the profile as JSON (the stray map on a coarse grid, as nested lists)."""
        grid = _coarse(self.stray_map)
        document = {
            "format": "imgdelta-noise-profile",
            "version": 1,
            "size": list(self.size),
            "stray_grid": np.round(grid, 6).tolist(),
            **({"chroma_grid": np.round(_coarse(self.chroma_map), 6).tolist()} if self.chroma_map is not None else {}),
            "settings": self.settings.to_dict(),
            "report": dict(self.report),
        }
        target = Path(path)
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_text(json.dumps(document, indent=1) + "\n")
        os.replace(temporary, target)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NoiseProfile:
        """Read a profile written by :meth:`save`; a clear OptionError for anything else."""
        try:
            document = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise OptionError(f"profile {os.fspath(path)} does not exist (make one with: imgdelta calibrate STATIC_DIR --save PROFILE)") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise OptionError(f"profile {os.fspath(path)} is not a readable JSON file: {exc}") from None
        if not isinstance(document, dict) or document.get("format") != "imgdelta-noise-profile":
            raise OptionError(f"{os.fspath(path)} is not an imgdelta noise profile")
        try:
            width, height = (int(v) for v in document["size"])
            grid = np.asarray(document["stray_grid"], dtype=np.float32)
            settings = DetectorSettings.from_dict(document["settings"])
            colour = np.asarray(document["chroma_grid"], dtype=np.float32) if "chroma_grid" in document else None
        except (KeyError, TypeError, ValueError) as exc:
            raise OptionError(f"profile {os.fspath(path)} is damaged: {exc}") from None
        for name, values in (("stray", grid), ("chroma", colour)):
            if values is not None and (values.ndim != 2 or values.size == 0 or not np.isfinite(values).all()):
                raise OptionError(f"profile {os.fspath(path)} is damaged: bad {name} grid")
        return cls(
            size=(width, height), stray_map=_expand(grid, (width, height)), settings=settings, report=document.get("report", {}),
            chroma_map=_expand(colour, _chroma_size(width, height)) if colour is not None else None,
        )


def _block_max(values: np.ndarray, block: int, size: tuple[int, int]) -> np.ndarray:
    """The largest value of each ``block`` x ``block`` block, for ``size`` (width, height)
    blocks from the top left: a moving place pooled this way stays silenced up to its edge."""
    import cv2

    square = {2: _SQUARE_2, 4: _SQUARE_4}[block]
    return cv2.dilate(values, square, anchor=(0, 0))[: size[1] * block : block, : size[0] * block : block]


def _coarse(stray_map: np.ndarray) -> np.ndarray:
    height, width = stray_map.shape
    # the map is smooth by construction; a quarter of the resolution keeps files small
    return _block_max(stray_map, 4, (max(1, width // 4), max(1, height // 4))).copy()


def _expand(grid: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    return cv2.resize(grid, size, interpolation=cv2.INTER_LINEAR)


# --------------------------------------------------------------------------------------
# Frames -> the small images the decision is made on


def _chroma_size(width: int, height: int) -> tuple[int, int]:
    # half the luma's resolution, as in most JPEG files and video
    return max(1, width // 2), max(1, height // 2)


def _split(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(luma, chroma planes (2, H/2, W/2), centred on 0, :func:`_white_share`) from a
    float32 RGB image in [0, 1].

    Cr and Cb as in BT.601 (0.713 (R - Y), 0.564 (B - Y)), computed on the half-size image:
    OpenCV's float YCrCb conversion of the whole image costs more than the rest together.
    """
    import cv2

    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    size = _chroma_size(luma.shape[1], luma.shape[0])
    half = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    half_luma = cv2.cvtColor(half, cv2.COLOR_RGB2GRAY)
    chroma = np.empty((2,) + half.shape[:2], np.float32)  # planar: each plane contiguous
    np.multiply(half[:, :, 0] - half_luma, np.float32(0.713), out=chroma[0])
    np.multiply(half[:, :, 2] - half_luma, np.float32(0.564), out=chroma[1])
    return luma, chroma, _white_share(rgb, luma)


def _white_share(rgb: np.ndarray, luma: np.ndarray) -> np.ndarray | None:
    """The share (0 to 1) of each pixel's luma carried by colour channels at or near white
    (:data:`_NEAR_WHITE`), float32 (H, W); None when no channel is near white.

    Such channels cannot follow a brighter light, and clipped ones cannot show a dimmer
    one. A reduced frame averages many sensor pixels, so the map is widened by a pixel to
    cover the edges of a blown-out place.
    """
    import cv2

    if float(rgb.max()) < _NEAR_WHITE:
        return None
    _, near = cv2.threshold(rgb, _NEAR_WHITE, 0, cv2.THRESH_TOZERO)
    carried = cv2.transform(near, _LUMA_ROW)
    if not cv2.countNonZero(carried):
        return None
    share = cv2.divide(carried, np.maximum(luma, np.float32(1e-3)))
    np.minimum(share, np.float32(1), out=share)
    return cv2.dilate(share, _SQUARE_3)


def _gray_white_share(luma: np.ndarray) -> np.ndarray | None:
    """:func:`_white_share` of a gray frame: all of the luma where it is near white."""
    import cv2

    near = (luma >= np.float32(_NEAR_WHITE)).view(np.uint8)
    if not cv2.countNonZero(near):
        return None
    return cv2.dilate(near.astype(np.float32), _SQUARE_3)


def _analysis_frame(frame: Any, size: int) -> PreparedFrame:
    """Luma (float32, [0, 1]) at about ``size`` on the longer side, chroma (Cr, Cb, centred
    on 0) at half that for colour frames (None for gray ones), the full (w, h) and the
    share of the luma near white."""
    import cv2

    full: tuple[int, int]
    if isinstance(frame, np.ndarray):
        _check_frame_array(frame)
    if isinstance(frame, (str, os.PathLike, bytes)):
        loaded = load_image(frame, draft_size=size)
        pixels = loaded.pixels
        full = (round(loaded.width / loaded.scale), round(loaded.height / loaded.scale))
    elif isinstance(frame, LoadedImage):
        pixels = frame.pixels
        full = (round(frame.width / frame.scale), round(frame.height / frame.scale))
    elif isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim in (2, 3):
        # shrink while still 8-bit: converting a full camera frame to float first costs more
        # than the whole decision
        height, width = frame.shape[:2]
        full = (width, height)
        target = analysis_shape(*full, size)
        small = cv2.resize(frame, target, interpolation=cv2.INTER_AREA) if target != full else frame
        if small.ndim == 3 and small.shape[2] == 4:
            small = small[:, :, :3]
        if small.ndim == 3 and small.shape[2] == 3:
            luma, chroma, share = _split(small.astype(np.float32) * np.float32(1 / 255))
            return PreparedFrame(luma, chroma, full, share)
        if small.ndim == 3:
            small = small[:, :, 0]
        luma = small.astype(np.float32) * np.float32(1 / 255)
        return PreparedFrame(luma, None, full, _gray_white_share(luma))
    elif isinstance(frame, np.ndarray) and frame.dtype == np.float32 and (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] in (1, 3))):
        # frames from imgdelta's own sources: already float32 in [0, 1] and reduced
        pixels = frame
        full = (frame.shape[1], frame.shape[0])
    else:
        data_range = 1.0 if isinstance(frame, np.ndarray) and frame.dtype.kind == "f" else None
        loaded = load_image(frame, data_range=data_range)
        pixels = loaded.pixels
        full = (loaded.width, loaded.height)
    height, width = pixels.shape[:2]
    target = analysis_shape(*full, size)
    if target != (width, height):
        pixels = cv2.resize(np.ascontiguousarray(pixels), target, interpolation=cv2.INTER_AREA)
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        luma, chroma, share = _split(np.ascontiguousarray(pixels, dtype=np.float32))
        return PreparedFrame(luma, chroma, full, share)
    luma = np.ascontiguousarray(pixels if pixels.ndim == 2 else pixels[:, :, 0], dtype=np.float32)
    return PreparedFrame(luma, None, full, _gray_white_share(luma))


def _check_frame_array(frame: np.ndarray) -> None:
    """A clear error for arrays :func:`_analysis_frame` cannot take: load_image's own would
    ask for a ``data_range``, which a frame cannot pass here."""
    if frame.size == 0:
        raise OptionError(f"a frame array of shape {frame.shape} has no pixels")
    if frame.dtype != np.uint8 and frame.dtype.kind != "f":
        raise OptionError(
            f"a frame array must be uint8 or float in [0, 1], not {frame.dtype}: convert it first "
            "(16-bit samples: frame / 65535)"
        )
    if frame.dtype.kind == "f":
        low, high = float(np.min(frame)), float(np.max(frame))
        if not (0.0 <= low and high <= 1.0):
            raise OptionError(f"a frame array of floats must lie in [0, 1], not [{low:g}, {high:g}]: scale it first")


def _region_mask(settings: DetectorSettings, size: tuple[int, int], full: tuple[int, int]) -> np.ndarray | None:
    """True where pixels count, at the analysis size; None when every pixel counts."""
    if settings.roi is None and not settings.ignore:
        return None
    width, height = size
    sx, sy = width / full[0], height / full[1]

    def cells(rect: Rect) -> tuple[slice, slice]:
        x, y, w, h = rect
        if x >= full[0] or y >= full[1] or x + w <= 0 or y + h <= 0:
            raise OptionError(f"rectangle {x},{y},{w},{h} lies outside the {full[0]}x{full[1]} frame")
        return (slice(max(0, math.floor(y * sy)), math.ceil((y + h) * sy)), slice(max(0, math.floor(x * sx)), math.ceil((x + w) * sx)))

    mask = np.zeros((height, width), bool) if settings.roi else np.ones((height, width), bool)
    if settings.roi:
        mask[cells(settings.roi)] = True
    for rect in settings.ignore:
        mask[cells(rect)] = False
    if not mask.any():
        raise OptionError("the region of interest and ignored rectangles leave nothing to compare")
    return mask


# --------------------------------------------------------------------------------------
# One comparison


@dataclass
class _Comparison:
    changed: np.ndarray  # bool map of significant change, after the opening
    area: float
    ratio: float  # brightness of the frame over the reference's
    noise: float  # noise deviation at mid intensity
    shift: tuple[float, float]
    excess: np.ndarray | None  # how far each pixel leaves its neighbourhood's range (when asked)
    difference: np.ndarray  # frame minus the light- and shift-compensated reference
    correlation: float  # this pair's direct / neighbour noise ratio
    lut: tuple[np.ndarray, float]  # the noise table used, for reuse
    chroma_excess: np.ndarray | None = None  # the colour's excess at half size (when asked)


def _sample_index(shape: tuple[int, int], mask: np.ndarray | None) -> np.ndarray:
    """A fixed, evenly spread subset of pixel indices for the global fits (about 2500)."""
    count = shape[0] * shape[1]
    flat = np.flatnonzero(mask) if mask is not None else np.arange(count)
    step = max(1, len(flat) // 2500)
    return flat[::step]


class _Reference:
    """A reference frame with what every comparison against it needs, computed once."""

    def __init__(self, luma: np.ndarray, sample: np.ndarray, chroma: np.ndarray | None = None, white_share: np.ndarray | None = None) -> None:
        import cv2

        self.luma = luma
        self.chroma = chroma
        # Sobel with its 1/8 normalisation: intensity change per pixel of shift
        self.gx = cv2.Sobel(luma, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)
        self.gy = cv2.Sobel(luma, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
        self.white_share = white_share
        sampled = luma.ravel()[sample].astype(np.float64)
        self.mean = float(sampled.mean())
        self.design = np.column_stack(
            [sampled, np.ones_like(sampled), self.gx.ravel()[sample], self.gy.ravel()[sample]]
        )
        self.transposed = np.ascontiguousarray(self.design.T)


def _fit_light_and_shift(reference: _Reference, frame: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """Robust fit of ``frame = gain * ref + offset + sx * d/dx ref + sy * d/dy ref``.

    The gradient terms are the first-order effect of a small shift of the camera, so one
    linear least-squares fit measures flicker, exposure and jitter together. Pixels that
    really changed are dropped as outliers (three rounds of 3-sigma clipping).
    """
    design, transposed = reference.design, reference.transposed
    target = frame.ravel()[sample].astype(np.float64)
    weighted = transposed
    coef = np.array([1.0, 0.0, 0.0, 0.0])
    inliers: np.ndarray | None = None
    for _ in range(3):
        normal = weighted @ design
        normal[_DIAGONAL] += 1e-9
        try:
            coef = np.linalg.solve(normal, weighted @ target)
        except np.linalg.LinAlgError:
            break
        residual = np.abs(target - design @ coef)
        if inliers is None:
            # the first fit saw every pixel, changed ones too: a median is needed (on half
            # the sample; its precision is plenty for a clipping limit)
            spread = 1.4826 * _median(residual[::2]) + 1e-4
        else:
            # the later ones saw inliers only: their root mean square is the noise
            kept = residual[inliers]
            spread = math.sqrt(float(kept @ kept) / max(len(kept), 1)) + 1e-4
        inliers = residual <= 3 * spread
        weighted = transposed * inliers
    gain = coef[0] if abs(coef[0]) > 1e-3 else 1.0
    if math.hypot(coef[2] / gain, coef[3] / gain) >= _MAX_JITTER:
        # a camera that moved this far is a change, and the linear model no longer holds
        coef[2:] = 0.0
    return coef


def _middle(values: Iterable[float]) -> float:
    """The median of a few floats, as ``statistics.median`` gives it (the mean of the two
    middle ones for an even count), without importing ``statistics`` and what it needs."""
    ordered = sorted(values)
    half = len(ordered) // 2
    return float(ordered[half]) if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2


def _median(values: np.ndarray) -> float:
    """The (upper) median, by one partial sort: np.median's checks cost more than the work."""
    middle = len(values) // 2
    return float(np.partition(values, middle)[middle])


def _noise_lut(difference: np.ndarray, intensity: np.ndarray, sample: np.ndarray) -> tuple[np.ndarray, float]:
    """Noise standard deviation by intensity, as a table over [0, 1], and a correlation factor.

    The table is measured per intensity band from differences between horizontal
    neighbours (median absolute deviation), which a smooth real change, such as a pool of
    light, barely touches. Noise correlated between neighbours reads low there; the second
    value is the ratio of the direct spread of the difference to that estimate (1 for white
    noise), which the caller smooths over time because a real change inflates it too.
    """
    flat = difference.ravel()
    count = len(sample)
    if count < 32 * _NOISE_BANDS:
        return np.zeros(_LUT_SIZE, np.float32), 1.0
    level = intensity.ravel()[sample]
    here = flat[sample]
    neighbour = np.abs(flat[np.minimum(sample + 1, flat.size - 1)] - here)
    np.abs(here, out=here)
    # band edges and middles from one partial sort of the intensities
    cuts = [count * k // (2 * _NOISE_BANDS) for k in range(1, 2 * _NOISE_BANDS)]
    marks = np.partition(level, cuts)[cuts]
    band = np.searchsorted(marks[1::2], level)
    centres, sigmas, ratios = [], [], []
    for b in range(_NOISE_BANDS):
        chosen = band == b
        if np.count_nonzero(chosen) < 16:
            continue
        # the light fit has removed the difference's median, so |d| needs no re-centring
        low = 1.4826 / math.sqrt(2) * _median(neighbour[chosen])
        spread = 1.4826 * _median(here[chosen])
        sigmas.append(low)
        ratios.append(spread / low if low > 0 else 1.0)
        centres.append(float(marks[2 * b]))
    if not sigmas:
        return np.zeros(_LUT_SIZE, np.float32), 1.0
    return np.interp(_LUT_GRID, centres, sigmas).astype(np.float32), _middle(ratios)


def _open_2x2(binary: np.ndarray) -> np.ndarray:
    """Opening by a 2 x 2 square: the pixels of every 2 x 2 square inside ``binary``.

    OpenCV's opening erodes and dilates about the same anchor, which for an even kernel
    moves the result by a pixel (beyond a masked region, too); eroding towards the
    bottom right and dilating back towards the top left keeps it in place.
    """
    import cv2

    return cv2.dilate(cv2.erode(binary, _SQUARE_2, anchor=(0, 0)), _SQUARE_2, anchor=(1, 1))


def _coarse_change(
    difference: np.ndarray, stray: np.ndarray | None, mask: np.ndarray | None, settings: DetectorSettings
) -> tuple[float, np.ndarray]:
    """Changed share at 1/4 scale, where the noise of a 4x4 block is measured afresh.

    The contrast floor is twice the per-pixel one: what survives averaging unexplained by
    noise also includes the light fit's smooth errors (clipped highlights under flicker),
    which stay small.
    """
    import cv2

    height, width = difference.shape
    size = (max(1, width // 4), max(1, height // 4))
    if min(size) < 4:
        return 0.0, np.zeros((size[1], size[0]), np.uint8)
    small = cv2.resize(difference, size, interpolation=cv2.INTER_AREA)
    neighbour = np.abs(small[:, 1:] - small[:, :-1])
    sigma = 1.4826 / math.sqrt(2) * _median(neighbour.ravel())
    threshold = np.float32(max(settings.sensitivity * sigma, 2 * settings.min_contrast))
    if stray is not None:
        threshold = np.maximum(threshold, _block_max(stray, 4, size))
    changed = (np.abs(small) > threshold).view(np.uint8)
    if mask is not None:
        small_mask = cv2.resize(mask.view(np.uint8), size, interpolation=cv2.INTER_AREA) >= 1
        changed &= small_mask.view(np.uint8)
        total = max(int(small_mask.sum()), 1)
    else:
        total = changed.size
    changed = _open_2x2(changed)
    return cv2.countNonZero(changed) / total, changed


def _chroma_change(
    reference: np.ndarray,
    frame: np.ndarray,
    gain: float,
    stray: np.ndarray | None,
    mask: np.ndarray | None,
    settings: DetectorSettings,
    chroma_stray: np.ndarray | None = None,
    want_excess: bool = False,
) -> tuple[float, np.ndarray, np.ndarray | None]:
    """Changed share of the colour (Cr, Cb) at half scale, the changed map, and (when
    asked) how far each pixel's colour leaves its neighbourhood's range.

    Chroma scales with brightness, so the reference's is scaled by ``gain``, the
    brightness ratio the light fit found (not its gain term: over a flat region of
    interest gain and offset trade off freely); a white-balance shift is the median
    difference per channel and is removed. Where
    calibration saw something move, colour counts only above ``chroma_stray`` (what it did
    there); with a calibration that has no colour floor, it does not count there at all.
    """
    import cv2

    height, width = frame.shape[1:]
    if min(height, width) < 4:
        return 0.0, np.zeros((height, width), np.uint8), None
    planes = []
    raw = np.zeros((height, width), np.uint8)
    for now, then in zip(frame, reference):  # Cr, then Cb: contiguous planes
        before = then * np.float32(gain)
        difference = now - before
        # a white-balance shift moves the whole plane: its median
        balance = np.float32(_median(difference.ravel()[::3]))
        before += balance
        difference -= balance
        sigma = 1.4826 / math.sqrt(2) * _median(np.abs(difference[::2, 1:] - difference[::2, :-1]).ravel())
        # a colour change must be twice the smallest brightness change to count: the eye
        # resolves colour more coarsely
        threshold = np.float32(max(settings.sensitivity * sigma, 2 * settings.min_contrast))
        if chroma_stray is not None:
            threshold = np.maximum(threshold, chroma_stray)
        raw |= (np.abs(difference) > threshold).view(np.uint8)
        planes.append((now, before, threshold))
    if not want_excess and not cv2.countNonZero(_open_2x2(raw)):
        # the neighbourhood test below only removes pixels, so nothing can survive it
        return 0.0, raw, None
    changed = np.zeros((height, width), np.uint8)
    largest: np.ndarray | None = None
    for now, before, threshold in planes:
        # colour edges are soft after chroma subsampling: the same neighbourhood-range test
        # as for luma keeps jitter there from counting
        excess = np.maximum(
            np.maximum(now - cv2.dilate(before, _SQUARE_3), cv2.erode(before, _SQUARE_3) - now),
            np.maximum(before - cv2.dilate(now, _SQUARE_3), cv2.erode(now, _SQUARE_3) - before),
        )
        changed |= (excess > threshold).view(np.uint8)
        largest = excess if largest is None else np.maximum(largest, excess)
    if stray is not None and chroma_stray is None:
        changed[_block_max(stray, 2, (width, height)) > 0] = 0
    total = changed.size
    if mask is not None:
        small_mask = cv2.resize(mask.view(np.uint8), (width, height), interpolation=cv2.INTER_AREA) >= 1
        changed &= small_mask.view(np.uint8)
        total = max(int(small_mask.sum()), 1)
    changed = _open_2x2(changed)
    return cv2.countNonZero(changed) / total, changed, largest if want_excess else None


def _larger(first: np.ndarray | None, second: np.ndarray | None) -> np.ndarray | None:
    if first is None or second is None:
        return first if second is None else second
    return np.maximum(first, second)


def _compare(
    reference: _Reference,
    frame: np.ndarray,
    settings: DetectorSettings,
    mask: np.ndarray | None,
    sample: np.ndarray,
    stray: np.ndarray | None,
    correlation: float | None = None,
    chroma: np.ndarray | None = None,
    want_excess: bool = False,
    noise: tuple[np.ndarray, float] | None = None,
    white_share: np.ndarray | None = None,
    chroma_stray: np.ndarray | None = None,
) -> _Comparison:
    """Compare ``frame`` (and its ``chroma``) with ``reference``; ``correlation`` is the
    smoothed factor of :func:`_noise_lut` (None: use this pair's own); ``noise`` is a
    noise table measured on a recent pair, None to measure it on this one;
    ``white_share`` is the frame's :func:`_white_share`; ``chroma_stray`` the colour's
    floor where calibration saw things move."""
    import cv2

    gain, offset, sx, sy = (float(v) for v in _fit_light_and_shift(reference, frame, sample))
    fitted = reference.luma * np.float32(gain)
    fitted += np.float32(offset)
    if sx or sy:
        shift = reference.gx * np.float32(sx)
        shift += reference.gy * np.float32(sy)
        fitted += shift
    ratio = max(gain * reference.mean + offset, 1e-4) / max(reference.mean, 1e-4)

    difference = frame - fitted
    if noise is None:
        noise = _noise_lut(difference, fitted, sample)
    # the part of a pixel carried by channels at or near white, in either picture, may
    # follow a change of the light anywhere from fully (the fit) to not at all (the
    # reference as it was): a lamp's blown-out pool stays white under flicker. Elsewhere
    # both bounds are the fit.
    lag: tuple[np.ndarray, np.ndarray] | None = None
    share = _larger(reference.white_share, white_share)
    if share is not None:
        # not following the light at all is the reference as it was: the fit less its gain
        # and offset (the shift stays), so the lag is ((1 - gain) ref - offset) x share
        slack = reference.luma * np.float32(1 - gain)
        slack -= np.float32(offset)
        slack *= share
        lag = (np.minimum(slack, 0), np.maximum(slack, 0))
        difference = difference - np.minimum(np.maximum(difference, lag[0]), lag[1])
    lut, ratio_now = noise
    factor = correlation if correlation is not None else min(ratio_now, _FIRST_CORRELATION)
    lut = lut * np.float32(min(max(factor, 1.0), 2.0))
    # each intensity level's limit, max(sensitivity x sigma, min_contrast), computed on the
    # table rather than on every pixel; an 8-bit lookup saturates the level at both ends
    sigmas = np.concatenate([lut, np.full(256 - _LUT_SIZE, lut[-1], np.float32)])
    table = np.maximum(sigmas * np.float32(settings.sensitivity), np.float32(settings.min_contrast))
    limit = cv2.LUT(cv2.convertScaleAbs(fitted, alpha=_LUT_SIZE - 1), table)
    if stray is not None:
        np.maximum(limit, stray, out=limit)

    # the frame must leave the range of the reference's 3x3 neighbourhood (and the other way
    # round): what a sub-pixel shift or a sharper/softer frame produces stays inside it.
    # That range holds the pixel itself, so the excess never exceeds |difference|, and the
    # opening only keeps what a larger map keeps: when nothing survives on |difference|,
    # nothing would on the excess (the usual case, a frame where nothing happened)
    changed = (np.abs(difference) > limit).view(np.uint8)
    if mask is not None:
        changed &= mask
    changed = cv2.morphologyEx(changed, cv2.MORPH_OPEN, _SQUARE_3)
    excess: np.ndarray | None = None
    if want_excess or cv2.countNonZero(changed):
        low, high = (fitted + lag[0], fitted + lag[1]) if lag is not None else (fitted, fitted)
        outside = np.maximum(frame - cv2.dilate(high, _SQUARE_3), cv2.erode(low, _SQUARE_3) - frame)
        inside = np.maximum(low - cv2.dilate(frame, _SQUARE_3), cv2.erode(frame, _SQUARE_3) - high)
        excess = np.maximum(outside, inside)
        changed = (excess > limit).view(np.uint8)
        if mask is not None:
            changed &= mask
        changed = cv2.morphologyEx(changed, cv2.MORPH_OPEN, _SQUARE_3)
    total = int(mask.sum()) if mask is not None else changed.size
    area = cv2.countNonZero(changed) / total
    # a smooth change over a large area (a pool of light, a shadow) can stay under the
    # per-pixel noise everywhere; averaged over 4x4 pixels the noise shrinks and it does not
    coarse_area, coarse = _coarse_change(difference, stray, mask, settings)
    chroma_excess: np.ndarray | None = None
    if chroma is not None and reference.chroma is not None:
        # a change of colour at the same brightness (a brown bag on a red car)
        colour_area, colour, chroma_excess = _chroma_change(
            reference.chroma, chroma, ratio, stray, mask, settings, chroma_stray, want_excess
        )
        if colour_area > coarse_area:
            coarse_area, coarse = colour_area, colour
    if coarse_area > area:
        area = coarse_area
        changed = changed | cv2.resize(coarse, (changed.shape[1], changed.shape[0]), interpolation=cv2.INTER_NEAREST)
    return _Comparison(
        changed=changed.view(bool),
        area=area,
        ratio=ratio,
        noise=float(lut[_LUT_SIZE // 2]),
        correlation=ratio_now,
        lut=noise,
        shift=(sx / gain if gain else 0.0, sy / gain if gain else 0.0),
        excess=excess,
        difference=difference,
        chroma_excess=chroma_excess,
    )


# --------------------------------------------------------------------------------------
# The detector


class ChangeDetector:
    """Feed frames one at a time; each answer is a :class:`Decision` (keep or skip, why).

    Parameters
    ----------
    settings : DetectorSettings, optional
        Thresholds and policies; defaults work without tuning.
    profile : NoiseProfile, optional
        A calibration from :func:`calibrate_detector`. Its thresholds replace those in
        ``settings`` unless settings are given explicitly as well, in which case the
        profile only adds its per-pixel floor where the static frames moved.

    Attributes
    ----------
    last_change : numpy.ndarray or None
        Where the last comparison found change: a bool map at the analysis resolution.
    last_difference : numpy.ndarray or None
        The last comparison's luma difference (frame minus the reference, after the light
        and jitter compensation), at the analysis resolution.

    Examples
    --------
    >>> detector = ChangeDetector()
    >>> for path in frames:  # doctest: +SKIP
    ...     decision = detector.update(path)
    ...     if decision.keep:
    ...         keep(path, decision.reason)
    """

    def __init__(self, settings: DetectorSettings | None = None, *, profile: NoiseProfile | None = None) -> None:
        if settings is None:
            settings = profile.settings if profile is not None else DetectorSettings()
        self.settings = settings
        self.profile = profile
        self._reference: _Reference | None = None
        self._size: tuple[int, int] | None = None
        self._full: tuple[int, int] | None = None
        self._mask: np.ndarray | None = None
        self._sample: np.ndarray | None = None
        self._floor: np.ndarray | None = None
        self._chroma_floor: np.ndarray | None = None
        self._count = 0
        self._ratios: deque[float] = deque(maxlen=15)
        self._noise: tuple[np.ndarray, float] | None = None
        self._noise_age = 0
        self._kept_index: int | None = None
        self._kept_time: float | None = None
        self._reference_full: tuple[int, int] | None = None
        self.last_change: np.ndarray | None = None
        self.last_difference: np.ndarray | None = None

    # -- the main entry point -----------------------------------------------------------

    def prepare(self, frame: Any) -> PreparedFrame:
        """The part of :meth:`update` that needs no earlier frame: decoding and reducing.

        Safe to call from other threads (a decoder's), so that work runs beside the
        comparisons; pass the result to :meth:`update`.
        """
        if isinstance(frame, PreparedFrame):
            return frame
        return _analysis_frame(frame, self.settings.analysis_size)

    def update(self, frame: Any, *, time: float | None = None, full_size: tuple[int, int] | None = None) -> Decision:
        """Decide about the next frame.

        Parameters
        ----------
        frame : path, bytes, PIL image, NumPy array (uint8, or float in [0, 1]), LoadedImage or PreparedFrame
            The frame; arrays are RGB (H, W, 3) or gray (H, W). Paths to JPEG files are
            decoded at a reduced scale.
        time : float, optional
            The frame's time in seconds, for the ``*_gap_seconds`` policies.
        full_size : (width, height), optional
            The frame's full resolution when ``frame`` is already reduced (rectangles in
            the settings are in full-resolution pixels).
        """
        prepared = self.prepare(frame)
        return self._update(prepared, time=time, full_size=full_size or prepared.full_size)

    def _update(self, prepared: PreparedFrame, *, time: float | None, full_size: tuple[int, int] | None) -> Decision:
        settings = self.settings
        index = self._count
        self._count += 1
        luma = self._fit_geometry(prepared.luma, full_size)
        chroma, white_share = prepared.chroma, prepared.white_share
        if luma is not prepared.luma or (chroma is not None and chroma.shape[1:] != (luma.shape[0] // 2, luma.shape[1] // 2)):
            # a frame of another size, resampled: judged on luma alone
            chroma, white_share = None, _gray_white_share(luma)

        import cv2

        means, deviations = cv2.meanStdDev(luma)  # one pass; NumPy's std takes three
        mean, spread = float(means[0, 0]), float(deviations[0, 0])
        base = {"brightness": mean, "contrast": spread}
        if settings.skip_dark is not None and mean < settings.skip_dark:
            return Decision(False, "dark", f"dark frame: mean {mean:.3f} < {settings.skip_dark:g}", mean, settings.skip_dark, base, index)
        if settings.skip_blank is not None and spread < settings.skip_blank:
            return Decision(False, "blank", f"blank frame: contrast {spread:.4f} < {settings.skip_blank:g}", spread, settings.skip_blank, base, index)

        threshold = settings.threshold if settings.metric else settings.min_area
        if self._reference is None:
            self._accept(luma, chroma, white_share, index, time, full_size)
            return Decision(True, "first", "first frame", math.nan, threshold if threshold is not None else math.nan, base, index)

        before = self._reference_full
        if full_size is not None and before is not None and tuple(full_size) != before:
            # another picture altogether (a camera switched resolution, a stray file): what
            # comparing it at the analysis size would report says nothing
            reason = f"frame size changed from {before[0]}x{before[1]} to {full_size[0]}x{full_size[1]}"
            decision = Decision(True, "size", reason, math.nan, threshold if threshold is not None else math.nan, base, index)
        elif settings.metric is not None:
            decision = self._decide_by_metric(luma, index, base)
        else:
            decision = self._decide_by_change(luma, chroma, white_share, index, base)
        decision = self._apply_gaps(decision, index, time)
        if decision.keep:
            self._accept(luma, chroma, white_share, index, time, full_size)
        elif settings.reference == "previous":
            self._set_reference(luma, chroma, white_share)
        elif settings.reference == "background":
            rate = np.float32(settings.background_rate)
            old = self._reference
            mixed = old.chroma * (1 - rate) + chroma * rate if chroma is not None and old.chroma is not None else None
            self._set_reference(old.luma * (1 - rate) + luma * rate, mixed, _larger(old.white_share, white_share))
        return decision

    # -- pieces ---------------------------------------------------------------------------

    def _fit_geometry(self, luma: np.ndarray, full_size: tuple[int, int] | None) -> np.ndarray:
        import cv2

        if self._size is None:
            height, width = luma.shape
            self._size = (width, height)
            self._full = full_size or (width, height)
            if self.profile is not None and self.profile.size != self._size:
                pw, ph = self.profile.size
                if abs(pw / ph - width / height) > 0.02:
                    raise OptionError(
                        f"the calibration profile was made on {pw}x{ph} analysis frames; these frames "
                        f"are {width}x{height}: calibrate again with frames from this camera"
                    )
            self._mask = _region_mask(self.settings, self._size, self._full)
            self._sample = _sample_index((height, width), self._mask)
            if self.profile is not None:
                seed = float(self.profile.report.get("correlation", 0) or 0)
                if seed > 0:
                    self._ratios.extend([seed] * 3)
                self._floor = _expand(self.profile.stray_map, self._size) if self.profile.size != self._size else self.profile.stray_map
                colour = self.profile.chroma_map
                if colour is not None:
                    half = _chroma_size(*self._size)
                    self._chroma_floor = _expand(colour, half) if (colour.shape[1], colour.shape[0]) != half else colour
            return luma
        if (luma.shape[1], luma.shape[0]) != self._size:
            # a camera that changed resolution: compare at the first frame's geometry
            luma = cv2.resize(luma, self._size, interpolation=cv2.INTER_AREA)
        return luma

    def _accept(
        self, luma: np.ndarray, chroma: np.ndarray | None, white_share: np.ndarray | None, index: int, time: float | None,
        full_size: tuple[int, int] | None,
    ) -> None:
        self._set_reference(luma, chroma, white_share)
        self._kept_index = index
        self._kept_time = time
        self._reference_full = tuple(full_size) if full_size is not None else None

    def _set_reference(self, luma: np.ndarray, chroma: np.ndarray | None, white_share: np.ndarray | None) -> None:
        assert self._sample is not None
        self._reference = _Reference(luma, self._sample, chroma, white_share)

    def _decide_by_change(
        self, luma: np.ndarray, chroma: np.ndarray | None, white_share: np.ndarray | None, index: int, base: dict[str, float]
    ) -> Decision:
        settings = self.settings
        assert self._reference is not None
        assert self._sample is not None
        # until a few frames have shown how correlated this camera's noise is, a real change
        # must not be able to inflate the noise estimate much
        correlation = _middle(self._ratios) if len(self._ratios) >= 3 else None
        # noise changes slowly (dusk), or with the light (which keeps a frame): measuring it
        # on every fourth comparison, and on the first ones after a keep, is enough
        fresh = self._noise is None or self._noise_age >= _NOISE_REFRESH or index - (self._kept_index or 0) <= 2
        result = _compare(
            self._reference, luma, settings, self._mask, self._sample, self._floor, correlation, chroma,
            noise=None if fresh else self._noise, white_share=white_share, chroma_stray=self._chroma_floor,
        )
        if fresh:
            self._noise, self._noise_age = result.lut, 0
            self._ratios.append(min(result.correlation, 2.0))
        else:
            self._noise_age += 1
        self.last_change = result.changed
        self.last_difference = result.difference
        scores = {
            **base,
            "changed_area": result.area,
            "light_ratio": result.ratio,
            "noise": result.noise,
            "shift_x": result.shift[0],
            "shift_y": result.shift[1],
        }
        if abs(math.log(result.ratio)) > settings.lighting:
            reason = f"lighting changed: brightness x{result.ratio:.2f} (limit x{math.exp(settings.lighting):.2f})"
            return Decision(True, "lighting", reason, result.area, settings.min_area, scores, index)
        if result.area >= settings.min_area and result.area > 0:
            # with a region of interest or ignored rectangles, the share is of what is watched
            where = "the frame" if self._mask is None else "the watched area"
            reason = f"changed {100 * result.area:.2f}% of {where} (threshold {100 * settings.min_area:.2f}%)"
            return Decision(True, "change", reason, result.area, settings.min_area, scores, index)
        reason = f"same: {100 * result.area:.2f}% changed (threshold {100 * settings.min_area:.2f}%)"
        return Decision(False, "same", reason, result.area, settings.min_area, scores, index)

    def _decide_by_metric(self, luma: np.ndarray, index: int, base: dict[str, float]) -> Decision:
        settings = self.settings
        assert self._reference is not None and settings.metric is not None and settings.threshold is not None
        from ..features import FeaturePair, Features
        from ..metrics import MetricOptions, get_metric

        metric = get_metric(settings.metric)
        reference = self._reference.luma
        mask = self._mask
        if mask is not None and not metric.masked:
            # a metric that cannot look past ignored pixels sees them made equal, as in compare
            luma, mask = np.where(mask, luma, reference), None
        pair = FeaturePair(Features(reference[:, :, None]), Features(luma[:, :, None]), mask)
        value = float(metric.compute(pair, MetricOptions()))
        if metric.kind == "similarity":
            changed, word = value < settings.threshold, f"below {settings.threshold:g}"
        elif metric.lower < metric.identical:
            # a signed figure (an offset): far from its identical value either way is a change
            changed = abs(value - metric.identical) > settings.threshold
            word = f"further than {settings.threshold:g} from {metric.identical:g}"
        else:
            changed, word = value > settings.threshold, f"above {settings.threshold:g}"
        scores = {**base, settings.metric: value}
        if changed:
            return Decision(True, "change", f"{settings.metric} {value:.4g} {word}", value, settings.threshold, scores, index)
        return Decision(False, "same", f"same: {settings.metric} {value:.4g}", value, settings.threshold, scores, index)

    def _apply_gaps(self, decision: Decision, index: int, time: float | None) -> Decision:
        settings = self.settings
        assert self._kept_index is not None
        frames_since = index - self._kept_index
        seconds_since = time - self._kept_time if time is not None and self._kept_time is not None else None
        if decision.keep:
            too_soon = (settings.min_gap_frames is not None and frames_since < settings.min_gap_frames) or (
                settings.min_gap_seconds is not None and seconds_since is not None and seconds_since < settings.min_gap_seconds
            )
            if too_soon:
                return replace(decision, keep=False, kind="min-gap", reason=f"too soon after the last kept frame ({decision.reason})")
            return decision
        overdue = (settings.max_gap_frames is not None and frames_since >= settings.max_gap_frames) or (
            settings.max_gap_seconds is not None and seconds_since is not None and seconds_since >= settings.max_gap_seconds
        )
        if overdue and decision.kind == "same":
            since = f"{seconds_since:.0f} s" if settings.max_gap_seconds is not None and seconds_since is not None else f"{frames_since} frames"
            return replace(decision, keep=True, kind="max-gap", reason=f"max gap: nothing kept for {since}")
        return decision

    # -- state for resuming ----------------------------------------------------------------

    def state(self) -> bytes:
        """Everything needed to continue later: settings, calibration, reference frame, counters."""
        meta = {
            "settings": self.settings.to_dict(),
            "count": self._count,
            "kept_index": self._kept_index,
            "kept_time": self._kept_time,
            "full": list(self._full) if self._full else None,
            "reference_full": list(self._reference_full) if self._reference_full else None,
            "ratios": list(self._ratios),
            "noise": [self._noise[0].tolist(), self._noise[1]] if self._noise is not None else None,
            "noise_age": self._noise_age,
        }
        arrays = {}
        if self.profile is not None:
            profile = self.profile
            meta["profile"] = {"size": list(profile.size), "settings": profile.settings.to_dict(), "report": dict(profile.report)}
            arrays["stray_map"] = profile.stray_map
            if profile.chroma_map is not None:
                arrays["chroma_map"] = profile.chroma_map
        buffer = io.BytesIO()
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        if self._reference is not None:
            arrays["reference"] = self._reference.luma
            if self._reference.chroma is not None:
                arrays["chroma"] = self._reference.chroma
            if self._reference.white_share is not None:
                arrays["white_share"] = self._reference.white_share
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_state(cls, state: bytes, *, profile: NoiseProfile | None = None) -> ChangeDetector:
        """Rebuild a detector saved with :meth:`state`, with the calibration it had unless
        ``profile`` gives another."""
        import zipfile

        try:
            with np.load(io.BytesIO(state), allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                reference = data["reference"].astype(np.float32) if "reference" in data else None
                chroma = data["chroma"].astype(np.float32) if "chroma" in data else None
                white_share = data["white_share"].astype(np.float32) if "white_share" in data else None
                if profile is None and "profile" in meta:
                    saved = meta["profile"]
                    profile = NoiseProfile(
                        size=tuple(int(v) for v in saved["size"]),
                        stray_map=data["stray_map"].astype(np.float32),
                        settings=DetectorSettings.from_dict(saved["settings"]),
                        report=saved.get("report", {}),
                        chroma_map=data["chroma_map"].astype(np.float32) if "chroma_map" in data else None,
                    )
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
            # NumPy's own words would suggest loading the bytes with pickle: never for a state
            raise OptionError(
                "saved detector state is damaged or not a state: give the bytes ChangeDetector.state() returned"
            ) from None
        detector = cls(DetectorSettings.from_dict(meta["settings"]), profile=profile)
        if reference is not None:
            detector._fit_geometry(reference, tuple(meta["full"]) if meta.get("full") else None)
            detector._set_reference(reference, chroma, white_share)
        detector._count = int(meta["count"])
        detector._kept_index = meta["kept_index"]
        detector._ratios.extend(meta.get("ratios", []))
        if meta.get("noise"):
            detector._noise = (np.asarray(meta["noise"][0], np.float32), float(meta["noise"][1]))
            detector._noise_age = int(meta.get("noise_age", 0))
        detector._kept_time = meta["kept_time"]
        if meta.get("reference_full"):
            detector._reference_full = tuple(meta["reference_full"])
        return detector


def has_changed(a: Any, b: Any, *, settings: DetectorSettings | None = None, profile: NoiseProfile | None = None) -> Decision:
    """Has the picture changed from ``a`` to ``b``? One call, the detector's judgement.

    Gap and skip policies do not apply to a single pair.
    """
    detector = ChangeDetector(settings, profile=profile)
    detector.update(a)
    return detector.update(b)


def calibrate_detector(
    frames: Iterable[Any],
    *,
    settings: DetectorSettings | None = None,
    margin: float = 2.0,
) -> NoiseProfile:
    """Learn the noise floor from frames where nothing changed, and set the thresholds.

    Every static frame is compared with the first and with the one before it (the
    reference in a run can be any frame). The per-pixel noise floor is the robust spread
    of those differences, so places that always move stop counting. The thresholds are
    then chosen so that none of the static comparisons would have kept a frame, with
    ``margin`` times the largest static score as the area and lighting thresholds (never
    below the defaults' floors).

    Parameters
    ----------
    frames : iterable of frames (paths, arrays, PIL images)
        At least 3 frames of the scene with nothing happening.
    settings : DetectorSettings, optional
        Starting settings; the calibrated ones differ in ``min_area`` and ``lighting``.
    margin : float
        Factor between the largest static score and the threshold.
    """
    import cv2

    settings = settings or DetectorSettings()
    if settings.metric is not None:
        raise OptionError("calibration learns the change detector's thresholds; it does not apply with a metric")
    if not margin >= 1:
        raise OptionError(f"margin must be at least 1, got {margin!r}")
    lumas: list[np.ndarray] = []
    chromas: list[np.ndarray | None] = []
    shares: list[np.ndarray | None] = []
    size: tuple[int, int] | None = None
    full: tuple[int, int] | None = None
    for frame in frames:
        prepared = _analysis_frame(frame, settings.analysis_size)
        luma, chroma, share = prepared.luma, prepared.chroma, prepared.white_share
        if size is None:
            size, full = (luma.shape[1], luma.shape[0]), prepared.full_size
        elif (luma.shape[1], luma.shape[0]) != size:
            luma = cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
            chroma, share = None, _gray_white_share(luma)
        lumas.append(luma)
        chromas.append(chroma)
        shares.append(share)
    if len(lumas) < 3:
        raise OptionError(f"calibration needs at least 3 frames where nothing changed, got {len(lumas)}")
    assert size is not None and full is not None

    mask = _region_mask(settings, size, full)
    sample = _sample_index((size[1], size[0]), mask)
    references = [_Reference(luma, sample, chroma, share) for luma, chroma, share in zip(lumas, chromas, shares)]
    pairs = [(references[0], i) for i in range(1, len(lumas))]
    pairs += [(references[i - 1], i) for i in range(2, len(lumas))]

    # pass 1: where do static frames, compared exactly as the detector compares, show
    # change that noise does not explain? Those places (leaves, water, a screen) get a floor
    # just above the largest stray seen in their neighbourhood; everywhere else the live
    # noise estimate keeps ruling, so calibration never makes the detector less sensitive
    # to noise than it is by default
    first = [
        _compare(r, lumas[i], settings, mask, sample, None, chroma=chromas[i], want_excess=True, white_share=shares[i])
        for r, i in pairs
    ]
    excess = np.stack([c.excess for c in first if c.excess is not None])
    moved = np.zeros(excess.shape[1:], np.uint8)
    for c in first:
        moved |= c.changed.view(np.uint8)
    wide = np.ones((7, 7), np.uint8)
    moving = cv2.dilate(moved, wide)
    # movement over much of the picture (rain, snow, a big tree) is no promise that the
    # rest stays calm: it may show where the static frames never had it
    widespread = float((moving > 0).mean()) > _WIDESPREAD_SHARE
    stray = np.where(moving > 0, excess.max(axis=0) * np.float32(2.0), np.float32(0)).astype(np.float32)
    floor = cv2.GaussianBlur(cv2.dilate(stray, wide), (0, 0), 1.5)
    spread = np.maximum(excess, 0).mean(axis=0)
    # the same for colour, at its half size: where things moved, a colour change counts
    # above twice what they did (a red coat in front of a green tree still does)
    chroma_floor: np.ndarray | None = None
    colours = [c.chroma_excess for c in first if c.chroma_excess is not None]
    if colours and len(colours) == len(first):
        largest = np.max(np.stack(colours), axis=0)
        height, width = largest.shape
        moving_half = _block_max(moving, 2, (width, height)) > 0
        colour_stray = np.where(moving_half, largest * np.float32(2.0), np.float32(0)).astype(np.float32)
        chroma_floor = cv2.GaussianBlur(cv2.dilate(colour_stray, _SQUARE_3), (0, 0), 0.75)

    # pass 2: the scores the static pairs get with that floor
    results = [
        _compare(r, lumas[i], settings, mask, sample, floor, chroma=chromas[i], white_share=shares[i], chroma_stray=chroma_floor)
        for r, i in pairs
    ]
    areas = [r.area for r in results]
    lights = [abs(math.log(r.ratio)) for r in results]
    # with nothing seen moving outside the learnt places, the area threshold may halve;
    # not when much of the picture moved
    min_area = max(settings.min_area if widespread else settings.min_area / 2, margin * max(areas))
    lighting = max(settings.lighting, margin * max(lights))
    calibrated = replace(settings, min_area=float(min_area), lighting=float(lighting))
    # frames that cannot both be "nothing happening": the light changed beyond what flicker
    # does, or a large part of the picture did
    changing = sum(
        1 for r in first if abs(math.log(r.ratio)) > settings.lighting or r.area > _LARGE_AREA
    )
    report = {
        "frames": len(lumas),
        "changing_pairs": changing,
        "pairs": len(pairs),
        "analysis_size": list(size),
        "correlation": float(np.median([r.correlation for r in results])),
        "stray_median": float(np.median(spread)),
        "moving_share": float((moving > 0).mean()),
        "widespread": widespread,
        "static_area_max": float(max(areas)),
        "static_light_max": float(math.exp(max(lights))),
        "min_area": float(min_area),
        "lighting": float(lighting),
    }
    return NoiseProfile(size=size, stray_map=floor, settings=calibrated, report=report, chroma_map=chroma_floor)
