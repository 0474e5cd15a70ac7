"""Extend batch runs on a Retab backend (respx-mocked): each input becomes one Retab run with
crosswalk's key, the batch settles once the refresher sees them finish, and a gateway stopped
mid-batch finishes it after a restart with one run per input, none created twice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import msgspec
import pytest

from gateway.batch import worker
from gateway.config import BatchConfig, Settings
from tests.batch_retab import FakeRetab
from tests.batch_support import (
    HEADERS,
    KEY,
    batch_body,
    batch_runs,
    batch_status,
    saved_classifiers,
    statuses_until_settled,
)
from tests.harness import (
    MakeGateway,
    classifications,
    mocked,
    mocked_vendors_settings,
    running,
    wait_until,
)


def _settings(tmp_path: Path) -> Settings:
    settings = mocked_vendors_settings(
        tmp_path, ["retab"], default="retab", api_keys=(KEY,), classifiers=saved_classifiers()
    )
    retab = msgspec.structs.replace(settings.backends["retab"], refresh_interval=0.1)
    return msgspec.structs.replace(settings, backends={"retab": retab})


def test_a_batch_of_fifty_completes_on_a_retab_backend(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """Fifty Retab runs, one per input, created with crosswalk's own key in the background;
    PENDING, PROCESSING, then PROCESSED once every run has finished; all fifty listed by
    `batchId` with their metadata."""
    retab = FakeRetab()
    gateway = make_gateway(_settings(tmp_path), mocked({"retab": retab.router}))
    http = gateway.http(None)

    created = http.post("/classify_runs/batch", json=batch_body(50), headers=HEADERS)

    assert created.status_code == 200, created.text
    batch = created.json()
    assert (batch["status"], batch["runCount"]) == ("PENDING", 50)
    seen = statuses_until_settled(http, batch["id"])
    assert seen[-1] == "PROCESSED"
    assert seen == sorted(seen, key=["PENDING", "PROCESSING", "PROCESSED"].index)
    assert retab.answered == 50
    sent = retab.router.calls[0].request
    assert sent.headers["authorization"] == "Bearer sk-retab"
    names = {c["name"] for c in msgspec.json.decode(sent.content)["categories"]}
    assert names == {c["type"] for c in classifications()}  # the saved classifier's, inlined
    runs = batch_runs(http, batch["id"])
    assert len(runs) == 50
    assert {r["status"] for r in runs} == {"PROCESSED"}
    assert Counter(r["metadata"]["row"] for r in runs) == Counter(range(50))


def test_a_batch_stopped_midway_finishes_after_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The vendor answers twenty creates, then the gateway stops with the rest pending (four
    held in flight, never answered, past the stop's grace period). Reopened on the same
    ledger, the batch completes with exactly fifty runs, one per input: the twenty made
    before are not made again."""
    monkeypatch.setattr(worker, "STOP_GRACE_SECONDS", 0.2)  # held creates are never answered
    retab = FakeRetab(hold_after=20)
    with running(_settings(tmp_path), mocked({"retab": retab.router})) as client:
        created = client.post("/classify_runs/batch", json=batch_body(50), headers=HEADERS)
        batch_id = created.json()["id"]
        wait_until(lambda: len(batch_runs(client, batch_id)) == 20)
        wait_until(lambda: retab.in_flight >= 1)  # creates held in flight, unanswered
        assert batch_status(client, batch_id)["status"] == "PROCESSING"
    assert retab.answered == 20

    retab.hold_after = None
    with running(_settings(tmp_path), mocked({"retab": retab.router})) as client:
        assert statuses_until_settled(client, batch_id)[-1] == "PROCESSED"
        runs = batch_runs(client, batch_id)
    assert retab.answered == 50
    assert len(runs) == 50
    assert Counter(r["metadata"]["row"] for r in runs) == Counter(range(50))
    assert len({r["id"] for r in runs}) == 50


def test_a_refused_input_is_a_failed_run_of_the_batch(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """Retab refuses input 7's document (a 4xx): that input is a FAILED run of the batch,
    listed with the others and read or deleted without asking Retab (it never made it); the
    batch still ends PROCESSED."""
    retab = FakeRetab(refuse="007-")
    gateway = make_gateway(_settings(tmp_path), mocked({"retab": retab.router}))
    http = gateway.http(None)
    batch_id = http.post("/classify_runs/batch", json=batch_body(10), headers=HEADERS).json()["id"]

    assert statuses_until_settled(http, batch_id)[-1] == "PROCESSED"

    runs = {r["metadata"]["row"]: r for r in batch_runs(http, batch_id)}
    assert len(runs) == 10
    assert runs[7]["status"] == "FAILED"
    assert runs[7]["failureReason"] == "FAILED_TO_PROCESS_FILE"
    assert {r["status"] for i, r in runs.items() if i != 7} == {"PROCESSED"}
    calls = retab.router.calls.call_count
    read = http.get(f"/classify_runs/{runs[7]['id']}", headers=HEADERS)
    assert (read.status_code, read.json()["status"]) == (200, "FAILED")
    assert "could not be read" in read.json()["failureMessage"]
    assert http.delete(f"/classify_runs/{runs[7]['id']}", headers=HEADERS).status_code == 200
    assert retab.router.calls.call_count == calls


def test_inputs_are_created_with_the_configured_concurrency(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """`[batch] concurrency = 2`: never more than two creates at Retab at once, and two do
    run side by side."""
    retab = FakeRetab(delay=0.05)
    settings = msgspec.structs.replace(_settings(tmp_path), batch=BatchConfig(concurrency=2))
    http = make_gateway(settings, mocked({"retab": retab.router})).http(None)
    batch_id = http.post("/classify_runs/batch", json=batch_body(12), headers=HEADERS).json()["id"]

    assert statuses_until_settled(http, batch_id)[-1] == "PROCESSED"
    assert retab.answered == 12
    assert retab.most_in_flight == 2


def test_a_batch_keeps_the_classifier_it_was_created_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped before any input was created, then restarted with the classifier removed from
    the config: the batch resolved it when it was created, so every input is still made,
    with the categories it had then."""
    monkeypatch.setattr(worker, "STOP_GRACE_SECONDS", 0.2)  # held creates are never answered
    retab = FakeRetab(hold_after=0)
    with running(_settings(tmp_path), mocked({"retab": retab.router})) as client:
        created = client.post("/classify_runs/batch", json=batch_body(3), headers=HEADERS)
        batch_id = created.json()["id"]
        wait_until(lambda: retab.in_flight >= 1)  # held, unanswered

    retab.hold_after = None
    without = msgspec.structs.replace(_settings(tmp_path), classifiers={})
    with running(without, mocked({"retab": retab.router})) as client:
        assert statuses_until_settled(client, batch_id)[-1] == "PROCESSED"
        runs = batch_runs(client, batch_id)
    assert [r["status"] for r in runs] == ["PROCESSED"] * 3
    creates = [c.request for c in retab.router.calls if c.request.method == "POST"]
    last = msgspec.json.decode(creates[-1].content)
    assert {c["name"] for c in last["categories"]} == {c["type"] for c in classifications()}
