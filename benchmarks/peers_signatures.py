"""Catalogue rows of the signatures and descriptors: colorhash beside imagehash.colorhash.

``run`` does what a user of imagehash does with two uint8 RGB arrays: wrap them as Pillow
images and subtract their colour hashes (the Hamming distance). wavelet, gist and centrist
have no reference implementation to compare with and no row in ``CASES``; run this file to
time them on the catalogue's 1080p pair:

    python benchmarks/peers_signatures.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from peers import PeerCase

IMAGEHASH = "imagehash " + __import__("imagehash").__version__

#: Metrics of this family that have no reference implementation.
UNREFERENCED = ("wavelet", "gist", "centrist")


def _colorhash(a: np.ndarray, b: np.ndarray) -> float:
    import imagehash
    from PIL import Image

    return float(imagehash.colorhash(Image.fromarray(a)) - imagehash.colorhash(Image.fromarray(b)))


CASES = [PeerCase(metric="colorhash", peer=IMAGEHASH, run=_colorhash, repeat=5, peer_repeat=5, tolerance=0.0)]


def main() -> None:
    from bench_compare import SIZES, best_ms, make_pair

    from imgdelta import load_image
    from imgdelta.features import Features, FeaturePair
    from imgdelta.metrics import MetricOptions
    from imgdelta.pipeline import measure

    with tempfile.TemporaryDirectory() as tmp:
        path_a, path_b = make_pair(Path(tmp), "1080p", SIZES["1080p"])
        loaded_a, loaded_b = load_image(path_a), load_image(path_b)
    print("metric    imgdelta ms (1080p pair, no reference)  value")
    for name in UNREFERENCED:
        # fresh Features each time, as in bench_compare: nothing derived is shared between runs
        ms, value = best_ms(lambda: measure(FeaturePair(Features(loaded_a.pixels, loaded_a.samples8), Features(loaded_b.pixels, loaded_b.samples8)), [name], MetricOptions())[name], 5)
        print(f"{name:<9} {ms:>11.1f}{'':32}{value:.6g}")


if __name__ == "__main__":
    main()
