"""Motion between the two images: optical flow, and where B's middle lies inside A.

Both read the first image as the earlier one: the flow carries A's pixels to B, and the
template search looks for B's middle inside A, so swapping the images changes the values
(they are declared asymmetric).

Pixels a mask ignores take the first image's values in the second before anything is
computed, so nothing moves there and no window carries their content into the figures,
which are then taken over the kept pixels only.
"""

from __future__ import annotations

import math

import numpy as np

from ..features import FeaturePair
from . import Figure, MetricOptions, register

#: Flow is computed with the longer side at most this many pixels and its lengths scaled
#: back to pixels of the input: the cost stays bounded on large images, and motion finer
#: than a pixel of the reduced image is measured less precisely than at full size.
FLOW_MAX_SIDE = 512
#: ``cv2.calcOpticalFlowFarneback`` parameters, those of OpenCV's optical flow tutorial.
FARNEBACK = {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3, "poly_n": 5, "poly_sigma": 1.2, "flags": 0}
#: A pixel moves when its flow is longer than this, in pixels of the input.
MOVING_PIXELS = 1.0
#: ``flow_max`` is this percentile of the flow lengths over the pixels whose flow is
#: consistent: a robust largest motion, not the single longest vector.
FLOW_MAX_PERCENTILE = 99.0
#: Forward-backward consistency (Sundaram, Brox, Keutzer 2010): a pixel's flow w
#: holds when the backward flow w' where it lands nearly undoes it,
#: ``|w + w'|^2 < 0.01 (|w|^2 + |w'|^2) + 0.5``, in pixels of the analysed image.
CONSISTENCY_SLOPE = 0.01
CONSISTENCY_FLOOR = 0.5
#: ``cv2.goodFeaturesToTrack`` and ``cv2.calcOpticalFlowPyrLK`` parameters for the sparse
#: tracks: the windows of OpenCV's Lucas-Kanade tutorial, with more and weaker corners
#: (200, quality 0.01 instead of 100 and 0.3) for a steadier median.
CORNERS = {"maxCorners": 200, "qualityLevel": 0.01, "minDistance": 7, "blockSize": 7}
LUCAS_KANADE = {"winSize": (15, 15), "maxLevel": 2}
#: ``template`` crops this share of B's height and width from every side and searches A
#: for the rest, so shifts up to this share of the size are found.
TEMPLATE_MARGIN = 0.1


def _filled_luma(pair: FeaturePair, luma: str) -> tuple[np.ndarray, np.ndarray]:
    """A's and B's luminance (attribute ``luma``), B's ignored pixels replaced by A's."""
    a = getattr(pair.a, luma)
    b = getattr(pair.b, luma)
    if pair.mask is not None:
        b = np.where(pair.mask, b, a)
    return a, b


def analysis_size(shape: tuple[int, int], max_side: int = FLOW_MAX_SIDE) -> tuple[int, int]:
    """(width, height) at which the flow of an image of ``shape`` (H, W) is computed."""
    height, width = shape
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _shrink(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    if (values.shape[1], values.shape[0]) == size:
        return values
    return cv2.resize(values, size, interpolation=cv2.INTER_AREA)


def dense_flow(a8: np.ndarray, b8: np.ndarray) -> np.ndarray:
    """Farneback flow from ``a8`` to ``b8`` (uint8 (H, W)), float32 (H, W, 2): (dx, dy) per pixel.

    ``cv2.calcOpticalFlowFarneback`` with :data:`FARNEBACK` on the images as given.
    """
    import cv2

    p = FARNEBACK
    return cv2.calcOpticalFlowFarneback(
        a8, b8, None, p["pyr_scale"], p["levels"], p["winsize"], p["iterations"], p["poly_n"], p["poly_sigma"], p["flags"]
    )


def consistent_flow(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Where the forward flow A -> B is undone by the backward flow B -> A: bool (H, W).

    A pixel at ``p`` with forward flow ``w`` lands at ``q = p + w``; the backward flow
    ``w'`` at ``q`` (bilinear) should bring it back, within
    ``|w + w'|^2 < 0.01 (|w|^2 + |w'|^2) + 0.5`` (:data:`CONSISTENCY_SLOPE`,
    :data:`CONSISTENCY_FLOOR`). Pixels that land outside B (content that leaves the
    frame) have no backward flow and are inconsistent.
    """
    import cv2

    height, width = forward.shape[:2]
    cols, rows = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    land_x = cols + forward[:, :, 0]
    land_y = rows + forward[:, :, 1]
    back = cv2.remap(backward, land_x, land_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inside = (land_x >= 0) & (land_x <= width - 1) & (land_y >= 0) & (land_y <= height - 1)
    error = np.sum(np.square(forward + back), axis=2)
    allowed = CONSISTENCY_SLOPE * (np.sum(np.square(forward), axis=2) + np.sum(np.square(back), axis=2))
    allowed += CONSISTENCY_FLOOR
    return inside & (error < allowed)


def sparse_tracks(a8: np.ndarray, b8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A's corners and their Lucas-Kanade displacements in B: two float32 (N, 2) arrays of (x, y).

    Corners by ``cv2.goodFeaturesToTrack`` (:data:`CORNERS`), tracked by
    ``cv2.calcOpticalFlowPyrLK`` (:data:`LUCAS_KANADE`); only tracks with status 1 are
    kept, so N is 0 when nothing can be tracked.
    """
    import cv2

    corners = cv2.goodFeaturesToTrack(a8, **CORNERS)
    if corners is None:
        empty = np.zeros((0, 2), np.float32)
        return empty, empty
    moved, status, _ = cv2.calcOpticalFlowPyrLK(a8, b8, corners, None, **LUCAS_KANADE)
    found = status.ravel() == 1
    corners = corners.reshape(-1, 2)[found]
    return corners, moved.reshape(-1, 2)[found] - corners


@register(
    "flow",
    kind="distance",
    lower=0.0,
    upper=math.inf,
    identical=0.0,
    summary="mean optical flow magnitude, A to B (Farneback, longer side at most 512)",
    reference=(
        "Farneback 2003, cv2.calcOpticalFlowFarneback with OpenCV's tutorial parameters; "
        "flow_max: forward-backward check of Sundaram, Brox, Keutzer 2010, 99th percentile; "
        "Lucas-Kanade: Bouguet 2001, cv2.goodFeaturesToTrack + cv2.calcOpticalFlowPyrLK"
    ),
    unit="pixels",
    symmetric=False,
    figures={
        "max": Figure(
            kind="distance",
            lower=0.0,
            upper=math.inf,
            identical=0.0,
            summary=(
                f"robust largest optical flow: {FLOW_MAX_PERCENTILE:g}th percentile of the magnitudes "
                "where forward and backward flow agree"
            ),
            unit="pixels",
            symmetric=False,
        ),
        "moving": Figure(
            kind="distance",
            lower=0.0,
            upper=1.0,
            identical=0.0,
            summary=f"share of pixels whose flow exceeds {MOVING_PIXELS:g} pixel",
            symmetric=False,
        ),
        "lk": Figure(
            kind="distance",
            lower=0.0,
            upper=math.inf,
            identical=0.0,
            summary="median Lucas-Kanade track length of A's corners (0 without trackable corners)",
            unit="pixels",
            symmetric=False,
        ),
    },
)
def optical_flow(pair: FeaturePair, options: MetricOptions) -> dict[str, float]:
    """How far the content moves from A to B, by dense and sparse optical flow.

    Both luminances (8-bit) are reduced with ``cv2.INTER_AREA`` until the longer side is at
    most :data:`FLOW_MAX_SIDE` pixels. Dense Farneback flow A -> B gives ``flow``, the
    mean magnitude ``sqrt((sx dx)^2 + (sy dy)^2)`` with (sx, sy) the reduction factors, so
    values are in pixels of the input; and ``flow_moving``, the share of pixels moving
    more than :data:`MOVING_PIXELS`. Sparse Lucas-Kanade tracks of A's corners give
    ``flow_lk``, their median length in input pixels (0 when A has no corner that can be
    tracked). Range 0 upwards; distance, 0 on identical images. Asymmetric: the flow from
    B to A is not exactly the reverse.

    ``flow_max`` is a robust largest motion: the 99th percentile of the magnitudes over
    the pixels whose flow passes the forward-backward check (:func:`consistent_flow`,
    which takes a second Farneback flow, B -> A), or over all pixels when none passes.
    The single longest vector is not a motion of the content: dense flow explains every
    change of appearance as motion and has no answer where content enters or leaves the
    frame, so the largest vector is an outlier. Measured on 256-pixel crops of five
    scikit-image photos (astronaut, coffee, chelsea, camera, rocket) with their content
    moved 5 pixels by slicing (nothing wraps round): the longest vector was 5.0 to 42.8
    pixels, the 99th percentile of all magnitudes 5.0 to 6.2 (content leaving the
    frame), ``flow_max`` 5.0 to 5.1. A change of appearance can still read as motion: a
    black 60 x 50 box pasted onto the same photos, nothing moved, gave ``flow_max`` of
    0.01 to 10 pixels (the longest vector: 9.7 to 45; ``flow_lk``, which tracks
    corners, 0).

    ``flow`` averages every pixel, the textureless ones too, where motion cannot be
    observed and the flow stays near 0: on the same 5-pixel shifts it was 1.6 (rocket,
    half sky) to 4.8 pixels (chelsea); ``flow_lk`` was 5.0 on all five.
    """
    a8, b8 = _filled_luma(pair, "luma8")
    if np.array_equal(a8, b8):
        return dict.fromkeys(("flow", "flow_max", "flow_moving", "flow_lk"), 0.0)
    height, width = a8.shape
    size = analysis_size((height, width))
    a_small, b_small = _shrink(a8, size), _shrink(b8, size)
    sx, sy = width / size[0], height / size[1]
    flow = dense_flow(a_small, b_small)
    consistent = consistent_flow(flow, dense_flow(b_small, a_small))
    magnitude = np.hypot(flow[:, :, 0] * np.float32(sx), flow[:, :, 1] * np.float32(sy))
    corners, moves = sparse_tracks(a_small, b_small)
    if pair.mask is not None:
        import cv2

        # a reduced pixel counts when any input pixel under it is kept
        kept = cv2.resize(pair.mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
        consistent = consistent[kept]
        magnitude = magnitude[kept]
        at = np.round(corners).astype(np.intp)
        np.clip(at, 0, (size[0] - 1, size[1] - 1), out=at)
        moves = moves[kept[at[:, 1], at[:, 0]]]
    lengths = np.hypot(moves[:, 0] * sx, moves[:, 1] * sy)
    reliable = magnitude[consistent] if consistent.any() else magnitude
    return {
        "flow": float(np.mean(magnitude, dtype=np.float64)),
        "flow_max": float(np.percentile(reliable, FLOW_MAX_PERCENTILE)),
        "flow_moving": float(np.count_nonzero(magnitude > MOVING_PIXELS)) / magnitude.size,
        "flow_lk": float(np.median(lengths)) if len(lengths) else 0.0,
    }


def _template_box(shape: tuple[int, int]) -> tuple[int, int]:
    """Margins (rows, columns) cropped from each side of B to make the template."""
    height, width = shape
    return int(height * TEMPLATE_MARGIN), int(width * TEMPLATE_MARGIN)


def best_match(a: np.ndarray, b: np.ndarray) -> tuple[float, int, int]:
    """Where B's middle fits A best: (correlation, dx, dy), for 2-D float32 arrays of one shape.

    B without :data:`TEMPLATE_MARGIN` of its size on every side is the template;
    ``cv2.matchTemplate(a, template, cv2.TM_CCOEFF_NORMED)`` scores every placement in A
    and ``cv2.minMaxLoc`` picks the best. (dx, dy) is how far B's content lies from where
    it is in A: B equal to A moved 3 pixels right gives dx = 3. A flat template correlates
    with nothing: it scores 1 at offset 0 when A holds the same flat values there, else 0.
    """
    import cv2

    my, mx = _template_box(a.shape)
    template = np.ascontiguousarray(b[my : b.shape[0] - my, mx : b.shape[1] - mx])
    if template.min() == template.max():
        same = bool(np.array_equal(a[my : a.shape[0] - my, mx : a.shape[1] - mx], template))
        return (1.0 if same else 0.0), 0, 0
    scores = cv2.matchTemplate(np.ascontiguousarray(a), template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (x, y) = cv2.minMaxLoc(scores)
    return min(1.0, max(-1.0, float(best))), mx - x, my - y


@register(
    "template",
    kind="similarity",
    lower=-1.0,
    upper=1.0,
    identical=1.0,
    summary="best normalised cross-correlation of B's middle (10% margins cut) inside A",
    reference="Lewis 1995; cv2.matchTemplate(A, B's middle, cv2.TM_CCOEFF_NORMED) + cv2.minMaxLoc",
    symmetric=False,
    figures={
        "dx": Figure(
            kind="distance",
            lower=-math.inf,
            upper=math.inf,
            identical=0.0,
            summary="horizontal offset of the best match, B relative to A (signed, + is right)",
            unit="pixels",
            symmetric=False,
        ),
        "dy": Figure(
            kind="distance",
            lower=-math.inf,
            upper=math.inf,
            identical=0.0,
            summary="vertical offset of the best match, B relative to A (signed, + is down)",
            unit="pixels",
            symmetric=False,
        ),
    },
)
def template_match(pair: FeaturePair, options: MetricOptions) -> dict[str, float]:
    """Shift-tolerant similarity: how well B's middle matches A somewhere, and where.

    B's luminance without 10% of its height and width on every side is searched in A's
    luminance; ``template`` is the best zero-mean normalised cross-correlation
    ``sum(A'T') / sqrt(sum(A'^2) sum(T'^2))`` (primes: minus the window's mean) over every
    placement, so shifts up to 10% of the size cost nothing. ``template_dx`` and
    ``template_dy`` are the offset of the best placement in pixels: B's content lies that
    far right and down of where it is in A. Range -1 to 1; similarity, 1 on identical
    images (offset 0). Asymmetric: it searches B inside A.
    """
    a, b = _filled_luma(pair, "luma")
    if np.array_equal(a, b):  # exactly 1, where float rounding would give 0.99999994
        return {"template": 1.0, "template_dx": 0.0, "template_dy": 0.0}
    value, dx, dy = best_match(a, b)
    return {"template": value, "template_dx": float(dx), "template_dy": float(dy)}
