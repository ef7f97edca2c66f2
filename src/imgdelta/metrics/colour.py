"""Colour difference as people see it: CIEDE2000 between the CIELAB values of the pixels."""

from __future__ import annotations

import math

import numpy as np

from ..features import FeaturePair
from . import Figure, MetricOptions, register

#: sRGB (D65) to CIE XYZ, IEC 61966-2-1 as scikit-image's ``rgb2xyz`` uses it.
XYZ_FROM_RGB = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
#: The D65 white of the 2-degree observer, scikit-image's ``rgb2lab`` default.
D65_WHITE = (0.95047, 1.0, 1.08883)
#: The just-noticeable CIELAB difference, 2.3 (Mahy, Van Eycken, Oosterlinck 1994, as
#: quoted by Sharma 2003, for dE*ab); ``ciede2000_visible`` counts the pixels whose
#: CIEDE2000 exceeds it.
JUST_NOTICEABLE = 2.3

_EPSILON = 0.008856  # CIE's (6/29)^3 as rounded by scikit-image
_KAPPA = 7.787  # slope of the linear part of f(t), likewise rounded
_25_POW_7 = 25.0**7
_ROWS_PER_STRIP = 64


def _linear(values: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] to linear light (IEC 61966-2-1)."""
    curved = values > np.float32(0.04045)
    out = np.power((values + np.float32(0.055)) * np.float32(1 / 1.055), np.float32(2.4))
    np.copyto(out, values * np.float32(1 / 12.92), where=~curved)
    return out


def _f(t: np.ndarray) -> np.ndarray:
    """CIELAB's compressive function: cube root above (6/29)^3, linear below."""
    out = np.cbrt(t)
    np.copyto(out, t * np.float32(_KAPPA) + np.float32(16 / 116), where=t <= np.float32(_EPSILON))
    return out


def lab(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """CIELAB (L, a, b) of sRGB pixels in [0, 1], float32, D65 white, 2-degree observer.

    Follows ``skimage.color.rgb2lab``: the sRGB curve, the IEC 61966-2-1 matrix, the D65
    white (0.95047, 1, 1.08883) and CIE's f(t) with scikit-image's rounded constants.
    ``pixels`` is (H, W, 3), or (H, W, 1) / (H, W) for gray values, which give L alone
    (a and b are None: a gray of sRGB value v has Y = linear(v)).
    """
    pixels = np.asarray(pixels, dtype=np.float32)
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        linear = _linear(pixels)
        r, g, b = linear[..., 0], linear[..., 1], linear[..., 2]
        m = XYZ_FROM_RGB / np.array(D65_WHITE)[:, None]
        x, y, z = (_f(r * np.float32(row[0]) + g * np.float32(row[1]) + b * np.float32(row[2])) for row in m)
        return y * np.float32(116) - np.float32(16), (x - y) * np.float32(500), (y - z) * np.float32(200)
    gray = pixels[..., 0] if pixels.ndim == 3 else pixels
    return _f(_linear(gray)) * np.float32(116) - np.float32(16), None, None


def _ciede2000(lab1: tuple, lab2: tuple) -> np.ndarray:
    """CIEDE2000 of two CIELAB triples of float32 arrays (kL = kC = kH = 1), float32.

    Sharma, Wu, Dalal 2005, with scikit-image's conventions where the standard leaves a
    choice: hue angles in [0, 2 pi), a hue difference of exactly pi left unwrapped, and a
    mean hue of h1 + h2 where either chroma is 0.
    """
    f32 = np.float32
    l1, a1, b1 = lab1
    l2, a2, b2 = lab2
    l_mean = (l1 + l2) * f32(0.5)
    tmp = (l_mean - f32(50)) ** 2
    s_l = f32(1) + f32(0.015) * tmp / np.sqrt(f32(20) + tmp)
    l_term = (l2 - l1) / s_l
    if a1 is None:
        # gray: no chroma, hence no chroma, hue or rotation terms
        return np.abs(l_term)

    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) * f32(0.5)
    c7 = c_mean**7
    scale = f32(1.5) - f32(0.5) * np.sqrt(c7 / (c7 + f32(_25_POW_7)))  # 1 + G
    a1 = a1 * scale
    a2 = a2 * scale
    c1 = np.hypot(a1, b1)
    c2 = np.hypot(a2, b2)
    two_pi = f32(2 * math.pi)
    h1 = np.arctan2(b1, a1)
    h1 += np.where(h1 < 0, two_pi, f32(0))
    h2 = np.arctan2(b2, a2)
    h2 += np.where(h2 < 0, two_pi, f32(0))

    c_mean = (c1 + c2) * f32(0.5)
    c_term = (c2 - c1) / (f32(1) + f32(0.045) * c_mean)

    h_diff = h2 - h1
    h_sum = h1 + h2
    cc = c1 * c2
    achromatic = cc == 0
    wrapped = np.abs(h_diff) > f32(math.pi)
    d_h = h_diff - np.where(h_diff > f32(math.pi), two_pi, f32(0)) + np.where(h_diff < f32(-math.pi), two_pi, f32(0))
    d_h[achromatic] = 0
    dh_term = f32(2) * np.sqrt(cc) * np.sin(d_h * f32(0.5))

    turn = wrapped & ~achromatic
    h_mean = h_sum + np.where(turn & (h_sum < two_pi), two_pi, f32(0)) - np.where(turn & (h_sum >= two_pi), two_pi, f32(0))
    h_mean = np.where(achromatic, h_mean, h_mean * f32(0.5))
    t = (
        f32(1)
        - f32(0.17) * np.cos(h_mean - f32(math.radians(30)))
        + f32(0.24) * np.cos(f32(2) * h_mean)
        + f32(0.32) * np.cos(f32(3) * h_mean + f32(math.radians(6)))
        - f32(0.20) * np.cos(f32(4) * h_mean - f32(math.radians(63)))
    )
    h_term = dh_term / (f32(1) + f32(0.015) * c_mean * t)

    c7 = c_mean**7
    r_c = f32(2) * np.sqrt(c7 / (c7 + f32(_25_POW_7)))
    d_theta = f32(math.radians(30)) * np.exp(-(((h_mean * f32(180 / math.pi) - f32(275)) * f32(1 / 25)) ** 2))
    r_term = -np.sin(f32(2) * d_theta) * r_c * c_term * h_term

    squared = l_term * l_term + c_term * c_term + h_term * h_term + r_term
    return np.sqrt(np.maximum(squared, f32(0)))


def _strips(rows: int) -> list[slice]:
    pieces = max(1, rows // _ROWS_PER_STRIP)
    bounds = [rows * i // pieces for i in range(pieces + 1)]
    return [slice(bounds[i], bounds[i + 1]) for i in range(pieces)]


def _difference_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """CIEDE2000 per pixel of two float32 sRGB images, in strips on all cores.

    NumPy's ufuncs release the GIL, and strips of 64 rows keep every temporary small.
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    out = np.empty(a.shape[:2], np.float32)

    def measure(part: slice) -> None:
        out[part] = _ciede2000(lab(a[part]), lab(b[part]))

    strips = _strips(a.shape[0])
    if len(strips) == 1:
        measure(strips[0])
    else:
        with ThreadPoolExecutor(min(os.cpu_count() or 1, len(strips))) as pool:
            list(pool.map(measure, strips))
    return out


def ciede2000_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference of every pixel of two sRGB images, float32 (H, W).

    ``a`` and ``b`` are float arrays in [0, 1] of one shape: (H, W, 3) colour, or (H, W) /
    (H, W, 1) gray, where only lightness differs. Each pixel goes to CIELAB as
    ``skimage.color.rgb2lab`` does (D65, 2-degree observer) and the difference is
    CIEDE2000 with kL = kC = kH = 1 (Sharma, Wu, Dalal 2005), which equals
    ``skimage.color.deltaE_ciede2000(rgb2lab(a), rgb2lab(b))`` to float32 precision.
    0 where the colours are equal; about 1 is a just perceptible difference, 100 is black
    against white.
    """
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    return _difference_map(a, b)


@register(
    "ciede2000",
    kind="distance",
    lower=0.0,
    upper=math.inf,
    identical=0.0,
    summary="mean CIEDE2000 colour difference of the pixels (sRGB to CIELAB, D65)",
    reference=(
        "CIE 142-2001, Sharma, Wu, Dalal 2005; equals skimage.color.deltaE_ciede2000"
        "(rgb2lab(a), rgb2lab(b)).mean()"
    ),
    unit="dE00",
    figures={
        "max": Figure(kind="distance", lower=0.0, upper=math.inf, identical=0.0, summary="largest CIEDE2000 of a pixel", unit="dE00"),
        "visible": Figure(
            kind="distance",
            lower=0.0,
            upper=1.0,
            identical=0.0,
            summary=f"share of pixels whose CIEDE2000 exceeds {JUST_NOTICEABLE} (just noticeable)",
        ),
    },
)
def ciede2000(pair: FeaturePair, options: MetricOptions) -> dict[str, float]:
    """Mean CIEDE2000 colour difference over the pixels, with its largest value and visible share.

    ``ciede2000`` is the mean of :func:`ciede2000_map` over the pixels a mask keeps:
    ``dE00 = sqrt((dL'/S_L)^2 + (dC'/S_C)^2 + (dH'/S_H)^2 + R_T (dC'/S_C)(dH'/S_H))``.
    ``ciede2000_max`` is the largest pixel's value and ``ciede2000_visible`` the share of
    pixels over a just-noticeable difference of 2.3. Range 0 (equal colours) upwards,
    about 100 for black against white; distance, lower is more alike. Gray images (such
    as the filter's luminance) are compared on lightness alone.
    """
    if pair.identical:
        return {"ciede2000": 0.0, "ciede2000_max": 0.0, "ciede2000_visible": 0.0}
    values = pair.masked(_difference_map(pair.a.pixels, pair.b.pixels))
    return {
        "ciede2000": float(np.mean(values, dtype=np.float64)),
        "ciede2000_max": float(values.max()),
        "ciede2000_visible": float(np.count_nonzero(values > JUST_NOTICEABLE)) / values.size,
    }
