"""The time-lapse benchmark's data generator: deterministic, and its ground truth consistent."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import timelapse_data as data  # noqa: E402

SIZE = (160, 120)
FRAMES = 40
STATIC = 4


def small(index: int, seed: int = 7, **options) -> data.Scene:
    return data.make_scene(index, seed=seed, size=SIZE, frames=FRAMES, static_frames=STATIC, **options)


@pytest.fixture(scope="module")
def scenes() -> list[data.Scene]:
    # Busier than the benchmark's, so that every kind of event shows up.
    return [small(i, events_per_100=25, ambiguous_share=0.4) for i in range(10)]


def test_same_settings_give_the_same_bytes():
    a, b = small(2), small(2)
    assert a.events == b.events and a.camera == b.camera
    for t in (0, a.events[0].frame, FRAMES - 1):
        assert a.render(t) == b.render(t)
    assert a.render(1, static=True) == b.render(1, static=True)


def test_frames_do_not_depend_on_rendering_order():
    a, b = small(1), small(1)
    forward = [a.render(t) for t in range(0, FRAMES, 7)]
    backward = [b.render(t) for t in reversed(range(0, FRAMES, 7))][::-1]
    assert forward == backward


def test_another_seed_gives_other_data():
    assert small(0, seed=1).render(0) != small(0, seed=2).render(0)


def test_frames_are_jpeg_of_the_asked_size():
    rgb = data.decode(small(0).render(3))
    assert rgb.shape == (SIZE[1], SIZE[0], 3) and rgb.dtype == np.uint8


def test_events_lie_inside_the_sequence_and_apart(scenes):
    for scene in scenes:
        frames = [e.frame for e in scene.events]
        assert frames == sorted(frames)
        assert all(data.MIN_GAP <= f <= FRAMES - 1 - data.WINDOW for f in frames)
        assert all(b - a >= data.MIN_GAP for a, b in zip(frames, frames[1:]))
        assert set(scene.scored).isdisjoint(scene.ambiguous)
        assert len(scene.scored) + len(scene.ambiguous) == len(scene.events)


def test_every_event_kind_appears(scenes):
    kinds = {(e.kind, e.note) for s in scenes for e in s.events}
    for kind in ("appear", "move", "leave", "lights-off", "relight"):
        assert (kind, "") in kinds, kind
    assert ("appear", "tiny") in kinds and ("appear", "faint") in kinds


def test_event_sizes_and_contrasts_are_within_their_ranges(scenes):
    for event in (e for s in scenes for e in s.events):
        single = event.area / 2 if event.kind == "move" else event.area
        if event.scored:
            assert event.visible >= max(data.MIN_VISIBLE_SHARE, data.VISIBLE_SHARE_OF_AREA * event.area) - 1e-9
            if event.group == "object":
                assert data.SCORED_AREA[0] <= single < data.SCORED_AREA[1]
            elif event.group == "relight":
                assert data.RELIGHT_AREA[0] <= event.area < data.RELIGHT_AREA[1]
        elif event.note == "tiny":
            assert data.TINY_AREA[0] <= single < data.TINY_AREA[1]
        else:
            assert event.note == "faint"
            assert data.FAINT_AREA[0] <= single < data.FAINT_AREA[1]
            assert event.contrast <= data.FAINT_LEVELS[1] and event.visible <= data.FAINT_MAX_VISIBLE


def test_states_follow_the_events(scenes):
    scene = scenes[0]
    first = scene.events[0].frame
    assert scene.state_at(first - 1) == 0 and scene.state_at(first) == 1
    assert scene.state_at(FRAMES - 1) == len(scene.events)
    assert not np.array_equal(scene.clean(1), scene.clean(0))


def test_static_clip_has_no_events():
    scene = small(3)
    static = np.stack([data.decode(scene.render(t, static=True)) for t in range(STATIC)]).astype(np.float64)
    first = data.decode(scene.render(0)).astype(np.float64)
    # Only the camera moves: every static frame is close to the sequence's opening frame.
    assert np.abs(static - first).mean(axis=(1, 2, 3)).max() < 6


def test_written_folder_holds_frames_and_truth(tmp_path: Path):
    scene = small(4, events_per_100=10)
    paths = scene.write(tmp_path)
    assert len(paths["seq"]) == FRAMES and len(paths["static"]) == STATIC
    assert paths["seq"][5].read_bytes() == scene.render(5)
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert [e["frame"] for e in truth["events"]] == [e.frame for e in scene.events]
    assert truth["light"] == scene.camera.light and truth["window"] == data.WINDOW


def test_too_short_a_sequence_is_refused():
    with pytest.raises(ValueError, match=r"frames=5 is too short: use at least 8"):
        data.make_scene(0, frames=5)
