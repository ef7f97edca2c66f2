"""A collection in a folder that cannot be written: ``--against`` reads its index, and a move
or a delete says that the file's own folder is what refuses.

Root may write any folder, so for root the command runs in a process that has given up
that right (the two capabilities that let root ignore file modes are dropped from its
bounding set before exec, as in tests/cli/test_bad_input.py); others need only the mode.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imgdelta.dedupe import INDEX_NAME, find_duplicates

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="drops capabilities with prctl")

#: prctl(PR_CAPBSET_DROP, ...) and the two capabilities that let root ignore file modes.
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def _drop_file_permission_override() -> None:
    """In the child, before exec: give up root's right to write any folder."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def unprivileged(*command: str | Path) -> subprocess.CompletedProcess:
    """Run ``command`` bound by file modes, whoever runs the tests."""
    preexec = _drop_file_permission_override if os.geteuid() == 0 else None
    return subprocess.run([*map(str, command)], capture_output=True, text=True, timeout=120, preexec_fn=preexec)


def imgdelta(*args: str | Path) -> subprocess.CompletedProcess:
    return unprivileged(sys.executable, "-m", "imgdelta", *args)


@pytest.fixture
def read_only(tmp_path):
    """Make folders read-only (mode 555) for the test, and writable again after it."""
    locked: list[Path] = []

    def lock(folder: Path) -> Path:
        folder.chmod(0o555)
        locked.append(folder)
        refused = unprivileged("touch", folder / "probe")
        assert refused.returncode != 0 and not (folder / "probe").exists(), "the folder is writable to the command: the test would prove nothing"
        return folder

    yield lock
    for folder in locked:
        folder.chmod(0o755)


def test_against_an_index_in_a_read_only_folder(collection, tmp_path, read_only):
    source, _ = collection
    archive, incoming = tmp_path / "archive", tmp_path / "incoming"
    archive.mkdir()
    incoming.mkdir()
    shutil.copy(source / "camera.jpg", archive)
    shutil.copy(source / "coffee.jpg", archive)
    shutil.copy(source / "camera_exif.jpg", incoming)
    shutil.copy(source / "gravel-tile1.jpg", incoming)
    find_duplicates(archive, index=archive / INDEX_NAME)
    before = {path.name: path.read_bytes() for path in archive.iterdir()}
    read_only(archive)
    done = imgdelta("dedupe", incoming, "--no-index", "--against", archive / INDEX_NAME, "--json")
    assert done.returncode == 1 and done.stderr == "", done.stderr
    groups = json.loads(done.stdout)["groups"]
    assert [[Path(p).name for p in group] for group in groups] == [["camera.jpg", "camera_exif.jpg"]]
    assert {path.name: path.read_bytes() for path in archive.iterdir()} == before  # no -shm, no -wal, nothing changed


def test_moving_out_of_a_read_only_folder_blames_that_folder(collection, tmp_path, read_only):
    source, _ = collection
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("camera.jpg", "camera_resized.jpg", "camera_jpeg.jpg"):
        shutil.copy(source / name, photos)
    read_only(photos)
    target = tmp_path / "dups"
    done = imgdelta("dedupe", photos, "--no-index", "--move-to", target, "--apply")
    assert done.returncode == 2
    failures = done.stderr.splitlines()
    assert len(failures) == 2, done.stderr
    for line in failures:
        assert line.startswith(f"cannot move {photos}/camera_") and line.endswith(f": cannot remove it from its folder {photos} (permission denied)"), line
    assert not target.exists(), [str(p) for p in target.rglob("*")]  # no empty folders left behind
    assert sorted(p.name for p in photos.iterdir()) == ["camera.jpg", "camera_jpeg.jpg", "camera_resized.jpg"]

    done = imgdelta("dedupe", photos, "--no-index", "--delete", "--apply")
    assert done.returncode == 2
    assert [line.split(": ", 1)[1] for line in done.stderr.splitlines()] == [f"cannot remove it from its folder {photos} (permission denied)"] * 2
