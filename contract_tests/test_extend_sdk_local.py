"""The official Extend SDK against a served gateway on the embedded local backend.

Every classify method of `extend-ai` 1.20.0, unchanged, with only its base URL moved.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from extend_ai import Extend
from extend_ai.errors import BadRequestError, NotFoundError, UnauthorizedError
from extend_ai.wrapper.polling import PollingOptions

from gateway.config import LocalBackendConfig, Settings
from tests.harness import (
    NO_RETRIES,
    Gateway,
    MakeGateway,
    classifications,
    corpus,
    secret_keys,
    wait_until,
)

INVOICE = "doc_001.txt"
FAST_POLL = PollingOptions(fast_poll_interval_ms=100, max_wait_ms=20_000)


def _text_file(name: str = INVOICE) -> dict[str, str]:
    return {"text": corpus(name).read_text(encoding="utf-8"), "name": name}


def _label(name: str) -> str:
    labels = msgspec.json.decode(corpus("labels.json").read_bytes())
    return str(labels[name])


def test_classify_sync_is_processed(extend_sdk: Extend) -> None:
    """`classify` answers PROCESSED with the matching classification and a confidence."""
    run = extend_sdk.classify(
        file=_text_file(),
        config={"classifications": classifications()},
        metadata={"tenant": "acme"},
        request_options=NO_RETRIES,
    )
    assert run.status == "PROCESSED"
    assert run.id.startswith("clr_")
    assert run.output is not None
    assert run.output.id == _label(INVOICE)
    assert 0 <= run.output.confidence <= 1
    assert run.output.insights
    assert run.output.insights[0].content
    assert run.metadata == {"tenant": "acme"}
    assert run.config.classifications[0].id == classifications()[0]["id"]
    assert run.reviewed is False
    assert run.edited is False


def test_create_is_processing_then_processed(extend_sdk: Extend) -> None:
    """`classify_runs.create` answers at once, without output; the run then finishes."""
    run = extend_sdk.classify_runs.create(
        file=_text_file(), config={"classifications": classifications()}, priority=5
    )
    assert run.status in ("PROCESSING", "PENDING")
    assert run.output is None
    wait_until(lambda: extend_sdk.classify_runs.retrieve(run.id).status == "PROCESSED")


def test_create_and_poll(extend_sdk: Extend) -> None:
    """The SDK's `create_and_poll` helper reaches PROCESSED through the gateway."""
    run = extend_sdk.classify_runs.create_and_poll(
        file=_text_file(),
        config={"classifications": classifications()},
        polling_options=FAST_POLL,
    )
    assert run.status == "PROCESSED"
    assert run.output is not None
    assert run.output.id == _label(INVOICE)


def test_retrieve_returns_the_full_run(extend_sdk: Extend) -> None:
    """`retrieve` returns the full ClassifyRun, config and file included."""
    created = extend_sdk.classify(file=_text_file(), config={"classifications": classifications()})
    run = extend_sdk.classify_runs.retrieve(created.id)
    assert run.id == created.id
    assert run.file is not None
    assert run.file.name == INVOICE
    assert run.output == created.output


def test_list_summaries_page_by_token(extend_sdk: Extend) -> None:
    """`list` returns summaries newest first and pages with `nextPageToken`."""
    ids = [
        extend_sdk.classify(file=_text_file(), config={"classifications": classifications()}).id
        for _ in range(3)
    ]
    first = extend_sdk.classify_runs.list(max_page_size=2)
    assert [r.id for r in first.data] == ids[::-1][:2]
    assert first.next_page_token
    second = extend_sdk.classify_runs.list(max_page_size=2, next_page_token=first.next_page_token)
    assert [r.id for r in second.data] == ids[:1]
    assert second.next_page_token is None
    named = extend_sdk.classify_runs.list(file_name_contains="001", sort_dir="asc")
    assert [r.id for r in named.data] == ids


def test_cancel_a_processing_run(slow_gateway: Gateway) -> None:
    """`cancel` stops a run that is still processing."""
    extend_sdk = slow_gateway.extend()
    run = extend_sdk.classify_runs.create(
        file=_text_file(), config={"classifications": classifications()}
    )
    cancelled = extend_sdk.classify_runs.cancel(run.id)
    assert cancelled.status == "CANCELLED"


def test_cancel_a_finished_run_is_rejected(extend_sdk: Extend) -> None:
    """Extend only cancels runs still processing: a finished one is a 400."""
    run = extend_sdk.classify(file=_text_file(), config={"classifications": classifications()})
    with pytest.raises(BadRequestError) as caught:
        extend_sdk.classify_runs.cancel(run.id, request_options=NO_RETRIES)
    assert caught.value.body["code"] == "INVALID_REQUEST"


def test_delete_answers_the_id(extend_sdk: Extend) -> None:
    """`delete` answers `{id}`; the run is then gone."""
    run = extend_sdk.classify(file=_text_file(), config={"classifications": classifications()})
    deleted = extend_sdk.classify_runs.delete(run.id)
    assert deleted.id == run.id
    with pytest.raises(NotFoundError):
        extend_sdk.classify_runs.retrieve(run.id, request_options=NO_RETRIES)


def test_missing_config_is_a_400(extend_sdk: Extend) -> None:
    """Neither `classifier` nor `config`: a 400 INVALID_REQUEST in Extend's envelope."""
    with pytest.raises(BadRequestError) as caught:
        extend_sdk.classify(file=_text_file(), request_options=NO_RETRIES)
    body = caught.value.body
    assert body["code"] == "INVALID_REQUEST"
    assert body["retryable"] is False
    assert body["requestId"].startswith("req_")


def test_unknown_run_is_not_found(extend_sdk: Extend) -> None:
    """An unknown or malformed run id is a 404 NOT_FOUND."""
    for run_id in ("clr_doesNotExist000000000", "clr_~broken", "x"):
        with pytest.raises(NotFoundError) as caught:
            extend_sdk.classify_runs.retrieve(run_id, request_options=NO_RETRIES)
        assert caught.value.body["code"] == "NOT_FOUND"


def test_wrong_key_is_unauthorized(make_gateway: MakeGateway, tmp_path: Path) -> None:
    """With gateway keys configured, an unknown token is a 401 UNAUTHORIZED."""
    settings = Settings(
        backends={"local": LocalBackendConfig()},
        default_backend="local",
        api_keys=secret_keys("right-key"),
        store_path=str(tmp_path / "keys.db"),
    )
    gateway = make_gateway(settings)
    with pytest.raises(UnauthorizedError):
        gateway.extend("wrong-key").classify_runs.list(request_options=NO_RETRIES)
    assert gateway.extend("right-key").classify_runs.list().data == []


def test_other_api_version_is_rejected(gateway: Gateway) -> None:
    """`x-extend-api-version` other than 2026-02-09 is a 400 (contracts.md hazard 28)."""
    with gateway.http() as http:
        response = http.get("/classify_runs", headers={"x-extend-api-version": "2024-12-23"})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_REQUEST"


def test_runs_are_visible_from_both_surfaces(gateway: Gateway, extend_sdk: Extend) -> None:
    """A run made through the Extend surface is listed through the Retab one, same key."""
    run = extend_sdk.classify(file=_text_file(), config={"classifications": classifications()})
    with gateway.http() as http:
        listed = http.get("/v1/classifications").json()["data"]
    assert len(listed) == 1
    assert listed[0]["id"].startswith("cls_")
    assert listed[0]["id"] != run.id
