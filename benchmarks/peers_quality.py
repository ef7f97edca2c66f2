"""Catalogue rows of the image-quality family: imgdelta beside sewar 0.4.10.

Each ``run`` is what a sewar user does with two uint8 RGB arrays (for PSNR-B, which wants
the Y of YCbCr, their BT.601 luminance). Where imgdelta differs from sewar by design (see
``imgdelta.metrics.quality``) the row is there for speed.
"""

from __future__ import annotations

import math

import numpy as np

from peers import PeerCase

SEWAR = "sewar 0.4.10"
#: BT.601 luma, the Y of YCbCr that sewar's psnrb expects in place of RGB.
LUMA = np.array([0.299, 0.587, 0.114])


def _sewar(name: str):
    """sewar's ``full_ref.<name>`` on the two arrays as given."""

    def run(a: np.ndarray, b: np.ndarray) -> float:
        from sewar import full_ref

        return float(getattr(full_ref, name)(a, b))

    return run


def _psnrb(a: np.ndarray, b: np.ndarray) -> float:
    from sewar.full_ref import psnrb

    return float(psnrb(a.astype(np.float64) @ LUMA, b.astype(np.float64) @ LUMA, MAX=255))


#: Rows whose values differ from sewar's by design carry no tolerance (the agreement
#: column still prints the difference); tests/metrics/test_quality.py checks each of
#: those differences exactly against the corrected reference or the paper's formula.
BY_DESIGN = math.inf

CASES = [
    # sewar's downsampling also averages neighbouring colour channels; imgdelta keeps them apart
    PeerCase(metric="ms_ssim", peer=SEWAR, run=_sewar("msssim"), tolerance=BY_DESIGN),
    # sewar feeds window means where Wang's formula has window sums
    PeerCase(metric="uqi", peer=SEWAR, run=_sewar("uqi"), tolerance=BY_DESIGN),
    PeerCase(metric="vif", peer=SEWAR, run=_sewar("vifp"), tolerance=1e-6),
    # sewar divides the block-boundary sums by height * width / 8 - 1, not the pairs summed,
    # and charges all of B's blocking where imgdelta charges what B adds beyond A's
    PeerCase(metric="psnr_b", peer=SEWAR, run=_psnrb, tolerance=BY_DESIGN),
    # windows flat in both images (JPEG's flat blocks) count 1 in imgdelta when equal, 0 in sewar
    PeerCase(metric="scc", peer=SEWAR, run=_sewar("scc"), tolerance=BY_DESIGN),
    # a pixel black in one image only counts as a right angle in imgdelta; sewar leaves it out
    PeerCase(metric="sam", peer=SEWAR, run=_sewar("sam"), tolerance=BY_DESIGN),
    PeerCase(metric="ergas", peer=SEWAR, run=_sewar("ergas"), tolerance=1e-6),
    PeerCase(metric="rase", peer=SEWAR, run=_sewar("rase"), tolerance=1e-6),
]
