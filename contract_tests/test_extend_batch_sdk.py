"""The official Extend SDK's batch runs against a gateway on the local backend, over real HTTP:
`classify_runs.create_batch`, `batch_runs.get` until it settles, `classify_runs.list(batch_id=)`
for its runs, and Extend's own errors for a bad batch and another key's."""

from __future__ import annotations

from pathlib import Path

import pytest
from extend_ai.errors import BadRequestError, NotFoundError

from gateway.config import LocalBackendConfig
from tests.batch_support import CLASSIFIER, batch_body, saved_classifiers
from tests.harness import Gateway, MakeGateway, label, local_settings, wait_until


@pytest.fixture
def gateway(make_gateway: MakeGateway, tmp_path: Path) -> Gateway:
    settings = local_settings(
        tmp_path, LocalBackendConfig(concurrency=2), classifiers=saved_classifiers()
    )
    return make_gateway(settings, served=True)


def test_the_sdk_creates_reads_and_lists_a_batch(gateway: Gateway) -> None:
    """The SDK's own `BatchRun` type reads every answer; the batch's runs, listed by its id,
    are the SDK's summaries with each input's metadata, classified as single runs are."""
    sdk = gateway.extend()
    inputs = batch_body(12)["inputs"]

    batch = sdk.classify_runs.create_batch(classifier={"id": CLASSIFIER}, inputs=inputs, priority=5)

    assert batch.object == "batch_run"
    assert batch.id.startswith("bpr_")
    assert (batch.status, batch.run_count) == ("PENDING", 12)
    wait_until(lambda: sdk.batch_runs.get(batch.id).status == "PROCESSED")
    settled = sdk.batch_runs.get(batch.id)
    assert (settled.id, settled.run_count, settled.created_at) == (
        batch.id,
        12,
        batch.created_at,
    )
    first = sdk.classify_runs.list(batch_id=batch.id, max_page_size=5)
    runs = list(first.data)
    token = first.next_page_token
    while token:
        page = sdk.classify_runs.list(batch_id=batch.id, max_page_size=5, next_page_token=token)
        runs += page.data
        token = page.next_page_token
    assert sorted(r.metadata["row"] for r in runs) == list(range(12))
    assert {r.status for r in runs} == {"PROCESSED"}
    run = sdk.classify_runs.retrieve(next(r.id for r in runs if r.metadata["row"] == 1))
    assert run.output.id == label("doc_002.txt")


def test_the_sdk_sees_extend_s_errors(gateway: Gateway) -> None:
    """A batch with no inputs is the SDK's BadRequestError naming `inputs`; another key's
    batch its NotFoundError."""
    sdk = gateway.extend()
    with pytest.raises(BadRequestError) as refused:
        sdk.classify_runs.create_batch(classifier={"id": CLASSIFIER}, inputs=[])
    assert "inputs" in refused.value.body["message"]
    batch = sdk.classify_runs.create_batch(
        classifier={"id": CLASSIFIER}, inputs=batch_body(1)["inputs"]
    )
    with pytest.raises(NotFoundError):
        gateway.extend("key-b").batch_runs.get(batch.id)
