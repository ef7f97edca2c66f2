"""One exception tree for the whole package.

Every error imgdelta raises on purpose derives from :class:`ImgDeltaError` and carries
the process exit status the command line uses for it, so the CLI never has to guess.
Messages are one line: what went wrong, where, and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "ImgDeltaError",
    "InputError",
    "OptionError",
    "SizeMismatchError",
    "SourceLostError",
    "StorageError",
    "UnknownMetricError",
]


class ImgDeltaError(Exception):
    """Base class of every error imgdelta raises on purpose.

    Attributes
    ----------
    exit_code : int
        Exit status of the command line when this error ends a command. Follows
        ``cmp``/``diff``: 2 means trouble (bad input, bad option).
    """

    exit_code: int = 2


class InputError(ImgDeltaError):
    """A file or folder cannot be read as an image (missing, empty, corrupt, too large)."""


class OptionError(ImgDeltaError, ValueError):
    """A parameter has a value imgdelta cannot use; the message names it and the fix."""


class UnknownMetricError(OptionError, KeyError):
    """A metric name that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class SizeMismatchError(ImgDeltaError):
    """Two images of different sizes were compared without a resize policy."""


class SourceLostError(InputError):
    """A live source (camera, stream, snapshot URL) stopped answering.

    Raised by a source's next read; a capture loop catches it, waits and reopens.
    """


class StorageError(ImgDeltaError):
    """Output cannot be written (disk full, read-only, permission); nothing was left half-written."""
