"""Golden diff pictures: the styles as they are meant to look, on generated pairs.

Named like pixelmatch's fixtures: ``NAME_a.png`` and ``NAME_b.png`` are the inputs,
``NAME_STYLE.png`` the expected picture. After a deliberate change of the drawing,
regenerate them with ``pytest tests/render --update-goldens`` and look at them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from testdata import SEED, jpeg_roundtrip, photo

from imgdelta.pipeline import diff
from imgdelta.render import DIFF_STYLES, render_diff

GOLDENS = Path(__file__).parent / "goldens"


def pairs() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(SEED)
    base = photo("chelsea")[40:200, 100:340]  # 240 x 160: small files
    moved = base.copy()
    moved[30:90, 20:90] = base[60:120, 150:220]  # a patch of the picture copied elsewhere
    drawn = photo("astronaut")[100:260, 150:390].copy()
    drawn[100:130, 150:220] = (250, 240, 30)  # a yellow bar
    noisy = lambda image: jpeg_roundtrip(np.clip(image + rng.normal(0, 2, image.shape), 0, 255).astype(np.uint8), 90)
    return {"patch": (noisy(base), noisy(moved)), "bar": (noisy(photo("astronaut")[100:260, 150:390]), noisy(drawn))}


@pytest.mark.parametrize("name", ["patch", "bar"])
@pytest.mark.parametrize("style", DIFF_STYLES)
def test_diff_pictures_match_their_goldens(name, style, update_goldens):
    a, b = pairs()[name]
    for suffix, image in (("a", a), ("b", b)):
        path = GOLDENS / f"{name}_{suffix}.png"
        if update_goldens or not path.exists():
            GOLDENS.mkdir(exist_ok=True)
            Image.fromarray(image).save(path)
    with Image.open(GOLDENS / f"{name}_a.png") as first, Image.open(GOLDENS / f"{name}_b.png") as second:
        picture = render_diff(diff(np.asarray(first), np.asarray(second)), style)
    golden = GOLDENS / f"{name}_{style}.png"
    if update_goldens:
        Image.fromarray(picture).save(golden)
    assert golden.exists(), f"{golden} is missing: run pytest tests/render --update-goldens"
    with Image.open(golden) as expected:
        reference = np.asarray(expected.convert("RGB"))
    assert picture.shape == reference.shape
    # OpenCV's resampling may differ by a level between builds; anything more is a change
    off = np.abs(picture.astype(int) - reference.astype(int)).max(axis=2) > 2
    assert off.mean() < 0.002, f"{off.sum()} pixels differ from {golden.name}"
