"""Extend error bodies to and from the canonical `Problem` (contracts.md §7.2, hazard 26).

Pure: imports only the stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET

from mappings import canonical
from mappings.extend.resources import ApiError
from mappings.nesting import JsonDecoder

_CODE_BY_STATUS = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    402: "USAGE_BLOCKED",  # INFERRED (contracts.md §7.2)
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    422: "INVALID_REQUEST",
    429: "RATE_LIMIT_EXCEEDED",
}
# Extend answers an invalid body or query with 400 INVALID_REQUEST (contracts.md §7.2)
INVALID_BODY_STATUS = 400
_RETRIED_STATUSES = frozenset({408, 409, 429})  # what the Extend SDK retries (§3), plus 5xx
_CONTEXT_KEYS = ("requestId", "docUrl", "runId")
_any_decoder = JsonDecoder(object)


def error_from_canonical(problem: canonical.Problem, *, request_id: str) -> ApiError:
    """A problem as Extend's error body; `requestId` is always present (hazard 26)."""
    return ApiError(
        code=problem.code,
        message=problem.message,
        retryable=problem.retryable,
        request_id=request_id,
        doc_url=UNSET,
    )


def error_to_canonical(status: int, body: bytes) -> canonical.Problem:
    """An Extend upstream error (plain, CLI-style `{"error": {...}}`, or not JSON) as canonical.

    `details` keeps the upstream `requestId`, `docUrl` and `runId` when given.
    """
    fields = _error_fields(body)
    if fields is None:
        text = body.decode("utf-8", errors="replace").strip()
        return _problem(status, message=text or f"HTTP {status}")
    details = {k: fields[k] for k in _CONTEXT_KEYS if isinstance(fields.get(k), str)}
    retryable = fields.get("retryable")
    return _problem(
        status,
        code=fields.get("code") if isinstance(fields.get("code"), str) else None,
        message=str(fields.get("message") or f"HTTP {status}"),
        retryable=retryable if isinstance(retryable, bool) else None,
        details=details or None,
    )


def _error_fields(body: bytes) -> dict[str, Any] | None:
    try:
        decoded = _any_decoder.decode(body)
    except msgspec.DecodeError:  # not JSON, or nested too deep to read
        return None
    if isinstance(decoded, dict) and isinstance(decoded.get("error"), dict):
        decoded = decoded["error"]  # the extend-cli's wrapping (contracts.md §7.2)
    return decoded if isinstance(decoded, dict) else None


def _problem(
    status: int,
    *,
    message: str,
    code: str | None = None,
    retryable: bool | None = None,
    details: dict[str, Any] | None = None,
) -> canonical.Problem:
    fallback_code = "INTERNAL_ERROR" if status >= 500 else _CODE_BY_STATUS.get(status, "ERROR")
    fallback_retry = status >= 500 or status in _RETRIED_STATUSES
    return canonical.Problem(
        status=status,
        code=code or fallback_code,
        message=message,
        retryable=fallback_retry if retryable is None else retryable,
        details=details,
    )


def cancel_refused_message(public_id: str, status: canonical.Status) -> str:
    """Extend's refusal to cancel a run that is no longer processing (hazard 25)."""
    return (
        f"Classify run {public_id} is {status.value} and cannot be cancelled; "
        "only runs still processing can be."
    )


def not_found_message(public_id: str) -> str:
    """Extend's 404 message for an unknown classify run (examples/*_404_*.json)."""
    return f"Classify run {public_id} not found."


# Extend's error vocabulary (contracts.md §7.2); any other code is rendered by status class
CODES = frozenset(
    {"INVALID_REQUEST", "UNAUTHORIZED", "NOT_FOUND", "RATE_LIMIT_EXCEEDED", "USAGE_BLOCKED"}
)
_CODE_FOR_CLIENT = {
    401: "UNAUTHORIZED",
    404: "NOT_FOUND",
    405: "NOT_FOUND",
    429: "RATE_LIMIT_EXCEEDED",
}


def problem_in_vocabulary(problem: canonical.Problem) -> canonical.Problem:
    """`problem` with a code Extend's SDK knows: its own, or the one its status class gets."""
    if problem.code in CODES:
        return problem
    fallback = "INTERNAL_ERROR" if problem.status >= 500 else "INVALID_REQUEST"
    return msgspec.structs.replace(problem, code=_CODE_FOR_CLIENT.get(problem.status, fallback))
