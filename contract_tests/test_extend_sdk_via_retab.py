"""The official Extend SDK against a served gateway whose backend is Retab (cross-vendor).

Every classify method of `extend-ai` 1.20.0, unchanged, answered by crosswalk from a fake
Retab upstream: what the SDK reads, and what Retab was sent (contracts.md §10).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import respx
from extend_ai import Extend
from extend_ai.core.api_error import ApiError
from extend_ai.errors import (
    BadRequestError,
    NotFoundError,
    TooManyRequestsError,
    UnprocessableEntityError,
)
from extend_ai.types import ClassifyRun
from extend_ai.wrapper.polling import PollingOptions

from contract_tests.fake_retab import BASE_URL, PATH, FakeRetab, Recorded
from gateway.config import ExtendBackendConfig, RetabBackendConfig, Secret, Settings
from mappings.models import DEFAULT_MODELS
from tests.harness import (
    FIXTURES,
    NO_RETRIES,
    Gateway,
    MakeGateway,
    classifications,
    corpus,
    secret_keys,
)

INVOICE = "doc_001.txt"
UPSTREAM_KEY = "sk-retab-upstream"
EXTEND_URL = "https://api.extend.test"
FILE = msgspec.json.decode((FIXTURES / "wire" / "extend_files_get_response.json").read_bytes())
FAST_POLL = PollingOptions(fast_poll_interval_ms=100, max_wait_ms=20_000)


def _settings(tmp_path: Path, *, with_extend: bool = False) -> Settings:
    backends: dict[str, Any] = {
        "retab": RetabBackendConfig(base_url=BASE_URL, api_key_env="RETAB_API_KEY")
    }
    keys = {"retab": Secret(UPSTREAM_KEY)}
    if with_extend:
        backends["extend"] = ExtendBackendConfig(base_url=EXTEND_URL, api_key_env="EXTEND_API_KEY")
        keys["extend"] = Secret("sk-extend-upstream")
    return Settings(
        backends=backends,
        default_backend="retab",
        api_keys=secret_keys("gw-key"),
        upstream_keys=keys,
        store_path=str(tmp_path / "crosswalk.db"),
    )


@pytest.fixture
def retab() -> FakeRetab:
    return FakeRetab()


@pytest.fixture
def served(make_gateway: MakeGateway, tmp_path: Path, retab: FakeRetab) -> Gateway:
    return make_gateway(_settings(tmp_path), transports={"retab": retab.transport})


@pytest.fixture
def sdk(served: Gateway) -> Extend:
    return served.extend("gw-key")


def _text_file(name: str = INVOICE) -> dict[str, str]:
    return {"text": corpus(name).read_text(encoding="utf-8"), "name": name}


def _config(**extra: Any) -> dict[str, Any]:
    return {"classifications": classifications(), **extra}


def _classify(sdk: Extend, **given: Any) -> ClassifyRun:
    """A sync `classify` of the invoice, with the corpus classifications unless `given`."""
    args = {"file": _text_file(), "config": _config(), "request_options": NO_RETRIES, **given}
    return sdk.classify(**args)


def _assert_sent_as_crosswalk(call: Recorded) -> None:
    """Retab got crosswalk's own key, never the client's, and none of Extend's headers."""
    assert call.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert not [h for h in call.headers if h.startswith(("x-extend", "x-fern"))]


def test_classify_sends_text_as_a_data_url(sdk: Extend, retab: FakeRetab) -> None:
    """`classify` with `file.text` is a sync Retab create of a `data:text/plain` document."""
    run = _classify(sdk)
    assert run.status == "PROCESSED"
    sent = retab.last("POST")
    _assert_sent_as_crosswalk(sent)
    body = sent.json()
    assert body["background"] is False
    assert body["document"]["filename"] == INVOICE
    prefix = "data:text/plain;base64,"
    assert body["document"]["url"].startswith(prefix)
    decoded = base64.b64decode(body["document"]["url"].removeprefix(prefix)).decode()
    assert decoded == _text_file()["text"]


def test_classify_answers_in_the_callers_classifications(sdk: Extend, retab: FakeRetab) -> None:
    """Classifications become Retab categories; Retab's answer comes back as the caller's id."""
    raw = sdk.with_raw_response.classify(
        file=_text_file(), config=_config(), request_options=NO_RETRIES
    )
    run = raw.data
    expected = [
        {"name": c["type"], "handle_key": c["id"], "description": c["description"]}
        for c in classifications()
    ]
    assert retab.last("POST").json()["categories"] == expected
    answered = retab.runs[retab.only_run_id()].resource["output"]
    assert run.output is not None
    chosen = next(c for c in classifications() if c["type"] == answered["category"])
    assert (run.output.id, run.output.type) == (chosen["id"], chosen["type"])
    assert 0 <= run.output.confidence <= 1
    # Retab has no per-run confidence: crosswalk says it made one up (hazard 4)
    assert "output.confidence" in raw.headers["crosswalk-translation"]
    assert raw.headers["crosswalk-backend"] == "retab"
    assert [i.content for i in run.output.insights] == [answered["reasoning"]]
    assert run.id.startswith("clr_xw1-")


def test_classify_by_url_passes_the_url_through(sdk: Extend, retab: FakeRetab) -> None:
    """`file.url` reaches Retab as the document URL, named by `file.name`."""
    url = "https://docs.example.test/incoming/freight_invoice.pdf"
    _classify(sdk, file={"url": url, "name": "freight_invoice.pdf"})
    document = retab.last("POST").json()["document"]
    assert document == {"filename": "freight_invoice.pdf", "url": url}


def test_config_options_become_retab_options(sdk: Extend, retab: FakeRetab) -> None:
    """Rules, a page range from 1 and the processor map onto Retab's own options."""
    processor = "classification_performance"
    config = _config(
        classificationRules="Pro-forma invoices are invoices.",
        baseProcessor=processor,
        advancedOptions={"pageRanges": [{"start": 1, "end": 3}]},
    )
    run = _classify(sdk, config=config)
    body = retab.last("POST").json()
    assert body["instructions"] == "Pro-forma invoices are invoices."
    assert body["first_n_pages"] == 3
    assert body["model"] == DEFAULT_MODELS.retab_model(processor)
    assert run.config.base_processor == processor
    assert run.config.classification_rules == "Pro-forma invoices are invoices."


def test_metadata_is_echoed_from_the_ledger(sdk: Extend, retab: FakeRetab) -> None:
    """Retab keeps no metadata: crosswalk sends none and echoes the caller's back."""
    run = _classify(sdk, metadata={"tenant": "acme"})
    assert "metadata" not in retab.last("POST").json()
    assert run.metadata == {"tenant": "acme"}
    assert sdk.classify_runs.retrieve(run.id).metadata == {"tenant": "acme"}


def test_create_is_a_background_run(sdk: Extend, retab: FakeRetab) -> None:
    """`classify_runs.create` is a background Retab create and answers PROCESSING."""
    workspace = {"additional_headers": {"x-extend-workspace-id": "ws_Ab1c"}}
    run = sdk.classify_runs.create(
        file=_text_file(), config=_config(), priority=5, request_options=workspace
    )
    assert run.status == "PROCESSING"
    assert run.output is None
    sent = retab.last("POST")
    _assert_sent_as_crosswalk(sent)
    assert sent.json()["background"] is True
    assert "priority" not in sent.json()


def test_create_and_poll_reaches_processed(sdk: Extend, retab: FakeRetab) -> None:
    """`create_and_poll` polls through the gateway until Retab's run completes."""
    run = sdk.classify_runs.create_and_poll(
        file=_text_file(), config=_config(), polling_options=FAST_POLL
    )
    assert run.status == "PROCESSED"
    assert run.output is not None
    upstream_id = retab.only_run_id()
    assert retab.status_of(upstream_id) == "completed"
    polls = retab.calls("GET", f"{PATH}/{upstream_id}")
    assert len(polls) >= retab.gets_to_complete
    assert all(p.query == {"include_output": "true"} for p in polls)
    _assert_sent_as_crosswalk(polls[-1])


def test_retrieve_returns_the_full_run(sdk: Extend, retab: FakeRetab) -> None:
    """`retrieve` is Extend's full ClassifyRun: resolved config, review flags, links, times."""
    created = _classify(sdk)
    run = sdk.classify_runs.retrieve(created.id)
    assert run.id == created.id
    assert run.output == created.output
    assert [c.id for c in run.config.classifications] == [c["id"] for c in classifications()]
    assert run.config.base_processor == DEFAULT_MODELS.extend_processor("retab-small")
    assert (run.reviewed, run.edited) == (False, False)
    assert run.dashboard_url.endswith(f"/classify_runs/{run.id}")
    assert run.created_at <= run.updated_at
    assert run.file is not None
    assert run.file.name == INVOICE
    upstream_id = retab.only_run_id()
    _assert_sent_as_crosswalk(retab.last("GET", f"{PATH}/{upstream_id}"))


def test_list_is_served_from_the_ledger(sdk: Extend, retab: FakeRetab) -> None:
    """`list` pages summaries by `nextPageToken` without one Retab call per item (hazard 23)."""
    ids = [_classify(sdk).id for _ in range(3)]
    first = sdk.classify_runs.list(max_page_size=2)
    assert [r.id for r in first.data] == ids[::-1][:2]
    assert first.next_page_token
    second = sdk.classify_runs.list(max_page_size=2, next_page_token=first.next_page_token)
    assert [r.id for r in second.data] == ids[:1]
    assert second.next_page_token is None
    assert {r.status for r in first.data + second.data} == {"PROCESSED"}
    assert retab.calls("GET") == []


def test_cancel_a_processing_run(sdk: Extend, retab: FakeRetab) -> None:
    """`cancel` of a run still processing cancels it at Retab and answers CANCELLED."""
    run = sdk.classify_runs.create(file=_text_file(), config=_config())
    cancelled = sdk.classify_runs.cancel(run.id, request_options=NO_RETRIES)
    assert cancelled.status == "CANCELLED"
    assert cancelled.id == run.id
    upstream_id = retab.only_run_id()
    _assert_sent_as_crosswalk(retab.last("POST", f"{PATH}/{upstream_id}/cancel"))
    assert retab.status_of(upstream_id) == "cancelled"


def test_a_cancelled_run_is_listed_as_cancelled(sdk: Extend, retab: FakeRetab) -> None:
    """The ledger the listing is served from learns of a cancel crosswalk itself made."""
    run = sdk.classify_runs.create(file=_text_file(), config=_config())
    sdk.classify_runs.cancel(run.id, request_options=NO_RETRIES)
    listed = sdk.classify_runs.list(request_options=NO_RETRIES).data
    assert [(r.id, r.status) for r in listed] == [(run.id, "CANCELLED")]
    assert retab.calls("GET", PATH) == []


def test_cancel_a_finished_run_is_rejected(sdk: Extend, retab: FakeRetab) -> None:
    """Retab would return a finished run unchanged; Extend refuses: a 400 (hazard 25)."""
    run = _classify(sdk)
    with pytest.raises(BadRequestError) as caught:
        sdk.classify_runs.cancel(run.id, request_options=NO_RETRIES)
    body = caught.value.body
    assert body["code"] == "INVALID_REQUEST"
    assert body["retryable"] is False
    assert body["requestId"]
    assert retab.status_of(retab.only_run_id()) == "completed"


def test_cancel_that_loses_the_race_is_rejected(sdk: Extend, retab: FakeRetab) -> None:
    """A run that completes as the cancel lands comes back unchanged from Retab: still a 4xx
    for an Extend client, never a 200 PROCESSED answer to a cancel (hazard 25)."""
    run = sdk.classify_runs.create(file=_text_file(), config=_config())
    retab.finish_on_cancel = True
    with pytest.raises(BadRequestError) as caught:
        sdk.classify_runs.cancel(run.id, request_options=NO_RETRIES)
    assert caught.value.body["code"] == "INVALID_REQUEST"
    upstream_id = retab.only_run_id()
    assert retab.last("POST", f"{PATH}/{upstream_id}/cancel").status == 200
    assert retab.status_of(upstream_id) == "completed"


def test_delete_answers_the_id(sdk: Extend, retab: FakeRetab) -> None:
    """`delete` answers `{id}` where Retab answered an empty 204 (hazard 24)."""
    run = _classify(sdk)
    upstream_id = retab.only_run_id()
    deleted = sdk.classify_runs.delete(run.id, request_options=NO_RETRIES)
    assert deleted.id == run.id
    call = retab.last("DELETE", f"{PATH}/{upstream_id}")
    assert (call.status, call.response) == (204, b"")
    _assert_sent_as_crosswalk(call)
    with pytest.raises(NotFoundError):
        sdk.classify_runs.retrieve(run.id, request_options=NO_RETRIES)


def test_extend_file_id_is_resolved_through_the_extend_backend(
    make_gateway: MakeGateway, tmp_path: Path, retab: FakeRetab
) -> None:
    """An Extend file id is read from Extend's Files API; Retab gets its presigned URL."""
    extend_api = respx.MockRouter(base_url=EXTEND_URL, assert_all_called=False)
    files = extend_api.get(f"/files/{FILE['id']}").mock(return_value=httpx.Response(200, json=FILE))
    transports = {
        "retab": retab.transport,
        "extend": httpx.MockTransport(extend_api.async_handler),
    }
    served = make_gateway(_settings(tmp_path, with_extend=True), transports=transports)
    run = _classify(served.extend("gw-key"), file={"id": FILE["id"]})
    assert run.status == "PROCESSED"
    assert files.call_count == 1
    asked = files.calls.last.request
    assert asked.headers["authorization"] == "Bearer sk-extend-upstream"
    assert asked.headers["x-extend-api-version"] == "2026-02-09"
    document = retab.last("POST").json()["document"]
    assert document == {"filename": FILE["name"], "url": FILE["presignedUrl"]}


def test_extend_file_id_without_an_extend_backend_is_a_422(sdk: Extend, retab: FakeRetab) -> None:
    """With no Extend backend to resolve it, an Extend file id is a 422 naming `file.id`."""
    with pytest.raises(UnprocessableEntityError) as caught:
        _classify(sdk, file={"id": FILE["id"]})
    assert caught.value.body.code == "INVALID_REQUEST"
    assert "file.id" in caught.value.body.message
    assert retab.calls() == []


def test_password_protected_file_is_a_422(sdk: Extend, retab: FakeRetab) -> None:
    """Retab cannot open encrypted PDFs: `file.settings.password` is a 422 (hazard 10)."""
    file = {"url": "https://docs.example.test/locked.pdf", "settings": {"password": "hunter2"}}
    with pytest.raises(UnprocessableEntityError) as caught:
        _classify(sdk, file=file)
    assert "file.settings.password" in caught.value.body.message
    assert retab.calls() == []


def test_upstream_rate_limit_reaches_the_sdk(sdk: Extend, retab: FakeRetab) -> None:
    """Retab's 429 is Extend's RATE_LIMIT_EXCEEDED, retryable, keeping `Retry-After`."""
    retab.fail_next(429, {"detail": "Rate limit exceeded"}, headers={"Retry-After": "7"})
    with pytest.raises(TooManyRequestsError) as caught:
        _classify(sdk)
    assert caught.value.status_code == 429
    assert caught.value.headers is not None
    assert caught.value.headers["retry-after"] == "7"
    assert caught.value.body["code"] == "RATE_LIMIT_EXCEEDED"
    assert caught.value.body["retryable"] is True
    assert retab.last("POST").status == 429


def test_unreachable_upstream_is_a_502(sdk: Extend, retab: FakeRetab) -> None:
    """A connection failure to Retab is a retryable 502 in Extend's envelope."""
    retab.fail_next(exception=httpx.ConnectError("connection refused"))
    with pytest.raises(ApiError) as caught:
        _classify(sdk)
    assert caught.value.status_code == 502
    assert caught.value.body["code"] == "INTERNAL_ERROR"
    assert caught.value.body["retryable"] is True
    assert retab.last("POST").status is None
