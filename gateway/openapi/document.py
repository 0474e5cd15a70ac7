"""The OpenAPI 3.1 document of both surfaces and crosswalk's own endpoints, built from the
operation table (routes.py) and the msgspec wire types each operation names: request bodies,
query parameters, every status with its body's JSON Schema, each surface's error envelope
and the security schemes each surface accepts (design.md §2, §6, §8).

Wire types are named by their vendor (`RetabClassification`, `ExtendClassifyRun`), so the
two vendors' `File` or `Classification` never clash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import msgspec

from gateway.openapi.operation import JSON, Auth, Body, Operation, Param, Surface
from gateway.openapi.routes import OPERATIONS, Problem
from mappings import extend, retab

SCHEMAS = "#/components/schemas/"
ERROR_TYPES: dict[Surface, Any] = {
    "retab": retab.ErrorBody,
    "extend": extend.ApiError,
    "crosswalk": Problem,
}
STATUS_TEXT = {
    200: "OK.",
    201: "Created.",
    204: "Deleted: no body.",
    400: "Bad request: an invalid body, query or `x-extend-api-version`, or a refused action.",
    401: "No key, or a key that is not one of the gateway's keys.",
    403: "The signed link or upload URL is invalid or has expired.",
    404: "Not found, or not the caller's.",
    409: "A request with the same key is still being served.",
    413: "The body is larger than this server accepts.",
    422: "The request cannot be served as written: an invalid body or query, or a feature "
    "the serving backend lacks.",
    429: "Too many requests: retry after `Retry-After` seconds.",
    500: "An unexpected error.",
    502: "The backend's vendor failed, refused or could not be reached.",
    503: "Not ready, or the backend is ejected for a cool-down: retry after `Retry-After`.",
    504: "The backend's vendor did not answer in time.",
}
RELAYED = (
    "Any other status a backend of this surface's own vendor answered (a same-vendor backend "
    "relays the vendor's answer as it came, e.g. 402 or 429)."
)
SECURITY: dict[Auth, list[dict[str, list[str]]]] = {
    "retab": [{"bearer": []}, {"apiKey": []}],
    "crosswalk": [{"bearer": []}, {"apiKey": []}],
    "extend": [{"bearer": []}],
    "extend-signature": [{"extendSignature": []}],
    "signed-link": [],
    "none": [],
}
SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "A gateway key (`[auth] api_keys_env`), or with none configured any "
        "non-empty key; runs, files and comparisons are scoped per key.",
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "Api-Key",
        "description": "The same key as Retab's docs send it (Retab's surface only).",
    },
    "extendSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "x-extend-request-signature",
        "description": "Extend's webhook signature, checked against `[backends.*] "
        "webhook_secret_env`, with `x-extend-request-timestamp`.",
    },
}
EXTEND_HEADERS = (
    Param(
        name=extend.VERSION_HEADER,
        where="header",
        schema={"type": "string", "enum": [extend.API_VERSION]},
        description="The API version, as Extend's SDK sends it; none or another is a 400.",
        required=True,
    ),
    Param(
        name=extend.WORKSPACE_HEADER,
        where="header",
        schema={"type": "string"},
        description="Forwarded to an Extend upstream.",
    ),
)
REQUEST_ID = {
    "description": "This request's id (an incoming one is kept).",
    "schema": {"type": "string"},
}
PREFIXES = {"mappings.retab": "Retab", "mappings.extend": "Extend"}


def openapi_document(operations: Iterable[Operation] = OPERATIONS) -> dict[str, Any]:
    """The whole document, as JSON-ready data."""
    operations = tuple(operations)
    schemas = _components(operations)
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method] = _operation(operation)
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "crosswalk",
            "version": "0.1.0",
            "description": "Retab's API (`/v1/...`) and Extend's (`/classify`, "
            "`/classify_runs`, `/files`, `/classifiers`, `/batch_runs`) served by one "
            "gateway, each in its own vendor's shapes, statuses and error bodies; and "
            "crosswalk's own endpoints under `/crosswalk`.",
        },
        "tags": [
            {"name": "retab", "description": "Retab's surface."},
            {
                "name": "extend",
                "description": f"Extend's surface (API version {extend.API_VERSION}).",
            },
            {"name": "crosswalk", "description": "crosswalk's own endpoints."},
        ],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": SECURITY_SCHEMES,
            "headers": {"RequestId": REQUEST_ID},
        },
    }
    # through JSON once, so msgspec's tuple defaults and the like become plain JSON values
    built: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(document))
    return built


def schema_name(type_: Any) -> str:
    """A wire type's component name: its class name, prefixed by its vendor's."""
    module: str = type_.__module__
    return _prefixed(_prefix(module), type_.__name__)


def _prefix(module: str) -> str:
    return next((p for m, p in PREFIXES.items() if module.startswith(m)), "Crosswalk")


def _prefixed(prefix: str, name: str) -> str:
    # msgspec names two same-named types of one pass by their module path
    short = name.replace(".", "_")
    return short if short.startswith(prefix) else prefix + short


def _components(operations: tuple[Operation, ...]) -> dict[str, Any]:
    """Every wire type's JSON Schema, one msgspec pass per vendor, each named by its vendor."""
    types = {*ERROR_TYPES.values()}
    for operation in operations:
        bodies = (operation.body, operation.answer, *(body for _, body in operation.others))
        for body in bodies:
            if body is not None and body.type is not None:
                types.add(body.type)
    by_prefix: dict[str, list[Any]] = {}
    for type_ in types:
        by_prefix.setdefault(_prefix(type_.__module__), []).append(type_)
    schemas: dict[str, Any] = {}
    for prefix, members in sorted(by_prefix.items()):
        members.sort(key=schema_name)
        _, found = msgspec.json.schema_components(members, ref_template=SCHEMAS + "{name}")
        names = {name: _prefixed(prefix, name) for name in found}
        schemas.update({names[name]: _renamed(schema, names) for name, schema in found.items()})
    return dict(sorted(schemas.items()))


def _renamed(node: Any, names: dict[str, str]) -> Any:
    """`node` with each `$ref` pointing at its component's prefixed name."""
    if isinstance(node, dict):
        return {
            key: SCHEMAS + names[value.removeprefix(SCHEMAS)]
            if key == "$ref"
            else _renamed(value, names)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_renamed(item, names) for item in node]
    return node


def _operation(operation: Operation) -> dict[str, Any]:
    documented: dict[str, Any] = {
        "operationId": operation.id,
        "summary": operation.summary,
        "tags": [operation.surface],
        "security": SECURITY[operation.auth],
        "responses": _responses(operation),
    }
    parameters = _parameters(operation)
    if parameters:
        documented["parameters"] = parameters
    if operation.body is not None:
        documented["requestBody"] = {"required": True, "content": _content(operation.body)}
    return documented


def _parameters(operation: Operation) -> list[dict[str, Any]]:
    path = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", operation.path)
    ]
    headers = EXTEND_HEADERS if operation.surface == "extend" else ()
    return path + [_parameter(p) for p in (*operation.query, *headers)]


def _parameter(param: Param) -> dict[str, Any]:
    return {
        "name": param.name,
        "in": param.where,
        "required": param.required,
        "description": param.description,
        "schema": param.schema,
    }


def _responses(operation: Operation) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": STATUS_TEXT[operation.ok]}
    if operation.answer is not None:
        ok["content"] = _content(operation.answer)
    responses = {str(operation.ok): ok}
    for status, body in operation.others:
        responses[str(status)] = {"description": STATUS_TEXT[status], "content": _content(body)}
    error = _content(Body(type=ERROR_TYPES[operation.surface]))
    for status in sorted(operation.errors):
        responses[str(status)] = {"description": STATUS_TEXT[status], "content": error}
    if operation.surface != "crosswalk":
        responses["default"] = {"description": RELAYED, "content": error}
    for response in responses.values():
        response["headers"] = {"x-request-id": {"$ref": "#/components/headers/RequestId"}}
    return responses


def _content(body: Body) -> dict[str, Any]:
    schema = body.schema if body.type is None else {"$ref": SCHEMAS + schema_name(body.type)}
    return {body.media_type: {"schema": schema}}


__all__ = ["JSON", "openapi_document", "schema_name"]
