"""The run's manifest: one SQLite file, ``manifest.sqlite``, in the output folder OUT.

It records one row per frame (its decision, reason and scores), the run's settings, and an
opaque snapshot of the detector's state, so that ``imgdelta filter`` can be audited and tuned
afterwards and ``imgdelta capture`` can resume after ``kill -9``, a full disk or a power cut.

Tables
------
``frames``  one row per frame: ``idx`` (primary key), ``name``, ``time``, ``decision``
            (``keep``/``skip``/``error``), ``reason``, ``score``, ``threshold``, ``scores`` (JSON
            object), ``kept_name`` (file in OUT, or NULL), ``recorded`` (wall clock, Unix seconds).
``run``     ``key`` -> JSON ``value``: settings, and ``schema_version``.
``state``   a single row: the detector's state ``blob`` and ``idx``, the last frame it covers.

Numbers: NaN is stored as NULL everywhere. Infinities are kept in the REAL columns (``score``,
``threshold``, ``time``; SQLite stores them) but become null inside JSON (the ``scores``
column and JSONL exports), which has no way to write them.

Writing, and why it is fast
---------------------------
:meth:`Manifest.record` only buffers a row in memory; :meth:`Manifest.commit` writes every
buffered row and, optionally, the detector state in **one** transaction. The journal is WAL with
``synchronous=NORMAL``: a commit costs no fsync (only checkpoints do), so committing every kept
frame and at least once a second is cheap even at 1000 frames/s. Every committed transaction
survives the process being killed; a power cut may lose the last commits but never corrupts
the file. Rows are written with ``INSERT OR REPLACE``, so recording a frame again replaces it.

The safe order, and resuming
----------------------------
For each kept frame: **write the image first** (:func:`~imgdelta.store.write_atomic`), then
record and commit its row. A kill between the two leaves a complete image that no row lists;
the resumed run writes it again under the same name, or :meth:`Manifest.reconcile` reports it.
The reverse order could leave a row pointing at a file that never got written.

To resume: ``Manifest.open(out, create=True)``, :func:`~imgdelta.store.remove_stale_temps`,
then continue from ``state()[0] + 1`` (detectors with state) or ``last_index() + 1``. When rows
and state are always committed together the two agree; otherwise the frames after the state
are processed again and their rows replaced.

One process and one thread use a manifest at a time.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sqlite3
import stat
import time as _time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import InputError, OptionError, StorageError
from .files import _reason as _os_reason
from .files import atomic_output

__all__ = [
    "DECISIONS",
    "EXPORT_FORMATS",
    "MANIFEST_NAME",
    "SCHEMA_VERSION",
    "FrameRecord",
    "Manifest",
    "Reconciliation",
]

#: File name of the manifest inside the output folder.
MANIFEST_NAME = "manifest.sqlite"
#: Version of the tables written here; a manifest with a higher one is refused.
SCHEMA_VERSION = 1
#: What may happen to a frame.
DECISIONS = ("keep", "skip", "error")
#: Formats of :meth:`Manifest.export`.
EXPORT_FORMATS = ("csv", "jsonl")

Decision = Literal["keep", "skip", "error"]

_APPLICATION_ID = 0x696D6764  # "imgd", in the SQLite header: marks the file as ours
_SQLITE_MAGIC = b"SQLite format 3\x00"
_PAGE = 2000  # rows fetched per query by rows(): no read transaction stays open between pages

#: Files that :meth:`Manifest.reconcile` counts as images (kept in step with imgdelta.io,
#: which the store layer may not import).
_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".bmp", ".webp", ".gif"})

_COLUMNS = ("idx", "name", "time", "decision", "reason", "score", "threshold", "scores", "kept_name", "recorded")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM frames"
_INSERT = f"INSERT OR REPLACE INTO frames ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS run (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS frames ("
    " idx INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " time REAL,"
    " decision TEXT NOT NULL CHECK (decision IN ('keep', 'skip', 'error')),"
    " reason TEXT NOT NULL,"
    " score REAL,"
    " threshold REAL,"
    " scores TEXT NOT NULL,"
    " kept_name TEXT,"
    " recorded REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), idx INTEGER NOT NULL, blob BLOB NOT NULL)",
)


@dataclass(frozen=True, kw_only=True)
class FrameRecord:
    """One frame's row in the manifest; the fields mirror the ``frames`` columns.

    Attributes
    ----------
    idx : int
        Position of the frame in its source, from 0; the primary key.
    name : str
        The frame's name in its source (file name, or a label such as ``frame000123``).
    time : float or None
        Time of the frame in seconds (video position, capture clock), if known.
    decision : {"keep", "skip", "error"}
    reason : str
        Why, in words (``"ssim 0.91 < 0.95"``, ``"cannot decode"``).
    score, threshold : float or None
        The deciding score and the limit it was compared with.
    scores : mapping of str to float or None
        Every metric's score. NaN and infinities are stored, and read back, as None.
    kept_name : str or None
        File name of the kept copy, relative to OUT; None when nothing was written.
    recorded : float or None
        Wall-clock time of recording (Unix seconds); None means "now" when recorded.
    """

    idx: int
    name: str
    time: float | None = None
    decision: Decision
    reason: str = ""
    score: float | None = None
    threshold: float | None = None
    scores: Mapping[str, float | None] = field(default_factory=dict, hash=False)
    kept_name: str | None = None
    recorded: float | None = None

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise OptionError(f"decision must be one of {', '.join(map(repr, DECISIONS))}, not {self.decision!r}")
        if isinstance(self.idx, bool) or not isinstance(self.idx, int) or self.idx < 0:
            raise OptionError(f"idx must be an integer >= 0, not {self.idx!r}")


@dataclass(frozen=True)
class Reconciliation:
    """How the image files in OUT agree with the manifest's kept rows.

    Attributes
    ----------
    missing : tuple of str
        ``kept_name`` of committed keep rows whose file does not exist (or is not a file).
    empty : tuple of str
        ``kept_name`` of committed keep rows whose file has zero bytes.
    unlisted : tuple of str
        Image files at the top level of OUT that no keep row names: typically the frame a
        killed run wrote just before it could commit the row. Complete (writes are atomic),
        but not part of the run's record; the caller decides whether to keep or delete them.
    """

    missing: tuple[str, ...] = ()
    empty: tuple[str, ...] = ()
    unlisted: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        """True when every kept row has its file and every image has its row."""
        return not (self.missing or self.empty or self.unlisted)


def _real(value: Any) -> float | None:
    """A REAL column's value: NaN -> None; infinities kept."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _finite(value: Any) -> float | None:
    """A JSON number: NaN and infinities -> None."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _to_row(record: FrameRecord) -> tuple:
    scores = json.dumps({str(k): _finite(v) for k, v in record.scores.items()}, allow_nan=False, separators=(",", ":"))
    recorded = _time.time() if record.recorded is None else float(record.recorded)
    return (
        record.idx,
        str(record.name),
        _real(record.time),
        record.decision,
        str(record.reason),
        _real(record.score),
        _real(record.threshold),
        scores,
        None if record.kept_name is None else str(record.kept_name),
        recorded,
    )


def _from_row(row: tuple) -> FrameRecord:
    idx, name, time, decision, reason, score, threshold, scores, kept_name, recorded = row
    return FrameRecord(
        idx=idx,
        name=name,
        time=time,
        decision=decision,
        reason=reason,
        score=score,
        threshold=threshold,
        scores=json.loads(scores),
        kept_name=kept_name,
        recorded=recorded,
    )


def _reason_of(exc: sqlite3.Error) -> str:
    name = getattr(exc, "sqlite_errorname", "") or ""  # Python 3.11+
    text = str(exc)
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return "no space left on device (database or disk is full)"
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return "the file or its folder is read-only"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return "another process holds the manifest locked"
    if name.startswith("SQLITE_IOERR") or "disk I/O error" in text:
        return "disk I/O error (the disk may be full, over a file size limit, or failing)"
    return text


class Manifest:
    """The manifest of one run, in ``OUT/manifest.sqlite``; open it with :meth:`open`.

    Use it as a context manager: a block that ends normally commits the rows still buffered,
    one that raises drops them (as :mod:`sqlite3` connections do); both close the file.

    Attributes
    ----------
    out_dir : Path
        The output folder.
    path : Path
        The SQLite file.
    """

    def __init__(self, connection: sqlite3.Connection, out_dir: Path, path: Path) -> None:
        """Private: use :meth:`Manifest.open`."""
        self._conn: sqlite3.Connection | None = connection
        self.out_dir = out_dir
        self.path = path
        self._pending: list[tuple] = []

    # ------------------------------------------------------------------ opening and closing

    @classmethod
    def open(cls, out_dir: os.PathLike | str, *, create: bool, read_only: bool = False) -> Manifest:
        """Open the manifest of the output folder ``out_dir``.

        Parameters
        ----------
        out_dir : path
            The output folder. Other files in it are fine (a user may point OUT at a folder
            that already holds something).
        create : bool
            Create the folder and the manifest when absent. An existing manifest is opened
            either way (that is how a run resumes).
        read_only : bool
            Open for reading only (reports): nothing in the folder is written.

        Raises
        ------
        InputError
            ``create`` is false and there is no manifest.
        StorageError
            The file is not an imgdelta manifest (corrupt, another program's database), was
            written by a newer imgdelta, or cannot be created.
        """
        out_dir = Path(out_dir)
        path = out_dir / MANIFEST_NAME
        exists = False
        try:
            exists = path.exists()
            if not exists:
                if not create:
                    raise InputError(f"{path}: no manifest here; is {out_dir} the output folder of an imgdelta run?")
                out_dir.mkdir(parents=True, exist_ok=True)
            elif not path.is_file():
                raise StorageError(f"{path} is not an imgdelta manifest: it is not a file")
            else:
                with open(path, "rb") as handle:
                    header = handle.read(len(_SQLITE_MAGIC))
                if header and header != _SQLITE_MAGIC:
                    raise StorageError(f"{path} is not an imgdelta manifest: it is not an SQLite database")
        except OSError as exc:
            what = f"open {path}" if exists else f"create {out_dir}"
            raise StorageError(f"cannot {what}: {_os_reason(exc)}") from None
        if read_only and not exists:
            raise InputError(f"{path}: no manifest here; is {out_dir} the output folder of an imgdelta run?")
        try:
            if read_only:
                # a finished run has no write-ahead log: opened as immutable, SQLite creates
                # none either; a live one has it, and its readers must see what it holds
                live = path.with_name(path.name + "-wal").exists()
                options = "mode=ro" if live else "mode=ro&immutable=1"
                connection = sqlite3.connect(f"{path.resolve().as_uri()}?{options}", uri=True, isolation_level=None, timeout=10.0)
            else:
                connection = sqlite3.connect(path, isolation_level=None, timeout=10.0)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open {path}: {_reason_of(exc)}") from None
        manifest = cls(connection, out_dir, path)
        try:
            manifest._prepare(create=create and not read_only, read_only=read_only)
        except BaseException:
            manifest.close()
            raise
        return manifest

    def _prepare(self, *, create: bool, read_only: bool = False) -> None:
        conn = self._connection()
        not_ours = f"{self.path} is not an imgdelta manifest"
        try:
            application_id = conn.execute("PRAGMA application_id").fetchone()[0]
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"{not_ours}: {exc}") from None
        if not tables:
            if not create:
                raise StorageError(f"{not_ours}: it holds no table")
            self._initialise()
            tables = {"run", "frames", "state"}
        elif application_id not in (0, _APPLICATION_ID) or "run" not in tables:
            raise StorageError(f"{not_ours}: it holds the tables of another program ({', '.join(sorted(tables))})")
        version = self._schema_version()
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"{self.path} was written by a newer imgdelta (manifest schema {version}, this version reads up to "
                f"{SCHEMA_VERSION}): upgrade imgdelta or choose another output folder"
            )
        missing = {"frames", "state"} - tables
        if missing:
            raise StorageError(f"{not_ours}: it has no {' or '.join(sorted(missing))} table")
        if read_only:
            return
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open {self.path}: {_reason_of(exc)}") from None

    def _initialise(self) -> None:
        conn = self._connection()
        try:
            conn.execute("PRAGMA journal_mode = WAL")  # must precede the transaction
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(
                    "INSERT OR IGNORE INTO run (key, value) VALUES ('schema_version', ?)", (json.dumps(SCHEMA_VERSION),)
                )
                conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        except sqlite3.Error as exc:
            raise StorageError(f"cannot create {self.path}: {_reason_of(exc)}") from None

    def _schema_version(self) -> int:
        try:
            row = self._connection().execute("SELECT value FROM run WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"{self.path} is not an imgdelta manifest: {exc}") from None
        try:
            version = json.loads(row[0]) if row else None
        except ValueError:
            version = None
        if isinstance(version, bool) or not isinstance(version, int):
            raise StorageError(f"{self.path} is not an imgdelta manifest: it has no schema version")
        return version

    def close(self) -> None:
        """Close the file. Rows recorded since the last :meth:`commit` are dropped."""
        if self._conn is not None:
            self._pending.clear()
            self._conn.close()
            self._conn = None

    @property
    def closed(self) -> bool:
        return self._conn is None

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            if exc_type is None and not self.closed:
                self.commit()
        finally:
            self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self._pending)} pending"
        return f"<Manifest {os.fspath(self.path)!r} {state}>"

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError(f"{self.path}: the manifest is closed")
        return self._conn

    def _rollback(self) -> None:
        conn = self._conn
        if conn is not None and conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def _error(self, exc: sqlite3.Error, action: str) -> StorageError:
        name = getattr(exc, "sqlite_errorname", "") or ""
        if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in str(exc):
            return StorageError(f"{self.path} is damaged: {exc}")
        return StorageError(f"cannot {action} {self.path}: {_reason_of(exc)}")

    def _query(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        try:
            return self._connection().execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc, "read") from None

    # ------------------------------------------------------------------ writing

    def record(self, row: FrameRecord) -> None:
        """Buffer one frame's row; it reaches the file with the next :meth:`commit`.

        Recording an ``idx`` again replaces the earlier row when committed.
        """
        self._connection()
        self._pending.append(_to_row(row))

    @property
    def pending(self) -> int:
        """Rows recorded but not yet committed."""
        return len(self._pending)

    def commit(self, state: bytes | None = None, state_idx: int | None = None) -> None:
        """Write the buffered rows and, if given, the detector state, in one transaction.

        Parameters
        ----------
        state : bytes, optional
            Opaque snapshot of the detector, replacing the stored one.
        state_idx : int, optional
            Index of the last frame ``state`` covers; required with ``state``, and only with it.

        Raises
        ------
        StorageError
            The disk is full or the file cannot be written. Nothing of this commit is stored,
            and the rows stay buffered, so a later ``commit`` can retry.
        """
        if (state is None) != (state_idx is None):
            raise OptionError("state and state_idx go together: pass both (the snapshot and its last frame) or neither")
        conn = self._connection()
        if not self._pending and state is None:
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if self._pending:
                    conn.executemany(_INSERT, self._pending)
                if state is not None:
                    conn.execute(
                        "INSERT OR REPLACE INTO state (id, idx, blob) VALUES (1, ?, ?)", (int(state_idx), bytes(state))
                    )
                conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        except sqlite3.Error as exc:
            raise self._error(exc, "write") from None
        self._pending.clear()

    def set_setting(self, key: str, value: Any) -> None:
        """Store one JSON-serialisable setting of the run under ``key`` (written at once)."""
        if key == "schema_version":
            raise OptionError("key 'schema_version' is reserved for the manifest itself; choose another key")
        try:
            text = json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise OptionError(f"setting {key!r} must be JSON-serialisable: {exc}") from None
        try:
            self._connection().execute("INSERT OR REPLACE INTO run (key, value) VALUES (?, ?)", (str(key), text))
        except sqlite3.Error as exc:
            raise self._error(exc, "write") from None

    def get_setting(self, key: str, default: Any = None) -> Any:
        """The setting stored under ``key``, or ``default``."""
        rows = self._query("SELECT value FROM run WHERE key = ?", (str(key),))
        return json.loads(rows[0][0]) if rows else default

    # ------------------------------------------------------------------ reading (committed rows only)

    def last_index(self) -> int:
        """The highest committed ``idx``, or -1 when no row is committed."""
        value = self._query("SELECT max(idx) FROM frames")[0][0]
        return -1 if value is None else value

    def state(self) -> tuple[int, bytes] | None:
        """The committed detector state as ``(idx, blob)``, or None."""
        rows = self._query("SELECT idx, blob FROM state WHERE id = 1")
        return (rows[0][0], bytes(rows[0][1])) if rows else None

    def kept(self) -> list[FrameRecord]:
        """The committed rows whose decision is ``keep``, in ``idx`` order."""
        return [_from_row(row) for row in self._query(f"{_SELECT} WHERE decision = 'keep' ORDER BY idx")]

    def counts(self) -> dict[str, int]:
        """``{"total", "kept", "skipped", "errors"}``: numbers of committed rows."""
        total, kept, skipped, errors = self._query(
            "SELECT count(*), total(decision = 'keep'), total(decision = 'skip'), total(decision = 'error') FROM frames"
        )[0]
        return {"total": total, "kept": int(kept), "skipped": int(skipped), "errors": int(errors)}

    def rows(self) -> Iterator[FrameRecord]:
        """Every committed row in ``idx`` order, read a page at a time."""
        last = -1
        while True:
            page = self._query(f"{_SELECT} WHERE idx > ? ORDER BY idx LIMIT {_PAGE}", (last,))
            for row in page:
                yield _from_row(row)
            if len(page) < _PAGE:
                return
            last = page[-1][0]

    def __len__(self) -> int:
        return self._query("SELECT count(*) FROM frames")[0][0]

    # ------------------------------------------------------------------ export and checks

    def export(self, path: os.PathLike | str, fmt: Literal["csv", "jsonl"]) -> None:
        """Write the committed rows to ``path`` atomically, as CSV or JSON Lines.

        CSV has the columns of ``frames`` except ``scores``, then one ``score_<name>`` column
        per metric (in the order metrics first appear); empty cells are missing values.
        JSONL has one object per row with the ``frames`` columns, ``scores`` as an object,
        and null for missing values, NaN and infinities.

        Raises
        ------
        OptionError
            ``fmt`` is not ``"csv"`` or ``"jsonl"``.
        StorageError
            ``path`` cannot be written; it keeps its previous content.
        """
        if fmt not in EXPORT_FORMATS:
            raise OptionError(f"fmt must be one of {', '.join(map(repr, EXPORT_FORMATS))}, not {fmt!r}")
        names = self._score_names() if fmt == "csv" else []
        with atomic_output(path) as binary:
            text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
            try:
                if fmt == "csv":
                    self._write_csv(text, names)
                else:
                    self._write_jsonl(text)
                text.flush()
            finally:
                text.detach()

    def _score_names(self) -> list[str]:
        names: dict[str, None] = {}
        last = -1
        while True:
            page = self._query(f"SELECT idx, scores FROM frames WHERE idx > ? ORDER BY idx LIMIT {_PAGE}", (last,))
            for _, scores in page:
                names.update(dict.fromkeys(json.loads(scores)))
            if len(page) < _PAGE:
                return list(names)
            last = page[-1][0]

    def _write_csv(self, text: io.TextIOBase, names: list[str]) -> None:
        plain = [c for c in _COLUMNS if c != "scores"]
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(plain + [f"score_{name}" for name in names])
        for record in self.rows():
            values = [getattr(record, column) for column in plain]
            values += [record.scores.get(name) for name in names]
            writer.writerow(["" if v is None else v for v in values])

    def _write_jsonl(self, text: io.TextIOBase) -> None:
        for record in self.rows():
            obj = {column: getattr(record, column) for column in _COLUMNS}
            for column in ("time", "score", "threshold", "recorded"):
                obj[column] = _finite(obj[column])
            obj["scores"] = dict(record.scores)
            text.write(json.dumps(obj, allow_nan=False, separators=(",", ":")))
            text.write("\n")

    def reconcile(self, out_dir: os.PathLike | str | None = None) -> Reconciliation:
        """Compare the committed keep rows with the image files in ``out_dir`` (default: OUT).

        Read-only: the caller decides what to do (see :class:`Reconciliation`). Rows whose
        ``kept_name`` is None, and files that are not images or are temporary, are ignored.

        Raises
        ------
        StorageError
            The folder cannot be listed.
        """
        folder = self.out_dir if out_dir is None else Path(out_dir)
        listed: set[str] = set()
        missing, empty = [], []
        for (name,) in self._query(
            "SELECT kept_name FROM frames WHERE decision = 'keep' AND kept_name IS NOT NULL ORDER BY idx"
        ):
            listed.add(name)
            try:
                info = os.stat(folder / name)
            except OSError:
                missing.append(name)
                continue
            if not stat.S_ISREG(info.st_mode):
                missing.append(name)
            elif info.st_size == 0:
                empty.append(name)
        try:
            with os.scandir(folder) as entries:
                unlisted = sorted(
                    e.name
                    for e in entries
                    if os.path.splitext(e.name)[1].lower() in _IMAGE_SUFFIXES and e.name not in listed and e.is_file()
                )
        except OSError as exc:
            raise StorageError(f"cannot list {folder}: {_os_reason(exc)}") from None
        return Reconciliation(missing=tuple(missing), empty=tuple(empty), unlisted=tuple(unlisted))
