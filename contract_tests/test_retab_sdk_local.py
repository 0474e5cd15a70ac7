"""The official Retab SDK against a served gateway on the embedded local backend.

Every classification method of `retab` 0.0.160, unchanged, with only its base URL moved.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from retab import Retab
from retab.exceptions import (
    APIError,
    AuthenticationError,
    NotFoundError,
    ValidationError,
)

from gateway.config import LocalBackendConfig, Settings
from tests.harness import (
    Gateway,
    MakeGateway,
    categories,
    corpus,
    secret_keys,
    wait_until,
)

INVOICE = "doc_001.txt"


def _label(name: str) -> str:
    labels = msgspec.json.decode((corpus("labels.json")).read_bytes())
    return str(labels[name])


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


def test_background_create_is_queued_then_completes(retab_sdk: Retab) -> None:
    """`background=True` answers at once with a placeholder, then completes when polled."""
    created = retab_sdk.classifications.create(
        document=corpus(INVOICE), categories=categories(), background=True
    )
    assert created.status is not None
    assert created.status.value in ("queued", "in_progress")
    assert created.output is not None
    assert created.output.category == ""

    def done() -> bool:
        run = retab_sdk.classifications.get(created.id)
        return run.status is not None and run.status.value == "completed"

    wait_until(done)
    final = retab_sdk.classifications.get(created.id)
    assert final.output is not None
    assert final.output.category


def test_get_with_and_without_output(retab_sdk: Retab) -> None:
    """`include_output=False` leaves the output out and keeps every required field."""
    created = retab_sdk.classifications.create(document=corpus(INVOICE), categories=categories())
    full = retab_sdk.classifications.get(created.id, include_output=True)
    light = retab_sdk.classifications.get(created.id, include_output=False)
    assert full.output is not None
    assert full.output.category
    assert light.output is None
    assert light.id == full.id
    assert light.categories == full.categories


def test_list_pages_through_every_run(retab_sdk: Retab) -> None:
    """`list` pages by `after` cursors; `auto_paging_iter` visits each run once."""
    created = [
        retab_sdk.classifications.create(document=corpus(INVOICE), categories=categories()).id
        for _ in range(5)
    ]
    first = retab_sdk.classifications.list(limit=2)
    assert len(first.data) == 2
    assert first.has_more
    seen = [c.id for c in first.auto_paging_iter()]
    assert seen == list(reversed(created))  # newest first by default


def test_list_filters_and_order(retab_sdk: Retab) -> None:
    """`order=asc`, `filename` and `status` filter the listing."""
    other = corpus("doc_002.txt")
    a = retab_sdk.classifications.create(document=corpus(INVOICE), categories=categories()).id
    b = retab_sdk.classifications.create(document=other, categories=categories()).id
    assert [c.id for c in retab_sdk.classifications.list(order="asc").data] == [a, b]
    only = retab_sdk.classifications.list(filename="doc_002.txt").data
    assert [c.id for c in only] == [b]
    assert retab_sdk.classifications.list(status="failed").data == []


def test_delete_then_get_is_not_found(retab_sdk: Retab) -> None:
    """`delete` answers 204; the run is then gone (NotFoundError)."""
    created = retab_sdk.classifications.create(document=corpus(INVOICE), categories=categories())
    assert retab_sdk.classifications.delete(created.id) is None
    with pytest.raises(NotFoundError):
        retab_sdk.classifications.get(created.id)


def test_cancel_a_running_run(slow_gateway: Gateway) -> None:
    """`create_classification_cancel` stops a background run before it completes."""
    retab_sdk = slow_gateway.retab()
    created = retab_sdk.classifications.create(
        document=corpus(INVOICE), categories=categories(), background=True
    )
    cancelled = retab_sdk.classifications.create_classification_cancel(created.id)
    assert cancelled.status is not None
    assert cancelled.status.value == "cancelled"
    later = retab_sdk.classifications.get(created.id)
    assert later.status is not None
    assert later.status.value == "cancelled"


def test_cancel_is_idempotent_on_finished_runs(retab_sdk: Retab) -> None:
    """Cancelling a completed run returns it unchanged (contracts.md §10 hazard 25)."""
    created = retab_sdk.classifications.create(document=corpus(INVOICE), categories=categories())
    again = retab_sdk.classifications.create_classification_cancel(created.id)
    assert again.status is not None
    assert again.status.value == "completed"
    assert again.output == created.output


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
    settings = Settings(
        backends={"local": LocalBackendConfig()},
        default_backend="local",
        api_keys=secret_keys("right-key"),
        store_path=str(tmp_path / "keys.db"),
    )
    gateway = make_gateway(settings)
    with pytest.raises(AuthenticationError):
        gateway.retab("wrong-key").classifications.list()
    assert gateway.retab("right-key").classifications.list().data == []


def test_one_key_never_sees_another_keys_runs(gateway: Gateway) -> None:
    """Runs are scoped per key: another key cannot list, get, cancel or delete them."""
    owner, stranger = gateway.retab("key-a"), gateway.retab("key-b")
    run = owner.classifications.create(document=corpus(INVOICE), categories=categories())
    assert stranger.classifications.list().data == []
    for call in (
        stranger.classifications.get,
        stranger.classifications.create_classification_cancel,
        stranger.classifications.delete,
    ):
        with pytest.raises(NotFoundError):
            call(run.id)
    assert owner.classifications.get(run.id).id == run.id
