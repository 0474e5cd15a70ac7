"""Same-vendor pass-through edge cases: what the vendor accepts is relayed even when crosswalk
cannot read it, and says so in the log rather than failing the client."""

from __future__ import annotations

from typing import Any

import pytest
import respx
from litestar.testing import TestClient
from structlog.testing import capture_logs

from tests.harness import URLS, MakeGateway

UPSTREAM = URLS["retab"]
HEADERS = {"authorization": "Bearer gw-key"}
BODY = {
    "document": {"filename": "a.txt", "url": "data:text/plain;base64,SGVsbG8="},
    "categories": [{"name": "invoice"}],
}


@pytest.fixture
def upstream() -> respx.MockRouter:
    return respx.MockRouter(base_url=UPSTREAM, assert_all_called=False)


@pytest.fixture
def client(make_gateway: MakeGateway, upstream: respx.MockRouter) -> TestClient[Any]:
    return make_gateway.mocked_client({"retab": upstream}, default="retab")


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
