"""Two gateways over real HTTP: the SDKs talk to gateway A, whose only backend is gateway B (the
embedded local default) reached over one of B's vendor surfaces.

Each test runs with A's backend on B's Extend surface and on B's Retab surface: clients of that
same dialect are passed through, the other dialect is translated, so A's requests must be ones
B's surface accepts. Either way clients see their own dialect and A's ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import extend_ai.errors as extend_errors
import pytest
from extend_ai.wrapper.polling import PollingOptions
from retab.exceptions import NotFoundError

from contract_tests.two_gateways import (
    GATEWAY_KEY,
    INVOICE,
    RUNS,
    Chain,
    chain,
    json_body,
    served_b,
)
from tests.harness import (
    NO_RETRIES,
    Gateway,
    MakeGateway,
    categories,
    category_name,
    classifications,
    corpus,
    label,
    retab_status,
    text_file,
    wait_until,
)

FAST_POLL = PollingOptions(fast_poll_interval_ms=50, max_wait_ms=20_000)
BACKENDS = [pytest.param("extend", id="b-extend"), pytest.param("retab", id="b-retab")]
B_CANCELLED = {"extend": "CANCELLED", "retab": "cancelled"}  # each dialect's word for it


@pytest.fixture(scope="module")
def b(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One B for the module: each test's A has its own key at B."""
    with served_b(tmp_path_factory.mktemp("b")) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def slow_b(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One B whose runs are slow to finish, so a cancel finds them still running."""
    with served_b(tmp_path_factory.mktemp("slow_b"), slow=True) as gateway:
        yield gateway


@pytest.fixture(params=BACKENDS)
def two(
    request: pytest.FixtureRequest, make_gateway: MakeGateway, tmp_path: Path, b: Gateway
) -> Chain:
    """A whose only backend is B's surface of the parametrized kind."""
    return chain(make_gateway, tmp_path, b, request.param)


@pytest.fixture(params=BACKENDS)
def slow_two(
    request: pytest.FixtureRequest, make_gateway: MakeGateway, tmp_path: Path, slow_b: Gateway
) -> Chain:
    """The same, in front of the slow B."""
    return chain(make_gateway, tmp_path, slow_b, request.param)


def _retab_run(two: Chain, *, background: bool = False) -> tuple[str, str]:
    """A Retab-dialect run created through A: its id on A and the id B knows it by."""
    sdk = two.a.retab(GATEWAY_KEY)
    created = sdk.classifications.create(
        document=corpus(INVOICE), categories=categories(), background=background
    )
    return created.id, two.upstream_id("retab", created.id)


def _extend_run(two: Chain) -> tuple[str, str]:
    """A finished Extend-dialect run made through A: its id on A and the id B knows it by."""
    run = two.a.extend(GATEWAY_KEY).classify(
        file=text_file(INVOICE), config={"classifications": classifications()}
    )
    return run.id, two.upstream_id("extend", run.id)


def test_retab_sync_create_is_classified_by_b(two: Chain) -> None:
    """A Retab sync create reaches B as a create B accepts (relayed as sent to B's Retab
    surface, or an Extend `/classify`); the answer is Retab's."""
    sdk = two.a.retab(GATEWAY_KEY)
    result = sdk.classifications.create(document=corpus(INVOICE), categories=categories())
    assert result.status is not None
    assert result.status.value == "completed"
    assert result.output is not None
    assert result.output.category == category_name(INVOICE)
    assert result.file.filename == INVOICE
    upstream_id = two.upstream_id("retab", result.id)
    assert upstream_id in two.b_ids()
    if two.relays("retab"):
        sent = two.upstream.last("POST", RUNS["retab"])
        two.assert_spends_upstream_key(sent)
        assert json_body(sent)["categories"] == categories()
    else:
        assert result.id.startswith("cls_xw1-")
        assert upstream_id.startswith("clr_")
        sent = two.upstream.last("POST", "/classify")
        two.assert_spends_upstream_key(sent)
        body = json_body(sent)
        assert body["file"]["text"] == corpus(INVOICE).read_text(encoding="utf-8")
        assert [c["id"] for c in body["config"]["classifications"]] == [
            c["handle_key"] for c in categories()
        ]


def test_retab_background_create_is_polled_to_completion(two: Chain) -> None:
    """A background create is queued at B; polling A reaches `completed`, read from B."""
    sdk = two.a.retab(GATEWAY_KEY)
    created = sdk.classifications.create(
        document=corpus(INVOICE), categories=categories(), background=True
    )
    assert created.status is not None
    assert created.status.value in ("queued", "in_progress")
    upstream_id = two.upstream_id("retab", created.id)
    if not two.relays("retab"):
        two.assert_spends_upstream_key(two.upstream.last("POST", "/classify_runs"))
    wait_until(lambda: retab_status(sdk, created.id) == "completed")
    final = sdk.classifications.get(created.id)
    assert final.output is not None
    assert final.output.category == category_name(INVOICE)
    if not two.relays("retab"):
        assert two.b_status(upstream_id) == "PROCESSED"
    assert two.upstream.sent("GET", two.b_run(upstream_id))


def test_retab_get_with_and_without_output(two: Chain) -> None:
    """`get` on A reads the run from B; `include_output=False` leaves the output out."""
    a_id, upstream_id = _retab_run(two)
    sdk = two.a.retab(GATEWAY_KEY)
    full = sdk.classifications.get(a_id)
    light = sdk.classifications.get(a_id, include_output=False)
    assert full.id == light.id == a_id
    assert full.output is not None
    assert full.output.category == category_name(INVOICE)
    assert light.output is None
    sent = two.upstream.last("GET", two.b_run(upstream_id))
    two.assert_spends_upstream_key(sent)
    if two.relays("retab"):
        assert sent.url.params["include_output"] == "false"  # relayed with its query


def test_retab_list_shows_a_ids_of_runs_b_recorded(two: Chain) -> None:
    """A lists its own ids, newest first; B holds each run under A's upstream key."""
    first, first_on_b = _retab_run(two)
    second, second_on_b = _retab_run(two)
    listed = two.a.retab(GATEWAY_KEY).classifications.list()
    assert [c.id for c in listed.data] == [second, first]
    assert sorted(two.b_ids()) == sorted([first_on_b, second_on_b])


def test_retab_cancel_stops_a_run_at_b(slow_two: Chain) -> None:
    """Cancelling a background run through A cancels it at B."""
    a_id, upstream_id = _retab_run(slow_two, background=True)
    cancelled = slow_two.a.retab(GATEWAY_KEY).classifications.create_classification_cancel(a_id)
    assert cancelled.status is not None
    assert cancelled.status.value == "cancelled"
    assert cancelled.id == a_id
    sent = slow_two.upstream.last("POST", f"{slow_two.b_run(upstream_id)}/cancel")
    slow_two.assert_spends_upstream_key(sent)
    assert slow_two.b_status(upstream_id) == B_CANCELLED[slow_two.kind]


@pytest.mark.parametrize("two", [BACKENDS[0]], indirect=True)
def test_retab_cancel_of_a_finished_run_is_idempotent(two: Chain) -> None:
    """Retab's cancel returns a finished run unchanged; A does not ask B's Extend surface to
    cancel it (Extend would refuse)."""
    sdk = two.a.retab(GATEWAY_KEY)
    created = sdk.classifications.create(document=corpus(INVOICE), categories=categories())
    again = sdk.classifications.create_classification_cancel(created.id)
    assert again.status is not None
    assert again.status.value == "completed"
    assert again.output == created.output
    upstream_id = two.upstream_id("retab", created.id)
    assert not two.upstream.sent("POST", f"{two.b_run(upstream_id)}/cancel")


def test_retab_delete_removes_the_run_from_both(two: Chain) -> None:
    """`delete` through A answers 204 and deletes the run at B too; both then answer 404."""
    a_id, upstream_id = _retab_run(two)
    sdk = two.a.retab(GATEWAY_KEY)
    assert sdk.classifications.delete(a_id) is None
    sent = two.upstream.last("DELETE", two.b_run(upstream_id))
    two.assert_spends_upstream_key(sent)
    with pytest.raises(NotFoundError):
        sdk.classifications.get(a_id)
    two.assert_gone_at_b(upstream_id)
    assert two.b_ids() == []


@pytest.mark.parametrize("two", [BACKENDS[0]], indirect=True)
def test_retab_pdf_is_uploaded_to_bs_file_store_then_named_by_id(two: Chain) -> None:
    """A PDF must go through Extend's `POST /files/upload`, which B serves from its own file
    store: the file is kept at B for A's upstream key, the create names it by B's id, and B's
    local backend reads it from its store. The Retab client gets its classification, which
    names B's file, and the run is recorded at A and at B."""
    pdf = sorted(corpus("").glob("*.pdf"))[0]
    sdk = two.a.retab(GATEWAY_KEY)
    created = sdk.classifications.create(document=pdf, categories=categories())
    assert created.status == "completed"
    assert created.output.category == category_name(pdf.name)
    sent = two.upstream.last("POST", "/files/upload")
    two.assert_spends_upstream_key(sent)
    assert f'name="file"; filename="{pdf.name}"'.encode() in sent.content
    (kept,) = two.b_extend().files.list().data
    assert (kept.name, kept.type) == (pdf.name, "PDF")
    assert json_body(two.upstream.last("POST", "/classify"))["file"] == {"id": kept.id}
    assert two.upstream.paths() == ["POST /files/upload", "POST /classify"]
    assert created.file.id == kept.id
    assert [c.id for c in sdk.classifications.list().data] == [created.id]
    (on_b,) = two.b_extend().classify_runs.list(request_options=NO_RETRIES).data
    assert on_b.id == two.upstream_id("retab", created.id)
    assert on_b.file is not None
    assert on_b.file.id == kept.id


def test_extend_classify_is_classified_by_b(two: Chain) -> None:
    """An Extend `classify` reaches B as a create B accepts (relayed as sent to B's Extend
    surface, or a sync Retab create); the answer is Extend's."""
    sdk = two.a.extend(GATEWAY_KEY)
    run = sdk.classify(
        file=text_file(INVOICE),
        config={"classifications": classifications()},
        metadata={"tenant": "acme"},
        request_options=NO_RETRIES,
    )
    assert run.status == "PROCESSED"
    assert run.output is not None
    assert run.output.id == label(INVOICE)
    assert run.metadata == {"tenant": "acme"}
    upstream_id = two.upstream_id("extend", run.id)
    assert upstream_id in two.b_ids()
    if two.relays("extend"):
        sent = two.upstream.last("POST", "/classify")
        two.assert_spends_upstream_key(sent)
        assert json_body(sent)["metadata"] == {"tenant": "acme"}
    else:
        assert run.id.startswith("clr_xw1-")
        assert upstream_id.startswith("cls_")
        sent = two.upstream.last("POST", RUNS["retab"])
        two.assert_spends_upstream_key(sent)
        body = json_body(sent)
        assert body["background"] is False
        assert body["document"]["url"].startswith("data:text/plain;base64,")
        assert [c["handle_key"] for c in body["categories"]] == [c["id"] for c in classifications()]


def test_extend_create_and_poll_through_a(two: Chain) -> None:
    """The SDK's `create_and_poll` helper reaches PROCESSED through A, which reads B."""
    sdk = two.a.extend(GATEWAY_KEY)
    run = sdk.classify_runs.create_and_poll(
        file=text_file(INVOICE),
        config={"classifications": classifications()},
        polling_options=FAST_POLL,
    )
    assert run.status == "PROCESSED"
    assert run.output is not None
    assert run.output.id == label(INVOICE)
    polled = two.upstream.last("GET", two.b_run(two.upstream_id("extend", run.id)))
    if not two.relays("extend"):
        assert json_body(two.upstream.last("POST", RUNS["retab"]))["background"] is True
        assert polled.url.params["include_output"] == "true"


def test_extend_retrieve_returns_the_run_from_b(two: Chain) -> None:
    """`retrieve` on A reads the run from B, in Extend's shape, under A's id (relayed: B's
    run unchanged)."""
    a_id, upstream_id = _extend_run(two)
    run = two.a.extend(GATEWAY_KEY).classify_runs.retrieve(a_id, request_options=NO_RETRIES)
    assert run.id == a_id
    assert run.output is not None
    assert run.output.id == label(INVOICE)
    assert run.file is not None
    assert run.file.name == INVOICE
    if two.relays("extend"):
        assert run == two.b_extend().classify_runs.retrieve(upstream_id)
    sent = two.upstream.last("GET", two.b_run(upstream_id))
    two.assert_spends_upstream_key(sent)


def test_extend_list_shows_a_ids_of_runs_b_recorded(two: Chain) -> None:
    """A lists its own ids, newest first; B holds each run under A's upstream key."""
    first, first_on_b = _extend_run(two)
    second, second_on_b = _extend_run(two)
    listed = two.a.extend(GATEWAY_KEY).classify_runs.list(request_options=NO_RETRIES)
    assert [r.id for r in listed.data] == [second, first]
    assert sorted(two.b_ids()) == sorted([first_on_b, second_on_b])


def test_extend_cancel_stops_a_processing_run_at_b(slow_two: Chain) -> None:
    """Cancelling a run still processing through A cancels it at B."""
    sdk = slow_two.a.extend(GATEWAY_KEY)
    run = sdk.classify_runs.create(
        file=text_file(INVOICE), config={"classifications": classifications()}
    )
    cancelled = sdk.classify_runs.cancel(run.id, request_options=NO_RETRIES)
    assert cancelled.status == "CANCELLED"
    assert cancelled.id == run.id
    upstream_id = slow_two.upstream_id("extend", run.id)
    sent = slow_two.upstream.last("POST", f"{slow_two.b_run(upstream_id)}/cancel")
    slow_two.assert_spends_upstream_key(sent)
    assert slow_two.b_status(upstream_id) == B_CANCELLED[slow_two.kind]


def test_extend_cancel_of_a_finished_run_is_rejected(two: Chain) -> None:
    """Extend refuses to cancel a finished run (hazard 25): relayed, B's own 400 reaches the
    client; translated, A answers the 400 itself and never asks B's Retab surface, which
    would not refuse."""
    a_id, upstream_id = _extend_run(two)
    sdk = two.a.extend(GATEWAY_KEY)
    with pytest.raises(extend_errors.BadRequestError) as caught:
        sdk.classify_runs.cancel(a_id, request_options=NO_RETRIES)
    assert caught.value.body["code"] == "INVALID_REQUEST"
    cancels = two.upstream.sent("POST", f"{two.b_run(upstream_id)}/cancel")
    if two.relays("extend"):
        assert cancels
    else:
        assert caught.value.body["retryable"] is False
        assert not cancels


def test_extend_delete_removes_the_run_from_both(two: Chain) -> None:
    """`delete` answers `{id}` with A's id; the run is gone from A and from B."""
    a_id, upstream_id = _extend_run(two)
    sdk = two.a.extend(GATEWAY_KEY)
    assert sdk.classify_runs.delete(a_id, request_options=NO_RETRIES).id == a_id
    two.assert_spends_upstream_key(two.upstream.last("DELETE", two.b_run(upstream_id)))
    with pytest.raises(extend_errors.NotFoundError):
        sdk.classify_runs.retrieve(a_id, request_options=NO_RETRIES)
    assert two.b_ids() == []
    assert sdk.classify_runs.list(request_options=NO_RETRIES).data == []
