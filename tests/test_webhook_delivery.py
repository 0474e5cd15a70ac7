"""Every run that ends, on any backend and through either surface, reaches a real HTTP
receiver as Extend's signed event, which extend_ai's own verification accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from extend_ai.wrapper.errors import WebhookSignatureVerificationError
from litestar.testing import TestClient

from gateway.config import LocalBackendConfig
from tests.harness import wait_until
from tests.webhook_receiver import Receiver
from tests.webhook_support import EXTEND, EXTEND_BODY, RETAB, RETAB_BODY, hooked, verify

REFUSED_URL = "http://127.0.0.1:9/doc.txt"  # refused by the document guard: never connected to


def _events(receiver: Receiver, count: int) -> list[dict[str, Any]]:
    wait_until(lambda: len(receiver.accepted()) >= count)
    return [json.loads(r.body) for r in receiver.received]


def _extend_view(client: TestClient[Any], public_id: str) -> Any:
    """The run as the Extend surface shows it to its owner."""
    response = client.get(f"/classify_runs/{public_id}", headers=EXTEND)
    assert response.status_code == 200, response.text
    return response.json()


def test_runs_of_both_surfaces_arrive_signed_as_the_extend_surface_shows_them(
    tmp_path: Path,
) -> None:
    """A processed run made through each surface and a failed one each arrive once, verify
    with extend_ai, and carry the run exactly as GET /classify_runs/{id} shows it to its
    owner (public id and dashboardUrl included)."""
    with hooked(tmp_path) as (receiver, client):
        extend_run = client.post("/classify", json=EXTEND_BODY, headers=EXTEND).json()
        retab_run = client.post("/v1/classifications", json=RETAB_BODY, headers=RETAB).json()
        bad = EXTEND_BODY | {"file": {"url": REFUSED_URL}}
        # in the background, a refused document URL fails the run (a sync create, a 400)
        failed_run = client.post("/classify_runs", json=bad, headers=EXTEND).json()
        events = {e["payload"]["id"]: e for e in _events(receiver, 3)}
        views = {public_id: _extend_view(client, public_id) for public_id in events}
    assert (extend_run["status"], retab_run["status"]) == ("PROCESSED", "completed")
    assert events[failed_run["id"]]["payload"]["status"] == "FAILED"
    (retab_id,) = set(events) - {extend_run["id"], failed_run["id"]}
    assert {public_id: e["payload"] for public_id, e in events.items()} == views
    assert events[extend_run["id"]]["payload"] == extend_run
    assert events[retab_id]["payload"]["id"].startswith("clr_")
    types = {public_id: e["eventType"] for public_id, e in events.items()}
    assert types == {
        extend_run["id"]: "classify_run.processed",
        retab_id: "classify_run.processed",
        failed_run["id"]: "classify_run.failed",
    }
    assert receiver.accepted() == {e["eventId"]: 1 for e in events.values()}
    for received in receiver.received:
        assert received.headers["content-type"] == "application/json"
        assert verify(received).event_id == json.loads(received.body)["eventId"]


def test_a_cancelled_run_raises_crosswalks_own_cancelled_event(tmp_path: Path) -> None:
    """Extend has no cancelled event; crosswalk's `classify_run.cancelled` carries the run
    as cancelled, to endpoints that take it."""
    slow = LocalBackendConfig(min_run_seconds=60)  # still running when the cancel lands
    with hooked(tmp_path, slow) as (receiver, client):
        queued = client.post("/classify_runs", json=EXTEND_BODY, headers=EXTEND).json()
        client.post(f"/classify_runs/{queued['id']}/cancel", headers=EXTEND)
        (event,) = _events(receiver, 1)
    assert event["eventType"] == "classify_run.cancelled"
    assert (event["payload"]["id"], event["payload"]["status"]) == (queued["id"], "CANCELLED")
    verify(receiver.received[0])


def test_a_tampered_delivery_does_not_verify(tmp_path: Path) -> None:
    """Change one byte of a real delivery, or its timestamp, and extend_ai refuses it."""
    with hooked(tmp_path) as (receiver, client):
        client.post("/classify", json=EXTEND_BODY, headers=EXTEND)
        wait_until(lambda: len(receiver.received) == 1)
    (genuine,) = receiver.received
    verify(genuine)
    tampered = genuine.body.replace(b'"PROCESSED"', b'"FAILED"')
    with pytest.raises(WebhookSignatureVerificationError):
        verify(type(genuine)(**{**_fields(genuine), "body": tampered}))
    stamp = str(int(genuine.headers["x-extend-request-timestamp"]) + 1)
    moved = {**genuine.headers, "x-extend-request-timestamp": stamp}
    with pytest.raises(WebhookSignatureVerificationError):
        verify(type(genuine)(**{**_fields(genuine), "headers": moved}))


def _fields(received: Any) -> dict[str, Any]:
    return {name: getattr(received, name) for name in received.__struct_fields__}
