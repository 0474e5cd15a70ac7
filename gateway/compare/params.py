"""What a report or a listing of comparisons is asked for, read from text: `--since` and
`--backends` of `crosswalk compare`, and the same as `GET /crosswalk/…` query parameters.

Each reader raises `ValueError` whose message is one line a person can act on; the caller
says which option or parameter it was. Pure: stdlib, msgspec and `mappings` only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TypeVar

import msgspec

from mappings.numbers import query_integer
from mappings.shared import BACKEND_NAME

T = TypeVar("T")
D = TypeVar("D")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_CURSOR = 2**63 - 1  # a SQLite INTEGER
SHOWN = 100  # characters of a refused value echoed back: enough to spot it, not to reflect it


def since_of(text: str) -> datetime:
    """A date (`2026-01-01`, its midnight UTC) or an ISO datetime; one without an offset is
    read as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            "expected a date (2026-01-01) or an ISO datetime (2026-01-01T09:30:00Z), "
            f"got {shown(text)}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def backends_of(text: str) -> tuple[str, str]:
    """Two different backend names, comma-separated: `retab,extend` (side a, then side b)."""
    names = [name.strip() for name in text.split(",")]
    if len(names) != 2 or not all(names):
        raise ValueError(f"expected two backend names separated by a comma, got {shown(text)}")
    bad = [name for name in names if not BACKEND_NAME.fullmatch(name)]
    if bad:
        raise ValueError(
            f"{shown(bad[0])} is not a backend name (lowercase letters, digits and _, max 32)"
        )
    if names[0] == names[1]:
        raise ValueError(f"expected two different backends, got {shown(names[0])} twice")
    return names[0], names[1]


def shown(text: str, *, quoted: bool = True) -> str:
    """`text` as an error message echoes it: quoted, and cut to its first SHOWN characters
    (saying how long it was), so a 10 KB value is not sent back whole."""
    if len(text) <= SHOWN:
        return repr(text) if quoted else text
    head = text[:SHOWN]
    return f"{repr(head) if quoted else head}... ({len(text):,} characters)"


class ListingQuery(msgspec.Struct, frozen=True, kw_only=True):
    """`GET /crosswalk/comparisons`'s query: a page of `limit` past the cursor `after`."""

    limit: int = DEFAULT_LIMIT
    after: int = 0
    since: datetime | None = None


class ReportQuery(msgspec.Struct, frozen=True, kw_only=True):
    """`GET /crosswalk/report`'s query (and `crosswalk compare`'s options)."""

    since: datetime | None = None
    backends: tuple[str, str] | None = None


def listing_query(items: Iterable[tuple[str, str]]) -> ListingQuery:
    """The listing's query parameters; ValueError names the one at fault."""
    given = _once(items, ("limit", "after", "since"))
    return ListingQuery(
        limit=_parsed(given, "limit", _limit, DEFAULT_LIMIT),
        after=_parsed(given, "after", _cursor, 0),
        since=_parsed(given, "since", since_of, None),
    )


def report_query(items: Iterable[tuple[str, str]]) -> ReportQuery:
    """The report page's query parameters; ValueError names the one at fault."""
    given = _once(items, ("since", "backends"))
    return ReportQuery(
        since=_parsed(given, "since", since_of, None),
        backends=_parsed(given, "backends", backends_of, None),
    )


def _once(items: Iterable[tuple[str, str]], known: tuple[str, ...]) -> dict[str, str]:
    """Each parameter given at most once and known: a typo is refused, never ignored."""
    given: dict[str, str] = {}
    for name, value in items:
        if name not in known:
            raise ValueError(
                f"{shown(name, quoted=False)}: unknown parameter (known: {', '.join(known)})"
            )
        if name in given:
            raise ValueError(f"{shown(name, quoted=False)}: given more than once")
        given[name] = value
    return given


def _parsed(given: Mapping[str, str], name: str, reader: Callable[[str], T], default: D) -> T | D:
    if name not in given:
        return default
    try:
        return reader(given[name])
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _limit(text: str) -> int:
    try:
        return query_integer(text, low=1, high=MAX_LIMIT)
    except ValueError:
        raise ValueError(
            f"expected a whole number from 1 to {MAX_LIMIT}, got {shown(text)}"
        ) from None


def _cursor(text: str) -> int:
    try:
        return query_integer(text, low=0, high=MAX_CURSOR)
    except ValueError:
        raise ValueError(f"expected the `next` of a listing, got {shown(text)}") from None
