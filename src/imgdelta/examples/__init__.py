"""Built-in example images, so a new user can try imgdelta before bringing their own.

``coffee.jpg`` is scikit-image's "coffee" photograph (Rachel Michetti, CC0).
"""

from __future__ import annotations

import io
import shutil
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["EXAMPLE_EVENTS", "example_photo", "write_example_pair", "write_example_sequence"]

_SEED = 20261124


def example_photo() -> Path:
    """Path of the bundled photo."""
    return Path(str(resources.files(__name__).joinpath("coffee.jpg")))


def write_example_pair(directory: str | Path) -> list[Path]:
    """Write three images to ``directory`` and return their paths.

    * ``coffee.jpg``: the photo.
    * ``coffee_reencoded.jpg``: the same scene with sensor noise, 2 % brighter, saved at
      JPEG quality 75: different bytes, no real change.
    * ``coffee_changed.jpg``: the same, with a dark object covering about 2 % of the frame.
    """
    from PIL import Image, ImageDraw

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    original = out / "coffee.jpg"
    shutil.copyfile(example_photo(), original)
    with Image.open(original) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    rng = np.random.default_rng(_SEED)
    noisy = np.clip(pixels * 1.02 + rng.normal(0.0, 2.0, pixels.shape), 0, 255).astype(np.uint8)
    paths = [original]
    for name, changed in (("coffee_reencoded.jpg", False), ("coffee_changed.jpg", True)):
        image = Image.fromarray(noisy)
        if changed:
            width, height = image.size
            box = (int(width * 0.08), int(height * 0.62), int(width * 0.22), int(height * 0.82))
            ImageDraw.Draw(image).ellipse(box, fill=(40, 30, 25))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=75)
        path = out / name
        path.write_bytes(buffer.getvalue())
        paths.append(path)
    return paths


#: Frames of the example time-lapse where something a person would notice happens.
EXAMPLE_EVENTS = {12: "a dark object appears", 24: "it moves", 36: "the light dims to 60 %"}


def write_example_sequence(directory: str | Path, *, frames: int = 48, static: int = 12) -> tuple[Path, Path]:
    """Write a small webcam-like time-lapse of the example photo and a static clip.

    Every frame has sensor noise, flicker of +/-2 %, jitter of up to a pixel and JPEG
    quality 80, so no two frames are equal; real changes happen at :data:`EXAMPLE_EVENTS`.
    Returns the folders ``timelapse`` and ``static`` (nothing changes there; for
    ``imgdelta calibrate``).
    """
    import cv2
    from PIL import Image

    out = Path(directory)
    sequence, quiet = out / "timelapse", out / "static"
    sequence.mkdir(parents=True, exist_ok=True)
    quiet.mkdir(parents=True, exist_ok=True)
    with Image.open(example_photo()) as image:
        scene = np.asarray(image.convert("RGB"), dtype=np.float32) / 255
    height, width = scene.shape[:2]
    rng = np.random.default_rng(_SEED)
    yy, xx = np.mgrid[0:height, 0:width]

    def with_object(base: np.ndarray, cx: float, cy: float) -> np.ndarray:
        # an ellipse of about 2 % of the frame, soft-edged, dark brown
        inside = ((xx - cx) / (0.09 * width)) ** 2 + ((yy - cy) / (0.07 * height)) ** 2
        alpha = np.clip((1.0 - inside) * 6, 0, 1)[:, :, None]
        return base * (1 - alpha) + np.float32([0.16, 0.11, 0.08]) * alpha

    def shoot(state: np.ndarray, path: Path) -> None:
        linear = state**2.2 * rng.uniform(0.98, 1.02)
        dx, dy = rng.uniform(-1, 1, 2)
        linear = cv2.warpAffine(linear, np.float32([[1, 0, dx], [0, 1, dy]]), (width, height), borderMode=cv2.BORDER_REFLECT)
        photons = 800.0
        linear = rng.poisson(np.clip(linear, 0, None) * photons) / photons + rng.normal(0, 0.004, linear.shape)
        pixels = np.clip(np.clip(linear, 0, 1) ** (1 / 2.2) * 255 + 0.5, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(path, format="JPEG", quality=80)

    for index in range(static):
        shoot(scene, quiet / f"static_{index + 1:03d}.jpg")
    for index in range(frames):
        state = scene
        if index >= 12:
            state = with_object(state, width * 0.25, height * 0.7) if index < 24 else with_object(state, width * 0.7, height * 0.75)
        if index >= 36:
            state = state * 0.6 ** (1 / 2.2)
        shoot(state.astype(np.float32), sequence / f"frame_{index + 1:03d}.jpg")
    return sequence, quiet
