"""Array -> array steps applied identically to both images before any metric.

Order, chosen so each step sees what it needs: size policy -> mask -> crop -> alignment ->
grayscale -> thumbnail -> exposure normalisation -> blur. Rectangles and mask images are in
the coordinates of the first image after the size policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Union

import numpy as np

from .errors import OptionError, SizeMismatchError
from .io.images import ImageInput, LoadedImage, load_image

__all__ = [
    "Alignment",
    "Preprocess",
    "PreparedPair",
    "Rect",
    "SizePolicy",
    "luminance",
    "parse_rect",
    "parse_size_policy",
    "prepare_pair",
]

#: BT.601 luma weights, applied in float without rounding.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)

Rect = tuple[int, int, int, int]
"""(x, y, width, height) in pixels."""

SizePolicy = Union[None, Literal["to-first", "crop"], tuple[int, int]]


@dataclass(frozen=True)
class Preprocess:
    """What to do to both images before measuring them. The defaults change nothing.

    Attributes
    ----------
    resize : None, "to-first", "crop" or (width, height)
        Policy for images of different sizes: None refuses them, ``"to-first"`` resizes the
        second to the first, ``"crop"`` keeps the overlapping top-left area, a size resizes
        both (also when they already match).
    grayscale : bool
        Compare BT.601 luminance instead of colour.
    thumbnail : int or None
        Shrink both so the longer side is at most this many pixels (aspect kept).
    crop : Rect or None
        Region of interest (x, y, width, height); everything else is dropped.
    ignore : tuple of Rect
        Rectangles no metric looks at (a clock, a tree).
    mask : path, array or None
        Mask image of the first image's size: non-zero pixels are compared, zero ignored.
    blur : float
        Gaussian blur sigma in pixels (0 = none), after resizing.
    exposure : None, "meanstd" or "histogram"
        Bring the second image's brightness to the first's: per-channel mean and standard
        deviation, or full histogram matching.
    align : None, "phase" or "ecc"
        Undo a translation of the second image: phase correlation or ECC (OpenCV). The
        pixels shifted in from outside are masked out.
    """

    resize: SizePolicy = None
    grayscale: bool = False
    thumbnail: int | None = None
    crop: Rect | None = None
    ignore: tuple[Rect, ...] = ()
    mask: ImageInput | None = None
    blur: float = 0.0
    exposure: Literal["meanstd", "histogram"] | None = None
    align: Literal["phase", "ecc"] | None = None

    def __post_init__(self) -> None:
        if self.thumbnail is not None and int(self.thumbnail) < 1:
            raise OptionError(f"thumbnail={self.thumbnail} must be a positive number of pixels")
        if not (self.blur >= 0 and np.isfinite(self.blur)):
            raise OptionError(f"blur={self.blur} must be a sigma >= 0 in pixels")
        if self.exposure not in (None, "meanstd", "histogram"):
            raise OptionError(f"exposure={self.exposure!r}: use 'meanstd' or 'histogram'")
        if self.align not in (None, "phase", "ecc"):
            raise OptionError(f"align={self.align!r}: use 'phase' or 'ecc'")
        if isinstance(self.resize, str) and self.resize not in ("to-first", "crop"):
            raise OptionError(f"resize={self.resize!r}: use 'to-first', 'crop' or a (width, height)")
        if isinstance(self.resize, tuple) and not (
            len(self.resize) == 2 and all(int(v) >= 1 for v in self.resize)
        ):
            raise OptionError(f"resize={self.resize!r}: a size needs two positive numbers")


@dataclass(frozen=True)
class Alignment:
    """How the second image was moved onto the first: it was displaced by (dx, dy) pixels."""

    method: str
    dx: float
    dy: float
    confidence: float

    def to_dict(self) -> dict:
        return {"method": self.method, "dx": self.dx, "dy": self.dy, "confidence": self.confidence}


@dataclass(frozen=True)
class PreparedPair:
    """Two same-shape float32 arrays in [0, 1] and the pixels that count.

    ``mask`` is a bool (H, W) array, True where pixels are compared, or None for all.
    ``a8`` and ``b8`` are the same pixels as the decoder's uint8 samples, where the steps
    only cut or copied them (see :attr:`LoadedImage.samples8`), else None.
    """

    a: np.ndarray
    b: np.ndarray
    mask: np.ndarray | None
    alignment: Alignment | None = None
    a8: np.ndarray | None = None
    b8: np.ndarray | None = None


_RECT_RE = re.compile(r"^\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*$")
_SIZE_RE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def parse_rect(text: str, *, option: str = "rectangle") -> Rect:
    """Parse ``"x,y,w,h"`` into a :data:`Rect`."""
    match = _RECT_RE.match(text)
    if not match:
        raise OptionError(f"{option} {text!r} is not x,y,width,height (for example 10,20,300,200)")
    x, y, w, h = (int(v) for v in match.groups())
    if w == 0 or h == 0:
        raise OptionError(f"{option} {text!r} is empty: width and height must be at least 1")
    return (x, y, w, h)


def parse_size_policy(text: str) -> SizePolicy:
    """Parse ``"to-first"``, ``"crop"`` or ``"WxH"``."""
    if text in ("to-first", "crop"):
        return text  # type: ignore[return-value]
    match = _SIZE_RE.match(text)
    if match and all(int(v) > 0 for v in match.groups()):
        return (int(match.group(1)), int(match.group(2)))
    raise OptionError(f"--resize {text!r}: use to-first, crop or a size like 640x480")


def luminance(pixels: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """BT.601 luma (0.299 R + 0.587 G + 0.114 B) in float32; a gray image is its own luma.

    ``out``, a float32 (H, W) array, receives the luma of float32 RGB pixels.
    """
    if pixels.ndim == 2:
        return pixels
    if pixels.shape[2] == 1:
        return pixels[:, :, 0]
    if pixels.dtype == np.float32:
        import cv2

        # OpenCV's float conversion uses these weights without rounding to 8 bits; it is
        # within one float32 ulp of the float64 sum and about 40 times faster on 1080p
        return cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2GRAY, dst=out)
    r, g, b = LUMA_WEIGHTS
    luma = pixels[:, :, 0] * np.float64(r) + pixels[:, :, 1] * np.float64(g) + pixels[:, :, 2] * np.float64(b)
    return luma.astype(np.float32)


def _resize(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    width, height = size
    if (array.shape[1], array.shape[0]) == (width, height):
        return array
    shrinking = width * height < array.shape[0] * array.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    out = cv2.resize(np.ascontiguousarray(array), (width, height), interpolation=interpolation)
    if out.ndim == 2 and array.ndim == 3:
        out = out[:, :, None]
    return np.clip(out, 0.0, 1.0) if not shrinking else out


def _resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    if (mask.shape[1], mask.shape[0]) == size:
        return mask
    # a pixel of the smaller image counts only if most of what it covers counted
    area = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    return area >= 0.5


def _match_sizes(a: np.ndarray, b: np.ndarray, policy: SizePolicy, names: tuple[str, str]):
    size_a = (a.shape[1], a.shape[0])
    size_b = (b.shape[1], b.shape[0])
    if isinstance(policy, tuple):
        return _resize(a, policy), _resize(b, policy)
    if size_a == size_b:
        return a, b
    if policy is None:
        raise SizeMismatchError(
            f"{names[0]} is {size_a[0]}x{size_a[1]} but {names[1]} is {size_b[0]}x{size_b[1]}: "
            "choose --resize to-first, --resize crop or --resize WxH"
        )
    if policy == "to-first":
        return a, _resize(b, size_a)
    height = min(a.shape[0], b.shape[0])
    width = min(a.shape[1], b.shape[1])
    return a[:height, :width], b[:height, :width]


def _clip_rect(rect: Rect, width: int, height: int, option: str) -> tuple[slice, slice]:
    x, y, w, h = rect
    if x >= width or y >= height:
        raise OptionError(f"{option} {x},{y},{w},{h} lies outside the {width}x{height} image")
    return slice(y, min(y + h, height)), slice(x, min(x + w, width))


def _channels_to_gray(pixels: np.ndarray) -> np.ndarray:
    return luminance(pixels)[:, :, None]


def _align(a: np.ndarray, b: np.ndarray, method: str, mask: np.ndarray | None):
    import cv2

    ya = luminance(a).astype(np.float32)
    yb = luminance(b).astype(np.float32)
    height, width = ya.shape
    if min(height, width) < 2:
        raise OptionError(f"--align needs pictures at least 2 pixels wide and high; these are {width}x{height}")
    if mask is not None:
        # what B shows in its ignored places must not steer the shift
        yb = np.where(mask, yb, ya)
    if np.array_equal(ya, yb):
        # nothing to find, and flat pictures would leave ECC nothing to converge on
        return b, mask, Alignment(method=method, dx=0.0, dy=0.0, confidence=1.0)
    for name, values in (("A", ya), ("B", yb)):
        if float(values.max()) - float(values.min()) < 1e-6:
            raise OptionError(f"--align: {name} is flat, with no detail to align on")
    if method == "phase":
        window = cv2.createHanningWindow((width, height), cv2.CV_32F) if min(width, height) > 2 else None
        (dx, dy), response = cv2.phaseCorrelate(ya, yb, window)
        warp = np.array([[1.0, 0.0, dx], [0.0, 1.0, dy]], dtype=np.float32)
    else:
        warp = np.eye(2, 3, dtype=np.float32)
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5)
        ecc_mask = mask.astype(np.uint8) if mask is not None else None
        try:
            response, warp = cv2.findTransformECC(ya, yb, warp, cv2.MOTION_TRANSLATION, criteria, ecc_mask, 5)
        except cv2.error:
            raise OptionError(
                "ECC alignment did not converge (images too different or too flat): try --align phase"
            ) from None
        dx, dy = float(warp[0, 2]), float(warp[1, 2])
    alignment = Alignment(method=method, dx=round(float(dx), 3), dy=round(float(dy), 3), confidence=round(float(response), 4))
    if alignment.dx == 0 and alignment.dy == 0:
        # a shift that rounds to nothing: resampling B would only blur it a little
        return b, mask, alignment
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    moved = cv2.warpAffine(np.ascontiguousarray(b), warp, (width, height), flags=flags, borderMode=cv2.BORDER_CONSTANT)
    if moved.ndim == 2:
        moved = moved[:, :, None]
    inside = cv2.warpAffine(np.ones((height, width), np.float32), warp, (width, height), flags=flags, borderMode=cv2.BORDER_CONSTANT)
    valid = inside >= 0.999
    mask = valid if mask is None else (mask & valid)
    return moved.astype(np.float32), mask, alignment


def _normalise_exposure(a: np.ndarray, b: np.ndarray, method: str, mask: np.ndarray | None) -> np.ndarray:
    out = np.empty_like(b)
    select = mask if mask is not None else slice(None)
    for c in range(b.shape[2]):
        ref = a[:, :, c][select].astype(np.float64)
        src = b[:, :, c][select].astype(np.float64)
        if method == "meanstd":
            std_src = src.std()
            gain = ref.std() / std_src if std_src > 1e-12 else 1.0
            out[:, :, c] = (b[:, :, c] - src.mean()) * gain + ref.mean()
        else:
            out[:, :, c] = _match_histogram(b[:, :, c], src, ref)
    return np.clip(out, 0.0, 1.0)


def _match_histogram(channel: np.ndarray, src: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Map ``channel`` so that the distribution of ``src`` becomes that of ``ref``."""
    src_values, src_counts = np.unique(src, return_counts=True)
    ref_values, ref_counts = np.unique(ref, return_counts=True)
    src_quantiles = np.cumsum(src_counts) / src.size
    ref_quantiles = np.cumsum(ref_counts) / ref.size
    mapped_values = np.interp(src_quantiles, ref_quantiles, ref_values)
    return np.interp(channel, src_values, mapped_values).astype(np.float32)


def _blur(array: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    out = cv2.GaussianBlur(np.ascontiguousarray(array), (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
    return out[:, :, None] if out.ndim == 2 else out


def _load_mask(mask: ImageInput, size: tuple[int, int]) -> np.ndarray:
    loaded = load_image(mask, alpha="ignore", data_range=1.0 if isinstance(mask, np.ndarray) and mask.dtype == np.bool_ else None)
    if loaded.size != size:
        raise OptionError(
            f"mask {loaded.source} is {loaded.width}x{loaded.height} but the image is {size[0]}x{size[1]}"
        )
    return loaded.pixels.max(axis=2) > 0


def prepare_pair(a: LoadedImage, b: LoadedImage, options: Preprocess = Preprocess()) -> PreparedPair:
    """Apply ``options`` to both images and return same-shape arrays and the mask.

    Raises
    ------
    SizeMismatchError
        Different sizes and ``options.resize`` is None.
    OptionError
        A rectangle outside the image, a mask of the wrong size, a failed alignment.
    """
    pa, pb = a.pixels, b.pixels
    sa, sb = a.samples8, b.samples8
    if pa.shape[2] != pb.shape[2]:
        # one gray, one colour: compare in colour, a gray image is equal in R, G and B
        pa, sa = (_colour(pa), _colour(sa)) if pa.shape[2] == 1 else (pa, sa)
        pb, sb = (_colour(pb), _colour(sb)) if pb.shape[2] == 1 else (pb, sb)
    sized_a, sized_b = _match_sizes(pa, pb, options.resize, (a.source, b.source))
    sa, sb = _samples_of(sized_a, pa, sa), _samples_of(sized_b, pb, sb)
    pa, pb = sized_a, sized_b
    height, width = pa.shape[:2]

    mask = None
    if options.mask is not None:
        mask = _load_mask(options.mask, (width, height))
    if options.ignore:
        mask = np.ones((height, width), bool) if mask is None else mask.copy()
        for rect in options.ignore:
            rows, cols = _clip_rect(rect, width, height, "ignore region")
            mask[rows, cols] = False

    if options.crop is not None:
        rows, cols = _clip_rect(options.crop, width, height, "crop")
        pa, pb = pa[rows, cols], pb[rows, cols]
        sa = sa[rows, cols] if sa is not None else None
        sb = sb[rows, cols] if sb is not None else None
        mask = mask[rows, cols] if mask is not None else None
    # every later step computes new values; where one leaves an image as it was, the
    # image keeps its samples
    before_a, before_b = pa, pb

    alignment = None
    if options.align is not None:
        pb, mask, alignment = _align(pa, pb, options.align, mask)

    if options.grayscale and pa.shape[2] == 3:
        pa, pb = _channels_to_gray(pa), _channels_to_gray(pb)

    if mask is not None and (options.thumbnail is not None or options.blur > 0):
        # shrinking and blurring mix neighbours: B's ignored pixels must be A's first, or a
        # change there would spread into the pixels around it that count
        pb = np.where(mask[:, :, None], pb, pa)

    if options.thumbnail is not None:
        h, w = pa.shape[:2]
        scale = min(1.0, options.thumbnail / max(h, w))
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        pa, pb = _resize(pa, size), _resize(pb, size)
        mask = _resize_mask(mask, size) if mask is not None else None

    if options.exposure is not None:
        pb = _normalise_exposure(pa, pb, options.exposure, mask)

    if options.blur > 0:
        pa, pb = _blur(pa, options.blur), _blur(pb, options.blur)

    if mask is not None and not mask.any():
        raise OptionError("the mask, ignore regions and crop leave no pixel to compare")
    if mask is not None and mask.all():
        mask = None
    return PreparedPair(
        a=pa,
        b=pb,
        mask=mask,
        alignment=alignment,
        a8=sa if pa is before_a else None,
        b8=sb if pb is before_b else None,
    )


def _colour(values: np.ndarray | None) -> np.ndarray | None:
    """A gray (H, W, 1) image as equal R, G and B."""
    return np.repeat(values, 3, axis=2) if values is not None else None


def _samples_of(sized: np.ndarray, original: np.ndarray, samples: np.ndarray | None) -> np.ndarray | None:
    """The 8-bit samples of ``sized``, what :func:`_match_sizes` made of ``original``:
    the same image or its top-left corner keeps them, a resized one has none."""
    if sized is original:
        return samples
    if samples is None or not np.shares_memory(sized, original):
        return None
    return samples[: sized.shape[0], : sized.shape[1]]
