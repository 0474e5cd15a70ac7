"""When a create falls back from its primary backend to the next `[routing] fallback` backend,
and how the attempts are told to the client (design.md §5).

A create falls back only when no run can exist on the backend it was sent to: nothing was sent
(UpstreamUnsent), or the vendor answered a 5xx or a 429 before accepting a run. Never on
another 4xx (the client's to fix, answered as is), a timeout once the request was sent
(crosswalk's own, or a vendor's 504: the vendor may still be making the run), an
answer crosswalk could not read, nor any failure after the vendor accepted a run (the accepted
hook recorded it): a second run would be made elsewhere. An open circuit (CircuitOpen, an
UpstreamUnsent: nothing was sent) falls back too.

`crosswalk-attempts` lists each backend tried, in order, as `name:outcome` joined by `, `:
`ok`, the vendor's HTTP status (`503`, `429`), `unsent` (no connection), `open` (the
backend's circuit is open), `timeout`, or `untranslatable` (a fallback that could not take
the body; the primary's error is answered).
Backend names only: never a key, a URL or a vendor's message.
"""

from __future__ import annotations

import httpx

from gateway.errors import (
    CircuitOpen,
    CrosswalkError,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnsent,
)


def falls_back(error: CrosswalkError) -> bool:
    """Whether a failed create may be sent to the next fallback backend."""
    if not isinstance(error, UpstreamError) or error.run_made:
        return False
    if isinstance(error, UpstreamUnsent):
        return True
    return _retried_elsewhere(error.upstream_status)


def relayed_falls_back(answer: httpx.Response) -> bool:
    """Whether a relayed vendor answer to a create is a failure to fall back from."""
    return _retried_elsewhere(answer.status_code)


def outcome_of(error: CrosswalkError) -> str:
    """An attempt's outcome in `crosswalk-attempts` for a create that raised `error`."""
    if isinstance(error, CircuitOpen):
        return "open"
    if isinstance(error, UpstreamUnsent):
        return "unsent"
    if isinstance(error, UpstreamTimeout):
        return "timeout"
    if isinstance(error, UpstreamError) and error.upstream_status is not None:
        return str(error.upstream_status)
    return str(error.status)


def header(attempts: list[tuple[str, str]]) -> str:
    """The `crosswalk-attempts` value of (backend, outcome) pairs."""
    return ", ".join(f"{backend}:{outcome}" for backend, outcome in attempts)


def _retried_elsewhere(status: int | None) -> bool:
    return status is not None and (status >= 500 or status == 429) and status != 504
