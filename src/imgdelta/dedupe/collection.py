"""A collection of image files: finding them in folders, and hashing them on every core.

Walking follows the input rules of the other commands (:data:`imgdelta.io.IMAGE_SUFFIXES`,
any letter case), recursively, in natural order, and leaves out what is not a photo of the
collection: hidden files and folders (names starting with a dot: caches, ``._`` files that
macOS leaves on shared drives, the index itself), symbolic links (a link is not a second
copy, and links to folders can loop), and folders the caller excludes (where duplicates are
moved to). A file named on the command line is taken whatever its name.

Hashing decodes each file once, at reduced scale when it is a JPEG (1/2 to 1/8, the smallest
whose longer side is still 128 pixels or more), as luminance, with the EXIF orientation
applied, and computes its :class:`~imgdelta.dedupe.signature.Signature`. A file that cannot
be read gives an error message instead, never an exception.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Sequence

from ..errors import ImgDeltaError, InputError
from ..io.folders import IMAGE_SUFFIXES, natural_key
from ..io.images import DEFAULT_MAX_PIXELS, load_image
from .parallel import default_jobs, map_chunks
from .signature import WORK_SIDE, Signature, signature

__all__ = [
    "FileEntry",
    "FileHash",
    "hash_chunk",
    "hash_file",
    "imagehash_files",
    "walk",
]

#: EXIF tags of the time a photo was taken: DateTimeOriginal, DateTimeDigitized (Exif IFD),
#: DateTime (the main IFD, when the file was last changed by the camera or an editor).
_EXIF_IFD = 0x8769
_TAKEN_TAGS = (0x9003, 0x9004)
_DATETIME = 0x0132
_ORIENTATION = 0x0112


@dataclass(frozen=True)
class FileEntry:
    """An image file found by :func:`walk`."""

    path: str
    """As shown to people: the folder as given, joined with the path below it."""
    location: str
    """Absolute path."""
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class FileHash:
    """What hashing one file gave: a signature and the picture's facts, or an error."""

    location: str
    width: int = 0
    """Of the picture as shown (EXIF orientation applied), in pixels."""
    height: int = 0
    taken: float | None = None
    """EXIF date taken, as seconds since 1970 of the camera's clock read as UTC."""
    signature: Signature | None = None
    error: str | None = None
    """Why the file could not be hashed (without its path), or None."""


def walk(roots: Sequence[str | os.PathLike], *, exclude: Sequence[str | os.PathLike] = ()) -> tuple[list[FileEntry], list[tuple[str, str]]]:
    """The image files under ``roots``, and the places that could not be read.

    Parameters
    ----------
    roots : sequence of paths
        Folders (walked recursively) and files (taken as they are).
    exclude : sequence of paths
        Folders to leave out, with everything below them.

    Returns
    -------
    (files, problems)
        ``files`` in natural order of their paths, each file once however many roots lead
        to it; ``problems`` as (path, message) for folders and files that could not be
        listed or examined.

    Raises
    ------
    InputError
        A root does not exist.
    """
    excluded = {os.path.abspath(p) for p in exclude}
    found: dict[str, FileEntry] = {}
    problems: list[tuple[str, str]] = []
    for root in roots:
        text = os.fspath(root)
        if not os.path.lexists(text):
            raise InputError(f"{text}: no such file or folder")
        if os.path.isdir(text):
            for entry in _walk_folder(text, excluded, problems):
                found.setdefault(entry.location, entry)
        else:
            try:
                status = os.stat(text)
            except OSError as exc:
                problems.append((text, f"cannot examine ({exc.strerror or exc})"))
                continue
            location = os.path.abspath(text)
            found.setdefault(location, FileEntry(text, location, status.st_size, status.st_mtime_ns))
    files = sorted(found.values(), key=lambda entry: natural_key(entry.path))
    return files, problems


def _walk_folder(root: str, excluded: set[str], problems: list[tuple[str, str]]) -> Iterator[FileEntry]:
    stack = [root]
    while stack:
        folder = stack.pop()
        if os.path.abspath(folder) in excluded:
            continue
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: natural_key(e.name))
        except OSError as exc:
            problems.append((folder, f"cannot list the folder ({exc.strerror or exc})"))
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = os.path.join(folder, entry.name)
            try:
                if entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append(path)
                    continue
                if not entry.is_file(follow_symlinks=False) or Path(entry.name).suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                status = entry.stat(follow_symlinks=False)
            except OSError as exc:
                problems.append((path, f"cannot examine ({exc.strerror or exc})"))
                continue
            yield FileEntry(path, os.path.abspath(path), status.st_size, status.st_mtime_ns)
        stack.extend(reversed(subfolders))


def _exif_date(text: object) -> float | None:
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.strptime(text.strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc).timestamp()


def _facts(data: bytes) -> tuple[int, int, float | None]:
    """(width, height) as shown and the EXIF date taken, from the file's header."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # damaged metadata: the pixels decoded, the facts are best effort
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            try:
                exif = image.getexif()
                orientation = exif.get(_ORIENTATION, 1)
                details = exif.get_ifd(_EXIF_IFD)
                taken = next((t for t in (_exif_date(details.get(tag)) for tag in _TAKEN_TAGS) if t is not None), None)
                if taken is None:
                    taken = _exif_date(exif.get(_DATETIME))
            except Exception:  # a broken EXIF block must not lose the file
                orientation, taken = 1, None
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return width, height, taken


def hash_file(location: str, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> FileHash:
    """Decode and hash one file; an unreadable file gives a :class:`FileHash` with ``error``
    (what is wrong, without the path)."""
    try:
        try:
            data = Path(location).read_bytes()
        except OSError as exc:
            raise InputError(f"{location}: cannot read ({exc.strerror or exc})") from None
        if not data:
            raise InputError(f"{location}: empty file")
        loaded = load_image(data, name=location, draft_size=WORK_SIDE, gray=True, max_pixels=max_pixels)
        width, height, taken = _facts(data)
        return FileHash(location, width, height, taken, signature(loaded.pixels))
    except ImgDeltaError as exc:
        return FileHash(location, error=str(exc).removeprefix(f"{location}: "))
    except MemoryError:
        return FileHash(location, error="out of memory while decoding")
    except Exception as exc:  # a file must never end the run: say what happened and go on
        return FileHash(location, error=f"cannot hash ({type(exc).__name__}: {exc})"[:300])


def hash_chunk(locations: Sequence[str], max_pixels: int | None = DEFAULT_MAX_PIXELS) -> list[FileHash]:
    """:func:`hash_file` of each location: the unit of work of a process or a Dask task."""
    return [hash_file(location, max_pixels=max_pixels) for location in locations]


def chunked(items: Sequence, jobs: int, *, most: int = 32) -> list[Sequence]:
    """Cut ``items`` into chunks small enough for every worker to get several, at most ``most`` long."""
    size = max(1, min(most, len(items) // max(1, 4 * jobs)))
    return [items[i : i + size] for i in range(0, len(items), size)]


# -- imagehash-compatible hashes of many files ------------------------------------------------


def _imagehash_row(path: str, max_pixels: int | None) -> dict | str:
    from ..io.images import open_image_file
    from ..metrics._imagehash import HASH_FUNCTIONS

    try:
        image = open_image_file(path, max_pixels=max_pixels)
        # Converting once is what each function would do first; on an 'L' image their own
        # convert('L') is a copy, so the bits stay those of imagehash.
        luma = image.convert("L")
        return {"path": path, **{kind: str(fn(luma)) for kind, fn in HASH_FUNCTIONS.items()}}
    except ImgDeltaError as exc:
        return str(exc)


def _imagehash_chunk(jobs: Sequence[tuple[int, str, int | None]]) -> list[dict | str]:
    return [_imagehash_row(path, max_pixels) for _, path, max_pixels in jobs]


def _worker_died(job: tuple[int, str, int | None]) -> str:
    return f"{job[1]}: the decoder's process died on this file"


def imagehash_files(paths: Sequence[str], *, jobs: int | None = None, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Iterator[dict | str]:
    """aHash, dHash, pHash and wHash of each file, bit-identical to ``imagehash``, in order.

    Yields, for each path in turn, ``{"path": ..., "ahash": hex, "dhash": ..., "phash": ...,
    "whash": ...}`` or the one-line message of why the file cannot be read. Files are hashed
    by ``jobs`` processes (default: every core) when there are more than a few.
    """
    jobs = default_jobs() if jobs is None else max(1, jobs)
    if jobs == 1 or len(paths) < 4:
        for path in paths:
            yield _imagehash_row(path, max_pixels)
        return
    work = [(number, path, max_pixels) for number, path in enumerate(paths)]
    rows: dict[int, dict | str] = {}
    following = 0
    # Chunks finish in any order; rows are handed out in the order of the paths. Closing this
    # generator closes the pool's at once, and its workers end with it.
    with contextlib.closing(map_chunks(_imagehash_chunk, chunked(work, jobs, most=8), jobs=jobs, on_crash=_worker_died)) as chunks:
        for chunk, results in chunks:
            for (number, _, _), row in zip(chunk, results):
                rows[number] = row
            while following in rows:
                yield rows.pop(following)
                following += 1
