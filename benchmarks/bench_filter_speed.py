"""Speed of ``imgdelta filter`` on a folder of 1080p JPEG frames, beside the naive loop and the floor.

    python benchmarks/bench_filter_speed.py              # 300 frames at 1920x1080, 3 rounds
    python benchmarks/bench_filter_speed.py --quick      # 100 frames, 2 rounds

The targets (from the issue): the whole process on a folder of 300 1080p JPEG frames, measured
in one run, is

* at least 3x faster than the naive loop: full Pillow decode, MSE against the last kept frame
  (gray, NumPy), kept frames copied;
* no slower than 1.5x a bare decode of the same frames at 1/8 scale (Pillow ``draft``) on two
  workers: the floor, the fastest of the decode rows (gray, on threads or processes). The
  colour row is what a detector that sees colour decodes at least.

Every command runs as a fresh process, the way users run it; rounds alternate the commands and
the medians are compared. Each command runs once untimed first, which warms the page cache and
compiles every module's bytecode into a cache in the temp directory, as an installed package
has it (a shell with ``PYTHONDONTWRITEBYTECODE`` set would otherwise make imgdelta, alone, compile
its modules on every start). The start-up row is ``imgdelta filter --help``: starting Python and
importing what the command line loads before it reads a frame. The frames come from
``timelapse_data.py`` (daylight astronaut scene with its events, upscaled to 1080p, JPEG quality
85), cached in the system's temp directory.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import timelapse_data as data  # noqa: E402

SIZE = (1920, 1080)
QUALITY = 85
SCENE = 0  # astronaut, daylight
MARGIN = 1.2
STARTUP = "start-up (filter --help)"

NAIVE = """
import shutil, sys
from pathlib import Path
import numpy as np
from PIL import Image

source, target, threshold = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
target.mkdir(parents=True, exist_ok=True)
last = None
for path in sorted(source.glob("*.jpg")):
    with Image.open(path) as image:
        gray = np.asarray(image.convert("L"), dtype=np.float32)
    if last is None or float(np.mean((gray - last) ** 2)) > threshold:
        shutil.copyfile(path, target / path.name)
        last = gray
"""

FLOOR = """
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from PIL import Image

def load(path):
    with Image.open(path) as image:
        image.draft(sys.argv[3], (image.width // 8, image.height // 8))
        image.load()
        return image.size

if __name__ == "__main__":
    paths = sorted(Path(sys.argv[1]).glob("*.jpg"))
    pool = ThreadPoolExecutor if sys.argv[2] == "threads" else ProcessPoolExecutor
    with pool(max_workers=2) as workers:
        sizes = list(workers.map(load, paths, chunksize=1 if sys.argv[2] == "threads" else 16))
    assert len(sizes) == len(paths)
"""


def _render(args: tuple[int, int, int, int, str]) -> int:
    seed, frames, first, step, folder = args
    scene = _scene(seed, frames)
    for t in range(first, frames, step):
        (Path(folder) / f"{t:06d}.jpg").write_bytes(scene.render(t))
    return len(range(first, frames, step))


def _scene(seed: int, frames: int) -> data.Scene:
    scene = data.make_scene(SCENE, seed=seed, size=SIZE, frames=frames, static_frames=10)
    scene.camera = replace(scene.camera, quality=QUALITY, quality_step=0)
    return scene


def make_frames(root: Path, seed: int, frames: int) -> Path:
    """The frames as JPEG files under root/seq (rendered in parallel, reused while complete)."""
    folder = root / "seq"
    done = root / "complete"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    jobs = [(seed, frames, first, 2, str(folder)) for first in range(2)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        assert sum(pool.map(_render, jobs)) == frames
    done.write_text("ok\n")
    return folder


def naive_threshold(seed: int, frames: int) -> float:
    """1.2 x the largest MSE on a static clip, the way a user would set the naive loop up."""
    from PIL import Image

    scene = _scene(seed, frames)
    gray = []
    for t in range(scene.static_frames):
        with Image.open(io.BytesIO(scene.render(t, static=True))) as image:
            gray.append(np.asarray(image.convert("L"), dtype=np.float32))
    scores = [float(np.mean((g - gray[0]) ** 2)) for g in gray[1:]]
    scores += [float(np.mean((b - a) ** 2)) for a, b in zip(gray, gray[1:])]
    return MARGIN * max(scores)


def imgdelta_command() -> list[str]:
    script = Path(sys.executable).with_name("imgdelta")
    return [str(script)] if script.exists() else [sys.executable, "-m", "imgdelta"]


def environment(bytecode: Path) -> dict[str, str]:
    """The commands' environment: bytecode compiled once into ``bytecode``, outside the tree."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(bytecode)
    return env


def timed(argv: list[str], out: Path | None, env: dict[str, str]) -> tuple[float, str | None]:
    """Seconds the process took, and its error when it failed. ``out`` is emptied first."""
    if out is not None and out.exists():
        shutil.rmtree(out)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return seconds, f"exit {done.returncode}: {' | '.join(tail)}"
    return seconds, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 frames, 2 rounds")
    parser.add_argument("--frames", type=int, help="frames in the folder (default 300)")
    parser.add_argument("--rounds", type=int, help="rounds of every command (default 3)")
    parser.add_argument("--seed", type=int, default=2024, help="data seed (default 2024)")
    args = parser.parse_args()
    frames = args.frames or (100 if args.quick else 300)
    rounds = args.rounds or (2 if args.quick else 3)

    key = data.settings_key(seed=args.seed, frames=frames, size=SIZE, quality=QUALITY, scene=SCENE)
    root = Path(tempfile.gettempdir()) / "imgdelta-bench" / f"speed-{key}"
    start = time.perf_counter()
    source = make_frames(root, args.seed, frames)
    made = time.perf_counter() - start
    threshold = naive_threshold(args.seed, frames)
    megabytes = sum(p.stat().st_size for p in source.glob("*.jpg")) / 1e6

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        naive_script, floor_script = work / "naive.py", work / "floor.py"
        naive_script.write_text(NAIVE)
        floor_script.write_text(FLOOR)
        env = environment(work / "bytecode")
        commands = {
            "imgdelta filter": ([*imgdelta_command(), "filter", str(source), str(work / "kept")], work / "kept"),
            "naive loop": ([sys.executable, str(naive_script), str(source), str(work / "naive"), f"{threshold:.6g}"], work / "naive"),
            "decode 1/8 gray, 2 threads": ([sys.executable, str(floor_script), str(source), "threads", "L"], None),
            "decode 1/8 gray, 2 processes": ([sys.executable, str(floor_script), str(source), "processes", "L"], None),
            "decode 1/8 colour, 2 threads": ([sys.executable, str(floor_script), str(source), "threads", "RGB"], None),
            STARTUP: ([*imgdelta_command(), "filter", "--help"], None),
        }
        for argv, out in commands.values():  # untimed: page cache and bytecode
            timed(argv, out, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        errors: dict[str, str] = {}
        for _ in range(rounds):
            for name, (argv, out) in commands.items():
                if name in errors:
                    continue
                seconds, error = timed(argv, out, env)
                if error:
                    errors[name] = error
                else:
                    times[name].append(seconds)
        kept = {name: len(list(out.rglob("*.jpg"))) for name, (_, out) in commands.items() if out is not None and out.exists()}

    median = {name: statistics.median(t) for name, t in times.items() if t}
    floors = [seconds for name, seconds in median.items() if name.startswith("decode")]
    floor = min(floors) if floors else float("nan")
    ours = median.get("imgdelta filter")

    print(
        f"{frames} JPEG frames {SIZE[0]}x{SIZE[1]} q{QUALITY} ({megabytes:.0f} MB), {rounds} rounds, fresh processes; "
        f"data {'made' if made > 1 else 'cached'} in {made:.1f} s at {root}"
    )
    print(f"naive loop threshold: MSE > {threshold:.4g} (1.2 x the static clip's largest)")
    rows = []
    for name in commands:
        if name in errors:
            rows.append([name, "failed", "", "", errors[name]])
            continue
        m = median[name]
        note = f"kept {kept[name]}" if name in kept else ""
        ratio = f"{m / ours:.2f}" if ours else "-"
        per_frame = f"{1000 * m / frames:.1f}" if name != STARTUP else ""
        rows.append([name, f"{m:.2f}", per_frame, ratio, note])
    header = ["command", "median s", "ms/frame", "x imgdelta", "note"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    if ours:
        speedup = median["naive loop"] / ours if "naive loop" in median else float("nan")
        over_floor = ours / floor
        print(f"naive / imgdelta = {speedup:.2f}x (target >= 3: {'met' if speedup >= 3 else 'NOT met'})")
        print(f"imgdelta / floor = {over_floor:.2f}x (target <= 1.5: {'met' if over_floor <= 1.5 else 'NOT met'})")
        startup = median.get(STARTUP)
        if startup is not None:
            frames_part = ours - startup
            print(f"imgdelta = start-up {startup:.2f} s + the frames {frames_part:.2f} s ({1000 * frames_part / frames:.1f} ms/frame)")
    else:
        print(f"imgdelta filter: not measured ({errors.get('imgdelta filter', 'no run')})")


if __name__ == "__main__":
    main()
