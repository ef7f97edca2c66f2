"""What to do with the duplicates: move them aside or delete them, planned first, applied only
when asked.

Only the files a group does not keep are touched, and never a file of an indexed collection
given as ``against``. A moved file goes to ``DIR/<its path as shown>`` (an absolute path
without its root, a relative one without leading ``..``), so the folder mirrors where the
files were and they can be put back; an existing file is never replaced (the name gets
`` (2)``, `` (3)``... before its suffix). A file that changed since it was hashed (another
size or modification time) is left alone. The index forgets the files moved or deleted.

Moving or deleting a file takes it out of its folder, so that folder must be writable: when
it is not, nothing is tried and the message says so (not the target's). The folders a move
creates below ``DIR`` are removed again when the move fails and leaves them empty.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from ..errors import ImgDeltaError, OptionError
from ..store.files import link_or_copy
from .finder import DuplicateReport
from .index import HashIndex

__all__ = ["Action", "apply_actions", "plan_actions"]


@dataclass(frozen=True)
class Action:
    """Moving or deleting one duplicate."""

    kind: Literal["move", "delete"]
    path: str
    """The file, as the report shows it."""
    location: str
    """Its absolute path."""
    target: str | None
    """Where a move puts it (after a name clash, where it went)."""
    size: int
    mtime_ns: int
    done: bool = False
    error: str | None = None

    def describe(self) -> str:
        """One line: what would happen, what happened, or why it did not."""
        what = f"{self.kind} {self.path}" + (f" -> {self.target}" if self.kind == "move" else "")
        if self.error is not None:
            return f"cannot {what}: {self.error}"
        if self.done:
            return ("moved " if self.kind == "move" else "deleted ") + what.split(" ", 1)[1]
        return f"would {what}"

    def to_dict(self) -> dict:
        return {"action": self.kind, "path": self.path, "to": self.target, "done": self.done, "error": self.error}


def _below(folder: Path, path: str) -> Path:
    """``folder`` joined with ``path`` made relative: no root, no leading '..'."""
    relative = Path(os.path.normpath(path))
    if relative.anchor:
        relative = relative.relative_to(relative.anchor)
    return folder.joinpath(*(part for part in relative.parts if part != os.pardir))


def plan_actions(report: DuplicateReport, *, move_to: str | os.PathLike | None = None, delete: bool = False) -> list[Action]:
    """The actions that would move (to ``move_to``) or delete every group's duplicates.

    Raises
    ------
    OptionError
        Neither or both of ``move_to`` and ``delete``.
    """
    if (move_to is None) == (not delete):
        raise OptionError("choose one action: move the duplicates to a folder, or delete them")
    folder = Path(move_to) if move_to is not None else None
    actions = []
    for group in report.groups:
        for record in group.duplicates:
            target = os.fspath(_below(folder, record.path)) if folder is not None else None
            actions.append(Action("move" if folder is not None else "delete", record.path, record.location, target, record.size, record.mtime_ns))
    return actions


def _free_name(target: Path) -> Path:
    if not os.path.lexists(target):
        return target
    for number in range(2, 10_000):
        candidate = target.with_name(f"{target.stem} ({number}){target.suffix}")
        if not os.path.lexists(candidate):
            return candidate
    raise OptionError(f"{target}: too many files of that name already")


def _unwritable(folder: str) -> str | None:
    """Why files cannot be removed from ``folder``, or None when they can."""
    if os.access(folder, os.W_OK):
        return None
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "read-only file system"
    except (OSError, AttributeError):  # no statvfs (Windows): the permission is the likely cause
        pass
    return "permission denied"


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and those above it that do not exist yet, deepest first."""
    missing = []
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    return missing


def _apply(action: Action) -> Action:
    try:
        status = os.stat(action.location)
    except OSError as exc:
        return replace(action, error=f"cannot examine it ({exc.strerror or exc})")
    if status.st_size != action.size or status.st_mtime_ns != action.mtime_ns:
        return replace(action, error="it changed since it was hashed; run again")
    why = _unwritable(os.path.dirname(action.location))
    if why is not None:
        return replace(action, error=f"cannot remove it from its folder {os.path.dirname(action.path) or os.curdir} ({why})")
    if action.kind == "delete":
        try:
            os.unlink(action.location)
        except OSError as exc:
            return replace(action, error=exc.strerror or str(exc))
        return replace(action, done=True)
    target = Path(action.target)  # type: ignore[arg-type]
    created = _missing_folders(target.parent)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target = _free_name(target)
        link_or_copy(action.location, target, "move")
    except (OSError, ImgDeltaError) as exc:
        for folder in created:  # deepest first; one that is not empty stays
            try:
                folder.rmdir()
            except OSError:
                break
        return replace(action, error=str(exc) if isinstance(exc, ImgDeltaError) else exc.strerror or str(exc))
    return replace(action, target=os.fspath(target), done=True)


def apply_actions(actions: list[Action], *, index: str | os.PathLike | None = None) -> list[Action]:
    """Carry out the actions; returns them with ``done`` or ``error`` (and the final target).

    An action that fails does not stop the others. ``index``: the index file whose rows of
    the moved or deleted files are removed.
    """
    results = [_apply(action) for action in actions]
    done = [action for action in results if action.done]
    if index is not None and done:
        with HashIndex.open(index) as store:
            store.forget(store.key(action.location) for action in done)
    return results
