"""A vendor refusing the key crosswalk holds for a backend is the operator's misconfiguration:
the client gets a 502 naming the backend, in its own dialect, not a 401 saying its own key is
wrong. A pure proxy forwards the client's own key, so there the vendor's 401 is the client's."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx

from mappings.dialects import Dialect
from tests.harness import (
    URLS,
    extend_error,
    mocked,
    retab_error,
    running,
    vendor_backend,
    vendor_settings,
    wire,
)
from tests.upstream_answers_app import CREATE_BODY, OTHER, RUNS, SAME, SURFACES, gateway, headers

REFUSALS = {
    "extend": ("extend_error_401_unauthorized.json", "Invalid API key."),
    "retab": ("retab_error_401_detail_string.json", "Not authenticated"),
}


def refused(vendor: Dialect, status: int) -> httpx.Response:
    """The vendor's own refusal of a key."""
    fixture, _ = REFUSALS[vendor]
    return httpx.Response(
        status, content=wire(fixture), headers={"content-type": "application/json"}
    )


def bad_gateway(surface: Dialect, response: httpx.Response) -> tuple[str, object]:
    """(message, retryable) of a 502 in the client's dialect (Retab has no `retryable`)."""
    if surface == "extend":
        body = extend_error(response, 502)
        return str(body["message"]), body["retryable"]
    detail = retab_error(response, 502)
    assert detail["code"] == "UPSTREAM_ERROR"
    return str(detail["message"]), None


@pytest.mark.parametrize(
    "routes", [pytest.param(OTHER, id="translated"), pytest.param(SAME, id="relayed")]
)
@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_gateway_key_is_a_502_naming_the_backend(
    tmp_path: Path, routes: dict[Dialect, Dialect], surface: Dialect, status: int
) -> None:
    """The backend's own key refused, translated or relayed: a 502 that names the backend
    and says the client's key is not at fault."""
    with gateway(tmp_path, routes) as gw:
        vendor = gw.routes[surface]
        gw.vendor_of(surface).post(RUNS[vendor]).mock(return_value=refused(vendor, status))
        message, retryable = bad_gateway(surface, gw.create(surface))
        assert gw.records() == []
    assert f"backend {vendor}" in message
    assert f"HTTP {status}" in message
    assert "client's key is not at fault" in message
    assert REFUSALS[vendor][1] not in message
    assert retryable in (None, False)


@pytest.mark.parametrize("surface", SURFACES)
def test_a_pure_proxy_relays_the_vendors_401_as_the_clients(
    tmp_path: Path, surface: Dialect
) -> None:
    """No key of its own: the client's key went upstream, and the vendor's 401 about it
    reaches the client as it came."""
    settings = vendor_settings(tmp_path, {surface: vendor_backend(surface)}, default=surface)
    upstream = respx.MockRouter(base_url=URLS[surface], assert_all_called=False)
    route = upstream.post(RUNS[surface]).mock(return_value=refused(surface, 401))
    with running(settings, mocked({surface: upstream})) as client:
        response = client.post(RUNS[surface], json=CREATE_BODY[surface], headers=headers(surface))
    assert route.call_count == 1
    assert route.calls.last.request.headers["authorization"] == headers(surface)["authorization"]
    assert response.status_code == 401
    assert response.content == wire(REFUSALS[surface][0])
