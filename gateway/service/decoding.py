"""Client bodies decoded into wire Structs, and translation refusals, as `InvalidRequest`s
with the status each dialect gives them (contracts.md §7)."""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec

from gateway.errors import InvalidRequest
from mappings import canonical, extend, nesting, retab
from mappings.dialects import Dialect
from mappings.errors import TranslationError, UnsupportedFeature
from mappings.nesting import NestingTooDeep

T = TypeVar("T")

# the status each vendor gives a body (or query) that fails its validation
_INVALID_STATUS: dict[Dialect, int] = {
    "retab": retab.INVALID_BODY_STATUS,
    "extend": extend.INVALID_BODY_STATUS,
}


def decode_body(raw: bytes, type_: type[T], *, dialect: Dialect) -> T:
    """Decode a request body into its wire Struct, or raise InvalidRequest naming the field."""
    try:
        return nesting.decode(raw, type_)
    except NestingTooDeep as exc:
        raise _too_deep(exc, dialect) from None
    except msgspec.ValidationError as exc:
        loc, message = _split_location(str(exc))
        field = canonical.FieldProblem(loc=("body", *loc), message=message, type="value_error")
        raise InvalidRequest(
            _with_path(message, loc), status=_INVALID_STATUS[dialect], fields=(field,)
        ) from None
    except msgspec.DecodeError as exc:
        field = canonical.FieldProblem(loc=("body",), message=str(exc), type="json_invalid")
        raise InvalidRequest(
            f"The request body is not valid JSON: {exc}",
            status=_INVALID_STATUS[dialect],
            fields=(field,),
        ) from None


def peek_body(raw: bytes, type_: type[T], *, dialect: Dialect) -> T | None:
    """A body to be relayed, decoded for the ledger; None when it cannot be read (the vendor
    judges it). One nested too deeply is refused all the same: its run could not be recorded."""
    try:
        return nesting.decode(raw, type_)
    except NestingTooDeep as exc:
        raise _too_deep(exc, dialect) from None
    except msgspec.DecodeError:
        return None


def _too_deep(exc: NestingTooDeep, dialect: Dialect) -> InvalidRequest:
    field = canonical.FieldProblem(loc=("body",), message=str(exc), type="json_invalid")
    return InvalidRequest(
        f"The request body is {exc}.", status=_INVALID_STATUS[dialect], fields=(field,)
    )


def translation_error(exc: TranslationError, dialect: Dialect) -> InvalidRequest:
    """A mapping's refusal as a client error naming the field; one the vendor words itself
    (it has its own `status`) is a plain message, as the vendor sends it."""
    if exc.status is not None:
        return InvalidRequest(exc.reason, status=exc.status)
    loc = tuple(_path_parts(exc.field))
    field = canonical.FieldProblem(loc=(exc.location, *loc), message=exc.reason)
    status = 422 if isinstance(exc, UnsupportedFeature) else _INVALID_STATUS[dialect]
    return InvalidRequest(f"{exc.field}: {exc.reason}", status=status, fields=(field,))


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
