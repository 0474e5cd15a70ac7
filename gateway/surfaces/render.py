"""Bytes out for both surfaces: JSON responses, relayed answers and error rendering.

Every response a client gets — success or error — is built here, in its surface's dialect
(contracts.md §7, §10 hazard 26), with the `crosswalk-translation`, `crosswalk-backend` and
`crosswalk-attempts` headers where they apply. A relayed answer keeps crosswalk's own
`x-request-id` (gateway/middleware.py) and names the vendor's as
`crosswalk-upstream-request-id`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response

from gateway.dialects import dialect_of
from gateway.errors import CrosswalkError
from gateway.middleware import request_id_of
from gateway.service import Relayed, Served
from mappings import extend, retab
from mappings.notes import Notes

T = TypeVar("T")
TRANSLATION_HEADER = "crosswalk-translation"
BACKEND_HEADER = "crosswalk-backend"
ATTEMPTS_HEADER = "crosswalk-attempts"
JSON = "application/json"

UPSTREAM_REQUEST_ID_HEADER = "crosswalk-upstream-request-id"
# what a vendor's answer carries that its SDK reads (request ids, rate-limit hints); not its
# `x-request-id`, which would hide crosswalk's own (the one in its logs): that is passed on
# as UPSTREAM_REQUEST_ID_HEADER
RELAYED_HEADERS = (
    "content-type",
    "retry-after",
    "retry-after-ms",
    "x-extend-request-id",
)


def json_response(
    body: Any, *, status: int = 200, notes: Notes | None = None, backend: str | None = None
) -> Response[bytes]:
    """A JSON response with the gateway's translation headers."""
    headers = {}
    if notes:
        headers[TRANSLATION_HEADER] = notes.header()
    if backend is not None:
        headers[BACKEND_HEADER] = backend
    return Response(
        content=msgspec.json.encode(body), status_code=status, media_type=JSON, headers=headers
    )


def rendered(outcome: T | Relayed, render: Callable[[T], Response[bytes]]) -> Response[bytes]:
    """A service's outcome as the client's response: relayed as it came, or by `render`;
    with the `crosswalk-attempts` of a create that had fallbacks."""
    response = relayed(outcome) if isinstance(outcome, Relayed) else render(outcome)
    if isinstance(outcome, Relayed | Served) and outcome.attempts is not None:
        response.headers[ATTEMPTS_HEADER] = outcome.attempts
    return response


def relayed(outcome: Relayed) -> Response[bytes]:
    """A vendor's answer as the client's response: status, body and the headers SDKs read."""
    answer = outcome.answer
    headers = {name: answer.headers[name] for name in RELAYED_HEADERS if name in answer.headers}
    if "x-request-id" in answer.headers:
        headers[UPSTREAM_REQUEST_ID_HEADER] = answer.headers["x-request-id"]
    headers[BACKEND_HEADER] = outcome.backend
    media_type = headers.pop("content-type", None)
    return Response(
        content=answer.content,
        status_code=answer.status_code,
        headers=headers,
        media_type=media_type,
    )


def error_response(request: Request[Any, Any, Any], error: CrosswalkError) -> Response[bytes]:
    """Render `error` in the dialect of the surface the request came to."""
    dialect = dialect_of(request.url.path)
    problem = error.problem()
    body: Any
    if dialect == "extend":
        body = extend.error_from_canonical(
            extend.problem_in_vocabulary(problem), request_id=request_id_of(request.scope)
        )
    elif dialect == "retab":
        body = retab.error_from_canonical(problem)
    else:
        body = {"code": problem.code, "message": problem.message}
    return Response(
        content=msgspec.json.encode(body),
        status_code=problem.status,
        media_type=JSON,
        headers=error.headers,
    )
