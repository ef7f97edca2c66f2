"""The ``imgdelta`` command: a thin layer over the public API.

Exit status follows ``cmp``/``diff``: 0 same or passing, 1 different or failing (only when
a tolerance or rule was given), 2 trouble. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from typing import Sequence

from .. import __version__
from ..errors import ImgDeltaError, OptionError

EXIT_TROUBLE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_TROUBLE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _float_in(low: float, high: float, what: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} {text!r} is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} {text} must lie in [{low:g}, {high:g}]")
        return value

    return parse


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text} must be at least {minimum}")
        return value

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _add_input_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("input")
    group.add_argument(
        "--alpha",
        default="black",
        metavar="BG",
        help="background for transparent pixels: black (default), white, #rrggbb, or ignore",
    )
    group.add_argument(
        "--max-pixels",
        type=_positive_int,
        default=None,
        metavar="N",
        help="refuse images with more pixels than this (default 178956970, Pillow's limit)",
    )


def _add_preprocess_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("preprocessing (applied to both images)")
    group.add_argument(
        "--resize",
        metavar="POLICY",
        help="when sizes differ: to-first (resize B to A), crop (keep the overlap), or WxH (both)",
    )
    group.add_argument("--gray", action="store_true", help="compare luminance only")
    group.add_argument("--thumbnail", type=_positive_int, metavar="N", help="shrink so the longer side is N pixels")
    group.add_argument("--crop", metavar="X,Y,W,H", help="compare only this region")
    group.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="X,Y,W,H",
        help="leave this rectangle out of every metric (repeatable)",
    )
    group.add_argument("--mask", metavar="FILE", help="mask image: non-zero pixels are compared, zero ignored")
    group.add_argument("--blur", type=_float_in(0.0, 1000.0, "--blur"), default=0.0, metavar="SIGMA", help="Gaussian blur sigma in pixels")
    group.add_argument(
        "--exposure",
        choices=("meanstd", "histogram"),
        help="match B's brightness to A's: mean/std per channel, or full histogram matching",
    )
    group.add_argument("--align", choices=("phase", "ecc"), help="undo a shift of B: phase correlation or ECC")


def _add_metric_options(parser: argparse.ArgumentParser) -> None:
    from ..metrics import MetricOptions

    defaults = MetricOptions()
    group = parser.add_argument_group("metrics")
    group.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="NAME",
        help="metric to compute (repeatable, or comma-separated; 'all' for every one; "
        "see 'imgdelta metrics'). Default: mae, rmse, psnr, ssim, max_abs, changed_fraction",
    )
    group.add_argument(
        "--tolerance",
        type=_float_in(0.0, 1.0, "--tolerance"),
        default=defaults.tolerance,
        metavar="T",
        help=f"changed_fraction: a pixel changed when a channel differs by more than T (default {defaults.tolerance:g})",
    )
    group.add_argument(
        "--pixelmatch-threshold",
        type=_float_in(0.0, 1.0, "--pixelmatch-threshold"),
        default=defaults.pixelmatch_threshold,
        metavar="T",
        help=f"pixelmatch: matching threshold, smaller is more sensitive (default {defaults.pixelmatch_threshold:g})",
    )
    group.add_argument("--include-aa", action="store_true", help="pixelmatch: count anti-aliased pixels too")
    group.add_argument(
        "--jpeg-quality",
        type=int,
        default=defaults.jpeg_quality,
        metavar="Q",
        help=f"jpeg_size: encoding quality (default {defaults.jpeg_quality})",
    )


def _add_background_options(parser: argparse.ArgumentParser) -> None:
    from ..metrics.background import BACKGROUND_K, BACKGROUND_NOISE_FLOOR

    group = parser.add_argument_group("background model (imgdelta compare --background DIR B)")
    group.add_argument(
        "--background",
        metavar="DIR",
        help="learn each pixel's mean and standard deviation from the images in DIR (a folder or a glob, "
        "all of one size) and report the share of B's pixels farther than K deviations from the mean",
    )
    group.add_argument(
        "--background-k",
        type=_float_in(0.0, 1000.0, "--background-k"),
        metavar="K",
        help=f"deviations a pixel may be from its mean (default {BACKGROUND_K:g})",
    )
    group.add_argument(
        "--background-floor",
        type=_float_in(0.0, 1.0, "--background-floor"),
        metavar="S",
        help=f"smallest standard deviation on the 0..1 scale (default {BACKGROUND_NOISE_FLOOR:.4g}, 2 levels of 255)",
    )


def _add_verdict_options(parser: argparse.ArgumentParser) -> None:
    unit = _float_in(0.0, 1.0, "per-pixel limit")
    percent = _float_in(0.0, 100.0, "percentage")
    group = parser.add_argument_group(
        "verdict (idiff-style; any of these turns on PASS/WARN/FAIL and exit status 1 on FAIL)"
    )
    group.add_argument("--fail", type=unit, metavar="E", help="a pixel fails when a channel differs by more than E (0..1)")
    group.add_argument("--warn", type=unit, metavar="E", help="a pixel warns when a channel differs by more than E (0..1)")
    group.add_argument("--fail-percent", type=percent, default=0.0, metavar="P", help="allow up to P%% of pixels over --fail")
    group.add_argument("--warn-percent", type=percent, default=0.0, metavar="P", help="allow up to P%% of pixels over --warn")
    group.add_argument("--hard-fail", type=unit, metavar="E", help="fail if any pixel differs by more than E")
    group.add_argument("--allow-pixels", type=_non_negative_int, default=0, metavar="N", help="allow N pixels over --fail")
    group.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="RULE",
        help="a condition on a metric, such as 'ssim>=0.95' or 'mae<0.01' (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="imgdelta",
        description="How different are these images, and does the difference matter?",
    )
    parser.add_argument("--version", action="version", version=f"imgdelta {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    compare = commands.add_parser(
        "compare",
        help="measure how different two images are",
        description="Measure how different two images are (A B), or how much of B is outside the "
        "background the images of a folder show (--background DIR B). Exit status: 0 same or passing, "
        "1 failing a given tolerance or rule, 2 trouble.",
    )
    compare.add_argument("a", metavar="A", nargs="?", help="first image (the reference); with --background, the image to test")
    compare.add_argument("b", metavar="B", nargs="?", help="second image (left out with --background)")
    compare.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    compare.add_argument("--diff-out", metavar="FILE", help="also write a diff picture (as 'imgdelta diff' draws it) when they are not identical")
    _add_metric_options(compare)
    _add_background_options(compare)
    _add_preprocess_options(compare)
    _add_input_options(compare)
    _add_verdict_options(compare)
    compare.set_defaults(run=_run_compare)

    hashes = commands.add_parser(
        "hash",
        help="print imagehash-compatible perceptual hashes",
        description="Print aHash, dHash, pHash and wHash of each file, bit-identical to the "
        "imagehash package's hashes of PIL.Image.open(FILE).",
    )
    hashes.add_argument("files", nargs="+", metavar="FILE", help="image files")
    hashes.add_argument("--json", action="store_true", help="print one JSON object a line")
    hashes.add_argument("--max-pixels", type=_positive_int, default=None, metavar="N", help="decompression-bomb limit")
    hashes.add_argument("--jobs", type=_positive_int, default=None, metavar="N", help="processes that hash (default: every core)")
    hashes.set_defaults(run=_run_hash)

    difference = commands.add_parser(
        "diff",
        help="show where two images differ",
        description="Find the regions where B differs from A, ignoring noise, JPEG artefacts, a brightness "
        "change and a pixel of shift, and draw them. Exit status: 0 no changed region, 1 changed "
        "regions, 2 trouble.",
    )
    difference.add_argument("a", metavar="A", help="first image")
    difference.add_argument("b", metavar="B", help="second image")
    difference.add_argument("-o", "--output", metavar="OUT", help="diff picture to write (.png, .jpg, .webp) when they differ")
    difference.add_argument("--style", default="heatmap", metavar="STYLE", help="heatmap (default), pixelmatch, side-by-side or mask")
    difference.add_argument(
        "--rule",
        choices=("detector", "pixelmatch"),
        default=None,
        help="what counts as changed: detector (noise, JPEG artefacts, light and a pixel of shift do not, nor a "
        "change a pixel or two across) or pixelmatch (every pixel pixelmatch counts, for rendered output); "
        "default detector, pixelmatch with --style pixelmatch or --pixelmatch-threshold",
    )
    difference.add_argument(
        "--pixelmatch-threshold",
        type=_float_in(0.0, 1.0, "--pixelmatch-threshold"),
        default=None,
        metavar="T",
        help="the pixelmatch rule's matching threshold, smaller is more sensitive (default 0.1)",
    )
    difference.add_argument("--always", action="store_true", help="write the picture even when nothing changed")
    difference.add_argument("--json", action="store_true", help='print {"regions": [[x0, y0, x1, y1], ...], "changed_fraction": F, ...}')
    _add_input_options(difference)
    difference.set_defaults(run=_run_diff)

    report = commands.add_parser(
        "report",
        help="write an HTML report of a filter or capture run",
        description="Write one self-contained HTML file (it opens offline and can be moved alone) about the "
        "run in RUN_DIR: the change score over time with the threshold and the kept frames, the kept "
        "frames with their heatmaps and reasons, the settings and the run's figures. RUN_DIR is only read.",
    )
    report.add_argument("run_dir", metavar="RUN_DIR", help="the OUT folder of imgdelta filter or capture")
    report.add_argument("-o", "--output", required=True, metavar="FILE", help="the HTML file to write")
    report.add_argument("--max-gallery", type=_positive_int, default=200, metavar="N", help="show at most N kept frames (default 200)")
    report.set_defaults(run=_run_report)

    web = commands.add_parser(
        "serve",
        help="watch a run in a browser (needs the serve extra)",
        description="Serve a small read-only web page for the run in RUN_DIR (a capture that is running, or "
        "a finished filter): the latest kept frame, the change score, the kept frames, a heatmap on "
        "click. Only the run's own kept frames are served. Needs: pip install 'imgdelta[serve]'.",
    )
    web.add_argument("run_dir", metavar="RUN_DIR", help="the OUT folder of imgdelta filter or capture")
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    web.add_argument("--port", type=_int_at_least(1), default=8765, help="port (default 8765)")
    web.set_defaults(run=_run_serve)

    metrics = commands.add_parser("metrics", help="list every metric", description="List every metric with its range and meaning.")
    metrics.add_argument("--json", action="store_true", help="print JSON instead of a table")
    metrics.set_defaults(run=_run_metrics)

    example = commands.add_parser(
        "example",
        help="write the built-in example images to a folder",
        description="Write the built-in examples to DIR: a photo, a re-encoded copy that looks "
        "the same, a copy where something changed, a small time-lapse (DIR/timelapse) and "
        "frames where nothing changes (DIR/static).",
    )
    example.add_argument("directory", metavar="DIR", help="folder to create or reuse")
    example.set_defaults(run=_run_example)

    from .timelapse import add_commands

    add_commands(commands, _Parser)
    from .dedupe import add_commands as add_dedupe_commands

    add_dedupe_commands(commands, _Parser)
    return parser


def _metric_names(values: Sequence[str]) -> list[str] | None:
    from ..metrics import metric_names

    return metric_names(values) or None


def _preprocess(args: argparse.Namespace):
    from ..preprocess import Preprocess, parse_rect, parse_size_policy

    return Preprocess(
        resize=parse_size_policy(args.resize) if args.resize else None,
        grayscale=args.gray,
        thumbnail=args.thumbnail,
        crop=parse_rect(args.crop, option="--crop") if args.crop else None,
        ignore=tuple(parse_rect(text, option="--ignore") for text in args.ignore),
        mask=args.mask,
        blur=args.blur,
        exposure=args.exposure,
        align=args.align,
    )


def _tolerance(args: argparse.Namespace):
    from ..decide.verdict import Tolerance, parse_rule

    return Tolerance(
        fail=args.fail,
        warn=args.warn,
        fail_percent=args.fail_percent,
        warn_percent=args.warn_percent,
        hard_fail=args.hard_fail,
        allow_pixels=args.allow_pixels,
        rules=tuple(parse_rule(text, option="--require") for text in args.require),
    )


def _run_compare(args: argparse.Namespace) -> int:
    from ..io.images import DEFAULT_MAX_PIXELS
    from ..metrics import MetricOptions
    from ..pipeline import compare

    if args.background is not None:
        return _run_background(args)
    if args.b is None:
        raise OptionError("compare needs two images, A and B (or --background DIR B)")  # argparse allows fewer
    if args.background_k is not None or args.background_floor is not None:
        raise OptionError("--background-k and --background-floor apply only with --background DIR")
    preprocess = _preprocess(args)
    options = MetricOptions(
        tolerance=args.tolerance,
        pixelmatch_threshold=args.pixelmatch_threshold,
        include_aa=args.include_aa,
        jpeg_quality=args.jpeg_quality,
    )
    tolerance = _tolerance(args)
    if args.diff_out:
        _diff_suffix(args.diff_out, "--diff-out")  # before the work, identical images or not
    result = compare(
        args.a,
        args.b,
        metrics=_metric_names(args.metric),
        preprocess=preprocess,
        options=options,
        tolerance=tolerance,
        alpha=args.alpha,
        max_pixels=args.max_pixels or DEFAULT_MAX_PIXELS,
    )
    if args.diff_out and not result.identical:
        # written whenever the comparison saw a difference, also one too small or too
        # global for diff to draw a region around, so that the file is never silently missing
        drawn = _write_diff(args.a, args.b, args.diff_out, "heatmap", always=True, alpha=args.alpha, max_pixels=args.max_pixels)
        if not drawn.regions:
            print(f"imgdelta compare: {args.diff_out} marks nothing: {drawn.summary}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_dict(), allow_nan=False))
    else:
        from .tables import comparison_table

        print(comparison_table(result))
    return result.exit_code


def _run_background(args: argparse.Namespace) -> int:
    from ..io.images import DEFAULT_MAX_PIXELS
    from ..metrics.background import BACKGROUND_K, BACKGROUND_NOISE_FLOOR
    from ..pipeline.background import compare_background
    from .tables import background_table

    if args.a is None or args.b is not None:
        raise OptionError(f"with --background give one image, B: imgdelta compare --background {args.background} B")
    if (_metric_names(args.metric) or ["background"]) != ["background"]:
        raise OptionError("with --background the one metric is 'background': leave out --metric")
    if args.diff_out:
        raise OptionError("--diff-out does not apply with --background")
    result = compare_background(
        args.background,
        args.a,
        k=BACKGROUND_K if args.background_k is None else args.background_k,
        floor=BACKGROUND_NOISE_FLOOR if args.background_floor is None else args.background_floor,
        preprocess=_preprocess(args),
        tolerance=_tolerance(args),
        alpha=args.alpha,
        max_pixels=args.max_pixels or DEFAULT_MAX_PIXELS,
    )
    if args.json:
        print(json.dumps(result.to_dict(), allow_nan=False))
    else:
        print(background_table(result))
    return result.exit_code


def _diff_suffix(out: str, option: str) -> str:
    """The picture format ``out`` names, or a clear error naming ``option``."""
    from pathlib import Path

    suffix = Path(out).suffix.lower()
    if suffix not in (".png", ".jpg", ".jpeg", ".webp"):
        raise OptionError(f"{option} {out}: write the diff picture as .png, .jpg or .webp")
    return suffix


def _write_diff(
    a: str, b: str, out: str | None, style: str, *, always: bool, alpha: str, max_pixels: int | None, rule: str = "detector",
    threshold: float = 0.1,
):
    """Find where A and B differ; write the picture when they do (or ``always``)."""
    from ..io.images import DEFAULT_MAX_PIXELS
    from ..pipeline.difference import diff
    from ..render.diff import DIFF_STYLES, render_diff
    from ..store import encode_image, write_atomic

    if style not in DIFF_STYLES:
        raise OptionError(f"--style {style!r}: use one of {', '.join(DIFF_STYLES)}")
    suffix = _diff_suffix(out, "-o") if out else ".png"
    result = diff(a, b, alpha=alpha, max_pixels=max_pixels or DEFAULT_MAX_PIXELS, rule=rule, threshold=threshold)
    if out and (always or result.regions):
        write_atomic(out, encode_image(render_diff(result, style), suffix))
    return result


def _run_serve(args: argparse.Namespace) -> int:
    from ..web import LOOPBACK, create_app, serve

    if args.port > 65535:
        raise OptionError(f"--port {args.port} is not a TCP port (1-65535)")
    app = create_app(args.run_dir)
    if args.host != LOOPBACK:
        print(f"imgdelta serve: listening on {args.host}: other machines can see this run", file=sys.stderr)
    print(f"serving {args.run_dir} at http://{args.host}:{args.port}/ (Ctrl-C stops)", flush=True)
    serve(app, host=args.host, port=args.port)
    return 0


def _run_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..render.report import build_report
    from ..store import write_atomic

    document = build_report(args.run_dir, max_gallery=args.max_gallery)
    run_dir, output = Path(args.run_dir).resolve(), Path(args.output).resolve()
    if run_dir in output.parents:
        raise OptionError(f"-o {args.output}: write the report outside {args.run_dir}, whose files are only read")
    write_atomic(args.output, document.encode("utf-8"))
    print(f"report: {args.output} ({len(document) // 1024} KB)")
    return 0


def _run_diff(args: argparse.Namespace) -> int:
    threshold = args.pixelmatch_threshold
    if args.rule == "detector" and threshold is not None:
        raise OptionError("--pixelmatch-threshold is the pixelmatch rule's: leave it out with --rule detector")
    rule = args.rule or ("pixelmatch" if args.style == "pixelmatch" or threshold is not None else "detector")
    result = _write_diff(
        args.a, args.b, args.output, args.style, always=args.always, alpha=args.alpha, max_pixels=args.max_pixels,
        rule=rule, threshold=0.1 if threshold is None else threshold,
    )
    if args.json:
        document = result.to_dict()
        document["diff_image"] = args.output if args.output and (args.always or result.regions) else None
        print(json.dumps(document))
    else:
        print(result.summary + (":" if result.regions else ""))
        if result.regions:
            for region in result.regions:
                x0, y0, x1, y1 = region.box
                print(f"  x {x0}-{x1}, y {y0}-{y1}: {region.area} px, mean difference {region.mean_difference:.3f}")
        if args.output and (args.always or result.regions):
            print(f"diff picture: {args.output}")
    return 1 if result.regions else 0


def _run_hash(args: argparse.Namespace) -> int:
    from ..dedupe.collection import imagehash_files
    from ..io.images import DEFAULT_MAX_PIXELS
    from ..metrics._imagehash import HASH_FUNCTIONS
    from .stopping import Stopped, stop_on_signals

    status = 0
    rows = []
    try:
        with stop_on_signals(), contextlib.closing(imagehash_files(args.files, jobs=args.jobs, max_pixels=args.max_pixels or DEFAULT_MAX_PIXELS)) as found:
            for row in found:
                if isinstance(row, str):
                    print(f"imgdelta hash: {row}", file=sys.stderr)
                    status = EXIT_TROUBLE
                    continue
                if args.json:
                    print(json.dumps(row), flush=True)
                else:
                    rows.append(row)
    except Stopped as stop:
        print(f"imgdelta hash: stopped by {stop.name}", file=sys.stderr)
        return stop.exit_code
    if rows:
        from .tables import table

        print(table(["path", *HASH_FUNCTIONS], [[row[key] for key in ["path", *HASH_FUNCTIONS]] for row in rows]))
    return status


def _run_metrics(args: argparse.Namespace) -> int:
    from ..metrics import DEFAULT_METRICS, available_metrics
    from ..pipeline import json_number

    metrics = available_metrics()
    if args.json:
        print(
            json.dumps(
                {
                    name: {
                        "kind": m.kind,
                        "range": [json_number(m.lower), json_number(m.upper)],
                        "identical": json_number(m.identical),
                        "unit": m.unit,
                        "default": name in DEFAULT_METRICS,
                        "summary": m.summary,
                        "reference": m.reference,
                    }
                    for name, m in metrics.items()
                }
            )
        )
        return 0
    from .tables import metric_table

    print(metric_table(metrics.values(), DEFAULT_METRICS))
    return 0


def _run_example(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..examples import write_example_pair, write_example_sequence

    for path in write_example_pair(args.directory):
        print(path)
    sequence, static = write_example_sequence(args.directory)
    print(f"{sequence}/ (a time-lapse: try imgdelta filter {sequence} {Path(args.directory) / 'kept'})")
    print(f"{static}/ (frames where nothing changes: try imgdelta calibrate {static})")
    return 0


#: Options whose value is a rectangle, which may start with a minus sign.
_RECTANGLE_OPTIONS = ("--crop", "--ignore", "--roi")
_NEGATIVE_RECTANGLE = re.compile(r"-[0-9.]+(,-?[0-9.]*)*")


def _rectangles_attached(argv: Sequence[str]) -> list[str]:
    """``--ignore -5,-5,20,20`` as ``--ignore=-5,-5,20,20``: argparse takes a value that
    starts with a minus sign and is not a plain number for an option of its own."""
    out: list[str] = []
    tokens = iter(argv)
    for token in tokens:
        if token == "--":
            out.append(token)
            out.extend(tokens)
            break
        if token in _RECTANGLE_OPTIONS:
            value = next(tokens, None)
            if value is not None and _NEGATIVE_RECTANGLE.fullmatch(value):
                out.append(f"{token}={value}")
                continue
            out.append(token)
            if value is not None:
                out.append(value)
            continue
        out.append(token)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(_rectangles_attached(sys.argv[1:] if argv is None else argv))
    try:
        return int(args.run(args))
    except ImgDeltaError as exc:
        print(f"imgdelta {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        # a second stop signal (Stopped) or Ctrl-C where no clean stop is arranged
        code = getattr(exc, "exit_code", 130)
        print(f"imgdelta {args.command}: interrupted", file=sys.stderr)
        return code
    except BrokenPipeError:
        return 0
    except MemoryError:
        print(f"imgdelta {args.command}: out of memory (try --thumbnail or smaller images)", file=sys.stderr)
        return EXIT_TROUBLE


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


__all__ = ["build_parser", "main", "run"]
