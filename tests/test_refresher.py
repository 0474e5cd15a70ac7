"""Unfinished vendor runs are re-read in the background, so listings served from the ledger
catch up with runs nobody polls; a failing vendor only costs a log line."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
import respx
from litestar.testing import TestClient
from structlog.testing import capture_logs

from gateway.supervisor import Supervisor
from tests.harness import URLS, MakeGateway, mocked, mocked_vendors_settings, wire_json

UPSTREAM = URLS["extend"]
HEADERS = {"authorization": "Bearer gw-key"}
BODY = {
    "document": {"filename": "a.txt", "url": "data:text/plain;base64,SW52b2ljZQ=="},
    "categories": [{"name": "invoice"}, {"name": "receipt"}],
    "background": True,
}


def _run(name: str) -> dict[str, Any]:
    run: dict[str, Any] = wire_json(name)
    return run


@pytest.fixture
def upstream() -> respx.MockRouter:
    router = respx.MockRouter(base_url=UPSTREAM, assert_all_called=False)
    created = _run("extend_classify_runs_create_response.json")
    router.post("/classify_runs").respond(200, json=created)
    return router


def _client(
    make_gateway: MakeGateway, upstream: respx.MockRouter, interval: float
) -> TestClient[Any]:
    settings = mocked_vendors_settings(
        make_gateway.tmp_path, ["extend"], default="extend", api_keys=("gw-key",)
    )
    # each refresh is one call here: retries of a failing read are test_retries.py's
    backend = msgspec.structs.replace(
        settings.backends["extend"], refresh_interval=interval, retries=0
    )
    settings = msgspec.structs.replace(settings, backends={"extend": backend})
    return make_gateway.client(settings, mocked({"extend": upstream}))


REFRESHER = "refresher-extend"  # the loop's name among the app's background work
IDLE = 3600.0  # the refresher's own loop runs once at start-up, then waits; tests step it


@pytest.fixture
def client(make_gateway: MakeGateway, upstream: respx.MockRouter) -> TestClient[Any]:
    return _client(make_gateway, upstream, interval=IDLE)


def _refresh(client: TestClient[Any]) -> None:
    """One pass of the app's refresher, run in the app's own event loop."""
    background: Supervisor = client.app.state.background
    client.blocking_portal.call(background.steps()[REFRESHER])


def _listed_status(client: TestClient[Any]) -> str:
    status: str = client.get("/v1/classifications", headers=HEADERS).json()["data"][0]["status"]
    return status


def test_a_finished_run_shows_in_the_listing_without_being_polled(
    client: TestClient[Any], upstream: respx.MockRouter
) -> None:
    """The vendor finishes the run; the listing follows though no client read the run."""
    created = _run("extend_classify_runs_create_response.json")
    route = upstream.get(f"/classify_runs/{created['id']}")
    route.respond(200, json=created)
    assert client.post("/v1/classifications", json=BODY, headers=HEADERS).status_code == 201
    assert _listed_status(client) == "queued"
    _refresh(client)
    assert route.call_count == 1
    assert _listed_status(client) == "in_progress"  # what the vendor said: still processing
    finished = _run("extend_classify_runs_get_processed.json") | {"id": created["id"]}
    route.respond(200, json=finished)
    _refresh(client)
    assert _listed_status(client) == "completed"
    assert route.calls.last.request.headers["authorization"] == "Bearer sk-extend"
    _refresh(client)
    assert route.call_count == 2  # a finished run is not read again


def test_a_failing_vendor_is_logged_and_retried(
    client: TestClient[Any], upstream: respx.MockRouter
) -> None:
    """A vendor error leaves the run as it was, logs a warning, and is tried again later."""
    created = _run("extend_classify_runs_create_response.json")
    route = upstream.get(f"/classify_runs/{created['id']}")
    route.respond(503, text="down")
    client.post("/v1/classifications", json=BODY, headers=HEADERS)
    with capture_logs() as logs:
        _refresh(client)
        _refresh(client)
    assert route.call_count == 2
    assert _listed_status(client) == "queued"
    failures = [e for e in logs if e["event"] == "refresh.failed"]
    assert len(failures) == 2
    assert failures[0]["backend"] == "extend"
    assert failures[0]["status"] == 502


def test_a_zero_interval_turns_it_off(
    make_gateway: MakeGateway, upstream: respx.MockRouter
) -> None:
    """`refresh_interval = 0`: nothing reads the vendor behind the clients' backs."""
    created = _run("extend_classify_runs_create_response.json")
    route = upstream.get(f"/classify_runs/{created['id']}").respond(200, json=created)
    client = _client(make_gateway, upstream, interval=0)
    background: Supervisor = client.app.state.background
    assert REFRESHER not in background.steps()
    client.post("/v1/classifications", json=BODY, headers=HEADERS)
    assert _listed_status(client) == "queued"
    assert route.call_count == 0
