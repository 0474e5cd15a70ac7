"""Bytes in, bytes out for both surfaces: body decoding, JSON responses and error rendering.

Every response a client gets — success or error — is built here, in its surface's dialect
(contracts.md §7, §10 hazard 26), with the `crosswalk-translation` and `crosswalk-backend`
headers where they apply.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response

from gateway.dialects import Dialect, dialect_of
from gateway.errors import CrosswalkError, InvalidRequest
from gateway.middleware import request_id_of
from mappings import canonical, extend, retab
from mappings.errors import InvalidInput, UnsupportedFeature
from mappings.notes import Notes

T = TypeVar("T")
TRANSLATION_HEADER = "crosswalk-translation"
BACKEND_HEADER = "crosswalk-backend"
JSON = "application/json"

# Extend's error vocabulary (contracts.md §7.2); anything else is rendered by status class
EXTEND_CODES = frozenset(
    {"INVALID_REQUEST", "UNAUTHORIZED", "NOT_FOUND", "RATE_LIMIT_EXCEEDED", "USAGE_BLOCKED"}
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


def decode_body(raw: bytes, type_: type[T], *, dialect: Dialect) -> T:
    """Decode a request body into its wire Struct, or raise InvalidRequest naming the field."""
    try:
        return msgspec.json.decode(raw, type=type_)
    except msgspec.ValidationError as exc:
        loc, message = _split_location(str(exc))
        field = canonical.FieldProblem(loc=("body", *loc), message=message, type="value_error")
        raise InvalidRequest(
            _with_path(message, loc), status=_decode_status(dialect), fields=(field,)
        ) from None
    except msgspec.DecodeError as exc:
        field = canonical.FieldProblem(loc=("body",), message=str(exc), type="json_invalid")
        raise InvalidRequest(
            f"The request body is not valid JSON: {exc}",
            status=_decode_status(dialect),
            fields=(field,),
        ) from None


def translation_error(exc: InvalidInput | UnsupportedFeature, dialect: Dialect) -> InvalidRequest:
    """A mapping's refusal as a client error naming the field."""
    loc = tuple(_path_parts(exc.field))
    field = canonical.FieldProblem(loc=("body", *loc), message=exc.reason)
    status = 422 if isinstance(exc, UnsupportedFeature) or dialect == "retab" else 400
    return InvalidRequest(f"{exc.field}: {exc.reason}", status=status, fields=(field,))


def error_response(request: Request[Any, Any, Any], error: CrosswalkError) -> Response[bytes]:
    """Render `error` in the dialect of the surface the request came to."""
    dialect = dialect_of(request.url.path)
    problem = error.problem()
    body: Any
    if dialect == "extend":
        body = extend.error_from_canonical(
            _extend_problem(problem), request_id=request_id_of(request.scope)
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


def _extend_problem(problem: canonical.Problem) -> canonical.Problem:
    if problem.code in EXTEND_CODES:
        return problem
    code = {401: "UNAUTHORIZED", 404: "NOT_FOUND", 405: "NOT_FOUND", 429: "RATE_LIMIT_EXCEEDED"}
    fallback = "INTERNAL_ERROR" if problem.status >= 500 else "INVALID_REQUEST"
    return msgspec.structs.replace(problem, code=code.get(problem.status, fallback))


def _decode_status(dialect: Dialect) -> int:
    # FastAPI (Retab) answers body validation with 422; Extend with 400 INVALID_REQUEST
    return 422 if dialect == "retab" else 400


_LOCATION = re.compile(r"^(?P<message>.*?) - at `\$(?P<path>[^`]*)`$", re.DOTALL)
_FIELD = re.compile(r"^Object (?P<kind>missing required|contains unknown) field `(?P<name>[^`]+)`$")
_FIELD_MESSAGES = {
    "missing required": "Field required",
    "contains unknown": "Extra inputs are not permitted",
}
_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[\.\.\.\]")


def _split_location(message: str) -> tuple[tuple[str | int, ...], str]:
    """`Expected int - at `$.categories[0].name`` -> (("categories", 0, "name"), "Expected int")."""
    match = _LOCATION.match(message)
    loc, text = (tuple(_path_parts(match["path"])), match["message"]) if match else ((), message)
    field = _FIELD.match(text)
    if field is not None:  # name the field itself, as FastAPI's `loc` does
        return (*loc, field["name"]), _FIELD_MESSAGES[field["kind"]]
    return loc, text


def _path_parts(path: str) -> list[str | int]:
    if not path.startswith(("[", ".")):
        path = "." + path
    parts: list[str | int] = []
    for name, index in _PART.findall(path):
        parts.append(int(index) if index else name)
    return parts


def _with_path(message: str, loc: tuple[str | int, ...]) -> str:
    if not loc:
        return message
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    return f"{message}; Path: {path}"
