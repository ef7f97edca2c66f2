"""A fake network camera and checks of an output folder, for the capture fault tests.

:class:`Camera` is a snapshot camera on 127.0.0.1 served from the test process: every answer
is a fresh JPEG (new noise, so no two answers are byte-identical) of a scene chosen by the
request's number. It remembers the SHA-256 of every answer, so a kept file can be checked to
be one complete answer, byte for byte.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import os
import re
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image

#: Kept files of a live source: the local time of the grab, to the millisecond.
TIMESTAMP_NAME = re.compile(r"^\d{8}-\d{6}\.\d{3}\.jpg$")

Scene = Callable[[int, np.random.Generator], tuple[str, np.ndarray]]


def blinking_box(*, size: tuple[int, int] = (320, 240), period: int = 5, noise: float = 2.0) -> Scene:
    """A gradient where a big dark box appears and disappears every ``period`` requests.

    The box's place moves from one appearance to the next, so every scene differs from the
    one before it; between changes only the sensor noise moves.
    """
    width, height = size
    ramp = np.linspace(60, 200, width, dtype=np.float32)[None, :, None]
    base = np.broadcast_to(ramp, (height, width, 3)).copy()
    base[..., 1] *= 0.9

    def render(n: int, rng: np.random.Generator) -> tuple[str, np.ndarray]:
        scene = n // period
        image = base.copy()
        if scene % 2:
            x = (scene * 37) % (width // 2)
            image[height // 4 : 3 * height // 4, x : x + width // 2] = 20.0
        image += rng.normal(0.0, noise, image.shape).astype(np.float32)
        return f"box{scene % 2}-{scene}", np.clip(image, 0, 255).astype(np.uint8)

    return render


@dataclass
class _Served:
    digest: str
    scene: str
    size: int


class Camera:
    """A snapshot camera at :attr:`url`; :meth:`stop` unplugs it, :meth:`start` brings it back
    on the same port."""

    def __init__(self, scene: Scene | None = None, *, seed: int, quality: int = 90) -> None:
        self.scene = scene or blinking_box()
        self.quality = quality
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()
        self.requests = 0
        self.request_times: list[float] = []
        self.served: dict[str, _Served] = {}
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/snapshot.jpg"

    def start(self) -> Camera:
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                body = camera._answer()
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client killed mid-answer is what these tests do on purpose

        self._server = Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = self._thread = None

    def _answer(self) -> bytes:
        with self._lock:
            n = self.requests
            self.requests += 1
            self.request_times.append(time.monotonic())
            rng = np.random.default_rng(self._rng.integers(2**63))
        label, pixels = self.scene(n, rng)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=self.quality)
        body = buffer.getvalue()
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            self.served[digest] = _Served(digest, label, len(body))
        return body

    def scene_of(self, path: Path) -> str | None:
        """The scene of the answer ``path`` holds byte for byte, or None if it holds none."""
        served = self.served.get(hashlib.sha256(path.read_bytes()).hexdigest())
        return served.scene if served else None


# -- running imgdelta --------------------------------------------------------------------


def imgdelta(*args: str) -> list[str]:
    return [sys.executable, "-m", "imgdelta", *args]


class Run:
    """An imgdelta process with stdout and stderr in files, so they can be read while it runs."""

    def __init__(self, argv: list[str], folder: Path, name: str) -> None:
        self.stdout_path = folder / f"{name}.out"
        self.stderr_path = folder / f"{name}.err"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.kill()


class Renames:
    """Files renamed into ``folder``: the instant a kept image appears, before its manifest
    row is written, which is the moment to hit with a signal or a kill.

    inotify (``IN_MOVED_TO``) on Linux, so the test reacts within microseconds while the
    process under test is still in the folder's fsync; elsewhere the folder is polled.
    """

    _IN_MOVED_TO = 0x80

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.count = 0
        self.fd = -1
        self._listed = len(images(folder))
        libc = ctypes.CDLL(None, use_errno=True)
        if sys.platform.startswith("linux") and hasattr(libc, "inotify_init1"):
            fd = libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
            if fd >= 0 and libc.inotify_add_watch(fd, os.fsencode(folder), self._IN_MOVED_TO) >= 0:
                self.fd = fd
            elif fd >= 0:
                os.close(fd)

    def wait(self, count: int, timeout: float, alive: Callable[[], bool]) -> None:
        """Until ``count`` files were renamed in since this object was made."""
        deadline = time.monotonic() + timeout
        while self.count < count:
            if time.monotonic() > deadline or not alive():
                raise AssertionError(f"{self.count} of {count} kept frames appeared in {self.folder}")
            if self.fd < 0:
                time.sleep(0.001)
                now = len(images(self.folder))
                self.count += max(0, now - self._listed)
                self._listed = now
                continue
            if select.select([self.fd], [], [], 0.05)[0]:
                data = os.read(self.fd, 65536)
                offset = 0
                while offset < len(data):  # struct inotify_event: int wd; u32 mask, cookie, len; name
                    offset += 16 + int.from_bytes(data[offset + 12 : offset + 16], sys.byteorder)
                    self.count += 1

    def __enter__(self) -> Renames:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def wait_for(condition: Callable[[], object], timeout: float, what: str, *, poll: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)


# -- what a folder holds -----------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    idx: int
    name: str
    decision: str
    kept_name: str | None
    recorded: float


def manifest(out: Path, *, readonly: bool = False) -> list[Row]:
    """Every row of OUT/manifest.sqlite, read with plain sqlite3; its integrity checked first.

    ``readonly`` opens it read-only, to look between two runs without checkpointing its WAL
    (what a kill left is then what the next run finds).
    """
    path = out / "manifest.sqlite"
    target, uri = (f"{path.as_uri()}?mode=ro", True) if readonly else (str(path), False)
    with contextlib.closing(sqlite3.connect(target, uri=uri)) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'frames'").fetchall():
            return []  # killed while the manifest was being created: nothing committed yet
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = conn.execute("SELECT idx, name, decision, kept_name, recorded FROM frames ORDER BY idx").fetchall()
        state = conn.execute("SELECT idx FROM state").fetchall()
    result = [Row(*row) for row in rows]
    if result:
        assert state == [(result[-1].idx,)], "the detector state must cover exactly the rows committed"
    return result


def images(out: Path) -> list[str]:
    """Image files in OUT, hidden (temporary) files left out."""
    return sorted(p.name for p in out.iterdir() if p.suffix.lower() in (".jpg", ".png") and not p.name.startswith("."))


def temps(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.endswith(".tmp"))


def decodes(path: Path) -> bool:
    """True when Pillow decodes the whole file (a truncated JPEG raises)."""
    try:
        with Image.open(path) as image:
            image.load()
    except OSError:
        return False
    return True


def check_folder(out: Path, camera: Camera | None = None, *, readonly: bool = False) -> tuple[list[Row], list[str]]:
    """The promises a kill, a signal or a full disk must keep; returns (rows, unlisted images).

    The manifest is intact, its rows are 0..N-1 without a gap, every kept row's file exists,
    decodes completely and (with ``camera``) is one of the camera's answers byte for byte.
    Images no row lists may exist (a kill after the image, before its row) but must be
    complete too.
    """
    rows = manifest(out, readonly=readonly)
    assert [row.idx for row in rows] == list(range(len(rows)))
    kept = [row.kept_name for row in rows if row.decision == "keep"]
    assert all(kept) and len(set(kept)) == len(kept)
    for name in kept:
        assert (out / name).is_file(), f"kept frame {name} is listed but missing"
        assert decodes(out / name), f"kept frame {name} is not a complete image"
        if camera is not None:
            assert camera.scene_of(out / name) is not None, f"kept frame {name} is not what the camera sent"
    unlisted = sorted(set(images(out)) - set(kept))
    for name in unlisted:
        assert decodes(out / name), f"unlisted file {name} is not a complete image"
        if camera is not None:
            assert camera.scene_of(out / name) is not None, f"unlisted file {name} is not what the camera sent"
    return rows, unlisted
