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


@pytest.mark.parametrize("name", ["sam", "ergas", "rase"])
def test_pixel_and_band_metrics_equal_sewar(name, pairs):
    """sewar.full_ref.sam (radians), ergas (r = 1/4), rase (8 x 8 windows) on 8-bit photos."""
    from sewar import full_ref

    reference = getattr(full_ref, name)
    for label, a, b in pairs:
        if name == "sam" and a.ndim == 2:
            continue
        assert _ours(a, b, name) == pytest.approx(reference(a, b), rel=1e-6), label


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


def _both_flat_share(a: np.ndarray, b: np.ndarray) -> float:
    """Share of pixels (and channels) whose 8 x 8 window holds no Laplacian detail in
    either image: sewar's window placement, zeros outside the image."""
    from scipy.ndimage import correlate, maximum_filter

    kernel = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], np.float64)
    x = a.astype(np.float64).reshape(*a.shape[:2], -1)
    y = b.astype(np.float64).reshape(*b.shape[:2], -1)
    flat = 0
    for c in range(x.shape[2]):
        details = [
            maximum_filter(np.abs(correlate(v[:, :, c], kernel, mode="reflect")), 8, mode="constant") for v in (x, y)
        ]
        flat += np.count_nonzero((details[0] == 0) & (details[1] == 0))
    return flat / x.size


def test_scc_equals_sewar_except_where_both_windows_are_flat(pairs):
    """sewar.full_ref.scc: Laplacian high-pass, 8 x 8 windows with zeros outside the image
    (Zhou, Civco and Silander 1998 correlate the high-passed images). Where both windows
    have no detail sewar counts 0 and imgdelta 1, so the values differ by that share."""
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


def test_psnr_b_follows_yim_and_bovik(pairs):
    """PSNR-B = 10 log10(255^2 / (MSE + BEF)) on luminance (sewar's psnrb wants the Y of
    YCbCr), BEF of the second image on the 8 x 8 grid.

    imgdelta divides the block-boundary sums by the number of pairs summed (the paper's
    N_V (N_H / B - 1)); sewar divides by N_V N_H / B - 1. The hand-written formula with
    either count gives imgdelta's and sewar's values."""
    from sewar.full_ref import psnrb

    for label, a, b in pairs:
        ya, yb = (v.astype(np.float64) @ LUMA if v.ndim == 3 else v.astype(np.float64) for v in (a, b))
        mse = np.mean((ya - yb) ** 2)
        paper = 10 * math.log10(255**2 / (mse + _bef_by_hand(yb, 8, paper_counts=True)))
        sewars = 10 * math.log10(255**2 / (mse + _bef_by_hand(yb, 8, paper_counts=False)))
        assert sewars == pytest.approx(psnrb(ya, yb, MAX=255), rel=1e-9), label
        assert _ours(a, b, "psnr_b") == pytest.approx(paper, rel=1e-6), label
    jpeg = next((a, b) for label, a, b in pairs if label == "coffee-jpeg")
    ya, yb = (v.astype(np.float64) @ LUMA for v in jpeg)
    assert _bef_by_hand(yb, 8, paper_counts=True) > 0  # a blocky image: the counts matter
    assert _ours(*jpeg, "psnr_b") < psnrb(ya, yb, MAX=255) - 0.05


def test_psnr_b_of_identical_images_is_infinite():
    """sewar gives 10 log10(255^2 / BEF) for a blocky image compared with itself;
    identical images have no difference, so imgdelta gives infinity, as for PSNR."""
    from sewar.full_ref import psnrb

    blocky = jpeg_roundtrip(photo("camera")[:128, :128], 10)
    assert math.isfinite(psnrb(blocky, blocky.copy()))
    assert _ours(blocky, blocky.copy(), "psnr_b") == math.inf


def test_sam_conventions():
    """Kruse et al. 1993: the angle between colour vectors; black pixels have none."""
    from sewar.full_ref import sam

    rng = np.random.default_rng(SEED)
    a = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    a[:5] = 0  # no direction: left out, as sewar does
    assert _ours(a, b, "sam") == pytest.approx(sam(a, b), rel=1e-6)
    black = np.zeros_like(a)
    assert math.isnan(sam(black, b)) and _ours(black, b, "sam") == 0.0
    # brightness alone does not turn a colour vector
    assert _ours(a.astype(np.float32) / 255, a.astype(np.float32) / 510, "sam", data_range=1.0) == 0.0
    # one channel: no angles
    assert _ours(a[:, :, 0], b[:, :, 0], "sam") == 0.0
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
    a = photo("astronaut")[100:260, 100:300]
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
