"""Which vendor dialect a request speaks, decided by its path (contracts.md §10 hazard 1).

Both vendors authenticate with `Authorization: Bearer`, so the path is the only signal.
"""

from __future__ import annotations

from mappings import extend, retab
from mappings.dialects import Dialect

__all__ = ["Dialect", "dialect_of"]


def dialect_of(path: str) -> Dialect | None:
    """The dialect of the surface that owns `path`, or None outside both surfaces."""
    if path.startswith(retab.PATH_PREFIXES):
        return "retab"
    if any(path == p or path.startswith(p + "/") for p in extend.PATH_PREFIXES):
        return "extend"
    return None
