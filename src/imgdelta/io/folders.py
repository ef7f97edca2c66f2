"""Folders and globs of image files, in the order a person would number them."""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

from ..errors import InputError

__all__ = ["IMAGE_SUFFIXES", "list_images", "natural_key"]

#: File endings read as images; anything else in a folder is passed over.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".bmp", ".webp", ".gif"})

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """Sort key that orders ``frame2`` before ``frame10`` and ignores letter case."""
    parts = _DIGITS.split(name)
    return tuple((0, int(part), part) if part.isdigit() else (1, part.casefold(), part) for part in parts)


def list_images(source: str | os.PathLike) -> list[Path]:
    """Image files of a folder (top level only) or of a glob pattern, in natural order.

    Raises
    ------
    InputError
        The folder is missing, unreadable or holds no image; the pattern matches none.
    """
    text = str(source)
    path = Path(source)
    if glob.has_magic(text) and not path.exists():
        found = [Path(p) for p in glob.glob(text) if Path(p).suffix.lower() in IMAGE_SUFFIXES and Path(p).is_file()]
        if not found:
            raise InputError(f"{text}: the pattern matches no image file")
        return sorted(found, key=lambda p: natural_key(str(p)))
    if not path.exists():
        raise InputError(f"{text}: no such folder")
    if not path.is_dir():
        raise InputError(f"{text}: not a folder")
    try:
        entries = list(os.scandir(path))
    except PermissionError:
        raise InputError(f"{text}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{text}: cannot list the folder ({exc.strerror or exc})") from None
    found = [Path(e.path) for e in entries if Path(e.name).suffix.lower() in IMAGE_SUFFIXES and e.is_file()]
    if not found:
        raise InputError(f"{text}: the folder holds no image file ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return sorted(found, key=lambda p: natural_key(p.name))
