"""The official Retab SDK against a gateway whose backend is Extend (cross-vendor translation).

Every classification method of `retab` 0.0.160, unchanged, through crosswalk to a fake of
Extend's API (contract_tests/fake_extend.py): the SDK's typed result and what Extend got.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from retab import Retab
from retab.exceptions import NotFoundError, ValidationError

from contract_tests.fake_extend import API_VERSION, BASE_URL, FakeExtend
from gateway.config import ExtendBackendConfig, Secret, Settings
from tests.harness import (
    Gateway,
    MakeGateway,
    categories,
    corpus,
    secret_keys,
    wait_until,
)

UPSTREAM_KEY = "sk-extend-upstream"
INVOICE_TEXT = "doc_001.txt"
INVOICE_PDF = "doc_011.pdf"


@pytest.fixture
def fake() -> FakeExtend:
    return FakeExtend()


def via_extend(tmp_path: Path, **backend: Any) -> Settings:
    """Settings whose only backend is Extend, with its own key and two gateway keys."""
    config = ExtendBackendConfig(base_url=BASE_URL, api_key_env="EXTEND_API_KEY", **backend)
    return Settings(
        backends={"extend": config},
        default_backend="extend",
        api_keys=secret_keys("gw-key", "gw-key-2"),
        upstream_keys={"extend": Secret(UPSTREAM_KEY)},
        store_path=str(tmp_path / "crosswalk.db"),
    )


@pytest.fixture
def served(make_gateway: MakeGateway, tmp_path: Path, fake: FakeExtend) -> Gateway:
    return make_gateway(via_extend(tmp_path), {"extend": fake.transport})


@pytest.fixture
def sdk(served: Gateway) -> Retab:
    return served.retab("gw-key")


def _name_of(key: str) -> str:
    return next(c["name"] for c in categories() if c["handle_key"] == key)


def assert_sent_as_crosswalk(fake: FakeExtend) -> None:
    """Every upstream call spent the backend's key, never the client's, at the current version."""
    assert fake.calls()
    for call in fake.calls():
        assert call.headers["authorization"] == f"Bearer {UPSTREAM_KEY}", call.path
        assert call.headers["x-extend-api-version"] == API_VERSION, call.path


def test_pdf_is_uploaded_then_classified_by_file_id(sdk: Retab, fake: FakeExtend) -> None:
    """A PDF data URL goes to Extend's Files API first, then to `/classify` as `file: {id}`."""
    result = sdk.classifications.create(document=corpus(INVOICE_PDF), categories=categories())
    assert result.status is not None
    assert result.status.value == "completed"
    assert result.output is not None
    assert result.output.category == "Invoice"
    assert result.file.filename == INVOICE_PDF
    part = fake.last("POST", "/files/upload").parts()["file"]
    assert part.filename == INVOICE_PDF
    assert part.content_type == "application/pdf"
    assert part.data == corpus(INVOICE_PDF).read_bytes()
    uploaded = fake.last("POST", "/files/upload").json_answer()["id"]
    assert fake.last("POST", "/classify").json()["file"] == {"id": uploaded}
    assert fake.summary() == ["POST /files/upload", "POST /classify"]
    assert_sent_as_crosswalk(fake)


def test_text_document_goes_as_file_text(sdk: Retab, fake: FakeExtend) -> None:
    """A `text/plain` document is sent inline as `file.text`, with no upload (hazard 31)."""
    result = sdk.classifications.create(document=corpus(INVOICE_TEXT), categories=categories())
    assert result.output is not None
    assert result.output.category == _name_of("invoice")
    sent = fake.last("POST", "/classify").json()["file"]
    assert sent == {"text": corpus(INVOICE_TEXT).read_text(encoding="utf-8"), "name": INVOICE_TEXT}
    assert fake.calls("POST", "/files/upload") == []
    assert_sent_as_crosswalk(fake)


def test_categories_become_unique_classifications_and_the_answer_a_name(
    sdk: Retab, fake: FakeExtend, tmp_path: Path
) -> None:
    """Names that slug alike get distinct ids; Extend's `output.id` maps back to the name."""
    document = tmp_path / "slip.txt"
    document.write_text("March Pay-slip for employee 4411, net pay 2,310.00", encoding="utf-8")
    asked = [{"name": "Pay slip"}, {"name": "Pay-slip", "description": "A monthly slip"}]
    result = sdk.classifications.create(document=document, categories=asked)
    config = fake.last("POST", "/classify").json()["config"]
    assert config["classifications"] == [
        {"id": "pay_slip", "type": "Pay slip", "description": "Pay slip"},
        {"id": "pay_slip_2", "type": "Pay-slip", "description": "A monthly slip"},
    ]
    assert fake.last("POST", "/classify").json_answer()["output"]["id"] == "pay_slip_2"
    assert result.output is not None
    assert result.output.category == "Pay-slip"
    assert [c.name for c in result.categories] == ["Pay slip", "Pay-slip"]


def test_sync_create_in_poll_mode_waits_for_the_run(
    make_gateway: MakeGateway, tmp_path: Path, fake: FakeExtend
) -> None:
    """With `sync_mode = "poll"` a sync create is an Extend run polled until it is done."""
    settings = via_extend(tmp_path, sync_mode="poll", poll_interval=0.01)
    sdk = make_gateway(settings, {"extend": fake.transport}).retab("gw-key")
    fake.gets_before_processed = 2
    result = sdk.classifications.create(document=corpus(INVOICE_TEXT), categories=categories())
    assert result.status is not None
    assert result.status.value == "completed"
    assert result.output is not None
    assert result.output.category == _name_of("invoice")
    polled = f"GET /classify_runs/{fake.last_run_id}"
    assert fake.summary() == ["POST /classify_runs", polled, polled, polled]


def test_options_map_onto_extend_config(sdk: Retab, fake: FakeExtend) -> None:
    """`first_n_pages`, `instructions` and `model` become pageRanges, rules and baseProcessor."""
    result = sdk.classifications.create(
        document=corpus(INVOICE_TEXT),
        categories=categories(),
        model="retab-large",
        first_n_pages=2,
        instructions="Treat pro-forma invoices as invoices.",
    )
    config = fake.last("POST", "/classify").json()["config"]
    assert config["advancedOptions"] == {"pageRanges": [{"start": 1, "end": 2}]}
    assert config["classificationRules"] == "Treat pro-forma invoices as invoices."
    assert config["baseProcessor"] == "classification_performance"
    assert [c["id"] for c in config["classifications"]] == [c["handle_key"] for c in categories()]
    assert result.instructions == "Treat pro-forma invoices as invoices."
    assert result.model == "retab-large"


def test_bust_cache_is_reported_as_dropped(served: Gateway, fake: FakeExtend) -> None:
    """Extend has no `bust_cache`: it is left out upstream and named in crosswalk-translation."""
    text = corpus(INVOICE_TEXT).read_bytes()
    url = "data:text/plain;base64," + base64.b64encode(text).decode()
    body = {
        "document": {"filename": INVOICE_TEXT, "url": url},
        "categories": categories(),
        "bust_cache": True,
    }
    response = served.http("gw-key").post("/v1/classifications", json=body)
    assert response.status_code == 201
    assert response.headers["crosswalk-backend"] == "extend"
    dropped = response.headers["crosswalk-translation"].partition("dropped=")[2]
    assert "bust_cache" in dropped.split(";")[0].split(",")
    assert b"bust_cache" not in fake.last("POST", "/classify").body


def test_consensus_is_a_validation_error(sdk: Retab, fake: FakeExtend) -> None:
    """`n_consensus > 1` has no Extend equivalent: a 422 and nothing sent upstream."""
    for document in (corpus(INVOICE_TEXT), corpus(INVOICE_PDF)):
        with pytest.raises(ValidationError) as caught:
            sdk.classifications.create(document=document, categories=categories(), n_consensus=3)
        assert caught.value.status_code == 422
    assert fake.calls() == []


def test_background_create_is_queued_then_completes(sdk: Retab, fake: FakeExtend) -> None:
    """`background=True` starts an Extend run; polled `get`s follow it to `completed`."""
    created = sdk.classifications.create(
        document=corpus(INVOICE_TEXT), categories=categories(), background=True
    )
    assert created.status is not None
    assert created.status.value == "queued"
    assert created.output is not None
    assert created.output.category == ""
    assert fake.summary() == ["POST /classify_runs"]

    def completed() -> bool:
        status = sdk.classifications.get(created.id).status
        return status is not None and status.value == "completed"

    wait_until(completed)
    final = sdk.classifications.get(created.id)
    assert final.output is not None
    assert final.output.category == _name_of("invoice")
    assert fake.last("GET", f"/classify_runs/{fake.last_run_id}").status == 200
    assert_sent_as_crosswalk(fake)


def test_get_with_and_without_output(sdk: Retab, fake: FakeExtend) -> None:
    """`get` reads the run from Extend; `include_output=False` leaves the output out."""
    created = sdk.classifications.create(document=corpus(INVOICE_TEXT), categories=categories())
    full = sdk.classifications.get(created.id, include_output=True)
    light = sdk.classifications.get(created.id, include_output=False)
    assert full.output == created.output
    assert light.output is None
    assert (light.id, light.categories, light.model) == (full.id, full.categories, full.model)
    assert len(fake.calls("GET", f"/classify_runs/{fake.last_run_id}")) == 2
    assert_sent_as_crosswalk(fake)


def test_list_pages_from_the_ledger_without_upstream_calls(sdk: Retab, fake: FakeExtend) -> None:
    """Listing and paging are served from the ledger: no GET per item at Extend (hazard 23)."""
    created = [
        sdk.classifications.create(document=corpus(INVOICE_TEXT), categories=categories()).id
        for _ in range(3)
    ]
    before = len(fake.calls())
    first = sdk.classifications.list(limit=2)
    assert len(first.data) == 2
    assert first.has_more
    seen = list(first.auto_paging_iter())
    assert [c.id for c in seen] == created[::-1]
    assert all(c.output is not None and c.output.category == "Invoice" for c in seen)
    assert fake.calls()[before:] == []


def test_delete_deletes_the_extend_run(sdk: Retab, fake: FakeExtend) -> None:
    """`delete` returns None (Retab's 204); Extend got DELETE of its own run id."""
    created = sdk.classifications.create(document=corpus(INVOICE_TEXT), categories=categories())
    upstream_id = fake.last_run_id
    assert sdk.classifications.delete(created.id) is None
    assert fake.last("DELETE", f"/classify_runs/{upstream_id}").status == 200
    assert upstream_id not in fake.runs
    with pytest.raises(NotFoundError):
        sdk.classifications.get(created.id)
    assert_sent_as_crosswalk(fake)


def test_cancel_a_running_run(sdk: Retab, fake: FakeExtend) -> None:
    """Cancelling a background run still processing cancels it at Extend."""
    fake.gets_before_processed = 100
    created = sdk.classifications.create(
        document=corpus(INVOICE_TEXT), categories=categories(), background=True
    )
    cancelled = sdk.classifications.create_classification_cancel(created.id)
    assert cancelled.status is not None
    assert cancelled.status.value == "cancelled"
    assert fake.last("POST", f"/classify_runs/{fake.last_run_id}/cancel").status == 200
    assert fake.runs[fake.last_run_id]["status"] == "CANCELLED"
    assert_sent_as_crosswalk(fake)


def test_cancel_a_finished_run_returns_it_unchanged(sdk: Retab, fake: FakeExtend) -> None:
    """Retab's cancel is idempotent: a completed run comes back as it was (hazard 25)."""
    created = sdk.classifications.create(document=corpus(INVOICE_TEXT), categories=categories())
    again = sdk.classifications.create_classification_cancel(created.id)
    assert again.status is not None
    assert again.status.value == "completed"
    assert again.output == created.output
    assert fake.runs[fake.last_run_id]["status"] == "PROCESSED"


def test_cancel_refused_by_extend_returns_the_finished_run(sdk: Retab, fake: FakeExtend) -> None:
    """A run that finishes just before Extend gets the cancel: Extend's 400 becomes a 200."""
    created = sdk.classifications.create(
        document=corpus(INVOICE_TEXT), categories=categories(), background=True
    )
    upstream_id = fake.last_run_id
    cancel = f"/classify_runs/{upstream_id}/cancel"
    still_processing = fake.run(upstream_id)
    fake.finish(upstream_id)  # it finishes while the gateway's refresh still sees it running
    fake.fail_next(200, still_processing, method="GET")
    result = sdk.classifications.create_classification_cancel(created.id)
    assert fake.last("POST", cancel).status == 400
    assert result.status is not None
    assert result.status.value == "completed"


def test_another_keys_run_is_not_found(served: Gateway, fake: FakeExtend) -> None:
    """A run made with one gateway key is a 404 for another, which never reaches Extend."""
    owner, stranger = served.retab("gw-key"), served.retab("gw-key-2")
    run = owner.classifications.create(document=corpus(INVOICE_TEXT), categories=categories())
    before = len(fake.calls())
    for call in (
        stranger.classifications.get,
        stranger.classifications.create_classification_cancel,
        stranger.classifications.delete,
    ):
        with pytest.raises(NotFoundError):
            call(run.id)
    assert fake.calls()[before:] == []
    assert owner.classifications.get(run.id).id == run.id
