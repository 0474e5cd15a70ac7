"""Extend wire Structs against the example payloads and the official SDK's models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pydantic
import pytest
from extend_ai.types.api_error import ApiError as SdkApiError
from extend_ai.types.classify_run import ClassifyRun as SdkClassifyRun
from extend_ai.types.file import File as SdkFile

from mappings import extend

WIRE = Path(__file__).resolve().parent.parent / "fixtures" / "wire"

# every Extend example body and the wire Struct it is decoded through
BODY_TYPES: dict[str, type[Any]] = {
    "extend_batch_runs_get_response.json": extend.BatchRun,
    "extend_classifiers_get_response.json": extend.Classifier,
    "extend_classifiers_list_response.json": extend.VendorClassifierList,
    "extend_classify_request.json": extend.ClassifyRequest,
    "extend_classify_response.json": extend.ClassifyRun,
    "extend_classify_run_seed.json": extend.ClassifyRun,
    "extend_classify_runs_batch_request.json": extend.BatchCreateRequest,
    "extend_classify_runs_batch_response.json": extend.BatchRun,
    "extend_classify_runs_cancel_response.json": extend.ClassifyRun,
    "extend_classify_runs_create_request.json": extend.ClassifyRunCreateRequest,
    "extend_classify_runs_create_request_classifier.json": extend.ClassifyRunCreateRequest,
    "extend_classify_runs_create_response.json": extend.ClassifyRun,
    "extend_classify_runs_delete_response.json": extend.DeleteResponse,
    "extend_classify_runs_get_cancelled.json": extend.ClassifyRun,
    "extend_classify_runs_get_failed.json": extend.ClassifyRun,
    "extend_classify_runs_get_pending.json": extend.ClassifyRun,
    "extend_classify_runs_get_processed.json": extend.ClassifyRun,
    "extend_classify_runs_get_processed_reviewed.json": extend.ClassifyRun,
    "extend_classify_runs_list_response.json": extend.ClassifyRunList,
    "extend_classify_runs_list_response_last_page.json": extend.ClassifyRunList,
    "extend_error_400_invalid_request.json": extend.ApiError,
    "extend_error_401_unauthorized.json": extend.ApiError,
    "extend_error_402_usage_blocked.json": extend.ApiError,
    "extend_error_404_not_found.json": extend.ApiError,
    "extend_error_422_invalid_request_docurl.json": extend.ApiError,
    "extend_error_429_rate_limited.json": extend.ApiError,
    "extend_error_500_internal.json": extend.ApiError,
    "extend_files_get_response.json": extend.File,
    "extend_files_upload_response.json": extend.File,
    "extend_webhook_classify_run_failed.json": extend.WebhookEvent,
    "extend_webhook_classify_run_processed.json": extend.WebhookEvent,
    "extend_webhook_signed_url.json": extend.SignedWebhookEvent,
    "extend_case_request_full_config.json": extend.ClassifyRunCreateRequest,
    "extend_case_run_unknown_status.json": extend.ClassifyRun,
    "extend_case_run_cancelling.json": extend.ClassifyRun,
    "extend_case_run_two_insights.json": extend.ClassifyRun,
    "extend_case_run_file_without_extension.json": extend.ClassifyRun,
    "extend_case_error_cli_wrapped.json": dict,
}
# HTTP envelopes: the response body (inline or by file) and its Struct
ENVELOPE_TYPES: dict[str, type[Any]] = {
    "extend_classify_runs_list_http.json": extend.ClassifyRunList,
    "extend_files_upload_http.json": extend.File,
}
# cases that are meant to fail validation, not decoding; they still round-trip as wire
INVALID_CASES: dict[str, type[Any]] = {
    "extend_case_request_duplicate_ids.json": extend.ClassifyRunCreateRequest,
    "extend_case_request_no_classifier_or_config.json": extend.ClassifyRunCreateRequest,
    "extend_case_request_two_file_forms.json": extend.ClassifyRunCreateRequest,
    "extend_case_request_password_on_text.json": extend.ClassifyRunCreateRequest,
}
# cases whose JSON the strict request types reject outright
REJECTED_CASES: dict[str, type[Any]] = {
    "extend_case_request_unknown_config_key.json": extend.ClassifyRunCreateRequest,
    "extend_case_classify_request_with_priority.json": extend.ClassifyRequest,
}
SEED_MISSING = ("config", "dashboardUrl", "createdAt", "updatedAt")
RUN_FIXTURES = sorted(
    name for name, kind in BODY_TYPES.items() if kind is extend.ClassifyRun and "seed" not in name
)


def _read(name: str) -> bytes:
    return (WIRE / name).read_bytes()


def _params(table: dict[str, type[Any]]) -> list[Any]:
    return [pytest.param(name, kind, id=name.removesuffix(".json")) for name, kind in table.items()]


def test_every_extend_fixture_is_covered() -> None:
    """Each extend_* fixture is named in exactly one of the tables these tests run over."""
    named = {*BODY_TYPES, *ENVELOPE_TYPES, *INVALID_CASES, *REJECTED_CASES}
    named |= {"extend_webhook_http.json", "extend_case_error_502_text.txt"}
    assert {p.name for p in WIRE.glob("extend_*")} == named


@pytest.mark.parametrize(("name", "kind"), _params({**BODY_TYPES, **INVALID_CASES}))
def test_extend_body_round_trips(name: str, kind: type[Any]) -> None:
    """Every Extend example body decodes into its Struct and re-encodes to the same JSON."""
    raw = _read(name)
    decoded = msgspec.json.decode(raw, type=kind)
    assert json.loads(msgspec.json.encode(decoded)) == json.loads(raw)


@pytest.mark.parametrize(("name", "kind"), _params(ENVELOPE_TYPES))
def test_extend_envelope_body_round_trips(name: str, kind: type[Any]) -> None:
    """The body an HTTP envelope points at decodes and re-encodes unchanged."""
    response = json.loads(_read(name))["response"]
    raw = _read(response["body_file"]) if "body_file" in response else response["body"]
    decoded = msgspec.json.decode(raw, type=kind)
    assert json.loads(msgspec.json.encode(decoded)) == json.loads(raw)


def test_signed_webhook_body_re_encodes_byte_for_byte() -> None:
    """The signed webhook body re-encodes to the exact bytes, so its signature still holds."""
    raw = json.loads(_read("extend_webhook_http.json"))["request"]["raw_body"].encode()
    assert msgspec.json.encode(extend.webhook_decoder.decode(raw)) == raw


def test_timestamps_keep_their_exact_text() -> None:
    """Timestamps stay strings, so milliseconds and `Z` survive a round trip untouched."""
    run = extend.run_decoder.decode(_read("extend_classify_runs_get_pending.json"))
    assert run.created_at == "2026-03-02T14:10:00.010Z"
    assert isinstance(run.classifier, extend.ClassifierSummary)
    assert run.classifier.created_at == "2025-11-18T09:00:00Z"


def test_absent_and_null_stay_apart() -> None:
    """A key left out stays out and a null stays null after re-encoding."""
    failed = extend.run_decoder.decode(_read("extend_classify_runs_get_failed.json"))
    encoded = json.loads(msgspec.json.encode(failed))
    assert "classifier" not in encoded
    assert "usage" not in encoded
    assert encoded["file"] is None
    assert encoded["parseRunId"] is None


@pytest.mark.parametrize(("name", "kind"), _params(REJECTED_CASES))
def test_inbound_requests_reject_unknown_keys(name: str, kind: type[Any]) -> None:
    """Unknown keys in a client's body (a typo, `priority` on /classify) are rejected."""
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.json.decode(_read(name), type=kind)


def test_upstream_runs_ignore_unknown_keys() -> None:
    """A run with a key Extend added later still decodes: upstream responses are lenient."""
    body = json.loads(_read("extend_classify_runs_get_processed.json"))
    body["brandNewField"] = {"x": 1}
    body["config"]["advancedOptions"]["newKnob"] = True
    run = extend.run_decoder.decode(json.dumps(body))
    assert run.status == "PROCESSED"


def test_seed_is_truncated_but_decodes() -> None:
    """The doc seed lacks keys the SDK requires: it decodes here, and the SDK rejects it."""
    raw = json.loads(_read("extend_classify_run_seed.json"))
    assert not set(SEED_MISSING) & raw.keys()
    assert "metadata" not in raw["file"]
    run = extend.run_decoder.decode(_read("extend_classify_run_seed.json"))
    assert run.config is msgspec.UNSET
    with pytest.raises(pydantic.ValidationError) as excinfo:
        SdkClassifyRun.model_validate(raw)
    missing = {".".join(map(str, e["loc"])) for e in excinfo.value.errors()}
    assert {"config", "dashboardUrl", "file.metadata"} <= missing


@pytest.mark.parametrize("name", RUN_FIXTURES)
def test_run_fixtures_satisfy_the_sdk(name: str) -> None:
    """Every full run example, re-encoded by us, validates as the SDK's ClassifyRun."""
    run = extend.run_decoder.decode(_read(name))
    SdkClassifyRun.model_validate(msgspec.to_builtins(run))


@pytest.mark.parametrize(
    "name", ["extend_files_get_response.json", "extend_files_upload_response.json"]
)
def test_file_fixtures_satisfy_the_sdk(name: str) -> None:
    """Files re-encoded by us validate as the SDK's File, `presignedUrl` included."""
    file = extend.file_decoder.decode(_read(name))
    sdk = SdkFile.model_validate(msgspec.to_builtins(file))
    assert sdk.presigned_url == json.loads(_read(name)).get("presignedUrl")


@pytest.mark.parametrize("name", sorted(n for n in BODY_TYPES if n.startswith("extend_error_")))
def test_error_fixtures_satisfy_the_sdk(name: str) -> None:
    """Error bodies re-encoded by us validate as the SDK's ApiError."""
    error = extend.error_decoder.decode(_read(name))
    sdk = SdkApiError.model_validate(msgspec.to_builtins(error))
    assert sdk.request_id == error.request_id
