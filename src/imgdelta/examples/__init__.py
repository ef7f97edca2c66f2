"""Built-in example images, so a new user can try imgdelta before bringing their own.

``coffee.jpg`` is scikit-image's "coffee" photograph (Rachel Michetti, CC0).
"""

from __future__ import annotations

import io
import shutil
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = ["example_photo", "write_example_pair"]

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
