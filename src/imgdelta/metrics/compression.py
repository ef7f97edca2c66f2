"""Compressed size as a proxy for content: two views of one scene compress alike."""

from __future__ import annotations

import numpy as np

from ..errors import ImgDeltaError
from ..features import Features, FeaturePair
from . import MetricOptions, register


def jpeg_bytes(features: Features, quality: int) -> int:
    """Size in bytes of the 8-bit image encoded as baseline JPEG at ``quality``."""
    import cv2

    pixels = features.pixels8
    image = pixels[:, :, 0] if features.is_gray else np.ascontiguousarray(pixels[:, :, ::-1])
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ImgDeltaError("JPEG encoding failed")
    return int(encoded.size)


@register(
    "jpeg_size",
    kind="distance",
    lower=0.0,
    upper=1.0,
    identical=0.0,
    masked=False,
    summary="relative difference of JPEG-encoded sizes, |sa - sb| / max(sa, sb)",
    reference="sizes from OpenCV's JPEG encoder at the configured quality (75 by default)",
)
def jpeg_size_difference(pair: FeaturePair, options: MetricOptions) -> float:
    size_a = jpeg_bytes(pair.a, options.jpeg_quality)
    size_b = jpeg_bytes(pair.b, options.jpeg_quality)
    return abs(size_a - size_b) / max(size_a, size_b)
