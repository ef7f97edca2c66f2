"""``find_duplicates``: walk, hash what the index does not know, search, verify, group."""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, OptionError
from ..io.images import DEFAULT_MAX_PIXELS
from ..io.folders import IMAGE_SUFFIXES, natural_key
from .collection import FileEntry, FileHash, chunked, hash_chunk, hash_file, walk
from .defaults import DEFAULT_RADIUS, DEFAULT_THRESHOLD, INDEX_NAME, KEEP_POLICIES
from .groups import Candidate, choose_keeper, connected_groups
from .index import HashIndex, StoredImages
from .parallel import default_jobs, map_chunks
from .search import HashSet, Pairs, near_pairs
from .signature import THUMB_SIDE
from .verify import pair_similarity

__all__ = ["DuplicateGroup", "DuplicateReport", "ImageRecord", "default_index_path", "find_duplicates"]

#: Fewer files than this are hashed in this process: starting workers would cost more.
_POOL_FROM = 8

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImageRecord:
    """One image file of a report."""

    path: str
    """As found (the folder as given, joined with the path below it), or, for files of an
    indexed collection (``against``), the index's folder joined with the stored path."""
    location: str
    """Absolute path."""
    size: int
    """Bytes."""
    mtime_ns: int
    width: int
    """Of the picture as shown (EXIF orientation applied)."""
    height: int
    taken: float | None
    """EXIF date taken (seconds since 1970, camera clock read as UTC), or None."""
    sharpness: float
    existing: bool = False
    """Part of the indexed collection given as ``against`` (never moved or deleted)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size": self.size,
            "width": self.width,
            "height": self.height,
            "taken": self.taken,
            "modified": self.mtime_ns / 1e9,
            "sharpness": self.sharpness,
            "existing": self.existing,
        }


@dataclass(frozen=True)
class DuplicateGroup:
    """Files that show the same picture; the first is the one to keep.

    With ``against``, the files of the indexed collection come first, in path order, and are
    all kept; the new files follow.
    """

    files: tuple[ImageRecord, ...]
    similarity: tuple[float, ...]
    """Of each file to the file it matches (``matches``), as
    :func:`~imgdelta.dedupe.verify.similarity`; 1 for a kept file."""
    reason: str
    """Why the first file is kept."""
    matches: tuple[int, ...]
    """For each file, the position in ``files`` of the file its similarity is to: the kept
    one, or with ``against`` the indexed file most like it; a kept file's own position."""

    @property
    def keeper(self) -> ImageRecord:
        return self.files[0]

    @property
    def kept(self) -> tuple[ImageRecord, ...]:
        """The files no action touches: the kept one and every file of an indexed collection."""
        return tuple(f for i, f in enumerate(self.files) if i == 0 or f.existing)

    @property
    def duplicates(self) -> tuple[ImageRecord, ...]:
        """The files an action would move or delete: all but the kept one, never an existing one."""
        return tuple(f for f in self.files[1:] if not f.existing)

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]

    def to_dict(self) -> dict[str, Any]:
        return {
            "keep": self.keeper.path,
            "reason": self.reason,
            "files": [
                dict(f.to_dict(), similarity=round(s, 4), similar_to=self.files[m].path)
                for f, s, m in zip(self.files, self.similarity, self.matches)
            ],
        }


@dataclass(frozen=True)
class DuplicateReport:
    """What :func:`find_duplicates` found."""

    groups: tuple[DuplicateGroup, ...]
    """The groups, each with the file to keep first, ordered by their first path."""
    unreadable: tuple[tuple[str, str], ...]
    """(path, what is wrong) of every file or folder that could not be read."""
    files: int
    """Image files found (readable or not)."""
    readable: int
    """Of which could be read."""
    hashed: int
    """Files decoded and hashed in this run (unreadable ones left out)."""
    reused: int
    """Readable files whose hashes came from the index unchanged."""
    candidates: int
    """Pairs within the Hamming radius."""
    confirmed: int
    """Candidate pairs the thumbnails confirmed."""
    radius: int
    threshold: float
    keep: str
    index: str | None
    """The index file used, or None when nothing was kept."""
    against: str | None
    seconds: float
    rebuilt: bool = False
    """The index held hashes of another version and was emptied first."""
    against_missing: bool = False
    """None of the indexed collection's files looked at (those in groups, else the first
    few) exists where the index places them: the collection is offline, or the index was
    copied or moved without it."""

    @property
    def exit_code(self) -> int:
        """0 no duplicates, 1 duplicates found, 2 no file could be read."""
        if self.files and not self.readable:
            return 2
        return 1 if self.groups else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "groups": [group.paths for group in self.groups],
            "details": [group.to_dict() for group in self.groups],
            "unreadable": [{"path": path, "error": error} for path, error in self.unreadable],
            "files": self.files,
            "hashed": self.hashed,
            "reused": self.reused,
            "candidates": self.candidates,
            "confirmed": self.confirmed,
            "radius": self.radius,
            "threshold": self.threshold,
            "keep": self.keep,
            "index": self.index,
            "against": self.against,
            "against_missing": self.against_missing,
            "seconds": round(self.seconds, 3),
        }


def default_index_path(roots: Sequence[str | os.PathLike]) -> Path | None:
    """Where the command keeps the index: ``DIR/.imgdelta-index.sqlite`` for one folder,
    None (the caller must choose) otherwise."""
    if len(roots) == 1 and os.path.isdir(roots[0]):
        return Path(roots[0]) / INDEX_NAME
    return None


def _check_options(radius: int, threshold: float, keep: str) -> None:
    from .search import _check_radius

    _check_radius(radius)
    if not isinstance(threshold, (int, float)) or not -1.0 <= float(threshold) <= 1.0 or math.isnan(threshold):
        raise OptionError(f"threshold {threshold!r} must be a similarity from -1 to 1 (default {DEFAULT_THRESHOLD})")
    if keep not in KEEP_POLICIES:
        raise OptionError(f"keep {keep!r}: use one of {', '.join(KEEP_POLICIES)}")


def find_duplicates(
    roots: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    index: str | os.PathLike | None = None,
    against: str | os.PathLike | None = None,
    radius: int = DEFAULT_RADIUS,
    threshold: float = DEFAULT_THRESHOLD,
    keep: str = "largest",
    jobs: int | None = None,
    dask: Any = None,
    exclude: Sequence[str | os.PathLike] = (),
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    progress: Progress | None = None,
) -> DuplicateReport:
    """Find the files under ``roots`` that show the same picture.

    Parameters
    ----------
    roots : path or sequence of paths
        Folders (searched recursively; hidden files and folders and symbolic links are left
        out) and image files.
    index : path, optional
        SQLite index file to read and update (created when missing): files whose size and
        modification time it knows are not decoded again. None keeps nothing.
    against : path, optional
        An index of another collection: report the files under ``roots`` that show a picture
        already in it (each group then holds existing files, all kept, and new ones). Only
        the index is read, and nothing is written beside it, so the collection itself may be
        offline or read-only.
    radius : int
        Hamming radius of the hash search, in bits (0..16).
    threshold : float
        Least thumbnail similarity (-1..1) for a candidate pair to be the same picture.
    keep : {"largest", "oldest", "sharpest"}
        Which file of a group is kept (listed first). With ``against`` every file of the
        indexed collection is kept and the policy has no say.
    jobs : int, optional
        Processes that hash (default: every core).
    dask : str or dask.distributed.Client, optional
        Hash and search on this Dask cluster (a scheduler address or a Client) instead.
    exclude : sequence of paths
        Folders to leave out of the walk (where duplicates are moved to).
    max_pixels : int or None
        Files declaring more pixels are unreadable (decompression-bomb guard).
    progress : callable, optional
        ``progress(done, total)`` as files are hashed.

    Raises
    ------
    InputError
        A root is missing, or the roots hold no image file; ``against`` is not a usable index.
    OptionError
        An option out of range; ``dask`` unusable.
    StorageError
        The index cannot be written.
    """
    started = time.monotonic()
    _check_options(radius, threshold, keep)
    roots = [roots] if isinstance(roots, (str, os.PathLike)) else list(roots)
    if not roots:
        raise OptionError("give at least one folder or image file")
    files, problems = walk(roots, exclude=exclude)
    if not files and not problems:
        raise InputError(f"{', '.join(map(os.fspath, roots))}: no image file (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    with contextlib.ExitStack() as cleanup:
        other = cleanup.enter_context(HashIndex.open(against, read_only=True)) if against is not None else None
        client = None
        if dask is not None:
            from .distributed import connect

            client, owned = connect(dask)
            if owned:
                cleanup.callback(client.close)
        store = cleanup.enter_context(HashIndex.open(index) if index is not None else HashIndex.memory())
        if other is not None and store.path is not None and store.path.resolve() == other.path.resolve():
            raise OptionError(f"against {against}: that is the index of these files; give the other collection's index")
        hashed, errors = _update(store, files, roots, jobs=jobs, client=client, max_pixels=max_pixels, progress=progress)
        unreadable = sorted(problems + [(entry.path, errors[entry.location]) for entry in files if entry.location in errors], key=lambda item: natural_key(item[0]))
        readable = [entry for entry in files if entry.location not in errors]
        stored = store.images([store.key(entry.location) for entry in readable])
        records = _records([(entry.path, entry.location) for entry in readable], stored)
        runner = None
        if client is not None:
            from .distributed import search_runner

            runner = search_runner(client)
        missing = False
        if other is None:
            groups, candidates, confirmed = _group_within(store, stored, records, radius, threshold, keep, runner)
        else:
            groups, candidates, confirmed, missing = _group_against(store, stored, records, other, Path(against), radius, threshold, runner)
        return DuplicateReport(
            groups=tuple(groups),
            unreadable=tuple(unreadable),
            files=len(files),
            readable=len(readable),
            hashed=hashed,
            reused=len(readable) - hashed,
            candidates=candidates,
            confirmed=confirmed,
            radius=radius,
            threshold=float(threshold),
            keep=keep,
            index=os.fspath(store.path) if store.path is not None else None,
            against=os.fspath(against) if against is not None else None,
            seconds=time.monotonic() - started,
            rebuilt=store.rebuilt,
            against_missing=missing,
        )


def _update(store: HashIndex, files: list[FileEntry], roots: Sequence[str | os.PathLike], *, jobs: int | None, client: Any,
            max_pixels: int | None, progress: Progress | None) -> tuple[int, dict[str, str]]:
    """Hash the files the index does not know, committing as chunks finish, and forget the
    rows of files under ``roots`` that are gone. Returns (files hashed in this run that could
    be read, location -> error of the unreadable ones, this run's or remembered)."""
    states = store.states()
    todo: list[FileEntry] = []
    errors: dict[str, str] = {}
    for entry in files:
        state = states.get(store.key(entry.location))
        if state is not None and state[0] == entry.size and state[1] == entry.mtime_ns:
            if state[2] is not None:
                errors[entry.location] = state[2]
            continue
        todo.append(entry)
    by_location = {entry.location: entry for entry in todo}
    done = hashed = 0
    if progress is not None:
        progress(0, len(todo))
    # closed at once when stopped (Ctrl-C, SIGTERM): the pool's workers end with it
    with contextlib.closing(_hash(todo, jobs=jobs, client=client, max_pixels=max_pixels)) as chunks:
        for chunk, results in chunks:
            for location, result in zip(chunk, results):
                store.add(by_location[location], result)
                if result.error is not None:
                    errors[location] = result.error
                else:
                    hashed += 1
            store.commit()
            done += len(chunk)
            if progress is not None:
                progress(done, len(todo))
    if store.path is not None:
        folders = [os.path.abspath(root) for root in roots if os.path.isdir(root)]
        store.forget_missing(folders, {store.key(entry.location) for entry in files})
    return hashed, errors


def _crashed(location: str) -> FileHash:
    return FileHash(location, error="the decoder's process died on this file")


def _hash(todo: list[FileEntry], *, jobs: int | None, client: Any, max_pixels: int | None):
    """(chunk of locations, their FileHash) as they are computed, here, in processes or on Dask."""
    locations = [entry.location for entry in todo]
    if not locations:
        return
    if client is not None:
        from .distributed import hash_on_cluster

        workers = max(1, sum(client.nthreads().values()))
        yield from hash_on_cluster(client, chunked(locations, workers, most=32), max_pixels)
        return
    jobs = default_jobs() if jobs is None else max(1, jobs)
    if jobs == 1 or len(locations) < _POOL_FROM:
        for chunk in chunked(locations, 1, most=16):
            yield chunk, hash_chunk(chunk, max_pixels)
        return
    work = [(location, max_pixels) for location in locations]
    with contextlib.closing(map_chunks(_hash_jobs, chunked(work, jobs), jobs=jobs, on_crash=lambda job: _crashed(job[0]))) as chunks:
        for chunk, results in chunks:
            yield [location for location, _ in chunk], results


def _hash_jobs(jobs: Sequence[tuple[str, int | None]]) -> list[FileHash]:
    return [hash_file(location, max_pixels=max_pixels) for location, max_pixels in jobs]


def _records(places: list[tuple[str, str]], stored: StoredImages, *, existing: bool = False) -> list[ImageRecord]:
    """The records of ``stored``'s images, the i-th at ``places[i]`` (path, location)."""
    return [
        ImageRecord(
            path=path,
            location=location,
            size=int(stored.sizes[i]),
            mtime_ns=int(stored.mtimes[i]),
            width=int(stored.widths[i]),
            height=int(stored.heights[i]),
            taken=None if math.isnan(stored.taken[i]) else float(stored.taken[i]),
            sharpness=float(stored.sharpness[i]),
            existing=existing,
        )
        for i, (path, location) in enumerate(places)
    ]


def _thumbnails(sources: list[tuple[HashIndex, list[str]]], nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Thumbnails of the graph nodes ``nodes`` (indices into the concatenated key lists):
    (stack, position of each node in it)."""
    unique = np.unique(nodes)
    stacks = []
    offset = 0
    for store, keys in sources:
        mine = unique[(unique >= offset) & (unique < offset + len(keys))] - offset
        if mine.size:
            stacks.append(store.thumbnails([keys[i] for i in mine]))
        offset += len(keys)
    stack = np.concatenate(stacks) if stacks else np.zeros((0, THUMB_SIDE, THUMB_SIDE), np.uint8)
    return stack, np.searchsorted(unique, nodes)


def _verified(pairs_first: np.ndarray, pairs_second: np.ndarray, sources, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    if pairs_first.size == 0:
        return pairs_first, pairs_second
    stack, where = _thumbnails(sources, np.concatenate([pairs_first, pairs_second]))
    count = pairs_first.size
    score = pair_similarity(stack, where[:count], stack, where[count:])
    keep = score >= threshold
    return pairs_first[keep], pairs_second[keep]


def _make_group(members: list[int], records: list[ImageRecord], sources, keep: str) -> DuplicateGroup:
    """The group of ``members``: the one ``keep`` chooses first, then the others by path."""
    candidates = [Candidate(r.path, r.width, r.height, r.size, r.mtime_ns, r.taken, r.sharpness) for r in (records[m] for m in members)]
    best, reason = choose_keeper(candidates, keep)
    rest = sorted((m for i, m in enumerate(members) if i != best), key=lambda m: natural_key(records[m].path))
    nodes = np.array([members[best], *rest], dtype=np.int64)
    stack, where = _thumbnails(sources, nodes)
    scores = pair_similarity(stack, np.full(len(nodes) - 1, where[0]), stack, where[1:])
    return DuplicateGroup(
        files=tuple(records[m] for m in nodes),
        similarity=(1.0, *(float(s) for s in scores)),
        reason=reason,
        matches=(0,) * len(nodes),
    )


#: Why the files of an indexed collection are kept.
_IN_COLLECTION = "in the indexed collection: kept, never touched"
#: Files of an indexed collection whose existence is checked (the collection may be offline).
_LOOK_FOR = 32


def _collection_group(members: list[int], records: list[ImageRecord], sources) -> DuplicateGroup:
    """A group of files of an indexed collection (kept, first) and new files, each new file
    with the collection's file most like it."""
    old = sorted((m for m in members if records[m].existing), key=lambda m: natural_key(records[m].path))
    new = sorted((m for m in members if not records[m].existing), key=lambda m: natural_key(records[m].path))
    nodes = np.array(old + new, dtype=np.int64)
    stack, where = _thumbnails(sources, nodes)
    # new first, as verification compared them: a confirmed pair shows the score it passed with
    scores = pair_similarity(stack, np.repeat(where[len(old):], len(old)), stack, np.tile(where[: len(old)], len(new)))
    scores = scores.reshape(len(new), len(old))
    nearest = scores.argmax(axis=1)
    return DuplicateGroup(
        files=tuple(records[m] for m in nodes),
        similarity=(1.0,) * len(old) + tuple(float(scores[i, j]) for i, j in enumerate(nearest)),
        reason=_IN_COLLECTION,
        matches=tuple(range(len(old))) + tuple(int(j) for j in nearest),
    )


def _group_within(store, stored, records, radius, threshold, keep, runner):
    pairs: Pairs = near_pairs(HashSet(stored.hashes, stored.alternates), radius=radius, runner=runner)
    sources = [(store, stored.keys)]
    first, second = _verified(pairs.first, pairs.second, sources, threshold)
    groups = [_make_group(members, records, sources, keep) for members in connected_groups(len(records), first, second)]
    groups.sort(key=lambda g: natural_key(min((f.path for f in g.files), key=natural_key)))
    return groups, len(pairs), int(first.size)


def _group_against(store, stored, records, other: HashIndex, against: Path, radius, threshold, runner):
    """Groups of new files with the indexed collection's files they show, and whether that
    collection seems absent (none of the files looked at exists)."""
    old = other.images()
    folder = against.parent
    places = [(key if os.path.isabs(key) else os.path.join(os.fspath(folder), key), other.location(key)) for key in old.keys]
    old_records = _records(places, old, existing=True)
    pairs = near_pairs(HashSet(stored.hashes, stored.alternates), HashSet(old.hashes, old.alternates), radius=radius, runner=runner)
    count = len(records)
    sources = [(store, stored.keys), (other, old.keys)]
    first, second = _verified(pairs.first, pairs.second + count, sources, threshold)
    everyone = records + old_records
    groups = [_collection_group(members, everyone, sources) for members in connected_groups(len(everyone), first, second)]
    groups.sort(key=lambda g: natural_key(min((f.path for f in g.files if not f.existing), key=natural_key)))
    shown = [f.location for g in groups for f in g.files if f.existing] or [r.location for r in old_records]
    looked_at = list(dict.fromkeys(shown))[:_LOOK_FOR]
    missing = bool(looked_at) and not any(os.path.exists(location) for location in looked_at)
    return groups, len(pairs), int(first.size), missing
