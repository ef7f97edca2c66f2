"""Per-image cache of derived arrays, so every metric shares one computation of each.

A metric asks ``features.luma`` or ``features.pixels8``; the first request computes it, the
rest reuse it. Nothing here is global: the cache lives and dies with its image.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from .preprocess import luminance

__all__ = ["Features"]


class Features:
    """Derived views of one preprocessed image (float32, (H, W, C), C in {1, 3}, [0, 1]).

    ``samples8``, optional, are the same pixels as uint8 samples (an 8-bit source's own,
    see :attr:`imgdelta.LoadedImage.samples8`): the 8-bit views then start from them
    instead of rounding the floats, which gives the same values sooner.
    """

    def __init__(self, pixels: np.ndarray, samples8: np.ndarray | None = None) -> None:
        if pixels.ndim != 3 or pixels.shape[2] not in (1, 3):
            raise ValueError(f"expected an (H, W, 1) or (H, W, 3) array, got shape {pixels.shape}")
        if samples8 is not None and (samples8.dtype != np.uint8 or samples8.shape != pixels.shape):
            raise ValueError(f"samples8 must be uint8 of shape {pixels.shape}, got {samples8.dtype} {samples8.shape}")
        self.pixels = pixels
        self.samples8 = samples8
        self._memo: dict[str, object] = {}

    def memo(self, key: str, compute):
        """``compute(self)`` the first time ``key`` is asked for, the stored value after."""
        if key not in self._memo:
            self._memo[key] = compute(self)
        return self._memo[key]

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.pixels.shape[0]), int(self.pixels.shape[1]))

    @property
    def is_gray(self) -> bool:
        return self.pixels.shape[2] == 1

    @cached_property
    def luma(self) -> np.ndarray:
        """BT.601 luminance, float32 (H, W)."""
        return luminance(self.pixels)

    @cached_property
    def luma64(self) -> np.ndarray:
        """Luminance in float64, for statistics that cancel large terms."""
        if self.is_gray:
            return self.pixels[:, :, 0].astype(np.float64)
        p = self.pixels.astype(np.float64)
        return p[:, :, 0] * 0.299 + p[:, :, 1] * 0.587 + p[:, :, 2] * 0.114

    @cached_property
    def luma8(self) -> np.ndarray:
        """8-bit luminance, uint8 (H, W): OpenCV's gray of :attr:`pixels8`.

        ``cv2.cvtColor(pixels8, cv2.COLOR_RGB2GRAY)``, BT.601 weights in 14-bit fixed
        point, so 8-bit work (edges, histograms, flow) sees the gray image an OpenCV user
        gets from the same picture. It is within one level of :attr:`luma` x 255.
        """
        import cv2

        if self.is_gray:
            return self.pixels8[:, :, 0]
        return cv2.cvtColor(self.pixels8, cv2.COLOR_RGB2GRAY)

    @cached_property
    def pixels8(self) -> np.ndarray:
        """The pixels as uint8 (H, W, C): :attr:`samples8` when given, else rounded to nearest."""
        import cv2

        if self.samples8 is not None:
            return np.ascontiguousarray(self.samples8)
        # OpenCV's saturating conversion is four times NumPy's; it rounds ties to even,
        # which an 8-bit source (every value within float32 rounding of k / 255) never has
        rounded = cv2.convertScaleAbs(np.ascontiguousarray(self.pixels), alpha=255.0)
        return rounded.reshape(self.pixels.shape)

    @cached_property
    def rgba8(self) -> np.ndarray:
        """Opaque RGBA, uint8 (H, W, 4), the layout pixelmatch works on."""
        import cv2

        data = self.pixels8
        return cv2.cvtColor(data, cv2.COLOR_GRAY2RGBA if self.is_gray else cv2.COLOR_RGB2RGBA)

    def pil8(self):
        """A Pillow image of the 8-bit pixels (mode L or RGB), for Pillow-defined algorithms."""
        from PIL import Image

        data = self.pixels8
        return Image.fromarray(data[:, :, 0] if self.is_gray else data)

    @cached_property
    def luma_histogram(self) -> np.ndarray:
        """Counts of the 256 levels of :attr:`luma8`, float64."""
        return np.bincount(self.luma8.ravel(), minlength=256).astype(np.float64)


class FeaturePair:
    """Two :class:`Features` of one shape, the mask, and arrays derived from both.

    The absolute difference is computed once and shared by every pixel-wise metric.
    ``mask`` is a bool (H, W) array, True where pixels count, or None for all.
    """

    def __init__(self, a: Features, b: Features, mask: np.ndarray | None = None) -> None:
        if a.pixels.shape != b.pixels.shape:
            raise ValueError(f"shapes differ: {a.pixels.shape} and {b.pixels.shape}")
        if mask is not None and mask.shape != a.shape:
            raise ValueError(f"mask shape {mask.shape} differs from image shape {a.shape}")
        self.a = a
        self.b = b
        self.mask = mask

    @cached_property
    def identical(self) -> bool:
        """True when both images have equal pixels wherever the mask looks."""
        return self.max_abs == 0.0

    @cached_property
    def abs_diff(self) -> np.ndarray:
        """|a - b| per pixel and channel, float32 (H, W, C)."""
        import cv2

        diff = cv2.absdiff(self.a.pixels, self.b.pixels)
        return diff[:, :, None] if diff.ndim == 2 else diff

    @cached_property
    def pixel_error(self) -> np.ndarray:
        """Largest channel difference per pixel, float32 (H, W)."""
        diff = self.abs_diff
        if diff.shape[2] == 1:
            return diff[:, :, 0]
        # an element-wise maximum of the three planes is several times faster than
        # reducing over a length-3 last axis
        return np.maximum(np.maximum(diff[:, :, 0], diff[:, :, 1]), diff[:, :, 2])

    def masked(self, per_pixel: np.ndarray) -> np.ndarray:
        """Values of an (H, W) or (H, W, C) array at the pixels that count, flattened per pixel."""
        return per_pixel if self.mask is None else per_pixel[self.mask]

    @cached_property
    def mean_abs(self) -> float:
        return float(np.mean(self.masked(self.abs_diff), dtype=np.float64))

    @cached_property
    def mean_squared(self) -> float:
        diff = self.masked(self.abs_diff)
        return float(np.mean(diff * diff, dtype=np.float64))

    @cached_property
    def max_abs(self) -> float:
        return float(self.masked(self.pixel_error).max())
