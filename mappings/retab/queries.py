"""Retab's query strings as canonical values: the list parameters of
`GET /v1/classifications` (contracts.md §2.3) and boolean flags such as `include_output`.

FastAPI validates a parameter's type and range with a 422 naming it; the two checks Retab makes
itself (`before` with `after`, an unreadable date) answer 400. Pure: imports only the stdlib and
`mappings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

from mappings import canonical
from mappings.errors import InvalidInput
from mappings.numbers import OutOfRange, query_integer
from mappings.retab.common import STATUS_TO_CANONICAL

MAX_LIMIT = 100
DEFAULT_LIMIT = 10


def list_query_to_canonical(params: Mapping[str, str]) -> canonical.ListQuery:
    """The list parameters as a canonical query; `cursor` is the public id to page from."""
    before, after = params.get("before"), params.get("after")
    if before and after:
        raise InvalidInput(
            "before", "`before` and `after` cannot be combined.", location="query", status=400
        )
    status = params.get("status")
    return canonical.ListQuery(
        limit=_limit(params.get("limit")),
        order=_order(params.get("order", "desc")),
        cursor=before or after or None,
        direction="before" if before else "after",
        filename=params.get("filename") or None,
        status=_status(status) if status is not None else None,
        created_from=_date(params.get("from_date"), "from_date", end=False),
        created_to=_date(params.get("to_date"), "to_date", end=True),
    )


def flag(raw: str | None, name: str) -> bool:
    """A boolean query parameter, true when absent (`include_output`)."""
    if raw is None or raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise _invalid(name, "Input should be a valid boolean")


def _order(raw: str) -> canonical.Order:
    if raw == "asc":
        return "asc"
    if raw == "desc":
        return "desc"
    raise _invalid("order", "Input should be 'asc' or 'desc'")


def _status(raw: str) -> canonical.Status | None:
    if not raw:
        return None
    if raw not in STATUS_TO_CANONICAL:
        raise _invalid("status", f"Input should be one of {', '.join(STATUS_TO_CANONICAL)}")
    return STATUS_TO_CANONICAL[raw]


def _limit(raw: str | None) -> int:
    """FastAPI's `Query(ge=1, le=MAX_LIMIT)`, worded as pydantic words its refusals."""
    if raw is None:
        return DEFAULT_LIMIT
    try:
        return query_integer(raw, low=1, high=MAX_LIMIT)
    except OutOfRange as exc:
        bound = "greater than or equal to 1" if exc.low else f"less than or equal to {MAX_LIMIT}"
        raise _invalid("limit", f"Input should be {bound}") from None
    except ValueError:
        message = "Input should be a valid integer, unable to parse string as an integer"
        raise _invalid("limit", message) from None


def _date(raw: str | None, name: str, *, end: bool) -> datetime | None:
    """`YYYY-MM-DD` (a whole day, inclusive) or an ISO datetime; otherwise a 400."""
    if not raw:
        return None
    try:
        if len(raw) == 10:
            moment = datetime.combine(date.fromisoformat(raw), time.min, tzinfo=UTC)
            return moment + timedelta(days=1, microseconds=-1) if end else moment
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            name,
            f"Invalid {name} {raw!r}: expected a date as YYYY-MM-DD or an ISO 8601 datetime.",
            location="query",
            status=400,
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _invalid(name: str, message: str) -> InvalidInput:
    return InvalidInput(name, message, location="query")
