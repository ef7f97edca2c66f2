"""Catalogue rows of nmi, ciede2000, edges, flow and template beside their references.

Each ``run`` is what a user of the reference does with two uint8 RGB arrays: scikit-image
for nmi and ciede2000, OpenCV's own calls for edges, flow and template. gmsd and fsim have
no installed reference and no row here.

Agreement: nmi and ciede2000 equal scikit-image's; edges and template work on imgdelta's
8-bit and float luminance where a user of OpenCV takes ``cvtColor``'s (a few pixels
differ by one level); flow is computed with the longer side at 512 pixels by design, so
it is close to, not equal to, full-resolution Farneback.
"""

from __future__ import annotations

import numpy as np

from peers import PeerCase

#: BT.601 luma, imgdelta's luminance.
LUMA = np.array([0.299, 0.587, 0.114])
OPENCV = "OpenCV " + __import__("cv2").__version__
SKIMAGE = "scikit-image " + __import__("skimage").__version__


def _nmi(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import normalized_mutual_information

    return float(normalized_mutual_information(a @ LUMA / 255, b @ LUMA / 255, bins=100))


def _ciede2000(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.color import deltaE_ciede2000, rgb2lab

    return float(deltaE_ciede2000(rgb2lab(a), rgb2lab(b)).mean())


def _gray(image: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def _edges(a: np.ndarray, b: np.ndarray) -> float:
    import cv2

    edges_a = cv2.Canny(_gray(a), 100, 200)
    edges_b = cv2.Canny(_gray(b), 100, 200)
    square = np.ones((3, 3), np.uint8)
    lost = cv2.countNonZero(cv2.subtract(edges_a, cv2.dilate(edges_b, square)))
    new = cv2.countNonZero(cv2.subtract(edges_b, cv2.dilate(edges_a, square)))
    return (lost + new) / (cv2.countNonZero(edges_a) + cv2.countNonZero(edges_b))


def _flow(a: np.ndarray, b: np.ndarray) -> float:
    import cv2

    flow = cv2.calcOpticalFlowFarneback(_gray(a), _gray(b), None, 0.5, 3, 15, 3, 5, 1.2, 0)
    return float(np.mean(np.hypot(flow[..., 0], flow[..., 1]), dtype=np.float64))


def _template(a: np.ndarray, b: np.ndarray) -> float:
    import cv2

    gray_a, gray_b = _gray(a), _gray(b)
    height, width = gray_b.shape
    my, mx = height // 10, width // 10
    scores = cv2.matchTemplate(gray_a, gray_b[my : height - my, mx : width - mx], cv2.TM_CCOEFF_NORMED)
    return float(cv2.minMaxLoc(scores)[1])


CASES = [
    PeerCase(metric="nmi", peer=SKIMAGE, run=_nmi, tolerance=1e-5),
    PeerCase(metric="ciede2000", peer=SKIMAGE, run=_ciede2000, tolerance=1e-4),
    PeerCase(metric="edges", peer=OPENCV, run=_edges, repeat=5, peer_repeat=5, tolerance=1e-3),
    PeerCase(metric="flow", peer=OPENCV, run=_flow, repeat=5, peer_repeat=2, tolerance=0.5),
    PeerCase(metric="template", peer=OPENCV, run=_template, repeat=5, peer_repeat=5, tolerance=1e-4),
]
