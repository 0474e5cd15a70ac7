"""How a batch settles (contracts.md §5, §8): PROCESSED once every run is terminal, FAILED
when not one input could be made into a run, CANCELLED when every run ended cancelled, a
deleted run counting as settled; an input that cannot be created is a FAILED run of the batch,
listed and readable; a settled batch raises `batch_processor_run.*` with its BatchRun in the
same write as its status change."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import msgspec
import pytest

from gateway.config import LocalBackendConfig, Secret, Settings, WebhookEndpoint
from mappings.extend import webhooks
from tests.batch_support import (
    HEADERS,
    KEY,
    batch_body,
    batch_runs,
    batch_status,
    saved_classifiers,
    statuses_until_settled,
)
from tests.harness import SLOW_RUN_SECONDS, MakeGateway, local_settings, wait_until

HOOK = WebhookEndpoint(
    name="hooks",
    url="http://127.0.0.1:9/hooks",  # loopback's discard port: nothing is delivered here
    secret=Secret("wss_test"),
    events=(*webhooks.BATCH_EVENTS, *webhooks.RUN_EVENTS),
    allow_private=True,
)


def _settings(tmp_path: Path, local: LocalBackendConfig | None = None) -> Settings:
    return local_settings(
        tmp_path,
        local or LocalBackendConfig(),
        api_keys=(KEY,),
        classifiers=saved_classifiers(),
        webhooks=(HOOK,),
    )


def _events(tmp_path: Path, kind: str) -> list[tuple[str, str, Any]]:
    """The outbox's events of `kind`: (type, subject, data) in the order raised."""
    with closing(sqlite3.connect(tmp_path / "crosswalk.db")) as conn:
        rows = conn.execute(
            "SELECT event_type, subject, data FROM webhook_events WHERE kind = ? ORDER BY seq",
            (kind,),
        ).fetchall()
    return [(t, s, msgspec.json.decode(d)) for t, s, d in rows]


def test_a_processed_batch_raises_its_event_with_its_batch_run(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """The event exists as soon as the status does (one write), once, with the BatchRun
    `GET /batch_runs` answers; each run's own event names its batch."""
    http = make_gateway(_settings(tmp_path)).http(None)
    batch_id = http.post("/classify_runs/batch", json=batch_body(3), headers=HEADERS).json()["id"]

    wait_until(lambda: batch_status(http, batch_id)["status"] == "PROCESSED")

    assert _events(tmp_path, "batch") == [
        (webhooks.BATCH_PROCESSED, batch_id, batch_status(http, batch_id))
    ]
    runs = _events(tmp_path, "run")
    assert [t for t, _, _ in runs] == [webhooks.RUN_PROCESSED] * 3
    assert {data["batch_id"] for _, _, data in runs} == {batch_id}


def test_a_batch_none_of_whose_inputs_can_be_created_fails(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """Extend file ids mean nothing to the local backend: each input becomes a FAILED run
    (listed, readable, deletable), and the batch FAILED, raising `.failed`."""
    http = make_gateway(_settings(tmp_path)).http(None)
    body = batch_body(3)
    for item in body["inputs"]:
        item["file"] = {"id": "file_xQ4nT8vB2mK6pR9sW3yZ7c"}
    batch_id = http.post("/classify_runs/batch", json=body, headers=HEADERS).json()["id"]

    assert statuses_until_settled(http, batch_id)[-1] == "FAILED"

    runs = batch_runs(http, batch_id)
    assert [r["status"] for r in runs] == ["FAILED"] * 3
    assert {r["failureReason"] for r in runs} == {"FAILED_TO_PROCESS_FILE"}
    assert sorted(r["metadata"]["row"] for r in runs) == [0, 1, 2]
    one = http.get(f"/classify_runs/{runs[0]['id']}", headers=HEADERS)
    assert one.status_code == 200
    assert "file_xQ4nT8vB2mK6pR9sW3yZ7c" in one.json()["failureMessage"]
    assert http.delete(f"/classify_runs/{runs[0]['id']}", headers=HEADERS).status_code == 200
    assert len(batch_runs(http, batch_id)) == 2
    assert [(t, s) for t, s, _ in _events(tmp_path, "batch")] == [(webhooks.BATCH_FAILED, batch_id)]
    failed = _events(tmp_path, "run")
    assert [t for t, _, _ in failed] == [webhooks.RUN_FAILED] * 3
    assert {data["batch_id"] for _, _, data in failed} == {batch_id}


@pytest.mark.parametrize("delete_one", [False, True], ids=["cancel-all", "cancel-one-delete-one"])
def test_a_batch_whose_runs_all_end_cancelled_is_cancelled(
    make_gateway: MakeGateway, tmp_path: Path, delete_one: bool
) -> None:
    """Each run of a batch is cancelled (or deleted) as any run is; the batch settles when
    the last one does, CANCELLED, a deleted run counting as settled."""
    slow = LocalBackendConfig(concurrency=1, min_run_seconds=SLOW_RUN_SECONDS)
    http = make_gateway(_settings(tmp_path, slow)).http(None)
    batch_id = http.post("/classify_runs/batch", json=batch_body(2), headers=HEADERS).json()["id"]
    wait_until(lambda: len(batch_runs(http, batch_id)) == 2)
    first, second = (r["id"] for r in batch_runs(http, batch_id))

    assert http.post(f"/classify_runs/{first}/cancel", headers=HEADERS).status_code == 200
    assert batch_status(http, batch_id)["status"] == "PROCESSING"
    if delete_one:
        assert http.delete(f"/classify_runs/{second}", headers=HEADERS).status_code == 200
    else:
        assert http.post(f"/classify_runs/{second}/cancel", headers=HEADERS).status_code == 200

    assert statuses_until_settled(http, batch_id)[-1] == "CANCELLED"
    assert [t for t, _, _ in _events(tmp_path, "batch")] == [webhooks.BATCH_PROCESSED]
