"""A small photo collection with known duplicates, made once per session (benchmarks/dedupe_data.py)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import dedupe_data  # noqa: E402

#: Longer side of the originals: small, so the whole collection hashes in a fraction of a second.
SIZE = 192
PHOTOS = ("astronaut", "coffee", "camera", "chelsea", "rocket")


@pytest.fixture(scope="session")
def collection(tmp_path_factory) -> tuple[Path, list]:
    """(folder, items): five photos with their nine copies each, two overlapping crops of
    three photos, and the quarters of two textures: 64 files."""
    folder = tmp_path_factory.mktemp("collection")
    items = dedupe_data.make_collection(
        folder, size=SIZE, photos=PHOTOS, quartered=(), textures=("grass", "gravel"), overlapped=("astronaut", "coffee", "rocket")
    )
    (folder / "truth.json").unlink()
    return folder, items


@pytest.fixture
def copy_of(collection, tmp_path) -> tuple[Path, list]:
    """A copy of the collection that a test may change, with its items renamed to match."""
    source, items = collection
    folder = tmp_path / "photos"
    shutil.copytree(source, folder)
    moved = [dedupe_data.Item(str(folder / Path(item.path).name), item.picture, item.kind) for item in items]
    return folder, moved


def truth_groups(items) -> set[frozenset[str]]:
    """The groups a perfect run finds: the names of the files of each picture with copies."""
    by_picture: dict[str, set[str]] = {}
    for item in items:
        by_picture.setdefault(item.picture, set()).add(Path(item.path).name)
    return {frozenset(names) for names in by_picture.values() if len(names) > 1}


def found_groups(groups) -> set[frozenset[str]]:
    return {frozenset(Path(path).name for path in group) for group in groups}
