"""A vendor's rate-limit hint reaches the client as `Retry-After` when it is one: a whole
number of seconds, an HTTP date, or `retry-after-ms`. Anything else (`²`, `abc`, `1e999`, a
negative or a huge number) is ignored, never a 500, on every operation that can meet it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx

from mappings.dialects import Dialect
from tests.harness import wire
from tests.upstream_answers_app import CREATED_STATUS as CREATED
from tests.upstream_answers_app import (
    OTHER,
    RUNS,
    SURFACES,
    Gateway,
    answer,
    gateway,
    native_id,
)

DATE = "Wed, 21 Oct 2015 07:28:00 GMT"
# (the vendor's headers, the client's Retry-After or None)
HINTS: list[tuple[dict[str, str], str | None]] = [
    ({"retry-after": "7"}, "7"),
    ({"retry-after": DATE}, DATE),
    ({"retry-after-ms": "2500"}, "3"),
    ({"retry-after-ms": "0.5"}, "1"),
    *(
        ({name: value}, None)
        for name in ("retry-after", "retry-after-ms")
        for value in ("²", "abc", "1e999", "-5", "9" * 400, "1.5.2", "inf", "nan", " ")
    ),
    ({"retry-after": "86401"}, None),  # more than a day: no hint anyone can follow
    ({"retry-after-ms": "86400001"}, None),
    ({"retry-after": "abc", "retry-after-ms": "1200"}, "2"),  # the one that can be read
]
OPERATIONS = ["create", "get", "cancel", "delete"]


def rate_limited(vendor: Dialect, hint: dict[str, str]) -> httpx.Response:
    """The vendor's own 429, with `hint` among its headers (sent as UTF-8, `²` included)."""
    raw = [(name.encode(), value.encode()) for name, value in hint.items()]
    if vendor == "extend":
        body = wire("extend_error_429_rate_limited.json")
        return httpx.Response(
            429, content=body, headers=[(b"content-type", b"application/json"), *raw]
        )
    # Retab's rate limiter answers before its FastAPI app: plain text (contracts.md §7.1)
    return httpx.Response(429, content=b"Rate limit exceeded", headers=raw)


def limited_route(gw: Gateway, surface: Dialect, operation: str) -> respx.Route:
    """The vendor route where the operation will meet a 429; for all but a create, a run
    is created first, and found unfinished."""
    vendor, upstream = gw.routes[surface], gw.vendor_of(surface)
    create = upstream.post(RUNS[vendor]).respond(CREATED[vendor], json=answer(vendor, "create"))
    if operation == "create":
        return create
    response = gw.create(surface)
    assert response.is_success, response.text
    one = f"{RUNS[vendor]}/{native_id(vendor)}"
    if operation == "cancel":
        upstream.get(one).respond(200, json=answer(vendor, "get"))
        return upstream.post(f"{one}/cancel")
    return upstream.get(one) if operation == "get" else upstream.delete(one)


def call(gw: Gateway, surface: Dialect, operation: str) -> httpx.Response:
    """The client's operation on the run it created last (for all but a create)."""
    if operation == "create":
        return gw.create(surface)
    public_id = gw.listed(surface)[0]
    action = {"get": gw.get, "cancel": gw.cancel, "delete": gw.delete}[operation]
    return action(surface, public_id)


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_only_a_usable_rate_limit_hint_reaches_the_client(
    tmp_path: Path, surface: Dialect, operation: str
) -> None:
    """Every hint on a 429 for every operation: the client gets a 429 in its dialect, with
    `Retry-After` exactly when the vendor's hint could be read."""
    # retries off: a hint the gateway waits out itself is test_retries.py's
    with gateway(tmp_path, OTHER, {"retries": 0}) as gw:
        route, vendor = limited_route(gw, surface, operation), gw.routes[surface]
        for hint, expected in HINTS:
            route.mock(return_value=rate_limited(vendor, hint))
            response = call(gw, surface, operation)
            assert response.status_code == 429, (hint, response.text)
            assert response.headers.get("retry-after") == expected, hint
