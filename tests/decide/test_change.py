"""The change detector: what it must ignore, what it must keep, its policies and its state.

Frames come from a small camera model applied to real photos (Poisson-Gaussian noise,
flicker, sub-pixel jitter, JPEG), so "nothing changed" is never "identical pixels".
"""

from __future__ import annotations

import io
import json
import math

import cv2
import numpy as np
import pytest
from PIL import Image
from testdata import SEED, photo

from imgdelta import ChangeDetector, DetectorSettings, NoiseProfile, OptionError, UnknownMetricError, calibrate_detector, has_changed

SCENES = ("astronaut", "coffee", "chelsea", "rocket")


def scene(name: str) -> np.ndarray:
    image = photo(name).astype(np.float32) / 255
    return np.dstack([image] * 3) if image.ndim == 2 else image


class Camera:
    """Linear light -> flicker -> jitter -> photon and read noise -> gamma -> JPEG."""

    def __init__(self, rng: np.random.Generator, *, photons: float = 1500, read: float = 0.004, flicker: float = 0.03, jitter: float = 1.0, quality: int = 80):
        self.rng, self.photons, self.read, self.flicker, self.jitter, self.quality = rng, photons, read, flicker, jitter, quality

    def __call__(self, state: np.ndarray, gain: float = 1.0) -> np.ndarray:
        rng = self.rng
        height, width = state.shape[:2]
        linear = state**2.2 * gain * rng.uniform(1 - self.flicker, 1 + self.flicker)
        dx, dy = rng.uniform(-self.jitter, self.jitter, 2)
        linear = cv2.warpAffine(linear, np.float32([[1, 0, dx], [0, 1, dy]]), (width, height), borderMode=cv2.BORDER_REFLECT)
        linear = rng.poisson(np.clip(linear, 0, None) * self.photons) / self.photons + rng.normal(0, self.read, linear.shape)
        pixels = np.clip(np.clip(linear, 0, 1) ** (1 / 2.2) * 255 + 0.5, 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=self.quality)
        return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def paste(base: np.ndarray, donor: np.ndarray, share: float, where: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """``base`` with a soft-edged patch of ``donor`` covering ``share`` of the frame at ``where``."""
    height, width = base.shape[:2]
    side = int(math.sqrt(share * height * width))
    y0, x0 = int(where[1] * (height - side)), int(where[0] * (width - side))
    dy, dx = rng.integers(0, donor.shape[0] - side), rng.integers(0, donor.shape[1] - side)
    patch = donor[dy : dy + side, dx : dx + side]
    out = base.copy()
    out[y0 : y0 + side, x0 : x0 + side] = patch
    return out


def with_rain(base: np.ndarray, rng: np.random.Generator, streaks: int, *, length: int = 10, thickness: int = 1, lift: float = 0.3, top: float = 1.0) -> np.ndarray:
    """``base`` with ``streaks`` bright streaks of rain at random places (lifted by ``lift``,
    up to ``top``)."""
    height, width = base.shape[:2]
    out = base.copy()
    for _ in range(streaks):
        x, y = int(rng.integers(0, width - thickness - 1)), int(rng.integers(0, height - length))
        out[y : y + length, x : x + thickness] = np.minimum(out[y : y + length, x : x + thickness] + lift, top)
    return out


def feed(detector: ChangeDetector, frames) -> list:
    return [detector.update(frame) for frame in frames]


# -- what must be ignored ------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENES)
@pytest.mark.parametrize("light", ["day", "night"])
def test_camera_noise_flicker_jitter_and_jpeg_are_not_changes(name, light):
    rng = np.random.default_rng(SEED)
    camera = Camera(rng, photons=1500 if light == "day" else 60, read=0.004 if light == "day" else 0.02, quality=int(rng.integers(70, 93)))
    state = scene(name)
    decisions = feed(ChangeDetector(), (camera(state) for _ in range(25)))
    assert decisions[0].kind == "first"
    kept = [d.reason for d in decisions[1:] if d.keep]
    assert kept == [], kept


def lamp_pool(base: np.ndarray) -> np.ndarray:
    """``base`` dimmed, with a warm pool of light that drives the red channel (and the green
    near its middle) past the sensor's white."""
    height, width = base.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    radial = np.exp(-((xx - 0.7 * width) ** 2 + (yy - 0.35 * height) ** 2) / (2 * (0.15 * width) ** 2))
    tint = np.float32([1.0, 0.85, 0.6]) ** radial[:, :, None]
    return base * np.float32(0.6) * (1 + 3 * radial)[:, :, None] * tint


def test_a_blown_out_pool_of_light_under_flicker_is_not_a_change():
    """Clipped channels cannot follow flicker: the rest of the frame brightens or dims by up
    to 10 % of its light (about 4 % of its 8-bit values), the pool does not. That is no
    change; an object of 2 % appearing in the pool still is."""
    rng = np.random.default_rng(SEED + 12)
    camera = Camera(rng, flicker=0.1)
    base = scene("coffee")
    room = lamp_pool(base)
    first = camera(room)
    assert (first[:, :, 0] == 255).mean() > 0.03  # the pool really clips
    frames = [first] + [camera(room) for _ in range(24)]
    kept = [d.reason for d in feed(ChangeDetector(), frames)[1:] if d.keep]
    assert kept == [], kept
    height, width = base.shape[:2]
    cup = room.copy()
    side = int(math.sqrt(0.02 * height * width))
    top, left = int(0.35 * height) - side // 2, int(0.7 * width) - side // 2
    cup[top : top + side, left : left + side] = np.float32([0.35, 0.3, 0.25])
    decisions = feed(ChangeDetector(), [first, camera(room), camera(cup)])
    assert [d.keep for d in decisions] == [True, False, True], [d.reason for d in decisions]


def test_rain_falling_everywhere_is_not_a_change():
    """Streaks of rain in new places in every frame, over a third of a percent of the
    picture each time: each is too thin to survive the opening, and the frame stays the
    same scene."""
    rng = np.random.default_rng(SEED + 15)
    camera = Camera(rng)
    base = scene("astronaut")
    kept = [d.reason for d in feed(ChangeDetector(), (camera(with_rain(base, rng, 80)) for _ in range(20)))[1:] if d.keep]
    assert kept == [], kept


def test_a_camera_switching_to_night_mode_is_kept_once_each_way():
    """Infrared night mode: the picture turns gray and brighter. A person calls that a
    change, once; the frames in night mode after it are the same scene."""
    rng = np.random.default_rng(SEED + 16)
    camera = Camera(rng)
    day = scene("coffee")
    night = np.repeat(np.minimum(day @ np.float32([0.299, 0.587, 0.114]) * 1.6, 1)[:, :, None], 3, axis=2)
    states = [day] * 5 + [night] * 6 + [day] * 5
    decisions = feed(ChangeDetector(), (camera(state) for state in states))
    assert [i for i, d in enumerate(decisions) if d.keep] == [0, 5, 11], [d.reason for d in decisions]


def test_slow_exposure_drift_and_specks_are_not_changes():
    rng = np.random.default_rng(SEED + 1)
    camera = Camera(rng)
    state = scene("coffee")
    detector = ChangeDetector()
    for index in range(30):
        frame = camera(state, gain=1 + 0.004 * index).copy()  # about 12 % brighter by the end
        ys, xs = rng.integers(0, frame.shape[0], 6), rng.integers(0, frame.shape[1], 6)
        frame[ys, xs] = 255  # hot pixels and dust
        decision = detector.update(frame)
        assert decision.keep == (index == 0), decision.reason


# -- what must be kept ---------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENES)
def test_an_object_of_one_percent_appearing_moving_and_leaving_is_kept(name):
    rng = np.random.default_rng(SEED + 2)
    camera = Camera(rng)
    base = scene(name)
    donor = scene("chelsea" if name != "chelsea" else "coffee")
    here = paste(base, donor, 0.012, (0.2, 0.3), rng)
    there = paste(base, donor, 0.012, (0.75, 0.6), rng)
    detector = ChangeDetector()
    timeline = [base] * 4 + [here] * 4 + [there] * 4 + [base] * 4
    decisions = feed(detector, (camera(s) for s in timeline))
    kept = [i for i, d in enumerate(decisions) if d.keep]
    assert kept == [0, 4, 8, 12], [(i, d.reason) for i, d in enumerate(decisions)]
    assert all(decisions[i].kind == "change" for i in (4, 8, 12))
    assert decisions[4].scores["changed_area"] > 0.002


@pytest.mark.parametrize("gain", [0.45, 2.2])
def test_lights_switched_off_or_on_are_kept(gain):
    rng = np.random.default_rng(SEED + 3)
    camera = Camera(rng)
    state = scene("astronaut")
    decisions = feed(ChangeDetector(), [camera(state), camera(state), camera(state, gain=gain), camera(state, gain=gain)])
    assert [d.keep for d in decisions] == [True, False, True, False]
    assert decisions[2].kind in ("lighting", "change")


def test_part_of_the_scene_relit_is_kept():
    rng = np.random.default_rng(SEED + 4)
    camera = Camera(rng)
    state = scene("coffee")
    height, width = state.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width]
    # a soft pool of light over about a fifth of the frame, 60 % brighter in its middle
    pool = np.exp(-(((xx - 0.3 * width) / (0.2 * width)) ** 2 + ((yy - 0.5 * height) / (0.25 * height)) ** 2))
    relit = np.clip(state * (1 + 0.6 * pool[:, :, None]) ** (1 / 2.2), 0, 1).astype(np.float32)
    decisions = feed(ChangeDetector(), [camera(state), camera(state), camera(relit)])
    assert [d.keep for d in decisions] == [True, False, True], decisions[2].reason


def test_slow_change_adds_up_against_the_last_kept_frame_but_not_the_previous():
    rng = np.random.default_rng(SEED + 5)
    state = scene("rocket")
    target = paste(state, scene("coffee"), 0.04, (0.5, 0.5), rng)
    clean = Camera(rng, flicker=0.0, jitter=0.0, photons=1e6, read=0.0, quality=95)
    steps = [state + (target - state) * (k / 20) for k in range(21)]  # 5 % of the way per frame
    frames = [clean(s.astype(np.float32)) for s in steps]
    by_kept = feed(ChangeDetector(), frames)
    by_previous = feed(ChangeDetector(DetectorSettings(reference="previous")), frames)
    assert any(d.keep for d in by_kept[1:])
    assert not any(d.keep for d in by_previous[1:])


# -- policies -------------------------------------------------------------------------------


def test_max_gap_and_min_gap_in_frames_and_seconds():
    rng = np.random.default_rng(SEED + 6)
    camera = Camera(rng)
    state = scene("coffee")
    frames = [camera(state) for _ in range(10)]
    gapped = feed(ChangeDetector(DetectorSettings(max_gap_frames=4)), frames)
    assert [i for i, d in enumerate(gapped) if d.keep] == [0, 4, 8]
    assert gapped[4].kind == "max-gap"

    timed = ChangeDetector(DetectorSettings(max_gap_seconds=25))
    kept = [i for i, f in enumerate(frames) if timed.update(f, time=10.0 * i).keep]
    assert kept == [0, 3, 6, 9]

    changed = paste(state, scene("chelsea"), 0.03, (0.5, 0.5), rng)
    flips = [state, changed, state, changed, state, changed]
    limited = feed(ChangeDetector(DetectorSettings(min_gap_frames=3)), [camera(s) for s in flips])
    assert [d.kind for d in limited] == ["first", "min-gap", "same", "change", "min-gap", "same"]


def test_dark_and_blank_frames_are_skipped_when_asked():
    settings = DetectorSettings(skip_dark=0.05, skip_blank=0.01)
    detector = ChangeDetector(settings)
    dark = np.full((120, 160, 3), 5, np.uint8)
    grey = np.full((120, 160, 3), 128, np.uint8)
    decisions = feed(detector, [dark, grey, photo("astronaut")])
    assert [d.kind for d in decisions] == ["dark", "blank", "first"]


def test_a_change_inside_an_ignored_rectangle_or_outside_the_roi_is_not_kept():
    rng = np.random.default_rng(SEED + 7)
    camera = Camera(rng)
    base = scene("astronaut")  # 512 x 512
    changed = base.copy()
    changed[40:140, 40:140] = scene("coffee")[:100, :100]
    frames = [camera(base), camera(changed)]
    assert feed(ChangeDetector(), frames)[1].keep
    assert not feed(ChangeDetector(DetectorSettings(ignore=((30, 30, 120, 120),))), frames)[1].keep
    assert not feed(ChangeDetector(DetectorSettings(roi=(256, 256, 256, 256))), frames)[1].keep
    # rectangles are in full-resolution pixels even when the frame arrives reduced
    small = [cv2.resize(f, (128, 128), interpolation=cv2.INTER_AREA) for f in frames]
    ignoring = ChangeDetector(DetectorSettings(ignore=((30, 30, 120, 120),)))
    assert not [ignoring.update(f, full_size=(512, 512)) for f in small][1].keep
    # inside a region of interest the changed share is of that region, and says so
    watching = feed(ChangeDetector(DetectorSettings(roi=(0, 0, 256, 256))), frames)[1]
    whole = feed(ChangeDetector(), frames)[1]
    assert watching.reason.startswith("changed ") and " of the watched area " in watching.reason
    assert watching.score == pytest.approx(4 * whole.score, rel=0.2)


def test_a_flat_region_of_interest_under_rain_is_not_a_change():
    """Over a flat stretch of sky the light fit's gain and offset trade off freely; colour
    is scaled by the brightness ratio, so a gain of 0.3 with a large offset does not turn
    the sky's blue into a change of colour (it once read as 110 % of the watched area)."""
    rng = np.random.default_rng(SEED + 17)
    camera = Camera(rng)
    base = scene("coffee")
    height, width = base.shape[:2]
    base[: height // 8] = np.float32([0.35, 0.5, 0.8])
    detector = ChangeDetector(DetectorSettings(roi=(0, 0, width, height // 8)))
    decisions = feed(detector, (camera(with_rain(base, rng, 40)) for _ in range(12)))
    assert all(d.score <= 1 for d in decisions[1:])
    assert [d.reason for d in decisions[1:] if d.keep] == []


def test_a_classic_metric_can_decide_and_reports_its_value():
    rng = np.random.default_rng(SEED + 8)
    camera = Camera(rng)
    base = scene("coffee")
    changed = paste(base, scene("chelsea"), 0.1, (0.5, 0.5), rng)
    detector = ChangeDetector(DetectorSettings(metric="ssim", threshold=0.8))
    decisions = feed(detector, [camera(base), camera(base), camera(changed)])
    assert [d.keep for d in decisions] == [True, False, True]
    assert 0.8 < decisions[1].scores["ssim"] <= 1 and decisions[2].scores["ssim"] < 0.8
    with pytest.raises(UnknownMetricError, match="nope"):
        DetectorSettings(metric="nope", threshold=1)
    with pytest.raises(OptionError, match="needs a threshold"):
        DetectorSettings(metric="ssim")


def test_a_signed_figure_keeps_a_frame_shifted_either_way():
    base = scene("astronaut")[64:320, 64:320]
    still, left, right = base[20:-20, 20:-20], base[20:-20, 30:-10], base[20:-20, 10:-30]
    for shifted, sign in ((left, -1), (right, 1)):
        detector = ChangeDetector(DetectorSettings(metric="template_dx", threshold=2))
        first, same, moved = (detector.update(f) for f in (still, still.copy(), shifted))
        assert first.keep and not same.keep and moved.keep, moved
        assert np.sign(moved.scores["template_dx"]) == sign and "further than 2 from 0" in moved.reason


def test_a_metric_that_cannot_take_a_mask_sees_ignored_pixels_made_equal():
    base = scene("coffee")
    boxed = base.copy()
    boxed[40:120, 40:160] = 1 - boxed[40:120, 40:160]
    plain = ChangeDetector(DetectorSettings(metric="phash", threshold=0))
    ignoring = ChangeDetector(DetectorSettings(metric="phash", threshold=0, ignore=((0, 0, 300, 200),)))
    assert [d.keep for d in feed(plain, [base, boxed])] == [True, True]
    assert [d.keep for d in feed(ignoring, [base, boxed])] == [True, False]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("sensitivity", 0, "sensitivity"),
        ("min_area", 1.5, "min_area"),
        ("reference", "first", "reference"),
        ("max_gap_frames", 0, "max_gap_frames"),
        ("analysis_size", 4, "analysis_size"),
        ("lighting", float("nan"), "lighting"),
    ],
)
def test_bad_settings_name_the_parameter(field, value, message):
    with pytest.raises(OptionError, match=message):
        DetectorSettings(**{field: value})


# -- inputs, state, calibration --------------------------------------------------------------


def test_every_input_kind_gives_the_same_decision(tmp_path):
    base = photo("coffee")
    changed = base.copy()
    changed[150:250, 250:350] = 20
    paths = []
    for name, image in (("a.png", base), ("b.png", changed)):
        Image.fromarray(image).save(tmp_path / name)
        paths.append(tmp_path / name)
    inputs = {
        "paths": paths,
        "strings": [str(p) for p in paths],
        "pil": [Image.fromarray(base), Image.fromarray(changed)],
        "uint8": [base, changed],
        "float": [base.astype(np.float32) / 255, changed.astype(np.float32) / 255],
        "gray": [cv2.cvtColor(base, cv2.COLOR_RGB2GRAY), cv2.cvtColor(changed, cv2.COLOR_RGB2GRAY)],
    }
    for kind, (a, b) in inputs.items():
        decision = has_changed(a, b)
        assert decision.keep and decision.kind == "change", kind
        assert not has_changed(a, a).keep, kind


@pytest.mark.parametrize("lamp", [False, True], ids=["plain", "blown-out-lamp"])
def test_state_round_trip_continues_exactly(tmp_path, lamp):
    rng = np.random.default_rng(SEED + 9)
    camera = Camera(rng, flicker=0.1 if lamp else 0.03)
    base = lamp_pool(scene("chelsea")) if lamp else scene("chelsea")
    changed = paste(base, scene("coffee"), 0.03, (0.3, 0.3), rng)
    frames = [camera(s) for s in [base] * 5 + [changed] * 5 + [base] * 5]
    uninterrupted = ChangeDetector(DetectorSettings(max_gap_frames=6))
    whole, differences = [], []
    for frame in frames:
        whole.append(uninterrupted.update(frame))
        differences.append(uninterrupted.last_difference)
    first = ChangeDetector(DetectorSettings(max_gap_frames=6))
    part = feed(first, frames[:7])
    resumed = ChangeDetector.from_state(first.state())
    for index, frame in enumerate(frames[7:], start=7):
        part.append(resumed.update(frame))
        # the whole comparison, blown-out places included, goes on as it would have
        assert np.array_equal(resumed.last_difference, differences[index]), index
    assert [(d.keep, d.kind, d.index) for d in part] == [(d.keep, d.kind, d.index) for d in whole]
    assert [d.score for d in part[7:]] == pytest.approx([d.score for d in whole[7:]], nan_ok=True)
    with pytest.raises(OptionError, match="damaged"):
        ChangeDetector.from_state(b"not a state")


def test_calibration_silences_a_place_that_always_moves_and_keeps_real_change(tmp_path):
    rng = np.random.default_rng(SEED + 10)
    camera = Camera(rng)
    base = scene("astronaut")
    height, width = base.shape[:2]

    def with_leaves(state: np.ndarray) -> np.ndarray:
        # a "tree" in the top-left corner: every frame its leaves are somewhere else
        out = state.copy()
        leaves = rng.uniform(0.1, 0.9, (height // 32, width // 32, 3)).astype(np.float32)
        out[: height // 4, : width // 4] = cv2.resize(leaves, (width, height), interpolation=cv2.INTER_NEAREST)[: height // 4, : width // 4]
        return out

    static = [camera(with_leaves(base)) for _ in range(15)]
    default = feed(ChangeDetector(), static)
    assert any(d.keep for d in default[1:]), "the moving corner should fool an uncalibrated detector"

    profile = calibrate_detector(static)
    assert profile.report["frames"] == 15
    path = tmp_path / "profile.json"
    profile.save(path)
    loaded = NoiseProfile.load(path)
    assert loaded.settings == profile.settings and loaded.size == profile.size

    changed = paste(base, scene("coffee"), 0.015, (0.8, 0.8), rng)
    timeline = [with_leaves(base) for _ in range(8)] + [with_leaves(changed) for _ in range(4)]
    frames = [camera(s) for s in timeline]
    decisions = feed(ChangeDetector(profile=loaded), frames)
    assert [i for i, d in enumerate(decisions) if d.keep] == [0, 8], [d.reason for d in decisions]

    # the saved state carries the calibration: a detector rebuilt from it alone goes on
    # ignoring the moving corner, exactly as the uninterrupted one did
    first = ChangeDetector(profile=loaded)
    part = feed(first, frames[:4])
    resumed = ChangeDetector.from_state(first.state())
    assert resumed.profile is not None and np.array_equal(resumed.profile.stray_map, loaded.stray_map)
    part += feed(resumed, frames[4:])
    assert [(d.keep, d.score) for d in part] == [(d.keep, d.score) for d in decisions]


def test_after_calibration_a_red_coat_in_front_of_a_swaying_green_tree_is_kept(tmp_path):
    """Where the static frames moved, colour counts above twice what it did there: a green
    tree that sways barely changes colour, a red coat of the tree's brightness does. A
    profile saved before colour had a floor still loads, and then ignores colour there."""
    rng = np.random.default_rng(SEED + 14)
    camera = Camera(rng)
    base = scene("chelsea")
    height, width = base.shape[:2]
    leaves = np.float32([0.25, 0.55, 0.2]) * rng.uniform(0.6, 1.2, (height // 8, width // 8, 1)).astype(np.float32)
    top, left, side = height // 8, width // 8, height // 2

    def with_tree(state: np.ndarray) -> np.ndarray:
        out = state.copy()
        dx, dy = rng.integers(-6, 7, 2)
        swaying = np.roll(cv2.resize(leaves, (width, height), interpolation=cv2.INTER_NEAREST), (dy, dx), axis=(0, 1))
        out[top : top + side, left : left + side] = swaying[top : top + side, left : left + side]
        return out

    profile = calibrate_detector([camera(with_tree(base)) for _ in range(15)])
    assert profile.chroma_map is not None and profile.chroma_map.shape == (profile.size[1] // 2, profile.size[0] // 2)
    coat_side = int(math.sqrt(0.02 * height * width))
    y, x = top + side // 2 - coat_side // 2, left + side // 2 - coat_side // 2
    with_coat = with_tree(base)
    with_coat[y : y + coat_side, x : x + coat_side] = np.float32([0.62, 0.12, 0.1])  # about the leaves' luma
    frames = [camera(with_tree(base)) for _ in range(6)] + [camera(with_coat)] + [camera(with_tree(base)) for _ in range(2)]
    kept = [i for i, d in enumerate(feed(ChangeDetector(profile=profile), frames)) if d.keep]
    assert kept[:2] == [0, 6], kept

    path = tmp_path / "profile.json"
    profile.save(path)
    loaded = NoiseProfile.load(path)
    assert loaded.chroma_map is not None and loaded.chroma_map.shape == profile.chroma_map.shape
    document = json.loads(path.read_text())
    del document["chroma_grid"]
    path.write_text(json.dumps(document))
    assert NoiseProfile.load(path).chroma_map is None


def test_calibration_on_rain_does_not_lower_the_area_threshold():
    """Rain will fall where the static frames never showed it: when what moved covers much
    of the picture, the area threshold stays at the default instead of halving, as it
    does for frames where nothing moved."""
    rng = np.random.default_rng(SEED + 13)
    camera = Camera(rng)
    base = scene("coffee")
    profile = calibrate_detector([camera(with_rain(base, rng, 60, length=12, thickness=2, lift=1.0, top=0.95)) for _ in range(15)])
    assert profile.report["widespread"] is True and profile.report["moving_share"] > 0.05
    assert profile.settings.min_area >= DetectorSettings().min_area
    quiet = calibrate_detector([camera(base) for _ in range(15)])
    assert quiet.report["widespread"] is False and quiet.settings.min_area == DetectorSettings().min_area / 2


def test_calibration_errors_are_clear(tmp_path):
    with pytest.raises(OptionError, match="at least 3 frames"):
        calibrate_detector([photo("coffee")] * 2)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(OptionError, match="not an imgdelta noise profile"):
        NoiseProfile.load(tmp_path / "bad.json")
    with pytest.raises(OptionError, match="does not exist"):
        NoiseProfile.load(tmp_path / "missing.json")
    profile = calibrate_detector([photo("coffee")] * 3)
    with pytest.raises(OptionError, match="calibrate again"):
        ChangeDetector(profile=profile).update(photo("astronaut"))


def test_a_change_of_colour_at_the_same_brightness_is_kept():
    rng = np.random.default_rng(SEED + 11)
    camera = Camera(rng)
    base = scene("coffee")
    changed = base.copy()
    height, width = base.shape[:2]
    box = (slice(height // 3, height // 3 + height // 8), slice(width // 3, width // 3 + width // 8))
    patch = changed[box]
    luma = (0.299 * patch[..., 0] + 0.587 * patch[..., 1] + 0.114 * patch[..., 2])[..., None]
    # the same luma, pushed towards red: a person sees it, a luma-only detector cannot
    recoloured = np.clip(luma + np.float32([0.25, -0.08, -0.2]) * (luma > 0.2), 0, 1)
    changed[box] = recoloured
    grey_before = cv2.cvtColor(base, cv2.COLOR_RGB2GRAY)[box]
    grey_after = cv2.cvtColor(changed, cv2.COLOR_RGB2GRAY)[box]
    assert np.abs(grey_after - grey_before).mean() < 0.03  # the brightness hardly moved
    decisions = feed(ChangeDetector(), [camera(base), camera(base), camera(changed)])
    assert [d.keep for d in decisions] == [True, False, True], decisions[2].reason
    gray = [cv2.cvtColor(camera(s), cv2.COLOR_RGB2GRAY) for s in (base, changed)]
    assert not has_changed(*gray).keep  # without colour it is invisible: the test is fair


def test_the_background_reference_adapts_to_a_lasting_change():
    rng = np.random.default_rng(SEED + 12)
    camera = Camera(rng)
    base = scene("chelsea")
    parked = paste(base, scene("coffee"), 0.04, (0.3, 0.6), rng)
    frames = [camera(base) for _ in range(3)] + [camera(parked) for _ in range(60)]
    settings = DetectorSettings(reference="background", background_rate=0.2)
    decisions = feed(ChangeDetector(settings), frames)
    kept = [i for i, d in enumerate(decisions) if d.keep]
    assert kept[0] == 0 and 3 in kept
    assert not any(d.keep for d in decisions[40:])  # the background has learnt the parked object


def test_a_prepared_frame_gives_the_same_decision_as_the_frame():
    rng = np.random.default_rng(SEED + 13)
    camera = Camera(rng)
    base = scene("rocket")
    frames = [camera(base), camera(paste(base, scene("coffee"), 0.02, (0.4, 0.4), rng))]
    direct = feed(ChangeDetector(), frames)
    detector = ChangeDetector()
    prepared = [detector.prepare(f) for f in frames]
    assert detector.prepare(prepared[0]) is prepared[0]
    assert [detector.update(p).score for p in prepared][1] == direct[1].score


def test_a_frame_of_another_size_is_kept_as_a_size_change():
    """Compared at the analysis size, a cropped or larger frame would read as some lighting
    or area change; the reason names what happened instead."""
    base = photo("coffee")
    decision = has_changed(base, base[:-40])
    assert (decision.keep, decision.kind) == (True, "size")
    assert decision.reason == "frame size changed from 600x400 to 600x360"
    larger = cv2.resize(base, (1200, 800), interpolation=cv2.INTER_CUBIC)
    decisions = feed(ChangeDetector(), [base, base, larger, larger, base])
    assert [(d.keep, d.kind) for d in decisions] == [(True, "first"), (False, "same"), (True, "size"), (False, "same"), (True, "size")]
    assert decisions[4].reason == "frame size changed from 1200x800 to 600x400"


def test_frames_and_states_the_detector_cannot_take_are_named_plainly():
    detector = ChangeDetector()
    with pytest.raises(OptionError, match=r"uint8 or float in \[0, 1\], not uint16: convert it first \(16-bit samples: frame / 65535\)"):
        detector.update(np.zeros((48, 64, 3), np.uint16))
    detector.update((np.arange(48 * 64 * 3).reshape(48, 64, 3) % 65536).astype(np.uint16) / np.float32(65535))
    for damaged in (b"garbage", b"", ChangeDetector().state()[:40]):
        with pytest.raises(OptionError) as caught:
            ChangeDetector.from_state(damaged)
        assert str(caught.value) == "saved detector state is damaged or not a state: give the bytes ChangeDetector.state() returned"


@pytest.mark.parametrize(
    "frame, message",
    [
        (np.zeros((0, 0, 3), np.uint8), r"a frame array of shape \(0, 0, 3\) has no pixels"),
        (np.zeros((48, 64, 3), bool), r"must be uint8 or float in \[0, 1\], not bool: convert it first"),
        (np.zeros((48, 64), np.int32), r"not int32: convert it first \(16-bit samples: frame / 65535\)"),
        (np.full((48, 64, 3), 2.0), r"a frame array of floats must lie in \[0, 1\], not \[2, 2\]: scale it first"),
        (np.full((48, 64, 3), -0.5, np.float32), r"not \[-0.5, -0.5\]"),
    ],
)
def test_frame_arrays_the_detector_cannot_take_say_how_to_convert(frame, message):
    with pytest.raises(OptionError, match=message):
        ChangeDetector().update(frame)
    with pytest.raises(OptionError, match=message):
        has_changed(frame, frame)
