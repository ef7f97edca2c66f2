"""The SQLite index: round trip, keys, versions, read-only use and bad files."""

from __future__ import annotations

import os
import sqlite3

import numpy as np
import pytest

from imgdelta.dedupe.collection import FileEntry, FileHash, hash_file
from imgdelta.dedupe.index import INDEX_NAME, HashIndex
from imgdelta.dedupe.signature import ALTERNATES
from imgdelta.errors import InputError, StorageError


def entry_of(path) -> FileEntry:
    status = os.stat(path)
    return FileEntry(str(path), os.path.abspath(path), status.st_size, status.st_mtime_ns)


def test_rows_round_trip_and_keys_are_relative_inside(collection, tmp_path):
    folder, items = collection
    paths = [item.path for item in items[:5]]
    with HashIndex.open(tmp_path / INDEX_NAME) as store:
        for path in paths:
            store.add(entry_of(path), hash_file(path))
        store.add(FileEntry("x.jpg", str(tmp_path / "x.jpg"), 3, 7), FileHash(str(tmp_path / "x.jpg"), error="empty file"))
    with HashIndex.open(tmp_path / INDEX_NAME, read_only=True) as store:
        states = store.states()
        assert states["x.jpg"] == (3, 7, "empty file")  # inside the index's folder: relative
        keys = [store.key(os.path.abspath(p)) for p in paths]
        assert all(os.path.isabs(k) for k in keys)  # outside: absolute
        stored = store.images(keys)
        thumbs = store.thumbnails(keys)
    for i, path in enumerate(paths):
        expected = hash_file(path)
        assert int(stored.hashes[i]) == expected.signature.hash
        assert np.array_equal(stored.alternates[i], expected.signature.alternates)
        assert np.array_equal(thumbs[i], expected.signature.thumbnail)
        assert (stored.widths[i], stored.heights[i]) == (expected.width, expected.height)
        assert stored.sharpness[i] == pytest.approx(expected.signature.sharpness)
    assert stored.alternates.shape == (5, ALTERNATES)


def test_a_committed_row_survives_without_close(collection, tmp_path):
    _, items = collection
    store = HashIndex.open(tmp_path / "i.sqlite")
    store.add(entry_of(items[0].path), hash_file(items[0].path))
    store.commit()
    with HashIndex.open(tmp_path / "i.sqlite", read_only=True) as reader:
        assert len(reader) == 1
    store.close()


def test_another_signature_version_is_dropped_when_writing_and_refused_when_reading(collection, tmp_path):
    _, items = collection
    path = tmp_path / "i.sqlite"
    with HashIndex.open(path) as store:
        store.add(entry_of(items[0].path), hash_file(items[0].path))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = 'older' WHERE key = 'signature'")
    with pytest.raises(InputError, match=r"hashes are of another version \(older\)"):
        HashIndex.open(path, read_only=True)
    with HashIndex.open(path) as store:
        assert store.rebuilt and len(store) == 0


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "i.sqlite"
    HashIndex.open(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(InputError, match="newer imgdelta"):
        HashIndex.open(path)


def test_files_that_are_not_indexes(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("hello, this is not a database at all" * 20)
    with pytest.raises(InputError, match="not an imgdelta index"):
        HashIndex.open(text, read_only=True)
    with pytest.raises(InputError, match="not an imgdelta index"):
        HashIndex.open(text)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(InputError, match="not an imgdelta index"):
        HashIndex.open(other, read_only=True)
    with pytest.raises(InputError, match="no such index file"):
        HashIndex.open(tmp_path / "missing.sqlite", read_only=True)
    with pytest.raises(StorageError, match="no such folder"):
        HashIndex.open(tmp_path / "missing" / "i.sqlite")
    with pytest.raises(StorageError, match="it is a folder"):
        HashIndex.open(tmp_path)


def test_forget_missing_only_under_the_walked_folders(tmp_path):
    store = HashIndex.open(tmp_path / INDEX_NAME)
    for name in ("a/1.jpg", "a/2.jpg", "b/3.jpg"):
        location = str(tmp_path / name)
        store.add(FileEntry(name, location, 1, 1), FileHash(location, error="x"))
    store.commit()
    removed = store.forget_missing([str(tmp_path / "a")], {store.key(str(tmp_path / "a/1.jpg"))})
    assert removed == 1 and sorted(store.states()) == [os.path.join("a", "1.jpg"), os.path.join("b", "3.jpg")]
    store.close()
