"""The official Extend SDK against the gateway on each backend that translates for it or does
the work: the embedded local backend, and Retab (a fake of Retab's API,
contract_tests/fake_retab.py) reached by translation.

Every classify method of `extend-ai` 1.20.0, unchanged, with only its base URL moved: the
SDK's typed result and, where there is a vendor, what the vendor got. Tests of one backend
only follow the shared ones.
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
    UnauthorizedError,
    UnprocessableEntityError,
)
from extend_ai.types import ClassifyRun
from extend_ai.wrapper.polling import PollingOptions

from contract_tests.backends import On, on_each_backend
from contract_tests.fake_retab import BASE_URL, PATH, FakeRetab, Recorded
from gateway.config import (
    Settings,
)
from mappings.models import DEFAULT_MODELS
from tests.harness import (
    FIXTURES,
    NO_RETRIES,
    Gateway,
    MakeGateway,
    classifications,
    corpus,
    local_settings,
    vendor_backend,
    vendor_settings,
    wait_until,
)

INVOICE = "doc_001.txt"
UPSTREAM_KEY = "sk-retab-upstream"
EXTEND_URL = "https://api.extend.test"
FILE = msgspec.json.decode((FIXTURES / "wire" / "extend_files_get_response.json").read_bytes())
FAST_POLL = PollingOptions(fast_poll_interval_ms=100, max_wait_ms=20_000)
WORKSPACE = {"additional_headers": {"x-extend-workspace-id": "ws_Ab1c"}}


def _settings(tmp_path: Path, *, with_extend: bool = False) -> Settings:
    backends = {"retab": vendor_backend("retab", BASE_URL, api_key_env="RETAB_API_KEY")}
    keys = {"retab": UPSTREAM_KEY}
    if with_extend:
        backends["extend"] = vendor_backend("extend", EXTEND_URL, api_key_env="EXTEND_API_KEY")
        keys["extend"] = "sk-extend-upstream"
    return vendor_settings(
        tmp_path, backends, default="retab", api_keys=("gw-key",), upstream_keys=keys
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


def _via_retab(make_gateway: MakeGateway, tmp_path: Path, slow: bool) -> tuple[Gateway, FakeRetab]:
    # the fake's background runs stay unfinished until polled: slow enough to be cancelled
    fake = FakeRetab()
    return make_gateway(_settings(tmp_path), {"retab": fake.transport}), fake


on, slow = on_each_backend("retab", _via_retab)
ViaRetab = On[FakeRetab]


def _text_file(name: str = INVOICE) -> dict[str, str]:
    return {"text": corpus(name).read_text(encoding="utf-8"), "name": name}


def _label(name: str) -> str:
    labels = msgspec.json.decode(corpus("labels.json").read_bytes())
    return str(labels[name])


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


def test_create_is_processing_then_processed(on: ViaRetab) -> None:
    """`classify_runs.create` answers at once, without output (on Retab: a background Retab
    create, without Extend's priority or headers); the run then finishes."""
    sdk, fake = on.extend(), on.fake
    run = sdk.classify_runs.create(
        file=_text_file(), config=_config(), priority=5, request_options=WORKSPACE
    )
    assert run.status in ("PROCESSING", "PENDING")
    assert run.output is None
    if fake:
        assert run.status == "PROCESSING"
        sent = fake.last("POST")
        _assert_sent_as_crosswalk(sent)
        assert sent.json()["background"] is True
        assert "priority" not in sent.json()
    wait_until(lambda: sdk.classify_runs.retrieve(run.id).status == "PROCESSED")


def test_create_and_poll_reaches_processed(on: ViaRetab) -> None:
    """The SDK's `create_and_poll` helper reaches PROCESSED through the gateway (on Retab,
    polling Retab's run until it completes)."""
    sdk, fake = on.extend(), on.fake
    run = sdk.classify_runs.create_and_poll(
        file=_text_file(), config=_config(), polling_options=FAST_POLL
    )
    assert run.status == "PROCESSED"
    assert run.output is not None
    if fake is None:
        assert run.output.id == _label(INVOICE)
    else:
        upstream_id = fake.only_run_id()
        assert fake.status_of(upstream_id) == "completed"
        polls = fake.calls("GET", f"{PATH}/{upstream_id}")
        assert len(polls) >= fake.gets_to_complete
        assert all(p.query == {"include_output": "true"} for p in polls)
        _assert_sent_as_crosswalk(polls[-1])


def test_retrieve_returns_the_full_run(on: ViaRetab) -> None:
    """`retrieve` is Extend's full ClassifyRun: resolved config, review flags, links, times,
    file."""
    sdk, fake = on.extend(), on.fake
    created = _classify(sdk)
    run = sdk.classify_runs.retrieve(created.id)
    assert run.id == created.id
    assert run.output == created.output
    assert [c.id for c in run.config.classifications] == [c["id"] for c in classifications()]
    assert (run.reviewed, run.edited) == (False, False)
    assert run.dashboard_url.endswith(f"/classify_runs/{run.id}")
    assert run.created_at <= run.updated_at
    assert run.file is not None
    assert run.file.name == INVOICE
    if fake:
        assert run.config.base_processor == DEFAULT_MODELS.extend_processor("retab-small")
        upstream_id = fake.only_run_id()
        _assert_sent_as_crosswalk(fake.last("GET", f"{PATH}/{upstream_id}"))


def test_list_summaries_page_by_token(on: ViaRetab) -> None:
    """`list` returns summaries newest first and pages with `nextPageToken`, from the ledger:
    no vendor call per item (hazard 23)."""
    sdk, fake = on.extend(), on.fake
    ids = [_classify(sdk).id for _ in range(3)]
    first = sdk.classify_runs.list(max_page_size=2)
    assert [r.id for r in first.data] == ids[::-1][:2]
    assert first.next_page_token
    second = sdk.classify_runs.list(max_page_size=2, next_page_token=first.next_page_token)
    assert [r.id for r in second.data] == ids[:1]
    assert second.next_page_token is None
    assert {r.status for r in first.data + second.data} == {"PROCESSED"}
    named = sdk.classify_runs.list(file_name_contains="001", sort_dir="asc")
    assert [r.id for r in named.data] == ids
    if fake:
        assert fake.calls("GET") == []


def test_cancel_a_processing_run(slow: ViaRetab) -> None:
    """`cancel` of a run still processing answers CANCELLED (on Retab, cancels it there)."""
    sdk, fake = slow.extend(), slow.fake
    run = sdk.classify_runs.create(file=_text_file(), config=_config())
    cancelled = sdk.classify_runs.cancel(run.id, request_options=NO_RETRIES)
    assert cancelled.status == "CANCELLED"
    assert cancelled.id == run.id
    if fake:
        upstream_id = fake.only_run_id()
        _assert_sent_as_crosswalk(fake.last("POST", f"{PATH}/{upstream_id}/cancel"))
        assert fake.status_of(upstream_id) == "cancelled"


def test_cancel_a_finished_run_is_rejected(on: ViaRetab) -> None:
    """Extend only cancels runs still processing: a finished one is a 400, though Retab would
    return it unchanged (hazard 25)."""
    sdk, fake = on.extend(), on.fake
    run = _classify(sdk)
    with pytest.raises(BadRequestError) as caught:
        sdk.classify_runs.cancel(run.id, request_options=NO_RETRIES)
    body = caught.value.body
    assert body["code"] == "INVALID_REQUEST"
    assert body["retryable"] is False
    assert body["requestId"]
    if fake:
        assert fake.status_of(fake.only_run_id()) == "completed"


def test_delete_answers_the_id(on: ViaRetab) -> None:
    """`delete` answers `{id}` (on Retab, where Retab answered an empty 204, hazard 24); the
    run is then gone."""
    sdk, fake = on.extend(), on.fake
    run = _classify(sdk)
    upstream_id = fake.only_run_id() if fake else ""
    deleted = sdk.classify_runs.delete(run.id, request_options=NO_RETRIES)
    assert deleted.id == run.id
    if fake:
        call = fake.last("DELETE", f"{PATH}/{upstream_id}")
        assert (call.status, call.response) == (204, b"")
        _assert_sent_as_crosswalk(call)
    with pytest.raises(NotFoundError):
        sdk.classify_runs.retrieve(run.id, request_options=NO_RETRIES)


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
    gateway = make_gateway(local_settings(tmp_path, api_keys=("right-key",)))
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


def test_a_cancelled_run_is_listed_as_cancelled(sdk: Extend, retab: FakeRetab) -> None:
    """The ledger the listing is served from learns of a cancel crosswalk itself made."""
    run = sdk.classify_runs.create(file=_text_file(), config=_config())
    sdk.classify_runs.cancel(run.id, request_options=NO_RETRIES)
    listed = sdk.classify_runs.list(request_options=NO_RETRIES).data
    assert [(r.id, r.status) for r in listed] == [(run.id, "CANCELLED")]
    assert retab.calls("GET", PATH) == []


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
