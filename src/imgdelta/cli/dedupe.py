"""``imgdelta dedupe``: groups of files that show the same picture, and what to do with them."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import InputError, OptionError

__all__ = ["add_commands"]

EXIT_TROUBLE = 2
FORMATS = ("table", "json", "csv")


def _whole(minimum: int, maximum: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"{text} must lie in [{minimum}, {maximum}]" if maximum is not None else f"{text} must be at least {minimum}")
        return value

    return parse


def _similarity(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not -1.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} must lie in [-1, 1]")
    return value


def add_commands(commands: Any, parser_class: type) -> None:
    """Add ``dedupe`` to the ``imgdelta`` subcommands."""
    from ..dedupe.defaults import DEFAULT_RADIUS, DEFAULT_THRESHOLD, INDEX_NAME, KEEP_POLICIES, MAX_RADIUS

    parser = commands.add_parser(
        "dedupe",
        help="find files that show the same picture (resized, re-encoded, cropped a little, edited)",
        description="Find the image files under DIR (folders, recursively, and files) that show the same picture: "
        "resized, re-encoded, converted, cropped or turned a little, watermarked, brightened or made gray. "
        f"The hashes are kept in an index (DIR/{INDEX_NAME} for one folder), so the next run decodes only new or "
        "changed files. Nothing is moved or deleted unless --apply is given. Exit status: 0 no duplicates, "
        "1 duplicates found, 2 trouble.",
    )
    parser.add_argument("roots", nargs="+", metavar="DIR", help="folder (searched recursively) or image file")
    output = parser.add_argument_group("output")
    output.add_argument("--format", choices=FORMATS, default="table", help="table (default), json or csv on stdout")
    output.add_argument("--json", action="store_const", const="json", dest="format", help='the same as --format json: {"groups": [[path, ...], ...], ...}')
    output.add_argument("--csv", metavar="FILE", help="also write one CSV row per file of every group to FILE")
    output.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar on stderr (default: on a terminal)")
    index = parser.add_argument_group("index")
    where = index.add_mutually_exclusive_group()
    where.add_argument("--index", metavar="FILE", help=f"the index file (default DIR/{INDEX_NAME} for one folder; needed for several)")
    where.add_argument("--no-index", action="store_true", help="keep no index (everything is decoded every time)")
    index.add_argument("--against", metavar="INDEX", help="report the files of DIR that show a picture already in this index of another collection")
    matching = parser.add_argument_group("matching")
    matching.add_argument("--radius", type=_whole(0, MAX_RADIUS), default=DEFAULT_RADIUS, metavar="BITS", help=f"Hamming radius of the hash search (default {DEFAULT_RADIUS}; larger finds more, slower)")
    matching.add_argument("--threshold", type=_similarity, default=DEFAULT_THRESHOLD, metavar="S", help=f"least thumbnail similarity of a pair, -1..1 (default {DEFAULT_THRESHOLD})")
    actions = parser.add_argument_group("what to do with the duplicates (a dry run unless --apply)")
    actions.add_argument("--keep", choices=KEEP_POLICIES, default="largest", help="which file of a group to keep: largest (default), oldest, sharpest")
    what = actions.add_mutually_exclusive_group()
    what.add_argument("--move-to", metavar="DIR", help="move the other files to DIR, below their path as shown")
    what.add_argument("--delete", action="store_true", help="delete the other files (only with --apply)")
    actions.add_argument("--apply", action="store_true", help="do it (without it, print what would be done)")
    work = parser.add_argument_group("work")
    work.add_argument("--jobs", type=_whole(1), default=None, metavar="N", help="processes that hash (default: every core)")
    work.add_argument("--dask", metavar="ADDRESS", help="hash and search on this Dask scheduler (tcp://host:8786); needs pip install 'imgdelta[dask]'")
    work.add_argument("--max-pixels", type=_whole(1), default=None, metavar="N", help="files with more pixels are unreadable (default 178956970)")
    parser.set_defaults(run=_run_dedupe)


def _index_file(args: argparse.Namespace) -> str | None:
    from ..dedupe import default_index_path

    if args.no_index:
        return None
    if args.index:
        return args.index
    for root in args.roots:
        if not os.path.lexists(root):
            raise InputError(f"{root}: no such file or folder")
    if all(os.path.isfile(root) for root in args.roots):
        return None
    path = default_index_path(args.roots)
    if path is None:
        raise OptionError("more than one folder or file: choose where their index goes with --index FILE, or use --no-index")
    if not os.access(path.parent, os.W_OK):
        raise OptionError(f"{path.parent} cannot be written: keep the index elsewhere with --index FILE, or use --no-index")
    return os.fspath(path)


def _progress(enabled: bool | None):
    from .progress import ProgressLine

    line = ProgressLine("dedupe", enabled=enabled)
    started = time.monotonic()

    def show(done: int, total: int) -> None:
        if not total:
            return
        elapsed = max(time.monotonic() - started, 1e-6)
        rate = done / elapsed
        filled = int(20 * done / total)
        left = (total - done) / rate if rate > 0 else 0.0
        line.message(f"dedupe [{'#' * filled}{'.' * (20 - filled)}] {done}/{total} files hashed, {rate:.0f} files/s, {left:.0f} s left", event=False)

    return line, show


def _run_dedupe(args: argparse.Namespace) -> int:
    from .stopping import Stopped, stop_on_signals

    if args.apply and not (args.move_to or args.delete):
        raise OptionError("--apply needs an action: --move-to DIR or --delete")
    if args.move_to and os.path.exists(args.move_to) and not os.path.isdir(args.move_to):
        raise OptionError(f"--move-to {args.move_to}: not a folder")
    index = _index_file(args)
    try:
        with stop_on_signals():
            return _dedupe(args, index)
    except Stopped as stop:
        kept = f"; what was hashed is kept in {index}: run again to go on" if index is not None else ""
        print(f"imgdelta dedupe: stopped by {stop.name}{kept}", file=sys.stderr)
        return stop.exit_code


def _dedupe(args: argparse.Namespace, index: str | None) -> int:
    from ..dedupe import apply_actions, find_duplicates, plan_actions
    from ..io.images import DEFAULT_MAX_PIXELS

    line, show = _progress(args.progress)
    try:
        report = find_duplicates(
            args.roots,
            index=index,
            against=args.against,
            radius=args.radius,
            threshold=args.threshold,
            keep=args.keep,
            jobs=args.jobs,
            dask=args.dask,
            exclude=[args.move_to] if args.move_to else [],
            max_pixels=args.max_pixels or DEFAULT_MAX_PIXELS,
            progress=show,
        )
    finally:
        line.close()
    if report.rebuilt:
        print(f"imgdelta dedupe: {index} held hashes of another imgdelta version: every file was hashed again", file=sys.stderr)
    if report.against_missing:
        print(
            f"imgdelta dedupe: warning: none of the files of {args.against} exists where it places them: its paths are "
            f"relative to its own folder ({os.path.dirname(args.against) or '.'}); the collection may be offline, "
            "or the index was moved without it",
            file=sys.stderr,
        )
    for path, error in report.unreadable:
        print(f"imgdelta dedupe: {path}: {error}", file=sys.stderr)
    actions = []
    if args.move_to or args.delete:
        actions = plan_actions(report, move_to=args.move_to, delete=args.delete)
        if args.apply:
            actions = apply_actions(actions, index=index)
    if args.csv:
        _write_csv(report, args.csv)
    if args.format == "json":
        document = report.to_dict()
        if args.move_to or args.delete:
            document["actions"] = [action.to_dict() for action in actions]
            document["applied"] = bool(args.apply)
        print(json.dumps(document))
    elif args.format == "csv":
        sys.stdout.write(_csv_text(report))
    else:
        print(_table(report))
    if actions and args.format != "json":
        stream = sys.stdout if args.format == "table" else sys.stderr
        for action in actions:
            print(action.describe(), file=stream if action.error is None else sys.stderr)
        if not args.apply:
            print("dry run: nothing was changed; add --apply to do it", file=stream)
    if any(action.error is not None for action in actions):
        return EXIT_TROUBLE
    if report.exit_code == EXIT_TROUBLE:
        what = "the image file could not be read" if report.files == 1 else f"none of the {report.files} image files could be read"
        print(f"imgdelta dedupe: {what}", file=sys.stderr)
    return report.exit_code


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _size(count: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


def _rows(report: Any) -> list[dict[str, Any]]:
    rows = []
    for number, group in enumerate(report.groups, start=1):
        for position, (record, similarity, match) in enumerate(zip(group.files, group.similarity, group.matches)):
            if position == 0 or record.existing:
                reason = group.reason
            elif group.files[match].existing:
                reason = f"already in the collection as {group.files[match].path} (similarity {similarity:.2f})"
            else:
                reason = f"same picture (similarity {similarity:.2f})"
            kept = position == 0 or record.existing
            rows.append({"group": number, "keep": kept, "record": record, "similarity": similarity, "reason": reason})
    return rows


def _table(report: Any) -> str:
    from .tables import table

    rows = [
        [row["group"], "*" if row["keep"] else "", row["record"].path, _size(row["record"].size), f"{row['record'].width}x{row['record'].height}", row["reason"]]
        for row in _rows(report)
    ]
    duplicates = sum(len(group.duplicates) for group in report.groups)
    freed = sum(record.size for group in report.groups for record in group.duplicates)
    lines = []
    if rows:
        lines += [table(["group", "keep", "path", "size", "dimensions", "reason"], rows), ""]
    against = f" already in {report.against}" if report.against else ""
    unreadable = report.files - report.readable
    lines.append(
        f"{_count(report.files, 'file')} ({report.hashed} hashed, {report.reused} from the index, {unreadable} unreadable): "
        f"{_count(len(report.groups), 'group')}, {_count(duplicates, 'duplicate')}{against} ({_size(freed)}), in {report.seconds:.1f} s"
    )
    return "\n".join(lines)


def _csv_text(report: Any) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["group", "keep", "path", "size", "width", "height", "taken", "modified", "sharpness", "similarity", "existing", "reason"])
    for row in _rows(report):
        record = row["record"]
        writer.writerow([
            row["group"], "yes" if row["keep"] else "no", record.path, record.size, record.width, record.height,
            "" if record.taken is None else f"{record.taken:.0f}", f"{record.mtime_ns / 1e9:.3f}", f"{record.sharpness:.6g}",
            f"{row['similarity']:.4f}", "yes" if record.existing else "no", row["reason"],
        ])
    return buffer.getvalue()


def _write_csv(report: Any, path: str) -> None:
    from ..store import write_atomic

    if Path(path).is_dir():
        raise OptionError(f"--csv {path}: is a folder; give a file name")
    write_atomic(path, _csv_text(report).encode("utf-8"))
