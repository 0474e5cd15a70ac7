"""Crosswalk's own files in neutral terms: the rule of a crosswalk file id, the metadata every
surface renders (`StoredFile`), and a file listing's filters and paging (`FileQuery`).

A crosswalk file id is `file_xw1-` and 22 base64url characters (16 random bytes). Vendors'
ids share the `file_` prefix but are not portable (hazard 13): Extend's are base62, Retab's
16 hex digits, and neither alphabet has a `-`, so no vendor id starts with `file_xw<digit>-`
(the marker convention of `mappings/ids.py`). An id with the marker is crosswalk's, whatever
follows it: a surface never forwards one to a vendor; one the store does not hold is a 404.
Pure: imports only the stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import datetime

import msgspec

from mappings.canonical import Direction, Order

PREFIX = "file_"
_VERSION = "xw1-"
ENTROPY_BYTES = 16  # 128 bits: ids cannot be guessed, and never collide in practice
_MARKED = re.compile(r"file_xw[0-9]-")
_WELL_FORMED = re.compile(r"file_xw1-[A-Za-z0-9_-]{22}")
# the crosswalk file a document URL is one of crosswalk's own valid signed links to, else None:
# what the gateway's `LinkSigner.file_id_of` answers, handed to the mappings of create bodies
LinkReader = Callable[[str], str | None]


def new_file_id(entropy: bytes) -> str:
    """The crosswalk file id made of `entropy` (ENTROPY_BYTES random bytes, from the caller)."""
    if len(entropy) != ENTROPY_BYTES:
        raise ValueError(f"a file id takes {ENTROPY_BYTES} random bytes, got {len(entropy)}")
    return PREFIX + _VERSION + base64.urlsafe_b64encode(entropy).rstrip(b"=").decode("ascii")


def is_crosswalk_file_id(file_id: str) -> bool:
    """Whether `file_id` carries crosswalk's marker, so it is never a vendor's (well-formed or
    not: a malformed one names no file, and is a 404 rather than a vendor call)."""
    return _MARKED.match(file_id) is not None


def is_well_formed(file_id: str) -> bool:
    """Whether `file_id` has the exact shape of an id this gateway issues."""
    return _WELL_FORMED.fullmatch(file_id) is not None


class StoredFile(msgspec.Struct, frozen=True, kw_only=True):
    """A file kept by crosswalk, as both surfaces describe it.

    `mime_type` was sniffed from the content, not taken from the name; `sha256` is the hex
    digest of the bytes; `page_count` is None until something has counted the pages.
    """

    id: str
    name: str
    mime_type: str
    size: int
    sha256: str
    created_at: datetime
    updated_at: datetime
    page_count: int | None = None


class FileQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Filters and paging of a file listing, as `canonical.ListQuery` is for runs.

    `cursor` is the id of a file of the previous page; `direction` says whether to read on
    ("after") or back ("before") from it. `name` is an exact name, `name_contains` a substring
    compared casefolded; the creation bounds are inclusive.
    """

    limit: int = 10
    order: Order = "desc"  # by creation time
    cursor: str | None = None
    direction: Direction = "after"
    name: str | None = None
    name_contains: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
