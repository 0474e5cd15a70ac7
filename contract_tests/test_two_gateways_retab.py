"""Two real gateways over HTTP: the SDKs talk to gateway A, whose `retab` backend is gateway B
(the embedded local default) reached over B's Retab surface.

Extend clients of A are translated, so A's Retab requests must be ones B's Retab surface
accepts; Retab clients of A are passed through. Both see their own dialect and A's ids.
"""

from __future__ import annotations

from pathlib import Path

import extend_ai.errors as extend_errors
import pytest
from extend_ai.wrapper.polling import PollingOptions
from retab.exceptions import NotFoundError

from contract_tests.two_gateways import (
    GATEWAY_KEY,
    INVOICE,
    UPSTREAM_KEY,
    Chain,
    assert_spends_upstream_key,
    b_id,
    b_retab_ids,
    category_name,
    chain,
    json_body,
    label,
    text_file,
)
from tests.harness import (
    NO_RETRIES,
    MakeGateway,
    categories,
    classifications,
    corpus,
    wait_until,
)

FAST_POLL = PollingOptions(fast_poll_interval_ms=50, max_wait_ms=20_000)
RUNS = "/v1/classifications"


@pytest.fixture
def via_retab(make_gateway: MakeGateway, tmp_path: Path) -> Chain:
    """A whose only backend, `retab`, is B's Retab surface."""
    return chain(make_gateway, tmp_path, "retab")


def _extend_run(chain: Chain) -> tuple[str, str]:
    """A finished Extend-dialect run made through A: its id on A and the id B knows it by."""
    sdk = chain.a.extend(GATEWAY_KEY)
    run = sdk.classify(file=text_file(), config={"classifications": classifications()})
    return run.id, b_id("extend", run.id, "retab")


def test_extend_classify_is_classified_by_b(via_retab: Chain) -> None:
    """Extend's `classify` becomes a valid sync Retab create at B; the answer is Extend's."""
    sdk = via_retab.a.extend(GATEWAY_KEY)
    run = sdk.classify(
        file=text_file(),
        config={"classifications": classifications()},
        metadata={"tenant": "acme"},
        request_options=NO_RETRIES,
    )
    assert run.status == "PROCESSED"
    assert run.output is not None
    assert run.output.id == label(INVOICE)
    assert run.metadata == {"tenant": "acme"}
    assert run.id.startswith("clr_xw1-")
    upstream_id = b_id("extend", run.id, "retab")
    assert upstream_id.startswith("cls_")
    assert upstream_id in b_retab_ids(via_retab.b)
    sent = via_retab.upstream.last("POST", RUNS)
    assert_spends_upstream_key(sent, extend_version=False)
    body = json_body(sent)
    assert body["background"] is False
    assert body["document"]["url"].startswith("data:text/plain;base64,")
    assert [c["handle_key"] for c in body["categories"]] == [c["id"] for c in classifications()]


def test_extend_create_and_poll_through_a(via_retab: Chain) -> None:
    """`create_and_poll` is a Retab background create at B, polled through A to PROCESSED."""
    sdk = via_retab.a.extend(GATEWAY_KEY)
    run = sdk.classify_runs.create_and_poll(
        file=text_file(),
        config={"classifications": classifications()},
        polling_options=FAST_POLL,
    )
    assert run.status == "PROCESSED"
    assert run.output is not None
    assert run.output.id == label(INVOICE)
    assert json_body(via_retab.upstream.last("POST", RUNS))["background"] is True
    upstream_id = b_id("extend", run.id, "retab")
    polled = via_retab.upstream.last("GET", f"{RUNS}/{upstream_id}")
    assert polled.url.params["include_output"] == "true"


def test_extend_retrieve_returns_the_run_from_b(via_retab: Chain) -> None:
    """`retrieve` on A refreshes the run from B, in Extend's shape, under A's id."""
    a_id, upstream_id = _extend_run(via_retab)
    run = via_retab.a.extend(GATEWAY_KEY).classify_runs.retrieve(a_id, request_options=NO_RETRIES)
    assert run.id == a_id
    assert run.output is not None
    assert run.output.id == label(INVOICE)
    assert run.file is not None
    assert run.file.name == INVOICE
    sent = via_retab.upstream.last("GET", f"{RUNS}/{upstream_id}")
    assert_spends_upstream_key(sent, extend_version=False)


def test_extend_list_shows_a_ids_of_runs_b_recorded(via_retab: Chain) -> None:
    """A lists its own ids, newest first; B holds each run under A's upstream key."""
    first, first_on_b = _extend_run(via_retab)
    second, second_on_b = _extend_run(via_retab)
    listed = via_retab.a.extend(GATEWAY_KEY).classify_runs.list(request_options=NO_RETRIES)
    assert [r.id for r in listed.data] == [second, first]
    assert sorted(b_retab_ids(via_retab.b)) == sorted([first_on_b, second_on_b])


def test_extend_cancel_stops_a_processing_run_at_b(via_retab: Chain) -> None:
    """Cancelling a run still processing through A cancels it at B."""
    sdk = via_retab.a.extend(GATEWAY_KEY)
    run = sdk.classify_runs.create(file=text_file(), config={"classifications": classifications()})
    cancelled = sdk.classify_runs.cancel(run.id, request_options=NO_RETRIES)
    assert cancelled.status == "CANCELLED"
    assert cancelled.id == run.id
    upstream_id = b_id("extend", run.id, "retab")
    sent = via_retab.upstream.last("POST", f"{RUNS}/{upstream_id}/cancel")
    assert_spends_upstream_key(sent, extend_version=False)
    on_b = via_retab.b.retab(UPSTREAM_KEY).classifications.get(upstream_id)
    assert on_b.status is not None
    assert on_b.status.value == "cancelled"


def test_extend_cancel_of_a_finished_run_is_rejected(via_retab: Chain) -> None:
    """Extend refuses to cancel a finished run (hazard 25), though B's Retab cancel would not:
    A answers 400 itself and never asks B."""
    a_id, upstream_id = _extend_run(via_retab)
    sdk = via_retab.a.extend(GATEWAY_KEY)
    with pytest.raises(extend_errors.BadRequestError) as caught:
        sdk.classify_runs.cancel(a_id, request_options=NO_RETRIES)
    assert caught.value.body["code"] == "INVALID_REQUEST"
    assert caught.value.body["retryable"] is False
    assert not via_retab.upstream.sent("POST", f"{RUNS}/{upstream_id}/cancel")


def test_extend_delete_removes_the_run_from_both(via_retab: Chain) -> None:
    """`delete` answers `{id}` with A's id, and the run is deleted at B too."""
    a_id, upstream_id = _extend_run(via_retab)
    sdk = via_retab.a.extend(GATEWAY_KEY)
    assert sdk.classify_runs.delete(a_id, request_options=NO_RETRIES).id == a_id
    assert_spends_upstream_key(
        via_retab.upstream.last("DELETE", f"{RUNS}/{upstream_id}"), extend_version=False
    )
    with pytest.raises(extend_errors.NotFoundError):
        sdk.classify_runs.retrieve(a_id, request_options=NO_RETRIES)
    assert b_retab_ids(via_retab.b) == []


def test_retab_sync_create_is_passed_through_to_b(via_retab: Chain) -> None:
    """A Retab client's create reaches B as it was sent; the run keeps B's own id."""
    sdk = via_retab.a.retab(GATEWAY_KEY)
    result = sdk.classifications.create(document=corpus(INVOICE), categories=categories())
    assert result.status is not None
    assert result.status.value == "completed"
    assert result.output is not None
    assert result.output.category == category_name(INVOICE)
    assert result.id in b_retab_ids(via_retab.b)
    sent = via_retab.upstream.last("POST", RUNS)
    assert_spends_upstream_key(sent, extend_version=False)
    assert json_body(sent)["categories"] == categories()


def test_retab_background_create_is_polled_to_completion(via_retab: Chain) -> None:
    """A background create is queued at B; polling through A reaches `completed`."""
    sdk = via_retab.a.retab(GATEWAY_KEY)
    created = sdk.classifications.create(
        document=corpus(INVOICE), categories=categories(), background=True
    )
    assert created.status is not None
    assert created.status.value in ("queued", "in_progress")

    def completed() -> bool:
        status = sdk.classifications.get(created.id).status
        return status is not None and status.value == "completed"

    wait_until(completed)
    final = sdk.classifications.get(created.id)
    assert final.output is not None
    assert final.output.category == category_name(INVOICE)
    assert via_retab.upstream.sent("GET", f"{RUNS}/{created.id}")


def test_retab_get_without_output_reaches_b(via_retab: Chain) -> None:
    """`get` is relayed with its query: `include_output=False` leaves the output out."""
    sdk = via_retab.a.retab(GATEWAY_KEY)
    created = sdk.classifications.create(document=corpus(INVOICE), categories=categories())
    light = sdk.classifications.get(created.id, include_output=False)
    assert light.id == created.id
    assert light.output is None
    sent = via_retab.upstream.last("GET", f"{RUNS}/{created.id}")
    assert sent.url.params["include_output"] == "false"
    assert_spends_upstream_key(sent, extend_version=False)


def test_retab_list_on_a_matches_b(via_retab: Chain) -> None:
    """A lists the runs its key made, newest first, under the ids B gave them."""
    sdk = via_retab.a.retab(GATEWAY_KEY)
    made = [
        sdk.classifications.create(document=corpus(INVOICE), categories=categories()).id
        for _ in range(2)
    ]
    assert [c.id for c in sdk.classifications.list().data] == made[::-1]
    assert sorted(b_retab_ids(via_retab.b)) == sorted(made)


def test_retab_cancel_stops_a_run_at_b(via_retab: Chain) -> None:
    """Cancelling a background run is relayed to B, which cancels it."""
    sdk = via_retab.a.retab(GATEWAY_KEY)
    created = sdk.classifications.create(
        document=corpus(INVOICE), categories=categories(), background=True
    )
    cancelled = sdk.classifications.create_classification_cancel(created.id)
    assert cancelled.status is not None
    assert cancelled.status.value == "cancelled"
    assert via_retab.upstream.sent("POST", f"{RUNS}/{created.id}/cancel")


def test_retab_delete_removes_the_run_from_both(via_retab: Chain) -> None:
    """`delete` answers 204; the run is gone from A and from B."""
    sdk = via_retab.a.retab(GATEWAY_KEY)
    created = sdk.classifications.create(document=corpus(INVOICE), categories=categories())
    assert sdk.classifications.delete(created.id) is None
    assert via_retab.upstream.sent("DELETE", f"{RUNS}/{created.id}")
    with pytest.raises(NotFoundError):
        sdk.classifications.get(created.id)
    assert b_retab_ids(via_retab.b) == []
