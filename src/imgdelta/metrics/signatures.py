"""Signatures and global descriptors: a Haar-wavelet signature, GIST and CENTRIST.

Each turns a whole image into a small description and compares descriptions, the way image
search engines and scene classifiers do: they tell whether two pictures show the same kind
of scene, and are blind to where exactly a small change happened. None of them has a
reference implementation in Python to compare with; each follows its paper, and the tests
check them against the papers' formulas on cases small enough to work out by hand.

- ``wavelet`` (Jacobs, Finkelstein and Salesin 1995): signs and positions of the largest
  Haar wavelet coefficients of a 128 x 128 YIQ thumbnail, plus its average colour, compared
  with the paper's weighted "image querying metric".
- ``gist`` (Oliva and Torralba 2001): energies of 32 Gabor filters (4 scales x 8
  orientations) over a 4 x 4 grid of a prefiltered 256 x 256 grey image, 512 numbers, with
  the parameters of Torralba's reference code ``LMgist``.
- ``centrist`` (Wu and Rehg 2011): the histogram of 8-neighbour census transform codes of
  the 8-bit luminance, compared by the chi-square distance.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..features import Features, FeaturePair
from . import MetricOptions, register

__all__ = [
    "CENTRIST_BINS",
    "GIST_BLOCKS",
    "GIST_BOUNDARY",
    "GIST_ORIENTATIONS",
    "GIST_PREFILTER_CUTOFF",
    "GIST_SIZE",
    "WAVELET_COEFFICIENTS",
    "WAVELET_MAX",
    "WAVELET_SIZE",
    "WAVELET_WEIGHTS",
    "WaveletSignature",
    "census_histogram",
    "census_transform",
    "chi_square_distance",
    "gabor_amplitudes",
    "gabor_bank",
    "gist_descriptor",
    "gist_prefilter",
    "haar_decompose",
    "haar_signature",
    "wavelet_score",
]

# ---------------------------------------------------------------------------------------
# wavelet: Jacobs, Finkelstein and Salesin 1995

#: Side of the square thumbnail that is decomposed (the paper's 128 x 128).
WAVELET_SIZE = 128

#: Coefficients kept per colour channel (the paper keeps 40 to 60).
WAVELET_COEFFICIENTS = 60

#: The paper's weights for scanned queries (its Table 1): ``WAVELET_WEIGHTS[b][c]`` weighs
#: channel c (Y, I, Q) in bin b; bin 0 weighs the average colour, bin
#: ``min(max(i, j), 5)`` the coefficient at row i, column j.
WAVELET_WEIGHTS = (
    (5.00, 19.21, 34.37),
    (0.83, 1.26, 0.36),
    (1.01, 0.44, 0.45),
    (0.52, 0.53, 0.14),
    (0.47, 0.28, 0.18),
    (0.30, 0.14, 0.27),
)

#: RGB -> YIQ (NTSC); each row of I and Q sums to zero, so grey has I = Q = 0.
_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])

#: Coefficients smaller than this are zero: rounding leaves ~1e-17 on flat areas, and
#: their signs are noise, not features.
_NEGLIGIBLE = 1e-9


@dataclass(frozen=True, eq=False)
class WaveletSignature:
    """What the paper stores of an image: per channel (Y, I, Q) the average colour and the
    signs (+1, -1) of the largest coefficients at their positions (0 elsewhere)."""

    average: np.ndarray  # float64 (3,)
    signs: np.ndarray  # int8 (3, size, size)


def _haar_matrix(size: int) -> np.ndarray:
    """The paper's ``DecomposeArray`` as a matrix: ``M @ a`` decomposes the column ``a``.

    ``a / sqrt(size)``, then while ``h > 1``: ``h /= 2``, pair sums over sqrt(2) into the
    first h entries and pair differences over sqrt(2) into the next h. Entry 0 ends as the
    mean of ``a``.
    """
    if size < 1 or size & (size - 1):
        raise ValueError(f"the Haar transform needs a power-of-two size, got {size}")
    matrix = np.eye(size) / math.sqrt(size)
    h = size
    while h > 1:
        h //= 2
        even, odd = matrix[0 : 2 * h : 2].copy(), matrix[1 : 2 * h : 2].copy()
        matrix[:h] = (even + odd) / math.sqrt(2.0)
        matrix[h : 2 * h] = (even - odd) / math.sqrt(2.0)
    return matrix


def haar_decompose(image: np.ndarray) -> np.ndarray:
    """Standard 2-D Haar decomposition of square (..., r, r) arrays, the paper's normalisation.

    Every row is decomposed fully, then every column (the "standard" decomposition, the
    paper's ``DecomposeImage``); ``[..., 0, 0]`` is the mean. Equal to PyWavelets'
    ``wavedec`` with ``'haar'`` along the last axis then the one before (concatenated
    coarsest first), divided by r.
    """
    size = image.shape[-1]
    if image.shape[-2] != size:
        raise ValueError(f"the Haar decomposition needs square arrays, got {image.shape}")
    matrix = _haar_matrix(size)
    return matrix @ np.asarray(image, np.float64) @ matrix.T


def _yiq(pixels: np.ndarray) -> np.ndarray:
    """(3, H, W) float64 Y, I, Q planes of an (H, W, C) image in [0, 1]; grey has I = Q = 0."""
    if pixels.shape[2] == 1:
        planes = np.zeros((3, *pixels.shape[:2]))
        planes[0] = pixels[:, :, 0]
        return planes
    return np.einsum("kc,hwc->khw", _YIQ, pixels.astype(np.float64))


def haar_signature(pixels: np.ndarray, *, size: int = WAVELET_SIZE, coefficients: int = WAVELET_COEFFICIENTS) -> WaveletSignature:
    """The paper's signature of an (H, W, C) image in [0, 1], C = 1 (grey) or 3 (RGB).

    The image is resized to ``size`` x ``size`` (area averaging; aspect is not kept, as in
    the paper), converted to YIQ and decomposed; per channel the ``coefficients`` largest
    magnitudes other than the average keep their sign (ties go to the earlier position in
    row-major order; coefficients under 1e-9 are zero and never kept).
    """
    import cv2

    if coefficients < 0:
        raise ValueError(f"a signature keeps 0 or more coefficients, not {coefficients}")
    height, width = pixels.shape[:2]
    if (height, width) != (size, size):
        resized = cv2.resize(pixels, (size, size), interpolation=cv2.INTER_AREA)
        pixels = resized.reshape(size, size, pixels.shape[2])
    decomposed = haar_decompose(_yiq(pixels))
    average = decomposed[:, 0, 0].copy()
    magnitude = np.abs(decomposed).reshape(3, -1)
    magnitude[:, 0] = 0.0  # the average is stored apart
    signs = np.zeros((3, size * size), np.int8)
    count = min(coefficients, size * size - 1)
    for channel in range(3 if count > 0 else 0):
        values = magnitude[channel]
        # the count-th largest magnitude; all above it are kept, and ties at it in
        # row-major order until the count is reached
        cut = np.partition(values, values.size - count)[values.size - count]
        above = np.flatnonzero(values > cut)
        at = np.flatnonzero(values == cut)[: count - above.size]
        kept = np.concatenate([above, at])
        kept = kept[values[kept] > _NEGLIGIBLE]
        signs[channel, kept] = np.sign(decomposed[channel].reshape(-1)[kept]).astype(np.int8)
    return WaveletSignature(average=average, signs=signs.reshape(3, size, size))


def _bin_weights(size: int) -> np.ndarray:
    """(3, size, size) weights of every coefficient: ``WAVELET_WEIGHTS[min(max(i, j), 5)]``."""
    index = np.arange(size)
    bins = np.minimum(np.maximum(index[:, None], index[None, :]), 5)
    return np.moveaxis(np.asarray(WAVELET_WEIGHTS)[bins], -1, 0)


def wavelet_score(query: WaveletSignature, target: WaveletSignature) -> float:
    """The paper's image querying metric (its equation 3), smaller for closer images.

    ``sum_c w_c[0] |Q_c[0,0] - T_c[0,0]| + sum_c sum_{Q~_c[i,j] != 0} w_c[bin(i,j)]
    [Q~_c[i,j] != T~_c[i,j]]``: the weighted difference of the average colours, plus the
    weights of the query's kept coefficients that the target does not share with the same
    sign. Not symmetric: only the query's coefficients count.
    """
    if query.signs.shape != target.signs.shape:
        raise ValueError(f"signatures of different sizes: {query.signs.shape} and {target.signs.shape}")
    weights = _bin_weights(query.signs.shape[-1])
    averages = float(np.dot(np.asarray(WAVELET_WEIGHTS[0]), np.abs(query.average - target.average)))
    missed = (query.signs != 0) & (query.signs != target.signs)
    return averages + float(weights[missed].sum())


def _largest_wavelet_score(size: int, coefficients: int) -> float:
    """An upper bound of the symmetric score: the widest average-colour difference RGB in
    [0, 1] allows (the span of each YIQ row), plus each channel's heaviest ``coefficients``
    coefficients all missed."""
    spans = _YIQ.clip(min=0).sum(axis=1) - _YIQ.clip(max=0).sum(axis=1)
    weights = _bin_weights(size).reshape(3, -1)[:, 1:]
    heaviest = -np.sort(-weights, axis=1)[:, :coefficients].sum(axis=1)
    return float(np.dot(np.asarray(WAVELET_WEIGHTS[0]), spans) + heaviest.sum())


#: An upper bound of the registered ``wavelet`` distance (about 124.7; never reached, since
#: missing coefficients takes texture, which narrows the average-colour difference).
WAVELET_MAX = _largest_wavelet_score(WAVELET_SIZE, WAVELET_COEFFICIENTS)


def _signature(features: Features) -> WaveletSignature:
    return features.memo("haar_signature", lambda f: haar_signature(f.pixels))


@register(
    "wavelet",
    kind="distance",
    lower=0.0,
    upper=WAVELET_MAX,
    identical=0.0,
    summary="Haar wavelet signature distance: weighted average-colour difference plus the weights "
    "of the 60 largest YIQ coefficients per channel not shared with the same sign",
    reference="Jacobs, Finkelstein, Salesin 1995, 'Fast multiresolution image querying' (eq. 3, "
    "scanned-query weights), mean of both directions",
    masked=False,
)
def wavelet_distance(pair: FeaturePair, options: MetricOptions) -> float:
    """The paper's querying metric averaged over both directions, so that it is symmetric.

    ``(S(A, B) + S(B, A)) / 2`` with S the paper's equation 3 (:func:`wavelet_score`) on
    128 x 128 YIQ signatures of 60 coefficients per channel, scanned-query weights. 0 for
    identical images; at most :data:`WAVELET_MAX` (about 124.7). Colours are on the [0, 1]
    scale, so an average-luminance difference of 0.1 costs 0.5, about one missed
    coefficient of the coarsest bins.
    """
    a, b = _signature(pair.a), _signature(pair.b)
    return (wavelet_score(a, b) + wavelet_score(b, a)) / 2.0


# ---------------------------------------------------------------------------------------
# gist: Oliva and Torralba 2001, with the parameters of LMgist

#: Side of the square grey image the descriptor is computed on (LMgist's imageSize).
GIST_SIZE = 256

#: Gabor orientations at each of the four scales, finest first (LMgist's orientationsPerScale).
GIST_ORIENTATIONS = (8, 8, 8, 8)

#: The filter energies are averaged over GIST_BLOCKS x GIST_BLOCKS cells (numberBlocks).
GIST_BLOCKS = 4

#: Symmetric padding around the image before filtering, in pixels (boundaryExtension).
GIST_BOUNDARY = 32

#: Cut-off of the whitening prefilter, in cycles per image (fc_prefilt).
GIST_PREFILTER_CUTOFF = 4.0

#: The prefilter divides by this plus the local standard deviation (LMgist's 0.2).
_GIST_CONTRAST_FLOOR = 0.2

#: Padding of the prefilter, in pixels.
_GIST_PREFILTER_PAD = 5


def _frequencies(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer frequency grids (fx along columns, fy along rows) in FFT order."""
    f = np.fft.fftfreq(size) * size
    return np.meshgrid(f, f)


def gist_prefilter(image: np.ndarray, *, cutoff: float = GIST_PREFILTER_CUTOFF) -> np.ndarray:
    """LMgist's ``prefilt``: whitening and local contrast normalisation of a grey image.

    On ``log(image + 1)`` (``image`` on the 0..255 scale), padded symmetrically by 5 pixels
    (and to an even square): subtract a Gaussian low-pass with transfer function
    ``exp(-(fx^2 + fy^2) / s^2)``, ``s = cutoff / sqrt(ln 2)``, then divide by 0.2 plus the
    square root of the same low-pass of the squared result; crop the padding. Returns
    float64 of the input's shape.
    """
    pad = _GIST_PREFILTER_PAD
    logged = np.log(np.asarray(image, np.float64) + 1.0)
    padded = np.pad(logged, pad, mode="symmetric")
    rows, cols = padded.shape
    side = max(rows, cols)
    side += side % 2
    padded = np.pad(padded, ((0, side - rows), (0, side - cols)), mode="symmetric")
    fx, fy = _frequencies(side)
    s = cutoff / math.sqrt(math.log(2.0))
    lowpass = np.exp(-(fx**2 + fy**2) / s**2)
    whitened = padded - np.fft.ifft2(np.fft.fft2(padded) * lowpass).real
    local_std = np.sqrt(np.abs(np.fft.ifft2(np.fft.fft2(whitened**2) * lowpass)))
    normalised = whitened / (_GIST_CONTRAST_FLOOR + local_std)
    return normalised[pad : rows - pad, pad : cols - pad]


def gabor_bank(size: int, orientations: tuple[int, ...] = GIST_ORIENTATIONS) -> np.ndarray:
    """LMgist's ``createGabor``: transfer functions of the Gabor filters, (K, size, size).

    Filter k at scale s (0 finest) and orientation j of n: ``exp(-10 a (fr / size / f_s -
    1)^2 - 2 b pi t^2)`` with ``a = 0.35``, centre frequency ``f_s = 0.3 / 1.85^s`` cycles
    per pixel, ``b = 16 n^2 / 32^2``, fr the radial frequency and t the frequency's angle
    plus ``pi j / n``, wrapped to [-pi, pi]. In FFT order (zero frequency at [0, 0]),
    float64; one-sided, so the filtered image is complex and its modulus is the energy.
    """
    fx, fy = _frequencies(size)
    radius = np.hypot(fx, fy)
    angle = np.arctan2(fy, fx)
    filters = []
    for scale, count in enumerate(orientations):
        centre = 0.3 / 1.85**scale
        spread = 16.0 * count**2 / 32.0**2
        for j in range(count):
            turned = angle + math.pi / count * j
            turned = turned + 2 * math.pi * (turned < -math.pi) - 2 * math.pi * (turned > math.pi)
            filters.append(np.exp(-10.0 * 0.35 * (radius / size / centre - 1.0) ** 2 - 2.0 * spread * math.pi * turned**2))
    return np.stack(filters)


@functools.lru_cache(maxsize=2)
def _shared_bank(size: int) -> np.ndarray:
    """The default bank at ``size``, float32 and read-only: made once (3.3 million
    exponentials at 320 x 320), like a module constant that is built on first use."""
    bank = gabor_bank(size).astype(np.float32)
    bank.flags.writeable = False
    return bank


def gabor_amplitudes(image: np.ndarray, bank: np.ndarray, *, boundary: int = GIST_BOUNDARY) -> np.ndarray:
    """Modulus of every filter's response, (K, H, W) float32 (LMgist's ``gistGabor``).

    Computed in single precision (complex64 transforms).

    The (H, W) image is padded symmetrically by ``boundary`` pixels to the bank's size,
    filtered in the frequency domain (a circular convolution of the padded image) and
    cropped back.
    """
    import scipy.fft

    height, width = image.shape
    padded = np.pad(np.asarray(image, np.float32), boundary, mode="symmetric")
    if padded.shape != bank.shape[1:]:
        raise ValueError(f"a {height}x{width} image padded by {boundary} is {padded.shape}, the filters are {bank.shape[1:]}")
    spectrum = scipy.fft.fft2(padded)
    responses = scipy.fft.ifft2(spectrum[None] * bank.astype(np.float32, copy=False), axes=(-2, -1), workers=-1)
    return np.abs(responses[:, boundary : boundary + height, boundary : boundary + width])


def _block_means(amplitudes: np.ndarray, blocks: int) -> np.ndarray:
    """Means over a blocks x blocks grid of every (H, W) map, LMgist's ``downN`` bounds."""
    count, height, width = amplitudes.shape
    if height % blocks == 0 and width % blocks == 0:
        cells = amplitudes.reshape(count, blocks, height // blocks, blocks, width // blocks)
        return cells.sum(axis=(2, 4), dtype=np.float64) / ((height // blocks) * (width // blocks))
    rows = np.fix(np.linspace(0, height, blocks + 1)).astype(int)
    cols = np.fix(np.linspace(0, width, blocks + 1)).astype(int)
    sums = np.add.reduceat(np.add.reduceat(amplitudes.astype(np.float64), rows[:-1], axis=1), cols[:-1], axis=2)
    counts = np.diff(rows)[:, None] * np.diff(cols)[None, :]
    return sums / counts


def _square_crop(gray: np.ndarray, size: int) -> np.ndarray:
    """The central square of ``gray``, resized to ``size`` x ``size`` (area averaging).

    The region of LMgist's ``imresizecrop`` (scale the shorter side to ``size``, crop the
    centre), cropped before resizing so that a long thin image is never enlarged whole.
    """
    import cv2

    height, width = gray.shape
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = np.ascontiguousarray(gray[top : top + side, left : left + side], np.float64)
    if side == size:
        return square
    return cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)


def gist_descriptor(gray: np.ndarray, *, size: int = GIST_SIZE) -> np.ndarray:
    """The GIST of an (H, W) grey image in [0, 1]: (32 * GIST_BLOCKS^2,) = (512,) float64.

    Resize and centre-crop to ``size`` x ``size``, scale to 0..255, prefilter
    (:func:`gist_prefilter`), take the moduli of the Gabor responses (:func:`gabor_bank`,
    padded by :data:`GIST_BOUNDARY`) and average each over a 4 x 4 grid: filter-major,
    then grid rows, then grid columns. A flat image has no texture: its descriptor is zero
    (computed, resampling ripples of 1e-8 would be raised into one by the prefilter's
    contrast normalisation).
    """
    if gray.size == 0 or gray.min() == gray.max():
        return np.zeros(sum(GIST_ORIENTATIONS) * GIST_BLOCKS**2)
    square = _square_crop(gray, size) * 255.0
    prefiltered = gist_prefilter(square)
    bank = _shared_bank(size + 2 * GIST_BOUNDARY)
    return _block_means(gabor_amplitudes(prefiltered, bank), GIST_BLOCKS).reshape(-1)


def _unit_gist(features: Features) -> np.ndarray:
    def compute(f: Features) -> np.ndarray:
        descriptor = gist_descriptor(f.luma)
        norm = float(np.linalg.norm(descriptor))
        return descriptor / norm if norm > 0 else descriptor

    return features.memo("gist_unit", compute)


@register(
    "gist",
    kind="distance",
    lower=0.0,
    upper=math.sqrt(2.0),
    identical=0.0,
    summary="Euclidean distance of unit-length GIST descriptors: 32 Gabor filter energies "
    "(4 scales x 8 orientations) on a 4x4 grid of the prefiltered 256x256 luminance",
    reference="Oliva, Torralba 2001, 'Modeling the shape of the scene'; parameters of Torralba's LMgist",
    masked=False,
)
def gist_distance(pair: FeaturePair, options: MetricOptions) -> float:
    """``||g_A / |g_A| - g_B / |g_B| ||_2`` of the two GIST descriptors.

    The descriptors are computed on imgdelta's BT.601 luminance (LMgist averages R, G and
    B). The energies are never negative, so unit descriptors lie in one orthant and the
    distance is at most sqrt(2); a flat image has a zero descriptor, at distance 1 from any
    textured one and 0 from another flat one.
    """
    return float(np.linalg.norm(_unit_gist(pair.a) - _unit_gist(pair.b)))


# ---------------------------------------------------------------------------------------
# centrist: Wu and Rehg 2011

#: One bin per census code.
CENTRIST_BINS = 256

#: Images with this many interior pixels or more are transformed with OpenCV (5x faster).
_CENSUS_OPENCV_FROM = 1024

#: Neighbours in the order their bits are written, most significant first: the row above
#: left to right, then left and right, then the row below.
_CENSUS_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def census_transform(gray8: np.ndarray) -> np.ndarray:
    """8-neighbour census transform of an (H, W) uint8 image: (H - 2, W - 2) uint8 codes.

    A pixel's bit for a neighbour is 1 when the pixel is greater than or equal to that
    neighbour; bits run from the top-left neighbour (most significant) to the bottom-right,
    row by row (Wu and Rehg's Figure 2: the centre 64 of ``[[32, 64, 96], [32, 64, 96],
    [32, 32, 96]]`` gives 11010110 = 214). Border pixels, which lack neighbours, have no code.
    """
    import cv2

    height, width = gray8.shape
    if height < 3 or width < 3:
        return np.zeros((max(height - 2, 0), max(width - 2, 0)), np.uint8)
    centre = gray8[1:-1, 1:-1]
    codes = np.zeros(centre.shape, np.uint8)
    # OpenCV reads arrays of up to four elements as scalars: small images go through NumPy
    fast = centre.size >= _CENSUS_OPENCV_FROM
    for bit, (dy, dx) in zip(range(7, -1, -1), _CENSUS_NEIGHBOURS):
        neighbour = gray8[1 + dy : height - 1 + dy, 1 + dx : width - 1 + dx]
        if fast:
            at_least = cv2.compare(centre, neighbour, cv2.CMP_GE)  # 255 or 0
            cv2.bitwise_and(at_least, 1 << bit, dst=at_least)
            cv2.bitwise_or(codes, at_least, dst=codes)
        else:
            codes |= (centre >= neighbour).astype(np.uint8) << np.uint8(bit)
    return codes


def census_histogram(gray8: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Counts of the 256 census codes, int64; with a mask, only of pixels whose whole 3x3
    neighbourhood is kept (so a code never looks at an ignored pixel)."""
    codes = census_transform(gray8)
    if mask is not None and codes.size:
        kept = np.ones(codes.shape, bool)
        height, width = mask.shape
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                kept &= mask[1 + dy : height - 1 + dy, 1 + dx : width - 1 + dx]
        codes = codes[kept]
    return np.bincount(codes.reshape(-1), minlength=CENTRIST_BINS).astype(np.int64)


def chi_square_distance(counts_a: np.ndarray, counts_b: np.ndarray) -> float:
    """``1/2 sum (p - q)^2 / (p + q)`` over bins where p + q > 0, of the normalised
    histograms p and q: 0 for equal ones, 1 for disjoint ones; 0 when both are empty."""
    total_a, total_b = float(counts_a.sum()), float(counts_b.sum())
    if total_a == 0 or total_b == 0:
        return 0.0 if total_a == total_b else 1.0
    p, q = counts_a / total_a, counts_b / total_b
    both = p + q
    used = both > 0
    # disjoint histograms sum to 1 up to rounding, which may land a hair above it
    return min(float(0.5 * np.sum((p[used] - q[used]) ** 2 / both[used])), 1.0)


@register(
    "centrist",
    kind="distance",
    lower=0.0,
    upper=1.0,
    identical=0.0,
    summary="chi-square distance of the 256-bin census transform histograms of the 8-bit luminance",
    reference="Wu, Rehg 2011, 'CENTRIST: a visual descriptor for scene categorization'",
)
def centrist_distance(pair: FeaturePair, options: MetricOptions) -> float:
    """Chi-square distance of the census-code histograms, over the kept pixels.

    Images under 3 x 3 pixels (or a mask that keeps no whole 3 x 3 neighbourhood) have no
    code to compare: the distance is then 0.
    """
    if pair.mask is None:
        counts_a = pair.a.memo("census_histogram", lambda f: census_histogram(f.luma8))
        counts_b = pair.b.memo("census_histogram", lambda f: census_histogram(f.luma8))
    else:
        counts_a = census_histogram(pair.a.luma8, pair.mask)
        counts_b = census_histogram(pair.b.luma8, pair.mask)
    return chi_square_distance(counts_a, counts_b)
