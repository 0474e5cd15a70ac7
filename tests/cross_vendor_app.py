"""A gateway whose client surface and upstream vendor differ, with the vendor mocked by respx
(built by tests/harness.py).

`serve("retab")` is a Retab-surface client served by an `extend` backend; `serve("extend")` an
Extend-surface client served by a `retab` backend. Used by test_upstream_errors.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import respx
from litestar.testing import TestClient

from mappings import extend
from mappings.dialects import Dialect
from tests.harness import (
    URLS,
    extend_error,
    mocked,
    retab_error,
    running,
    vendor_backend,
    vendor_settings,
    wire_json,
)

GATEWAY_KEY = "gw-key-7f3a"
UPSTREAM_KEY = "sk-upstream-9c2e"
OTHER = {"retab": "extend", "extend": "retab"}
RUNS = {"retab": "/v1/classifications", "extend": "/classify_runs"}  # each dialect's runs


class Leg(msgspec.Struct, frozen=True, kw_only=True):
    """A client of `surface` and the other vendor behind the gateway, mocked."""

    surface: Dialect
    vendor: str
    client: TestClient[Any]
    upstream: respx.MockRouter

    @property
    def headers(self) -> dict[str, str]:
        """What the client's SDK sends besides its body."""
        headers = {"authorization": f"Bearer {GATEWAY_KEY}"}
        if self.surface == "extend":
            headers[extend.VERSION_HEADER] = extend.API_VERSION
        return headers

    @property
    def create_path(self) -> str:
        """The vendor path a sync create from this client is sent to."""
        return "/classify" if self.vendor == "extend" else RUNS["retab"]

    def vendor_run(self, upstream_id: str) -> str:
        """The vendor path of one run."""
        return f"{RUNS[self.vendor]}/{upstream_id}"

    def create(self) -> httpx.Response:
        """A sync create, as the client's SDK sends it."""
        if self.surface == "retab":
            body = wire_json("retab_create_request_background.json")
            body |= {"n_consensus": 1, "background": False}  # what Extend can serve in sync
            return self.client.post("/v1/classifications", json=body, headers=self.headers)
        body = wire_json("extend_classify_request.json")
        return self.client.post("/classify", json=body, headers=self.headers)

    def get(self, public_id: str) -> httpx.Response:
        """A get of a run by its public id."""
        return self.client.get(f"{RUNS[self.surface]}/{public_id}", headers=self.headers)


@contextmanager
def serve(surface: Dialect, tmp_path: Path) -> Iterator[Leg]:
    """A started app serving `surface` clients from the other vendor, mocked by respx."""
    vendor = OTHER[surface]
    settings = vendor_settings(
        tmp_path,
        {vendor: vendor_backend(vendor, api_key_env=f"{vendor.upper()}_API_KEY")},
        default=vendor,
        api_keys=(GATEWAY_KEY,),
        upstream_keys={vendor: UPSTREAM_KEY},
        db=f"{surface}.db",
    )
    router = respx.MockRouter(base_url=URLS[vendor], assert_all_called=False)
    with running(settings, mocked({vendor: router})) as client:
        yield Leg(surface=surface, vendor=vendor, client=client, upstream=router)


def assert_sent_with_upstream_key(leg: Leg, route: respx.Route) -> httpx.Request:
    """The gateway called `route` once, with its own vendor key and (Extend) the API version."""
    assert route.call_count == 1  # no retry layer of its own: the SDKs have one
    request: httpx.Request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert GATEWAY_KEY not in str(request.headers.raw)
    if leg.vendor == "extend":
        assert request.headers[extend.VERSION_HEADER] == extend.API_VERSION
    return request


def error_of(leg: Leg, response: httpx.Response, status: int) -> tuple[str, str, bool | None]:
    """(code, message, retryable) of an error in the client's own envelope; Retab has no
    `retryable`, and its 401/404 are bare strings with no code."""
    if leg.surface == "extend":
        body = extend_error(response, status)
        return body["code"], body["message"], body["retryable"]
    detail = retab_error(response, status)
    if isinstance(detail, str):
        return "", detail, None
    return detail["code"], detail["message"], None
