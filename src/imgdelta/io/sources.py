"""Frame sources: folders of images, video files, cameras, streams and snapshot URLs.

:func:`open_source` turns what a user typed into a :class:`FrameSource`, an iterable of
:class:`Frame` objects, each carrying pixels already reduced for analysis (float32 in
[0, 1]) and what is needed to save the frame unchanged later.

How each kind reads:

* **folder** (a folder or a glob pattern): files in natural order, decoded ahead on a few
  threads within a bounded window, yielded strictly in order. JPEG files decode at 1/2,
  1/4 or 1/8 scale when that still gives ``analysis_size`` pixels. A corrupt file yields
  a frame with ``error`` set instead of stopping the run.
* **video** (a file): OpenCV decodes in a background thread feeding a bounded queue; an
  error there is raised in the caller's thread.
* **camera** (an index or a device path) and **stream** (``rtsp://``, ``rtmp://``, an MJPEG
  ``http://`` URL): OpenCV reads every frame, or one per ``interval`` seconds while
  grabbing in between, so that the frame kept is fresh, not one waiting in a buffer.
* **snapshot** (an ``http(s)://`` URL answering with one image): fetched once per
  ``interval``; the bytes are kept as received.

Live sources (camera, stream, snapshot) raise :class:`~imgdelta.errors.SourceLostError`
from ``next()`` when they stop answering; ``reopen()`` tries once to get them back, and
iteration then goes on where it stopped::

    with open_source("rtsp://camera.local/live", interval=2.0) as source:
        while True:
            try:
                for frame in source:
                    ...
                break
            except SourceLostError:
                time.sleep(backoff)
                with contextlib.suppress(SourceLostError):
                    source.reopen()

OpenCV's and FFmpeg's own logging would break the promise of one line per error: opening
a device runs with the native standard error silenced, and FFmpeg's log level defaults to
quiet (``OPENCV_FFMPEG_LOGLEVEL``, set only when the environment does not set it).
"""

from __future__ import annotations

import glob
import math
import os
import queue
import re
import threading
import time
import urllib.parse
import weakref
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..errors import InputError, OptionError, SourceLostError
from .folders import IMAGE_SUFFIXES, list_images
from .images import DEFAULT_MAX_PIXELS, LoadedImage, _native_stderr_silenced, analysis_shape, load_image

__all__ = [
    "DEFAULT_ANALYSIS_SIZE",
    "SOURCE_KINDS",
    "Frame",
    "FrameSource",
    "open_source",
]

#: Longer side, in pixels, of the frames handed to analysis.
DEFAULT_ANALYSIS_SIZE = 256

#: Values of ``open_source(kind=...)``.
SOURCE_KINDS = ("auto", "folder", "video", "camera", "stream", "snapshot")

_SNAPSHOT_INTERVAL = 1.0  # seconds, when a snapshot URL is given no interval
_PROBE_TIMEOUT = 5.0  # seconds to answer the first request of an http(s) URL
_HTTP_TIMEOUT = 10.0  # seconds per snapshot request
_STREAM_TIMEOUT_MS = 10_000  # FFmpeg's open and read timeouts for network streams
_VIDEO_QUEUE = 4  # decoded video frames waiting for the consumer
#: Bytes that frames decoded ahead of a folder's consumer may hold. At the usual analysis
#: sizes that is deep enough for the decoders to go on while the consumer stores a kept frame
#: (its fsyncs take a few milliseconds, the time of several decodes), and memory stays flat.
_AHEAD_BYTES = 32 * 2**20
_MAX_SNAPSHOT_BYTES = 256 * 2**20  # a snapshot larger than this is refused
_STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps")
_MJPEG_TYPE = "multipart/x-mixed-replace"
_SUFFIX_OF_TYPE = {
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/pjpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "image/bmp": ".bmp",
    "image/x-ms-bmp": ".bmp",
    "image/tiff": ".tif",
}
_SUFFIX_OF_FORMAT = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif"}
_IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
_DIGITS = re.compile(r"^\d+$")


@dataclass(frozen=True, eq=False, repr=False)
class Frame:
    """One frame of a source, reduced for analysis and ready to be saved as it came.

    Attributes
    ----------
    index : int
        0-based position in the source: the file's position in a folder, the frame number
        in a video, the count of frames already yielded for a live source.
    name : str
        The file's name for folders (``"img_0003.jpg"``); for videos
        ``"{stem}_{index:06d}_{MM:02d}m{SS:06.3f}s"`` (``"bikes_000137_00m05.480s"``); for
        live sources the local time of the grab (``"20261124-183005.123"``).
    time : float or None
        Seconds from the start of a video; ``time.time()`` at the grab for live sources;
        the file's modification time (seconds since the epoch) for folders.
    pixels : numpy.ndarray or None
        float32 (H, W, C), C in {1, 3}, values in [0, 1], longer side about
        ``analysis_size``; None when the frame could not be decoded (see ``error``).
    image : numpy.ndarray or None
        Full-resolution uint8 RGB (H, W, 3) for sources without a file of their own
        (video, camera, stream); None for folders and snapshots.
    data : bytes or None
        The encoded bytes as received from a snapshot URL; None otherwise.
    path : pathlib.Path or None
        The file, for folder sources.
    error : str or None
        One line saying why the frame could not be decoded; ``pixels`` is then None.
    suffix : str
        File suffix to save the frame with: the file's own for folders, the content
        type's for snapshots, ``".jpg"`` otherwise.
    full_size : (width, height) or None
        The frame's full resolution (``pixels`` may be reduced); None for error frames.
    prepared : object
        What the source's ``prepare`` callable returned for ``pixels`` (computed in the
        decoding thread), or None.
    """

    index: int
    name: str
    time: float | None
    pixels: np.ndarray | None
    image: np.ndarray | None
    data: bytes | None
    path: Path | None
    error: str | None = None
    suffix: str = ".jpg"
    full_size: tuple[int, int] | None = None
    prepared: Any = None

    def __repr__(self) -> str:
        if self.pixels is not None:
            shape = "x".join(str(n) for n in self.pixels.shape)
            return f"Frame(index={self.index}, name={self.name!r}, pixels={shape})"
        return f"Frame(index={self.index}, name={self.name!r}, error={self.error!r})"


class FrameSource:
    """Frames from somewhere, in order. Build one with :func:`open_source`.

    Required of a source
        ``__iter__`` yielding :class:`Frame` objects, and the attributes below.
    Optional
        ``close()`` (releases devices, threads and connections; also called on leaving a
        ``with`` block); ``reopen()`` for live sources.

    Attributes
    ----------
    description : str
        What the source is, for messages: ``"folder frames/ (300 images)"``.
    live : bool
        True for cameras, streams and snapshot URLs, which can be lost and reopened.
    length : int or None
        Number of frames when known (folders, videos), else None.
    fps : float or None
        Frames per second: a video's rate, a camera's or stream's as reported, or one over
        ``interval`` when a live source is paced; None when unknown.
    """

    description: str = "frame source"
    live: bool = False
    length: int | None = None
    fps: float | None = None
    #: Called on each frame's pixels in the decoding thread; its result is ``Frame.prepared``.
    #: Lets per-frame work that needs no earlier frame run beside the decoding.
    prepare: Any = None

    def _prepared(self, pixels: np.ndarray | None) -> Any:
        return self.prepare(pixels) if self.prepare is not None and pixels is not None else None

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the source holds; iteration then stops. Calling it twice is fine."""

    def reopen(self) -> None:
        """Try once to get a lost live source back; raises SourceLostError if it fails."""
        raise OptionError(f"{self.description} is not a live source: there is nothing to reopen")

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"


def open_source(
    spec: str | os.PathLike | int,
    *,
    kind: str = "auto",
    analysis_size: int | None = DEFAULT_ANALYSIS_SIZE,
    interval: float | None = None,
    workers: int = 2,
    start: int = 0,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    every: int = 1,
) -> FrameSource:
    """Open a folder, glob, video file, camera, stream or snapshot URL as frames.

    Parameters
    ----------
    spec : str, path or int
        What to read: a folder or glob pattern; a video file; a camera index (``0``,
        ``"0"``) or device (``"/dev/video0"``); an ``rtsp://``, ``rtmp://`` or MJPEG
        ``http(s)://`` stream; an ``http(s)://`` URL answering with one image.
    kind : {"auto", "folder", "video", "camera", "stream", "snapshot"}
        How to read ``spec``. ``"auto"`` decides from the spec; for ``http(s)://`` it
        makes one request and reads the Content-Type (``multipart/x-mixed-replace`` is a
        stream, ``image/*`` a snapshot).
    analysis_size : int or None
        About the longer side of ``Frame.pixels``: every frame is reduced to
        :func:`imgdelta.io.analysis_shape` of its full size (the size a JPEG decoder gives
        almost for free, between this and 1.5 times this). Never enlarged. None keeps full
        size.
    interval : float or None
        Live sources only: seconds between yielded frames, on a steady clock. None yields
        every frame of a camera or stream, and one snapshot per second.
    workers : int
        Folder sources: threads decoding ahead.
    start : int
        Folder and video sources: skip this many frames first (resume). Skipped files are
        not decoded; videos seek.
    max_pixels : int or None
        Refuse images or video frames with more pixels (decompression-bomb guard).
    every : int
        Folder and video sources: yield only the frames whose index is a multiple of this
        (a time-lapse of a video). The others are not decoded (files) or only grabbed
        (video frames, which a codec must decode in order anyway).

    Raises
    ------
    InputError
        The source cannot be opened or holds nothing to read; the message says why.
    OptionError
        A parameter has a value that cannot be used.
    """
    if kind not in SOURCE_KINDS:
        raise OptionError(f"kind={kind!r} is not a source kind: use one of {', '.join(SOURCE_KINDS)}")
    if analysis_size is not None and (not _is_int(analysis_size) or analysis_size < 1):
        raise OptionError(f"analysis_size={analysis_size!r} must be a positive number of pixels, or None for full size")
    if interval is not None and (not _is_number(interval) or not math.isfinite(interval) or interval <= 0):
        raise OptionError(f"interval={interval!r} must be a positive number of seconds, or None")
    if not _is_int(workers) or workers < 1:
        raise OptionError(f"workers={workers!r} must be a whole number of threads, at least 1")
    if not _is_int(start) or start < 0:
        raise OptionError(f"start={start!r} must be a whole number of frames to skip, 0 or more")
    if max_pixels is not None and (not _is_int(max_pixels) or max_pixels < 1):
        raise OptionError(f"max_pixels={max_pixels!r} must be a positive number, or None for no limit")
    if not _is_int(every) or every < 1:
        raise OptionError(f"every={every!r} must be a whole number of frames, at least 1")
    if isinstance(spec, bool) or not isinstance(spec, (str, os.PathLike, int)):
        raise OptionError(f"cannot read frames from a {type(spec).__name__}: give a path, a URL or a camera index")

    probe: _Fetched | None = None
    if kind == "auto":
        kind, probe = _guess_kind(spec)

    if kind in ("folder", "video"):
        if isinstance(spec, int):
            raise OptionError(f"kind={kind!r} needs a path, not the number {spec}")
        if interval is not None:
            raise OptionError(f"interval applies to live sources (camera, stream, snapshot), not to a {kind}: leave it out")
        if kind == "folder":
            return _FolderSource(spec, analysis_size=analysis_size, workers=workers, start=start, max_pixels=max_pixels, every=every)
        return _VideoSource(Path(spec), analysis_size=analysis_size, start=start, max_pixels=max_pixels, every=every)

    if start:
        raise OptionError(f"start={start} applies to folders and videos; a live {kind} cannot skip frames")
    if every != 1:
        raise OptionError(f"every={every} applies to folders and videos; a live {kind} takes one frame every interval")
    if kind == "camera":
        target = _camera_target(spec)
        return _CaptureSource(
            target, label=f"camera {target}", camera=True,
            analysis_size=analysis_size, interval=interval, max_pixels=max_pixels,
        )
    url = _url_of(spec, kind)
    if kind == "stream":
        return _CaptureSource(
            url, label=f"stream {_redacted(url)}", camera=False,
            analysis_size=analysis_size, interval=interval, max_pixels=max_pixels,
        )
    return _SnapshotSource(url, analysis_size=analysis_size, interval=interval, max_pixels=max_pixels, first=probe)


# -- deciding what a spec is ---------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _scheme(text: str) -> str:
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", text)
    return match.group(1).lower() if match else ""


def _guess_kind(spec: str | os.PathLike | int) -> tuple[str, _Fetched | None]:
    """The kind ``spec`` names, and for snapshot URLs the image the probe fetched."""
    if isinstance(spec, int):
        return "camera", None
    text = os.fspath(spec)
    if not isinstance(text, str):
        raise OptionError(f"cannot read frames from {spec!r}: give the path as text")
    scheme = _scheme(text)
    if scheme in _STREAM_SCHEMES:
        return "stream", None
    if scheme in ("http", "https"):
        return _probe_http(text)
    if scheme:
        raise InputError(f"{_redacted(text)}: {scheme}:// URLs are not read automatically; pass kind='stream' to hand it to FFmpeg")
    path = Path(text)
    if path.is_dir() or (glob.has_magic(text) and not path.exists()):
        return "folder", None
    if _DIGITS.match(text) or text.startswith("/dev/video"):
        return "camera", None
    if path.is_file():
        return "video", None
    raise InputError(f"{text}: no such file or folder")


def _probe_http(url: str) -> tuple[str, _Fetched | None]:
    """One request to tell a snapshot URL from an MJPEG stream by its Content-Type."""
    import urllib.request

    try:
        response = urllib.request.urlopen(_request(url), timeout=_PROBE_TIMEOUT)
    except Exception as exc:
        raise InputError(f"cannot reach URL {_redacted(url)}: {_reason(exc)}") from None
    with response:
        content_type = response.headers.get_content_type()
        if content_type == _MJPEG_TYPE:
            return "stream", None
        if content_type.startswith("image/"):
            try:
                data = response.read(_MAX_SNAPSHOT_BYTES + 1)
            except Exception as exc:
                raise InputError(f"cannot read URL {_redacted(url)}: {_reason(exc)}") from None
            if len(data) > _MAX_SNAPSHOT_BYTES:
                raise InputError(f"{_redacted(url)} sent more than {_MAX_SNAPSHOT_BYTES // 2**20} MiB: too large for one image")
            return "snapshot", _Fetched(data, content_type, time.time(), time.monotonic())
    raise InputError(
        f"{_redacted(url)} answers with {content_type}, neither an image (snapshot) nor an MJPEG "
        f"stream ({_MJPEG_TYPE}); pass kind='stream' or kind='snapshot' to say which it is"
    )


def _url_of(spec: str | os.PathLike | int, kind: str) -> str:
    text = spec if isinstance(spec, str) else None
    if text is None or not _scheme(text):
        raise OptionError(f"kind={kind!r} needs a URL such as rtsp://host/path or http://host/image.jpg, not {spec!r}")
    return text


def _camera_target(spec: str | os.PathLike | int) -> int | str:
    if isinstance(spec, int):
        return spec
    text = os.fspath(spec)
    if isinstance(text, str) and _DIGITS.match(text):
        return int(text)
    if not os.path.exists(text):
        raise InputError(f"camera {text}: no such device; check the cable, or list devices with `v4l2-ctl --list-devices`")
    return text


def _redacted(url: str) -> str:
    """``url`` without a password, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _reason(exc: BaseException) -> str:
    """One line saying why a request failed."""
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        exc.close()
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        text = getattr(reason, "strerror", None) or str(reason)
    else:
        text = str(exc) or type(exc).__name__
    if isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError):
        text = "timed out"
    lines = text.strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


def _full_size(loaded: LoadedImage) -> tuple[int, int]:
    return (round(loaded.width / loaded.scale), round(loaded.height / loaded.scale))


def _looks_like_image(path: Path) -> bool:
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError:
        return False
    return head.startswith(_IMAGE_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


# -- pixels for analysis -------------------------------------------------------------------


def _analysis_pixels(loaded: LoadedImage, analysis_size: int | None) -> np.ndarray:
    """Decoded float pixels at :func:`analysis_shape` of the file's full size.

    The change detector uses the same rule, so it never resamples a source's frames.
    """
    pixels = loaded.pixels
    if analysis_size is None:
        return pixels
    import cv2

    target = analysis_shape(*_full_size(loaded), analysis_size)
    if target == (pixels.shape[1], pixels.shape[0]):
        return pixels
    resized = cv2.resize(np.ascontiguousarray(pixels), target, interpolation=cv2.INTER_AREA)
    resized = resized[:, :, None] if resized.ndim == 2 else resized
    resized.setflags(write=False)
    return resized


def _from_bgr(bgr: np.ndarray, analysis_size: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(full-size RGB uint8, analysis float32 pixels) from an OpenCV frame."""
    import cv2

    if bgr.ndim == 2 or bgr.shape[2] == 1:
        rgb = cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    elif bgr.shape[2] == 4:
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB)
    else:
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    small = rgb
    if analysis_size is not None:
        target = analysis_shape(rgb.shape[1], rgb.shape[0], analysis_size)
        if target != (rgb.shape[1], rgb.shape[0]):
            small = cv2.resize(rgb, target, interpolation=cv2.INTER_AREA)
    pixels = small.astype(np.float32)
    pixels /= np.float32(255.0)
    rgb.setflags(write=False)
    pixels.setflags(write=False)
    return rgb, pixels


def _check_frame_size(width: float, height: float, max_pixels: int | None, label: str) -> None:
    if max_pixels is not None and width * height > max_pixels:
        raise InputError(
            f"{label}: frames of {int(width)}x{int(height)} exceed the limit of {max_pixels} pixels; "
            "raise max_pixels if this is expected"
        )


def _quiet_ffmpeg() -> None:
    """FFmpeg logs nothing (read once, when OpenCV first uses FFmpeg), unless the user said otherwise."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else text


# -- folders -------------------------------------------------------------------------------


class _FolderSource(FrameSource):
    """Image files in natural order, decoded ahead on ``workers`` threads."""

    def __init__(self, spec: str | os.PathLike, *, analysis_size: int | None, workers: int, start: int, max_pixels: int | None, every: int = 1):
        self._paths = list_images(spec)
        self._analysis_size = analysis_size
        self._workers = workers
        self._start = start
        self._every = every
        self._max_pixels = max_pixels
        self._iterators: weakref.WeakSet = weakref.WeakSet()
        text = os.fspath(spec)
        what = "pattern" if glob.has_magic(text) and not Path(text).exists() else "folder"
        count = len(self._paths)
        self.description = f"{what} {text} ({count} image{'s' if count != 1 else ''})"
        self.length = count

    def __iter__(self) -> Iterator[Frame]:
        iterator = self._frames()
        self._iterators.add(iterator)
        return iterator

    def _frames(self) -> Iterator[Frame]:
        from concurrent.futures import ThreadPoolExecutor

        todo = iter([(i, path) for i, path in enumerate(self._paths) if i >= self._start and i % self._every == 0])
        window = _window(self._workers, self._analysis_size)
        with ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="imgdelta-decode") as pool:
            pending = deque(pool.submit(self._load, index, path) for index, path in _take(todo, window))
            try:
                while pending:
                    frame = pending.popleft().result()
                    for index, path in _take(todo, 1):
                        pending.append(pool.submit(self._load, index, path))
                    yield frame
            finally:
                for future in pending:
                    future.cancel()

    def _load(self, index: int, path: Path) -> Frame:
        try:
            when = path.stat().st_mtime  # a camera's files carry the time they were taken
        except OSError:
            when = None
        common = dict(index=index, name=path.name, time=when, image=None, data=None, path=path, suffix=path.suffix)
        try:
            loaded = load_image(path, draft_size=self._analysis_size, max_pixels=self._max_pixels)
        except InputError as exc:
            return Frame(pixels=None, error=_first_line(str(exc)), **common)
        pixels = _analysis_pixels(loaded, self._analysis_size)
        return Frame(pixels=pixels, full_size=_full_size(loaded), prepared=self._prepared(pixels), **common)

    def close(self) -> None:
        for iterator in list(self._iterators):
            iterator.close()


def _window(workers: int, analysis_size: int | None) -> int:
    """Files decoding or decoded and waiting: at least two per worker, and up to eight per
    worker while that many of the largest frames of ``analysis_size`` (float32 RGB, longer
    side 1.5 times it, and as much again for what ``prepare`` makes of them) fit in
    :data:`_AHEAD_BYTES`."""
    if analysis_size is None:
        return 2 * workers
    largest = 2 * 3 * 4 * (1.5 * analysis_size) ** 2
    return max(2 * workers, min(8 * workers, int(_AHEAD_BYTES // largest)))


def _take(iterator: Iterator, count: int) -> list:
    return [item for _, item in zip(range(count), iterator)]


# -- video files ---------------------------------------------------------------------------


class _End:
    """The decoding thread reached the end of the video."""


@dataclass(frozen=True)
class _Failure:
    """The decoding thread failed; the consumer raises ``error``."""

    error: BaseException


class _VideoSource(FrameSource):
    """A video file decoded by OpenCV in a background thread feeding a bounded queue."""

    def __init__(self, path: Path, *, analysis_size: int | None, start: int, max_pixels: int | None, every: int = 1):
        import cv2

        self._every = every
        if not path.exists():
            raise InputError(f"{path}: no such file")
        if path.is_dir():
            raise InputError(f"{path}: is a folder, not a video; read it as a folder of images")
        if _looks_like_image(path):
            raise InputError(f"{path}: is a still image, not a video; give the folder that holds the frames")
        self._path = path
        self._analysis_size = analysis_size
        self._start = start
        capture = self._open()
        try:
            if _fourcc(capture.get(cv2.CAP_PROP_FOURCC)) == "ansi":  # FFmpeg renders any text file as ANSI art
                raise InputError(f"{path}: is text, not a video")
            width, height = capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)
            _check_frame_size(width, height, max_pixels, str(path))
            if not capture.grab():
                raise InputError(f"{path}: holds no video frame OpenCV can decode")
            count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
            fps = capture.get(cv2.CAP_PROP_FPS)
        finally:
            capture.release()
        self.length = int(count) if 0 < count < 2**31 else None
        self.fps = float(fps) if fps > 0 and math.isfinite(fps) else None
        about = [f"{self.length} frames" if self.length is not None else None, f"{self.fps:g} fps" if self.fps else None]
        details = ", ".join(part for part in about if part)
        self.description = f"video {path}" + (f" ({details})" if details else "")
        self._iterators: weakref.WeakSet = weakref.WeakSet()

    def _open(self):
        import cv2

        _quiet_ffmpeg()
        with _native_stderr_silenced():
            capture = cv2.VideoCapture(str(self._path))
        if not capture.isOpened():
            capture.release()
            raise InputError(f"{self._path}: cannot open it as a video (not a video file, or a codec OpenCV's FFmpeg lacks)")
        return capture

    def __iter__(self) -> Iterator[Frame]:
        iterator = self._frames()
        self._iterators.add(iterator)
        return iterator

    def close(self) -> None:
        for iterator in list(self._iterators):
            iterator.close()

    def _frames(self) -> Iterator[Frame]:
        frames: queue.Queue = queue.Queue(maxsize=_VIDEO_QUEUE)
        stop = threading.Event()
        thread = threading.Thread(target=self._decode, args=(frames, stop), name="imgdelta-video", daemon=True)
        thread.start()
        try:
            while True:
                try:
                    item = frames.get(timeout=0.5)
                except queue.Empty:
                    if thread.is_alive() or not frames.empty():
                        continue
                    raise InputError(f"{self._path}: the decoding thread ended without a word") from None
                if isinstance(item, _End):
                    return
                if isinstance(item, _Failure):
                    raise item.error
                yield item
        finally:
            stop.set()
            while thread.is_alive():
                try:  # make room, so that a blocked put() sees the stop
                    while True:
                        frames.get_nowait()
                except queue.Empty:
                    pass
                thread.join(timeout=0.05)

    def _decode(self, frames: queue.Queue, stop: threading.Event) -> None:
        """Thread body: decode frames into ``frames`` until the end, an error or ``stop``."""
        import cv2

        try:
            capture = self._open()
            try:
                capture, index = self._seek(capture)
                while not stop.is_set():
                    if index % self._every:
                        # a frame between two taken ones: decoded (the codec needs it) but
                        # not converted
                        if not capture.grab():
                            break
                        index += 1
                        continue
                    ok, bgr = capture.read()
                    if not ok or bgr is None:
                        break
                    seconds = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                    if not (seconds > 0 or index == 0) or not math.isfinite(seconds):
                        seconds = index / self.fps if self.fps else math.nan
                    if not _put(frames, self._frame(bgr, index, seconds), stop):
                        return
                    index += 1
            finally:
                capture.release()
        except InputError as exc:
            _put(frames, _Failure(exc), stop)
            return
        except cv2.error as exc:
            _put(frames, _Failure(InputError(f"{self._path}: cannot decode the video ({_first_line(str(exc))})")), stop)
            return
        except BaseException as exc:  # raised again in the consumer's thread
            _put(frames, _Failure(exc), stop)
            return
        _put(frames, _End(), stop)

    def _seek(self, capture):
        """Position ``capture`` at frame ``start``; returns (capture, index of the next frame)."""
        import cv2

        start = self._start
        if start == 0:
            return capture, 0
        with _native_stderr_silenced():
            moved = capture.set(cv2.CAP_PROP_POS_FRAMES, start)
        if moved and round(capture.get(cv2.CAP_PROP_POS_FRAMES)) == start:
            return capture, start
        capture.release()  # the container cannot seek exactly: decode forward from the start
        capture = self._open()
        for index in range(start):
            if not capture.grab():
                return capture, index
        return capture, start

    def _frame(self, bgr: np.ndarray, index: int, seconds: float) -> Frame:
        rgb, pixels = _from_bgr(bgr, self._analysis_size)
        if math.isfinite(seconds):
            millis = round(seconds * 1000)
            name = f"{self._path.stem}_{index:06d}_{millis // 60000:02d}m{(millis % 60000) / 1000:06.3f}s"
            when: float | None = seconds
        else:
            name, when = f"{self._path.stem}_{index:06d}", None
        return Frame(
            index=index, name=name, time=when, pixels=pixels, image=rgb, data=None, path=None,
            full_size=(rgb.shape[1], rgb.shape[0]), prepared=self._prepared(pixels),
        )


def _fourcc(value: float) -> str:
    code = int(value) if math.isfinite(value) and value > 0 else 0
    return "".join(chr((code >> shift) & 0xFF) for shift in (0, 8, 16, 24))


def _put(frames: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put ``item`` unless ``stop`` is set first; True if it went in."""
    while not stop.is_set():
        try:
            frames.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False


# -- live sources --------------------------------------------------------------------------


class _Ticker:
    """Deadlines every ``interval`` seconds from the first, on the monotonic clock.

    A deadline missed by a slow consumer is served late rather than skipped, but only the
    latest missed one: no burst of frames to catch up.
    """

    def __init__(self, interval: float):
        self.interval = interval
        self._origin: float | None = None
        self._tick = 0

    def restart(self, now: float | None = None) -> None:
        self._origin, self._tick = now, 0

    def next_deadline(self) -> float:
        now = time.monotonic()
        if self._origin is None:
            self._origin = now
            return now
        self._tick = max(self._tick + 1, math.floor((now - self._origin) / self.interval))
        return self._origin + self._tick * self.interval


def _wait_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def _timestamp_name(wall: float) -> str:
    moment = datetime.fromtimestamp(wall)
    return moment.strftime("%Y%m%d-%H%M%S") + f".{moment.microsecond // 1000:03d}"


class _CaptureSource(FrameSource):
    """A camera or a network stream read through ``cv2.VideoCapture``."""

    live = True

    def __init__(self, target: int | str, *, label: str, camera: bool, analysis_size: int | None, interval: float | None, max_pixels: int | None):
        self._target = target
        self._camera = camera
        self._analysis_size = analysis_size
        self._max_pixels = max_pixels
        self._ticker = _Ticker(interval) if interval is not None else None
        self._count = 0
        self._closed = False
        self.description = label
        self._capture = self._open()
        if self._capture is None:
            if camera:
                raise InputError(f"{label}: cannot open the device; is it connected and not in use by another program?")
            raise InputError(f"{label}: cannot open the stream; check the URL, the network and that the server is up")
        self._check_size()
        if interval is not None:
            self.fps = 1.0 / interval
        else:
            import cv2

            fps = self._capture.get(cv2.CAP_PROP_FPS)
            self.fps = float(fps) if fps > 0 and math.isfinite(fps) else None

    def _open(self):
        import cv2

        _quiet_ffmpeg()
        with _native_stderr_silenced():
            if self._camera:
                capture = cv2.VideoCapture(self._target)
            else:
                timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, _STREAM_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, _STREAM_TIMEOUT_MS]
                capture = cv2.VideoCapture(self._target, cv2.CAP_FFMPEG, timeouts)
        if not capture.isOpened():
            capture.release()
            return None
        return capture

    def _check_size(self) -> None:
        import cv2

        width = self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)
        height = self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT)
        try:
            _check_frame_size(width, height, self._max_pixels, self.description)
        except InputError:
            self.close()
            raise

    def __iter__(self) -> Iterator[Frame]:
        return self

    def __next__(self) -> Frame:
        if self._closed:
            raise StopIteration
        capture = self._capture
        if capture is None:
            raise SourceLostError(f"{self.description}: lost")
        if self._ticker is not None:
            deadline = self._ticker.next_deadline()
            while time.monotonic() < deadline:  # keep the device's buffer drained: the frame kept is fresh
                if not capture.grab():
                    self._lose()
        if not capture.grab():
            self._lose()
        wall = time.time()
        ok, bgr = capture.retrieve()
        if not ok or bgr is None:
            self._lose()
        rgb, pixels = _from_bgr(bgr, self._analysis_size)
        frame = Frame(
            index=self._count, name=_timestamp_name(wall), time=wall, pixels=pixels, image=rgb, data=None, path=None,
            full_size=(rgb.shape[1], rgb.shape[0]), prepared=self._prepared(pixels),
        )
        self._count += 1
        return frame

    def _lose(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
        what = "the device stopped sending frames (unplugged?)" if self._camera else "the stream stopped sending frames"
        raise SourceLostError(f"{self.description}: {what}")

    def reopen(self) -> None:
        """Release the device or connection and open it again, once."""
        if self._closed:
            raise OptionError(f"{self.description} is closed: open a new source")
        if self._capture is not None:
            self._capture.release()
        self._capture = self._open()
        if self._capture is None:
            raise SourceLostError(f"{self.description}: still cannot be opened; try again later")
        if self._ticker is not None:
            self._ticker.restart()

    def close(self) -> None:
        self._closed = True
        if self._capture is not None:
            self._capture.release()
            self._capture = None


@dataclass(frozen=True)
class _Fetched:
    """One image as an http(s) server sent it."""

    data: bytes
    content_type: str
    wall: float
    monotonic: float


def _request(url: str):
    import urllib.request

    return urllib.request.Request(url, headers={"User-Agent": "imgdelta", "Cache-Control": "no-cache"})


def _fetch(url: str, timeout: float) -> _Fetched:
    """GET ``url``; InputError when the answer is a stream or too large to be one image."""
    import urllib.request

    with urllib.request.urlopen(_request(url), timeout=timeout) as response:
        content_type = response.headers.get_content_type()
        if content_type == _MJPEG_TYPE:
            raise InputError(f"{_redacted(url)} is an MJPEG stream, not a snapshot: use kind='stream'")
        data = response.read(_MAX_SNAPSHOT_BYTES + 1)
        if len(data) > _MAX_SNAPSHOT_BYTES:
            raise InputError(f"{_redacted(url)} sent more than {_MAX_SNAPSHOT_BYTES // 2**20} MiB: too large for one image")
        return _Fetched(data, content_type, time.time(), time.monotonic())


class _SnapshotSource(FrameSource):
    """An http(s) URL answering with one image, fetched once per interval."""

    live = True

    def __init__(self, url: str, *, analysis_size: int | None, interval: float | None, max_pixels: int | None, first: _Fetched | None):
        self._url = url
        self._analysis_size = analysis_size
        self._max_pixels = max_pixels
        self._ticker = _Ticker(interval if interval is not None else _SNAPSHOT_INTERVAL)
        self._count = 0
        self._closed = False
        self.fps = 1.0 / self._ticker.interval
        self.description = f"snapshot URL {_redacted(url)} (every {self._ticker.interval:g} s)"
        if first is None:
            try:
                first = _fetch(url, _HTTP_TIMEOUT)
            except InputError:
                raise
            except Exception as exc:
                raise InputError(f"cannot reach URL {_redacted(url)}: {_reason(exc)}") from None
        frame = self._frame(first)
        if frame.error is not None:
            raise InputError(f"{_redacted(url)}: the answer is not an image ({frame.error})")
        self._pending: Frame | None = frame
        self._ticker.restart(first.monotonic)

    def __iter__(self) -> Iterator[Frame]:
        return self

    def __next__(self) -> Frame:
        if self._closed:
            raise StopIteration
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        _wait_until(self._ticker.next_deadline())
        return self._frame(self._get())

    def _get(self) -> _Fetched:
        try:
            return _fetch(self._url, _HTTP_TIMEOUT)
        except Exception as exc:
            raise SourceLostError(f"{self.description}: {_reason(exc)}") from None

    def _frame(self, fetched: _Fetched) -> Frame:
        suffix = _SUFFIX_OF_TYPE.get(fetched.content_type)
        common = dict(index=self._count, name=_timestamp_name(fetched.wall), time=fetched.wall, image=None, data=fetched.data, path=None)
        self._count += 1
        try:
            loaded = load_image(fetched.data, draft_size=self._analysis_size, max_pixels=self._max_pixels, name=_redacted(self._url))
        except InputError as exc:
            return Frame(pixels=None, error=_first_line(str(exc)), suffix=suffix or ".bin", **common)
        suffix = suffix or _SUFFIX_OF_FORMAT.get(loaded.format or "", ".img")
        pixels = _analysis_pixels(loaded, self._analysis_size)
        return Frame(pixels=pixels, suffix=suffix, full_size=_full_size(loaded), prepared=self._prepared(pixels), **common)

    def reopen(self) -> None:
        """Fetch the URL once; its image is the next frame. SourceLostError if it fails."""
        if self._closed:
            raise OptionError(f"{self.description} is closed: open a new source")
        fetched = self._get()
        self._pending = self._frame(fetched)
        self._ticker.restart(fetched.monotonic)

    def close(self) -> None:
        self._closed = True
        self._pending = None
