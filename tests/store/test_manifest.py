"""The run's manifest: round trips, idempotent rows, exports, damaged files, and real faults
(a file size limit under SQLite, and ``kill -9`` at random moments while frames are written)."""

from __future__ import annotations

import csv
import io
import json
import math
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgdelta.errors import InputError, OptionError, StorageError
from imgdelta.store import (
    MANIFEST_NAME,
    SCHEMA_VERSION,
    FrameRecord,
    Manifest,
    encode_image,
    remove_stale_temps,
    write_atomic,
)

SEED = 20240611


def _record(idx: int, **changes) -> FrameRecord:
    fields = dict(
        idx=idx,
        name=f"frame{idx:04d}.jpg",
        time=idx / 30,
        decision="keep" if idx % 3 == 0 else "skip",
        reason=f"reason {idx}",
        score=idx / 100,
        threshold=0.05,
        scores={"ssim": 1 - idx / 100, "mse": idx / 1000},
        kept_name=f"kept{idx:04d}.jpg" if idx % 3 == 0 else None,
        recorded=1_700_000_000.0 + idx,
    )
    fields.update(changes)
    return FrameRecord(**fields)


def _raw(out: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(out / MANIFEST_NAME)) as conn:
        return conn.execute(sql).fetchall()


def _raw_write(out: Path, sql: str) -> None:
    with closing(sqlite3.connect(out / MANIFEST_NAME)) as conn:
        with conn:
            conn.execute(sql)


# ---------------------------------------------------------------- round trips


def test_round_trip_and_queries(tmp_path):
    records = [_record(i) for i in range(10)]
    with Manifest.open(tmp_path / "out", create=True) as manifest:
        assert (len(manifest), manifest.last_index(), manifest.state()) == (0, -1, None)
        assert manifest.counts() == {"total": 0, "kept": 0, "skipped": 0, "errors": 0}
        for record in records[:9]:
            manifest.record(record)
        manifest.record(_record(9, decision="error", reason="cannot decode", kept_name=None))
        assert manifest.pending == 10 and len(manifest) == 0  # buffered rows are not visible
        manifest.commit()
        assert manifest.pending == 0
        assert list(manifest.rows()) == records[:9] + [_record(9, decision="error", reason="cannot decode", kept_name=None)]
        assert manifest.kept() == [records[0], records[3], records[6]]
        assert manifest.counts() == {"total": 10, "kept": 3, "skipped": 6, "errors": 1}
        assert (len(manifest), manifest.last_index()) == (10, 9)
    with Manifest.open(tmp_path / "out", create=False) as manifest:
        assert list(manifest.rows())[:9] == records[:9]


def test_recorded_defaults_to_now_and_records_are_values(tmp_path):
    before = time.time()
    with Manifest.open(tmp_path, create=True) as manifest:
        manifest.record(FrameRecord(idx=0, name="a", decision="skip"))
        manifest.commit()
        (row,) = manifest.rows()
    assert before <= row.recorded <= time.time()
    assert row == FrameRecord(idx=0, name="a", decision="skip", scores={}, recorded=row.recorded)
    assert hash(row) == hash(FrameRecord(idx=0, name="a", decision="skip", recorded=row.recorded))


def test_rows_reads_many_pages_in_order(tmp_path):
    with Manifest.open(tmp_path, create=True) as manifest:
        for idx in reversed(range(4501)):
            manifest.record(FrameRecord(idx=idx, name=str(idx), decision="skip", recorded=0.0))
        manifest.commit()
        assert [r.idx for r in manifest.rows()] == list(range(4501))


def test_insert_or_replace_makes_reprocessing_idempotent(tmp_path):
    with Manifest.open(tmp_path, create=True) as manifest:
        for idx in range(10):
            manifest.record(_record(idx))
        manifest.commit(state=b"after 9", state_idx=9)
        # a resumed run processes 5..9 again, from an older state, deciding differently
        for idx in range(5, 10):
            manifest.record(_record(idx, decision="skip", kept_name=None, reason="again"))
        manifest.record(_record(7, decision="error", kept_name=None, reason="twice in one batch"))
        manifest.commit(state=b"after 9, again", state_idx=9)
        rows = list(manifest.rows())
        assert [r.idx for r in rows] == list(range(10))
        assert rows[:5] == [_record(i) for i in range(5)]
        assert [r.reason for r in rows[5:]] == ["again", "again", "twice in one batch", "again", "again"]
        assert manifest.counts() == {"total": 10, "kept": 2, "skipped": 7, "errors": 1}
        assert manifest.state() == (9, b"after 9, again")


def test_nan_and_infinities(tmp_path):
    nan, inf = float("nan"), float("inf")
    record = _record(0, time=nan, score=nan, threshold=inf, scores={"a": nan, "b": inf, "c": -inf, "d": 0.25})
    with Manifest.open(tmp_path, create=True) as manifest:
        manifest.record(record)
        manifest.commit()
        (row,) = manifest.rows()
    assert row.scores == {"a": None, "b": None, "c": None, "d": 0.25}
    assert (row.time, row.score, row.threshold) == (None, None, inf)
    assert _raw(tmp_path, "SELECT scores, score IS NULL, time IS NULL FROM frames") == [
        ('{"a":null,"b":null,"c":null,"d":0.25}', 1, 1)
    ]


def test_numpy_scalars_are_stored_as_floats(tmp_path):
    with Manifest.open(tmp_path, create=True) as manifest:
        manifest.record(_record(0, score=np.float32(0.5), scores={"ssim": np.float64(0.75), "n": np.nan}))
        manifest.commit()
        (row,) = manifest.rows()
    assert (row.score, row.scores) == (0.5, {"ssim": 0.75, "n": None})


def test_state_blob_round_trip(tmp_path):
    blob = np.random.default_rng(SEED).integers(0, 256, 100_000, dtype=np.uint8).tobytes()
    with Manifest.open(tmp_path, create=True) as manifest:
        manifest.commit(state=blob, state_idx=41)  # state alone, no rows
        assert manifest.state() == (41, blob)
        assert manifest.last_index() == -1
        manifest.record(_record(42))
        manifest.commit(state=b"", state_idx=42)
    with Manifest.open(tmp_path, create=False) as manifest:
        assert manifest.state() == (42, b"")
        with pytest.raises(OptionError, match="state and state_idx go together"):
            manifest.commit(state=b"x")
        with pytest.raises(OptionError, match="state and state_idx go together"):
            manifest.commit(state_idx=3)


def test_settings(tmp_path):
    with Manifest.open(tmp_path, create=True) as manifest:
        assert manifest.get_setting("metrics") is None
        assert manifest.get_setting("metrics", ["ssim"]) == ["ssim"]
        manifest.set_setting("metrics", {"ssim": 0.95, "names": ["a", "b"], "on": True})
        assert manifest.get_setting("schema_version") == SCHEMA_VERSION
        with pytest.raises(OptionError, match="'schema_version' is reserved"):
            manifest.set_setting("schema_version", 2)
        with pytest.raises(OptionError, match="setting 'path' must be JSON-serialisable"):
            manifest.set_setting("path", tmp_path)
    with Manifest.open(tmp_path, create=False) as manifest:
        assert manifest.get_setting("metrics") == {"ssim": 0.95, "names": ["a", "b"], "on": True}


def test_context_manager_commits_on_success_and_drops_on_error(tmp_path):
    with Manifest.open(tmp_path, create=True) as manifest:
        manifest.record(_record(0))
    with pytest.raises(RuntimeError, match="boom"):
        with Manifest.open(tmp_path, create=True) as manifest:
            manifest.record(_record(1))
            raise RuntimeError("boom")
    manifest = Manifest.open(tmp_path, create=False)
    manifest.record(_record(2))
    manifest.close()  # close() alone drops what was not committed
    manifest.close()
    assert manifest.closed
    with pytest.raises(ValueError, match="the manifest is closed"):
        manifest.last_index()
    with Manifest.open(tmp_path, create=False) as manifest:
        assert [r.idx for r in manifest.rows()] == [0]


def test_frame_record_validation():
    with pytest.raises(OptionError, match=r"decision must be one of 'keep', 'skip', 'error', not 'maybe'"):
        FrameRecord(idx=0, name="a", decision="maybe")
    with pytest.raises(OptionError, match=r"idx must be an integer >= 0, not -1"):
        FrameRecord(idx=-1, name="a", decision="skip")
    with pytest.raises(TypeError):
        FrameRecord(0, "a", None, "skip")  # keyword-only: ten columns are too many to pass by position


# ---------------------------------------------------------------- export


def test_export_csv_and_jsonl(tmp_path):
    with Manifest.open(tmp_path, create=True) as manifest:
        manifest.record(_record(0, scores={"ssim": 0.5, "psnr": float("inf")}, time=0.0, score=0.5, threshold=0.25))
        manifest.record(_record(1, scores={"mse": 0.125}, reason='comma, "quote"\nnewline', time=None))
        manifest.commit()
        manifest.record(_record(2))  # not committed: not exported
        manifest.export(tmp_path / "frames.csv", "csv")
        manifest.export(tmp_path / "frames.jsonl", fmt="jsonl")

    with open(tmp_path / "frames.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "idx", "name", "time", "decision", "reason", "score", "threshold", "kept_name", "recorded",
        "score_ssim", "score_psnr", "score_mse",
    ]  # fmt: skip
    assert rows[0] == {
        "idx": "0", "name": "frame0000.jpg", "time": "0.0", "decision": "keep", "reason": "reason 0",
        "score": "0.5", "threshold": "0.25", "kept_name": "kept0000.jpg", "recorded": "1700000000.0",
        "score_ssim": "0.5", "score_psnr": "", "score_mse": "",
    }  # fmt: skip
    assert (rows[1]["reason"], rows[1]["time"], rows[1]["kept_name"]) == ('comma, "quote"\nnewline', "", "")
    assert (rows[1]["score_ssim"], rows[1]["score_mse"]) == ("", "0.125")
    assert len(rows) == 2

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    lines = (tmp_path / "frames.jsonl").read_text(encoding="utf-8").splitlines()
    objects = [json.loads(line, parse_constant=refuse) for line in lines]
    assert objects == [
        {
            "idx": 0, "name": "frame0000.jpg", "time": 0.0, "decision": "keep", "reason": "reason 0",
            "score": 0.5, "threshold": 0.25, "scores": {"ssim": 0.5, "psnr": None},
            "kept_name": "kept0000.jpg", "recorded": 1700000000.0,
        },
        {
            "idx": 1, "name": "frame0001.jpg", "time": None, "decision": "skip", "reason": 'comma, "quote"\nnewline',
            "score": 0.01, "threshold": 0.05, "scores": {"mse": 0.125}, "kept_name": None, "recorded": 1700000001.0,
        },
    ]  # fmt: skip
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_export_infinite_column_values(tmp_path):
    with Manifest.open(tmp_path, create=True) as manifest:
        manifest.record(_record(0, score=float("inf"), threshold=-math.inf))
        manifest.commit()
        manifest.export(tmp_path / "f.jsonl", "jsonl")
        manifest.export(tmp_path / "f.csv", "csv")
    obj = json.loads((tmp_path / "f.jsonl").read_text())
    assert (obj["score"], obj["threshold"]) == (None, None)
    with open(tmp_path / "f.csv", newline="") as handle:
        row = next(csv.DictReader(handle))
    assert (float(row["score"]), float(row["threshold"])) == (math.inf, -math.inf)


def test_export_errors(tmp_path):
    with Manifest.open(tmp_path, create=True) as manifest:
        manifest.record(_record(0))
        manifest.commit()
        with pytest.raises(OptionError, match=r"fmt must be one of 'csv', 'jsonl', not 'xlsx'"):
            manifest.export(tmp_path / "f.xlsx", "xlsx")
        with pytest.raises(StorageError, match=r"cannot write .*missing/f\.csv: no such file or directory"):
            manifest.export(tmp_path / "missing" / "f.csv", "csv")
        (tmp_path / "f.csv").write_text("previous")
        manifest.close()
        with pytest.raises(ValueError, match="closed"):
            manifest.export(tmp_path / "f.csv", "jsonl")
    assert (tmp_path / "f.csv").read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


# ---------------------------------------------------------------- opening


def test_open_a_folder_with_files_but_no_manifest(tmp_path):
    (tmp_path / "photo.jpg").write_bytes(b"not ours")
    with pytest.raises(InputError, match=r"manifest\.sqlite: no manifest here; is .* the output folder"):
        Manifest.open(tmp_path, create=False)
    with Manifest.open(tmp_path, create=True) as manifest:
        assert len(manifest) == 0
        assert manifest.reconcile().unlisted == ("photo.jpg",)
    assert _raw(tmp_path, "PRAGMA journal_mode") == [("wal",)]


def test_open_creates_missing_folders(tmp_path):
    with Manifest.open(tmp_path / "a" / "b", create=True) as manifest:
        assert manifest.path == tmp_path / "a" / "b" / MANIFEST_NAME
    assert (tmp_path / "a" / "b" / MANIFEST_NAME).is_file()


def test_open_where_the_folder_cannot_be_created(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(StorageError, match=r"cannot create .*file/out: not a directory"):
        Manifest.open(tmp_path / "file" / "out", create=True)


def _fill(path: Path, data: bytes) -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / MANIFEST_NAME).write_bytes(data)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: _fill(p, b"PNG? no, just text\n" * 50), "it is not an SQLite database"),
        (
            lambda p: _fill(p, b"SQLite format 3\x00" + np.random.default_rng(SEED).bytes(8000)),
            "file is not a database|malformed",
        ),
        (lambda p: (p / MANIFEST_NAME).mkdir(parents=True), "it is not a file"),
    ],
)
@pytest.mark.parametrize("create", [True, False])
def test_open_a_corrupt_manifest(tmp_path, make, message, create):
    make(tmp_path)
    with pytest.raises(StorageError, match=rf"^{tmp_path}/manifest\.sqlite is not an imgdelta manifest: ({message})"):
        Manifest.open(tmp_path, create=create)


def test_open_an_empty_file(tmp_path):
    _fill(tmp_path, b"")
    with pytest.raises(StorageError, match="is not an imgdelta manifest: it holds no table"):
        Manifest.open(tmp_path, create=False)
    with Manifest.open(tmp_path, create=True) as manifest:  # an empty file is an empty database
        assert len(manifest) == 0


def test_open_another_programs_database(tmp_path):
    _raw_write(tmp_path, "CREATE TABLE photos (id INTEGER)")
    with pytest.raises(StorageError, match=r"not an imgdelta manifest: it holds the tables of another program \(photos\)"):
        Manifest.open(tmp_path, create=True)


def test_open_a_manifest_from_a_newer_imgdelta(tmp_path):
    with Manifest.open(tmp_path, create=True):
        pass
    _raw_write(tmp_path, f"UPDATE run SET value = '{SCHEMA_VERSION + 1}' WHERE key = 'schema_version'")
    with pytest.raises(StorageError, match=rf"written by a newer imgdelta \(manifest schema {SCHEMA_VERSION + 1}.*upgrade"):
        Manifest.open(tmp_path, create=True)
    _raw_write(tmp_path, "DELETE FROM run WHERE key = 'schema_version'")
    with pytest.raises(StorageError, match="not an imgdelta manifest: it has no schema version"):
        Manifest.open(tmp_path, create=False)


def test_a_truncated_manifest_fails_with_one_line(tmp_path):
    with Manifest.open(tmp_path, create=True) as manifest:
        for idx in range(3000):
            manifest.record(_record(idx, reason="x" * 200))
        manifest.commit()
    path = tmp_path / MANIFEST_NAME
    assert not (tmp_path / f"{MANIFEST_NAME}-wal").exists()  # the last close checkpointed
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(StorageError, match=r"manifest\.sqlite (is damaged|is not an imgdelta manifest): .*malformed"):
        with Manifest.open(tmp_path, create=False) as manifest:
            list(manifest.rows())


# ---------------------------------------------------------------- reconcile


def test_reconcile_reports_missing_empty_and_unlisted_files(tmp_path):
    for name, data in [("a.png", b"a"), ("c.png", b""), ("d.JPG", b"d"), ("notes.txt", b"n"), (".a.png.0123abcd.tmp", b"")]:
        (tmp_path / name).write_bytes(data)
    (tmp_path / "dir.png").mkdir()
    with Manifest.open(tmp_path, create=True) as manifest:
        manifest.record(FrameRecord(idx=0, name="0", decision="keep", kept_name="a.png"))
        manifest.record(FrameRecord(idx=1, name="1", decision="keep", kept_name="b.png"))
        manifest.record(FrameRecord(idx=2, name="2", decision="keep", kept_name="c.png"))
        manifest.record(FrameRecord(idx=3, name="3", decision="keep", kept_name=None))  # a dry run keeps no copy
        manifest.record(FrameRecord(idx=4, name="4", decision="skip", kept_name="dir.png"))
        manifest.commit()
        report = manifest.reconcile()
        assert (report.missing, report.empty, report.unlisted, report.clean) == (("b.png",), ("c.png",), ("d.JPG",), False)
        other = tmp_path / "other"
        other.mkdir()
        (other / "a.png").write_bytes(b"a")
        (other / "b.png").write_bytes(b"b")
        (other / "c.png").write_bytes(b"c")
        assert manifest.reconcile(other).clean
        with pytest.raises(StorageError, match=r"cannot list .*gone: no such file or directory"):
            manifest.reconcile(tmp_path / "gone")


# ---------------------------------------------------------------- real faults


_SQLITE_FULL_CHILD = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    from imgdelta.errors import StorageError
    from imgdelta.store import FrameRecord, Manifest

    out, limit = Path(sys.argv[1]), int(sys.argv[2])
    manifest = Manifest.open(out, create=False)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    committed = manifest.last_index() + 1
    try:
        while True:
            for idx in range(committed, committed + 50):
                manifest.record(FrameRecord(idx=idx, name="n" * 100, decision="skip", reason="r" * 400))
            manifest.commit(state=b"s" * 1000, state_idx=committed + 49)
            committed += 50
    except StorageError as exc:
        print(committed)
        print(exc)
    try:
        manifest.commit()
    except StorageError:
        print(manifest.pending)
    manifest.close()
    """
)


def test_commit_on_a_full_disk_in_a_child_process(tmp_path):
    """SQLite under a real file size limit: one-line StorageError, committed rows intact."""
    with Manifest.open(tmp_path, create=True) as manifest:
        manifest.record(_record(0))
        manifest.commit()
    result = subprocess.run(
        [sys.executable, "-c", _SQLITE_FULL_CHILD, str(tmp_path), str(256 * 1024)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    committed, message, pending = result.stdout.splitlines()
    assert int(committed) > 1 and int(pending) == 50
    assert message.startswith(f"cannot write {tmp_path}/manifest.sqlite: ")
    assert "disk" in message and "\n" not in message
    with Manifest.open(tmp_path, create=False) as manifest:
        assert len(manifest) == manifest.last_index() + 1 == int(committed)
        assert manifest.state() == (int(committed) - 1, b"s" * 1000)
        manifest.record(_record(int(committed)))
        manifest.commit()  # with room again, the run goes on
        assert len(manifest) == int(committed) + 1
    assert _raw(tmp_path, "PRAGMA integrity_check") == [("ok",)]


_WRITER_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import numpy as np
    from imgdelta.store import FrameRecord, Manifest, encode_image, remove_stale_temps, write_atomic

    out, stop = Path(sys.argv[1]), int(sys.argv[2])
    with Manifest.open(out, create=True) as manifest:
        remove_stale_temps(out)
        start = manifest.last_index() + 1
        print("ready", start, flush=True)
        for idx in range(start, stop):
            keep = idx % 2 == 0
            name = f"frame{idx:05d}.png" if keep else None
            if keep:  # the safe order: the image first, then its row
                pixels = np.random.default_rng(idx).integers(0, 256, (128, 160, 3), dtype=np.uint8)
                write_atomic(out / name, encode_image(pixels, ".png"))
            manifest.record(FrameRecord(idx=idx, name=f"cam:{idx}", time=idx / 30, decision="keep" if keep else "skip",
                                        score=idx / 7, scores={"mse": idx / 3, "psnr": float("inf")}, kept_name=name))
            if keep or idx % 5 == 4:
                manifest.commit(state=f"state {idx}".encode(), state_idx=idx)
    """
)


def _expected_png(idx: int) -> bytes:
    return encode_image(np.random.default_rng(idx).integers(0, 256, (128, 160, 3), dtype=np.uint8), ".png")


def _run_writer(out: Path, stop: int, kill_after: float | None) -> tuple[int, int]:
    """Start the writer; SIGKILL it ``kill_after`` seconds after it is ready. (first idx, status)"""
    with subprocess.Popen(
        [sys.executable, "-c", _WRITER_CHILD, str(out), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        ready = child.stdout.readline().split()
        if kill_after is not None:
            time.sleep(kill_after)
            child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        errors = child.stderr.read()
    assert ready and ready[0] == "ready", errors
    if kill_after is None:
        assert child.returncode == 0, errors
    return int(ready[1]), child.returncode


def test_kill_9_at_random_moments_never_leaves_a_broken_frame(tmp_path):
    rng = np.random.default_rng(SEED)
    out = tmp_path / "out"
    killed = leftovers = 0
    previous_last = -1
    for _ in range(15):
        start, status = _run_writer(out, stop=10**6, kill_after=float(rng.uniform(0.0, 0.15)))
        assert start == previous_last + 1  # resumes right after the last committed row
        killed += status == -signal.SIGKILL
        leftovers += any(p.name.endswith(".tmp") for p in out.iterdir())
        with Manifest.open(out, create=False) as manifest:
            previous_last = manifest.last_index()
            report = manifest.reconcile()
        # at most the one image written just before the kill, complete, and for the next frame
        assert report.missing == report.empty == ()
        assert len(report.unlisted) <= 1
        for name in report.unlisted:
            idx = int(name[5:10])
            assert idx > previous_last
            assert (out / name).read_bytes() == _expected_png(idx)
    assert killed >= 12  # the writer never runs out of frames; a kill may only miss a dead child

    start, _ = _run_writer(out, stop=previous_last + 21, kill_after=None)  # a clean, final resume
    assert start == previous_last + 1
    assert not any(p.name.endswith(".tmp") for p in out.iterdir())
    assert remove_stale_temps(out) == []
    with Manifest.open(out, create=False) as manifest:
        rows = list(manifest.rows())
        state = manifest.state()
        report = manifest.reconcile()
    assert [r.idx for r in rows] == list(range(previous_last + 21))  # no gap, no duplicate
    assert report.clean
    assert state is not None and state[1] == f"state {state[0]}".encode() and state[0] <= rows[-1].idx
    kept = [r for r in rows if r.decision == "keep"]
    assert [r.idx for r in kept] == list(range(0, len(rows), 2))
    for record in kept:
        data = (out / record.kept_name).read_bytes()
        assert data == _expected_png(record.idx), record.kept_name
    with Image.open(out / kept[-1].kept_name) as image:
        image.load()
        assert image.size == (160, 128)
    assert all(r.scores == {"mse": r.idx / 3, "psnr": None} for r in rows)
    print(f"{len(rows)} frames, {killed} kills, {leftovers} rounds left a temporary file")


def test_a_kill_between_image_and_row_leaves_an_unlisted_image(tmp_path):
    """The documented order, in process: image, then row; a kill between leaves an unlisted image."""
    with Manifest.open(tmp_path, create=True):
        write_atomic(tmp_path / "frame00000.png", _expected_png(0))
        # (killed here)
    with Manifest.open(tmp_path, create=True) as manifest:
        assert manifest.reconcile().unlisted == ("frame00000.png",)
        write_atomic(tmp_path / "frame00000.png", _expected_png(0))  # the resumed run writes it again
        manifest.record(FrameRecord(idx=0, name="cam:0", decision="keep", kept_name="frame00000.png"))
        manifest.commit()
        assert manifest.reconcile().clean


def test_export_pages_through_a_large_run(tmp_path):
    with Manifest.open(tmp_path, create=True) as manifest:
        for idx in range(5000):
            manifest.record(_record(idx))
        manifest.commit()
        manifest.export(tmp_path / "big.csv", "csv")
    text = (tmp_path / "big.csv").read_text()
    assert len(list(csv.reader(io.StringIO(text)))) == 5001
