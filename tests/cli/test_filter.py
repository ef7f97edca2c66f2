"""``imgdelta filter`` and ``imgdelta calibrate`` through the real command line."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from imgdelta.cli.main import main
from imgdelta.examples import EXAMPLE_EVENTS, write_example_sequence


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgdelta", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> tuple[Path, Path]:
    return write_example_sequence(tmp_path_factory.mktemp("example"))


def expected_kept() -> list[str]:
    return [f"frame_{i + 1:03d}.jpg" for i in [0, *EXAMPLE_EVENTS]]


def test_the_built_in_example_keeps_exactly_its_events(example, tmp_path):
    sequence, _ = example
    out = tmp_path / "kept"
    result = run_cli("filter", str(sequence), str(out), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["total"] == 48
    assert document["kept"] == expected_kept()
    assert document["skipped"] == 48 - len(expected_kept()) and document["errors"] == []
    # the top level of OUT holds byte-identical copies of the kept frames and nothing else
    pictures = sorted(p.name for p in out.iterdir() if p.suffix == ".jpg")
    assert pictures == expected_kept()
    for name in pictures:
        assert (out / name).read_bytes() == (sequence / name).read_bytes()
    assert sorted(p.name for p in out.iterdir() if p.suffix != ".jpg") == ["manifest.sqlite"]


def test_human_output_export_and_resume(example, tmp_path, capsys):
    sequence, _ = example
    out = tmp_path / "kept"
    assert main(["filter", str(sequence), str(out), "--max-frames", "20", "--export", "csv"]) == 0
    first = capsys.readouterr().out
    assert "20 frames" in first and "kept 2" in first
    with open(out / "manifest.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 20 and {"name", "decision", "reason"} <= set(rows[0])
    assert [r["name"] for r in rows if r["decision"] == "keep"] == expected_kept()[:2]
    # the second run continues where the first stopped, and ends like an uninterrupted one
    assert main(["filter", str(sequence), str(out), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["processed"] == 28 and document["resumed_after"] == 20
    assert document["total"] == 48 and document["kept"] == expected_kept()
    # with other settings the run is not resumed silently
    assert main(["filter", str(sequence), str(out), "--sensitivity", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "other settings" in err[0]


def test_link_and_move(example, tmp_path, capsys):
    sequence, _ = example
    linked = tmp_path / "linked"
    assert main(["filter", str(sequence), str(linked), "--link"]) == 0
    for name in expected_kept():
        assert os.path.samefile(linked / name, sequence / name)
    source = tmp_path / "moved_from"
    source.mkdir()
    for path in sequence.iterdir():
        (source / path.name).write_bytes(path.read_bytes())
    moved = tmp_path / "moved"
    assert main(["filter", str(source), str(moved), "--move", "--max-frames", "30"]) == 0
    assert main(["filter", str(source), str(moved), "--move", "--json"]) == 0
    document = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert document["kept"] == expected_kept() and document["total"] == 48
    left = sorted(p.name for p in source.iterdir())
    assert len(left) == 48 - len(expected_kept()) and not set(left) & set(expected_kept())


def test_calibrate_prints_saves_and_filter_uses_the_profile(example, tmp_path, capsys):
    sequence, static = example
    profile = tmp_path / "profile.json"
    assert main(["calibrate", str(static), "--save", str(profile)]) == 0
    text = capsys.readouterr().out
    assert "12 static frames" in text and "thresholds" in text and profile.exists()
    assert main(["calibrate", str(static), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["report"]
    assert report["frames"] == 12 and report["static_area_max"] < 0.001
    for option in (["--profile", str(profile)], ["--calibrate", str(static)]):
        out = tmp_path / option[0].strip("-")
        assert main(["filter", str(sequence), str(out), "--json", *option]) == 0
        document = json.loads(capsys.readouterr().out)
        assert document["calibrated"] is True and document["kept"] == expected_kept()


def test_calibration_names_the_frames_it_could_not_read(example, tmp_path, capsys):
    _, static = example
    damaged = tmp_path / "static"
    damaged.mkdir()
    for path in sorted(static.iterdir()):
        (damaged / path.name).write_bytes(path.read_bytes())
    names = sorted(p.name for p in damaged.iterdir())
    (damaged / names[3]).write_bytes((damaged / names[3]).read_bytes()[:300])  # truncated
    assert main(["calibrate", str(damaged), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["report"]["frames"] == 11
    [line] = captured.err.splitlines()
    assert line.startswith(f"imgdelta: calibration skips an unreadable frame: {names[3]}: ")


def test_a_clock_that_keeps_every_frame_gets_a_hint_with_its_rectangle(tmp_path, capsys):
    """A burnt-in clock changes in every frame, so nearly every frame is kept; the summary points
    at the clock's place and the option that silences it, and that option works."""
    from testdata import photo

    scene = cv2.resize(photo("chelsea"), (320, 240))
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(12):
        frame = scene.copy()
        cv2.rectangle(frame, (200, 200), (315, 235), (0, 0, 0), -1)
        cv2.putText(frame, f"12:{i * 7 % 60:02d}:{i * 13 % 60:02d}", (204, 226), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
        Image.fromarray(frame).save(frames / f"f{i:02d}.jpg", quality=90)
    assert main(["filter", str(frames), str(tmp_path / "out"), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["kept_count"] >= 10
    x, y, w, h = document["busy_place"]["box"]
    # inside the clock's panel (x 200-315, y 200-235), give or take a block of the analysis
    # image (8 of its pixels, 13 of these)
    assert 187 <= x and x + w <= 328 and 187 <= y and y + h <= 248 and w > 30
    assert main(["filter", str(frames), str(tmp_path / "text")]) == 0
    [hint] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("hint: ")]
    assert f"--ignore {x},{y},{w},{h}" in hint
    assert main(["filter", str(frames), str(tmp_path / "ignored"), "--json", "--ignore", f"{x},{y},{w},{h}"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["kept_count"] == 1 and document["busy_place"] is None


def write_video(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> None:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()


def test_a_video_gives_frames_named_by_number_and_time(tmp_path, capsys):
    from testdata import photo

    scene = cv2.resize(photo("chelsea"), (320, 240))
    rng = np.random.default_rng(7)
    frames = []
    for index in range(40):
        frame = np.clip(scene + rng.normal(0, 3, scene.shape), 0, 255).astype(np.uint8)
        if index >= 25:
            frame[60:140, 100:200] = (30, 160, 40)
        frames.append(frame)
    video = tmp_path / "bikes.mp4"
    write_video(video, frames)
    out = tmp_path / "out"
    assert main(["filter", str(video), str(out), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["total"] == 40
    assert document["kept"] == ["bikes_000000_00m00.000s.jpg", "bikes_000025_00m01.000s.jpg"]
    with Image.open(out / document["kept"][1]) as kept:
        assert kept.size == (320, 240)
        assert np.asarray(kept)[100, 150, 1] > 120  # the green block is in the stored frame


def test_every_takes_one_frame_in_so_many_and_resumes_only_the_same_way(example, tmp_path, capsys):
    """``--every 3`` judges frames 0, 3, 6, ... of a folder and records only those; a run
    stopped half way goes on to the same result; another step is refused."""
    from imgdelta.store import Manifest

    sequence, _ = example
    names = sorted(p.name for p in sequence.iterdir())
    whole = tmp_path / "whole"
    assert main(["filter", str(sequence), str(whole), "--json", "--every", "3"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["total"] == 16 and document["every"] == {"frames": 3}
    with Manifest.open(whole, create=False, read_only=True) as manifest:
        assert [row.name for row in manifest.rows()] == names[::3]
    assert set(document["kept"]) <= set(names[::3]) and document["kept"][0] == names[0]
    parts = tmp_path / "parts"
    assert main(["filter", str(sequence), str(parts), "--every", "3", "--max-frames", "7"]) == 0
    capsys.readouterr()
    assert main(["filter", str(sequence), str(parts), "--json", "--every", "3"]) == 0
    assert json.loads(capsys.readouterr().out)["kept"] == document["kept"]
    assert main(["filter", str(sequence), str(parts), "--every", "4"]) == 2
    assert "holds a run that judged one frame in every 3, not one frame in every 4: " in capsys.readouterr().err
    assert main(["filter", str(sequence), str(tmp_path / "seconds"), "--every", "2s"]) == 2
    assert "needs a video with a frame rate" in capsys.readouterr().err and not (tmp_path / "seconds").exists()


def test_every_takes_a_video_frame_every_so_many_seconds(tmp_path, capsys):
    from testdata import photo

    scene = cv2.resize(photo("coffee"), (320, 240))
    video = tmp_path / "cup.mp4"
    write_video(video, [scene] * 30, fps=10.0)
    assert main(["filter", str(video), str(tmp_path / "out"), "--json", "--every", "1s"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["total"] == 3 and document["every"] == {"seconds": 1.0}  # frames 0, 10 and 20 at 10 a second
    from imgdelta.store import Manifest

    with Manifest.open(tmp_path / "out", create=False, read_only=True) as manifest:
        assert [row.idx for row in manifest.rows()] == [0, 1, 2]
        assert [row.name for row in manifest.rows()] == ["cup_000000_00m00.000s", "cup_000010_00m01.000s", "cup_000020_00m02.000s"]


def test_unreadable_frames_are_skipped_counted_and_named(example, tmp_path, capsys):
    sequence, _ = example
    source = tmp_path / "src"
    source.mkdir()
    names = sorted(p.name for p in sequence.iterdir())[:10]
    for name in names:
        (source / name).write_bytes((sequence / name).read_bytes())
    (source / names[4]).write_bytes(b"\xff\xd8\xff garbage")
    assert main(["filter", str(source), str(tmp_path / "out"), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["total"] == 10 and [e["name"] for e in document["errors"]] == [names[4]]
    assert main(["filter", str(source), str(tmp_path / "out2")]) == 0
    assert "unreadable 1" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["filter", "{tmp}/missing", "{tmp}/out"], "no such file or folder"),
        (["filter", "{tmp}/empty", "{tmp}/out"], "no image"),
        (["filter", "{tmp}/broken", "{tmp}/out"], "could be decoded"),
        (["filter", "{tmp}/empty", "{tmp}/empty"], "must not be the source folder"),
        (["filter", "{tmp}/broken", "{tmp}/out", "--max-gap", "soon"], "--max-gap"),
        (["filter", "{tmp}/broken", "{tmp}/out", "--metric", "ssim"], "--threshold"),
        (["filter", "{tmp}/broken", "{tmp}/out", "--profile", "{tmp}/missing.json"], "does not exist"),
        (["filter", "{tmp}/broken", "{tmp}/out", "--min-area", "150"], "--min-area"),
        (["filter", "{tmp}/video.mp4", "{tmp}/out"], "video"),
        (["calibrate", "{tmp}/broken"], "could be decoded"),
        (["filter", "{tmp}/broken", "{tmp}/afile"], "is a file"),
        (["filter", "{tmp}/broken", "{tmp}/out", "--export", "xml"], "--export"),
        (["capture", "--source", "{tmp}/broken", "--out", "{tmp}/out"], "use imgdelta filter"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    broken = tmp_path / "broken"
    broken.mkdir()
    for index in range(3):
        (broken / f"f{index}.jpg").write_bytes(b"\xff\xd8\xff not really")
    (tmp_path / "video.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not a movie")
    (tmp_path / "afile").write_text("not a folder")
    result = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not (tmp_path / "out").exists()  # a run that read nothing leaves nothing behind


@pytest.mark.parametrize(
    "text, expected",
    [("50", (50, None)), ("50f", (50, None)), ("30s", (None, 30.0)), ("10m", (None, 600.0)), ("2h", (None, 7200.0)), ("1.5 min", (None, 90.0))],
)
def test_gaps_are_frames_or_durations(text, expected):
    from imgdelta.cli.timelapse import parse_gap

    assert parse_gap(text, "--max-gap") == expected


@pytest.mark.parametrize("text", ["0", "soon", "1.5f", "-3s", "10 days"])
def test_a_bad_gap_names_the_option(text):
    from imgdelta.cli.timelapse import parse_gap
    from imgdelta.errors import OptionError

    with pytest.raises(OptionError, match="--max-gap"):
        parse_gap(text, "--max-gap")


def test_a_run_resumes_only_its_own_source_and_never_judges_a_file_twice(example, tmp_path, capsys):
    sequence, static = example
    source = tmp_path / "src"
    source.mkdir()
    names = sorted(p.name for p in sequence.iterdir())
    for name in names[10:30]:
        (source / name).write_bytes((sequence / name).read_bytes())
    out = tmp_path / "out"
    assert main(["filter", str(source), str(out)]) == 0
    # frames that sort before the ones already judged arrive later (a late copy)
    for name in names[:10]:
        (source / name).write_bytes((sequence / name).read_bytes())
    assert main(["filter", str(source), str(out), "--json"]) == 0
    document = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert document["total"] == 30 and document["processed"] == 10
    assert len(document["kept"]) == len(set(document["kept"]))
    # they are judged after the frames they sort before, and the run says so
    assert document["out_of_order"] == names[:10]
    for name in names[30:33]:  # frames that sort after every judged one are in order
        (source / name).write_bytes((sequence / name).read_bytes())
    (source / "frame_000b.jpg").write_bytes((sequence / names[0]).read_bytes())
    assert main(["filter", str(source), str(out)]) == 0
    said = capsys.readouterr().out
    assert "note: 1 new file (first frame_000b.jpg) sorts among frames judged before" in said
    assert main(["filter", str(static), str(out)]) == 2
    assert "holds a run of" in capsys.readouterr().err


def test_time_gaps_use_the_files_times_in_a_folder(example, tmp_path, capsys):
    _, static = example
    source = tmp_path / "src"
    source.mkdir()
    for index, path in enumerate(sorted(static.iterdir())):
        target = source / path.name
        target.write_bytes(path.read_bytes())
        os.utime(target, (1_700_000_000 + 60 * index, 1_700_000_000 + 60 * index))  # a frame a minute
    assert main(["filter", str(source), str(tmp_path / "out"), "--max-gap", "5m", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["kept"] == [f"static_{i:03d}.jpg" for i in (1, 6, 11)]


def test_a_run_resumes_only_with_the_calibration_it_started_with(example, tmp_path, capsys):
    """Two profiles can carry the same thresholds (or thresholds given on the command line
    can replace theirs) and still differ in their per-pixel floors: a run made with one
    must not go on with the other."""
    from dataclasses import replace

    from imgdelta import NoiseProfile

    sequence, static = example
    first = tmp_path / "first.json"
    assert main(["calibrate", str(static), "--save", str(first)]) == 0
    profile = NoiseProfile.load(first)
    floor = profile.stray_map.copy()
    floor[: floor.shape[0] // 2] = 0.2  # the top half silenced, as if something moved there
    other = tmp_path / "other.json"
    replace(profile, stray_map=floor).save(other)
    assert NoiseProfile.load(other).settings == profile.settings
    assert NoiseProfile.load(first).fingerprint() == profile.fingerprint() != NoiseProfile.load(other).fingerprint()
    capsys.readouterr()

    out = tmp_path / "run"
    thresholds = ["--min-area", "0.3", "--lighting", "1.25"]
    assert main(["filter", str(sequence), str(out), "--profile", str(first), *thresholds, "--max-frames", "10"]) == 0
    capsys.readouterr()
    assert main(["filter", str(sequence), str(out), "--profile", str(other), *thresholds]) == 2
    assert capsys.readouterr().err.strip() == (
        f"imgdelta filter: {out} holds a run made with another calibration (its per-pixel floors differ): "
        "resume it with the same profile, or write to a new folder"
    )
    assert main(["filter", str(sequence), str(out), "--profile", str(other)]) == 2  # its own thresholds differ too
    capsys.readouterr()
    assert main(["filter", str(sequence), str(out), "--profile", str(first), *thresholds, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["resumed_after"] == 10
