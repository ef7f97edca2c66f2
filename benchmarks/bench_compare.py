"""Speed of ``imgdelta compare`` beside the peers, measured in one run on this machine.

    python benchmarks/bench_compare.py            # 1080p and 4K, everything
    python benchmarks/bench_compare.py --quick    # 1080p only, the pixelmatch package once
    python benchmarks/bench_compare.py --catalogue [NAME ...]   # only the metric catalogue

The catalogue rows time each metric on the 1080p pair beside its reference implementation
(cases listed in ``benchmarks/peers_*.py``), with the absolute difference of the values.

Kernels are timed in this process (best of several runs; in the catalogue, the runs of
imgdelta and of the peer take turns);
whole commands are timed as fresh processes, the way users run them (median of several).
Test pairs are made from a real photo (scikit-image's astronaut, upscaled): the second image
is re-encoded at another JPEG quality, with an object pasted in. Needs the test extras
(``pip install -e .[test]``).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = {"1080p": (1920, 1080), "4K": (3840, 2160)}

PEER_SKIMAGE = """
import sys
import numpy as np
from PIL import Image
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity
a = np.asarray(Image.open(sys.argv[1]).convert("L"), dtype=np.float64) / 255
b = np.asarray(Image.open(sys.argv[2]).convert("L"), dtype=np.float64) / 255
print(structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0),
      peak_signal_noise_ratio(a, b, data_range=1.0), mean_squared_error(a, b))
"""

PEER_PIXELMATCH = """
import sys
from PIL import Image
from pixelmatch.contrib.PIL import pixelmatch
print(pixelmatch(Image.open(sys.argv[1]), Image.open(sys.argv[2]), threshold=0.1))
"""


def make_pair(folder: Path, label: str, size: tuple[int, int]) -> tuple[Path, Path]:
    from PIL import Image, ImageDraw
    from skimage import data

    base = Image.fromarray(data.astronaut()).resize(size, Image.Resampling.LANCZOS)
    a = folder / f"{label}_a.jpg"
    b = folder / f"{label}_b.jpg"
    base.save(a, quality=90)
    changed = base.copy()
    width, height = size
    ImageDraw.Draw(changed).ellipse((width // 10, height // 2, width // 10 + width // 8, height // 2 + height // 6), fill=(30, 40, 50))
    changed.save(b, quality=80)
    return a, b


def best_ms(fn, repeat: int) -> tuple[float, object]:
    result = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000, result


def process_ms(argv: list[str], repeat: int) -> tuple[float, str]:
    times = []
    out = ""
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - start)
        out = done.stdout
    return statistics.median(times) * 1000, out


def best_ms_alternating(ours, peer, repeat: int, peer_repeat: int) -> tuple[float, object, float, object]:
    """``best_ms`` of both, their runs taking turns (each warmed once first), so that a
    busy spell of the machine slows both sides rather than one."""
    ours_result, peer_result = ours(), peer()
    ours_times: list[float] = []
    peer_times: list[float] = []
    for i in range(max(repeat, peer_repeat)):
        if i < repeat:
            start = time.perf_counter()
            ours_result = ours()
            ours_times.append(time.perf_counter() - start)
        if i < peer_repeat:
            start = time.perf_counter()
            peer_result = peer()
            peer_times.append(time.perf_counter() - start)
    return min(ours_times) * 1000, ours_result, min(peer_times) * 1000, peer_result


def row(task: str, ours: float, peer: float, peer_name: str, agree: str) -> list[str]:
    return [task, f"{ours:,.1f}", f"{peer:,.1f}", peer_name, f"{peer / ours:,.1f}x", agree]


def kernels(pairs: dict[str, tuple[Path, Path]], quick: bool) -> list[list[str]]:
    import imagehash
    from PIL import Image
    from pixelmatch.core import pixelmatch as package_pixelmatch
    from skimage.metrics import structural_similarity

    from imgdelta import load_image
    from imgdelta.features import Features
    from imgdelta.metrics._pixelmatch import mismatch_count
    from imgdelta.metrics.hashes import HASH_FUNCTIONS
    from imgdelta.metrics.structural import ssim_mean

    rows = []
    for label, (path_a, path_b) in pairs.items():
        loaded_a, loaded_b = load_image(path_a), load_image(path_b)
        fa = Features(loaded_a.pixels, loaded_a.samples8)
        fb = Features(loaded_b.pixels, loaded_b.samples8)
        ya, yb = fa.luma, fb.luma
        ya64, yb64 = ya.astype(np.float64), yb.astype(np.float64)
        ours, value = best_ms(lambda: ssim_mean(ya, yb), 5)
        peer, expected = best_ms(
            lambda: structural_similarity(ya64, yb64, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0),
            2,
        )
        rows.append(row(f"ssim, {label} gray", ours, peer, "scikit-image", f"|diff| = {abs(value - expected):.1e}"))

        rgba_a, rgba_b = fa.rgba8, fb.rgba8
        ours, count = best_ms(lambda: mismatch_count(rgba_a, rgba_b), 5)
        if quick and label != "1080p":
            continue
        start = time.perf_counter()
        package_count = package_pixelmatch(list(rgba_a.tobytes()), list(rgba_b.tobytes()), fa.shape[1], fa.shape[0], threshold=0.1)
        peer = (time.perf_counter() - start) * 1000
        rows.append(row(f"pixelmatch count, {label}", ours, peer, "pixelmatch 0.4.0", f"{count} vs {package_count}"))

        with Image.open(path_a) as image:
            image.load()
            ours, mine = best_ms(lambda: str(HASH_FUNCTIONS["phash"](image)), 3)
            peer, theirs = best_ms(lambda: str(imagehash.phash(image)), 3)
        rows.append(row(f"phash, {label}", ours, peer, "imagehash", "equal" if mine == theirs else "DIFFERENT"))
    return rows


def processes(pairs: dict[str, tuple[Path, Path]], folder: Path, quick: bool) -> list[list[str]]:
    skimage_script = folder / "peer_skimage.py"
    skimage_script.write_text(PEER_SKIMAGE)
    pixelmatch_script = folder / "peer_pixelmatch.py"
    pixelmatch_script.write_text(PEER_PIXELMATCH)
    imgdelta = [sys.executable, "-m", "imgdelta", "compare"]
    rows = []
    for label, (a, b) in pairs.items():
        ours, out = process_ms([*imgdelta, str(a), str(b), "--json"], 5)
        peer, peer_out = process_ms([sys.executable, str(skimage_script), str(a), str(b)], 5)
        import json

        ssim_ours = json.loads(out)["metrics"]["ssim"]
        ssim_peer = float(peer_out.split()[0])
        rows.append(row(f"whole process, default set, {label}", ours, peer, "Pillow + scikit-image", f"ssim |diff| = {abs(ssim_ours - ssim_peer):.1e}"))
        if quick and label != "1080p":
            continue
        ours, out = process_ms([*imgdelta, str(a), str(b), "--json", "--metric", "pixelmatch"], 3)
        peer, peer_out = process_ms([sys.executable, str(pixelmatch_script), str(a), str(b)], 1)
        rows.append(
            row(f"whole process, pixelmatch, {label}", ours, peer, "pixelmatch 0.4.0", f"{json.loads(out)['metrics']['pixelmatch']} vs {peer_out.strip()}")
        )
    return rows


#: Modules of ``benchmarks/`` whose ``CASES`` list the catalogue's metrics and their peers.
CATALOGUE_MODULES = ("peers_quality", "peers_vision", "peers_signatures")


def catalogue(path_a: Path, path_b: Path, only: list[str]) -> list[list[str]]:
    """One row per catalogue metric: imgdelta's kernel beside its reference, 1080p pair."""
    from imgdelta import load_image
    from imgdelta.features import Features, FeaturePair
    from imgdelta.metrics import MetricOptions
    from imgdelta.pipeline import measure

    # both sides start from the decoded images as each library holds them: imgdelta's
    # float pixels with the decoder's 8-bit samples, the peer's uint8 arrays
    loaded_a, loaded_b = load_image(path_a), load_image(path_b)
    a, b = loaded_a.pixels, loaded_b.pixels
    a8, b8 = loaded_a.samples8, loaded_b.samples8
    rows = []
    for module_name in CATALOGUE_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        for case in module.CASES:
            if only and case.metric not in only:
                continue
            options = MetricOptions()

            def ours_once():
                # fresh Features each time: nothing derived is shared between runs
                return measure(FeaturePair(Features(a, a8), Features(b, b8)), [case.metric], options)[case.metric]

            ours, value, peer, expected = best_ms_alternating(ours_once, lambda: case.run(a8, b8), case.repeat, case.peer_repeat)
            rows.append(row(f"{case.metric}, 1080p", ours, peer, case.peer, case.agreement(value, expected)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1080p only")
    parser.add_argument("--catalogue", nargs="*", metavar="NAME", help="only the catalogue rows (of these metrics, or all)")
    args = parser.parse_args()
    sizes = {"1080p": SIZES["1080p"]} if args.quick or args.catalogue is not None else SIZES
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pairs = {label: make_pair(folder, label, size) for label, size in sizes.items()}
        if args.catalogue is not None:
            rows = catalogue(*pairs["1080p"], args.catalogue)
        else:
            rows = kernels(pairs, args.quick) + processes(pairs, folder, args.quick) + catalogue(*pairs["1080p"], [])
    header = ["task", "imgdelta ms", "peer ms", "peer", "speed-up", "agreement"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


if __name__ == "__main__":
    main()
