"""Accuracy of keeping a time-lapse frame only when the picture really changed, beside the classics.

    python benchmarks/bench_filter.py              # 15 scenes x 200 frames at 640x480
    python benchmarks/bench_filter.py --quick      # 3 scenes (day, dusk, night) x 80 frames
    python benchmarks/bench_filter.py --json       # the same numbers as one JSON document

The data comes from ``timelapse_data.py`` (real photos, a simulated webcam, real events, see
there). It is written as JPEG files to a cache folder in the system's temporary directory,
named by a hash of the settings and of the generator, so a second run skips generation.

Scores, per method, over all scenes:

* **recall**: share of the scored events at frame t for which some frame in [t, t + 2] is kept;
* **false-keep rate**: kept frames outside every event's window [t, t + 2] (ambiguous events'
  windows included), over the frames that lie outside every window. The first frame is always
  kept and never counted;
* **useless share**: false keeps over all kept frames, the share of storage wasted.

imgdelta runs as users run it, on the JPEG files: ``ChangeDetector()`` with default settings,
and ``ChangeDetector(profile=calibrate_detector(static clip))``. The classic approaches run the
way a user would set them up: each frame is compared with the last *kept* frame, and the
threshold is 1.2 x the largest score seen on the scene's static clip (static frames against the
first static frame, and consecutive ones), a frame being kept when its score is above that.
MOG2 and PySceneDetect's detectors are sequential by nature: they see every frame, the
``previous`` rows keep the frames they report. PySceneDetect runs with its default thresholds
and with calibrated ones, ``min_scene_len=0`` throughout (a time-lapse frame is a moment of its
own, events are 3 frames apart at least). Needs the bench extra (``pip install -e .[bench]``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import timelapse_data as data  # noqa: E402

MARGIN = 1.2
"""Calibrated threshold: this many times the largest score on the static clip."""
MOG2_WARMUP = 10
"""Static frames MOG2 learns from before its scores count for calibration."""
LIST_LIMIT = 40
"""imgdelta's misses and false keeps listed, at most, of each."""


# ----------------------------------------------------------------------------- frames


class Frame:
    """One decoded frame and the conversions the methods share, each computed once."""

    def __init__(self, path: Path):
        self.path = path
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise OSError(f"cannot read {path}")
        self.bgr = bgr

    @cached_property
    def rgb(self) -> np.ndarray:
        return cv2.cvtColor(self.bgr, cv2.COLOR_BGR2RGB)

    @cached_property
    def gray(self) -> np.ndarray:
        return cv2.cvtColor(self.bgr, cv2.COLOR_BGR2GRAY)

    @cached_property
    def hsv(self) -> tuple[np.ndarray, ...]:
        return tuple(cv2.split(cv2.cvtColor(self.bgr, cv2.COLOR_BGR2HSV)))


def just_above(scores: list[float]) -> float:
    """The calibrated threshold: a score must be above it to keep a frame."""
    return MARGIN * max(scores)


# ----------------------------------------------------------------------------- methods
#
# A method sees the static clip once (calibrate), then every frame of the sequence in order
# (step), and says which frames it keeps. Frame 0 is kept whatever it says.


class LastKept:
    """A difference score against the last kept frame, thresholded."""

    family = ""
    name = ""
    default_threshold: float | None = None  # the library's own, for PySceneDetect's scores

    def __init__(self, calibrated: bool = True):
        self.calibrated = calibrated
        self.threshold = self.default_threshold
        self.variant = "last kept, calibrated" if calibrated else "last kept, default thr"
        self.kept = None

    def features(self, frame: Frame):
        raise NotImplementedError

    def score(self, kept, current) -> float:
        raise NotImplementedError

    def calibrate(self, static: list[Frame]) -> None:
        if not self.calibrated:
            return
        feats = [self.features(f) for f in static]
        scores = [self.score(feats[0], f) for f in feats[1:]] + [self.score(a, b) for a, b in zip(feats, feats[1:])]
        self.threshold = just_above(scores)

    def step(self, t: int, frame: Frame) -> list[int]:
        current = self.features(frame)
        if self.kept is None:
            keep = True
        else:
            score = self.score(self.kept, current)
            # Calibrated: above the threshold. A library's default: its own rule, >=.
            keep = score > self.threshold if self.calibrated else score >= self.threshold
        if keep:
            self.kept = current
        return [t] if keep else []

    def finish(self) -> list[int]:
        return []


class MSE(LastKept):
    family, name = "classic", "MSE, full-res gray"

    def features(self, frame):
        return frame.gray.astype(np.float32)

    def score(self, kept, current):
        return cv2.norm(kept, current, cv2.NORM_L2SQR) / kept.size


class Thumbnail(LastKept):
    family, name = "classic", "thumbnail 32x32 mean |diff|"

    def features(self, frame):
        return cv2.resize(frame.gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)

    def score(self, kept, current):
        return float(np.abs(kept - current).mean())


class PHash(LastKept):
    family, name = "classic", "phash Hamming (imagehash)"

    def features(self, frame):
        import imagehash
        from PIL import Image

        return imagehash.phash(Image.fromarray(frame.rgb))

    def score(self, kept, current):
        return float(kept - current)


class Histogram(LastKept):
    family, name = "classic", "histogram 64-bin Bhattacharyya"

    def features(self, frame):
        hist = cv2.calcHist([frame.gray], [0], None, [64], [0, 256])
        return cv2.normalize(hist, hist, 1.0, 0.0, cv2.NORM_L1)

    def score(self, kept, current):
        return float(cv2.compareHist(kept, current, cv2.HISTCMP_BHATTACHARYYA))


class SSIM(LastKept):
    family, name = "classic", "1 - SSIM, half-res gray (skimage)"

    def features(self, frame):
        h, w = frame.gray.shape
        return cv2.resize(frame.gray, (w // 2, h // 2), interpolation=cv2.INTER_AREA)

    def score(self, kept, current):
        from skimage.metrics import structural_similarity

        return 1.0 - float(structural_similarity(kept, current, data_range=255))


class JpegSize(LastKept):
    family, name = "classic", "JPEG size change, q75"

    def features(self, frame):
        return len(cv2.imencode(".jpg", frame.bgr, [cv2.IMWRITE_JPEG_QUALITY, 75])[1])

    def score(self, kept, current):
        return abs(current - kept) / kept


class ContentLastKept(LastKept):
    """ContentDetector's content_val (default weights: mean |dH|, |dS|, |dV| averaged), last kept."""

    family, name = "PySceneDetect", "ContentDetector"
    default_threshold = 27.0

    def features(self, frame):
        return frame.hsv

    def score(self, kept, current):
        return sum(cv2.norm(a, b, cv2.NORM_L1) for a, b in zip(kept, current)) / (3 * kept[0].size)


class HistogramLastKept(LastKept):
    """HistogramDetector's score (1 - correlation of 128-bin Y histograms), last kept."""

    family, name = "PySceneDetect", "HistogramDetector"
    default_threshold = 0.20

    def features(self, frame):
        from scenedetect.detectors import HistogramDetector

        return HistogramDetector.calculate_histogram(frame.bgr, bins=128)

    def score(self, kept, current):
        return 1.0 - float(cv2.compareHist(kept, current, cv2.HISTCMP_CORREL))


class HashLastKept(LastKept):
    """HashDetector's score (share of differing bits of its 8x8 DCT hash), last kept."""

    family, name = "PySceneDetect", "HashDetector"
    default_threshold = 0.35

    def features(self, frame):
        from scenedetect.detectors import HashDetector

        return HashDetector.hash_frame(frame.bgr, hash_size=8, factor=2)

    def score(self, kept, current):
        return float(np.count_nonzero(kept != current)) / kept.size


class MOG2:
    """OpenCV's MOG2 background subtractor fed every frame; score = foreground share after a
    3x3 opening (shadows count as foreground). It learns on the static clip first, then goes on
    into the sequence; the threshold is 1.2 x the largest score past its first frames."""

    family, name, variant = "OpenCV", "MOG2 background subtractor", "background model"

    def __init__(self):
        self.subtractor = cv2.createBackgroundSubtractorMOG2()
        self.kernel = np.ones((3, 3), np.uint8)
        self.threshold = 0.0

    def fraction(self, frame: Frame) -> float:
        mask = self.subtractor.apply(frame.bgr)
        mask = cv2.morphologyEx((mask > 0).astype(np.uint8), cv2.MORPH_OPEN, self.kernel)
        return float(np.count_nonzero(mask)) / mask.size

    def calibrate(self, static):
        scores = [self.fraction(f) for f in static]
        self.threshold = just_above(scores[min(MOG2_WARMUP, len(scores) // 3) :])

    def step(self, t, frame):
        return [t] if self.fraction(frame) > self.threshold else []

    def finish(self):
        return []


class SceneDetect:
    """A PySceneDetect detector fed every frame through its public ``process_frame``; its cut
    list is the keep list. Calibrated: the detector's own score on the static clip (read from a
    StatsManager, as its docs suggest for tuning) sets the threshold."""

    family = "PySceneDetect"
    fps = 10.0

    def __init__(self, kind: str, calibrated: bool):
        self.kind = kind
        self.name = kind
        self.calibrated = calibrated
        self.variant = "previous frame, calibrated" if calibrated else "previous frame, default thr"
        self.options: dict[str, float] = {}
        self.detector = None

    def _make(self, **options):
        from scenedetect import detectors

        return getattr(detectors, self.kind)(min_scene_len=0, **options)

    def calibrate(self, static):
        if self.calibrated:
            from scenedetect import FrameTimecode, StatsManager

            probe = self._make()
            stats = StatsManager()
            probe.stats_manager = stats
            for t, frame in enumerate(static):
                probe.process_frame(FrameTimecode(t, fps=self.fps), frame.bgr)

            def static_scores(key: str) -> list[float]:
                values = (stats.get_metrics(FrameTimecode(t, fps=self.fps), [key])[0] for t in range(1, len(static)))
                return [float(v) for v in values if v is not None]

            # The library keeps at score >= threshold: a hair above 1.2 x max means "above".
            keys = probe.get_metrics()  # content_val first, or hist_diff [bins=128], hash_dist [...]
            if self.kind == "HistogramDetector":  # its metric is a correlation: the score is 1 - it
                self.options = {"threshold": just_above([1.0 - v for v in static_scores(keys[0])]) + 1e-12}
            elif self.kind == "AdaptiveDetector":  # both of its thresholds: ratio and content_val
                self.options = {
                    "adaptive_threshold": just_above(static_scores(keys[-1])) + 1e-12,
                    "min_content_val": just_above(static_scores(keys[0])) + 1e-12,
                }
            else:
                self.options = {"threshold": just_above(static_scores(keys[0])) + 1e-12}
        self.detector = self._make(**self.options)

    def step(self, t, frame):
        from scenedetect import FrameTimecode

        return [int(c.frame_num) for c in self.detector.process_frame(FrameTimecode(t, fps=self.fps), frame.bgr)]

    def finish(self):
        return []


def methods() -> list:
    found = [cls() for cls in (MSE, Thumbnail, PHash, Histogram, SSIM, JpegSize)]
    found.append(MOG2())
    for kind in ("ContentDetector", "AdaptiveDetector", "HistogramDetector", "HashDetector"):
        for calibrated in (False, True):
            found.append(SceneDetect(kind, calibrated))
    for cls in (ContentLastKept, HistogramLastKept, HashLastKept):
        for calibrated in (False, True):
            found.append(cls(calibrated))
    return found


# ----------------------------------------------------------------------------- one scene


def _generate(index: int, settings: dict, folder: str) -> str:
    scene = data.make_scene(index, **settings)
    target = Path(folder) / f"{index:02d}-{scene.name}"
    scene.write(target)
    return str(target)


def _imgdelta(static: list[Path], sequence: list[Path]) -> dict:
    """imgdelta default and calibrated on the files; decisions per frame, or why not."""
    try:
        from imgdelta import ChangeDetector, calibrate_detector
    except ImportError as error:
        return {"error": f"not available yet ({error})"}
    runs = {}
    for label in ("default", "calibrated"):
        try:
            start = time.perf_counter()
            detector = ChangeDetector(profile=calibrate_detector(static)) if label == "calibrated" else ChangeDetector()
            decisions = []
            for path in sequence:
                d = detector.update(path)
                decisions.append(
                    {"keep": bool(d.keep), "reason": str(d.reason), "score": float(d.score), "threshold": float(d.threshold)}
                )
            runs[label] = {"decisions": decisions, "seconds": time.perf_counter() - start}
        except Exception as error:  # a detector under construction: report, don't stop the rest
            runs[label] = {"error": f"{type(error).__name__}: {error}"}
    return runs


def evaluate_scene(folder: str, classics: bool = True) -> dict:
    """Every method (or imgdelta alone) on one scene folder: the frames each keeps."""
    folder = Path(folder)
    truth = json.loads((folder / "truth.json").read_text())
    static_paths = sorted((folder / "static").glob("*.jpg"))
    sequence_paths = sorted((folder / "seq").glob("*.jpg"))
    static = [Frame(p) for p in static_paths]
    found = methods() if classics else []
    timings = defaultdict(float)
    for m in found:
        start = time.perf_counter()
        m.calibrate(static)
        timings[id(m)] += time.perf_counter() - start
    keeps: list[set[int]] = [{0} for _ in found]
    for t, path in enumerate(sequence_paths):
        frame = Frame(path)
        for m, kept in zip(found, keeps):
            start = time.perf_counter()
            kept.update(m.step(t, frame))
            timings[id(m)] += time.perf_counter() - start
    for m, kept in zip(found, keeps):
        kept.update(m.finish())
    rows = [
        {"family": m.family, "name": m.name, "variant": m.variant, "kept": sorted(k), "seconds": timings[id(m)]}
        for m, k in zip(found, keeps)
    ]
    return {"truth": truth, "folder": str(folder), "rows": rows, "imgdelta": _imgdelta(static_paths, sequence_paths)}


# ----------------------------------------------------------------------------- scoring


@dataclass
class Tally:
    events: int = 0
    caught: int = 0
    false_keeps: int = 0
    eligible: int = 0
    kept: int = 0

    def add(self, other: Tally) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def recall(self) -> float:
        return self.caught / self.events if self.events else float("nan")

    @property
    def fk_rate(self) -> float:
        return self.false_keeps / self.eligible if self.eligible else float("nan")

    @property
    def useless(self) -> float:
        return self.false_keeps / self.kept if self.kept else float("nan")

    def as_dict(self) -> dict:
        return {**self.__dict__, "recall": self.recall, "false_keep_rate": self.fk_rate, "useless_share": self.useless}


def windows(truth: dict) -> set[int]:
    w = truth["window"]
    return {f for e in truth["events"] for f in range(e["frame"], e["frame"] + w + 1)}


def judge(kept: set[int], truth: dict) -> tuple[Tally, dict[str, Tally], list[dict], list[int]]:
    """Totals, recall per event group, the missed events and the false keeps of one scene."""
    w = truth["window"]
    covered = windows(truth)
    tally = Tally(kept=len(kept | {0}), eligible=sum(1 for f in range(1, truth["frames"]) if f not in covered))
    groups: dict[str, Tally] = defaultdict(Tally)
    missed = []
    for event in truth["events"]:
        if not event["scored"]:
            continue
        hit = any(f in kept for f in range(event["frame"], event["frame"] + w + 1))
        for t in (tally, groups[data.KIND_GROUPS[event["kind"]]]):
            t.events += 1
            t.caught += hit
        if not hit:
            missed.append(event)
    false = sorted(f for f in kept if f and f not in covered)
    tally.false_keeps = len(false)
    return tally, groups, missed, false


# ----------------------------------------------------------------------------- report


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [header, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in lines)


def pct(value: float, digits: int = 2) -> str:
    return "-" if value != value else f"{100 * value:.{digits}f}%"


def summarize(results: list[dict]) -> dict:
    """Per method: totals, per light level and per event group; imgdelta's errors listed."""
    summary: dict[str, dict] = {}
    order: list[str] = []

    def account(label: str, meta: dict, kept: set[int], truth: dict, seconds: float) -> tuple[list, list]:
        if label not in summary:
            order.append(label)
            summary[label] = {**meta, "total": Tally(), "light": defaultdict(Tally), "group": defaultdict(Tally), "seconds": 0.0}
        entry = summary[label]
        tally, groups, missed, false = judge(kept, truth)
        entry["total"].add(tally)
        entry["light"][truth["light"]].add(tally)
        for g, t in groups.items():
            entry["group"][g].add(t)
        entry["seconds"] += seconds
        return missed, false

    errors: dict[str, str] = {}
    listing: dict[str, dict[str, list]] = defaultdict(lambda: {"missed": [], "false": []})
    for result in results:
        truth = result["truth"]
        runs = result["imgdelta"]
        if "error" in runs:
            errors["imgdelta"] = runs["error"]
        for label in ("default", "calibrated"):
            run = runs.get(label)
            if run is None:
                continue
            if "error" in run:
                errors[f"imgdelta {label}"] = run["error"]
                continue
            decisions = run["decisions"]
            kept = {0} | {t for t, d in enumerate(decisions) if d["keep"]}
            meta = {"family": "imgdelta", "name": "ChangeDetector", "variant": label}
            missed, false = account(f"imgdelta {label}", meta, kept, truth, run["seconds"])
            for event in missed:
                t0 = event["frame"]
                listing[label]["missed"].append(
                    {"scene": truth["name"], **event, "decisions": decisions[t0 : t0 + truth["window"] + 1]}
                )
            for f in false:
                listing[label]["false"].append({"scene": truth["name"], "frame": f, **decisions[f]})
        for row in result["rows"]:
            meta = {k: row[k] for k in ("family", "name", "variant")}
            account(f"{row['name']} | {row['variant']}", meta, set(row["kept"]), truth, row["seconds"])
    return {"order": order, "methods": summary, "errors": errors, "listing": listing}


def render_text(settings: dict, results: list[dict], summary: dict, elapsed: dict) -> str:
    out = []
    truths = [r["truth"] for r in results]
    scored = sum(e["scored"] for t in truths for e in t["events"])
    ambiguous = sum(not e["scored"] for t in truths for e in t["events"])
    eligible = sum(sum(1 for f in range(1, t["frames"]) if f not in windows(t)) for t in truths)
    out.append(
        f"settings: {len(truths)} scenes x {settings['frames']} frames (+{settings['static_frames']} static), "
        f"{settings['size'][0]}x{settings['size'][1]}, seed {settings['seed']}; "
        f"{scored} scored events, {ambiguous} ambiguous, {eligible} frames that can be falsely kept"
    )
    out.append(f"scenes: {', '.join(t['name'] for t in truths)}")
    out.append(f"data: {settings['cache']}")
    out.append(
        f"time: data {elapsed['data']:.1f} s, methods {elapsed['methods']:.1f} s on {settings['jobs']} processes"
    )
    out.append(f"rule for classic methods: keep when score vs last kept frame > {MARGIN} x max on the static clip")
    out.append("")
    lights = [light for light in data.LIGHTS if any(t["light"] == light for t in truths)]
    groups = ["object", "lights", "relight"]
    rows, detail = [], []
    methods_ = summary["methods"]
    for label in summary["order"]:
        m = methods_[label]
        total: Tally = m["total"]
        frames = sum(t["frames"] for t in truths)
        rows.append(
            [
                m["family"],
                m["name"],
                m["variant"],
                f"{total.recall:.3f}",
                f"{total.events - total.caught}",
                f"{total.false_keeps}",
                pct(total.fk_rate),
                f"{total.kept}",
                pct(total.useless, 1),
                f"{1000 * m['seconds'] / frames:.1f}",
            ]
        )
        detail.append(
            [m["name"], m["variant"]]
            + [f"{m['light'][g].recall:.2f}" for g in lights]
            + [pct(m["light"][g].fk_rate, 1) for g in lights]
            + [f"{m['group'][g].recall:.2f}" if m["group"][g].events else "-" for g in groups]
        )
    for name, error in summary["errors"].items():
        out.append(f"{name}: {error}")
    out.append(
        table(
            ["family", "method", "variant", "recall", "missed", "false keeps", "FK rate", "kept", "useless", "ms/frame"],
            rows,
        )
    )
    out.append(f"(ideal: recall 1.000, 0 false keeps, {len(truths) + scored} kept + up to {ambiguous} for ambiguous events;"
               " ms/frame: rough, inside this run's worker processes)")
    out.append("")
    out.append("recall and false-keep rate by light level; recall by event group")
    out.append(
        table(
            ["method", "variant"] + [f"R {g}" for g in lights] + [f"FK {g}" for g in lights] + [f"R {g}" for g in groups],
            detail,
        )
    )
    for label, lists in summary["listing"].items():
        out.append("")
        out.append(f"imgdelta {label}: {len(lists['missed'])} missed, {len(lists['false'])} false keeps")
        for event in lists["missed"][:LIST_LIMIT]:
            steps = "; ".join(
                f"{event['frame'] + i}: {d['score']:.3g}/{d['threshold']:.3g} {d['reason']}" for i, d in enumerate(event["decisions"])
            )
            out.append(
                f"  missed {event['scene']} frame {event['frame']} {event['kind']} area {pct(event['area'], 1)} "
                f"contrast {event['contrast']:.0f}: {steps}"
            )
        for fk in lists["false"][:LIST_LIMIT]:
            out.append(f"  false keep {fk['scene']} frame {fk['frame']}: score {fk['score']:.3g} > {fk['threshold']:.3g}: {fk['reason']}")
        hidden = max(0, len(lists["missed"]) - LIST_LIMIT) + max(0, len(lists["false"]) - LIST_LIMIT)
        if hidden:
            out.append(f"  ... and {hidden} more (--json lists all)")
    return "\n".join(out)


def render_json(settings: dict, results: list[dict], summary: dict, elapsed: dict) -> str:
    methods_ = summary["methods"]
    doc = {
        "settings": settings,
        "elapsed_s": elapsed,
        "scenes": [r["truth"] for r in results],
        "methods": [
            {
                **{k: methods_[label][k] for k in ("family", "name", "variant")},
                **methods_[label]["total"].as_dict(),
                "by_light": {k: v.as_dict() for k, v in methods_[label]["light"].items()},
                "by_group": {k: v.as_dict() for k, v in methods_[label]["group"].items()},
            }
            for label in summary["order"]
        ],
        "errors": summary["errors"],
        "imgdelta": summary["listing"],
    }
    return json.dumps(doc, indent=1)


# ----------------------------------------------------------------------------- main


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 640x480") from None
    if width < 64 or height < 48:
        raise argparse.ArgumentTypeError(f"--size {text!r}: at least 64x48")
    return width, height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 scenes (day, dusk, night) x 80 frames, 20 static")
    parser.add_argument("--scenes", type=int, help="number of scenes (default 15: 5 photos x 3 light levels)")
    parser.add_argument("--frames", type=int, help="frames per sequence (default 200)")
    parser.add_argument("--static", type=int, help="frames per static clip (default 30)")
    parser.add_argument("--size", type=parse_size, default=(640, 480), help="frame size, WIDTHxHEIGHT (default 640x480)")
    parser.add_argument("--seed", type=int, default=2024, help="data seed (default 2024)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: all cores)")
    parser.add_argument("--cache", type=Path, help="data folder (default: a folder per settings in the temp dir)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    parser.add_argument("--imgdelta-only", action="store_true", help="skip the classic approaches (a quick check while developing)")
    args = parser.parse_args()
    scenes = args.scenes or (3 if args.quick else 15)
    settings = {
        "seed": args.seed,
        "size": args.size,
        "frames": args.frames or (80 if args.quick else 200),
        "static_frames": args.static or (20 if args.quick else 30),
    }
    root = args.cache or Path(tempfile.gettempdir()) / "imgdelta-bench" / f"timelapse-{data.settings_key(**settings)}"
    root.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        folders = {}
        pending = {}
        for index in range(scenes):
            name = "-".join(data.scene_layout(index))
            folder = root / f"{index:02d}-{name}"
            if (folder / "truth.json").exists():
                folders[index] = str(folder)
            else:
                pending[index] = pool.submit(_generate, index, settings, str(root))
        for index, future in pending.items():
            folders[index] = future.result()
        made = time.perf_counter()
        results = list(pool.map(partial(evaluate_scene, classics=not args.imgdelta_only), [folders[i] for i in range(scenes)]))
    done = time.perf_counter()

    elapsed = {"data": made - start, "methods": done - made}
    report_settings = {**settings, "scenes": scenes, "size": list(settings["size"]), "cache": str(root), "jobs": args.jobs}
    summary = summarize(results)
    render = render_json if args.json else render_text
    print(render(report_settings, results, summary, elapsed))


if __name__ == "__main__":
    main()
