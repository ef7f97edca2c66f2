"""Diff regions and pictures: known pasted patches are found, camera noise is not."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from testdata import SEED, jpeg_roundtrip, photo

from imgdelta.metrics._pixelmatch import DIFFERENT, classify
from imgdelta import has_changed
from imgdelta.pipeline import diff
from imgdelta.render import DIFF_STYLES, render_diff

PATCHES = [(40, 50, 120, 120), (180, 170, 280, 260)]  # x0, y0, x1, y1, exclusive


def noisy(image: np.ndarray, rng: np.random.Generator, *, gain: float = 1.0, quality: int = 85) -> np.ndarray:
    values = image.astype(np.float64) * gain + rng.normal(0, 3, image.shape)
    return jpeg_roundtrip(np.clip(values, 0, 255).astype(np.uint8), quality)


def with_patches(image: np.ndarray, donor: np.ndarray) -> np.ndarray:
    out = image.copy()
    for x0, y0, x1, y1 in PATCHES:
        out[y0:y1, x0:x1] = donor[y0:y1, x0:x1]
    return out


def iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_pasted_patches_are_found_as_boxes_and_nothing_else(name):
    rng = np.random.default_rng(SEED)
    base = photo(name)[:300, :300]
    donor = np.ascontiguousarray(photo("rocket")[:300, :300][::-1])
    result = diff(noisy(base, rng), noisy(with_patches(base, donor), rng))
    boxes = [r.box for r in result.regions]
    assert len(boxes) == len(PATCHES), boxes
    for truth in PATCHES:
        assert max(iou(truth, box) for box in boxes) >= 0.8, (truth, boxes)
    assert result.decision.keep and 0 < result.changed_fraction < 0.2
    for region in result.regions:
        x0, y0, x1, y1 = region.box
        assert x0 <= region.centroid[0] <= x1 and y0 <= region.centroid[1] <= y1
        assert 0 < region.mean_difference <= region.max_difference <= 1


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "camera"])
def test_jpeg_noise_and_a_brightness_shift_give_no_region(name):
    rng = np.random.default_rng(SEED + 1)
    base = photo(name)
    result = diff(noisy(base, rng, quality=90), noisy(base, rng, gain=1.03, quality=70))
    assert result.regions == [] and result.changed_fraction == 0.0


def test_identical_images_are_identical():
    image = photo("coffee")
    result = diff(image, image)
    assert result.identical and result.regions == [] and result.to_dict()["changed"] is False


def test_every_style_draws_the_picture_its_size_says(tmp_path):
    rng = np.random.default_rng(SEED + 2)
    base = photo("astronaut")[:300, :300]
    changed = with_patches(base, np.ascontiguousarray(photo("coffee")[:300, :300]))
    result = diff(noisy(base, rng), noisy(changed, rng))
    height, width = result.size[1], result.size[0]
    for style in DIFF_STYLES:
        picture = render_diff(result, style)
        assert picture.dtype == np.uint8 and picture.shape[0] == height and picture.shape[2] == 3, style
    assert render_diff(result, "side-by-side").shape[1] > 3 * width
    mask = render_diff(result, "mask")[:, :, 0] > 0
    assert set(np.unique(render_diff(result, "mask"))) <= {0, 255}
    assert abs(mask.mean() - result.changed_fraction) < 0.01
    # pixelmatch style marks exactly the pixels pixelmatch counts
    picture = render_diff(result, "pixelmatch")
    coloured = (picture == [255, 0, 0]).all(axis=2) | (picture == [0, 160, 0]).all(axis=2)
    labels = classify(_rgba(result.a.pixels), _rgba(result.b.pixels))
    assert int(coloured.sum()) == int((labels == DIFFERENT).sum())


def _rgba(pixels: np.ndarray) -> np.ndarray:
    rgb = (np.clip(pixels, 0, 1) * 255 + 0.5).astype(np.uint8)
    return np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgdelta", *args], capture_output=True, text=True, timeout=120)


def test_the_diff_command(tmp_path):
    rng = np.random.default_rng(SEED + 3)
    base = photo("chelsea")[:300, :300]
    a, b, same, small = (tmp_path / n for n in ("a.jpg", "b.jpg", "same.jpg", "small.png"))
    Image.fromarray(noisy(base, rng)).save(a)
    Image.fromarray(noisy(with_patches(base, photo("coffee")[:300, :300]), rng)).save(b)
    Image.fromarray(noisy(base, rng)).save(same)
    Image.fromarray(base[:100, :100]).save(small)

    done = run("diff", str(a), str(b), "-o", str(tmp_path / "d.png"), "--json")
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert len(document["regions"]) == 2 and all(len(box) == 4 for box in document["regions"])
    assert document["changed"] is True and document["reason"].startswith("2 changed regions, ")
    assert document["changed_fraction"] > 0 and document["diff_image"] == str(tmp_path / "d.png")
    assert {"box", "area", "centroid", "mean_difference", "max_difference"} <= set(document["region_details"][0])
    with Image.open(tmp_path / "d.png") as picture:
        assert picture.size == (300, 300)

    quiet = run("diff", str(a), str(same), "-o", str(tmp_path / "none.png"))
    assert quiet.returncode == 0 and quiet.stdout.startswith("no changed region (same:")
    assert not (tmp_path / "none.png").exists()  # nothing changed, nothing drawn
    assert run("diff", str(a), str(same), "-o", str(tmp_path / "forced.png"), "--always").returncode == 0
    assert (tmp_path / "forced.png").exists()

    compared = run("compare", str(a), str(b), "--diff-out", str(tmp_path / "c.png"))
    assert compared.returncode == 0 and (tmp_path / "c.png").exists()

    for args, message in (
        (["diff", str(a), str(small)], "is 300x300 but"),
        (["diff", str(a), str(b), "--style", "fancy"], "--style"),
        (["diff", str(a), str(b), "-o", str(tmp_path / "d.gif")], ".png"),
    ):
        bad = run(*args)
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and message in bad.stderr, bad.stderr


def test_a_region_too_small_for_a_time_lapse_still_makes_the_images_differ():
    """diff answers where the images differ; what a time-lapse filter would keep is a
    second answer beside it, and the two never contradict the exit status."""
    rng = np.random.default_rng(SEED + 5)
    base = photo("astronaut")[:300, :300]
    marked = base.copy()
    marked[140:152, 200:212] = (20, 200, 30)  # 144 pixels: 0.16 % of the image
    before, after = noisy(base, rng), noisy(marked, rng)
    result = diff(before, after)
    document = result.to_dict()
    assert len(result.regions) == 1 and document["changed"] is True
    assert document["reason"].startswith("1 changed region, ")
    assert document["filter_keep"] is False and document["filter_reason"].startswith("same: ")
    # the filter's judgement is the filter's own, at its analysis size, not the regions' one
    assert document["filter_reason"] == has_changed(before, after).reason


def test_arrays_that_need_a_data_range_get_the_filter_judgement_too():
    """The filter's judgement is made on the images as diff loaded them when they are not
    files: 16-bit arrays need the data range diff was given."""
    base = photo("coffee")[:200, :300].astype(np.uint16) * 257
    changed = base.copy()
    changed[50:110, 60:140] = 60000
    document = diff(base, changed, data_range=65535).to_dict()
    assert document["changed"] is True and document["filter_keep"] is True
    assert document["filter_reason"].startswith("changed ")


def test_the_pixelmatch_rule_finds_what_the_detector_leaves_out(tmp_path):
    """Rendered output: a line two pixels thick, a single pixel and a changed digit are
    differences, though the change detector (made for camera frames) lets a change a pixel
    or two across go. The pixelmatch rule counts exactly the pixels pixelmatch counts."""
    from PIL import ImageDraw

    import imgdelta

    white = np.full((120, 200, 3), 255, np.uint8)
    line = white.copy()
    line[60:62, 20:180] = 0
    spot = white.copy()
    spot[10, 30] = (200, 0, 0)
    text_a, text_b = (Image.fromarray(white.copy()) for _ in range(2))
    ImageDraw.Draw(text_a).text((20, 90), "1,234.50", fill=(0, 0, 0))
    ImageDraw.Draw(text_b).text((20, 90), "1,284.50", fill=(0, 0, 0))
    for label, changed, box in (
        ("line", line, (20, 60, 180, 62)),
        ("spot", spot, (30, 10, 31, 11)),
        ("digit", np.asarray(text_b), None),
    ):
        before = np.asarray(text_a) if label == "digit" else white
        assert diff(before, changed).regions == [], label
        found = diff(before, changed, rule="pixelmatch")
        assert len(found.regions) == 1 and found.rule == "pixelmatch", label
        counted = imgdelta.compare(before, changed, metrics=["pixelmatch"]).metrics["pixelmatch"]
        assert int(found.changed.sum()) == counted > 0, label
        if box is not None:
            assert found.regions[0].box == box, label
    assert diff(white, white, rule="pixelmatch").regions == []
    with pytest.raises(imgdelta.OptionError, match="rule 'exact'"):
        diff(white, line, rule="exact")

    Image.fromarray(white).save(tmp_path / "white.png")
    Image.fromarray(line).save(tmp_path / "line.png")
    by_default = run("diff", str(tmp_path / "white.png"), str(tmp_path / "line.png"), "--json")
    assert by_default.returncode == 0 and json.loads(by_default.stdout)["rule"] == "detector"
    by_style = run("diff", str(tmp_path / "white.png"), str(tmp_path / "line.png"), "--style", "pixelmatch", "--json")
    assert by_style.returncode == 1 and json.loads(by_style.stdout)["regions"] == [[20, 60, 180, 62]]
    overridden = run("diff", str(tmp_path / "white.png"), str(tmp_path / "line.png"), "--style", "pixelmatch", "--rule", "detector")
    assert overridden.returncode == 0
    strict = run("diff", str(tmp_path / "white.png"), str(tmp_path / "line.png"), "--pixelmatch-threshold", "0.5")
    assert strict.returncode == 1 and "x 20-180, y 60-62" in strict.stdout  # the threshold implies the rule
    both = run("diff", str(tmp_path / "white.png"), str(tmp_path / "line.png"), "--rule", "detector", "--pixelmatch-threshold", "0.5")
    assert both.returncode == 2 and "--pixelmatch-threshold is the pixelmatch rule's" in both.stderr
