"""Unfinished vendor runs are re-read in the background, so listings served from the ledger
catch up with runs nobody polls; a failing vendor only costs a log line."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import respx
from litestar.testing import TestClient
from structlog.testing import capture_logs

from gateway.app import create_app
from gateway.config import ExtendBackendConfig, Secret, Settings

WIRE = Path(__file__).parent.parent / "fixtures" / "wire"
UPSTREAM = "https://api.extend.test"
HEADERS = {"authorization": "Bearer gw-key"}
BODY = {
    "document": {"filename": "a.txt", "url": "data:text/plain;base64,SW52b2ljZQ=="},
    "categories": [{"name": "invoice"}, {"name": "receipt"}],
    "background": True,
}


def _run(name: str) -> dict[str, Any]:
    run: dict[str, Any] = msgspec.json.decode((WIRE / name).read_bytes())
    return run


@pytest.fixture
def upstream() -> respx.MockRouter:
    router = respx.MockRouter(base_url=UPSTREAM, assert_all_called=False)
    created = _run("extend_classify_runs_create_response.json")
    router.post("/classify_runs").respond(200, json=created)
    return router


def _client(tmp_path: Path, upstream: respx.MockRouter, interval: float) -> TestClient[Any]:
    backend = ExtendBackendConfig(
        base_url=UPSTREAM, api_key_env="EXTEND_API_KEY", refresh_interval=interval
    )
    settings = Settings(
        backends={"extend": backend},
        default_backend="extend",
        api_keys=(Secret("gw-key"),),
        upstream_keys={"extend": Secret("sk-extend")},
        store_path=str(tmp_path / "ledger.db"),
    )
    transport = httpx.MockTransport(upstream.async_handler)
    return TestClient(app=create_app(settings, transports={"extend": transport}))


@pytest.fixture
def client(tmp_path: Path, upstream: respx.MockRouter) -> Iterator[TestClient[Any]]:
    with _client(tmp_path, upstream, interval=0.05) as test_client:
        yield test_client


def _listed_status(client: TestClient[Any]) -> str:
    status: str = client.get("/v1/classifications", headers=HEADERS).json()["data"][0]["status"]
    return status


def _wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.02)


def test_a_finished_run_shows_in_the_listing_without_being_polled(
    client: TestClient[Any], upstream: respx.MockRouter
) -> None:
    """The vendor finishes the run; the listing follows though no client read the run."""
    created = _run("extend_classify_runs_create_response.json")
    route = upstream.get(f"/classify_runs/{created['id']}")
    route.respond(200, json=created)
    assert client.post("/v1/classifications", json=BODY, headers=HEADERS).status_code == 201
    assert _listed_status(client) == "queued"
    _wait_for(lambda: route.call_count > 0)
    assert _listed_status(client) != "completed"
    finished = _run("extend_classify_runs_get_processed.json") | {"id": created["id"]}
    route.respond(200, json=finished)
    _wait_for(lambda: _listed_status(client) == "completed")
    assert route.calls.last.request.headers["authorization"] == "Bearer sk-extend"


def test_a_failing_vendor_is_logged_and_retried(
    client: TestClient[Any], upstream: respx.MockRouter
) -> None:
    """A vendor error leaves the run as it was, logs a warning, and is tried again later."""
    created = _run("extend_classify_runs_create_response.json")
    route = upstream.get(f"/classify_runs/{created['id']}")
    route.respond(503, text="down")
    with capture_logs() as logs:
        client.post("/v1/classifications", json=BODY, headers=HEADERS)
        _wait_for(lambda: route.call_count >= 2)
    assert _listed_status(client) == "queued"
    failures = [e for e in logs if e["event"] == "refresh.failed"]
    assert failures
    assert failures[0]["backend"] == "extend"
    assert failures[0]["status"] == 502


def test_a_zero_interval_turns_it_off(tmp_path: Path, upstream: respx.MockRouter) -> None:
    """`refresh_interval = 0`: nothing reads the vendor behind the clients' backs."""
    created = _run("extend_classify_runs_create_response.json")
    route = upstream.get(f"/classify_runs/{created['id']}").respond(200, json=created)
    with _client(tmp_path, upstream, interval=0) as client:
        client.post("/v1/classifications", json=BODY, headers=HEADERS)
        time.sleep(0.3)
        assert _listed_status(client) == "queued"
    assert route.call_count == 0
