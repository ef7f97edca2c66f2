"""Perceptual hashes: Hamming distances of hashes bit-identical to ``imagehash``.

Hashes are computed from the compared image rounded to 8 bits, through the same Pillow
steps as imagehash (convert to L, LANCZOS resize; for the colour hash, convert to L and
HSV), so for an 8-bit file they equal
``imagehash.<fn>(ImageOps.exif_transpose(PIL.Image.open(path)))`` on opaque images.
"""

from __future__ import annotations

from ..features import Features, FeaturePair
from . import MetricOptions, register
from ._imagehash import COLOR_HASH_BINS, HASH_FUNCTIONS, PerceptualHash, color_hash

#: Bits per bin of the registered colour hash: imagehash.colorhash's default.
COLOR_HASH_BINBITS = 3


def image_hash(features: Features, kind: str) -> PerceptualHash:
    """The ``kind`` hash of an image, computed once per image."""
    luma = features.memo("pil_luma8", lambda f: f.pil8().convert("L"))
    return features.memo(f"hash_{kind}", lambda f: HASH_FUNCTIONS[kind](luma))


def _hamming(kind: str):
    def distance(pair: FeaturePair, options: MetricOptions) -> float:
        return image_hash(pair.a, kind) - image_hash(pair.b, kind)

    distance.__name__ = f"{kind}_distance"
    return distance


_DESCRIPTIONS = {
    "ahash": ("average hash: 8x8 thumbnail brighter than its mean", "Krawetz 2011, 'Looks Like It'; imagehash.average_hash"),
    "dhash": ("difference hash: horizontal gradient signs of a 9x8 thumbnail", "Krawetz 2013, 'Kind of Like That'; imagehash.dhash"),
    "phash": ("perceptual hash: low DCT frequencies of a 32x32 thumbnail above their median", "Zauner 2010; imagehash.phash"),
    "whash": ("wavelet hash: Haar approximation coefficients above their median", "imagehash.whash (Haar, top level removed)"),
}

for _kind, (_summary, _reference) in _DESCRIPTIONS.items():
    register(
        _kind,
        kind="distance",
        lower=0.0,
        upper=64.0,
        identical=0.0,
        unit="bits",
        masked=False,
        summary=f"Hamming distance of 64-bit {_summary}",
        reference=_reference,
    )(_hamming(_kind))


def _colorhash_distance(pair: FeaturePair, options: MetricOptions) -> float:
    def colour(features: Features) -> PerceptualHash:
        return features.memo("hash_colorhash", lambda f: color_hash(f.pil8(), binbits=COLOR_HASH_BINBITS))

    return colour(pair.a) - colour(pair.b)


register(
    "colorhash",
    kind="distance",
    lower=0.0,
    upper=float(COLOR_HASH_BINS * COLOR_HASH_BINBITS),
    identical=0.0,
    unit="bits",
    masked=False,
    summary=f"Hamming distance of {COLOR_HASH_BINS * COLOR_HASH_BINBITS}-bit colour hashes: shares of black, grey and 12 hue bins",
    reference="imagehash.colorhash (binbits=3)",
)(_colorhash_distance)
