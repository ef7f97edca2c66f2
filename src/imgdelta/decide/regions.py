"""Changed pixels -> changed regions: connected areas, nearby pieces merged, as boxes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Region", "find_regions"]


@dataclass(frozen=True)
class Region:
    """One changed area, in the image's full-resolution pixels.

    ``box`` is (x0, y0, x1, y1) with x1 and y1 exclusive; ``area`` counts changed pixels;
    ``centroid`` is their mean (x, y); ``mean_difference`` and ``max_difference`` are the
    absolute luma difference over them, on the [0, 1] scale.
    """

    box: tuple[int, int, int, int]
    area: int
    centroid: tuple[float, float]
    mean_difference: float
    max_difference: float

    def to_dict(self) -> dict:
        return {
            "box": list(self.box),
            "area": self.area,
            "centroid": [round(self.centroid[0], 2), round(self.centroid[1], 2)],
            "mean_difference": round(self.mean_difference, 6),
            "max_difference": round(self.max_difference, 6),
        }


def find_regions(
    changed: np.ndarray,
    difference: np.ndarray,
    full_size: tuple[int, int],
    *,
    merge: float = 0.02,
) -> list[Region]:
    """Group a change map into regions, largest first.

    Parameters
    ----------
    changed : bool (h, w) array
        Where the change detector found change, at its analysis resolution.
    difference : float (h, w) array
        The luma difference at the same resolution.
    full_size : (width, height)
        The image's size: boxes, areas and centroids are scaled to it.
    merge : float
        Pieces closer than this share of the image's longer side become one region (an
        object's parts separated by a stripe that happens to match the background).
    """
    import cv2

    height, width = changed.shape
    sx, sy = full_size[0] / width, full_size[1] / height
    mask = changed.astype(np.uint8)
    if not mask.any():
        return []
    reach = max(1, round(merge * max(height, width)))
    joined = cv2.dilate(mask, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)) if reach else mask
    count, labels = cv2.connectedComponents(joined, connectivity=8)
    labels = np.where(mask > 0, labels, 0)
    magnitude = np.abs(difference)
    regions = []
    for label in range(1, count):
        ys, xs = np.nonzero(labels == label)
        if len(xs) == 0:
            continue
        values = magnitude[ys, xs]
        box = (
            int(np.floor(xs.min() * sx)),
            int(np.floor(ys.min() * sy)),
            min(full_size[0], int(np.ceil((xs.max() + 1) * sx))),
            min(full_size[1], int(np.ceil((ys.max() + 1) * sy))),
        )
        regions.append(
            Region(
                box=box,
                area=int(round(len(xs) * sx * sy)),
                centroid=(float((xs.mean() + 0.5) * sx), float((ys.mean() + 0.5) * sy)),
                mean_difference=float(values.mean()),
                max_difference=float(values.max()),
            )
        )
    return sorted(regions, key=lambda r: -r.area)
