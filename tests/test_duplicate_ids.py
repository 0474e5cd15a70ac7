"""A vendor that answers a new run with an id already recorded gets the blame (a 502), and
the earlier run, perhaps another key's, is never served in its place."""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec
import respx
from litestar.testing import TestClient

from gateway.app import create_app
from gateway.config import ExtendBackendConfig, Secret, Settings

WIRE = Path(__file__).parent.parent / "fixtures" / "wire"
UPSTREAM = "https://api.extend.test"
BODY = {
    "document": {"filename": "a.txt", "url": "data:text/plain;base64,SW52b2ljZQ=="},
    "categories": [{"name": "invoice"}],
    "background": True,
}


def test_a_repeated_vendor_id_is_a_502(tmp_path: Path) -> None:
    """Two creates answered with one id: the second client hears of the vendor's error."""
    upstream = respx.MockRouter(base_url=UPSTREAM, assert_all_called=False)
    created = msgspec.json.decode((WIRE / "extend_classify_runs_create_response.json").read_bytes())
    upstream.post("/classify_runs").respond(200, json=created)
    settings = Settings(
        backends={"extend": ExtendBackendConfig(base_url=UPSTREAM, api_key_env="E")},
        default_backend="extend",
        api_keys=(Secret("key-a"), Secret("key-b")),
        upstream_keys={"extend": Secret("sk-extend")},
        store_path=str(tmp_path / "ledger.db"),
    )
    app = create_app(settings, transports={"extend": httpx.MockTransport(upstream.async_handler)})
    with TestClient(app=app) as client:
        first = client.post("/v1/classifications", json=BODY, headers={"api-key": "key-a"})
        second = client.post("/v1/classifications", json=BODY, headers={"api-key": "key-b"})
        listed = client.get("/v1/classifications", headers={"api-key": "key-b"}).json()
    assert first.status_code == 201
    assert second.status_code == 502
    assert second.json()["detail"]["code"] == "UPSTREAM_ERROR"
    assert listed["data"] == []
