"""``imgdelta capture`` and ``imgdelta filter`` with real faults injected into real processes.

The camera is an HTTP snapshot server in this process (:class:`capture_helpers.Camera`);
imgdelta runs as a child process, exactly as a user runs it. The faults are real: the
server goes away and comes back on the same port, the kernel refuses writes past a file
size limit (``RLIMIT_FSIZE``, the stand-in for a full disk that needs no root), signals,
and ``kill -9`` at random moments. Afterwards every kept frame must be a complete image,
byte-identical to what the camera sent (or to the source file), listed in an intact
manifest whose rows run 0..N-1 without a gap.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from capture_helpers import (
    TIMESTAMP_NAME,
    Camera,
    Renames,
    Run,
    blinking_box,
    check_folder,
    images,
    imgdelta,
    manifest,
    temps,
    wait_for,
)

SEED = 20240611
INTERVAL = "0.05"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and resource limits")


def capture(camera: Camera, out: Path, *extra: str) -> list[str]:
    return imgdelta("capture", "--source", camera.url, "--interval", INTERVAL, "--out", str(out), *extra)


@pytest.fixture
def camera():
    cam = Camera(seed=SEED).start()
    try:
        yield cam
    finally:
        cam.stop()


def _error_lines(stderr: str, command: str = "capture") -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"imgdelta {command}:")]


def _kept_count(out: Path) -> int:
    return len(images(out)) if out.is_dir() else 0


# ---------------------------------------------------------------- a run that ends by itself


def test_capture_max_frames_keeps_changes_named_by_time(tmp_path, camera):
    out = tmp_path / "out"
    with Run(capture(camera, out, "--max-frames", "30"), tmp_path, "run") as run:
        assert run.wait(30) == 0, run.stderr
    assert run.stdout == ""
    rows, unlisted = check_folder(out, camera)
    assert len(rows) == 30 and unlisted == [] and temps(out) == []
    kept = [row.kept_name for row in rows if row.decision == "keep"]
    assert 4 <= len(kept) <= 10  # the box blinks every 5 requests: about one kept frame in five
    assert all(TIMESTAMP_NAME.match(name) for name in kept), kept
    assert kept == sorted(kept)  # timestamps sort in capture order
    assert sorted(images(out)) == sorted(kept)
    lines = run.stderr.splitlines()
    assert "Traceback" not in run.stderr
    assert lines[-1] == f"capture max frames: 30 frames seen, {len(kept)} kept, in {out}"
    # in a log (not a terminal) the status line is written once per kept frame
    status = [line for line in lines[:-1] if " frames seen, " in line]
    kept_rows = [row for row in rows if row.kept_name]
    starts = [f"{row.idx + 1} frames seen, {n} kept, last kept " for n, row in enumerate(kept_rows, 1)]
    assert len(status) == len(starts)
    assert [line[: len(start)] for line, start in zip(status, starts)] == starts


def test_capture_exec_hook_runs_on_every_kept_frame(tmp_path, camera):
    out, log = tmp_path / "out", tmp_path / "hook.log"
    code = f"import sys; open({str(log)!r}, 'a').write(sys.argv[1] + '\\n')"
    hook = f"{shlex.quote(sys.executable)} -c {shlex.quote(code)} {{}}"
    with Run(capture(camera, out, "--max-frames", "20", "--exec", hook), tmp_path, "run") as run:
        assert run.wait(30) == 0, run.stderr
    rows, _ = check_folder(out, camera)
    kept = [str(out / row.kept_name) for row in rows if row.decision == "keep"]
    assert len(kept) >= 3
    assert sorted(log.read_text().splitlines()) == sorted(kept)
    assert run.stdout == ""


# ---------------------------------------------------------------- signals


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_capture_stops_cleanly_on_a_signal_and_resumes(tmp_path, camera, signum):
    """The signal comes the instant a kept image is renamed into place, before its row is
    written: the one moment where a stop could tear a frame from its manifest row."""
    name = signal.Signals(signum).name
    out = tmp_path / "out"
    rows: list = []
    for round_ in range(3):
        with Renames(out) as renames, Run(capture(camera, out), tmp_path, f"round{round_}") as run:
            renames.wait(2, 15, alive=lambda: run.process.poll() is None)
            run.signal(signum)
            assert run.wait(5) == 0, run.stderr
        assert run.stderr.splitlines()[-1].startswith(f"capture stopped by {name}: ")
        assert "Traceback" not in run.stderr and run.stdout == ""
        resumed, unlisted = check_folder(out, camera)  # idx 0..N-1: no gap, no duplicate
        assert resumed[: len(rows)] == rows and len(resumed) > len(rows)
        assert temps(out) == []
        assert unlisted == [], f"round {round_}: stopped by {name}, {unlisted} stored but not in the manifest"
        rows = resumed

    with Run(capture(camera, out, "--max-frames", "10"), tmp_path, "again") as again:
        assert again.wait(30) == 0, again.stderr
    resumed, unlisted = check_folder(out, camera)
    assert len(resumed) == len(rows) + 10 and resumed[: len(rows)] == rows
    assert len({row.name for row in resumed}) == len(resumed)
    assert unlisted == []


# ---------------------------------------------------------------- kill -9


_STALE = ".20200101-000000.000.jpg.0badcafe.tmp"


def test_capture_survives_kill_9_many_times(tmp_path, camera):
    """Ten kills: even rounds after a random delay, odd ones the instant an image appears."""
    rng = np.random.default_rng(SEED)
    out = tmp_path / "out"
    grew = 0
    previous: list = []
    for round_ in range(10):
        before = camera.requests
        with Renames(out) as renames, Run(capture(camera, out), tmp_path, f"round{round_}") as run:
            if round_ % 2:
                renames.wait(int(rng.integers(1, 4)), 15, alive=lambda: run.process.poll() is None)
            else:
                exited = run.process.poll
                wait_for(lambda: camera.requests > before or exited() is not None, 15, "the capture to reach the camera")
                time.sleep(rng.uniform(0.0, 1.0))
            assert run.process.poll() is None, run.stderr
            run.kill()
        assert run.process.returncode == -signal.SIGKILL
        assert "Traceback" not in run.stderr
        if (out / "manifest.sqlite").exists():
            rows, _ = check_folder(out, camera, readonly=True)
            assert rows[: len(previous)] == previous  # nothing committed is ever lost
            grew += len(rows) > len(previous)
            previous = rows
    assert grew >= 5

    # a temporary file as a kill leaves it, half an image: the next start removes it
    (out / _STALE).write_bytes((out / images(out)[0]).read_bytes()[:1000])
    with Run(capture(camera, out, "--max-frames", "10"), tmp_path, "final") as final:
        assert final.wait(30) == 0, final.stderr
    rows, unlisted = check_folder(out, camera)
    assert temps(out) == []
    assert len(rows) == len(previous) + 10 and rows[: len(previous)] == previous
    assert sum(row.decision == "keep" for row in rows) >= 10
    # a kill between an image's rename and its row leaves a complete image no row lists:
    # at most one per kill, and check_folder has checked that each is complete
    assert len(unlisted) <= 10
    kept = sum(row.decision == "keep" for row in rows)
    print(f"kill -9 x10: {len(rows)} rows, {kept} kept, {len(unlisted)} complete images no row lists")


# ---------------------------------------------------------------- the camera goes away


def test_capture_retries_while_the_camera_is_gone_and_continues(tmp_path, camera):
    out = tmp_path / "out"
    with Run(capture(camera, out, "--retry-max", "1"), tmp_path, "run") as run:
        wait_for(lambda: _kept_count(out) >= 2 or run.process.poll() is not None, 15, "two kept frames")
        camera.stop()
        gone_wall, gone = time.time(), len(run.stderr)
        time.sleep(1.5)
        assert run.process.poll() is None, run.stderr
        outage = run.stderr[gone:]
        camera.start()  # the same port
        back_wall, back = time.time(), len(run.stderr)
        # two status lines after the return: each is written once its kept frame is listed
        def recovered() -> bool:
            return run.stderr[back:].count(" frames seen, ") >= 2 or run.process.poll() is not None

        wait_for(recovered, 15, "kept frames after the camera came back")
        run.signal(signal.SIGTERM)
        assert run.wait(5) == 0, run.stderr
    retries = [line for line in outage.splitlines() if "retrying in" in line]
    assert 1 <= len(retries) <= 4, outage  # it says so, about once a second: no spinning
    assert "source lost" in retries[0] and camera.url in retries[0]
    assert "source back" in run.stderr[gone:]
    assert "Traceback" not in run.stderr and run.stdout == ""
    rows, unlisted = check_folder(out, camera)
    assert unlisted == []
    assert not [row for row in rows if gone_wall + 0.5 < row.recorded < back_wall]
    after = [row for row in rows if row.recorded > back_wall]
    assert len(after) >= 5 and sum(row.decision == "keep" for row in after) >= 2


def test_capture_without_a_camera_fails_and_a_stop_ends_the_retry_wait(tmp_path, camera):
    camera.stop()
    with Run(capture(camera, tmp_path / "never"), tmp_path, "never") as run:
        assert run.wait(30) == 2
    assert run.stdout == "" and run.stderr.count("\n") == 1
    assert run.stderr.startswith(f"imgdelta capture: cannot reach URL {camera.url}: ")

    camera.start()
    out = tmp_path / "out"
    with Run(capture(camera, out, "--retry-max", "30"), tmp_path, "run") as run:
        wait_for(lambda: _kept_count(out) >= 1 or run.process.poll() is not None, 15, "a kept frame")
        camera.stop()
        wait_for(lambda: "retrying in" in run.stderr or run.process.poll() is not None, 15, "a retry")
        run.signal(signal.SIGTERM)
        started = time.monotonic()
        assert run.wait(5) == 0, run.stderr
    assert time.monotonic() - started < 1.0  # the wait before the next attempt ends at once
    assert run.stderr.splitlines()[-1].startswith("capture stopped by SIGTERM: ")
    check_folder(out, camera)


# ---------------------------------------------------------------- a full disk

# RLIMIT_FSIZE makes the kernel refuse any write past N bytes of one file (EFBIG), for
# imgdelta's images and its manifest alike: a full disk without root or a loop device.
_LIMITED = textwrap.dedent(
    """
    import resource, signal, sys
    from imgdelta.cli.main import main

    limit = int(sys.argv[1])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit now fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    sys.exit(main(sys.argv[2:]))
    """
)


def _small_then_big(switch: int):
    """Requests before ``switch``: a small, still scene (7 KB). From then on: another scene,
    still too, whose fine texture makes each JPEG about 640 KB."""
    small = blinking_box(period=10**9)
    h, w = 768, 1024
    big = np.empty((h, w, 3), np.float32)
    big[:, : w // 2], big[:, w // 2 :] = 40.0, 200.0
    big += np.random.default_rng(SEED).normal(0.0, 60.0, big.shape).astype(np.float32)

    def render(n: int, rng: np.random.Generator):
        if n < switch:
            return small(n, rng)
        return "big", np.clip(big + rng.normal(0.0, 2.0, big.shape), 0, 255).astype(np.uint8)

    return render


@pytest.mark.parametrize(
    ("case", "limit", "extra", "failing"),
    [
        # an image does not fit: 640 KB frames over a 400 KB limit; a small analysis size
        # keeps the detector state in the manifest small, so the manifest still fits
        ("image", 400_000, ("--analysis-size", "64"), r"\.jpg: file too large"),
        # the manifest does not fit: every commit adds the detector's state (its reference
        # frame, over 100 KB) to the manifest's write-ahead log
        ("manifest", 1_000_000, (), r"manifest\.sqlite: .*(full|file size limit)"),
    ],
    ids=["image-write-fails", "manifest-write-fails"],
)
def test_capture_on_a_full_disk_stops_cleanly_and_resumes(tmp_path, case, limit, extra, failing):
    camera = Camera(_small_then_big(12) if case == "image" else None, seed=SEED).start()
    out = tmp_path / "out"
    try:
        # --max-frames: should the limit never be reached, the run ends (and fails) in 5 s
        argv = [sys.executable, "-c", _LIMITED, str(limit), *capture(camera, out, "--max-frames", "100", *extra)[3:]]
        with Run(argv, tmp_path, "full") as run:
            assert run.wait(30) == 2, run.stderr
        assert "Traceback" not in run.stderr and run.stdout == ""
        errors = _error_lines(run.stderr)
        assert len(errors) == 1, run.stderr
        assert re.search(failing, errors[0]), errors[0]
        rows, unlisted = check_folder(out, camera)
        assert temps(out) == []  # nothing half-written
        assert len(unlisted) <= (1 if case == "manifest" else 0)  # an image written, its row refused
        before = len(rows)
        assert before >= 1

        with Run(capture(camera, out, "--max-frames", "10", *extra), tmp_path, "room") as again:
            assert again.wait(30) == 0, again.stderr
        rows, _ = check_folder(out, camera)
        assert len(rows) == before + 10
        if case == "image":
            # The big scene was a change the full disk kept from being stored. With room
            # again, it must be kept: the last kept frame in OUT still shows the small one.
            scenes = [camera.scene_of(out / row.kept_name) for row in rows if row.decision == "keep"]
            assert "big" in scenes, f"the change the full disk interrupted was never kept: {scenes}"
    finally:
        camera.stop()


# ---------------------------------------------------------------- filter: kill -9, resume


def _write_timelapse(folder: Path, count: int = 150) -> None:
    """``count`` 960x540 JPEG frames: a grey scene where a dark box appears, moves and leaves
    every 10 frames, with fresh sensor noise in every frame."""
    rng = np.random.default_rng(SEED)
    h, w = 540, 960
    noise = [rng.normal(0.0, 3.0, (h, w, 3)).astype(np.int16) for _ in range(4)]
    base = np.broadcast_to(np.linspace(70, 190, w).astype(np.int16)[None, :, None], (h, w, 3))
    folder.mkdir()
    for n in range(count):
        scene = base.copy()
        step = n // 10
        if step % 2:
            x = (step * 53) % (w // 2)
            scene[h // 4 : 3 * h // 4, x : x + w // 3] = 25
        frame = scene + np.roll(noise[int(rng.integers(4))], int(rng.integers(h)), axis=0)
        Image.fromarray(np.clip(frame, 0, 255).astype(np.uint8)).save(folder / f"frame_{n:04d}.jpg", quality=90)


@pytest.fixture(scope="module")
def timelapse(tmp_path_factory):
    """(frames folder, OUT of an uninterrupted filter run)."""
    root = tmp_path_factory.mktemp("timelapse")
    _write_timelapse(root / "frames")
    with Run(imgdelta("filter", str(root / "frames"), str(root / "reference")), root, "reference") as run:
        assert run.wait(60) == 0, run.stderr
    return root / "frames", root / "reference"


def test_filter_resumes_after_kill_9_with_the_same_result(tmp_path, timelapse):
    frames, reference = timelapse
    expected = [row.kept_name for row in manifest(reference) if row.decision == "keep"]
    assert 10 <= len(expected) <= 20
    rng = np.random.default_rng(SEED)
    out = tmp_path / "out"
    kills = 0
    previous: list = []
    for round_ in range(12):
        # a kill at a random moment after 1-3 more kept frames: filter is too fast for delays
        # on a clock to land inside the run reliably, progress is what this waits for
        target = _kept_count(out) + int(rng.integers(1, 4))
        with Run(imgdelta("filter", str(frames), str(out)), tmp_path, f"round{round_}") as run:
            wait_for(lambda: _kept_count(out) >= target or run.process.poll() is not None, 30, "kept frames", poll=0.002)
            time.sleep(rng.uniform(0.0, 0.03))
            if run.process.poll() is None:
                run.kill()
                kills += 1
        assert "Traceback" not in run.stderr
        if run.process.returncode == 0:
            break
        if (out / "manifest.sqlite").exists():
            rows, _ = check_folder(out, readonly=True)
            assert rows[: len(previous)] == previous
            previous = rows
    assert kills >= 4
    with Run(imgdelta("filter", str(frames), str(out)), tmp_path, "last") as run:
        assert run.wait(60) == 0, run.stderr
    assert "Traceback" not in run.stderr and temps(out) == []
    rows, unlisted = check_folder(out)
    assert [row.name for row in rows] == sorted(p.name for p in frames.iterdir())  # one row per frame
    assert [row.kept_name for row in rows if row.decision == "keep"] == expected
    assert unlisted == []
    for name in expected:
        assert (out / name).read_bytes() == (frames / name).read_bytes()


def test_filter_refuses_to_resume_with_other_settings(tmp_path, timelapse):
    frames, reference = timelapse
    before = manifest(reference)
    with Run(imgdelta("filter", str(frames), str(reference), "--sensitivity", "3"), tmp_path, "other") as run:
        assert run.wait(30) == 2
    assert run.stdout == ""
    assert run.stderr.splitlines() == [
        f"imgdelta filter: {reference} holds a run made with other settings (sensitivity 4.0 -> 3.0): "
        "resume it with the same options, or write to a new folder"
    ]
    assert manifest(reference) == before and len(before) == 150


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_filter_stops_on_a_signal_says_so_and_resumes(tmp_path, timelapse, signum):
    """A stop signal ends the run between two frames: the summary of what is stored, a line
    saying why it stopped, exit status 128 + the signal; the next run goes on from there."""
    frames, reference = timelapse
    expected = [row.kept_name for row in manifest(reference) if row.decision == "keep"]
    out = tmp_path / "out"
    with Run(imgdelta("filter", str(frames), str(out), "--json"), tmp_path, "stopped") as run:
        wait_for(lambda: _kept_count(out) >= 3 or run.process.poll() is not None, 30, "kept frames", poll=0.002)
        run.signal(signum)
        assert run.wait(30) == 128 + signum, run.stderr
    name = signal.Signals(signum).name
    assert run.stderr.splitlines()[-1] == f"imgdelta filter: stopped by {name}; run the same command again to go on"
    document = json.loads(run.stdout)
    assert document["stopped"] == f"stopped by {name}" and 0 < document["total"] < 150
    rows, unlisted = check_folder(out, readonly=True)
    assert len(rows) == document["total"] and unlisted == []
    with Run(imgdelta("filter", str(frames), str(out)), tmp_path, "resumed") as run:
        assert run.wait(60) == 0, run.stderr
    assert [row.kept_name for row in manifest(out) if row.decision == "keep"] == expected
