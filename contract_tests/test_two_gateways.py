"""Two real gateways over HTTP: the SDKs talk to gateway A, whose `extend` backend is gateway B
(the embedded local default) reached over B's Extend surface.

Retab clients of A are translated, so A's Extend requests must be ones B's Extend surface
accepts; Extend clients of A are passed through. Both see their own dialect and A's ids.
The same over B's Retab surface is in test_two_gateways_retab.py.
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
    b_extend_ids,
    b_id,
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


@pytest.fixture
def via_extend(make_gateway: MakeGateway, tmp_path: Path) -> Chain:
    """A whose only backend, `extend`, is B's Extend surface."""
    return chain(make_gateway, tmp_path, "extend")


def _retab_run(chain: Chain, *, background: bool = False) -> tuple[str, str]:
    """A Retab-dialect run created through A: its id on A and the id B knows it by."""
    sdk = chain.a.retab(GATEWAY_KEY)
    created = sdk.classifications.create(
        document=corpus(INVOICE), categories=categories(), background=background
    )
    return created.id, b_id("retab", created.id, "extend")


def test_retab_sync_create_is_classified_by_b(via_extend: Chain) -> None:
    """A Retab sync create becomes a valid Extend `/classify` at B; the answer is Retab's."""
    sdk = via_extend.a.retab(GATEWAY_KEY)
    result = sdk.classifications.create(document=corpus(INVOICE), categories=categories())
    assert result.status is not None
    assert result.status.value == "completed"
    assert result.output is not None
    assert result.output.category == category_name(INVOICE)
    assert result.file.filename == INVOICE
    assert result.id.startswith("cls_xw1-")
    upstream_id = b_id("retab", result.id, "extend")
    assert upstream_id.startswith("clr_")
    assert upstream_id in b_extend_ids(via_extend.b)
    sent = via_extend.upstream.last("POST", "/classify")
    assert_spends_upstream_key(sent, extend_version=True)
    body = json_body(sent)
    assert body["file"]["text"] == corpus(INVOICE).read_text(encoding="utf-8")
    assert [c["id"] for c in body["config"]["classifications"]] == [
        c["handle_key"] for c in categories()
    ]


def test_retab_background_create_is_polled_to_completion(via_extend: Chain) -> None:
    """A background create is an Extend `/classify_runs` at B; polling A reaches `completed`."""
    sdk = via_extend.a.retab(GATEWAY_KEY)
    created = sdk.classifications.create(
        document=corpus(INVOICE), categories=categories(), background=True
    )
    assert created.status is not None
    assert created.status.value in ("queued", "in_progress")
    upstream_id = b_id("retab", created.id, "extend")
    assert_spends_upstream_key(
        via_extend.upstream.last("POST", "/classify_runs"), extend_version=True
    )

    def completed() -> bool:
        status = sdk.classifications.get(created.id).status
        return status is not None and status.value == "completed"

    wait_until(completed)
    final = sdk.classifications.get(created.id)
    assert final.output is not None
    assert final.output.category == category_name(INVOICE)
    on_b = via_extend.b.extend(UPSTREAM_KEY).classify_runs.retrieve(upstream_id)
    assert on_b.status == "PROCESSED"
    assert via_extend.upstream.sent("GET", f"/classify_runs/{upstream_id}")


def test_retab_get_with_and_without_output(via_extend: Chain) -> None:
    """`get` on A refreshes the run from B; `include_output=False` leaves the output out."""
    a_id, upstream_id = _retab_run(via_extend)
    sdk = via_extend.a.retab(GATEWAY_KEY)
    full = sdk.classifications.get(a_id)
    light = sdk.classifications.get(a_id, include_output=False)
    assert full.id == light.id == a_id
    assert full.output is not None
    assert full.output.category == category_name(INVOICE)
    assert light.output is None
    sent = via_extend.upstream.last("GET", f"/classify_runs/{upstream_id}")
    assert_spends_upstream_key(sent, extend_version=True)


def test_retab_list_shows_a_ids_of_runs_b_recorded(via_extend: Chain) -> None:
    """A lists its own ids, newest first; B holds each run under A's upstream key."""
    first, first_on_b = _retab_run(via_extend)
    second, second_on_b = _retab_run(via_extend)
    listed = via_extend.a.retab(GATEWAY_KEY).classifications.list()
    assert [c.id for c in listed.data] == [second, first]
    assert sorted(b_extend_ids(via_extend.b)) == sorted([first_on_b, second_on_b])


def test_retab_cancel_stops_a_run_at_b(via_extend: Chain) -> None:
    """Cancelling a background run through A cancels it at B."""
    a_id, upstream_id = _retab_run(via_extend, background=True)
    cancelled = via_extend.a.retab(GATEWAY_KEY).classifications.create_classification_cancel(a_id)
    assert cancelled.status is not None
    assert cancelled.status.value == "cancelled"
    assert cancelled.id == a_id
    sent = via_extend.upstream.last("POST", f"/classify_runs/{upstream_id}/cancel")
    assert_spends_upstream_key(sent, extend_version=True)
    on_b = via_extend.b.extend(UPSTREAM_KEY).classify_runs.retrieve(upstream_id)
    assert on_b.status == "CANCELLED"


def test_retab_cancel_of_a_finished_run_is_idempotent(via_extend: Chain) -> None:
    """Retab's cancel returns a finished run unchanged; A does not ask B to cancel it."""
    sdk = via_extend.a.retab(GATEWAY_KEY)
    created = sdk.classifications.create(document=corpus(INVOICE), categories=categories())
    again = sdk.classifications.create_classification_cancel(created.id)
    assert again.status is not None
    assert again.status.value == "completed"
    assert again.output == created.output
    upstream_id = b_id("retab", created.id, "extend")
    assert not via_extend.upstream.sent("POST", f"/classify_runs/{upstream_id}/cancel")


def test_retab_delete_removes_the_run_from_both(via_extend: Chain) -> None:
    """`delete` through A deletes the run at B too; both then answer 404."""
    a_id, upstream_id = _retab_run(via_extend)
    sdk = via_extend.a.retab(GATEWAY_KEY)
    assert sdk.classifications.delete(a_id) is None
    sent = via_extend.upstream.last("DELETE", f"/classify_runs/{upstream_id}")
    assert_spends_upstream_key(sent, extend_version=True)
    with pytest.raises(NotFoundError):
        sdk.classifications.get(a_id)
    with pytest.raises(extend_errors.NotFoundError):
        via_extend.b.extend(UPSTREAM_KEY).classify_runs.retrieve(
            upstream_id, request_options=NO_RETRIES
        )


def test_retab_pdf_needs_an_upload_b_does_not_serve(via_extend: Chain) -> None:
    """A PDF must go through Extend's `POST /files/upload`, which B lacks: B's 404 reaches the
    Retab client as a Retab 404, and no run is recorded anywhere."""
    pdf = sorted(corpus("").glob("*.pdf"))[0]
    sdk = via_extend.a.retab(GATEWAY_KEY)
    with pytest.raises(NotFoundError) as caught:
        sdk.classifications.create(document=pdf, categories=categories())
    assert caught.value.status_code == 404
    assert caught.value.body == '{"detail":"Not Found"}'
    sent = via_extend.upstream.last("POST", "/files/upload")
    assert_spends_upstream_key(sent, extend_version=True)
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert f'name="file"; filename="{pdf.name}"'.encode() in sent.content
    assert pdf.read_bytes() in sent.content
    assert via_extend.upstream.paths() == ["POST /files/upload"]
    assert sdk.classifications.list().data == []
    assert b_extend_ids(via_extend.b) == []


def test_extend_classify_is_passed_through_to_b(via_extend: Chain) -> None:
    """An Extend client's `classify` reaches B as it was sent; the run keeps B's own id."""
    sdk = via_extend.a.extend(GATEWAY_KEY)
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
    assert run.id in b_extend_ids(via_extend.b)
    sent = via_extend.upstream.last("POST", "/classify")
    assert_spends_upstream_key(sent, extend_version=True)
    assert json_body(sent)["metadata"] == {"tenant": "acme"}


def test_extend_create_and_poll_through_a(via_extend: Chain) -> None:
    """The SDK's `create_and_poll` helper reaches PROCESSED through A and B."""
    sdk = via_extend.a.extend(GATEWAY_KEY)
    run = sdk.classify_runs.create_and_poll(
        file=text_file(),
        config={"classifications": classifications()},
        polling_options=FAST_POLL,
    )
    assert run.status == "PROCESSED"
    assert run.output is not None
    assert run.output.id == label(INVOICE)
    assert via_extend.upstream.sent("GET", f"/classify_runs/{run.id}")


def test_extend_retrieve_reaches_b(via_extend: Chain) -> None:
    """`retrieve` through A returns B's run, unchanged."""
    sdk = via_extend.a.extend(GATEWAY_KEY)
    created = sdk.classify(file=text_file(), config={"classifications": classifications()})
    run = sdk.classify_runs.retrieve(created.id, request_options=NO_RETRIES)
    assert run == via_extend.b.extend(UPSTREAM_KEY).classify_runs.retrieve(created.id)
    sent = via_extend.upstream.last("GET", f"/classify_runs/{created.id}")
    assert_spends_upstream_key(sent, extend_version=True)


def test_extend_list_on_a_matches_b(via_extend: Chain) -> None:
    """A lists the runs its key made, newest first, under the ids B gave them."""
    sdk = via_extend.a.extend(GATEWAY_KEY)
    made = [
        sdk.classify(file=text_file(), config={"classifications": classifications()}).id
        for _ in range(2)
    ]
    listed = sdk.classify_runs.list(request_options=NO_RETRIES)
    assert [r.id for r in listed.data] == made[::-1]
    assert sorted(b_extend_ids(via_extend.b)) == sorted(made)


def test_extend_cancel_stops_a_processing_run_at_b(via_extend: Chain) -> None:
    """`cancel` of a run still processing is relayed to B, which cancels it."""
    sdk = via_extend.a.extend(GATEWAY_KEY)
    run = sdk.classify_runs.create(file=text_file(), config={"classifications": classifications()})
    cancelled = sdk.classify_runs.cancel(run.id, request_options=NO_RETRIES)
    assert cancelled.status == "CANCELLED"
    sent = via_extend.upstream.last("POST", f"/classify_runs/{run.id}/cancel")
    assert_spends_upstream_key(sent, extend_version=True)


def test_extend_cancel_of_a_finished_run_is_bs_400(via_extend: Chain) -> None:
    """B refuses to cancel a finished run; its 400 reaches the client unchanged."""
    sdk = via_extend.a.extend(GATEWAY_KEY)
    run = sdk.classify(file=text_file(), config={"classifications": classifications()})
    with pytest.raises(extend_errors.BadRequestError) as caught:
        sdk.classify_runs.cancel(run.id, request_options=NO_RETRIES)
    assert caught.value.body["code"] == "INVALID_REQUEST"
    assert via_extend.upstream.sent("POST", f"/classify_runs/{run.id}/cancel")


def test_extend_delete_removes_the_run_from_both(via_extend: Chain) -> None:
    """`delete` answers `{id}`; the run is gone from A and from B."""
    sdk = via_extend.a.extend(GATEWAY_KEY)
    run = sdk.classify(file=text_file(), config={"classifications": classifications()})
    assert sdk.classify_runs.delete(run.id, request_options=NO_RETRIES).id == run.id
    assert via_extend.upstream.sent("DELETE", f"/classify_runs/{run.id}")
    assert b_extend_ids(via_extend.b) == []
    assert sdk.classify_runs.list(request_options=NO_RETRIES).data == []
