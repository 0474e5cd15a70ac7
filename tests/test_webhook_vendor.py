"""Runs on a vendor backend (Extend, mocked by respx) raise their events when crosswalk sees
them end: by the refresher, or by Extend's own webhook relayed through
`POST /crosswalk/webhooks/extend`, which is verified with Extend's signature and re-signed
for subscribers; anything else Extend sends is forwarded verbatim, once."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import respx
from litestar.testing import TestClient

from gateway.config import Secret
from gateway.store import SqliteLedger
from gateway.store.records import Delivery
from gateway.supervisor import Supervisor
from gateway.webhooks import signing
from tests.harness import (
    URLS,
    MakeGateway,
    local_settings,
    mocked,
    mocked_vendors_settings,
    running,
    wait_until,
    wire_json,
)
from tests.webhook_receiver import Receiver, receiving
from tests.webhook_support import endpoint, verify

EXTEND_SECRET = "wss_extends_own_secret"  # what Extend signs its deliveries to crosswalk with
HEADERS = {"authorization": "Bearer gw-key", "x-extend-api-version": "2026-02-09"}
RELAY = "/crosswalk/webhooks/extend"
CREATED: dict[str, Any] = wire_json("extend_classify_runs_create_response.json")
PROCESSED: dict[str, Any] = wire_json("extend_classify_runs_get_processed.json")
RUN_ID: str = CREATED["id"]


class Vendor(msgspec.Struct, kw_only=True):
    client: TestClient[Any]
    upstream: respx.MockRouter
    receiver: Receiver
    db: Path


@pytest.fixture
def vendor(make_gateway: MakeGateway) -> Iterator[Vendor]:
    """A gateway over a mocked Extend backend holding Extend's webhook secret, delivering
    every event to a loopback receiver; its refresher is stepped by hand."""
    upstream = respx.MockRouter(base_url=URLS["extend"], assert_all_called=False)
    upstream.post("/classify_runs").respond(200, json=CREATED)
    with receiving() as receiver:
        settings = mocked_vendors_settings(
            make_gateway.tmp_path,
            ["extend"],
            default="extend",
            webhooks=(endpoint(receiver.url),),
            vendor_webhook_secrets={"extend": Secret(EXTEND_SECRET)},
        )
        client = make_gateway.client(settings, mocked({"extend": upstream}))
        yield Vendor(
            client=client, upstream=upstream, receiver=receiver, db=Path(settings.store_path)
        )
        make_gateway.stop_all()


def _create(vendor: Vendor) -> None:
    body = {"file": {"text": "Invoice due", "name": "a.txt"}, "config": PROCESSED["config"]}
    response = vendor.client.post("/classify_runs", json=body, headers=HEADERS)
    assert response.json()["id"] == RUN_ID


def _deliveries(vendor: Vendor) -> tuple[Delivery, ...]:
    async def read() -> tuple[Delivery, ...]:
        async with await SqliteLedger.open(str(vendor.db)) as ledger:
            return await ledger.list_deliveries(limit=100)

    return asyncio.run(read())


def _signed(body: bytes, *, secret: str = EXTEND_SECRET, age: int = 0) -> dict[str, str]:
    return signing.signed_headers(secret, int(time.time()) - age, body)


def _event(event_id: str, event_type: str, payload: dict[str, Any]) -> bytes:
    return json.dumps({"eventId": event_id, "eventType": event_type, "payload": payload}).encode()


def test_a_vendor_run_seen_finished_by_the_refresher_is_delivered(vendor: Vendor) -> None:
    """The refresher reads the Extend run as PROCESSED: its event carries Extend's own run
    (native id, Extend's dashboardUrl), signed for the subscriber."""
    vendor.upstream.get(f"/classify_runs/{RUN_ID}").respond(200, json=PROCESSED)
    _create(vendor)
    background: Supervisor = vendor.client.app.state.background
    vendor.client.blocking_portal.call(background.steps()["refresher-extend"])
    wait_until(lambda: len(vendor.receiver.accepted()) == 1)
    (received,) = vendor.receiver.received
    event = verify(received)
    payload = json.loads(received.body)["payload"]
    assert event.event_type == "classify_run.processed"
    assert (payload["id"], payload["status"]) == (RUN_ID, "PROCESSED")
    assert payload["dashboardUrl"] == PROCESSED["dashboardUrl"]


def test_a_relayed_extend_event_updates_the_run_and_is_re_signed_once(vendor: Vendor) -> None:
    """Extend's classify_run.processed for a run crosswalk made updates it; the subscriber
    gets crosswalk's own event, signed with its secret; the same delivery again changes
    nothing and delivers nothing more."""
    _create(vendor)
    body = _event("evt_fromExtend000000000001", "classify_run.processed", PROCESSED)
    for _ in range(2):
        response = vendor.client.post(RELAY, content=body, headers=_signed(body))
        assert (response.status_code, response.json()) == (200, {"received": True})
    wait_until(lambda: len(vendor.receiver.accepted()) == 1)
    (received,) = vendor.receiver.received
    event = json.loads(received.body)
    assert event["eventId"] != "evt_fromExtend000000000001"  # crosswalk's own event
    assert (event["eventType"], event["payload"]["id"]) == ("classify_run.processed", RUN_ID)
    verify(received)
    assert [d.subject for d in _deliveries(vendor)] == [f"extend:{RUN_ID}"]
    listed = vendor.client.get("/v1/classifications", headers=HEADERS).json()["data"]
    assert [run["status"] for run in listed] == ["completed"]  # the ledger's run, updated


@pytest.mark.parametrize(
    ("event_type", "payload"),
    [
        pytest.param(
            "classify_run.processed", PROCESSED | {"id": "clr_NotMadeByCrosswalk0001"}, id="run"
        ),
        pytest.param(
            "batch_processor_run.processed",
            wire_json("extend_batch_runs_get_response.json"),
            id="batch",
        ),
    ],
)
def test_other_extend_events_are_forwarded_verbatim_once(
    vendor: Vendor, event_type: str, payload: dict[str, Any]
) -> None:
    """A run crosswalk did not make, or a batch event, reaches the subscriber with Extend's
    event id and payload bytes unchanged, re-signed; sent twice, it is delivered once."""
    body = _event("evt_fromExtend000000000002", event_type, payload)
    for _ in range(2):
        assert vendor.client.post(RELAY, content=body, headers=_signed(body)).status_code == 200
    wait_until(lambda: len(vendor.receiver.accepted()) == 1)
    (received,) = vendor.receiver.received
    expected = f'{{"eventId":"evt_fromExtend000000000002","eventType":"{event_type}","payload":'
    assert received.body == expected.encode() + json.dumps(payload).encode() + b"}"
    assert verify(received).event_id == "evt_fromExtend000000000002"
    assert len(_deliveries(vendor)) == 1


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        pytest.param({}, "not signed", id="unsigned"),
        pytest.param({"secret": "wss_someone_else"}, "does not match", id="wrong-secret"),
        pytest.param({"age": 301}, "too far from now", id="stale"),
        pytest.param({"tamper": True}, "does not match", id="tampered"),
    ],
)
def test_a_delivery_not_signed_by_extend_is_refused_and_records_nothing(
    vendor: Vendor, headers: dict[str, Any], reason: str
) -> None:
    """Unsigned, wrongly signed, stale or altered: a 401 with a JSON error, and no event."""
    _create(vendor)
    body = _event("evt_fromExtend000000000003", "classify_run.processed", PROCESSED)
    tamper = headers.pop("tamper", False)
    sent = _signed(body, **headers) if headers or tamper else {}
    if tamper:
        body = body.replace(b"PROCESSED", b"FAILED")
    response = vendor.client.post(RELAY, content=body, headers=sent)
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"
    assert reason in response.json()["message"]
    assert _deliveries(vendor) == ()


def test_without_an_extend_webhook_secret_every_delivery_is_refused(tmp_path: Path) -> None:
    """No Extend backend holds a webhook secret: nothing can be verified, so nothing is taken."""
    body = _event("evt_fromExtend000000000004", "classify_run.processed", PROCESSED)
    with running(local_settings(tmp_path)) as client:
        response = client.post(RELAY, content=body, headers=_signed(body))
    assert response.status_code == 401
    assert response.json() == {
        "code": "UNAUTHORIZED",
        "message": "No Extend backend has a webhook secret configured.",
    }
