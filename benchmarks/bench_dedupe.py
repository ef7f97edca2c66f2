"""``imgdelta dedupe`` beside imagehash, measured in one run on this machine.

    python benchmarks/bench_dedupe.py            # 1600-pixel collection, 1,000,000 synthetic hashes
    python benchmarks/bench_dedupe.py --quick    # 640-pixel collection, 200,000 synthetic hashes

Three parts:

1. **Accuracy** on a generated collection (``benchmarks/dedupe_data.py``: scikit-image's photos
   and their resized, re-encoded, cropped, brightened, turned, watermarked, gray, converted
   and EXIF-rotated copies, with overlapping crops and look-alike textures as hard negatives):
   pair precision and recall of ``find_duplicates`` at several radii and without
   verification, and of imagehash's ``phash`` with union-find at distances 4, 8 and 10, per
   kind of copy too; what each kind of alternate hash adds; and the verification's scores
   over every pair, on gradients (imgdelta) and on grey levels.
2. **Hashing speed** on camera-sized JPEG files: ``find_duplicates`` (hashing, search and
   verification, every core) against a loop of ``imagehash.phash(Image.open(path))``, and the
   bit-exact ``imgdelta hash`` (every core) against a loop of imagehash's four hashes.
3. **Grouping** synthetic hashes (random 64-bit hashes with alternate hashes, and planted
   near copies): the candidate search and union-find of a million images, each run in a
   fresh process with its time and peak memory, for two layouts of the multi-index search;
   radius 5 against 6 on a fifth as many; and brute-force XOR + popcount on 10,000.

Needs the bench extras (``pip install -e .[bench]``: scikit-image, ImageHash).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dedupe_data as data  # noqa: E402

from imgdelta.cli.tables import table  # noqa: E402


# -- accuracy ---------------------------------------------------------------------------------


def _union_find_groups(count: int, pairs) -> list[list[int]]:
    from imgdelta.dedupe.groups import connected_groups

    pairs = list(pairs)
    first = np.array([a for a, _ in pairs], dtype=np.int64)
    second = np.array([b for _, b in pairs], dtype=np.int64)
    return connected_groups(count, first, second)


def _hard_negative_pairs(items: list[data.Item]) -> set[frozenset[str]]:
    """Pairs that must not be grouped although they look alike: overlapping crops of one
    photo, a quarter and its whole photo, and quarters of one texture."""
    hard = set()
    for a, b in combinations(items, 2):
        if a.picture == b.picture:
            continue
        base_a, base_b = a.picture.split("-")[0], b.picture.split("-")[0]
        if base_a == base_b:
            hard.add(frozenset((a.path, b.path)))
    return hard


def _variant_recall(groups, items: list[data.Item]) -> dict[str, float]:
    """Share of (copy, original) pairs of each kind that ended in one group."""
    group_of = {path: number for number, group in enumerate(groups) for path in group}
    originals = {item.picture: item.path for item in items if item.kind == "original"}
    found: dict[str, list[bool]] = {}
    for item in items:
        if item.kind in data.VARIANTS:
            original = originals[item.picture]
            found.setdefault(item.kind, []).append(item.path in group_of and group_of.get(item.path) == group_of.get(original))
    return {kind: sum(hits) / len(hits) for kind, hits in found.items()}


def accuracy(folder: Path, size: int, quick: bool, work: Path) -> dict:
    import imagehash
    from PIL import Image

    from imgdelta.dedupe import find_duplicates
    from imgdelta.dedupe.index import HashIndex
    from imgdelta.dedupe.search import popcount

    photos = data.PHOTOS[:8] if quick else data.PHOTOS
    quartered = data.QUARTERED[:2] if quick else data.QUARTERED
    items = data.make_collection(folder, size=size, photos=photos, quartered=quartered)
    hard = _hard_negative_pairs(items)
    truth = data.true_pairs(items)
    rows, per_kind = [], {}

    def score(label: str, groups) -> None:
        found = data.found_pairs(groups)
        precision, recall = data.pair_scores(groups, items)
        rows.append([label, f"{len(found):,}", f"{precision:.4f}", f"{recall:.4f}", f"{len(found & hard)}"])

    index = work / "collection.sqlite"
    start = time.perf_counter()
    report = find_duplicates(folder, index=index)
    hashing = time.perf_counter() - start
    score("imgdelta dedupe (default: radius 5)", [g.paths for g in report.groups])
    per_kind["imgdelta (radius 5)"] = _variant_recall([g.paths for g in report.groups], items)
    for label, options in (("imgdelta dedupe --radius 8", {"radius": 8}), ("imgdelta dedupe --radius 16", {"radius": 16}),
                           ("same, radius 16, no verification", {"radius": 16, "threshold": -1.0})):
        score(label, [g.paths for g in find_duplicates(folder, index=index, **options).groups])
    start = time.perf_counter()
    hashes = []
    for item in items:
        with Image.open(item.path) as image:
            hashes.append(imagehash.phash(image))
    peer_hashing = time.perf_counter() - start
    words = np.array([int(str(h), 16) for h in hashes], dtype=np.uint64)
    distance = popcount(words[:, None] ^ words[None, :])
    for limit in (4, 8, 10):
        i, j = np.nonzero(np.triu(distance <= limit, 1))
        groups = [[items[k].path for k in group] for group in _union_find_groups(len(items), zip(i.tolist(), j.tolist()))]
        score(f"imagehash phash + union-find, distance <= {limit}", groups)
        per_kind[f"phash <= {limit}"] = _variant_recall(groups, items)
    kinds = [[kind] + [f"{per_kind[method][kind]:.3f}" for method in per_kind] for kind in data.VARIANTS]
    with HashIndex.open(index, read_only=True) as store:
        keys = [store.key(os.path.abspath(item.path)) for item in items]
        stored = store.images(keys)
        thumbnails = store.thumbnails(keys)
    return {
        "files": len(items), "true_pairs": len(truth), "hard_pairs": len(hard), "candidates": report.candidates,
        "confirmed": report.confirmed, "hashing": hashing, "peer_hashing": peer_hashing, "methods": rows,
        "kinds": [["copy"] + list(per_kind)] + kinds,
        "alternates": _alternates(items, stored, thumbnails),
        "verification": _verification(items, thumbnails, hard),
    }


def _alternates(items: list[data.Item], stored, thumbnails: np.ndarray) -> list[list[str]]:
    """Precision and recall at radius 5 with fewer of each image's alternate hashes."""
    from imgdelta.dedupe.groups import connected_groups
    from imgdelta.dedupe.search import HashSet, near_pairs
    from imgdelta.dedupe.signature import VIEWS
    from imgdelta.dedupe.verify import DEFAULT_THRESHOLD, pair_similarity

    crops = sum(1 for view in VIEWS if not view[3])
    choices = [
        ("the whole image's hash only", []),
        (f"+ {crops} cropped views", list(range(crops))),
        (f"+ {len(VIEWS) - crops} turned views", list(range(len(VIEWS)))),
        ("+ least certain bit flipped (imgdelta)", list(range(len(VIEWS) + 1))),
    ]
    rows = []
    for label, columns in choices:
        pairs = near_pairs(HashSet(stored.hashes, stored.alternates[:, columns]), radius=5)
        keep = pair_similarity(thumbnails, pairs.first, thumbnails, pairs.second) >= DEFAULT_THRESHOLD
        groups = [[items[k].path for k in group] for group in connected_groups(len(items), pairs.first[keep], pairs.second[keep])]
        precision, recall = data.pair_scores(groups, items)
        rows.append([label, str(1 + len(columns)), f"{len(pairs):,}", f"{precision:.4f}", f"{recall:.4f}"])
    return rows


def _grey_features(thumbnails: np.ndarray) -> np.ndarray:
    """The verification's 19 views as smoothed grey levels instead of gradients."""
    from imgdelta.dedupe.verify import _operators

    smooth_y, _, _, smooth_x = _operators()
    views = (smooth_y[None] @ thumbnails.astype(np.float32)[:, None]) @ smooth_x.transpose(0, 2, 1)[None]
    features = views.reshape(views.shape[0], views.shape[1], -1)
    features -= features.mean(axis=2, keepdims=True)
    return features / np.maximum(np.linalg.norm(features, axis=2, keepdims=True), 1e-6)


def _verification(items: list[data.Item], thumbnails: np.ndarray, hard: set) -> list[list[str]]:
    """Scores of every pair of the collection, by what the views compare."""
    from imgdelta.dedupe.verify import DEFAULT_THRESHOLD, _features

    count = len(items)
    first, second = np.triu_indices(count, 1)
    same = np.array([items[a].picture == items[b].picture for a, b in zip(first, second)])
    harder = np.array([frozenset((items[a].path, items[b].path)) in hard for a, b in zip(first, second)])
    rows = []
    for label, features in (("gradients (imgdelta)", _features(thumbnails)[0]), ("grey levels", _grey_features(thumbnails))):
        views_against_whole = np.einsum("avf,bf->abv", features, features[:, 0]).max(axis=2)
        score = np.maximum(views_against_whole, views_against_whole.T)[first, second]
        rows.append([label, f"{score[same].min():.3f}", f"{np.percentile(score[same], 1):.3f}", f"{score[harder].max():.3f}",
                     f"{score[~same & ~harder].max():.3f}", f"{int((score[~same] >= DEFAULT_THRESHOLD).sum())}"])
    return rows


# -- hashing speed ----------------------------------------------------------------------------


def speed_set(folder: Path, size: int, count: int) -> list[str]:
    """``count`` camera-sized JPEG files (quality 92) made from the photos."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    names = [name for name in data.PHOTOS]
    paths = []
    rng = np.random.default_rng(7)
    for number in range(count):
        name = names[number % len(names)]
        image = data._upscaled(data.source_photo(name), size, rng)
        if number >= len(names):  # other framings of the same photos, so files differ
            image = data._crop(image, 0.9, 0.9, rng.uniform(), rng.uniform())
        path = folder / f"{number:03d}_{name}.jpg"
        Image.fromarray(image).save(path, quality=92)
        paths.append(str(path))
    return paths


def _best(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def speed(paths: list[str], repeat: int) -> list[list[str]]:
    import imagehash
    from PIL import Image

    from imgdelta.dedupe import find_duplicates
    from imgdelta.dedupe.collection import imagehash_files
    from imgdelta.metrics._imagehash import HASH_FUNCTIONS

    def peer_phash() -> None:
        for path in paths:
            with Image.open(path) as image:
                imagehash.phash(image)

    def peer_all() -> list:
        rows = []
        for path in paths:
            with Image.open(path) as image:
                rows.append([str(imagehash.average_hash(image)), str(imagehash.dhash(image)), str(imagehash.phash(image)), str(imagehash.whash(image))])
        return rows

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    peer = _best(peer_phash, repeat)
    rows = []
    for jobs in (1, None):
        ours = _best(lambda: find_duplicates(paths, jobs=jobs), repeat)
        label = "one process" if jobs == 1 else f"{cores} processes"
        rows.append([f"dedupe: hash {len(paths)} JPEGs + search + verify, {label}", f"{1000 * ours / len(paths):.1f}", f"{1000 * peer / len(paths):.1f}", "imagehash.phash loop", f"{peer / ours:.1f}x"])
    peer = _best(peer_all, max(1, repeat - 1))
    expected = peer_all()
    for jobs in (1, None):
        got = []
        ours = _best(lambda: got.append(list(imagehash_files(paths, jobs=jobs))), max(1, repeat - 1))
        same = all([row[k] for k in HASH_FUNCTIONS] == theirs for row, theirs in zip(got[-1], expected))
        label = "one process" if jobs == 1 else f"{cores} processes"
        rows.append([f"imgdelta hash (bit-exact, 4 hashes), {label}", f"{1000 * ours / len(paths):.1f}", f"{1000 * peer / len(paths):.1f}", "imagehash loop, 4 hashes" + ("" if same else " (DIFFERENT)"), f"{peer / ours:.1f}x"])
    return rows


# -- grouping synthetic hashes ----------------------------------------------------------------


def synthetic(count: int, seed: int = 11) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(hashes, alternates, planted first, planted second): random hashes; each of an
    image's alternates is its hash with 1-12 bits flipped (a view's hash differs from the
    whole image's by a few bits); a tenth of the images are near copies (0-5 bits away) of
    an image that is not a copy."""
    from imgdelta.dedupe.signature import ALTERNATES

    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, np.iinfo(np.uint64).max, size=count, dtype=np.uint64, endpoint=True)
    order = rng.permutation(count)
    copies, originals = order[: count // 10], order[count // 10 :]
    sources = rng.choice(originals, size=copies.size)

    def flips(n: int, low: int, high: int) -> np.ndarray:
        """Masks of ``low`` to ``high`` random bits (fewer when a position is drawn twice)."""
        positions = rng.integers(0, 64, size=(n, high)).astype(np.uint64)
        amount = rng.integers(low, high + 1, size=n)
        masks = np.zeros(n, dtype=np.uint64)
        for j in range(high):
            chosen = j < amount
            masks[chosen] |= np.uint64(1) << positions[chosen, j]
        return masks

    hashes[copies] = hashes[sources] ^ flips(copies.size, 0, 5)
    alternates = np.stack([hashes ^ flips(count, 1, 12) for _ in range(ALTERNATES)], axis=1)
    return hashes, alternates, np.minimum(copies, sources), np.maximum(copies, sources)


#: The two layouts of the multi-index search (the first is what imgdelta does).
TABLE_ALTERNATES = "multi-index: hashes looked up in a table of hashes and alternates"
QUERY_ALTERNATES = "multi-index: hashes and alternates looked up in a table of hashes"


def _peak_mb() -> float:
    """Peak resident memory of this process in MB (Linux's VmHWM, which a new program starts
    afresh; ru_maxrss can carry the parent's over an exec)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _grouping_child(path: str, approach: str, radius: int) -> None:
    """Run in a fresh process: load the hashes, search and group, print JSON."""
    from imgdelta.dedupe.groups import connected_groups
    from imgdelta.dedupe.search import HashSet, _run_here, brute_force_pairs, merge_pairs, near_pairs, search_tasks

    stored = np.load(path)
    hashes, alternates = stored["hashes"], stored["alternates"]
    baseline = _peak_mb()
    start = time.perf_counter()
    images = HashSet(hashes, alternates)
    if approach == TABLE_ALTERNATES:
        pairs = near_pairs(images, radius=radius)
    elif approach == QUERY_ALTERNATES:
        # The same search with the roles swapped, run the same way (a thread per block).
        words, owners = images.entries()
        table_owners = np.arange(len(images), dtype=np.int32)
        parts = _run_here(search_tasks(words.size, radius), words, owners, images.hashes, table_owners, radius, True)
        pairs = merge_pairs(parts, symmetric=True)
    else:
        pairs = brute_force_pairs(images, radius=radius)
    groups = connected_groups(len(images), pairs.first, pairs.second)
    seconds = time.perf_counter() - start
    planted = set(zip(stored["first"].tolist(), stored["second"].tolist()))
    close = set(zip(pairs.first.tolist(), pairs.second.tolist()))
    print(json.dumps({"seconds": seconds, "pairs": len(pairs), "groups": len(groups), "planted": len(planted),
                      "planted_found": len(planted & close), "peak_mb": _peak_mb(), "inputs_mb": baseline}))


def grouping(folder: Path, count: int, small: int) -> list[list[str]]:
    runs = [(count, TABLE_ALTERNATES, 5), (count, QUERY_ALTERNATES, 5), (count // 5, TABLE_ALTERNATES, 5), (count // 5, TABLE_ALTERNATES, 6),
            (small, TABLE_ALTERNATES, 5), (small, "brute force XOR + popcount", 5)]
    rows = []
    for size, approach, radius in runs:
        path = folder / f"hashes_{size}.npz"
        if not path.exists():
            hashes, alternates, first, second = synthetic(size)
            np.savez(path, hashes=hashes, alternates=alternates, first=first, second=second)
        done = subprocess.run([sys.executable, __file__, "--grouping-child", str(path), approach, str(radius)], capture_output=True, text=True, check=True)
        result = json.loads(done.stdout)
        rows.append([f"{size:,}", approach, str(radius), f"{result['seconds']:.1f}", f"{result['peak_mb']:,.0f}", f"{result['inputs_mb']:,.0f}",
                     f"{result['pairs']:,}", f"{result['groups']:,}", f"{result['planted_found']:,} / {result['planted']:,}"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="640-pixel collection, fewer photos, 200,000 synthetic hashes")
    parser.add_argument("--only", choices=("accuracy", "speed", "grouping"), help="run one part of the benchmark")
    parser.add_argument("--speed-files", type=int, help="JPEG files the hashing speed is measured on (default 120; 24 with --quick)")
    parser.add_argument("--grouping-child", nargs=3, metavar=("NPZ", "APPROACH", "RADIUS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.grouping_child:
        _grouping_child(args.grouping_child[0], args.grouping_child[1], int(args.grouping_child[2]))
        return
    size = 640 if args.quick else 1600
    with tempfile.TemporaryDirectory(prefix="bench_dedupe_") as temp:
        folder = Path(temp)
        if args.only in (None, "accuracy"):
            found = accuracy(folder / "collection", size, args.quick, folder)
            print(f"Accuracy: {found['files']} files ({size}-pixel originals), {found['true_pairs']:,} true pairs, "
                  f"{found['hard_pairs']:,} hard-negative pairs (overlapping crops, quarters and their photo, texture quarters)")
            print(f"imgdelta hashed them in {found['hashing']:.1f} s (every core), found {found['candidates']:,} candidate pairs and confirmed "
                  f"{found['confirmed']:,}; imagehash.phash took {found['peer_hashing']:.1f} s (one process)")
            print(table(["method", "pairs", "precision", "recall", "hard negatives grouped"], found["methods"]))
            print()
            print("Recall of each kind of copy (the copy grouped with its original):")
            print(table(found["kinds"][0], found["kinds"][1:]))
            print()
            print("Which alternate hashes the search uses (radius 5, then verification):")
            print(table(["hashes looked up", "per image", "candidates", "precision", "recall"], found["alternates"]))
            print()
            print("Verification: the similarity of every pair of the collection, by what the 19 views compare:")
            print(table(["views compare", "same picture: lowest", "1st percentile", "hard negatives: highest", "others: highest", "negatives >= threshold"], found["verification"]))
            print()
        if args.only in (None, "speed"):
            side = 2000 if args.quick else 3000
            paths = speed_set(folder / "speed", side, args.speed_files or (24 if args.quick else 120))
            print(f"Hashing speed: {len(paths)} JPEG files, {side} pixels on the longer side (best of runs, ms per file)")
            print(table(["task", "imgdelta ms/file", "peer ms/file", "peer", "speed-up"], speed(paths, 2 if args.quick else 3)))
            print()
        if args.only in (None, "grouping"):
            count = 200_000 if args.quick else 1_000_000
            print("Grouping synthetic hashes (12 alternate hashes per image, a tenth planted as near copies 0-5 bits away), each in a fresh process:")
            print(table(["images", "search", "radius", "seconds", "peak MB", "MB after loading", "pairs", "groups", "planted pairs found"], grouping(folder, count, 10_000)))


if __name__ == "__main__":
    main()
