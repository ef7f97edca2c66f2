"""Near-duplicate images in a collection: hashing, a persistent index, neighbour search,
verification on thumbnails, grouping, the file to keep, and what to do with the others.

    report = find_duplicates("photos", index="photos/.imgdelta-index.sqlite")
    for group in report.groups:
        print(group.keeper.path, [f.path for f in group.duplicates])

Names are imported on first use, so that the command line can read the defaults without
loading the rest.
"""

from typing import TYPE_CHECKING

from .._lazy import exports_loader
from .defaults import DEFAULT_RADIUS, DEFAULT_THRESHOLD, INDEX_NAME, KEEP_POLICIES, MAX_RADIUS

if TYPE_CHECKING:
    from .actions import Action, apply_actions, plan_actions
    from .finder import DuplicateGroup, DuplicateReport, ImageRecord, default_index_path, find_duplicates
    from .index import HashIndex

_EXPORTS = {
    "Action": ".actions",
    "apply_actions": ".actions",
    "plan_actions": ".actions",
    "DuplicateGroup": ".finder",
    "DuplicateReport": ".finder",
    "ImageRecord": ".finder",
    "default_index_path": ".finder",
    "find_duplicates": ".finder",
    "HashIndex": ".index",
}

__all__ = sorted([*_EXPORTS, "DEFAULT_RADIUS", "DEFAULT_THRESHOLD", "INDEX_NAME", "KEEP_POLICIES", "MAX_RADIUS"])

__getattr__ = exports_loader(__name__, _EXPORTS, globals())
