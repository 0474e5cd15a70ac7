"""Small helpers both vendors' mappings share: absent-or-null reads, unique names, the MIME
type of unknown bytes, the backend-name pattern ids embed, and an outbound request body.
Imports only the stdlib, msgspec and `mappings.notes`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Generic, NamedTuple, TypeVar

from msgspec import UNSET, UnsetType

from mappings.notes import Notes

T = TypeVar("T")
Body = TypeVar("Body", covariant=True)

UNKNOWN_MIME = "application/octet-stream"

# a backend's name in the config, as run ids embed it (mappings/ids.py) and config checks it
BACKEND_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


class Outbound(NamedTuple, Generic[Body]):
    """A request body built for a vendor, what building it noted, and the identifiers the
    request's categories were sent under, in order: the vendor's answer names a category by
    its identifier, so the answer is read back through them (hazard 3)."""

    body: Body
    notes: Notes
    sent: tuple[str, ...]


def given(value: T | UnsetType | None) -> T | None:
    """A wire value with absent and null both read as None (for fields where they mean the same)."""
    # identity, not isinstance: this runs for nearly every field of every translated run
    return None if value is UNSET else value


def bearer_token(headers: Mapping[str, str]) -> str:
    """The token of an `Authorization: Bearer <token>` header, both vendors' SDKs' scheme;
    "" if there is none."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def fresh_name(base: str, taken: set[str]) -> str:
    """`base`, or `base_2`, `base_3`, … : the first not in `taken`, which it is added to."""
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


# a vendor id a client names (a file, a classifier) that goes into a vendor URL's path: one
# segment of the characters vendor ids use, so it cannot climb (`..`), start a query (`?`)
# or reach any other path with crosswalk's key
_VENDOR_ID = re.compile(r"[A-Za-z0-9_-]{1,256}")


def is_vendor_id(value: str) -> bool:
    """Whether `value` may stand as one path segment of a vendor URL."""
    return _VENDOR_ID.fullmatch(value) is not None
