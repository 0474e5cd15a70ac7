"""Small helpers both vendors' mappings share: absent-or-null reads, unique names, the MIME
type of unknown bytes and the backend-name pattern ids embed. Imports only the stdlib and msgspec.
"""

from __future__ import annotations

import re
from typing import TypeVar

from msgspec import UNSET, UnsetType

T = TypeVar("T")

UNKNOWN_MIME = "application/octet-stream"

# a backend's name in the config, as run ids embed it (mappings/ids.py) and config checks it
BACKEND_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


def given(value: T | UnsetType | None) -> T | None:
    """A wire value with absent and null both read as None (for fields where they mean the same)."""
    # identity, not isinstance: this runs for nearly every field of every translated run
    return None if value is UNSET else value


def fresh_name(base: str, taken: set[str]) -> str:
    """`base`, or `base_2`, `base_3`, … : the first not in `taken`, which it is added to."""
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate
