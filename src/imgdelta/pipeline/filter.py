"""filter_frames: a source of frames in, the frames that changed out, with a manifest.

The same loop serves ``imgdelta filter`` (a folder or a video, to the end) and
``imgdelta capture`` (a camera for days). Safe order for every kept frame: the image is
written atomically first, then its manifest row and the detector's state are committed in
one transaction. A kill between the two leaves a complete image that the resumed run
rewrites under the same name; nothing is ever half-written or listed without its file.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time as _time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..decide.change import ChangeDetector, Decision, DetectorSettings, NoiseProfile
from ..errors import InputError, OptionError, StorageError
from ..io.sources import Frame, FrameSource, open_source
from ..store import MANIFEST_NAME, FrameRecord, Manifest, encode_image, link_or_copy, remove_stale_temps, write_atomic

__all__ = ["BusyPlace", "FilterResult", "KeptFrame", "filter_frames", "open_run"]

Mode = Literal["copy", "link", "move"]
#: Commit skipped frames at least this often (seconds), so a kill loses little work.
COMMIT_EVERY = 1.0
_RUN_KEY = "run"


@dataclass(frozen=True)
class KeptFrame:
    """A frame that was stored: where it came from, its file in OUT and why it was kept."""

    index: int
    name: str
    file: str
    time: float | None
    decision: Decision


@dataclass
class FilterResult:
    """What the run in ``out`` holds, resumed calls included; ``processed`` counts this call's
    frames. ``to_dict`` is the ``--json`` document."""

    source: str
    out: Path
    total: int = 0
    kept: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    skipped: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    resumed: int = 0
    processed: int = 0
    seconds: float = 0.0
    settings: DetectorSettings = field(default_factory=DetectorSettings)
    calibrated: bool = False
    stopped: str | None = None
    busy_place: BusyPlace | None = None
    every: dict[str, float] = field(default_factory=lambda: {"frames": 1})
    #: Files of a resumed folder that sort among frames judged before: they are judged
    #: after those, against the last kept frame, not in the order of their names.
    out_of_order: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "out": str(self.out),
            "total": self.total,
            "kept": list(self.kept),
            "kept_count": len(self.kept),
            "reasons": list(self.reasons),
            "skipped": self.skipped,
            "errors": list(self.errors),
            "resumed_after": self.resumed,
            "processed": self.processed,
            "seconds": round(self.seconds, 3),
            "calibrated": self.calibrated,
            "stopped": self.stopped,
            "busy_place": self.busy_place.to_dict() if self.busy_place is not None else None,
            "every": dict(self.every),
            "out_of_order": list(self.out_of_order),
            "settings": self.settings.to_dict(),
        }


@dataclass(frozen=True)
class BusyPlace:
    """A place that changed in most of the frames this call kept for a change: a clock, a
    screen or a tree, more likely than news. ``box`` is (x, y, width, height) in the
    frames' full-resolution pixels; ``frames`` of the ``kept`` frames changed there."""

    box: tuple[int, int, int, int]
    frames: int
    kept: int

    def to_dict(self) -> dict[str, Any]:
        return {"box": list(self.box), "frames": self.frames, "kept": self.kept}


#: A busy place needs this many frames kept for a change, a block that changed in this
#: share of them, and covers at most this share of the frame.
_BUSY_KEPT = 8
_BUSY_SHARE = 0.6
_BUSY_AREA = 0.2
#: The box around a busy place takes in the blocks that changed in this share of them.
_BUSY_REACH = 0.3
#: Side of the blocks a busy place is counted in, in analysis pixels.
_BLOCK = 8


class _ChangeTally:
    """How often each block of 8 x 8 analysis pixels changed in the frames kept for a
    change (a clock's digits or a screen's text change somewhere in their block, rarely at
    the same pixel)."""

    def __init__(self) -> None:
        self.counts: Any = None
        self.kept = 0
        self.full_size: tuple[int, int] | None = None
        self.shape: tuple[int, int] | None = None

    def add(self, changed: Any, full_size: tuple[int, int] | None) -> None:
        import cv2
        import numpy as np

        blocks = cv2.dilate(changed.view(np.uint8), np.ones((_BLOCK, _BLOCK), np.uint8), anchor=(0, 0))[::_BLOCK, ::_BLOCK]
        if self.counts is None or self.shape != changed.shape:
            self.counts, self.kept, self.shape = np.zeros(blocks.shape, np.uint32), 0, changed.shape
        self.counts += blocks > 0
        self.kept += 1
        self.full_size = full_size

    def busy_place(self) -> BusyPlace | None:
        import numpy as np

        if self.kept < _BUSY_KEPT or self.full_size is None:
            return None
        if not (self.counts >= _BUSY_SHARE * self.kept).any():
            return None
        # the place reaches as far as blocks that changed in a good part of those frames
        frequent = self.counts >= _BUSY_REACH * self.kept
        if frequent.mean() > _BUSY_AREA:
            return None
        rows, cols = np.nonzero(frequent)
        assert self.shape is not None
        height, width = self.shape[0] / _BLOCK, self.shape[1] / _BLOCK
        sx, sy = self.full_size[0] / width, self.full_size[1] / height
        x0, y0 = int(cols.min() * sx), int(rows.min() * sy)
        x1, y1 = min(self.full_size[0], int(np.ceil((cols.max() + 1) * sx))), min(self.full_size[1], int(np.ceil((rows.max() + 1) * sy)))
        frames = int(self.counts[frequent].max())
        return BusyPlace((x0, y0, x1 - x0, y1 - y0), frames, self.kept)


# --------------------------------------------------------------------------------------


def _state_blob(detector: ChangeDetector, position: int) -> bytes:
    header = json.dumps({"position": position}).encode()
    return len(header).to_bytes(4, "big") + header + detector.state()


def _from_blob(blob: bytes, profile: NoiseProfile | None) -> tuple[ChangeDetector, int]:
    size = int.from_bytes(blob[:4], "big")
    header = json.loads(blob[4 : 4 + size].decode())
    return ChangeDetector.from_state(blob[4 + size :], profile=profile), int(header["position"])


def _source_key(source: Any) -> str:
    """The source as a run remembers it: absolute for paths, as given otherwise."""
    if isinstance(source, (str, os.PathLike)) and not _is_url(str(source)) and not str(source).isdigit():
        return os.path.abspath(os.fspath(source))
    return str(source)


def _is_url(text: str) -> bool:
    return "://" in text


def _frames_in(source: Any, kind: str, seconds: float) -> int:
    """How many frames of the video ``source`` make ``seconds``, at its frame rate."""
    fps = None
    if isinstance(source, (str, os.PathLike)) and Path(source).is_file():
        probe = open_source(source, kind=kind, analysis_size=None)
        fps = getattr(probe, "fps", None)
        probe.close()
    if not fps:
        raise OptionError(f"one frame every {seconds:g} s needs a video with a frame rate; for {source} give a number of frames")
    return max(1, round(seconds * fps))


def open_run(
    out: Path,
    settings: DetectorSettings,
    profile: NoiseProfile | None,
    source: str,
    sampling: dict[str, float] | None = None,
) -> tuple[Manifest, ChangeDetector, int, int]:
    """Open or create the run in ``out``: (manifest, detector, next position, rows done).

    A run is resumed only from the source and with the settings it started with; anything
    else is refused, because its kept frames were chosen from that source by those settings.
    """
    if out.exists() and not out.is_dir():
        raise OptionError(f"output folder {out} is a file: give a folder (it is created if missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create output folder {out}: {exc.strerror or exc}") from None
    manifest = Manifest.open(out, create=True)
    try:
        remove_stale_temps(out)
        sampling = sampling or {"frames": 1}
        described = {
            "settings": settings.to_dict(),
            "calibrated": profile is not None,
            "profile": profile.fingerprint() if profile is not None else None,
            "every": sampling,
        }
        previous = manifest.get_setting(_RUN_KEY)
        saved = manifest.state()
        if previous is None or saved is None:
            manifest.set_setting(_RUN_KEY, {**described, "source": source, "started": _time.time()})
            if profile is not None:
                manifest.set_setting("calibration", dict(profile.report))
            return manifest, ChangeDetector(settings, profile=profile), 0, 0
        if previous.get("source") != source:
            raise OptionError(
                f"{out} holds a run of {previous.get('source')}, not of {source}: write to a new folder"
            )
        if previous.get("every", {"frames": 1}) != sampling:
            def said(choice: dict[str, float]) -> str:
                if "seconds" in choice:
                    return f"one frame every {choice['seconds']:g} s"
                return "every frame" if int(choice["frames"]) == 1 else f"one frame in every {int(choice['frames'])}"

            raise OptionError(
                f"{out} holds a run that judged {said(previous.get('every', {'frames': 1}))}, not {said(sampling)}: "
                "resume it the same way, or write to a new folder"
            )
        if previous.get("calibrated") != described["calibrated"]:
            was = "with" if previous.get("calibrated") else "without"
            raise OptionError(f"{out} holds a run made {was} a calibration: resume it the same way, or write to a new folder")
        if previous.get("profile") not in (None, described["profile"]):
            # the same thresholds can come with other per-pixel floors (another camera's
            # calibration, or explicit thresholds over a profile)
            raise OptionError(
                f"{out} holds a run made with another calibration (its per-pixel floors differ): "
                "resume it with the same profile, or write to a new folder"
            )
        if previous.get("settings") != described["settings"]:
            old, new = previous.get("settings", {}), described["settings"]
            differ = ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k))
            raise OptionError(f"{out} holds a run made with other settings ({differ}): resume it with the same options, or write to a new folder")
        rows_done, blob = saved
        detector, position = _from_blob(blob, profile)
        return manifest, detector, position, rows_done + 1
    except BaseException:
        manifest.close()
        raise


def _output_name(frame: Frame) -> str:
    if frame.path is not None:
        return frame.path.name
    return f"{frame.name}{frame.suffix}"


def _store(frame: Frame, out: Path, mode: Mode) -> str:
    name = _output_name(frame)
    target = out / name
    if frame.path is not None:
        link_or_copy(frame.path, target, mode)
    elif frame.data is not None:
        write_atomic(target, frame.data)
    elif frame.image is not None:
        write_atomic(target, encode_image(frame.image, frame.suffix))
    else:  # pragma: no cover - every source gives one of the three
        raise InputError(f"frame {frame.name} has nothing to store")
    return name


def _folder_start(source_spec: Any, done: set[str]) -> tuple[int, set[str]]:
    """How many leading files of a folder listing the manifest already covers, and the
    new files that sort before some file it covers (added after that file was judged).

    Counting names rather than trusting a position keeps ``--move`` resumable: moved files
    have left the listing, the skipped ones that remain are recognised by name. (Files
    already recorded further on are passed over by name as they come.)
    """
    from ..io.folders import list_images

    names = [path.name for path in list_images(source_spec)] if done else []
    count = 0
    while count < len(names) and names[count] in done:
        count += 1
    last_done = max((i for i, name in enumerate(names) if name in done), default=-1)
    return count, {name for name in names[count:last_done] if name not in done}


def filter_frames(
    source: Any,
    out: str | os.PathLike[str],
    *,
    settings: DetectorSettings | None = None,
    profile: NoiseProfile | None = None,
    mode: Mode = "copy",
    kind: str = "auto",
    interval: float | None = None,
    max_frames: int | None = None,
    workers: int = 2,
    progress: Callable[[int, int | None, int], None] | None = None,
    on_keep: Callable[[KeptFrame], None] | None = None,
    on_frame: Callable[[Frame, Decision | None], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    frames: Iterable[Frame] | None = None,
    every: int = 1,
    every_seconds: float | None = None,
) -> FilterResult:
    """Keep the frames of ``source`` that changed, in ``out``, with a manifest.

    Parameters
    ----------
    source : folder, glob, video file, camera index or URL
        Anything :func:`imgdelta.io.sources.open_source` accepts.
    out : path
        Output folder: kept frames at its top level and ``manifest.sqlite``. Running
        again on the same folder resumes where the last run stopped.
    settings, profile
        The detector's settings and an optional calibration (:func:`calibrate_detector`).
    mode : {"copy", "link", "move"}
        How kept files of a folder reach ``out``; frames of videos and cameras are encoded.
    max_frames : int, optional
        Stop after this many frames in this call.
    progress : callable(done, total or None, kept), optional
        Called after every frame (cheap; throttle in the callback).
    on_keep : callable(KeptFrame), optional
        Called after a kept frame is safely stored and listed.
    should_stop : callable() -> bool, optional
        Polled between frames; True stops cleanly (signals in ``capture``).
    frames : iterable of Frame, optional
        Frames from an already opened source (``capture`` reopens lost cameras itself).
    every, every_seconds
        Judge only one frame in every ``every`` of a folder or video (the frames whose
        index is a multiple of it), or of a video one every ``every_seconds`` (that many
        frames at its frame rate). The others get no row. A run resumes only with the
        same choice.

    Raises
    ------
    InputError
        The source cannot be opened, or no frame at all could be decoded.
    StorageError
        ``out`` cannot be written (a full disk): the run stops, everything stored so far
        is complete and listed.
    """
    if mode not in ("copy", "link", "move"):
        raise OptionError(f"mode {mode!r} is not copy, link or move")
    if not isinstance(every, int) or isinstance(every, bool) or every < 1:
        raise OptionError(f"every={every!r} must be a whole number of frames, at least 1")
    if every_seconds is not None and not (isinstance(every_seconds, (int, float)) and math.isfinite(every_seconds) and every_seconds > 0):
        raise OptionError(f"every_seconds={every_seconds!r} must be a positive number of seconds")
    if mode == "move" and (every > 1 or every_seconds is not None):
        # a moved file leaves the listing and shifts the indices the sampling is made on
        raise OptionError("taking one frame in every few cannot be resumed exactly with move: copy or link instead")
    started = _time.monotonic()
    out_dir = Path(out)
    if settings is None:
        settings = profile.settings if profile is not None else DetectorSettings()
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir() and Path(source).resolve() == out_dir.resolve():
        raise OptionError("the output folder must not be the source folder")
    description = str(source)
    fresh = not out_dir.exists()
    failed = False
    sampling = {"seconds": float(every_seconds)} if every_seconds is not None else {"frames": every}
    manifest, detector, position, rows_done = open_run(out_dir, settings, profile, _source_key(source), sampling)
    result = FilterResult(source=description, out=out_dir, settings=settings, calibrated=profile is not None, every=sampling)
    result.resumed = rows_done
    opened: FrameSource | None = None
    row = rows_done
    # True from the detector's update until the frame's row is recorded: the detector is then
    # ahead of OUT (a kept frame's reference may not be stored), so its state must not be saved
    in_frame = False
    try:
        done: set[str] = set()
        late: set[str] = set()
        if frames is None:
            start = 0
            if isinstance(source, (str, os.PathLike)):
                if Path(source).is_dir() or any(c in str(source) for c in "*?["):
                    done = {record.name for record in manifest.rows()} if rows_done else set()
                    start, late = _folder_start(source, done)
                elif Path(source).is_file():
                    start = position  # a video: its next frame number
            if every_seconds is not None:
                every = _frames_in(source, kind, every_seconds)
            opened = open_source(
                source, kind=kind, analysis_size=settings.analysis_size, interval=interval, workers=workers, start=start,
                every=every,
            )
            description = opened.description
            result.source = description
            opened.prepare = detector.prepare  # reduce frames in the decoding threads
            frames = opened
            first = -(-start // every) * every  # the first index taken
            total = len(range(first, opened.length, every)) if opened.length is not None and not opened.live else None
        else:
            total = None
        decoded = 0
        tally = _ChangeTally()
        last_commit = _time.monotonic()
        for frame in frames:
            if should_stop is not None and should_stop():
                result.stopped = "stop requested"
                break
            if frame.name in done:
                continue  # a file of the folder this run already judged
            decision: Decision | None = None
            in_frame = True
            if frame.error is not None or frame.pixels is None:
                result.errors.append({"name": frame.name, "error": frame.error or "no pixels"})
                manifest.record(FrameRecord(idx=row, name=frame.name, time=frame.time, decision="error", reason=frame.error or "no pixels"))
            else:
                decoded += 1
                if frame.name in late:
                    result.out_of_order.append(frame.name)
                decision = detector.update(
                    frame.prepared if frame.prepared is not None else frame.pixels, time=frame.time, full_size=frame.full_size
                )
                kept_name = None
                if decision.keep and decision.kind == "change" and detector.last_change is not None:
                    tally.add(detector.last_change, frame.full_size)
                if decision.keep:
                    kept_name = _store(frame, out_dir, mode)
                    result.kept.append(kept_name)
                else:
                    result.skipped += 1
                manifest.record(
                    FrameRecord(
                        idx=row,
                        name=frame.name,
                        time=frame.time,
                        decision="keep" if decision.keep else "skip",
                        reason=decision.reason,
                        score=decision.score,
                        threshold=decision.threshold,
                        scores=dict(decision.scores),
                        kept_name=kept_name,
                        recorded=_time.time(),
                    )
                )
            row += 1
            result.total += 1
            position = frame.index + 1
            in_frame = False
            now = _time.monotonic()
            if (decision is not None and decision.keep) or now - last_commit >= COMMIT_EVERY:
                manifest.commit(_state_blob(detector, position), row - 1)
                last_commit = now
            if decision is not None and decision.keep and on_keep is not None:
                on_keep(KeptFrame(frame.index, frame.name, result.kept[-1], frame.time, decision))
            if on_frame is not None:
                on_frame(frame, decision)
            if progress is not None:
                progress(result.total, total, len(result.kept))
            if max_frames is not None and result.total >= max_frames:
                result.stopped = "max frames"
                break
        if result.total and not decoded and not rows_done:
            raise InputError(f"no frame of {description} could be decoded ({len(result.errors)} errors; first: {result.errors[0]['error']})")
        if manifest.pending:
            manifest.commit(_state_blob(detector, position), row - 1)
        _whole_run(result, manifest)
        result.busy_place = tally.busy_place()
    except BaseException:
        failed = True
        raise
    finally:
        # also on the way out of an error or a signal: every buffered row describes a frame
        # that is completely stored, so committing it loses nothing and lies about nothing.
        # Not when a frame was cut short (a full disk while storing it, a signal): the
        # detector already took it as its reference, and saving that state would make the
        # resumed run skip the change that was never stored. Its buffered rows are dropped
        # with it: a folder or video resumes before them, a camera loses only skip rows.
        try:
            if manifest.pending and not in_frame:
                manifest.commit(_state_blob(detector, position), row - 1)
        except StorageError:
            pass
        finally:
            if opened is not None:
                opened.close()
            manifest.close()
            if fresh and failed and not result.kept:
                _remove_empty_run(out_dir)
    result.seconds = _time.monotonic() - started
    return result


def _remove_empty_run(out: Path) -> None:
    """Take back a folder this call created when it failed before storing any frame: a run
    that read nothing leaves nothing behind."""
    for name in (MANIFEST_NAME, f"{MANIFEST_NAME}-wal", f"{MANIFEST_NAME}-shm", f"{MANIFEST_NAME}-journal"):
        with contextlib.suppress(OSError):
            (out / name).unlink()
    with contextlib.suppress(OSError):
        out.rmdir()  # only if nothing else is in it


def _whole_run(result: FilterResult, manifest: Manifest) -> None:
    """Make the result describe the whole run in OUT, earlier (resumed) calls included."""
    result.processed = result.total
    counts = manifest.counts()
    result.total = counts["total"]
    result.skipped = counts["skipped"]
    kept = manifest.kept()
    result.kept = [record.kept_name or record.name for record in kept]
    result.reasons = [record.reason for record in kept]
    if counts["errors"] != len(result.errors):
        result.errors = [{"name": r.name, "error": r.reason} for r in manifest.rows() if r.decision == "error"]
