"""A settled batch reaches a real subscriber as Extend sends it: `batch_processor_run.*` with
the `BatchRun` as payload, signed so that extend_ai's own verification accepts it, beside
each of its runs' own events."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tests.batch_support import HEADERS, KEY, batch_body, batch_status, saved_classifiers
from tests.harness import local_settings, running, wait_until
from tests.webhook_receiver import receiving
from tests.webhook_support import endpoint, verify


def test_a_settled_batch_is_delivered_signed_with_its_batch_run(tmp_path: Path) -> None:
    """Three runs' `classify_run.processed` and one `batch_processor_run.processed` whose
    payload the SDK reads as the BatchRun `GET /batch_runs/{id}` answers; every delivery
    verifies."""
    with receiving() as receiver:
        settings = local_settings(
            tmp_path,
            api_keys=(KEY,),
            classifiers=saved_classifiers(),
            webhooks=(endpoint(receiver.url),),
        )
        with running(settings) as client:
            batch_id = client.post(
                "/classify_runs/batch", json=batch_body(3), headers=HEADERS
            ).json()["id"]
            wait_until(lambda: any(r.event_type.startswith("batch_") for r in receiver.received))
            shown = batch_status(client, batch_id)
        events = [verify(r) for r in receiver.received]

    batch_events = [e for e in events if e.event_type.startswith("batch_")]
    assert [e.event_type for e in batch_events] == ["batch_processor_run.processed"]
    payload = batch_events[0].payload  # the SDK's own BatchRun type read it
    assert (payload.id, payload.status, payload.run_count) == (batch_id, "PROCESSED", 3)
    assert payload.created_at == datetime.fromisoformat(shown["createdAt"])
    runs = [e for e in events if e.event_type == "classify_run.processed"]
    assert len(runs) == 3
