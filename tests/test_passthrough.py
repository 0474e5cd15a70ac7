"""Same-vendor pass-through edge cases: what the vendor accepts is relayed even when crosswalk
cannot read it, and says so in the log rather than failing the client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from litestar.testing import TestClient
from structlog.testing import capture_logs

from gateway.app import create_app
from gateway.config import RetabBackendConfig, Secret, Settings

UPSTREAM = "https://api.retab.test"
HEADERS = {"authorization": "Bearer gw-key"}
BODY = {
    "document": {"filename": "a.txt", "url": "data:text/plain;base64,SGVsbG8="},
    "categories": [{"name": "invoice"}],
}


@pytest.fixture
def upstream() -> respx.MockRouter:
    return respx.MockRouter(base_url=UPSTREAM, assert_all_called=False)


@pytest.fixture
def client(tmp_path: Path, upstream: respx.MockRouter) -> Iterator[TestClient[Any]]:
    settings = Settings(
        backends={"retab": RetabBackendConfig(base_url=UPSTREAM, api_key_env="RETAB_API_KEY")},
        default_backend="retab",
        api_keys=(Secret("gw-key"),),
        upstream_keys={"retab": Secret("sk-retab")},
        store_path=str(tmp_path / "ledger.db"),
    )
    app = create_app(settings, transports={"retab": httpx.MockTransport(upstream.async_handler)})
    with TestClient(app=app) as test_client:
        yield test_client


def test_an_unreadable_vendor_answer_is_relayed_and_logged(
    client: TestClient[Any], upstream: respx.MockRouter
) -> None:
    """A 201 whose body crosswalk cannot read reaches the client unchanged; it is not recorded,
    and a warning names the backend."""
    odd = b'{"id": "cls_future", "shape": "from a newer API"}'
    upstream.post("/v1/classifications").respond(201, content=odd)
    with capture_logs() as logs:
        response = client.post("/v1/classifications", json=BODY, headers=HEADERS)
    assert response.status_code == 201
    assert response.content == odd
    assert response.headers["crosswalk-backend"] == "retab"
    assert any(e["event"] == "passthrough.unrecorded" and e["backend"] == "retab" for e in logs)
    upstream.get("/v1/classifications/cls_future").respond(404, json={"detail": "Not found"})
    assert client.get("/v1/classifications/cls_future", headers=HEADERS).status_code == 404


def test_a_vendor_error_is_relayed_byte_for_byte(
    client: TestClient[Any], upstream: respx.MockRouter
) -> None:
    """A vendor 4xx keeps its exact body and status: the SDK reads the vendor's own words."""
    error = b'{"detail": {"code": "INVALID_SCHEMA", "message": "bad", "details": {"x": 1}}}'
    upstream.post("/v1/classifications").respond(400, content=error)
    response = client.post("/v1/classifications", json=BODY, headers=HEADERS)
    assert response.status_code == 400
    assert response.content == error
