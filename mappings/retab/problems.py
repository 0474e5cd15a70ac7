"""Retab error bodies to and from the canonical Problem (contracts.md §7.1, §10 hazard 26).

Retab is FastAPI: structured errors are `{"detail": {code, message, details}}`, framework
errors `{"detail": "text"}`, request validation `{"detail": [{loc, msg, type}]}`.
Pure: no I/O. Imports only the stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from mappings import canonical
from mappings.retab.wire import ErrorBody, ErrorDetail, ValidationIssue, error_body_decoder

# Codes a Problem gets when Retab's body names none, by HTTP status (contracts.md §7.1)
CODE_BY_STATUS = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    402: "USAGE_BLOCKED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    422: "INVALID_REQUEST",
    429: "RATE_LIMIT_EXCEEDED",
}

# Rendered as FastAPI's bare string (`"Not authenticated"`, `"Not found"`), as Retab answers
# them: the SDK reads the text as the message and has no code for these either
FRAMEWORK_CODES = frozenset({"UNAUTHORIZED", "NOT_FOUND"})

# FastAPI answers a body that fails validation with 422 (contracts.md §7.1)
INVALID_BODY_STATUS = 422


def error_from_canonical(problem: canonical.Problem) -> ErrorBody:
    """The body Retab would send for `problem`: the 422 list when it names invalid fields, a
    bare string for authentication and not-found errors, else the structured object."""
    if problem.fields:
        return ErrorBody(detail=tuple(_issue(field) for field in problem.fields))
    if problem.code in FRAMEWORK_CODES:
        return ErrorBody(detail=problem.message)
    detail = ErrorDetail(code=problem.code, message=problem.message, details=problem.details)
    return ErrorBody(detail=detail)


def _issue(field: canonical.FieldProblem) -> ValidationIssue:
    return ValidationIssue(loc=field.loc, msg=field.message, type=field.type)


def error_to_canonical(status: int, body: bytes) -> canonical.Problem:
    """An upstream Retab error response as a Problem: any of the three shapes, or plain text
    from a proxy in front of Retab."""
    try:
        detail = error_body_decoder.decode(body).detail
    except msgspec.DecodeError:  # not JSON, or JSON of another shape
        return _problem(status, _fallback_code(status), _text(body, status))
    if isinstance(detail, ErrorDetail):
        details = None if detail.details is msgspec.UNSET else detail.details
        return _problem(status, detail.code, detail.message, details=details)
    if isinstance(detail, str):
        return _problem(status, _fallback_code(status), detail)
    return _validation_problem(status, detail)


def _validation_problem(status: int, issues: tuple[ValidationIssue, ...]) -> canonical.Problem:
    fields = tuple(
        canonical.FieldProblem(loc=issue.loc, message=issue.msg, type=issue.type)
        for issue in issues
    )
    message = "; ".join(f"{_dotted(f.loc)}: {f.message}" for f in fields)
    return _problem(status, "INVALID_REQUEST", message or f"Request failed ({status})", fields)


def _problem(
    status: int,
    code: str,
    message: str,
    fields: tuple[canonical.FieldProblem, ...] = (),
    *,
    details: dict[str, Any] | None = None,
) -> canonical.Problem:
    return canonical.Problem(
        status=status,
        code=code,
        message=message,
        # Retab's own SDK retries exactly these (contracts.md §1)
        retryable=status == 429 or status >= 500,
        details=details,
        fields=fields,
    )


def _fallback_code(status: int) -> str:
    if status >= 500:
        return "INTERNAL_ERROR"
    return CODE_BY_STATUS.get(status, "INVALID_REQUEST")


def _text(body: bytes, status: int) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    return text or f"Request failed ({status})"


def _dotted(loc: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in loc)


def not_found_message(public_id: str) -> str:
    """Retab's 404 message for an unknown run: FastAPI's bare text (examples/*_404_*.json)."""
    return "Not found"


def file_not_found_message(file_id: str) -> str:
    """The 404 message for a file crosswalk does not hold for the caller; it names the id the
    client sent, as Extend's does (Retab's own wording for files is not known)."""
    return f"File {file_id} not found."
