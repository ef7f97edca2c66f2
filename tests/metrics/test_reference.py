"""Every metric against an independent implementation, on real photos.

References (test-only dependencies): scikit-image (MSE, PSNR, SSIM), NumPy (norms,
correlation), OpenCV ``compareHist``, SciPy (``wasserstein_distance``), ``imagehash``,
the ``pixelmatch`` package, OpenCV's JPEG encoder.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import imgdelta
from imgdelta.features import Features
from imgdelta.preprocess import luminance

from testdata import photo


def _float(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64) / 255.0


def _luma(image: np.ndarray) -> np.ndarray:
    x = _float(image)
    return x if x.ndim == 2 else x @ np.array([0.299, 0.587, 0.114])


def _measure(a, b, names, **kwargs) -> dict:
    return imgdelta.compare(a, b, metrics=names, **kwargs).metrics


def test_pixel_norms_match_numpy_and_skimage(photo_pairs):
    from skimage.metrics import mean_squared_error, peak_signal_noise_ratio

    for label, a, b in photo_pairs:
        got = _measure(a, b, ["mae", "mse", "rmse", "psnr", "max_abs"])
        fa, fb = _float(a), _float(b)
        assert got["mae"] == pytest.approx(np.mean(np.abs(fa - fb)), rel=1e-6), label
        assert got["mse"] == pytest.approx(mean_squared_error(fa, fb), rel=1e-6), label
        assert got["rmse"] == pytest.approx(math.sqrt(mean_squared_error(fa, fb)), rel=1e-6), label
        assert got["psnr"] == pytest.approx(peak_signal_noise_ratio(fa, fb, data_range=1.0), abs=1e-5), label
        assert got["max_abs"] == pytest.approx(np.max(np.abs(fa - fb)), abs=1e-6), label


def test_mae_equals_diffimg_ratio():
    # diffimg's ratio: mean absolute difference of the 8-bit channels divided by 255
    a = photo("coffee")
    b = np.clip(a.astype(int) + 17, 0, 255).astype(np.uint8)
    expected = np.abs(a.astype(int) - b.astype(int)).sum() / (255.0 * a.size)
    assert _measure(a, b, ["mae"])["mae"] == pytest.approx(expected, rel=1e-6)


def test_ssim_matches_skimage_on_photos(photo_pairs):
    from skimage.metrics import structural_similarity

    for label, a, b in photo_pairs:
        expected = structural_similarity(
            _luma(a), _luma(b), gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0
        )
        assert _measure(a, b, ["ssim"])["ssim"] == pytest.approx(expected, abs=1e-4), label


@pytest.mark.parametrize("shape", [(11, 11), (12, 40), (64, 17), (300, 201), (1080 // 4, 1920 // 4)])
def test_ssim_matches_skimage_on_any_size(shape):
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(7)
    a = photo("camera")[: shape[0], : shape[1]]
    b = np.clip(a + rng.normal(0, 12, a.shape), 0, 255).astype(np.uint8)
    expected = structural_similarity(
        _float(a), _float(b), gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0
    )
    assert _measure(a, b, ["ssim"])["ssim"] == pytest.approx(expected, abs=1e-4)


def test_ssim_accurate_on_flat_bright_images():
    # flat areas near 1.0 are where float32 variances lose accuracy without centring
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(3)
    a = np.full((200, 300), 0.97)
    b = a + (rng.random(a.shape) < 0.01) * 0.02
    expected = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0)
    assert _measure(a, b, ["ssim"], data_range=1.0)["ssim"] == pytest.approx(expected, abs=1e-5)


def test_ssim_of_masked_region_matches_skimage_on_that_region():
    from skimage.metrics import structural_similarity

    a = photo("camera")
    b = np.roll(a, 3, axis=1)
    full = structural_similarity(_float(a), _float(b), gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0, full=True)[1]
    mask = np.zeros(a.shape, bool)
    mask[100:300, 50:400] = True
    got = _measure(a, b, ["ssim"], preprocess=imgdelta.Preprocess(mask=mask))["ssim"]
    assert got == pytest.approx(full[100:300, 50:400].mean(), abs=1e-4)


def test_ncc_matches_numpy_corrcoef(photo_pairs):
    for label, a, b in photo_pairs:
        expected = np.corrcoef(_luma(a).ravel(), _luma(b).ravel())[0, 1]
        assert _measure(a, b, ["ncc"])["ncc"] == pytest.approx(expected, abs=1e-6), label


def test_changed_fraction_counts_pixels_over_tolerance(photo_pairs):
    for label, a, b in photo_pairs[:8]:
        diff = np.abs(_float(a) - _float(b))
        per_pixel = diff if diff.ndim == 2 else diff.max(axis=2)
        for tol in (0.0, 0.02, 0.1):
            got = _measure(a, b, ["changed_fraction"], options=imgdelta.MetricOptions(tolerance=tol))
            # float32 storage can move a pixel sitting exactly on the tolerance; allow one pixel
            assert got["changed_fraction"] == pytest.approx(np.mean(per_pixel > tol), abs=1.5 / per_pixel.size), label


HIST_METHODS = {
    "hist_correlation": "HISTCMP_CORREL",
    "hist_chi2": "HISTCMP_CHISQR",
    "hist_intersection": "HISTCMP_INTERSECT",
    "hist_bhattacharyya": "HISTCMP_BHATTACHARYYA",
    "hist_kl": "HISTCMP_KL_DIV",
}


def test_histogram_distances_match_opencv_compare_hist(photo_pairs):
    import cv2

    def hist(image):
        # an OpenCV user's gray image and histogram, and OpenCV's distances between them
        luma8 = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        h = cv2.calcHist([luma8], [0], None, [256], [0, 256])
        return h / h.sum()

    for label, a, b in photo_pairs:
        got = _measure(a, b, list(HIST_METHODS))
        ha, hb = hist(a), hist(b)
        for name, method in HIST_METHODS.items():
            expected = cv2.compareHist(ha, hb, getattr(cv2, method))
            assert got[name] == pytest.approx(expected, rel=1e-4, abs=1e-6), (label, name)


def test_luminance_matches_float64_bt601(photo_pairs):
    for label, a, _ in photo_pairs[::5]:
        pixels = a.astype(np.float32) / np.float32(255)
        got = Features(pixels[..., None] if pixels.ndim == 2 else pixels).luma
        assert np.abs(got - _luma(a)).max() < 3e-7, label


def test_emd_matches_scipy_wasserstein(photo_pairs):
    from scipy.stats import wasserstein_distance

    for label, a, b in photo_pairs[::3]:
        la = luminance(_float(a).astype(np.float32)[..., None] if a.ndim == 2 else _float(a).astype(np.float32))
        lb = luminance(_float(b).astype(np.float32)[..., None] if b.ndim == 2 else _float(b).astype(np.float32))
        expected = wasserstein_distance(la.ravel(), lb.ravel())
        assert _measure(a, b, ["emd"])["emd"] == pytest.approx(expected, rel=1e-5, abs=1e-7), label


def test_hashes_match_imagehash(photo_pairs):
    import imagehash
    from PIL import Image

    functions = {"ahash": imagehash.average_hash, "dhash": imagehash.dhash, "phash": imagehash.phash, "whash": imagehash.whash}
    for label, a, b in photo_pairs:
        got = _measure(a, b, list(functions))
        for name, fn in functions.items():
            assert got[name] == fn(Image.fromarray(a)) - fn(Image.fromarray(b)), (label, name)


def test_pixelmatch_count_matches_package():
    from pixelmatch.contrib.PIL import pixelmatch
    from PIL import Image

    rng = np.random.default_rng(11)
    for name in ("astronaut", "coffee", "chelsea"):
        a = photo(name)[100:180, 150:230]
        b_variants = [np.roll(a, 1, axis=1), np.clip(a + rng.normal(0, 9, a.shape), 0, 255).astype(np.uint8)]
        for b in b_variants:
            expected = pixelmatch(Image.fromarray(a), Image.fromarray(b), threshold=0.1)
            assert _measure(a, b, ["pixelmatch"])["pixelmatch"] == expected


def test_jpeg_size_uses_encoded_sizes():
    import cv2

    a = photo("astronaut")
    b = jpeg_b = np.clip(a.astype(int) // 2, 0, 255).astype(np.uint8)
    size = lambda img: cv2.imencode(".jpg", img[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 75])[1].size  # noqa: E731
    expected = abs(size(a) - size(jpeg_b)) / max(size(a), size(jpeg_b))
    assert _measure(a, b, ["jpeg_size"])["jpeg_size"] == pytest.approx(expected, rel=1e-12)
