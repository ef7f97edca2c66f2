"""The image-quality family against sewar 0.4.10 on real photos, and against the papers'
formulas where sewar's result is not the paper's definition.

References (test-only dependencies): sewar 0.4.10 ``sewar.full_ref`` (``msssim``, ``ssim``,
``uqi``, ``vifp``, ``psnrb``, ``scc``, ``sam``, ``ergas``, ``rase``), SciPy's ``ndimage``
filters. Photos: scikit-image's astronaut, coffee, chelsea (colour) and camera (gray),
cropped to 176 x 208 (room for MS-SSIM's five scales), each with five distortions.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

import imgdelta
from imgdelta import Preprocess
from imgdelta.cli.main import main
from imgdelta.decide.change import ChangeDetector, DetectorSettings
from imgdelta.metrics import available_metrics

from testdata import SEED, jpeg_roundtrip, photo

QUALITY = ["ms_ssim", "uqi", "vif", "psnr_b", "scc", "sam", "ergas", "rase"]
LUMA = np.array([0.299, 0.587, 0.114])


def _distortions(image: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    import cv2

    h, w = image.shape[:2]
    patched = image.copy()
    patched[h // 3 : h // 3 + h // 5, w // 4 : w // 4 + w // 4] = image[: h // 5, : w // 4][::-1]
    return {
        "noise": np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8),
        "jpeg": jpeg_roundtrip(image, 40),
        "blur": cv2.GaussianBlur(image, (0, 0), 1.2),
        "patch": patched,
        "bright": np.clip(image * 1.1 + 5, 0, 255).astype(np.uint8),
    }


@pytest.fixture(scope="module")
def pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(SEED)
    out = []
    corners = {"astronaut": (30, 120), "coffee": (100, 200), "chelsea": (60, 120), "camera": (60, 150)}
    for name, (top, left) in corners.items():
        image = np.ascontiguousarray(photo(name)[top : top + 176, left : left + 208])
        out += [(f"{name}-{label}", image, other) for label, other in _distortions(image, rng).items()]
    return out


def _ours(a: np.ndarray, b: np.ndarray, name: str, **kwargs) -> float:
    return imgdelta.compare(a, b, metrics=[name], **kwargs).metrics[name]


def test_the_records_say_what_the_numbers_mean():
    records = available_metrics()
    similar = {"ms_ssim", "uqi", "vif", "psnr_b", "scc"}
    for name in QUALITY:
        assert records[name].kind == ("similarity" if name in similar else "distance")
    # the reference image plays its own part in these: swapping changes the value
    assert {n for n in QUALITY if not records[n].symmetric} == {"vif", "psnr_b", "ergas", "rase"}
    assert {n for n in QUALITY if not records[n].masked} == {"ms_ssim", "vif", "psnr_b"}
    assert records["psnr_b"].identical == math.inf and records["psnr_b"].unit == "dB"
    assert records["sam"].unit == "radians" and records["sam"].upper == pytest.approx(math.pi / 2)


def _black_windows_lit(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether an 8 x 8 window that RASE averages (sewar's placement and crop of 4) is
    black in every channel of ``a`` and not in ``b``."""
    from scipy.ndimage import uniform_filter

    sums = [uniform_filter(v.reshape(*v.shape[:2], -1).sum(axis=2).astype(np.float64), 8) for v in (a, b)]
    inner = (slice(4, -4), slice(4, -4))
    return bool(np.any((sums[0][inner] < 1e-6) & (sums[1][inner] > 1e-6)))


@pytest.mark.parametrize("name", ["ergas", "rase"])
def test_band_metrics_equal_sewar(name, pairs):
    """sewar.full_ref.ergas (r = 1/4), rase (8 x 8 windows) on 8-bit photos, black windows
    of the first image included (they count 0 in both)."""
    from sewar import full_ref

    reference = getattr(full_ref, name)
    for label, a, b in pairs:
        assert _ours(a, b, name) == pytest.approx(reference(a, b), rel=1e-6), label


def test_sam_equals_sewar_but_for_black_pixels(pairs):
    """sewar.full_ref.sam (radians) averages the pixels lit in both images; imgdelta also
    counts a pixel black in one image only, as a right angle, so on photos with black
    pixels that noise or JPEG lights (astronaut) the values differ by exactly that."""
    from sewar.full_ref import sam

    differing = 0
    for label, a, b in pairs:
        if a.ndim == 2:
            continue
        lit_a, lit_b = a.any(axis=2), b.any(axis=2)
        both, one = np.count_nonzero(lit_a & lit_b), np.count_nonzero(lit_a != lit_b)
        expected = (sam(a, b) * both + math.pi / 2 * one) / (both + one)
        assert _ours(a, b, "sam") == pytest.approx(expected, rel=1e-6), label
        differing += one > 0
    assert differing >= 2


def test_vif_equals_sewar_vifp(pairs):
    """sewar.full_ref.vifp (sigma_n^2 = 2, four scales; per channel, then the mean).

    Sheikh and Bovik 2006, "Image information and visual quality", pixel domain.
    """
    from sewar.full_ref import vifp

    for label, a, b in pairs[::2]:
        assert _ours(a, b, "vif") == pytest.approx(vifp(a, b), rel=1e-6), label


def test_vif_of_a_flat_reference():
    """0 / 0 in the paper's ratio (NaN in sewar): 0 unless the images are identical."""
    flat = np.full((48, 48, 3), 120, np.uint8)
    noisy = np.clip(flat + np.random.default_rng(SEED).normal(0, 10, flat.shape), 0, 255).astype(np.uint8)
    assert _ours(flat, noisy, "vif") == 0.0
    assert _ours(flat, flat.copy(), "vif") == 1.0
    # a flat channel beside detailed ones counts 0 in the mean of the channels
    image = photo("coffee")[:64, :64].copy()
    image[:, :, 2] = 50
    other = np.clip(image.astype(int) + 3, 0, 255).astype(np.uint8)
    detailed = [_ours(image[:, :, c], other[:, :, c], "vif") for c in (0, 1)]
    assert _ours(image, other, "vif") == pytest.approx((detailed[0] + detailed[1] + 0.0) / 3, rel=1e-9)


def test_ms_ssim_equals_sewar_on_gray_photos(pairs):
    """sewar.full_ref.msssim: five scales, Gaussian 11 x 11, sigma 1.5, K = (0.01, 0.03).

    Wang, Simoncelli and Bovik 2003, "Multiscale structural similarity for image quality
    assessment".
    """
    from sewar.full_ref import msssim

    for label, a, b in pairs:
        if a.ndim == 2:
            assert _ours(a, b, "ms_ssim") == pytest.approx(msssim(a, b), rel=1e-6), label


def test_ms_ssim_on_colour_keeps_channels_apart(pairs, monkeypatch):
    """sewar's downsampling, ``uniform_filter(im, 2)`` on (H, W, C), also averages each
    channel with its neighbour. With that filter restricted to the two image axes, sewar's
    msssim is the per-channel definition imgdelta follows, and the values agree."""
    from sewar import full_ref

    plain = full_ref.uniform_filter

    def image_axes_only(values, size, *args, **kwargs):
        if size == 2 and np.ndim(values) == 3:
            return plain(values, size=(2, 2, 1))
        return plain(values, size, *args, **kwargs)

    colour = [p for p in pairs if p[1].ndim == 3][::2]
    mixed = {label: full_ref.msssim(a, b) for label, a, b in colour}
    monkeypatch.setattr(full_ref, "uniform_filter", image_axes_only)
    differences = []
    for label, a, b in colour:
        ours = _ours(a, b, "ms_ssim")
        assert ours == pytest.approx(full_ref.msssim(a, b), rel=1e-6), label
        differences.append(abs(ours - mixed[label]))
    # the mixing is a real difference, not rounding
    assert max(differences) > 1e-3


def _sewar_scales(a: np.ndarray, b: np.ndarray, scales: int) -> list[tuple[float, float]]:
    """(ssim, cs) at each scale from sewar.full_ref.ssim with msssim's Gaussian window,
    halving by SciPy's 2 x 2 uniform filter and every second pixel, as msssim does."""
    from scipy.ndimage import uniform_filter
    from sewar.full_ref import ssim
    from sewar.utils import Filter

    x, y = a.astype(np.float64), b.astype(np.float64)
    terms = []
    for _ in range(scales):
        terms.append(ssim(x, y, ws=11, MAX=255, fltr_specs=dict(fltr=Filter.GAUSSIAN, sigma=1.5, ws=11)))
        x, y = (uniform_filter(v, 2)[::2, ::2] for v in (x, y))
    return terms


def test_ms_ssim_of_small_images_rescales_the_weights():
    """Fewer scales fit below 176 pixels (sewar's count: floor(log2(side / 11)) + 1);
    their weights are rescaled to sum to 1 (sewar keeps them unscaled), so the formula
    ``prod cs_j^w_j * ssim_M^w_M`` is checked with sewar's per-scale SSIM and CS."""
    weights = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
    rng = np.random.default_rng(SEED)
    a = photo("camera")[100:164, 200:280]
    b = np.clip(a + rng.normal(0, 10, a.shape), 0, 255).astype(np.uint8)
    terms = _sewar_scales(a, b, 3)  # 64 pixels: floor(log2(64 / 11)) + 1 = 3 scales
    w = weights[:3] / weights[:3].sum()
    expected = terms[0][1] ** w[0] * terms[1][1] ** w[1] * terms[2][0] ** w[2]
    assert _ours(a, b, "ms_ssim") == pytest.approx(expected, rel=1e-6)
    # one scale is SSIM with the Gaussian window over the valid windows
    small_a, small_b = a[:20, :30], b[:20, :30]
    assert _ours(small_a, small_b, "ms_ssim") == pytest.approx(_sewar_scales(small_a, small_b, 1)[0][0], rel=1e-6)
    # narrower than the window: measured with mirrored borders, not refused
    assert 0.0 <= _ours(a[:5, :9], b[:5, :9], "ms_ssim") < 1.0


def test_ms_ssim_counts_anti_correlated_structure_as_zero():
    """A negative mean contrast-structure has no real fractional power: it counts as 0,
    as in TensorFlow's tf.image.ssim_multiscale (sewar takes the real part of a complex
    power instead)."""
    from sewar.full_ref import msssim

    a = photo("camera")[100:300, 100:300]
    inverted = 255 - a
    assert min(cs for _, cs in _sewar_scales(a, inverted, 4)) < 0
    assert _ours(a, inverted, "ms_ssim") == 0.0
    assert msssim(a, inverted) != 0.0


def test_uqi_follows_wang_and_bovik(pairs, monkeypatch):
    """Wang and Bovik 2002, "A universal image quality index", with the window sums of
    Wang's reference code. sewar.full_ref.uqi places the windows the same way but feeds
    window means where that code has sums; given sums, its values are the paper's and
    agree with imgdelta's."""
    from sewar import full_ref

    plain = full_ref.uniform_filter
    noisy = next((a, b) for label, a, b in pairs if label == "camera-noise")
    unchanged = full_ref.uqi(*noisy)

    def window_sums(values, size, *args, **kwargs):
        return plain(values, size, *args, **kwargs) * size**2

    monkeypatch.setattr(full_ref, "uniform_filter", window_sums)
    for label, a, b in pairs:
        ours = _ours(a, b, "uqi")
        assert ours == pytest.approx(full_ref.uqi(a, b), rel=1e-6), label
    # the difference is not small: sewar's means pull the index of a noisy photo towards 1
    assert unchanged - _ours(*noisy, "uqi") > 0.3


def test_uqi_of_one_window_by_hand():
    """A 9 x 9 image keeps one window, rows and columns 0..7 (sewar's crop of 4 a side).

    For ``y = x + c`` the structure term is 1 and Q is the luminance term
    ``2 mu_x mu_y / (mu_x^2 + mu_y^2)``; for ``y = k - x`` the structure term is -1.
    """
    x = (np.add.outer(np.arange(9), 2 * np.arange(9)) * 3 + 20).astype(np.uint8)  # 20..92
    mu = x[:8, :8].mean()
    # rel 1e-7: the pixels are stored as float32 on [0, 1]
    assert _ours(x, x + 50, "uqi") == pytest.approx(2 * mu * (mu + 50) / (mu**2 + (mu + 50) ** 2), rel=1e-7)
    assert _ours(x, 200 - x, "uqi") == pytest.approx(-2 * mu * (200 - mu) / (mu**2 + (200 - mu) ** 2), rel=1e-7)
    # both windows flat: the luminance term alone (Wang's code), 1 if both are black
    flat = np.full((9, 9), 80, np.uint8)
    assert _ours(flat, flat + 40, "uqi") == pytest.approx(2 * 80 * 120 / (80**2 + 120**2), rel=1e-7)
    assert _ours(np.zeros((9, 9), np.uint8), np.zeros((9, 9), np.uint8), "uqi") == 1.0


def test_uqi_of_8bit_levels_equals_uqi_of_16bit_moments(pairs):
    """UQI is unchanged when both images are scaled alike, so the same photos as 16-bit
    data (each level times 256, off the 8-bit grid) must give the 8-bit value. 8-bit
    data is measured on exact integer window sums and other data on float64 moments, so
    this checks one computation against the other, flat and black windows included."""
    rng = np.random.default_rng(SEED)
    black = np.zeros((40, 48, 3), np.uint8)
    black[12:30, 10:40] = rng.integers(0, 256, (18, 30, 3))
    cases = [(label, a, b) for label, a, b in pairs if label.endswith(("noise", "patch"))]
    cases.append(("black-and-flat", black, np.where(black > 0, 200, 0).astype(np.uint8)))
    for label, a, b in cases:
        eight = _ours(a, b, "uqi")
        sixteen = _ours(a.astype(np.uint16) * 256, b.astype(np.uint16) * 256, "uqi", data_range=65535)
        assert eight == pytest.approx(sixteen, abs=1e-7), label

def test_uqi_of_decoder_samples_equals_uqi_of_float_pixels(pairs):
    """uint8 input is measured straight from its samples; the same pixels given as floats
    are found to be 8-bit levels and must give exactly the same index, masked too."""
    from imgdelta.features import FeaturePair, Features
    from imgdelta.metrics import MetricOptions
    from imgdelta.pipeline import measure

    mask = np.ones((176, 208), bool)
    mask[40:90, 60:150] = False
    for label, a, b in pairs[::3]:
        loaded = [imgdelta.load_image(x) for x in (a, b)]
        assert all(image.samples8 is not None for image in loaded)
        for keep in (None, mask):
            from_samples = measure(FeaturePair(*(Features(i.pixels, i.samples8) for i in loaded), keep), ["uqi"], MetricOptions())
            from_floats = measure(FeaturePair(*(Features(i.pixels) for i in loaded), keep), ["uqi"], MetricOptions())
            assert from_samples["uqi"] == from_floats["uqi"], label


def _both_flat_share(a: np.ndarray, b: np.ndarray) -> float:
    """Share of pixels (and channels) whose 8 x 8 window holds no Laplacian detail in
    either image and the same values in both: sewar's window placement, zeros outside
    the image."""
    from scipy.ndimage import correlate, maximum_filter

    kernel = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], np.float64)
    x = a.astype(np.float64).reshape(*a.shape[:2], -1)
    y = b.astype(np.float64).reshape(*b.shape[:2], -1)
    flat = 0
    for c in range(x.shape[2]):
        details = [
            maximum_filter(np.abs(correlate(v[:, :, c], kernel, mode="reflect")), 8, mode="constant") for v in (x, y)
        ]
        equal = maximum_filter(np.abs(x[:, :, c] - y[:, :, c]), 8, mode="constant") == 0
        flat += np.count_nonzero((details[0] == 0) & (details[1] == 0) & equal)
    return flat / x.size


def test_scc_equals_sewar_except_where_both_windows_are_flat(pairs):
    """sewar.full_ref.scc: Laplacian high-pass, 8 x 8 windows with zeros outside the image
    (Zhou, Civco and Silander 1998 correlate the high-passed images). Where both windows
    have no detail and hold the same values sewar counts 0 and imgdelta 1, so the values
    differ by that share."""
    from sewar.full_ref import scc

    for label, a, b in pairs:
        assert _ours(a, b, "scc") == pytest.approx(scc(a, b) + _both_flat_share(a, b), rel=1e-6, abs=1e-7), label
    # a flat region in both images: a large share, and identical images score 1
    a = photo("camera")[:120, :160].copy()
    a[20:90, 30:120] = 128
    b = a.copy()
    b[:20] = np.clip(b[:20] + np.random.default_rng(SEED).normal(0, 8, b[:20].shape), 0, 255).astype(np.uint8)
    share = _both_flat_share(a, b)
    assert share > 0.2
    assert _ours(a, b, "scc") == pytest.approx(scc(a, b) + share, rel=1e-6)
    assert scc(a, a.copy()) < 0.8 and _ours(a, a.copy(), "scc") == 1.0


def test_scc_of_flat_windows_that_differ():
    """The correlation of two flat windows is 0 / 0. Equal windows count as a match (1),
    unequal ones as none (0), as ``ncc`` treats flat images: two flat images of other
    levels (black against white) have nothing in common, not everything."""
    from sewar.full_ref import scc

    black, white = np.zeros((24, 32), np.uint8), np.full((24, 32), 255, np.uint8)
    assert _ours(black, white, "scc") == 0.0
    assert _ours(np.full((24, 32, 3), 100, np.uint8), np.full((24, 32, 3), 150, np.uint8), "scc") == 0.0
    # flat in both, the same inside the flat part and different outside it: the share of
    # equal flat windows counts 1, the rest as sewar counts them
    a = photo("camera")[:120, :160].copy()
    a[20:90, 30:120] = 128
    b = a.copy()
    b[:, 130:] = 255 - b[:, 130:]
    b[60:90, 40:70] = 140  # flat in both, other values
    share = _both_flat_share(a, b)
    assert 0.1 < share < _both_flat_share(a, a)
    assert _ours(a, b, "scc") == pytest.approx(scc(a, b) + share, rel=1e-6)


def _bef_by_hand(y: np.ndarray, block: int, paper_counts: bool) -> float:
    """Yim and Bovik 2011, eqs. for D_B, D_Bc and BEF, written out with Python loops.

    ``paper_counts``: divide by the number of neighbouring pairs summed; otherwise by
    ``N_V * N_H / B - 1``, sewar's count."""
    height, width = y.shape
    boundary = [0.0, 0]
    other = [0.0, 0]
    for i in range(width - 1):
        part = boundary if i % block == block - 1 else other
        part[0] += float(np.sum((y[:, i] - y[:, i + 1]) ** 2))
        part[1] += height
    for j in range(height - 1):
        part = boundary if j % block == block - 1 else other
        part[0] += float(np.sum((y[j] - y[j + 1]) ** 2))
        part[1] += width
    if not paper_counts:
        n_hb, n_vb = height * (width / block) - 1, width * (height / block) - 1
        boundary[1] = n_hb + n_vb
        other[1] = height * (width - 1) - n_hb + width * (height - 1) - n_vb
    d_b, d_bc = boundary[0] / boundary[1], other[0] / other[1]
    eta = math.log2(block) / math.log2(min(height, width)) if d_b > d_bc else 0.0
    return eta * (d_b - d_bc)


def _luma(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64) @ LUMA if image.ndim == 3 else image.astype(np.float64)


def _psnr_b_by_hand(a: np.ndarray, b: np.ndarray, added: bool) -> float:
    """PSNR-B on 8-bit luminance: the paper's ``10 log10(255^2 / (MSE + BEF(B)))``, or with
    ``added`` imgdelta's ``BEF(B) - BEF(A)`` (at least 0) in place of ``BEF(B)``."""
    ya, yb = _luma(a), _luma(b)
    mse = np.mean((ya - yb) ** 2)
    blocking = _bef_by_hand(yb, 8, paper_counts=True)
    if added:
        blocking = max(blocking - _bef_by_hand(ya, 8, paper_counts=True), 0.0)
    return 10 * math.log10(255**2 / (mse + blocking))


def test_psnr_b_follows_yim_and_bovik(pairs):
    """Yim and Bovik 2011: MSE-B = MSE + BEF(test image), PSNR-B = 10 log10(255^2 / MSE-B)
    on luminance (sewar's psnrb wants the Y of YCbCr), BEF on the 8 x 8 grid. imgdelta
    counts the blocking B adds beyond A's, BEF(B) - BEF(A) (at least 0): where A has no
    blocking of its own the value is the paper's.

    imgdelta divides the block-boundary sums by the number of pairs summed (the paper's
    N_V (N_H / B - 1)); sewar divides by N_V N_H / B - 1. The hand-written formula with
    either count gives imgdelta's and sewar's values."""
    from sewar.full_ref import psnrb

    unblocked = 0
    for label, a, b in pairs:
        ya, yb = _luma(a), _luma(b)
        mse = np.mean((ya - yb) ** 2)
        sewars = 10 * math.log10(255**2 / (mse + _bef_by_hand(yb, 8, paper_counts=False)))
        assert sewars == pytest.approx(psnrb(ya, yb, MAX=255), rel=1e-9), label
        ours = _ours(a, b, "psnr_b")
        assert ours == pytest.approx(_psnr_b_by_hand(a, b, added=True), rel=1e-6), label
        if _bef_by_hand(ya, 8, paper_counts=True) == 0.0:
            unblocked += 1
            assert ours == pytest.approx(_psnr_b_by_hand(a, b, added=False), rel=1e-6), label
    assert unblocked >= 10  # the paper's own value is checked on most of the pairs
    # a blocky image where the original has none: the counts matter
    a, b = next((a, b) for label, a, b in pairs if label == "camera-jpeg")
    assert _bef_by_hand(_luma(a), 8, paper_counts=True) == 0.0 < _bef_by_hand(_luma(b), 8, paper_counts=True)
    assert _ours(a, b, "psnr_b") < psnrb(_luma(a), _luma(b), MAX=255) - 0.05


def test_psnr_b_of_identical_images_is_infinite():
    """sewar gives 10 log10(255^2 / BEF) for a blocky image compared with itself;
    identical images have no difference, so imgdelta gives infinity, as for PSNR."""
    from sewar.full_ref import psnrb

    blocky = jpeg_roundtrip(photo("camera")[:128, :128], 10)
    assert math.isfinite(psnrb(blocky, blocky.copy()))
    assert _ours(blocky, blocky.copy(), "psnr_b") == math.inf


@pytest.mark.parametrize("name", ["camera", "astronaut"])
def test_psnr_b_is_continuous_at_identity(name):
    """A change of one level in one pixel of a blocky original (JPEG at quality 10) is no
    longer charged the original's own blocking: the paper's formula gives
    10 log10(1 / BEF(A)), about 28 dB, as soon as anything differs, after infinity for
    identical images; imgdelta stays above 60 dB (PSNR: 90.3 dB) at each of the 64
    places in a block, and equals the formula with BEF(B) - BEF(A) written out by hand.

    Blocking is not additive: a one-level step beside an existing block edge changes
    D_B - D_Bc to first order and the MSE to second, so some places score well below the
    PSNR (the module's docstring gives the figures). Where the original has no blocking
    of its own, a one-level change scores the PSNR of the luminance itself."""
    def one_level(image: np.ndarray, row: int, col: int) -> np.ndarray:
        changed = image.astype(np.int16)
        changed[row, col] += np.where(changed[row, col] < 255, 1, -1)
        return changed.astype(np.uint8)

    blocky = jpeg_roundtrip(np.ascontiguousarray(photo(name)[64:192, 128:256]), 10)
    own = _bef_by_hand(_luma(blocky) / 255, 8, paper_counts=True)
    assert 10 * math.log10(1 / own) < 30
    values = []
    for row in range(56, 64):
        for col in range(56, 64):
            b = one_level(blocky, row, col)
            # float32 luminance: the one-level step is known to about 1e-5 of itself
            expected = _psnr_b_by_hand(blocky, b, added=True)
            assert _ours(blocky, b, "psnr_b") == pytest.approx(expected, abs=1e-3), (row, col)
            values.append(_ours(blocky, b, "psnr_b"))
    psnr = 10 * math.log10(255**2 / (1 / (128 * 128)))  # one level of luminance in one pixel
    assert min(values) > 60 and max(values) <= psnr + 1e-3
    # an original without blocking of its own: exactly the PSNR of the luminance
    clean = np.ascontiguousarray(photo(name)[30:158, 120:248])
    assert _bef_by_hand(_luma(clean), 8, paper_counts=True) == 0.0
    b = one_level(clean, 60, 60)
    luma_psnr = 10 * math.log10(255**2 / np.mean((_luma(clean) - _luma(b)) ** 2))
    assert _ours(clean, b, "psnr_b") == pytest.approx(luma_psnr, abs=1e-3)


def test_psnr_b_charges_added_blocking_not_the_originals():
    """JPEG at quality 10 of a clean original: its blocking is added, and PSNR-B falls
    clearly below the PSNR of the luminance (the paper's value, BEF(A) being 0). The same
    blocky image against itself re-encoded at quality 95 adds next to no blocking: near
    the PSNR, where the paper's formula charges the original's blocking in full."""
    from sewar.full_ref import psnrb

    clean = np.ascontiguousarray(photo("chelsea")[60:188, 120:248])
    blocky = jpeg_roundtrip(clean, 10)
    luma_psnr = 10 * math.log10(255**2 / np.mean((_luma(clean) - _luma(blocky)) ** 2))
    ours = _ours(clean, blocky, "psnr_b")
    assert ours < luma_psnr - 2.0
    assert ours == pytest.approx(_psnr_b_by_hand(clean, blocky, added=False), rel=1e-6)
    again = jpeg_roundtrip(blocky, 95)
    luma_psnr = 10 * math.log10(255**2 / np.mean((_luma(blocky) - _luma(again)) ** 2))
    paper = _psnr_b_by_hand(blocky, again, added=False)
    assert _ours(blocky, again, "psnr_b") > luma_psnr - 0.5 > paper + 5.0
    assert psnrb(_luma(blocky), _luma(again), MAX=255) < luma_psnr - 5.0


def test_sam_conventions():
    """Kruse et al. 1993: the angle between colour vectors. A black pixel has none: against
    a lit one it counts as a right angle (sewar leaves it out), black in both it is left
    out (as in sewar)."""
    from sewar.full_ref import sam

    rng = np.random.default_rng(SEED)
    a = rng.integers(1, 256, (30, 40, 3), dtype=np.uint8)
    b = rng.integers(1, 256, (30, 40, 3), dtype=np.uint8)
    assert _ours(a, b, "sam") == pytest.approx(sam(a, b), rel=1e-6)
    a[:5] = 0  # black in A only: pi/2 each
    b[:5, :10] = 0  # black in both: left out
    both, one = 5 * 10, 5 * 30
    lit = a.shape[0] * a.shape[1] - both - one
    expected = (sam(a, b) * lit + math.pi / 2 * one) / (lit + one)
    assert _ours(a, b, "sam") == pytest.approx(expected, rel=1e-6)
    black = np.zeros_like(a)
    assert math.isnan(sam(black, b)) and _ours(black, b, "sam") == pytest.approx(math.pi / 2)
    assert _ours(black, black.copy(), "sam") == 0.0
    # brightness alone does not turn a colour vector
    assert _ours(a.astype(np.float32) / 255, a.astype(np.float32) / 510, "sam", data_range=1.0) == 0.0
    # one channel: positive values are parallel, black against lit is a right angle
    assert _ours(a[5:, :, 0], b[5:, :, 0], "sam") == 0.0
    assert _ours(a[:, :, 0], b[:, :, 0], "sam") == pytest.approx(math.pi / 2 * one / (lit + one), rel=1e-6)
    assert _ours(black[:, :, 0], np.full((30, 40), 255, np.uint8), "sam") == pytest.approx(math.pi / 2)
    # pure red against pure green: a right angle
    red, green = np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8)
    red[..., 0], green[..., 1] = 200, 90
    assert _ours(red, green, "sam") == pytest.approx(math.pi / 2, rel=1e-7)


def test_ergas_with_a_black_band():
    """Wald 2000: 100 h/l sqrt(mean_k (RMSE_k / mu_k)^2). A band black in the first image
    and not in the second: infinite (sewar too); black in both: 0 (sewar: NaN)."""
    from sewar.full_ref import ergas

    rng = np.random.default_rng(SEED)
    a = rng.integers(1, 256, (20, 30, 3), dtype=np.uint8)
    b = np.clip(a + rng.normal(0, 5, a.shape), 0, 255).astype(np.uint8)
    a[:, :, 2] = 0
    assert _ours(a, b, "ergas") == math.inf
    b[:, :, 2] = 0
    with np.errstate(invalid="ignore", divide="ignore"):
        assert math.isnan(ergas(a, b))
    relative = [np.mean((a[..., k] - b[..., k].astype(float)) ** 2) / a[..., k].mean() ** 2 for k in (0, 1)]
    two_bands = 100 * 0.25 * math.sqrt(sum(relative) / 3)
    assert _ours(a, b, "ergas") == pytest.approx(two_bands, rel=1e-6)


def test_rase_of_a_black_reference():
    """Ranchin and Wald's RASE divides by the reference's mean: no relative error can be
    formed where the first image is black. Such windows count 0, as in sewar; a first image
    black everywhere against another image is infinitely wrong (ERGAS does the same for a
    black band), where sewar gives 0, the value of identical images."""
    from sewar.full_ref import rase

    black, white = np.zeros((24, 32, 3), np.uint8), np.full((24, 32, 3), 255, np.uint8)
    assert rase(black, white) == 0.0
    assert _ours(black, white, "rase") == math.inf
    assert _ours(black[:, :, 0], white[:, :, 0], "rase") == math.inf
    assert _ours(black, black.copy(), "rase") == 0.0
    assert _ours(white, black, "rase") == pytest.approx(100.0)
    a = photo("coffee")[:96, :128].copy()
    a[30:70, 40:90] = 0
    b = np.clip(a + np.random.default_rng(SEED).normal(0, 4, a.shape), 0, 255).astype(np.uint8)
    b[30:70, 40:90] = 0
    assert _ours(a, b, "rase") == pytest.approx(rase(a, b), rel=1e-6)
    before = _ours(a, b, "rase")
    b[50, 60] = 1  # one level inside A's black box: no relative error there
    assert _ours(a, b, "rase") == pytest.approx(before, rel=1e-6) == pytest.approx(rase(a, b), rel=1e-6)


#: Degenerate pairs: a reference black or flat in places, bands or everywhere, colour
#: and single-channel. (label, a, b); every pair differs.
def _degenerate_pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    black = np.zeros((40, 48, 3), np.uint8)
    white = np.full_like(black, 255)
    lit_pixel = black.copy()
    lit_pixel[20, 20] = 1
    boxed = photo("coffee")[:40, :48].copy()
    boxed[8:36, 8:40] = 0
    inside = boxed.copy()
    inside[20:24, 20:28] = 180
    banded = photo("astronaut")[100:140, 100:148].copy()
    banded[:, :, 2] = 0
    lit_band = banded.copy()
    lit_band[:, :, 2] = 40
    flat, other_flat = np.full_like(black, 100), np.full_like(black, 150)
    colour = [
        ("black-white", black, white),
        ("white-black", white, black),
        ("black-one pixel", black, lit_pixel),
        ("flat-other level", flat, other_flat),
        ("black box-changed inside", boxed, inside),
        ("black band-lit", banded, lit_band),
    ]
    gray = [(f"{label} (gray)", a[:, :, 1].copy(), b[:, :, 1].copy()) for label, a, b in colour if "band" not in label]
    return colour + gray


#: Where a metric's identical value on a different pair is its definition, not a fallback:
#: SAM ignores brightness (flat images of two levels point the same way), and VIF counts
#: only information the reference holds (none where it is flat), and RASE has no relative
#: error where the reference is black.
BLIND = {
    ("sam", "flat-other level"),
    ("sam", "flat-other level (gray)"),
    ("rase", "black box-changed inside"),
    ("rase", "black box-changed inside (gray)"),
}


@pytest.mark.parametrize("name", ["rase", "ergas", "sam", "uqi", "scc", "vif", "ms_ssim"])
def test_degenerate_references_never_score_as_identical(name):
    metric = available_metrics()[name]
    for label, a, b in _degenerate_pairs():
        value = _ours(a, b, name)
        assert not math.isnan(value), (label, value)
        assert metric.lower <= value <= metric.upper, (label, value)
        if (name, label) in BLIND:
            assert value == metric.identical, label
        elif name == "vif" and "inside" in label:
            continue  # test_vif_does_not_see_changes_where_the_reference_is_flat
        else:
            assert value != metric.identical, (label, value)
        assert _ours(a, a.copy(), name) == metric.identical, label


def test_vif_does_not_see_changes_where_the_reference_is_flat():
    """Sheikh and Bovik's VIF counts the information the reference holds; a flat region
    holds none, so a change farther inside it than any window reaches costs nothing (as
    in sewar): VIF stays within 1e-9 of 1. The docstring says so."""
    from sewar.full_ref import vifp

    a = photo("coffee")[:200, :200].copy()
    a[50:150, 50:150] = 0
    b = a.copy()
    b[95:105, 95:105] = 200
    ours = _ours(a, b, "vif")
    assert ours == pytest.approx(vifp(a, b), rel=1e-6)
    assert 1 - 1e-9 < ours < 1.0


@pytest.mark.parametrize("name, old_peak", [("vif", 210e6), ("ms_ssim", 34e6)])
def test_vif_and_ms_ssim_work_in_strips(name, old_peak, monkeypatch):
    """Allocations while measuring a 1024 x 768 colour pair with two workers, the images
    themselves (9.4 MB each in float32) already made: whole-image float64 statistics
    took 210 MB for VIF and 34 MB for MS-SSIM (tracemalloc, measured before they worked
    one channel and one strip of rows at a time)."""
    import os
    import tracemalloc

    import cv2

    from imgdelta.features import FeaturePair, Features
    from imgdelta.metrics import MetricOptions

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    a = cv2.resize(photo("chelsea"), (1024, 768), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
    b = np.clip(a + np.random.default_rng(SEED).normal(0, 0.02, a.shape), 0, 1).astype(np.float32)
    pair = FeaturePair(Features(a), Features(b))
    assert not pair.identical
    tracemalloc.start()
    try:
        available_metrics()[name].compute(pair, MetricOptions())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * a.nbytes < old_peak / 1.5


@pytest.mark.parametrize("name", ["sam", "ergas"])
def test_pixelwise_metrics_count_only_kept_pixels(name):
    a = photo("chelsea")[:120, :160]
    b = np.clip(a + np.random.default_rng(SEED).normal(0, 8, a.shape), 0, 255).astype(np.uint8)
    kept_left = _ours(a, b, name, preprocess=Preprocess(ignore=((100, 0, 60, 120),)))
    assert kept_left == pytest.approx(_ours(a[:, :100], b[:, :100], name), rel=1e-9)


@pytest.mark.parametrize("name", ["uqi", "scc", "rase"])
def test_windowed_metrics_ignore_what_the_mask_hides(name):
    """Kept pixels count; ignored pixels of the second image are taken from the first,
    so a change there moves nothing, not even the windows of kept pixels beside it."""
    a = photo("chelsea")[100:260, 100:300]  # no black windows: RASE stays finite
    rng = np.random.default_rng(SEED)
    b = np.clip(a + rng.normal(0, 8, a.shape), 0, 255).astype(np.uint8)
    hide = Preprocess(ignore=((60, 40, 70, 50),))
    masked = _ours(a, b, name, preprocess=hide)
    changed = b.copy()
    changed[40:90, 60:130] = 255 - changed[40:90, 60:130]
    assert _ours(a, changed, name, preprocess=hide) == masked
    assert _ours(a, changed, name) != pytest.approx(masked, rel=1e-3)
    # a mask keeping only the frame's border, outside the windows sewar averages, still
    # measures: the kept pixels' windows, borders mirrored
    frame = np.zeros(a.shape[:2], np.uint8)
    frame[:2], frame[-2:], frame[:, :2], frame[:, -2:] = 1, 1, 1, 1
    value = _ours(a, b, name, preprocess=Preprocess(mask=frame))
    metric = available_metrics()[name]
    assert metric.lower <= value <= metric.upper and value != metric.identical


@pytest.mark.parametrize("name", QUALITY)
def test_more_noise_moves_away_from_identical(name):
    a = photo("coffee")[:176, :208]
    rng = np.random.default_rng(SEED)
    values = []
    for sigma in (2, 6, 18, 40):
        b = np.clip(a + rng.normal(0, sigma, a.shape), 0, 255).astype(np.uint8)
        values.append(_ours(a, b, name))
    if available_metrics()[name].kind == "similarity":
        values = [-v for v in values]
    assert values == sorted(values), values


@pytest.mark.parametrize("name", ["vif", "psnr_b", "ergas", "rase"])
def test_asymmetric_metrics_are_asymmetric(name, pairs):
    label, a, b = next(p for p in pairs if p[0] == "astronaut-jpeg")
    assert _ours(a, b, name) != pytest.approx(_ours(b, a, name), rel=1e-6)


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 9, 3), (7, 7), (8, 8, 3), (9, 9), (12, 24, 3), (24, 17)])
def test_tiny_images_give_values_in_range(shape):
    rng = np.random.default_rng(SEED)
    a = rng.integers(0, 256, shape, dtype=np.uint8)
    b = rng.integers(0, 256, shape, dtype=np.uint8)
    values = imgdelta.compare(a, b, metrics=QUALITY).metrics
    for name, value in values.items():
        metric = available_metrics()[name]
        assert metric.lower <= value <= metric.upper, (name, value)
    same = imgdelta.compare(a, a.copy(), metrics=QUALITY).metrics
    assert same == {name: available_metrics()[name].identical for name in QUALITY}


@pytest.fixture(scope="module")
def image_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quality")
    a = photo("coffee")[:176, :208]
    Image.fromarray(a).save(folder / "a.png")
    Image.fromarray(jpeg_roundtrip(a, 30)).save(folder / "b.png")
    return folder


@pytest.mark.parametrize("name", QUALITY)
def test_each_metric_through_compare_json(name, image_files, capsys):
    code = main(["compare", str(image_files / "a.png"), str(image_files / "b.png"), "--json", "--metric", name])
    assert code in (0, 1)
    values = json.loads(capsys.readouterr().out)["metrics"]
    assert list(values) == [name]
    a = np.asarray(Image.open(image_files / "a.png"))
    b = np.asarray(Image.open(image_files / "b.png"))
    assert values[name] == pytest.approx(_ours(a, b, name), rel=1e-12)
    assert values[name] != available_metrics()[name].identical


@pytest.mark.parametrize("name, threshold", [("ms_ssim", 0.95), ("vif", 0.8), ("psnr_b", 30.0)])
def test_a_quality_metric_decides_the_filter(name, threshold):
    """The filter hands metrics single-channel luminance at its analysis size."""
    base = photo("coffee").astype(np.float32) / 255
    rng = np.random.default_rng(SEED)
    noisy = np.clip(base + rng.normal(0, 0.004, base.shape), 0, 1).astype(np.float32)
    changed = base.copy()
    changed[100:250, 200:400] = base[:150, :200][::-1]
    detector = ChangeDetector(DetectorSettings(metric=name, threshold=threshold))
    decisions = [detector.update(frame) for frame in (base, noisy, changed)]
    assert [d.keep for d in decisions] == [True, False, True]
    assert decisions[2].scores[name] < threshold < decisions[1].scores[name]
