"""What the OpenAPI document says of one operation: its method and path, the surface that
answers it, how a caller authenticates, its body and query parameters, and every status it
answers with the wire type of each body. Plain data, read by `document.py`."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

Surface = Literal["retab", "extend", "crosswalk"]
# the security schemes each operation may name (document.py defines them)
Auth = Literal["retab", "extend", "crosswalk", "signed-link", "extend-signature", "none"]
JSON = "application/json"


class Param(msgspec.Struct, frozen=True, kw_only=True):
    """A query or header parameter: its name, JSON Schema and meaning."""

    name: str
    schema: dict[str, Any]
    description: str
    where: Literal["query", "header"] = "query"
    required: bool = False


class Body(msgspec.Struct, frozen=True, kw_only=True):
    """A request or response body: a msgspec wire type, or a raw JSON Schema for what no
    wire type describes (a multipart form, a file's bytes, an HTML page)."""

    type: Any = None
    schema: dict[str, Any] | None = None
    media_type: str = JSON


class Operation(msgspec.Struct, frozen=True, kw_only=True):
    """One documented operation. `errors` are the statuses it answers with its surface's
    error envelope; `ok` the success status, with `answer` its body (None: no body)."""

    id: str
    method: Literal["get", "post", "put", "delete"]
    path: str
    surface: Surface
    summary: str
    auth: Auth
    ok: int = 200
    answer: Body | None = None
    body: Body | None = None
    query: tuple[Param, ...] = ()
    errors: tuple[int, ...] = ()
    # other statuses whose body is not the error envelope (e.g. /readyz's 503)
    others: tuple[tuple[int, Body], ...] = ()


def string(description: str, name: str, **schema: Any) -> Param:
    """A string query parameter."""
    return Param(name=name, schema={"type": "string", **schema}, description=description)


def integer(description: str, name: str, *, low: int, high: int, default: int) -> Param:
    """An integer query parameter between `low` and `high`."""
    schema = {"type": "integer", "minimum": low, "maximum": high, "default": default}
    return Param(name=name, schema=schema, description=description)


def choice(description: str, name: str, values: tuple[str, ...], **schema: Any) -> Param:
    """A query parameter taking one of `values`."""
    return Param(
        name=name,
        schema={"type": "string", "enum": list(values), **schema},
        description=description,
    )


def boolean(description: str, name: str, *, default: bool) -> Param:
    """A boolean query parameter."""
    schema = {"type": "boolean", "default": default}
    return Param(name=name, schema=schema, description=description)


def wire(type_: Any) -> Body:
    """A JSON body of a msgspec wire type."""
    return Body(type=type_)
