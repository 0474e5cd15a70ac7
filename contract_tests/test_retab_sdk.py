"""The official Retab SDK against the gateway on each backend that translates for it or does
the work: the embedded local backend, and Extend (a fake of Extend's API,
contract_tests/fake_extend.py) reached by translation.

Every classification method of `retab` 0.0.160, unchanged, with only its base URL moved: the
SDK's typed result and, where there is a vendor, what the vendor got. Tests of one backend
only (local validation, Extend's upload and config mapping) follow the shared ones.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import msgspec
import pytest
from retab import Retab
from retab.exceptions import (
    APIError,
    AuthenticationError,
    NotFoundError,
    ValidationError,
)

from contract_tests.backends import On, on_each_backend
from contract_tests.fake_extend import API_VERSION, BASE_URL, FakeExtend
from gateway.config import Settings
from tests.harness import (
    Gateway,
    MakeGateway,
    categories,
    corpus,
    local_settings,
    retab_status,
    vendor_backend,
    vendor_settings,
    wait_until,
)

UPSTREAM_KEY = "sk-extend-upstream"
INVOICE = INVOICE_TEXT = "doc_001.txt"
INVOICE_PDF = "doc_011.pdf"
KEYS = ("gw-key", "gw-key-2")  # two clients of one gateway


@pytest.fixture
def fake() -> FakeExtend:
    return FakeExtend()


def via_extend(tmp_path: Path, **backend: Any) -> Settings:
    """Settings whose only backend is Extend, with its own key and two gateway keys."""
    config = vendor_backend("extend", BASE_URL, api_key_env="EXTEND_API_KEY", **backend)
    return vendor_settings(
        tmp_path,
        {"extend": config},
        default="extend",
        api_keys=KEYS,
        upstream_keys={"extend": UPSTREAM_KEY},
    )


@pytest.fixture
def served(make_gateway: MakeGateway, tmp_path: Path, fake: FakeExtend) -> Gateway:
    return make_gateway(via_extend(tmp_path), {"extend": fake.transport})


@pytest.fixture
def sdk(served: Gateway) -> Retab:
    return served.retab("gw-key")


def _via_extend(
    make_gateway: MakeGateway, tmp_path: Path, slow: bool
) -> tuple[Gateway, FakeExtend]:
    fake = FakeExtend()
    if slow:
        fake.gets_before_processed = 100
    return make_gateway(via_extend(tmp_path), {"extend": fake.transport}), fake


on, slow = on_each_backend("extend", _via_extend)
ViaExtend = On[FakeExtend]


def _label(name: str) -> str:
    labels = msgspec.json.decode((corpus("labels.json")).read_bytes())
    return str(labels[name])


def _name_of(key: str) -> str:
    return next(c["name"] for c in categories() if c["handle_key"] == key)


def assert_sent_as_crosswalk(fake: FakeExtend) -> None:
    """Every upstream call spent the backend's key, never the client's, at the current version."""
    assert fake.calls()
    for call in fake.calls():
        assert call.headers["authorization"] == f"Bearer {UPSTREAM_KEY}", call.path
        assert call.headers["x-extend-api-version"] == API_VERSION, call.path


def test_background_create_is_queued_then_completes(on: ViaExtend) -> None:
    """`background=True` answers at once with a placeholder (on Extend: starts an Extend run);
    polled `get`s follow it to `completed`."""
    sdk, fake = on.retab(), on.fake
    created = sdk.classifications.create(
        document=corpus(INVOICE), categories=categories(), background=True
    )
    assert created.status is not None
    assert created.status.value in ("queued", "in_progress")
    assert created.output is not None
    assert created.output.category == ""
    if fake:
        assert created.status.value == "queued"
        assert fake.summary() == ["POST /classify_runs"]
    wait_until(lambda: retab_status(sdk, created.id) == "completed")
    final = sdk.classifications.get(created.id)
    assert final.output is not None
    assert final.output.category
    if fake:
        assert final.output.category == _name_of("invoice")
        assert fake.last("GET", f"/classify_runs/{fake.last_run_id}").status == 200
        assert_sent_as_crosswalk(fake)


def test_get_with_and_without_output(on: ViaExtend) -> None:
    """`include_output=False` leaves the output out and keeps every required field (on
    Extend, both `get`s read the run from Extend)."""
    sdk, fake = on.retab(), on.fake
    created = sdk.classifications.create(document=corpus(INVOICE), categories=categories())
    full = sdk.classifications.get(created.id, include_output=True)
    light = sdk.classifications.get(created.id, include_output=False)
    assert full.output is not None
    assert full.output.category
    assert full.output == created.output
    assert light.output is None
    assert (light.id, light.categories, light.model) == (full.id, full.categories, full.model)
    if fake:
        assert len(fake.calls("GET", f"/classify_runs/{fake.last_run_id}")) == 2
        assert_sent_as_crosswalk(fake)


def test_list_pages_through_every_run(on: ViaExtend) -> None:
    """`list` pages by `after` cursors; `auto_paging_iter` visits each run once, newest first.
    It is served from the ledger: no GET per item at a vendor (hazard 23)."""
    sdk, fake = on.retab(), on.fake
    created = [
        sdk.classifications.create(document=corpus(INVOICE), categories=categories()).id
        for _ in range(5)
    ]
    before = len(fake.calls()) if fake else 0
    first = sdk.classifications.list(limit=2)
    assert len(first.data) == 2
    assert first.has_more
    seen = list(first.auto_paging_iter())
    assert [c.id for c in seen] == created[::-1]
    assert all(c.output is not None and c.output.category == "Invoice" for c in seen)
    if fake:
        assert fake.calls()[before:] == []


def test_delete_then_get_is_not_found(on: ViaExtend) -> None:
    """`delete` returns None (Retab's 204); the run is then gone (NotFoundError). On Extend,
    Extend got DELETE of its own run id."""
    sdk, fake = on.retab(), on.fake
    created = sdk.classifications.create(document=corpus(INVOICE), categories=categories())
    upstream_id = fake.last_run_id if fake else ""
    assert sdk.classifications.delete(created.id) is None
    if fake:
        assert fake.last("DELETE", f"/classify_runs/{upstream_id}").status == 200
        assert upstream_id not in fake.runs
    with pytest.raises(NotFoundError):
        sdk.classifications.get(created.id)
    if fake:
        assert_sent_as_crosswalk(fake)


def test_cancel_a_running_run(slow: ViaExtend) -> None:
    """`create_classification_cancel` stops a background run before it completes (on Extend,
    cancels it at Extend)."""
    sdk, fake = slow.retab(), slow.fake
    created = sdk.classifications.create(
        document=corpus(INVOICE), categories=categories(), background=True
    )
    cancelled = sdk.classifications.create_classification_cancel(created.id)
    assert cancelled.status is not None
    assert cancelled.status.value == "cancelled"
    if fake:
        assert fake.last("POST", f"/classify_runs/{fake.last_run_id}/cancel").status == 200
        assert fake.runs[fake.last_run_id]["status"] == "CANCELLED"
        assert_sent_as_crosswalk(fake)
    later = sdk.classifications.get(created.id)
    assert later.status is not None
    assert later.status.value == "cancelled"


def test_cancel_is_idempotent_on_finished_runs(on: ViaExtend) -> None:
    """Cancelling a completed run returns it unchanged (contracts.md §10 hazard 25)."""
    sdk, fake = on.retab(), on.fake
    created = sdk.classifications.create(document=corpus(INVOICE), categories=categories())
    again = sdk.classifications.create_classification_cancel(created.id)
    assert again.status is not None
    assert again.status.value == "completed"
    assert again.output == created.output
    if fake:
        assert fake.runs[fake.last_run_id]["status"] == "PROCESSED"


def test_one_key_never_sees_another_keys_runs(on: ViaExtend) -> None:
    """Runs are scoped per key: another key cannot list, get, cancel or delete them, and a
    vendor is not even asked."""
    owner, stranger, fake = on.retab(KEYS[0]), on.retab(KEYS[1]), on.fake
    run = owner.classifications.create(document=corpus(INVOICE), categories=categories())
    before = len(fake.calls()) if fake else 0
    assert stranger.classifications.list().data == []
    for call in (
        stranger.classifications.get,
        stranger.classifications.create_classification_cancel,
        stranger.classifications.delete,
    ):
        with pytest.raises(NotFoundError):
            call(run.id)
    if fake:
        assert fake.calls()[before:] == []
    assert owner.classifications.get(run.id).id == run.id


def test_create_sync_completes_with_the_right_category(retab_sdk: Retab) -> None:
    """A sync create answers `completed` with a category name from the request."""
    result = retab_sdk.classifications.create(document=corpus(INVOICE), categories=categories())
    assert result.status is not None
    assert result.status.value == "completed"
    assert result.output is not None
    expected = next(c["name"] for c in categories() if c["handle_key"] == _label(INVOICE))
    assert result.output.category == expected
    assert result.output.reasoning
    assert result.id.startswith("cls_")
    assert result.file.filename == INVOICE


def test_create_answers_201_with_request_id(gateway: Gateway) -> None:
    """Retab's create is a 201 and every response carries an `x-request-id`."""
    body = {
        "document": {"filename": "a.txt", "url": "data:text/plain;base64,SW52b2ljZSB0b3RhbA=="},
        "categories": [{"name": "invoice"}, {"name": "letter"}],
    }
    with gateway.http() as http:
        response = http.post("/v1/classifications", json=body)
    assert response.status_code == 201
    assert response.headers["x-request-id"].startswith("req_")
    assert response.headers["crosswalk-backend"] == "local"


def test_create_pdf_document(retab_sdk: Retab) -> None:
    """A PDF sent as a data URL by the SDK is read and classified."""
    pdf = sorted(corpus("").glob("*.pdf"))[0]
    result = retab_sdk.classifications.create(document=pdf, categories=categories())
    assert result.status is not None
    assert result.status.value == "completed"
    assert result.file.mime_type == "application/pdf"


def test_list_filters_and_order(retab_sdk: Retab) -> None:
    """`order=asc`, `filename` and `status` filter the listing."""
    other = corpus("doc_002.txt")
    a = retab_sdk.classifications.create(document=corpus(INVOICE), categories=categories()).id
    b = retab_sdk.classifications.create(document=other, categories=categories()).id
    assert [c.id for c in retab_sdk.classifications.list(order="asc").data] == [a, b]
    only = retab_sdk.classifications.list(filename="doc_002.txt").data
    assert [c.id for c in only] == [b]
    assert retab_sdk.classifications.list(status="failed").data == []


def test_unknown_id_is_not_found(retab_sdk: Retab) -> None:
    """Unknown and malformed ids raise the SDK's NotFoundError."""
    for run_id in ("cls_01JNQ8W3T5V7X9Z1B3D5F7H9K2", "cls_~garbage", "nonsense"):
        with pytest.raises(NotFoundError):
            retab_sdk.classifications.get(run_id)


def test_bad_order_is_a_validation_error(retab_sdk: Retab) -> None:
    """A list `order` outside asc/desc is a 422 (the SDK's ValidationError)."""
    with pytest.raises(ValidationError):
        retab_sdk.classifications.list(order="sideways")


def test_bad_date_is_a_400(retab_sdk: Retab) -> None:
    """A malformed `from_date` is a 400 with a readable message."""
    with pytest.raises(APIError) as caught:
        retab_sdk.classifications.list(from_date="2020-13-45")
    assert caught.value.status_code == 400
    assert "from_date" in str(caught.value.message)


def test_wrong_key_is_unauthorized(make_gateway: MakeGateway, tmp_path: Path) -> None:
    """With gateway keys configured, an unknown key is the SDK's AuthenticationError."""
    gateway = make_gateway(local_settings(tmp_path, api_keys=("right-key",)))
    with pytest.raises(AuthenticationError):
        gateway.retab("wrong-key").classifications.list()
    assert gateway.retab("right-key").classifications.list().data == []


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
