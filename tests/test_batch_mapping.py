"""Extend batch bodies and batch runs in pure terms: a batch read as one `/classify_runs`
body per input, refusals naming the input, `BatchRun` round trips, and `batchId` in a list
query (contracts.md §5)."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from mappings import canonical, extend
from mappings.errors import InvalidInput
from mappings.extend import batches
from tests.harness import wire, wire_json


def test_each_input_becomes_the_create_body_a_client_would_send() -> None:
    """`{file, classifier, metadata, priority}`: the input's own file and metadata, the
    batch's classifier and priority."""
    body = batches.batch_body_decoder.decode(wire("extend_classify_runs_batch_request.json"))

    creates = batches.batch_to_creates(body)

    sent = [msgspec.to_builtins(c) for c in creates]
    request = wire_json("extend_classify_runs_batch_request.json")
    assert sent == [
        {"classifier": request["classifier"], "priority": 10, **item} for item in request["inputs"]
    ]


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("file", "inputs[7].file"),
        ("file.settings.password", "inputs[7].file.settings.password"),
        ("classifier.overrideConfig.classifications", "classifier.overrideConfig.classifications"),
        ("priority", "priority"),
    ],
)
def test_a_refusal_names_the_input_or_the_batch_s_own_field(field: str, expected: str) -> None:
    """The input's fields are under `inputs[i]`; the batch's stay where the client put them."""
    assert batches.input_error(7, InvalidInput(field, "bad")).field == expected


def test_a_batch_run_is_extend_s_shape() -> None:
    """A canonical batch renders as the example `BatchRun`, and reads back the same."""
    created = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
    batch = canonical.Batch(
        id="bpr_Zx1cV3bN5mQ7wE9rT1yU3i",
        status=canonical.BatchStatus.pending,
        run_count=3,
        created_at=created,
    )

    rendered = batches.batch_from_canonical(batch)

    assert msgspec.json.decode(msgspec.json.encode(rendered)) == wire_json(
        "extend_classify_runs_batch_response.json"
    )
    assert batches.batch_to_canonical(rendered, received_at=created) == batch


def test_a_listing_reads_batch_id() -> None:
    """`batchId` filters a listing; without it, none."""
    assert extend.list_params_to_canonical({"batchId": "bpr_x"}).batch_id == "bpr_x"
    assert extend.list_params_to_canonical({}).batch_id is None
