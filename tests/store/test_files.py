"""Atomic file output, with real faults: a file size limit in a child process, failing writes."""

from __future__ import annotations

import ast
import errno
import io
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import imgdelta.store as store
from imgdelta.errors import InputError, OptionError, StorageError
from imgdelta.store import copy_atomic, encode_image, link_or_copy, remove_stale_temps, write_atomic

SEED = 20240611
STORE = Path(store.__file__).parent


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------- the layer's imports


def test_store_imports_only_errors_stdlib_numpy_and_pillow():
    allowed_third_party = {"numpy", "PIL"}
    problems = []
    for path in STORE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                if node.level > 1 and node.module != "errors":
                    problems.append(f"{path.name}: from {'.' * node.level}{node.module}")
                continue
            names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in getattr(node, "names", [])]
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "imgdelta" and name != "imgdelta.errors":
                    problems.append(f"{path.name}: {name}")
                elif top not in sys.stdlib_module_names and top not in allowed_third_party | {"imgdelta", "__future__"}:
                    problems.append(f"{path.name}: {name}")
    assert not problems


def test_all_is_sorted_and_complete():
    assert store.__all__ == sorted(store.__all__)
    for name in store.__all__:
        assert hasattr(store, name), name


# ---------------------------------------------------------------- write_atomic


def test_write_atomic_writes_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "x.jpg"
    write_atomic(target, b"first")
    write_atomic(target, memoryview(b"second, longer"))
    assert target.read_bytes() == b"second, longer"
    assert _temps(tmp_path) == []
    assert target.stat().st_mode & 0o777 == 0o666 & ~_umask()


def test_write_atomic_into_a_missing_folder(tmp_path):
    target = tmp_path / "nowhere" / "x.jpg"
    with pytest.raises(StorageError, match=r"^cannot write .*nowhere/x\.jpg: no such file or directory$"):
        write_atomic(target, b"data")


def test_write_atomic_into_a_read_only_folder():
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp())
    try:
        base.chmod(0o755)  # reachable by the unprivileged writer
        folder = base / "ro"
        folder.mkdir()
        (folder / "old.jpg").write_bytes(b"old")
        folder.chmod(0o555)
        # root ignores folder permissions: the writing process gives its privileges up first
        code = textwrap.dedent(
            """
            import os, sys
            from imgdelta.store import write_atomic
            from imgdelta.errors import StorageError
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            try:
                write_atomic(sys.argv[1], b"new")
            except StorageError as exc:
                print(exc)
            """
        )
        done = subprocess.run([sys.executable, "-c", code, str(folder / "old.jpg")], capture_output=True, text=True, timeout=60)
        assert re.search(r"cannot write .*old\.jpg: permission denied", done.stdout), (done.stdout, done.stderr)
        assert (folder / "old.jpg").read_bytes() == b"old"
        assert sorted(p.name for p in folder.iterdir()) == ["old.jpg"]
    finally:
        (base / "ro").chmod(0o755) if (base / "ro").exists() else None
        shutil.rmtree(base, ignore_errors=True)


_FILE_SIZE_LIMIT_CHILD = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    from imgdelta.errors import StorageError
    from imgdelta.store import write_atomic

    folder, limit = Path(sys.argv[1]), int(sys.argv[2])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit now fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    write_atomic(folder / "small.png", b"s" * (limit // 2))  # fits: must succeed
    for name, size in (("big.png", 3 * limit), ("kept.png", limit + 1)):
        try:
            write_atomic(folder / name, b"b" * size)
        except StorageError as exc:
            print(exc)
        else:
            print("no error")
    """
)


def test_write_atomic_over_a_file_size_limit_in_a_child_process(tmp_path):
    """A real disk-full stand-in: RLIMIT_FSIZE makes the kernel refuse the writes."""
    limit = 64 * 1024
    (tmp_path / "kept.png").write_bytes(b"previous content")
    (tmp_path / "earlier.png").write_bytes(b"e" * 1000)
    result = subprocess.run(
        [sys.executable, "-c", _FILE_SIZE_LIMIT_CHILD, str(tmp_path), str(limit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert all(line.startswith("cannot write ") and "file too large" in line for line in lines), lines
    assert "big.png" in lines[0] and "kept.png" in lines[1]
    assert not (tmp_path / "big.png").exists()
    assert (tmp_path / "kept.png").read_bytes() == b"previous content"
    assert (tmp_path / "earlier.png").read_bytes() == b"e" * 1000
    assert (tmp_path / "small.png").read_bytes() == b"s" * (limit // 2)
    assert _temps(tmp_path) == []


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (errno.ENOSPC, "no space left on device"),
        (errno.EDQUOT, "disk quota exceeded"),
        (errno.EROFS, "read-only file system"),
        (errno.EIO, "input/output error"),
    ],
)
def test_write_atomic_when_a_write_fails_midway(tmp_path, monkeypatch, code, message):
    target = tmp_path / "x.jpg"
    target.write_bytes(b"previous")
    real_write = os.write
    calls = []

    def failing_write(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:10]))  # a short write first, as a filling disk does
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "write", failing_write)
    with pytest.raises(StorageError, match=rf"^cannot write .*x\.jpg: {message}"):
        write_atomic(target, b"0123456789" * 100)
    monkeypatch.undo()
    assert len(calls) == 2
    assert target.read_bytes() == b"previous"
    assert _temps(tmp_path) == []


def test_write_atomic_when_fsync_fails(tmp_path, monkeypatch):
    """Network filesystems and delayed allocation report ENOSPC or EIO only at fsync."""

    def failing_fsync(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(StorageError, match=r"input/output error"):
        write_atomic(tmp_path / "x.png", b"data")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_write_atomic_interrupted_by_keyboard(tmp_path, monkeypatch):
    def interrupted(fd, data):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "x.png", b"data")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_atomic_output_streams_and_discards_on_error(tmp_path):
    target = tmp_path / "report.csv"
    with store.atomic_output(target) as handle:
        handle.write(b"a,b\n")
        handle.write(b"1,2\n")
    assert target.read_bytes() == b"a,b\n1,2\n"
    with pytest.raises(RuntimeError, match="stop"):
        with store.atomic_output(target) as handle:
            handle.write(b"half")
            raise RuntimeError("stop")
    assert target.read_bytes() == b"a,b\n1,2\n"
    assert _temps(tmp_path) == []


# ---------------------------------------------------------------- copy, link, move


def _random_bytes(size: int) -> bytes:
    return np.random.default_rng(SEED).integers(0, 256, size, dtype=np.uint8).tobytes()


def test_copy_atomic_is_byte_identical_across_chunks(tmp_path):
    data = _random_bytes(3 * (1 << 20) + 12345)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    copy_atomic(src, tmp_path / "dst.bin")
    assert (tmp_path / "dst.bin").read_bytes() == data
    (tmp_path / "empty").write_bytes(b"")
    copy_atomic(tmp_path / "empty", tmp_path / "e")
    assert (tmp_path / "e").read_bytes() == b""
    assert _temps(tmp_path) == []


def test_copy_atomic_from_a_missing_source(tmp_path):
    with pytest.raises(InputError, match=r"^cannot read .*missing\.jpg: no such file or directory$"):
        copy_atomic(tmp_path / "missing.jpg", tmp_path / "dst.jpg")
    assert list(tmp_path.iterdir()) == []


def test_copy_atomic_when_the_disk_fills(tmp_path, monkeypatch):
    src = tmp_path / "src.bin"
    src.write_bytes(_random_bytes(2 * (1 << 20) + 7))
    (tmp_path / "out").mkdir()
    real_write = os.write
    written = []

    def filling(fd, data):
        if sum(written) >= 1 << 20:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(real_write(fd, data))
        return written[-1]

    monkeypatch.setattr(os, "write", filling)
    with pytest.raises(StorageError, match=r"cannot write .*dst\.bin: no space left on device"):
        copy_atomic(src, tmp_path / "out" / "dst.bin")
    monkeypatch.undo()
    assert list((tmp_path / "out").iterdir()) == []


def test_link_mode_makes_a_hard_link(tmp_path):
    src = tmp_path / "src.jpg"
    src.write_bytes(b"frame")
    assert link_or_copy(src, tmp_path / "dst.jpg", "link") == "link"
    assert (tmp_path / "dst.jpg").stat().st_ino == src.stat().st_ino
    assert _temps(tmp_path) == []


@pytest.mark.parametrize("code", [errno.EXDEV, errno.EPERM, errno.EMLINK])
def test_link_mode_falls_back_to_a_copy(tmp_path, monkeypatch, code):
    src = tmp_path / "src.jpg"
    src.write_bytes(b"frame")

    def no_link(a, b):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "link", no_link)
    assert link_or_copy(src, tmp_path / "dst.jpg", "link") == "copy"
    monkeypatch.undo()
    assert (tmp_path / "dst.jpg").read_bytes() == b"frame"
    assert (tmp_path / "dst.jpg").stat().st_ino != src.stat().st_ino
    assert not (tmp_path / "dst.jpg").is_symlink()
    assert _temps(tmp_path) == []


def test_link_mode_does_not_hide_a_full_disk(tmp_path, monkeypatch):
    src = tmp_path / "src.jpg"
    src.write_bytes(b"frame")

    def full(a, b):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "link", full)
    with pytest.raises(StorageError, match="no space left on device"):
        link_or_copy(src, tmp_path / "dst.jpg", "link")


def test_copy_and_move_modes(tmp_path):
    src = tmp_path / "src.jpg"
    src.write_bytes(b"frame")
    assert link_or_copy(src, tmp_path / "copy.jpg", "copy") == "copy"
    assert link_or_copy(src, tmp_path / "moved.jpg", "move") == "move"
    assert not src.exists()
    assert (tmp_path / "copy.jpg").read_bytes() == (tmp_path / "moved.jpg").read_bytes() == b"frame"


def test_move_across_filesystems_copies_then_removes(tmp_path, monkeypatch):
    src = tmp_path / "src.jpg"
    data = _random_bytes(100_000)
    src.write_bytes(data)
    real_replace = os.replace

    def cross_device(a, b):
        if Path(a) == src:
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        return real_replace(a, b)

    monkeypatch.setattr(os, "replace", cross_device)
    assert link_or_copy(src, tmp_path / "dst.jpg", "move") == "move"
    monkeypatch.undo()
    assert not src.exists()
    assert (tmp_path / "dst.jpg").read_bytes() == data
    assert _temps(tmp_path) == []


def test_link_or_copy_errors(tmp_path):
    with pytest.raises(OptionError, match=r"mode must be one of 'copy', 'link', 'move', not 'symlink'"):
        link_or_copy(tmp_path / "a", tmp_path / "b", "symlink")
    for mode in store.LINK_MODES:
        with pytest.raises(InputError, match=r"cannot read .*missing\.jpg"):
            link_or_copy(tmp_path / "missing.jpg", tmp_path / "b.jpg", mode)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- encode_image


def _image(shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(SEED)
    ramp = np.linspace(0, 255, shape[1])[None, :]
    base = np.broadcast_to(ramp, shape[:2]).copy()
    if len(shape) == 3:
        base = np.stack([np.roll(base, 7 * c, axis=1) for c in range(shape[2])], axis=2)
    return np.clip(base + rng.normal(0, 4, shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("shape", [(40, 60), (40, 60, 3), (40, 60, 4)])
def test_encode_png_is_lossless(shape):
    image = _image(shape)
    data = encode_image(image, ".PNG")
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.format == "PNG"
        np.testing.assert_array_equal(np.asarray(decoded), image)


@pytest.mark.parametrize(("suffix", "fmt"), [(".jpg", "JPEG"), ("jpeg", "JPEG"), (".jpe", "JPEG"), (".webp", "WEBP")])
def test_encode_lossy_formats(suffix, fmt):
    image = _image((48, 64, 3))
    data = encode_image(image, suffix, quality=95)
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.format == fmt
        assert decoded.size == (64, 48)
        error = np.abs(np.asarray(decoded.convert("RGB"), dtype=np.float64) - image).mean()
    assert error < 6
    assert len(encode_image(image, suffix, quality=20)) < len(data)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rgb_uint8": np.zeros((4, 4, 3), np.uint8), "suffix": ".gif"}, r"suffix must be one of .*'\.gif'"),
        ({"rgb_uint8": np.zeros((4, 4, 3), np.uint8), "suffix": ".jpg", "quality": 0}, "quality must be an integer from 1 to 100"),
        ({"rgb_uint8": np.zeros((4, 4, 3), np.uint8), "suffix": ".jpg", "quality": 95.0}, "quality must be an integer"),
        ({"rgb_uint8": np.zeros((4, 4, 3), np.float32), "suffix": ".png"}, "must have dtype uint8, not float32"),
        ({"rgb_uint8": np.zeros((4, 4, 2), np.uint8), "suffix": ".png"}, r"must have shape .*not \(4, 4, 2\)"),
        ({"rgb_uint8": np.zeros((0, 4, 3), np.uint8), "suffix": ".png"}, "must have shape"),
        ({"rgb_uint8": np.zeros((4, 4, 4), np.uint8), "suffix": ".jpg"}, "JPEG has no alpha channel"),
    ],
)
def test_encode_image_rejects_bad_input(kwargs, message):
    with pytest.raises(OptionError, match=message):
        encode_image(**kwargs)


# ---------------------------------------------------------------- remove_stale_temps


def test_remove_stale_temps_removes_only_our_temporary_files(tmp_path):
    ours = [".frame001.jpg.0123abcd.tmp", ".manifest.csv.ffffffff.tmp"]
    theirs = ["frame001.jpg", ".hidden", "notes.tmp", ".notes.tmp", ".x.jpg.NOTHEX00.tmp", "manifest.sqlite-wal"]
    for name in ours + theirs:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / ".dir.0123abcd.tmp").mkdir()
    removed = remove_stale_temps(tmp_path)
    assert [p.name for p in removed] == sorted(ours)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(theirs + [".dir.0123abcd.tmp"])
    assert remove_stale_temps(tmp_path) == []


def test_temporary_names_are_what_remove_stale_temps_removes(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(a, b):
        seen.append(Path(a).name)
        return real_replace(a, b)

    monkeypatch.setattr(os, "replace", spy)
    write_atomic(tmp_path / ("l" * 246 + ".jpg"), b"x")  # a 250-character name is cut in the temp name
    write_atomic(tmp_path / "x.jpg", b"x")
    monkeypatch.undo()
    assert all(name.startswith(".") and name.endswith(".tmp") and len(name) <= 255 for name in seen)
    for name in seen:
        (tmp_path / name).write_bytes(b"leftover")
    assert sorted(p.name for p in remove_stale_temps(tmp_path)) == sorted(seen)


def test_remove_stale_temps_on_a_missing_folder(tmp_path):
    with pytest.raises(StorageError, match=r"cannot clean up .*gone: no such file or directory"):
        remove_stale_temps(tmp_path / "gone")
