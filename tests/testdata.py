"""Test data: real photos bundled with scikit-image, and variants made in code."""

from __future__ import annotations

import io

import numpy as np

SEED = 1234


def photo(name: str) -> np.ndarray:
    """A scikit-image sample photo as uint8 (H, W) or (H, W, 3)."""
    from skimage import data

    image = getattr(data, name)()
    return image[:, :, :3] if image.ndim == 3 else image


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert(Image.fromarray(image).mode))


def variants(image: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Realistic second images: re-encoded, noisy, brighter, shifted, with a pasted patch."""
    noisy = np.clip(image.astype(np.float64) + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    bright = np.clip(image.astype(np.float64) * 1.08 + 4, 0, 255).astype(np.uint8)
    shifted = np.roll(image, (1, 2), axis=(0, 1))
    patched = image.copy()
    h, w = image.shape[:2]
    patched[h // 3 : h // 3 + h // 6, w // 4 : w // 4 + w // 5] = image[: h // 6, : w // 5][::-1]
    return {
        "jpeg50": jpeg_roundtrip(image, 50),
        "noise": noisy,
        "bright": bright,
        "shift": shifted,
        "patch": patched,
    }


PHOTOS = ("astronaut", "coffee", "chelsea", "camera", "rocket")


def snapshot(folder) -> dict[str, tuple[int, int]]:
    """Every file of a folder with its size and modification time: equal before and after
    means nothing there was written."""
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


#: Debian's Chromium (``.ci/run`` installs it), started so that it does not reach for
#: Google's services, which a closed network refuses.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


def launch_chromium(playwright):
    import shutil
    from pathlib import Path

    executable = shutil.which("chromium") or CHROMIUM
    assert Path(executable).exists(), "Debian's chromium is needed: apt-get install chromium (.ci/run does)"
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
