"""Each vendor's response examples, rendered in the OTHER vendor's dialect, validated by that
vendor's official SDK: the SDK is the referee of our output, not our own Structs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from extend_ai.types import ClassifyRun as SdkClassifyRun
from extend_ai.types import ClassifyRunSummary as SdkClassifyRunSummary
from retab.types.classifications import Classification as SdkClassification
from retab.types.pagination import PaginatedList

from mappings import canonical, extend, retab
from tests.harness import WIRE

RECEIVED = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
RETAB_RUNS = sorted(
    p.name
    for p in WIRE.glob("retab_*.json")
    if p.name.startswith(("retab_get_", "retab_cancel_response", "retab_create_response"))
    and not p.name.endswith("_http.json")
)
EXTEND_RUNS = sorted(
    p.name
    for p in WIRE.glob("extend_*.json")
    if p.name.startswith(("extend_classify_runs_get_", "extend_classify_response"))
    or p.name
    in ("extend_classify_runs_create_response.json", "extend_classify_runs_cancel_response.json")
)


def _retab_run(name: str) -> canonical.ClassificationRun:
    run, _ = retab.response_to_canonical(
        msgspec.json.decode((WIRE / name).read_bytes(), type=retab.Classification),
        received_at=RECEIVED,
    )
    return run


def _extend_run(name: str) -> canonical.ClassificationRun:
    run, _ = extend.response_to_canonical(
        msgspec.json.decode((WIRE / name).read_bytes(), type=extend.ClassifyRun),
        received_at=RECEIVED,
    )
    return run


def _json(value: Any) -> Any:
    return json.loads(msgspec.json.encode(value))


def test_examples_are_all_covered() -> None:
    """Every run-shaped example of both vendors takes part."""
    assert len(RETAB_RUNS) >= 7
    assert len(EXTEND_RUNS) >= 7


@pytest.mark.parametrize("name", RETAB_RUNS)
def test_retab_examples_served_to_extend_clients(name: str) -> None:
    """A Retab run in Extend's dialect validates as the SDK's ClassifyRun and keeps the answer."""
    source = _retab_run(name)
    body, notes = extend.response_from_canonical(source, public_id="clr_xw1-test")
    sdk = SdkClassifyRun.model_validate(_json(body))
    assert sdk.id == "clr_xw1-test"
    if source.decision is not None and source.status is canonical.Status.completed:
        assert sdk.status == "PROCESSED"
        assert sdk.output is not None
        assert sdk.output.type == source.decision.category_name
        assert "output.confidence" in notes.synthesized or source.decision.confidence is not None
    else:
        assert sdk.output is None
    summary, _ = extend.summary_from_canonical(source, public_id="clr_xw1-test")
    SdkClassifyRunSummary.model_validate(_json(summary))


@pytest.mark.parametrize("name", EXTEND_RUNS)
def test_extend_examples_served_to_retab_clients(name: str) -> None:
    """An Extend run in Retab's dialect validates as the SDK's Classification."""
    source = _extend_run(name)
    body, _ = retab.response_from_canonical(source, public_id="cls_xw1-test")
    sdk = SdkClassification.model_validate(_json(body))
    assert sdk.status is not None
    assert sdk.output is not None
    if source.status is canonical.Status.completed:
        assert sdk.status.value == "completed"
        assert source.decision is not None
        assert sdk.output.category == source.decision.category_name
        assert sdk.consensus is not None
        assert sdk.consensus.likelihoods == source.decision.confidence
    else:
        assert sdk.output.category == ""
    if source.error is not None:
        assert sdk.error is not None
        assert sdk.error.code == source.error.code


def test_extend_list_served_to_retab_clients() -> None:
    """An Extend list page becomes a Retab page the SDK's paginated list accepts."""
    page, _ = extend.list_to_canonical(
        msgspec.json.decode(
            (WIRE / "extend_classify_runs_list_response.json").read_bytes(),
            type=extend.ClassifyRunList,
        ),
        received_at=RECEIVED,
    )
    items = [(f"cls_xw1-{i}", run) for i, run in enumerate(page.runs)]
    body, _ = retab.list_from_canonical(items, before=None, after=page.after)
    sdk = PaginatedList[SdkClassification].model_validate(_json(body))
    assert len(sdk.data) == len(page.runs)
    assert sdk.list_metadata.after == page.after


def test_retab_list_served_to_extend_clients() -> None:
    """A Retab list page becomes an Extend list whose summaries the SDK accepts."""
    page, _ = retab.list_to_canonical(
        msgspec.json.decode(
            (WIRE / "retab_list_response.json").read_bytes(), type=retab.ClassificationList
        ),
        received_at=RECEIVED,
    )
    items = [(f"clr_xw1-{i}", run) for i, run in enumerate(page.runs)]
    body, _ = extend.list_from_canonical(items, next_page_token=page.after)
    decoded = _json(body)
    assert decoded["nextPageToken"] == page.after
    for item in decoded["data"]:
        SdkClassifyRunSummary.model_validate(item)
