"""The index: one SQLite file that remembers every file's hashes, so that a second run decodes
only what is new or changed.

A row per file, keyed by its path, holding the size and modification time (nanoseconds) it
had when hashed, the picture's width, height and EXIF date, its sharpness, its hash and
alternate hashes and its 32x32 thumbnail (what verification compares: an unchanged file is
never decoded again), or the message of why it could not be read (an unreadable file is not tried
again until it changes). A file whose size or modification time differs from its row's is
hashed again.

Paths inside the index's folder are stored relative to it, so a collection can be moved or
mounted elsewhere with its index; others are stored absolute.

Writing: rows are buffered and written by :meth:`HashIndex.commit` in one transaction; the
journal is WAL with ``synchronous=NORMAL``, so a commit costs no fsync and a process killed
at any moment (``kill -9`` included) leaves every committed row and a consistent file. The
``meta`` table records the schema and the signature version (:data:`SIGNATURE_VERSION`);
rows made by another signature version are dropped when the index is opened for writing.

Reading only (another collection's index, ``against``) writes nothing, even in a folder that
cannot be written: the file is then opened as immutable.

Tables
------
``meta``    ``key`` -> ``value``: ``schema_version``, ``signature``.
``images``  ``path`` (primary key), ``size``, ``mtime_ns``, ``width``, ``height``, ``taken``
            (EXIF date, seconds, or NULL), ``sharpness``, ``hash`` (the unsigned 64-bit hash
            stored as a signed integer), ``alternates`` (big-endian uint64 each), ``thumbnail``
            (THUMB_SIDE x THUMB_SIDE bytes), ``error`` (NULL when hashed), ``indexed`` (Unix
            time of hashing).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, StorageError
from .collection import FileEntry, FileHash
from .defaults import INDEX_NAME
from .signature import ALTERNATES, SIGNATURE_VERSION, THUMB_SIDE

__all__ = ["INDEX_NAME", "SCHEMA_VERSION", "HashIndex", "StoredImages"]

#: Version of the tables; an index with a higher one is refused.
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    width INTEGER NOT NULL DEFAULT 0,
    height INTEGER NOT NULL DEFAULT 0,
    taken REAL,
    sharpness REAL,
    hash INTEGER,
    alternates BLOB,
    thumbnail BLOB,
    error TEXT,
    indexed REAL NOT NULL
);
"""
_BATCH = 500


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


@dataclass(frozen=True)
class StoredImages:
    """The hashed rows of some files, as arrays (row ``i`` is ``keys[i]``)."""

    keys: list[str]
    sizes: np.ndarray
    mtimes: np.ndarray
    widths: np.ndarray
    heights: np.ndarray
    taken: np.ndarray
    """float64, NaN when unknown."""
    sharpness: np.ndarray
    hashes: np.ndarray
    """uint64 (n,)."""
    alternates: np.ndarray
    """uint64 (n, ALTERNATES)."""


class HashIndex:
    """An index file (or an in-memory one), open for reading and writing or for reading only.

    Use :meth:`open` or :meth:`memory`; close it, or use it in a ``with`` block.
    """

    def __init__(self, connection: sqlite3.Connection, path: Path | None, *, read_only: bool, rebuilt: bool) -> None:
        self._db = connection
        self.path = path
        """The file, or None in memory."""
        self.root = os.path.abspath(path.parent) if path is not None else None
        self.read_only = read_only
        self.rebuilt = rebuilt
        """True when rows of another signature version were dropped on opening."""
        self._pending: list[tuple] = []

    # -- opening ------------------------------------------------------------------------

    @classmethod
    def memory(cls) -> "HashIndex":
        """An index that lives as long as this object, for runs that keep nothing."""
        db = sqlite3.connect(":memory:")
        db.executescript(_SCHEMA)
        db.executemany("INSERT INTO meta VALUES (?, ?)", [("schema_version", str(SCHEMA_VERSION)), ("signature", SIGNATURE_VERSION)])
        db.commit()
        return cls(db, None, read_only=False, rebuilt=False)

    @classmethod
    def open(cls, path: str | os.PathLike, *, read_only: bool = False) -> "HashIndex":
        """Open (or, for writing, create) the index file ``path``.

        Raises
        ------
        InputError
            The file is not an imgdelta index, or was made by a newer imgdelta; read-only:
            the file is missing or holds hashes of another signature version.
        StorageError
            The file or its folder cannot be written.
        """
        path = Path(path)
        if read_only:
            return cls._open_read_only(path)
        if path.is_dir():
            raise StorageError(f"cannot use {path} as an index: it is a folder")
        if not path.parent.is_dir():
            raise StorageError(f"cannot write {path}: no such folder {path.parent}")
        try:
            db = sqlite3.connect(path, timeout=30.0)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise _open_error(path, exc) from None
        except sqlite3.Error as exc:
            raise StorageError(f"cannot write {path}: {exc}") from None
        meta = dict(db.execute("SELECT key, value FROM meta"))
        _check_schema(path, meta)
        rebuilt = False
        with db:
            if meta.get("signature") != SIGNATURE_VERSION:
                rebuilt = bool(db.execute("SELECT 1 FROM images LIMIT 1").fetchone())
                db.execute("DELETE FROM images")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('signature', ?)", (SIGNATURE_VERSION,))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        return cls(db, path, read_only=False, rebuilt=rebuilt)

    @classmethod
    def _open_read_only(cls, path: Path) -> "HashIndex":
        if not path.is_file():
            raise InputError(f"{path}: no such index file")
        # A reader of a WAL database writes a shared-memory file (-shm) beside it. Where the
        # folder cannot be written (a read-only share, a mounted backup) the index is opened
        # as immutable instead: SQLite then writes nothing and takes no lock, trusting that
        # nobody changes the file meanwhile. A log left beside it (-wal) is still read when
        # its -shm can be; otherwise only the rows already checkpointed into the file are.
        writable = os.access(path.parent, os.W_OK)
        options = ["mode=ro"] if writable or path.with_name(path.name + "-wal").exists() else []
        if not writable:
            options.append("mode=ro&immutable=1")
        uri = path.resolve().as_uri()
        for attempt, option in enumerate(options, start=1):
            db = None
            try:
                db = sqlite3.connect(f"{uri}?{option}", uri=True, timeout=30.0)
                tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                break
            except sqlite3.Error as exc:
                if db is not None:
                    db.close()
                if attempt == len(options) or not isinstance(exc, sqlite3.OperationalError):
                    raise _open_error(path, exc) from None
        if not {"meta", "images"} <= tables:
            raise InputError(f"{path}: not an imgdelta index (made by imgdelta dedupe --index)")
        meta = dict(db.execute("SELECT key, value FROM meta"))
        _check_schema(path, meta)
        if meta.get("signature") != SIGNATURE_VERSION:
            raise InputError(
                f"{path}: its hashes are of another version ({meta.get('signature')}); "
                "run imgdelta dedupe on its collection once to bring it up to date"
            )
        return cls(db, path, read_only=True, rebuilt=False)

    def close(self) -> None:
        if not self.read_only:
            self.commit()
        self._db.close()

    def __enter__(self) -> "HashIndex":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- paths --------------------------------------------------------------------------

    def key(self, location: str) -> str:
        """The row key of an absolute path."""
        if self.root is not None:
            relative = os.path.relpath(location, self.root)
            if relative != os.pardir and not relative.startswith(os.pardir + os.sep):
                return relative
        return location

    def location(self, key: str) -> str:
        """The absolute path of a row key."""
        if self.root is None or os.path.isabs(key):
            return key
        return os.path.join(self.root, key)

    # -- reading ------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM images").fetchone()[0])

    def states(self) -> dict[str, tuple[int, int, str | None]]:
        """key -> (size, mtime_ns, error or None) of every row."""
        return {key: (size, mtime, error) for key, size, mtime, error in self._db.execute("SELECT path, size, mtime_ns, error FROM images")}

    def images(self, keys: Sequence[str] | None = None) -> StoredImages:
        """The hashed rows (errors left out) of ``keys``, in that order, or of every row."""
        columns = "path, size, mtime_ns, width, height, taken, sharpness, hash, alternates"
        if keys is None:
            rows = list(self._db.execute(f"SELECT {columns} FROM images WHERE error IS NULL ORDER BY path"))
        else:
            found: dict[str, tuple] = {}
            for start in range(0, len(keys), _BATCH):
                batch = list(keys[start : start + _BATCH])
                marks = ",".join("?" * len(batch))
                for row in self._db.execute(f"SELECT {columns} FROM images WHERE error IS NULL AND path IN ({marks})", batch):
                    found[row[0]] = row
            missing = [key for key in keys if key not in found]
            if missing:
                more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
                raise StorageError(f"the index {self.path or '(in memory)'} lost the rows of {missing[0]}{more}")
            rows = [found[key] for key in keys]
        count = len(rows)
        alternates = np.frombuffer(b"".join(row[8] for row in rows), dtype=">u8").astype(np.uint64).reshape(count, ALTERNATES)
        return StoredImages(
            keys=[row[0] for row in rows],
            sizes=np.array([row[1] for row in rows], dtype=np.int64),
            mtimes=np.array([row[2] for row in rows], dtype=np.int64),
            widths=np.array([row[3] for row in rows], dtype=np.int64),
            heights=np.array([row[4] for row in rows], dtype=np.int64),
            taken=np.array([np.nan if row[5] is None else row[5] for row in rows], dtype=np.float64),
            sharpness=np.array([row[6] for row in rows], dtype=np.float64),
            hashes=np.array([row[7] for row in rows], dtype=np.int64).view(np.uint64),
            alternates=alternates,
        )

    def thumbnails(self, keys: Sequence[str]) -> np.ndarray:
        """uint8 (len(keys), THUMB_SIDE, THUMB_SIDE), in the order of ``keys``."""
        found: dict[str, bytes] = {}
        for start in range(0, len(keys), _BATCH):
            batch = list(keys[start : start + _BATCH])
            marks = ",".join("?" * len(batch))
            found.update(self._db.execute(f"SELECT path, thumbnail FROM images WHERE error IS NULL AND path IN ({marks})", batch))
        if len(found) < len(set(keys)):
            raise StorageError(f"the index {self.path or '(in memory)'} lost thumbnails of files it listed")
        data = b"".join(found[key] for key in keys)
        return np.frombuffer(data, dtype=np.uint8).reshape(len(keys), THUMB_SIDE, THUMB_SIDE)

    # -- writing ------------------------------------------------------------------------

    def add(self, entry: FileEntry, result: FileHash) -> None:
        """Buffer the row of a hashed (or unreadable) file; :meth:`commit` writes it."""
        now = time.time()
        key = self.key(entry.location)
        signature = result.signature
        if signature is None:
            self._pending.append((key, entry.size, entry.mtime_ns, 0, 0, None, None, None, None, None, result.error or "unreadable", now))
            return
        self._pending.append(
            (
                key, entry.size, entry.mtime_ns, result.width, result.height, result.taken, signature.sharpness,
                _signed(signature.hash), np.asarray(signature.alternates, dtype=">u8").tobytes(),
                np.ascontiguousarray(signature.thumbnail, dtype=np.uint8).tobytes(), None, now,
            )
        )

    def commit(self) -> None:
        """Write every buffered row in one transaction."""
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO images VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot write {self.path}: {exc}") from None

    def forget(self, keys: Iterable[str]) -> None:
        """Remove the rows of ``keys`` (files moved away, deleted or gone)."""
        keys = list(keys)
        if not keys:
            return
        try:
            with self._db:
                self._db.executemany("DELETE FROM images WHERE path = ?", [(key,) for key in keys])
        except sqlite3.Error as exc:
            raise StorageError(f"cannot write {self.path}: {exc}") from None

    def forget_missing(self, folders: Iterable[str], present: set[str]) -> int:
        """Remove rows of files under ``folders`` (absolute) that are not in ``present`` (keys)."""
        gone = []
        prefixes = [folder.rstrip(os.sep) + os.sep for folder in folders]
        for key in self.states():
            location = self.location(key)
            if key not in present and any(location.startswith(prefix) for prefix in prefixes):
                gone.append(key)
        self.forget(gone)
        return len(gone)


def _check_schema(path: Path, meta: dict[str, str]) -> None:
    try:
        version = int(meta.get("schema_version", SCHEMA_VERSION))
    except ValueError:
        version = SCHEMA_VERSION + 1
    if version > SCHEMA_VERSION:
        raise InputError(f"{path}: made by a newer imgdelta (index schema {meta.get('schema_version')}); upgrade imgdelta")


def _open_error(path: Path, exc: sqlite3.Error) -> InputError | StorageError:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return InputError(f"{path}: not an imgdelta index ({text})")
    return StorageError(f"cannot open {path}: {text}")
