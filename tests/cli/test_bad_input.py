"""Trouble at the command line: exit status 2, nothing on stdout, one line on stderr.

Each case runs the real program in a fresh process (``python -m imgdelta``) on real files
made here from a photograph bundled with scikit-image. The line on stderr must name the
file or the option and say what is wrong; no traceback may appear anywhere, and no C library
(libpng, libtiff, OpenCV) may add lines of its own.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image

EXIT_TROUBLE = 2

#: prctl(PR_CAPBSET_DROP, ...) and the two capabilities that let root ignore file modes.
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def _drop_file_permission_override() -> None:
    """In the child, before exec: give up root's right to read any file.

    Dropping the capabilities from the bounding set makes the kernel leave them out of the
    program that is exec'd, so mode 000 means "unreadable" for that process even when it
    runs as root. Runs only for root; an error here fails the test loudly.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def run(*args: str | Path, unprivileged: bool = False) -> subprocess.CompletedProcess:
    preexec = _drop_file_permission_override if unprivileged and os.geteuid() == 0 else None
    return subprocess.run(
        [sys.executable, "-m", "imgdelta", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec,
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bad input")  # a space in the path, as users have
    photo = skimage.data.chelsea()
    Image.fromarray(photo).save(folder / "good.png")
    Image.fromarray(photo).save(folder / "good.jpg", quality=90)
    Image.fromarray(skimage.data.astronaut()[:100, :120]).save(folder / "small.png")
    (folder / "folder.png").mkdir()
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("just some text, saved as .png\n")
    jpeg = (folder / "good.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    png = (folder / "good.png").read_bytes()
    (folder / "truncated.png").write_bytes(png[: len(png) // 2])
    header = struct.pack(">IIBBBBB", 20_000, 10_000, 8, 2, 0, 0, 0)
    (folder / "bomb.png").write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )
    # 16-bit colour goes through OpenCV, whose libpng prints "libpng error: ..." by itself
    wide = (photo[:64, :96].astype(np.uint16) << 8) | photo[64:128, 96:192]
    encoded = bytearray(cv2.imencode(".png", wide)[1].tobytes())
    encoded[len(encoded) // 2] ^= 0x40
    (folder / "corrupt16.png").write_bytes(bytes(encoded))
    (folder / "locked.png").write_bytes(png)
    (folder / "locked.png").chmod(0)
    return folder


#: kind -> (file name, what the message must say about it)
BAD_FILES = {
    "missing": ("missing.png", "no such file"),
    "empty": ("empty.png", "empty file"),
    "folder": ("folder.png", "is a folder"),
    "text": ("text.png", "not an image file"),
    "truncated jpeg": ("truncated.jpg", r"cannot decode JPEG data \(image file is truncated"),
    "truncated png": ("truncated.png", r"cannot decode PNG data \(image file is truncated"),
    "bomb": ("bomb.png", r"(20000x10000 = )?200000000 pixels exceeds the limit of 178956970 \(decompression-bomb"),
    "corrupt 16-bit png": ("corrupt16.png", "cannot decode PNG data at full bit depth"),
    "unreadable": ("locked.png", "permission denied"),
}


def assert_trouble(done: subprocess.CompletedProcess, command: str, pattern: str) -> str:
    """Exit 2, empty stdout, exactly one stderr line matching ``imgdelta COMMAND: pattern``."""
    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode == EXIT_TROUBLE, done.stderr
    assert done.stdout == ""
    assert done.stderr.endswith("\n") and done.stderr.count("\n") == 1, done.stderr
    line = done.stderr.rstrip("\n")
    assert line.startswith(f"imgdelta {command}: "), line
    assert re.search(pattern, line), line
    return line


def test_the_good_files_are_good(files):
    done = run("compare", files / "good.png", files / "good.jpg")
    assert done.returncode == 0 and done.stderr == "" and "ssim" in done.stdout


def test_the_locked_file_is_really_unreadable_to_the_command(files):
    # the refusal comes from the kernel, for this file only: cat, like imgdelta, is refused
    preexec = _drop_file_permission_override if os.geteuid() == 0 else None
    refused = subprocess.run(["cat", str(files / "locked.png")], capture_output=True, preexec_fn=preexec)
    assert refused.returncode != 0 and b"Permission denied" in refused.stderr
    done = run("compare", files / "good.png", files / "good.png", unprivileged=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_compare_bad_file(files, kind):
    name, problem = BAD_FILES[kind]
    path = files / name
    done = run("compare", files / "good.png", path, unprivileged=kind == "unreadable")
    assert_trouble(done, "compare", re.escape(str(path)) + ": " + problem)


def test_compare_bad_first_file(files):
    path = files / "missing.png"
    done = run("compare", path, files / "good.png")
    assert_trouble(done, "compare", re.escape(str(path)) + ": no such file$")


def test_compare_different_sizes_without_resize(files):
    done = run("compare", files / "good.png", files / "small.png")
    line = assert_trouble(done, "compare", r"is 451x300 but .* is 120x100: choose --resize")
    assert str(files / "good.png") in line and str(files / "small.png") in line


@pytest.mark.parametrize(
    ("option", "pattern"),
    [
        (["--metric", "nope"], r"unknown metric 'nope'"),
        (["--crop", "1,2"], r"--crop '1,2' is not x,y,width,height"),
        (["--resize", "0x5"], r"--resize '0x5': use to-first, crop or a size like 640x480"),
        (["--require", "ssim=>0.9"], r"'ssim=>0\.9' is not NAME<=VALUE"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else "",
)
def test_compare_bad_option(files, option, pattern):
    done = run("compare", files / "good.png", files / "good.jpg", *option)
    assert_trouble(done, "compare", pattern)


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_hash_bad_file(files, kind):
    name, problem = BAD_FILES[kind]
    if kind == "corrupt 16-bit png":  # hashes read through Pillow: its own message
        problem = "cannot decode PNG data"
    path = files / name
    done = run("hash", path, unprivileged=kind == "unreadable")
    assert_trouble(done, "hash", re.escape(str(path)) + ": " + problem)


@pytest.mark.parametrize("order", ["good first", "bad first"])
def test_hash_prints_the_good_file_and_fails(files, order):
    good, bad = files / "good.png", files / "truncated.png"
    done = run("hash", *((good, bad) if order == "good first" else (bad, good)))
    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode == EXIT_TROUBLE
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"imgdelta hash: {bad}: cannot decode PNG")
    rows = [line for line in done.stdout.splitlines() if str(good) in line]
    assert len(rows) == 1 and len(re.findall(r"\b[0-9a-f]{16}\b", rows[0])) == 4
    assert str(bad) not in done.stdout


def test_hash_json_prints_one_object_for_the_good_file(files):
    good, missing = files / "good.png", files / "missing.png"
    done = run("hash", "--json", good, missing)
    assert done.returncode == EXIT_TROUBLE
    assert done.stderr == f"imgdelta hash: {missing}: no such file\n"
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert row["path"] == str(good) and all(re.fullmatch(r"[0-9a-f]{16}", row[k]) for k in row if k != "path")
