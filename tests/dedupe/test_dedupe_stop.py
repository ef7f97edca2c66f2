"""Stopping ``imgdelta dedupe`` and ``imgdelta hash --jobs 2``: the worker processes never
outlive the command, ``kill -9`` included, and SIGTERM is a clean stop (exit 143, one line,
the index keeps what was committed).

Each case runs the real program on a folder that takes a few seconds to hash, waits until
its workers are up (and, for SIGTERM, until the index holds rows), signals it, and then
looks in /proc for the workers it had recorded.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgdelta.dedupe import INDEX_NAME

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process table in /proc")

#: Files in the slow folder: 8 per chunk with 2 jobs, so rows are committed well before the end.
FILES = 64


@pytest.fixture(scope="module")
def slow_folder(tmp_path_factory) -> Path:
    """64 names of one 1200x1200 noise PNG (hard links): a tenth of a second each to decode."""
    folder = tmp_path_factory.mktemp("slow")
    noise = np.random.default_rng(7).integers(0, 256, (1200, 1200, 3), dtype=np.uint8)
    first = folder / "noise000.png"
    Image.fromarray(noise).save(first, compress_level=1)
    for number in range(1, FILES):
        os.link(first, folder / f"noise{number:03d}.png")
    return folder


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat from the state on (state is [0], parent [1], start time [19])."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2 :].split()


def _children(pid: int) -> dict[int, str]:
    """pid -> start time of the processes whose parent is ``pid``."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None and int(fields[1]) == pid:
                found[int(entry)] = fields[19]
    return found


def _descendants(pid: int) -> dict[int, str]:
    """pid -> start time of the processes below ``pid``, at any depth."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None:
                parents[int(entry)] = (int(fields[1]), fields[19])
    found: dict[int, str] = {}
    level = {pid}
    while level:
        level = {child for child, (parent, _) in parents.items() if parent in level and child not in found}
        found.update({child: parents[child][1] for child in level})
    return found


def _alive(workers: dict[int, str]) -> list[int]:
    """The workers still running: same start time (not a reused pid), not a zombie."""
    alive = []
    for pid, started in workers.items():
        fields = _stat(pid)
        if fields is not None and fields[19] == started and fields[0] != "Z":
            alive.append(pid)
    return alive


def _rows(index: Path) -> int:
    if not index.exists():
        return 0
    try:
        with sqlite3.connect(f"{index.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0) as db:
            return int(db.execute("SELECT count(*) FROM images").fetchone()[0])
    except sqlite3.OperationalError:  # the tables are being created
        return 0


def _start(command: list[str], out: Path) -> tuple[subprocess.Popen, dict[int, str]]:
    """Start the command, with its output in files (a pipe would stay open in surviving
    workers), and wait until its two workers are up."""
    with (out / "stdout").open("w") as stdout, (out / "stderr").open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "imgdelta", *command], stdout=stdout, stderr=stderr)
    deadline = time.monotonic() + 60
    workers: dict[int, str] = {}
    while len(workers) < 2:
        assert process.poll() is None and time.monotonic() < deadline, (out / "stderr").read_text()
        time.sleep(0.01)
        workers = _children(process.pid)
    return process, workers


def _stop(process: subprocess.Popen, workers: dict[int, str], signum: int) -> list[int]:
    """Signal the command, wait for it, and return the workers alive 2 s later (killed then)."""
    try:
        process.send_signal(signum)
        process.wait(timeout=30)
        deadline = time.monotonic() + 2.0
        while _alive(workers) and time.monotonic() < deadline:
            time.sleep(0.02)
        return _alive(workers)
    finally:
        for pid in _alive(workers):
            os.kill(pid, signal.SIGKILL)


def _command(kind: str, folder: Path) -> list[str]:
    if kind == "dedupe":
        return ["dedupe", str(folder), "--no-index", "--jobs", "2"]
    return ["hash", *sorted(map(str, folder.glob("*.png"))), "--jobs", "2", "--json"]


@pytest.mark.parametrize("kind", ["dedupe", "hash"])
def test_kill_9_takes_the_workers_along(slow_folder, tmp_path, kind):
    process, workers = _start(_command(kind, slow_folder), tmp_path)
    left = _stop(process, workers, signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL
    assert left == [], f"workers {left} outlived the killed {kind}"


@pytest.mark.parametrize("kind", ["dedupe", "hash"])
def test_sigterm_is_a_clean_stop(slow_folder, tmp_path, kind):
    process, workers = _start(_command(kind, slow_folder), tmp_path)
    left = _stop(process, workers, signal.SIGTERM)
    assert (process.returncode, (tmp_path / "stderr").read_text()) == (128 + signal.SIGTERM, f"imgdelta {kind}: stopped by SIGTERM\n")
    assert left == [], f"workers {left} outlived the stopped {kind}"


def test_sigterm_keeps_what_was_indexed(slow_folder, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for picture in slow_folder.glob("*.png"):
        os.link(picture, folder / picture.name)
    index = folder / INDEX_NAME
    process, workers = _start(["dedupe", str(folder), "--jobs", "2"], tmp_path)
    deadline = time.monotonic() + 60
    while (seen := _rows(index)) == 0:
        assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "stderr").read_text()
        time.sleep(0.02)
    assert seen < FILES, "the run ended before it could be stopped: make the folder slower"
    left = _stop(process, workers, signal.SIGTERM)
    assert process.returncode == 128 + signal.SIGTERM and left == []
    assert (tmp_path / "stderr").read_text() == f"imgdelta dedupe: stopped by SIGTERM; what was hashed is kept in {index}: run again to go on\n"
    with sqlite3.connect(index) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert seen <= db.execute("SELECT count(*) FROM images WHERE error IS NULL").fetchone()[0] < FILES


#: A process with a second thread, whose pool therefore starts its workers from a fork server.
THREADED_OWNER = """
import sys, threading, time
from pathlib import Path
from imgdelta.dedupe.collection import hash_chunk
from imgdelta.dedupe.parallel import map_chunks

threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
files = sorted(map(str, Path(sys.argv[1]).glob("*.png")))
for _ in map_chunks(hash_chunk, [[name] for name in files], jobs=2, on_crash=lambda name: None):
    pass
"""


def test_kill_9_takes_the_fork_servers_workers_along(slow_folder, tmp_path):
    """The workers' parent is then the fork server, which waits for them: the owner is watched."""
    with (tmp_path / "stderr").open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-c", THREADED_OWNER, str(slow_folder)], stderr=stderr)
    deadline = time.monotonic() + 60
    below: dict[int, str] = {}
    while len(set(below) - set(_children(process.pid))) < 2:  # the two workers, below the fork server
        assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "stderr").read_text()
        time.sleep(0.01)
        below = _descendants(process.pid)
    left = _stop(process, below, signal.SIGKILL)
    assert left == [], f"{left} outlived the killed owner"
