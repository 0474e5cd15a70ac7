"""Behaviours that differ between the vendors and that the gateway keeps per dialect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from gateway.config import LocalBackendConfig, ServerConfig
from tests.harness import MakeGateway, local_settings

RETAB = {"authorization": "Bearer k"}
EXTEND = {"authorization": "Bearer k", "x-extend-api-version": "2026-02-09"}
CREATE = {
    "document": {"filename": "a.txt", "url": "data:text/plain;base64,SW52b2ljZSBkdWU="},
    "categories": [{"name": "invoice"}, {"name": "letter"}],
}


@pytest.fixture
def client(make_gateway: MakeGateway, tmp_path: Path) -> TestClient[Any]:
    return make_gateway.client(local_settings(tmp_path))


def test_hazard_25_cancel_semantics_per_dialect(client: TestClient[Any]) -> None:
    """Retab's cancel is idempotent on a finished run; Extend refuses it with a 400."""
    created = client.post("/v1/classifications", json=CREATE, headers=RETAB).json()
    retab = client.post(f"/v1/classifications/{created['id']}/cancel", headers=RETAB)
    assert retab.status_code == 200
    assert retab.json() == created
    extend_id = client.get("/classify_runs", headers=EXTEND).json()["data"][0]["id"]
    extend = client.post(f"/classify_runs/{extend_id}/cancel", headers=EXTEND)
    assert extend.status_code == 400
    assert extend.json()["code"] == "INVALID_REQUEST"


def test_hazard_02_status_codes_follow_the_inbound_dialect(client: TestClient[Any]) -> None:
    """The same work answers 201 to Retab's create and 200 to Extend's classify."""
    assert client.post("/v1/classifications", json=CREATE, headers=RETAB).status_code == 201
    body = {
        "file": {"text": "Invoice due"},
        "config": {"classifications": [{"id": "i", "type": "invoice", "description": "bill"}]},
    }
    assert client.post("/classify", json=body, headers=EXTEND).status_code == 200
    assert client.post("/classify_runs", json=body, headers=EXTEND).json()["status"] == "PROCESSING"


def test_hazard_30_sync_deadline_answers_504_in_the_dialect(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """A sync run past `server.sync_timeout` is a 504; the default outlasts Extend's 5 min."""
    assert ServerConfig().sync_timeout > 300
    slow = LocalBackendConfig(min_run_seconds=0.3)  # every run outlasts the deadline
    settings = local_settings(tmp_path, slow, server=ServerConfig(sync_timeout=0.05))
    client = make_gateway.client(settings)
    retab = client.post("/v1/classifications", json=CREATE, headers=RETAB)
    assert retab.status_code == 504
    assert retab.json()["detail"]["code"] == "TIMEOUT"
    body = {
        "file": {"text": "x"},
        "config": {"classifications": [{"id": "i", "type": "i", "description": "d"}]},
    }
    extend = client.post("/classify", json=body, headers=EXTEND)
    assert extend.status_code == 504
    assert extend.json()["code"] == "INTERNAL_ERROR"
    assert extend.json()["retryable"] is True
    background = client.post(
        "/v1/classifications", json={**CREATE, "background": True}, headers=RETAB
    )
    assert background.status_code == 201  # the deadline is for sync runs only
