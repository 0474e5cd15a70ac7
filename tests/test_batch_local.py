"""Extend batch runs on the local backend: a batch is recorded whole, fanned out by batch
workers, settles as Extend reports it, and lists its runs by `batchId` (contracts.md §5)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from gateway.config import LocalBackendConfig
from tests.batch_support import (
    HEADERS,
    KEY,
    batch_body,
    batch_runs,
    saved_classifiers,
    statuses_until_settled,
)
from tests.harness import MakeGateway, label, local_settings

SLOW = LocalBackendConfig(concurrency=2, min_run_seconds=0.02)


def test_a_batch_of_fifty_completes_on_the_local_backend(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """Fifty inputs: PENDING at once, then PROCESSING, then PROCESSED; fifty runs, one per
    input, each listed by `batchId` with its input's metadata, classified as a single create
    would classify it."""
    settings = local_settings(tmp_path, SLOW, api_keys=(KEY,), classifiers=saved_classifiers())
    http = make_gateway(settings).http(None)
    single = http.post(
        "/classify_runs",
        json={"file": {"text": "memo"}, "classifier": {"id": "cl_corpus"}},
        headers=HEADERS,
    )
    assert single.status_code == 200, single.text

    created = http.post("/classify_runs/batch", json=batch_body(50), headers=HEADERS)

    assert created.status_code == 200, created.text
    batch = created.json()
    assert batch["object"] == "batch_run"
    assert batch["id"].startswith("bpr_")
    assert (batch["status"], batch["runCount"]) == ("PENDING", 50)
    assert batch["createdAt"].endswith("Z")
    seen = statuses_until_settled(http, batch["id"])
    assert seen[-1] == "PROCESSED"
    assert "PROCESSING" in seen
    assert seen == sorted(seen, key=["PENDING", "PROCESSING", "PROCESSED"].index)
    runs = batch_runs(http, batch["id"])
    assert len(runs) == 50
    assert Counter(r["metadata"]["row"] for r in runs) == Counter(range(50))
    assert {r["status"] for r in runs} == {"PROCESSED"}
    assert single.json()["id"] not in {r["id"] for r in runs}
    first = next(r for r in runs if r["metadata"]["row"] == 0)
    full = http.get(f"/classify_runs/{first['id']}", headers=HEADERS).json()
    assert full["output"]["id"] == label("doc_001.txt")
    assert full["file"]["name"] == "000-doc_001.txt"
