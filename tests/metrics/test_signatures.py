"""Signatures and descriptors: wavelet, gist and centrist against their papers' formulas.

No reference implementation of these exists in Python, so each is checked against its
paper's definition on cases small enough to work out by hand, against independent
computations of its parts (PyWavelets for the Haar transform, OpenCV's filter2D for every
Gabor filter), and for the invariances a descriptor promises.
"""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

import imgdelta
from imgdelta import ChangeDetector, DetectorSettings
from imgdelta.cli.main import main
from imgdelta.features import Features, FeaturePair
from imgdelta.metrics import MetricOptions, get_metric
from imgdelta.metrics.signatures import (
    WAVELET_MAX,
    WAVELET_WEIGHTS,
    census_histogram,
    census_transform,
    chi_square_distance,
    gabor_amplitudes,
    gabor_bank,
    gist_descriptor,
    gist_prefilter,
    haar_decompose,
    haar_signature,
    wavelet_score,
)

from testdata import jpeg_roundtrip, photo

SIGNATURES = ("wavelet", "gist", "centrist", "colorhash")


def _float(image: np.ndarray) -> np.ndarray:
    pixels = image.astype(np.float32) / 255.0
    return pixels[:, :, None] if pixels.ndim == 2 else pixels


def _measure(name: str, a: np.ndarray, b: np.ndarray) -> float:
    return get_metric(name).compute(FeaturePair(Features(_float(a)), Features(_float(b))), MetricOptions())


@pytest.fixture(scope="module")
def scenes() -> dict[str, np.ndarray]:
    return {
        "coffee": photo("coffee")[:256, :384],
        "coffee_jpeg": jpeg_roundtrip(photo("coffee")[:256, :384], 35),
        "chelsea": photo("chelsea")[:256, :384],
        "astronaut": photo("astronaut")[:256, :384],
    }


# ---------------------------------------------------------------------------------------
# wavelet


def test_haar_decomposition_of_a_4x4_image_by_hand():
    """Jacobs et al. 1995, DecomposeArray by hand on [a, b, c, d]: a/2 ..., then pair sums
    and differences over sqrt(2), twice: [(a+b+c+d)/4, (a+b-c-d)/4, (a-b)/(2 sqrt 2),
    (c-d)/(2 sqrt 2)]. DecomposeImage applies it to every row, then every column: T = M X M^T.
    """
    r2 = 2 * math.sqrt(2)
    m = np.array([[1 / 4, 1 / 4, 1 / 4, 1 / 4], [1 / 4, 1 / 4, -1 / 4, -1 / 4], [1 / r2, -1 / r2, 0, 0], [0, 0, 1 / r2, -1 / r2]])
    x = np.array([[9.0, 3, 0, 4], [1, 7, 2, 2], [5, 5, 8, 0], [6, 1, 3, 3]])
    np.testing.assert_allclose(haar_decompose(x), m @ x @ m.T, rtol=0, atol=1e-12)
    # a bright top-left quadrant: the mean and the three coarsest details, all 1/4
    quadrant = np.zeros((4, 4))
    quadrant[:2, :2] = 1.0
    expected = np.zeros((4, 4))
    expected[:2, :2] = 0.25
    np.testing.assert_allclose(haar_decompose(quadrant), expected, atol=1e-15)


def test_haar_decomposition_equals_pywavelets():
    """The standard decomposition is PyWavelets' full 1-D Haar ``wavedec`` along rows, then
    along columns (coarsest first); the paper's normalisation divides it by the side r. The
    2 x 2 corner is also ``wavedec2``'s coarsest level (cA, cV, cH, cD) over r."""
    import pywt

    rng = np.random.default_rng(4)
    for size in (8, 128):
        x = rng.random((size, size))
        rows = np.concatenate(pywt.wavedec(x, "haar", axis=1), axis=1)
        standard = np.concatenate(pywt.wavedec(rows, "haar", axis=0), axis=0)
        ours = haar_decompose(x)
        np.testing.assert_allclose(ours, standard / size, rtol=0, atol=1e-12)
        coarsest = pywt.wavedec2(x, "haar")
        ca, (ch, cv, cd) = coarsest[0], coarsest[1]
        np.testing.assert_allclose(ours[:2, :2] * size, [[ca[0, 0], cv[0, 0]], [ch[0, 0], cd[0, 0]]], atol=1e-10)


def _quadrant(top: bool, left: bool, value: float = 0.8, offset: float = 0.0) -> np.ndarray:
    image = np.full((4, 4, 1), offset)
    rows = slice(0, 2) if top else slice(2, 4)
    cols = slice(0, 2) if left else slice(2, 4)
    image[rows, cols] += value
    return image


def test_signature_and_score_by_hand():
    """Jacobs et al. 1995, eq. 3, on 4 x 4 grey images keeping m = 2 coefficients.

    A bright (0.8) top-left quadrant decomposes to 0.2 at (0,0), (0,1), (1,0), (1,1): with
    ties broken in row-major order its signature keeps (0,1) and (1,0), both +1. The top-right
    quadrant has -0.2 at (0,1) and (1,1), +0.2 at (1,0): it keeps (0,1) -1 and (1,0) +1. Each
    misses the other's (0,1), of bin min(max(0,1), 5) = 1: weight w_Y[1] = 0.83 either way.
    Adding 0.1 everywhere changes only the average: + w_Y[0] * 0.1 = 0.5.
    """
    q1 = haar_signature(_quadrant(True, True), size=4, coefficients=2)
    q2 = haar_signature(_quadrant(True, False), size=4, coefficients=2)
    np.testing.assert_allclose(q1.average, [0.2, 0, 0], atol=1e-15)
    assert np.argwhere(q1.signs[0]).tolist() == [[0, 1], [1, 0]] and q1.signs[0, 0, 1] == q1.signs[0, 1, 0] == 1
    assert q2.signs[0, 0, 1] == -1 and q2.signs[0, 1, 0] == 1 and np.count_nonzero(q2.signs) == 2
    assert not q1.signs[1:].any()  # grey: I and Q are zero, nothing kept
    assert wavelet_score(q1, q2) == pytest.approx(0.83, abs=1e-12)
    assert wavelet_score(q2, q1) == pytest.approx(0.83, abs=1e-12)
    brighter = haar_signature(_quadrant(True, False, offset=0.1), size=4, coefficients=2)
    assert wavelet_score(q1, brighter) == pytest.approx(5.00 * 0.1 + 0.83, abs=1e-12)
    assert wavelet_score(q1, q1) == 0.0


def test_average_colour_term_by_hand():
    """Flat images have no coefficient: the score is the weighted YIQ difference alone. Pure
    red (Y, I, Q) = (0.299, 0.596, 0.211) against black: 5.00*0.299 + 19.21*0.596 + 34.37*0.211."""
    red = np.zeros((40, 60, 3), np.uint8)
    red[:, :, 0] = 255
    expected = 5.00 * 0.299 + 19.21 * 0.596 + 34.37 * 0.211
    assert _measure("wavelet", red, np.zeros_like(red)) == pytest.approx(expected, rel=1e-6)
    assert WAVELET_WEIGHTS[0] == (5.00, 19.21, 34.37)


def test_wavelet_ranks_a_recompressed_copy_closer_than_another_scene(scenes):
    near = _measure("wavelet", scenes["coffee"], scenes["coffee_jpeg"])
    far = _measure("wavelet", scenes["coffee"], scenes["chelsea"])
    assert 0 < near < far / 4 and far < WAVELET_MAX


# ---------------------------------------------------------------------------------------
# gist


def test_gabor_transfer_functions_by_hand():
    """LMgist's createGabor: filter 0 (finest scale, orientation 0) peaks, at 1, on the
    positive x frequency 0.3 * n; half that frequency gives exp(-10 * 0.35 * 0.5^2). Filter 2
    is turned by 2 * pi / 8: at the same point its angle term is exp(-2 pi (pi/4)^2)."""
    n = 320
    bank = gabor_bank(n)
    assert bank.shape == (32, n, n)
    assert bank[0, 0, 96] == pytest.approx(1.0, abs=1e-12)
    assert bank[0, 0, 48] == pytest.approx(math.exp(-10 * 0.35 * 0.25), rel=1e-12)
    assert bank[2, 0, 96] == pytest.approx(math.exp(-2 * math.pi * (math.pi / 4) ** 2), rel=1e-12)
    # scale 1 peaks at 0.3 / 1.85 cycles per pixel
    assert bank[8, 0, round(0.3 / 1.85 * n)] > 0.99


def test_every_gabor_response_equals_a_direct_filter2d():
    """Each filter's response modulus against OpenCV's filter2D with the filter's spatial
    kernel (the inverse DFT of its transfer function): the symmetric-padded image convolved
    circularly (tiled 3 x 3), then cropped, as LMgist's gistGabor does in the frequency domain."""
    rng = np.random.default_rng(21)
    image = rng.random((24, 24))
    boundary, n = 8, 40
    bank = gabor_bank(n)
    ours = gabor_amplitudes(image, bank, boundary=boundary)
    padded = np.pad(image, boundary, mode="symmetric")
    tiled = np.tile(padded, (3, 3))
    anchor = (n - n // 2 - 1, n - n // 2 - 1)
    for k in range(bank.shape[0]):
        kernel = np.fft.fftshift(np.fft.ifft2(bank[k]))  # spatial origin at (n/2, n/2)
        flipped = kernel[::-1, ::-1]
        real = cv2.filter2D(tiled, cv2.CV_64F, np.ascontiguousarray(flipped.real), anchor=anchor, borderType=cv2.BORDER_REFLECT)
        imag = cv2.filter2D(tiled, cv2.CV_64F, np.ascontiguousarray(flipped.imag), anchor=anchor, borderType=cv2.BORDER_REFLECT)
        direct = np.hypot(real, imag)[n + boundary : n + boundary + 24, n + boundary : n + boundary + 24]
        np.testing.assert_allclose(ours[k], direct, rtol=0, atol=2e-5 * direct.max(), err_msg=f"filter {k}")


def test_prefilter_and_descriptor_shape():
    flat = np.full((64, 64), 128.0)
    assert np.abs(gist_prefilter(flat)).max() < 1e-9  # nothing to whiten or normalise
    rng = np.random.default_rng(2)
    out = gist_prefilter(rng.random((50, 70)) * 255)
    assert out.shape == (50, 70) and abs(out.mean()) < 0.1 * out.std()
    descriptor = gist_descriptor(photo("camera") / 255.0)
    assert descriptor.shape == (512,) and (descriptor >= 0).all() and descriptor.max() > 0
    assert not gist_descriptor(np.full((30, 50), 0.5)).any()


def test_gist_invariances(scenes):
    """Identical: 0; the same scene shrunk to half and enlarged again (its fine detail
    lost): close; another scene: far. A flat image is at 1 from any textured one."""
    a = scenes["coffee"]
    blurred = cv2.resize(cv2.resize(a, (192, 128), interpolation=cv2.INTER_AREA), (384, 256), interpolation=cv2.INTER_LINEAR)
    assert _measure("gist", a, a.copy()) == 0.0
    near = _measure("gist", a, blurred)
    far = _measure("gist", a, scenes["astronaut"])
    assert 0 < near < far / 2 and far < math.sqrt(2)
    # the descriptor of a half-size copy (resized to 256 inside) is close to the original's
    full, half = gist_descriptor(photo("camera") / 255.0), gist_descriptor(cv2.resize(photo("camera"), (256, 256), interpolation=cv2.INTER_AREA) / 255.0)
    other = gist_descriptor(photo("moon") / 255.0)
    unit = lambda d: d / np.linalg.norm(d)  # noqa: E731
    assert np.linalg.norm(unit(full) - unit(half)) < np.linalg.norm(unit(full) - unit(other)) / 4
    flat = np.full((40, 40, 3), 90, np.uint8)
    assert _measure("gist", flat, a[:40, :40]) == pytest.approx(1.0, abs=1e-12)
    assert _measure("gist", flat, np.full_like(flat, 200)) == 0.0


# ---------------------------------------------------------------------------------------
# centrist


def test_census_transform_of_the_papers_example():
    """Wu and Rehg 2011, Figure 2: the centre 64 is >= 32, 64, 32, 32, 32 and < 96 three
    times; read row by row from the top left, 11010110 = 214."""
    patch = np.array([[32, 64, 96], [32, 64, 96], [32, 32, 96]], np.uint8)
    assert census_transform(patch).tolist() == [[214]]


def test_census_transform_of_a_5x5_by_hand():
    """Each interior pixel against its 8 neighbours (1 when the pixel is >= the neighbour),
    worked out by hand: e.g. the centre 5 against 9 1 7 / 3 . 8 / 6 2 4 gives 01010011 = 83."""
    image = np.array(
        [[5, 5, 5, 5, 5], [5, 9, 1, 7, 5], [5, 3, 5, 8, 5], [5, 6, 2, 4, 5], [5, 5, 5, 5, 5]],
        np.uint8,
    )
    assert census_transform(image).tolist() == [[255, 0, 253], [33, 83, 255], [255, 0, 16]]
    assert census_transform(image[:2]).shape == (0, 3)


def _census_by_definition(gray: np.ndarray) -> np.ndarray:
    codes = np.zeros((gray.shape[0] - 2, gray.shape[1] - 2), np.int64)
    for y in range(1, gray.shape[0] - 1):
        for x in range(1, gray.shape[1] - 1):
            window = gray[y - 1 : y + 2, x - 1 : x + 2].ravel()
            bits = [int(gray[y, x] >= v) for i, v in enumerate(window) if i != 4]
            codes[y - 1, x - 1] = int("".join(map(str, bits)), 2)
    return codes


def test_histogram_distance_against_numpy(scenes):
    """The chi-square distance, 1/2 sum (p - q)^2 / (p + q) over used bins of the normalised
    code histograms, computed here with NumPy from codes of the definition (pixel by pixel)."""
    rng = np.random.default_rng(8)
    for shape in ((14, 17), (3, 40), (40, 70)):  # NumPy below 1024 interior pixels, OpenCV above
        small = rng.integers(0, 256, shape, dtype=np.uint8)
        np.testing.assert_array_equal(census_transform(small), _census_by_definition(small))
    a, b = scenes["coffee"], scenes["chelsea"]
    luma = lambda img: imgdelta.load_image(img).pixels  # noqa: E731
    la = (Features(luma(a)).luma8, Features(luma(b)).luma8)
    p, q = (np.bincount(census_transform(g).ravel(), minlength=256) / ((g.shape[0] - 2) * (g.shape[1] - 2)) for g in la)
    used = (p + q) > 0
    expected = 0.5 * np.sum((p[used] - q[used]) ** 2 / (p[used] + q[used]))
    assert _measure("centrist", a, b) == pytest.approx(expected, rel=1e-12)
    assert chi_square_distance(np.array([3, 0]), np.array([0, 5])) == 1.0
    assert chi_square_distance(np.zeros(4), np.zeros(4)) == 0.0


def test_centrist_counts_only_codes_of_kept_pixels():
    """With a mask, a code counts when its whole 3 x 3 neighbourhood is kept."""
    rng = np.random.default_rng(9)
    gray = rng.integers(0, 256, (12, 15), dtype=np.uint8)
    mask = np.ones(gray.shape, bool)
    mask[3:6, 4:9] = False
    codes = _census_by_definition(gray)
    kept = [codes[y - 1, x - 1] for y in range(1, 11) for x in range(1, 14) if mask[y - 1 : y + 2, x - 1 : x + 2].all()]
    np.testing.assert_array_equal(census_histogram(gray, mask), np.bincount(kept, minlength=256))
    b = gray.copy()
    b[3:6, 4:9] = 255 - b[3:6, 4:9]
    pair = FeaturePair(Features(_float(gray)), Features(_float(b)), mask)
    assert get_metric("centrist").compute(pair, MetricOptions()) == 0.0
    assert get_metric("centrist").compute(FeaturePair(pair.a, pair.b), MetricOptions()) > 0


def test_centrist_on_images_without_interior_pixels():
    assert _measure("centrist", np.zeros((2, 5), np.uint8), np.full((2, 5), 255, np.uint8)) == 0.0


# ---------------------------------------------------------------------------------------
# through compare, the command line and the filter


def test_each_through_compare_json(scenes, tmp_path, capsys):
    from PIL import Image

    a, b = scenes["coffee"], scenes["chelsea"]
    Image.fromarray(a).save(tmp_path / "a.png")
    Image.fromarray(b).save(tmp_path / "b.png")
    assert main(["compare", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--metric", ",".join(SIGNATURES), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)["metrics"]
    assert list(printed) == list(SIGNATURES)
    for name in SIGNATURES:
        assert printed[name] == pytest.approx(_measure(name, a, b), rel=1e-12), name
        assert 0 < printed[name] <= get_metric(name).upper


def test_wavelet_as_the_filters_metric(scenes):
    """The filter decides on luminance at its analysis size: a re-encoded frame stays under
    a threshold that another scene exceeds."""
    a, jpeg, other = scenes["coffee"], scenes["coffee_jpeg"], scenes["chelsea"]
    detector = ChangeDetector(DetectorSettings(metric="wavelet", threshold=4.0))
    decisions = [detector.update(frame) for frame in (a, jpeg, other)]
    assert [d.keep for d in decisions] == [True, False, True]
    assert decisions[1].scores["wavelet"] < 4.0 < decisions[2].scores["wavelet"]
