"""``imgdelta filter``, ``calibrate`` and ``capture``: the time-lapse commands."""

from __future__ import annotations

import argparse
import json
import math
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import InputError, OptionError, SourceLostError

__all__ = ["add_commands"]

_GAP_RE = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(f|frames?|s|sec|m|min|h)?\s*$")
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


def parse_gap(text: str, option: str) -> tuple[int | None, float | None]:
    """``"50"`` or ``"50f"`` -> 50 frames; ``"30s"``, ``"10m"``, ``"2h"`` -> seconds."""
    match = _GAP_RE.match(text)
    if not match or float(match.group(1)) <= 0:
        raise OptionError(f"{option} {text!r}: give frames (50 or 50f) or a duration (30s, 10m, 2h)")
    value, unit = float(match.group(1)), match.group(2)
    if unit is None or unit.startswith("f"):
        if value != int(value):
            raise OptionError(f"{option} {text!r}: a number of frames is a whole number")
        return int(value), None
    return None, value * _UNIT_SECONDS[unit]


def _positive_float(what: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{text} is not a positive number")
        return value

    return parse


def _add_detector_options(parser: argparse.ArgumentParser) -> None:
    from ..decide.change import DetectorSettings

    d = DetectorSettings()
    group = parser.add_argument_group("what counts as a change (defaults need no tuning)")
    group.add_argument("--calibrate", metavar="DIR", help="frames where nothing changed: measure the noise floor from them first")
    group.add_argument("--profile", metavar="FILE", help="a profile saved by 'imgdelta calibrate --save'")
    group.add_argument(
        "--sensitivity", type=_positive_float("--sensitivity"), metavar="K",
        help=f"noise standard deviations a pixel must move to count (default {d.sensitivity:g}; lower is more sensitive)",
    )
    group.add_argument(
        "--min-area", type=_positive_float("--min-area"), metavar="PERCENT",
        help=f"share of the frame that must change, in percent (default {100 * d.min_area:g})",
    )
    group.add_argument(
        "--min-contrast", type=_positive_float("--min-contrast"), metavar="C",
        help=f"smallest intensity change that counts, 0-1 (default {d.min_contrast:g})",
    )
    group.add_argument(
        "--lighting", type=_positive_float("--lighting"), metavar="RATIO",
        help=f"a brightness ratio beyond this is a lighting change (default {math.exp(d.lighting):.2f})",
    )
    group.add_argument(
        "--reference", choices=("kept", "previous", "background"),
        help="compare with the last kept frame (default), the previous frame, or a slowly adapting background",
    )
    group.add_argument("--max-gap", metavar="GAP", help="keep a frame anyway after this long: frames (100) or time (30s, 10m, 2h)")
    group.add_argument("--min-gap", metavar="GAP", help="never keep two frames closer than this: frames or time")
    group.add_argument("--skip-dark", type=_positive_float("--skip-dark"), metavar="LEVEL", help="skip frames darker than this mean (0-1; 0.04 is dark)")
    group.add_argument("--skip-blank", type=_positive_float("--skip-blank"), metavar="LEVEL", help="skip frames with less contrast than this (0-1; 0.01 is blank)")
    group.add_argument("--roi", metavar="X,Y,W,H", help="only this rectangle counts (full-resolution pixels)")
    group.add_argument("--ignore", action="append", default=[], metavar="X,Y,W,H", help="this rectangle never counts (repeatable)")
    group.add_argument("--metric", metavar="NAME", help="decide with a classic metric instead (with --threshold), e.g. ssim")
    group.add_argument("--threshold", type=float, metavar="T", help="the metric's threshold: similarities keep below it, distances above")
    group.add_argument("--analysis-size", type=int, metavar="N", help=f"about the longer side of the image the decision is made on, in pixels: JPEG frames decode at the reduced scale nearest it, up to 1.5 times it (default {d.analysis_size})")


def _settings(args: argparse.Namespace, base: Any = None) -> Any:
    """DetectorSettings from the options, on top of ``base`` (a profile's or the defaults)."""
    from dataclasses import replace

    from ..decide.change import DetectorSettings
    from ..preprocess import parse_rect

    settings = base or DetectorSettings()
    changes: dict[str, Any] = {}
    if args.sensitivity is not None:
        changes["sensitivity"] = args.sensitivity
    if args.min_area is not None:
        if args.min_area >= 100:
            raise OptionError(f"--min-area {args.min_area:g}: a percentage of the frame below 100")
        changes["min_area"] = args.min_area / 100
    if args.min_contrast is not None:
        changes["min_contrast"] = args.min_contrast
    if args.lighting is not None:
        if args.lighting <= 1:
            raise OptionError(f"--lighting {args.lighting:g}: a brightness ratio above 1, such as 1.25")
        changes["lighting"] = math.log(args.lighting)
    if args.reference:
        changes["reference"] = args.reference
    if args.max_gap:
        changes["max_gap_frames"], changes["max_gap_seconds"] = parse_gap(args.max_gap, "--max-gap")
    if args.min_gap:
        changes["min_gap_frames"], changes["min_gap_seconds"] = parse_gap(args.min_gap, "--min-gap")
    if args.skip_dark is not None:
        changes["skip_dark"] = args.skip_dark
    if args.skip_blank is not None:
        changes["skip_blank"] = args.skip_blank
    if args.roi:
        changes["roi"] = parse_rect(args.roi, option="--roi")
    if args.ignore:
        changes["ignore"] = tuple(parse_rect(text, option="--ignore") for text in args.ignore)
    if (args.metric is None) != (args.threshold is None):
        raise OptionError("--metric and --threshold go together (for example --metric ssim --threshold 0.95)")
    if args.metric:
        changes["metric"], changes["threshold"] = args.metric, args.threshold
    if args.analysis_size is not None:
        changes["analysis_size"] = args.analysis_size
    return replace(settings, **changes) if changes else settings


def _calibration(args: argparse.Namespace) -> tuple[Any, Any]:
    """(settings, profile) from --calibrate/--profile and the detector options."""
    from ..decide.change import NoiseProfile

    if args.calibrate and args.profile:
        raise OptionError("--calibrate and --profile both give a calibration: use one")
    profile = None
    if args.profile:
        profile = NoiseProfile.load(args.profile)
    elif args.calibrate:
        profile = _calibrate_from(args.calibrate, _settings(args))
    settings = _settings(args, profile.settings if profile else None)
    return settings, profile


def _static_frames(spec: str, analysis_size: int):
    from ..io.sources import open_source

    source = open_source(spec, analysis_size=analysis_size)
    if source.live:
        source.close()
        raise OptionError(f"calibrate from recorded frames (a folder or a video), not from {source.description}")
    return source


def _calibrate_from(spec: str, settings: Any) -> Any:
    from ..decide.change import calibrate_detector

    frames, unreadable = [], []
    with _static_frames(spec, settings.analysis_size) as source:
        for frame in source:
            if frame.pixels is None:
                unreadable.append(f"{frame.name}: {frame.error or 'no pixels'}")
            else:
                frames.append(frame.pixels)
    if not frames:
        raise InputError(f"no frame of {spec} could be decoded for calibration")
    for line in unreadable[:5]:
        print(f"imgdelta: calibration skips an unreadable frame: {line}", file=sys.stderr)
    if len(unreadable) > 5:
        print(f"imgdelta: ... and {len(unreadable) - 5} more unreadable frames", file=sys.stderr)
    return calibrate_detector(frames, settings=settings)


# -- filter ----------------------------------------------------------------------------------


def _favour_decoders() -> None:
    """Hand the interpreter lock over sooner: a decoding thread that finished its C work
    then waits a fraction of a millisecond for the main thread, not the default 5 ms. The
    command owns its process, so it may set this; the library never does."""
    sys.setswitchinterval(0.0005)



def _run_filter(args: argparse.Namespace) -> int:
    from ..pipeline.filter import filter_frames
    from ..store import EXPORT_FORMATS, Manifest
    from .progress import ProgressLine
    from .stopping import stop_requests

    if args.export and args.export not in EXPORT_FORMATS:
        raise OptionError(f"--export {args.export!r}: use {' or '.join(EXPORT_FORMATS)}")
    every, every_seconds = parse_gap(args.every, "--every") if args.every else (1, None)
    settings, profile = _calibration(args)
    _favour_decoders()
    mode = "move" if args.move else "link" if args.link else "copy"
    progress = ProgressLine("filter", enabled=None if args.progress is None else args.progress)
    try:
        with stop_requests() as signals:
            result = filter_frames(
                args.source, args.out, settings=settings, profile=profile, mode=mode, kind=args.kind,
                max_frames=args.max_frames, progress=progress, should_stop=lambda: bool(signals),
                every=every or 1, every_seconds=every_seconds,
            )
    finally:
        progress.close()
    if signals:
        result.stopped = f"stopped by {signal.Signals(signals[0]).name}"
    if args.export:
        with Manifest.open(Path(args.out), create=False) as manifest:
            manifest.export(Path(args.out) / f"manifest.{args.export}", args.export)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        _print_summary(result, profile)
    if signals:
        print(f"imgdelta filter: {result.stopped}; run the same command again to go on", file=sys.stderr)
        return 128 + signals[0]
    return 0


def _print_summary(result: Any, profile: Any) -> None:
    kept = len(result.kept)
    share = f" ({100 * kept / result.total:.1f}%)" if result.total else ""
    resumed = f" ({result.processed} new, resumed after {result.resumed})" if result.resumed else ""
    lines = [
        f"{result.source}: {result.total} frames{resumed}, kept {kept}{share}, skipped {result.skipped}, "
        f"unreadable {len(result.errors)}, {result.seconds:.1f} s",
        f"kept frames and manifest.sqlite in {result.out}" + (" (calibrated)" if profile is not None else ""),
    ]
    shown = 12
    for name, reason in list(zip(result.kept, result.reasons))[:shown]:
        lines.append(f"  kept {name}: {reason}")
    if len(result.kept) > shown:
        lines.append(f"  ... and {len(result.kept) - shown} more kept frames (all of them, with scores, in manifest.sqlite)")
    for error in result.errors[:5]:
        lines.append(f"  unreadable: {error['name']}: {error['error']}")
    if len(result.errors) > 5:
        lines.append(f"  ... and {len(result.errors) - 5} more unreadable frames")
    if result.out_of_order:
        count = len(result.out_of_order)
        lines.append(
            f"note: {count} new file{'s' if count != 1 else ''} (first {result.out_of_order[0]}) "
            f"sort{'s' if count == 1 else ''} among frames judged before: judged after them, against the last kept "
            "frame, not in the order of the names"
        )
    busy = result.busy_place
    if busy is not None:
        x, y, w, h = busy.box
        lines.append(
            f"hint: {busy.frames} of the {busy.kept} frames kept for a change changed around x {x}-{x + w}, y {y}-{y + h}. "
            "If that is a clock, a screen or a tree, --calibrate STATIC_DIR (frames where nothing else happens) makes it "
            f"count only above what it does; --ignore {x},{y},{w},{h} leaves that rough box out"
        )
    print("\n".join(lines))


# -- calibrate -------------------------------------------------------------------------------


def _run_calibrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    profile = _calibrate_from(args.static, settings)
    if args.save:
        try:
            profile.save(args.save)
        except OSError as exc:
            raise OptionError(f"cannot write profile {args.save}: {exc.strerror or exc}") from None
    report = dict(profile.report)
    if args.json:
        print(json.dumps({"report": report, "settings": profile.settings.to_dict(), "saved": args.save}))
        return 0
    print(
        f"{args.static}: {report['frames']} static frames, {report['pairs']} comparisons (each frame with the first "
        f"and with the one before), analysed at {report['analysis_size'][0]}x{report['analysis_size'][1]}"
    )
    print(f"  typical stray of a pixel beyond its neighbours: {report['stray_median']:.4f} (0-1 scale)")
    widespread = "; over 1%, so the area threshold stays at the default" if report.get("widespread") else ""
    print(f"  places that moved while nothing happened: {100 * report['moving_share']:.2f}% of the frame (they count only above what they did{widespread})")
    print(f"  largest changed area between static frames: {100 * report['static_area_max']:.3f}%")
    print(f"  largest brightness ratio between static frames: x{report['static_light_max']:.3f}")
    print(f"  thresholds: changed area >= {100 * profile.settings.min_area:.3f}%, lighting beyond x{math.exp(profile.settings.lighting):.2f}")
    if report.get("changing_pairs"):
        print(
            f"warning: in {report['changing_pairs']} of the {report['pairs']} comparisons the light or a large part "
            "of the picture changed: calibrate from frames where nothing happens, or these changes will be ignored",
            file=sys.stderr,
        )
    if args.save:
        print(f"saved to {args.save} (use: imgdelta filter SRC OUT --profile {args.save})")
    return 0


# -- capture ---------------------------------------------------------------------------------


class _Stop(Exception):
    """Raised on SIGINT/SIGTERM so that waiting for a frame (or to retry) ends at once.

    Never raised while a frame is being stored and listed: the stop then waits for the
    frame to be finished, so a kept image always has its manifest row.
    """


class _Hooks:
    """Runs the ``--exec`` command on each kept frame, without waiting for it."""

    def __init__(self, command: str | None, status: Any) -> None:
        self.words = shlex.split(command) if command else []
        self.status = status
        self.running: list[tuple[subprocess.Popen, str]] = []

    def __call__(self, kept: Any, out: Path) -> None:
        if not self.words:
            return
        path = str(out / kept.file)
        argv = [path if word == "{}" else word for word in self.words]
        if "{}" not in self.words:
            argv.append(path)
        self.reap()
        try:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        except OSError as exc:
            self.status.message(f"--exec {self.words[0]}: {exc.strerror or exc}")
            return
        self.running.append((process, path))

    def reap(self) -> None:
        """Forget finished commands, saying which ones failed."""
        still = []
        for process, path in self.running:
            code = process.poll()
            if code is None:
                still.append((process, path))
            elif code != 0:
                self.status.message(f"--exec {self.words[0]} exited with status {code} on {path}")
        self.running = still

    def wait(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        for process, _ in self.running:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        self.reap()


def _run_capture(args: argparse.Namespace) -> int:
    from ..io.sources import open_source
    from ..pipeline.filter import filter_frames
    from .progress import ProgressLine

    settings, profile = _calibration(args)
    out = Path(args.out)
    status = ProgressLine("capture", enabled=None if args.progress is None else args.progress)
    hooks = _Hooks(args.exec, status)
    seen = kept = 0
    last_change = "none yet"
    wait = 1.0
    ever_opened = False

    stopping: list[str] = []
    busy = False  # True while filter_frames handles a frame: a stop then waits for the next one

    def stop(signum: int, _frame: Any) -> None:
        stopping.append(signal.Signals(signum).name)
        if not busy:
            raise _Stop(stopping[0])

    def interruptible(source: Any) -> Any:
        """The frames of ``source``; a stop takes effect only between two frames."""
        nonlocal busy
        iterator = iter(source)
        while True:
            busy = False
            if stopping:
                raise _Stop(stopping[0])
            try:
                frame = next(iterator)
            except StopIteration:
                return
            busy = True
            yield frame

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    def on_frame(frame: Any, decision: Any) -> None:
        nonlocal seen, kept, last_change
        seen += 1
        if decision is not None and decision.keep:
            kept += 1
            last_change = f"{time.strftime('%H:%M:%S')} ({decision.reason})"
        line = f"{seen} frames seen, {kept} kept, last kept {last_change}"
        status.message(line, event=decision is not None and decision.keep)

    stopped = "end of source"
    try:
        while True:
            remaining = None if args.max_frames is None else args.max_frames - seen
            if remaining is not None and remaining <= 0:
                stopped = "max frames"
                break
            try:
                source = open_source(args.source, kind=args.kind, interval=args.interval, analysis_size=settings.analysis_size)
            except (SourceLostError, InputError) as exc:
                if not ever_opened:
                    raise
                status.message(f"source unavailable ({exc}); retrying in {wait:.0f} s")
                time.sleep(wait)
                wait = min(wait * 2, args.retry_max)
                continue
            if not source.live:
                source.close()
                raise OptionError(f"capture reads cameras, streams and snapshot URLs; for {source.description} use imgdelta filter")
            if ever_opened:
                status.message(f"source back: {source.description}")
            ever_opened = True
            wait = 1.0
            try:
                result = filter_frames(
                    args.source, out, settings=settings, profile=profile, frames=interruptible(source), max_frames=remaining,
                    on_keep=lambda k: hooks(k, out), on_frame=on_frame,
                )
            except SourceLostError as exc:
                status.message(f"source lost ({exc}); retrying in {wait:.0f} s")
                time.sleep(wait)
                wait = min(wait * 2, args.retry_max)
                continue
            finally:
                source.close()
            if result.stopped == "max frames":
                stopped = "max frames"
                break
    except _Stop as exc:
        stopped = f"stopped by {exc}"
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        status.close()
        hooks.wait()
    print(f"capture {stopped}: {seen} frames seen, {kept} kept, in {out}", file=sys.stderr)
    return 0


# -- wiring ----------------------------------------------------------------------------------


def add_commands(commands: Any, parser_class: type) -> None:
    """Add filter, calibrate and capture to the ``imgdelta`` subcommands."""
    filt = commands.add_parser(
        "filter",
        help="keep only the frames of a time-lapse that changed",
        description="Keep only the frames of SRC (a folder of images, a glob, or a video) that look "
        "different from the last kept frame, in OUT, with a manifest of every frame "
        "(OUT/manifest.sqlite). Running again on the same OUT resumes.",
    )
    filt.add_argument("source", metavar="SRC", help="folder, glob pattern ('frames/*.jpg') or video file")
    filt.add_argument("out", metavar="OUT", help="output folder")
    how = filt.add_mutually_exclusive_group()
    how.add_argument("--move", action="store_true", help="move kept files instead of copying them")
    how.add_argument("--link", action="store_true", help="hard-link kept files (copies where impossible)")
    filt.add_argument("--json", action="store_true", help='print {"total": N, "kept": [names], ...}')
    filt.add_argument("--export", metavar="FORMAT", help="also write the manifest as OUT/manifest.csv or .jsonl (csv, jsonl)")
    filt.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames (run again to continue)")
    filt.add_argument("--kind", default="auto", choices=("auto", "folder", "video"), help="how to read SRC (default: guess)")
    filt.add_argument(
        "--every", metavar="STEP",
        help="judge one frame in every STEP frames (10), or of a video one every STEP of its time (2s, 1m); the rest are passed over",
    )
    filt.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar (default: on a terminal)")
    _add_detector_options(filt)
    filt.set_defaults(run=_run_filter)

    cal = commands.add_parser(
        "calibrate",
        help="measure the noise floor from frames where nothing changed",
        description="Measure the noise floor from STATIC (a folder or video of the scene with nothing "
        "happening), print what was found, and optionally save a profile for filter and capture.",
    )
    cal.add_argument("static", metavar="STATIC", help="folder, glob or video of frames where nothing changed")
    cal.add_argument("--save", metavar="FILE", help="write the profile (JSON) here")
    cal.add_argument("--json", action="store_true", help="print the findings as JSON")
    _add_detector_options(cal)
    cal.set_defaults(run=_run_calibrate)

    cap = commands.add_parser(
        "capture",
        help="grab frames from a camera or URL and keep those that changed",
        description="Grab a frame every INTERVAL seconds from a camera, stream or snapshot URL and keep it "
        "in OUT only if it changed. Survives a lost camera (retries), stops cleanly on Ctrl-C, "
        "SIGTERM or a full disk; running again resumes.",
    )
    cap.add_argument("--source", required=True, metavar="SRC", help="camera index (0), device (/dev/video0), rtsp:// or http(s):// URL")
    cap.add_argument("--interval", type=_positive_float("--interval"), default=None, metavar="SECONDS", help="seconds between frames (default: every frame; snapshots 1 s)")
    cap.add_argument("--out", required=True, metavar="DIR", help="output folder")
    cap.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
    cap.add_argument("--exec", metavar="CMD", help="run CMD on each kept frame ({} is replaced by its path, else appended)")
    cap.add_argument("--retry-max", type=_positive_float("--retry-max"), default=60.0, metavar="SECONDS", help="longest wait between reconnection attempts (default 60)")
    cap.add_argument("--kind", default="auto", choices=("auto", "camera", "stream", "snapshot"), help="how to read SRC (default: guess)")
    cap.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help="status line (default: on a terminal)")
    _add_detector_options(cap)
    cap.set_defaults(run=_run_capture)
