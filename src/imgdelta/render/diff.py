"""Diff pictures: where two images differ, drawn over the first.

Styles:

* ``heatmap``: the first image, faded to grey, with the size of each difference in colour
  (dark red to yellow) where the detector found change, and a box around each region;
* ``pixelmatch``: the faded image with every pixel pixelmatch counts in red where the
  second image is brighter and green where it is darker, and its anti-aliased pixels in
  yellow (pixelmatch's own per-pixel rule, threshold 0.1);
* ``side-by-side``: first | second | heatmap;
* ``mask``: white where the detector found change, black elsewhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..pipeline.difference import Difference

__all__ = ["DIFF_STYLES", "render_diff"]

DIFF_STYLES = ("heatmap", "pixelmatch", "side-by-side", "mask")
BOX_COLOUR = (255, 0, 255)
#: How much of the original shows through the grey underlay (pixelmatch uses 0.1).
FADE = 0.25
#: A difference this large (on the [0, 1] scale) gets the hottest colour.
HOT = 0.25


def _faded(pixels: np.ndarray) -> np.ndarray:
    import cv2

    rgb = np.ascontiguousarray(pixels if pixels.shape[2] == 3 else np.repeat(pixels, 3, axis=2), dtype=np.float32)
    luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    grey = 1.0 - FADE * (1.0 - luma)
    return np.repeat((grey * 255 + 0.5).astype(np.uint8)[:, :, None], 3, axis=2)


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    rgb = pixels if pixels.shape[2] == 3 else np.repeat(pixels, 3, axis=2)
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def _full(map_: np.ndarray, size: tuple[int, int], *, nearest: bool) -> np.ndarray:
    import cv2

    interpolation = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.resize(map_.astype(np.float32), size, interpolation=interpolation)


def _boxes(image: np.ndarray, result: Difference) -> np.ndarray:
    import cv2

    thickness = max(1, round(max(result.size) / 400))
    for region in result.regions:
        x0, y0, x1, y1 = region.box
        cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), BOX_COLOUR, thickness)
    return image


def _heatmap(result: Difference) -> np.ndarray:
    import cv2

    image = _faded(result.a.pixels)
    changed = _full(result.changed, result.size, nearest=True) > 0.5
    if changed.any():
        level = np.clip(_full(result.magnitude, result.size, nearest=False) / HOT, 0, 1)
        colours = cv2.applyColorMap((level * 255).astype(np.uint8), cv2.COLORMAP_HOT)[:, :, ::-1]
        # the coldest colours of the map are black: start the scale at dark red
        colours = np.maximum(colours, np.uint8([128, 0, 0]))
        image[changed] = colours[changed]
    return _boxes(image, result)


def _pixelmatch(result: Difference) -> np.ndarray:
    from ..features import Features
    from ..metrics._pixelmatch import ANTIALIASED, DIFFERENT, classify

    first, second = (Features(image.pixels, image.samples8) for image in (result.a, result.b))
    labels = classify(first.rgba8, second.rgba8, threshold=0.1)
    image = _faded(result.a.pixels)
    brighter = second.luma > first.luma
    image[(labels == DIFFERENT) & brighter] = (255, 0, 0)
    image[(labels == DIFFERENT) & ~brighter] = (0, 160, 0)
    image[labels == ANTIALIASED] = (255, 255, 0)
    return image


def _mask(result: Difference) -> np.ndarray:
    changed = _full(result.changed, result.size, nearest=True) > 0.5
    return np.repeat((changed * 255).astype(np.uint8)[:, :, None], 3, axis=2)


def _side_by_side(result: Difference) -> np.ndarray:
    gap = np.full((result.size[1], max(2, result.size[0] // 100), 3), 255, np.uint8)
    return np.hstack([_to_uint8(result.a.pixels), gap, _to_uint8(result.b.pixels), gap, _heatmap(result)])


_STYLES = {"heatmap": _heatmap, "pixelmatch": _pixelmatch, "side-by-side": _side_by_side, "mask": _mask}


def render_diff(result: Difference, style: str = "heatmap") -> np.ndarray:
    """The diff picture of ``result`` as uint8 RGB (H, W, 3); see the module for styles."""
    from ..errors import OptionError

    if style not in _STYLES:
        raise OptionError(f"diff style {style!r}: use one of {', '.join(DIFF_STYLES)}")
    return _STYLES[style](result)
