"""Kept frames and the run's manifest, written so that a killed or starved run never leaves a
half-written file: atomic file output (:mod:`.files`) and the SQLite manifest (:mod:`.manifest`).

This layer imports only :mod:`imgdelta.errors`, the standard library, NumPy and (for
:func:`encode_image`) Pillow.
"""

from .files import LINK_MODES, atomic_output, copy_atomic, encode_image, link_or_copy, remove_stale_temps, write_atomic
from .manifest import (
    DECISIONS,
    EXPORT_FORMATS,
    MANIFEST_NAME,
    SCHEMA_VERSION,
    FrameRecord,
    Manifest,
    Reconciliation,
)

__all__ = [
    "DECISIONS",
    "EXPORT_FORMATS",
    "FrameRecord",
    "LINK_MODES",
    "MANIFEST_NAME",
    "Manifest",
    "Reconciliation",
    "SCHEMA_VERSION",
    "atomic_output",
    "copy_atomic",
    "encode_image",
    "link_or_copy",
    "remove_stale_temps",
    "write_atomic",
]
