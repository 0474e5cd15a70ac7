"""Extend translations to and from the canonical model: examples, hazards and properties."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from extend_ai.types.api_error import ApiError as SdkApiError
from extend_ai.types.classify_run import ClassifyRun as SdkClassifyRun
from extend_ai.types.classify_run_summary import ClassifyRunSummary as SdkClassifyRunSummary
from extend_ai.types.webhook_event import (
    WebhookEvent_ClassifyRunFailed,
    WebhookEvent_ClassifyRunProcessed,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings import canonical, extend, shared
from mappings.errors import InvalidInput, UnsupportedFeature
from mappings.models import ModelTable

WIRE = Path(__file__).resolve().parent.parent / "fixtures" / "wire"
RECEIVED = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
CREATED = datetime(2026, 3, 2, 14, 10, 0, 10_000, tzinfo=UTC)
RUN_EXAMPLES = [
    "extend_classify_response.json",
    "extend_classify_run_seed.json",
    "extend_classify_runs_cancel_response.json",
    "extend_classify_runs_create_response.json",
    "extend_classify_runs_get_cancelled.json",
    "extend_classify_runs_get_failed.json",
    "extend_classify_runs_get_pending.json",
    "extend_classify_runs_get_processed.json",
    "extend_classify_runs_get_processed_reviewed.json",
    "extend_case_run_two_insights.json",
]
STATUS_PAIRS = [
    ("PENDING", canonical.Status.pending),
    ("PROCESSING", canonical.Status.running),
    ("PROCESSED", canonical.Status.completed),
    ("FAILED", canonical.Status.failed),
    ("CANCELLED", canonical.Status.cancelled),
]


def _read(name: str) -> bytes:
    return (WIRE / name).read_bytes()


def _run(name: str) -> extend.ClassifyRun:
    return extend.run_decoder.decode(_read(name))


def _canonical(name: str) -> canonical.ClassificationRun:
    return extend.response_to_canonical(_run(name), received_at=RECEIVED)[0]


def _request(name: str, *, create: bool = True) -> canonical.ClassifyRequest:
    decoder = extend.create_request_decoder if create else extend.classify_request_decoder
    return extend.request_to_canonical(decoder.decode(_read(name)), background=create)[0]


def _retab_like(**changes: Any) -> canonical.ClassificationRun:
    """A completed run as a Retab backend reports it: names only, no confidence, no extras."""
    run = canonical.ClassificationRun(
        id="cls_01",
        status=canonical.Status.completed,
        config=canonical.RunConfig(
            categories=(
                canonical.Category(key=None, name="Invoice"),
                canonical.Category(key=None, name="Bill of Lading", description="Shipping doc"),
            ),
            model="retab-small",
        ),
        created_at=CREATED,
        decision=canonical.Decision(
            category_key=None, category_name="Bill of Lading", reasoning="Lists cargo."
        ),
        file=canonical.FileInfo(id="file_1", filename="bol.pdf", mime_type="application/pdf"),
        usage=canonical.Usage(credits=1.0, unit="credits"),
    )
    return msgspec.structs.replace(run, **changes)


def _retab_request(**changes: Any) -> canonical.ClassifyRequest:
    request = canonical.ClassifyRequest(
        document=canonical.UrlDocument(url="https://files.example.com/a.pdf", filename="a.pdf"),
        config=canonical.RunConfig(
            categories=(
                canonical.Category(key=None, name="Invoice"),
                canonical.Category(key=None, name="invoice", description="lower-case twin"),
                canonical.Category(key=None, name="Bill of Lading!", description="Shipping doc"),
            ),
            model="retab-small",
        ),
    )
    return msgspec.structs.replace(request, **changes)


def _json(value: Any) -> Any:
    return json.loads(msgspec.json.encode(value))


def _emit(run: canonical.ClassificationRun, **kwargs: Any) -> tuple[dict[str, Any], Any]:
    body, notes = extend.response_from_canonical(run, public_id="clr_pub", **kwargs)
    return json.loads(msgspec.json.encode(body)), notes


def test_request_fixture_reads_every_field() -> None:
    """A full create body maps each field onto canonical, password and parseConfig included."""
    request = _request("extend_case_request_full_config.json")
    assert request.document == canonical.UrlDocument(
        url="https://files.example.com/locked.pdf", filename="locked.pdf", password="hunter2"
    )
    config = request.config
    assert [c.key for c in config.categories] == ["invoice", "receipt"]
    assert (config.model, config.model_version) == ("classification_instant", "1.2.0")
    assert config.pages == (
        canonical.PageRange(start=1, end=2),
        canonical.PageRange(start=5, end=7),
    )
    assert (config.context, config.multimodal, config.memory) == ("max", True, False)
    assert config.parse_config == {"target": "markdown", "engine": "parse_performance"}
    assert (request.priority, request.background) == (7, True)
    assert request.metadata == {"tenant": "acme", "row": 3}


def test_request_with_classifier_reads_the_override() -> None:
    """A saved-classifier body keeps the reference and reads overrideConfig as the config."""
    request = _request("extend_classify_runs_create_request_classifier.json")
    assert request.classifier == canonical.ClassifierRef(
        id="cl_Rt5yU7iO9pA1sD3fG5hJ7k", version="2.0"
    )
    assert request.config.categories == ()
    assert request.config.instructions == "Anything mentioning 'pro-forma' is an invoice."
    assert isinstance(request.document, canonical.TextDocument)
    assert request.document.filename == "invoice_88213.txt"


def test_request_file_id_is_an_extend_file_ref() -> None:
    """`file.id` becomes a file reference owned by Extend."""
    request = _request("extend_classify_runs_create_request.json")
    assert request.document == canonical.FileRefDocument(
        vendor="extend", file_id="file_xQ4nT8vB2mK6pR9sW3yZ7c"
    )
    assert request.priority == 50


def test_classify_body_has_no_priority() -> None:
    """The sync body carries no priority, and a canonical priority is noted as dropped."""
    request = _request("extend_classify_request.json", create=False)
    assert request.priority is None
    assert request.background is False
    body, notes, _ = extend.classify_body_from_canonical(
        msgspec.structs.replace(request, priority=3)
    )
    assert isinstance(body, extend.ClassifyRequest)
    assert "priority" not in json.loads(msgspec.json.encode(body))
    assert notes.dropped == ("priority",)


def test_missing_classifier_and_config_is_invalid() -> None:
    """Neither `classifier` nor `config` is refused with Extend's own message."""
    expected = json.loads(_read("extend_error_400_invalid_request.json"))["message"]
    with pytest.raises(InvalidInput) as excinfo:
        _request("extend_case_request_no_classifier_or_config.json")
    assert excinfo.value.reason == expected


def test_duplicate_classification_ids_are_invalid() -> None:
    """A repeated classification id names the offending index, as Extend's 422 does."""
    with pytest.raises(InvalidInput) as excinfo:
        _request("extend_case_request_duplicate_ids.json")
    assert str(excinfo.value) == "config.classifications[1].id: must be unique"


def test_file_union_needs_exactly_one_form() -> None:
    """A file with both url and text is refused, naming `file`."""
    with pytest.raises(InvalidInput) as excinfo:
        _request("extend_case_request_two_file_forms.json")
    assert excinfo.value.field == "file"


def test_password_needs_a_url_file() -> None:
    """`settings.password` on a text file is refused: only URL files take one."""
    with pytest.raises(InvalidInput) as excinfo:
        _request("extend_case_request_password_on_text.json")
    assert excinfo.value.field == "file.settings.password"


def test_empty_classifications_are_invalid() -> None:
    """An inline config with no classifications is refused."""
    body = extend.create_request_decoder.decode(_read("extend_classify_runs_create_request.json"))
    body.config = extend.ClassifyConfigInput(classifications=())
    with pytest.raises(InvalidInput, match=r"config\.classifications"):
        extend.request_to_canonical(body, background=True)


@pytest.mark.parametrize("name", RUN_EXAMPLES)
def test_run_examples_survive_canonical_and_satisfy_the_sdk(name: str) -> None:
    """Each run example, read to canonical and written back, validates as the SDK's ClassifyRun."""
    source = _run(name)
    run, _ = extend.response_to_canonical(source, received_at=RECEIVED)
    body, _ = _emit(run)
    sdk = SdkClassifyRun.model_validate(body)
    assert sdk.status == source.status
    assert (sdk.output is None) == (shared.given(source.output) is None)
    assert sdk.reviewed == source.reviewed


@pytest.mark.parametrize(
    "name",
    [
        "extend_classify_runs_list_response.json",
        "extend_classify_runs_list_response_last_page.json",
    ],
)
def test_list_examples_survive_canonical_and_satisfy_the_sdk(name: str) -> None:
    """Listed summaries read to canonical and written back validate as the SDK's summary."""
    page, _ = extend.list_to_canonical(
        extend.run_list_decoder.decode(_read(name)), received_at=RECEIVED
    )
    body, _ = extend.list_from_canonical([(r.id, r) for r in page.runs], next_page_token=page.after)
    encoded = msgspec.to_builtins(body)
    for item in encoded["data"]:
        SdkClassifyRunSummary.model_validate(item)
        assert "output" not in item
        assert "config" not in item
    assert [i["id"] for i in encoded["data"]] == [r.id for r in page.runs]


def test_sync_example_re_emits_unchanged_but_for_documented_normalisations() -> None:
    """Extend → canonical → Extend keeps the sync example, except that the opaque usage
    breakdown is dropped (noted) and absent optional keys are printed as null."""
    original = json.loads(_read("extend_classify_response.json"))
    body, notes = _emit(_canonical("extend_classify_response.json"))
    del original["usage"]["breakdown"]
    for key in ("classifier", "classifierVersion", "initialOutput", "reviewedOutput"):
        assert body.pop(key) is None
    assert body == {**original, "id": "clr_pub"}
    assert not notes


@pytest.mark.parametrize(
    ("name", "create"),
    [
        ("extend_classify_request.json", False),
        ("extend_classify_runs_create_request.json", True),
        ("extend_classify_runs_create_request_classifier.json", True),
        ("extend_case_request_full_config.json", True),
    ],
)
def test_request_examples_re_emit_unchanged(name: str, create: bool) -> None:
    """Each Extend request example, read to canonical and rebuilt, is the same JSON again."""
    request = _request(name, create=create)
    build = extend.request_from_canonical if create else extend.classify_body_from_canonical
    body, notes, _ = build(request)
    assert _json(body) == json.loads(_read(name))
    assert not notes


def test_list_items_link_to_the_gateway_dashboard() -> None:
    """With a dashboard base, each listed foreign run links to its public id there."""
    body, notes = extend.list_from_canonical(
        [("clr_pub", _retab_like())], next_page_token=None, dashboard_base="https://gw.example"
    )
    assert body.data[0].dashboard_url == "https://gw.example/classify_runs/clr_pub"
    assert "output.confidence" not in notes.synthesized  # summaries carry no output


def test_reviewed_run_keeps_both_answers() -> None:
    """A reviewed run's decision is the reviewed answer; the initial one is in `review`."""
    run = _canonical("extend_classify_runs_get_processed_reviewed.json")
    assert run.decision is not None
    assert run.decision.category_key == "invoice"
    assert run.review == canonical.Review(
        edited=True,
        initial=canonical.Decision(
            category_key="receipt",
            category_name="receipt",
            confidence=0.58,
            reasoning="Mentions a paid amount; could be a receipt.",
        ),
    )
    body, _ = _emit(run)
    assert body["initialOutput"]["id"] == "receipt"
    assert body["reviewedOutput"] == body["output"]
    assert (body["reviewed"], body["edited"]) == (True, True)


def test_seed_reads_with_received_time() -> None:
    """The truncated seed maps to canonical; `received_at` stands in for its missing createdAt."""
    run, notes = extend.response_to_canonical(
        _run("extend_classify_run_seed.json"), received_at=RECEIVED
    )
    assert run.created_at == RECEIVED
    assert run.config.categories == ()
    assert run.file is not None
    assert run.file.mime_type == "application/pdf"
    assert "createdAt" in notes.synthesized


def test_timestamps_are_written_with_milliseconds_and_z() -> None:
    """Emitted timestamps are UTC, millisecond precision, with a `Z` suffix."""
    body, _ = _emit(_retab_like(created_at=datetime(2026, 3, 2, 14, 10, 0, 10_999, tzinfo=UTC)))
    assert body["createdAt"] == "2026-03-02T14:10:00.010Z"
    assert body["updatedAt"] == body["createdAt"]


def test_hazard_03_missing_category_ids_are_synthesised_uniquely() -> None:
    """Key-less categories get unique slug ids and name-as-description, each noted."""
    body, notes, _ = extend.request_from_canonical(_retab_request())
    assert isinstance(body.config, extend.ClassifyConfigInput)
    ids = [c.id for c in body.config.classifications]
    assert ids == ["invoice", "invoice_2", "bill_of_lading"]
    assert body.config.classifications[0].description == "Invoice"
    assert "config.classifications[].id" in notes.synthesized
    assert "config.classifications[].description" in notes.synthesized


def test_hazard_03_output_id_matches_the_config_id() -> None:
    """A name-only decision gets the same id its category got in the emitted config."""
    body, notes = _emit(_retab_like())
    config_ids = {c["type"]: c["id"] for c in body["config"]["classifications"]}
    assert body["output"]["id"] == config_ids["Bill of Lading"] == "bill_of_lading"
    assert "output.id" in notes.synthesized


def test_hazard_04_confidence_falls_back_to_agreement_then_default() -> None:
    """Confidence is the decision's, else consensus agreement, else the default, noted."""
    with_agreement, notes = _emit(_retab_like(agreement=0.75))
    assert with_agreement["output"]["confidence"] == 0.75
    assert "output.confidence" not in notes.synthesized
    defaulted, notes = _emit(_retab_like(), default_confidence=0.42)
    assert defaulted["output"]["confidence"] == 0.42
    assert "output.confidence" in notes.synthesized


def test_hazard_05_reasoning_insights_are_joined_and_split() -> None:
    """Reasoning insights join with newlines; canonical reasoning is one reasoning insight."""
    run = _canonical("extend_case_run_two_insights.json")
    assert run.decision is not None
    assert run.decision.reasoning == "Titled 'FREIGHT INVOICE'.\nStates a total due within 30 days."
    body, _ = _emit(_retab_like())
    assert body["output"]["insights"] == [{"type": "reasoning", "content": "Lists cargo."}]


def test_hazard_06_models_map_through_the_table() -> None:
    """Model names go through the table both ways; a missing processor is synthesised."""
    body, _, _ = extend.request_from_canonical(_retab_request())
    assert isinstance(body.config, extend.ClassifyConfigInput)
    assert body.config.base_processor == "classification_standard"
    table = ModelTable(to_extend={"retab-small": "classification_light"}, to_retab={})
    custom, _, _ = extend.request_from_canonical(_retab_request(), models=table)
    assert isinstance(custom.config, extend.ClassifyConfigInput)
    assert custom.config.base_processor == "classification_light"
    no_model = _retab_like(config=canonical.RunConfig(categories=()))
    emitted, notes = _emit(no_model)
    assert emitted["config"]["baseProcessor"] == "classification_standard"
    assert "config.baseProcessor" in notes.synthesized
    assert _request("extend_case_request_full_config.json").config.model == "classification_instant"


def test_hazard_07_consensus_is_refused_and_bust_cache_dropped() -> None:
    """n_consensus > 1 cannot reach Extend; bust_cache is dropped and noted."""
    request = _retab_request()
    with pytest.raises(UnsupportedFeature) as excinfo:
        extend.request_from_canonical(
            msgspec.structs.replace(
                request, config=msgspec.structs.replace(request.config, consensus=3)
            )
        )
    assert excinfo.value.field == "n_consensus"
    _, notes, _ = extend.request_from_canonical(msgspec.structs.replace(request, bust_cache=True))
    assert notes.dropped == ("bust_cache",)


def test_hazard_08_page_limits_become_page_ranges() -> None:
    """Canonical pages become advancedOptions.pageRanges and read back the same."""
    request = _retab_request()
    pages = (canonical.PageRange(start=1, end=4),)
    body, _, _ = extend.request_from_canonical(
        msgspec.structs.replace(
            request, config=msgspec.structs.replace(request.config, pages=pages)
        )
    )
    encoded = json.loads(msgspec.json.encode(body))
    assert encoded["config"]["advancedOptions"] == {"pageRanges": [{"start": 1, "end": 4}]}
    assert _request("extend_classify_request.json", create=False).config.pages == (
        canonical.PageRange(start=1, end=2),
    )


def test_hazard_09_instructions_are_classification_rules() -> None:
    """Instructions and classificationRules map onto each other directly."""
    assert _request("extend_classify_request.json", create=False).config.instructions == (
        "Treat pro-forma invoices as invoices."
    )
    request = _retab_request()
    body, _, _ = extend.request_from_canonical(
        msgspec.structs.replace(
            request, config=msgspec.structs.replace(request.config, instructions="Be strict.")
        )
    )
    assert isinstance(body.config, extend.ClassifyConfigInput)
    assert body.config.classification_rules == "Be strict."


def test_hazard_11_inline_bytes_need_an_upload_but_text_travels() -> None:
    """Inline PDF bytes are refused (the backend uploads them); inline text becomes file.text."""
    pdf = canonical.InlineDocument(data=b"%PDF-1.7", filename="a.pdf", mime_type="application/pdf")
    with pytest.raises(UnsupportedFeature) as excinfo:
        extend.request_from_canonical(_retab_request(document=pdf))
    assert excinfo.value.field == "document.url"
    text = canonical.InlineDocument(data=b"PAID", filename="r.txt", mime_type="text/plain")
    body, _, _ = extend.request_from_canonical(_retab_request(document=text))
    assert json.loads(msgspec.json.encode(body.file)) == {"text": "PAID", "name": "r.txt"}
    latin = canonical.InlineDocument(data=b"\xff\xfe", filename="r.txt", mime_type="text/plain")
    with pytest.raises(UnsupportedFeature):
        extend.request_from_canonical(_retab_request(document=latin))


def test_hazard_13_foreign_file_ids_are_refused() -> None:
    """A Retab file id is never sent to Extend; an Extend one becomes `{id}`."""
    retab_file = canonical.FileRefDocument(vendor="retab", file_id="file_0123456789abcdef")
    with pytest.raises(UnsupportedFeature) as excinfo:
        extend.request_from_canonical(_retab_request(document=retab_file))
    assert excinfo.value.field == "document"
    own = canonical.FileRefDocument(vendor="extend", file_id="file_x")
    body, _, _ = extend.request_from_canonical(_retab_request(document=own))
    assert json.loads(msgspec.json.encode(body.file)) == {"id": "file_x"}


@pytest.mark.parametrize(("wire", "status"), STATUS_PAIRS)
def test_hazard_15_statuses_map_both_ways(wire: str, status: canonical.Status) -> None:
    """Each Extend status maps to canonical and back to itself."""
    source = _run("extend_classify_runs_get_pending.json")
    source.status = wire
    run, _ = extend.response_to_canonical(source, received_at=RECEIVED)
    assert run.status is status
    assert _emit(run)[0]["status"] == wire


def test_hazard_15_queued_and_cancelling_and_unknown() -> None:
    """queued shows as PROCESSING, CANCELLING reads as running, an unknown status is refused."""
    assert _emit(_retab_like(status=canonical.Status.queued))[0]["status"] == "PROCESSING"
    assert _canonical("extend_case_run_cancelling.json").status is canonical.Status.running
    with pytest.raises(UnsupportedFeature) as excinfo:
        _canonical("extend_case_run_unknown_status.json")
    assert excinfo.value.field == "status"


def test_hazard_16_output_is_null_until_completed() -> None:
    """A running run with a placeholder decision still shows `output: null`."""
    body, _ = _emit(_retab_like(status=canonical.Status.running))
    assert body["output"] is None
    assert _emit(_retab_like())[0]["output"] is not None


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("DOCUMENT_FETCH_FAILED", "FAILED_TO_PROCESS_FILE"),
        ("DOCUMENT_URL_REFUSED", "FAILED_TO_PROCESS_FILE"),
        ("INVALID_DOCUMENT", "FAILED_TO_PROCESS_FILE"),
        ("FILE_NOT_FOUND", "FAILED_TO_PROCESS_FILE"),
        ("download_error", "FAILED_TO_PROCESS_FILE"),
        ("INTERRUPTED", "INTERNAL_ERROR"),
        ("INSUFFICIENT_CREDITS", "OUT_OF_CREDITS"),
        ("MODEL_OVERLOADED", "INTERNAL_ERROR"),
        ("PARSING_ERROR", "PARSING_ERROR"),
    ],
)
def test_hazard_17_failure_codes_map_to_extend_reasons(code: str, reason: str) -> None:
    """Foreign error codes map to Extend reasons, keeping the original text in the message."""
    error = canonical.RunError(code=code, message="It broke.", details={})
    body, notes = _emit(_retab_like(status=canonical.Status.failed, decision=None, error=error))
    assert body["failureReason"] == reason
    assert "It broke." in body["failureMessage"]
    assert ("failureReason" in notes.synthesized) == (code != reason)


def test_hazard_17_extend_failures_read_as_run_errors() -> None:
    """failureReason and failureMessage become a run error with empty details."""
    run = _canonical("extend_classify_runs_get_failed.json")
    assert run.error == canonical.RunError(
        code="FAILED_TO_PROCESS_FILE",
        message="Unable to download file from the provided URL (HTTP 403).",
        details={},
    )
    assert run.file is None


def test_hazard_19_extend_only_fields_are_filled() -> None:
    """A Retab-like run gets reviewed/edited false, a dashboard URL, a resolved config."""
    body, notes = _emit(_retab_like(), dashboard_url="https://gw.example/classify_runs/clr_pub")
    SdkClassifyRun.model_validate(body)
    assert (body["reviewed"], body["edited"]) == (False, False)
    assert body["dashboardUrl"] == "https://gw.example/classify_runs/clr_pub"
    assert body["updatedAt"] == body["createdAt"]
    assert body["config"]["baseProcessor"] == "classification_standard"
    assert {"dashboardUrl", "updatedAt"} <= set(notes.synthesized)
    upstream = _emit(_canonical("extend_classify_response.json"), dashboard_url="ignored")[0]
    assert upstream["dashboardUrl"].startswith("https://dashboard.extend.ai/")


@pytest.mark.parametrize(
    ("mime", "file_type"),
    [
        ("application/pdf", "PDF"),
        ("image/jpeg", "IMG"),
        ("text/plain", "TXT"),
        ("text/csv", "CSV"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "DOCX"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "EXCEL"),
        ("application/vnd.ms-excel", "EXCEL"),
        ("application/xml", "XML"),
        ("text/html; charset=utf-8", "HTML"),
        ("application/zip", None),
    ],
)
def test_hazard_20_file_type_comes_from_the_mime_type(mime: str, file_type: str | None) -> None:
    """Extend's file `type` is derived from the MIME type; page count goes to metadata."""
    file = canonical.FileInfo(id="file_1", filename="x", mime_type=mime, page_count=2)
    body, _ = _emit(_retab_like(file=file))
    assert body["file"]["type"] == file_type
    assert body["file"]["metadata"] == {"pageCount": 2}


def test_hazard_20_mime_is_guessed_from_name_then_type() -> None:
    """Reading a file, the MIME type comes from the extension, else from Extend's type."""
    assert _canonical("extend_classify_runs_get_pending.json").file is not None
    txt = _canonical("extend_classify_runs_get_pending.json").file
    assert txt is not None
    assert txt.mime_type == "text/plain"
    image = _canonical("extend_case_run_file_without_extension.json").file
    assert image is not None
    assert image.mime_type.startswith("image/")
    assert image.page_count == 1


def test_hazard_21_page_token_is_the_after_cursor() -> None:
    """nextPageToken reads as RunPage.after, is written back from it, and is sent as cursor."""
    body = extend.run_list_decoder.decode(_read("extend_classify_runs_list_response.json"))
    page, _ = extend.list_to_canonical(body, received_at=RECEIVED)
    assert page.after == body.next_page_token
    assert page.before is None
    out, _ = extend.list_from_canonical([], next_page_token=page.after)
    assert out.next_page_token == page.after
    query = extend.list_query_to_canonical(next_page_token=page.after)
    assert (query.cursor, query.direction) == (page.after, "after")
    last = extend.run_list_decoder.decode(
        _read("extend_classify_runs_list_response_last_page.json")
    )
    assert extend.list_to_canonical(last, received_at=RECEIVED)[0].after is None
    assert json.loads(
        msgspec.json.encode(extend.list_from_canonical([], next_page_token=None)[0])
    ) == {
        "object": "list",
        "data": [],
        "nextPageToken": None,
    }


def test_hazard_22_list_filters_map_to_the_list_query() -> None:
    """The example list query maps status, name filter, order and page size."""
    query_params = json.loads(_read("extend_classify_runs_list_http.json"))["request"]["query"]
    query = extend.list_query_to_canonical(
        status=query_params["status"],
        file_name_contains=query_params["fileNameContains"],
        sort_by=query_params["sortBy"],
        sort_dir=query_params["sortDir"],
        next_page_token=None,
        max_page_size=query_params["maxPageSize"],
    )
    assert query.status is canonical.Status.completed
    assert query.filename_contains == "invoice"
    assert (query.order, query.limit) == ("desc", 2)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"status": "DONE"}, "status"),
        ({"sort_by": "name"}, "sortBy"),
        ({"sort_dir": "up"}, "sortDir"),
        ({"max_page_size": "ten"}, "maxPageSize"),
        ({"max_page_size": "0"}, "maxPageSize"),
    ],
)
def test_hazard_22_bad_list_filters_are_invalid(kwargs: dict[str, str], field: str) -> None:
    """Malformed list parameters are refused, naming the query parameter."""
    with pytest.raises(InvalidInput) as excinfo:
        extend.list_query_to_canonical(**kwargs)
    assert excinfo.value.field == field


def test_hazard_22_sort_by_updated_at_is_unsupported() -> None:
    """sortBy=updatedAt is valid Extend but has no canonical ordering, so it is refused."""
    with pytest.raises(UnsupportedFeature):
        extend.list_query_to_canonical(sort_by="updatedAt")


def test_hazard_24_delete_answers_with_the_id() -> None:
    """Delete answers `{id}` with the public id, shaped like Extend's example."""
    expected = extend.delete_decoder.decode(_read("extend_classify_runs_delete_response.json"))
    assert extend.delete_response(expected.id) == expected


def test_hazard_27_webhook_events_exist_only_for_terminal_runs() -> None:
    """Processed and failed runs make SDK-valid events; a cancelled run makes crosswalk's own
    `classify_run.cancelled` (Extend has none); an unfinished run makes none."""
    processed = extend.webhook_event_from_canonical(
        _retab_like(), public_id="clr_p", event_id="evt_1"
    )
    assert processed is not None
    WebhookEvent_ClassifyRunProcessed.model_validate(msgspec.to_builtins(processed))
    failed_run = _canonical("extend_classify_runs_get_failed.json")
    failed = extend.webhook_event_from_canonical(failed_run, public_id="clr_f", event_id="evt_2")
    assert failed is not None
    WebhookEvent_ClassifyRunFailed.model_validate(msgspec.to_builtins(failed))
    cancelled = _retab_like(status=canonical.Status.cancelled)
    event = extend.webhook_event_from_canonical(cancelled, public_id="clr_c", event_id="evt_3")
    assert event is not None
    assert event.event_type == "classify_run.cancelled"
    assert event.payload.status == "CANCELLED"
    for status in (canonical.Status.pending, canonical.Status.queued, canonical.Status.running):
        run = _retab_like(status=status)
        assert extend.webhook_event_from_canonical(run, public_id="x", event_id="e") is None


def test_hazard_27_webhook_payload_matches_the_example() -> None:
    """The example processed event, read to canonical and re-emitted, keeps its payload keys."""
    event = extend.webhook_decoder.decode(_read("extend_webhook_classify_run_processed.json"))
    run, _ = extend.response_to_canonical(event.payload, received_at=RECEIVED)
    again = extend.webhook_event_from_canonical(run, public_id=run.id, event_id=event.event_id)
    assert again is not None
    assert again.event_type == event.event_type
    for key in ("output", "config", "status", "metadata", "file"):
        assert _json(getattr(again.payload, key)) == _json(getattr(event.payload, key))


@pytest.mark.parametrize(
    ("value", "supported"),
    [("2026-02-09", True), ("2025-04-21", False), ("2024-12-23", False), ("", False), (None, True)],
)
def test_hazard_28_only_the_current_api_version_is_served(
    value: str | None, supported: bool
) -> None:
    """Only 2026-02-09 is served; an absent header is read as the current version."""
    assert extend.api_version_supported(value) is supported
    assert extend.API_VERSION == "2026-02-09"


def test_hazard_29_only_the_workspace_header_is_forwarded() -> None:
    """Of a client's headers only the workspace id travels upstream, whatever its case."""
    headers = json.loads(_read("extend_classify_runs_list_http.json"))["request"]["headers"]
    assert extend.forwarded_headers(headers) == {
        "x-extend-workspace-id": "ws_Ab1cD2eF3gH4iJ5kL6mN7o"
    }
    shouted = {"X-Extend-Workspace-Id": "ws_1", "Authorization": "Bearer k"}
    assert extend.forwarded_headers(shouted) == {extend.WORKSPACE_HEADER: "ws_1"}
    assert extend.forwarded_headers({"authorization": "Bearer k"}) == {}


@pytest.mark.parametrize("name", sorted(p.name for p in WIRE.glob("extend_error_*.json")))
def test_error_fixtures_read_and_render_back(name: str) -> None:
    """An Extend error reads to a problem and renders back to the same body (docUrl aside)."""
    status = int(name.split("_")[2])
    original = extend.error_decoder.decode(_read(name))
    problem = extend.error_to_canonical(status, _read(name))
    assert (problem.status, problem.code, problem.retryable) == (
        status,
        original.code,
        original.retryable,
    )
    assert problem.details is not None
    rendered = extend.error_from_canonical(problem, request_id=problem.details["requestId"])
    SdkApiError.model_validate(msgspec.to_builtins(rendered))
    assert msgspec.structs.replace(original, doc_url=msgspec.UNSET) == rendered


def test_cli_wrapped_and_text_errors_read() -> None:
    """The CLI's `{"error": {...}}` wrapping unwraps; a non-JSON body becomes the message."""
    wrapped = extend.error_to_canonical(404, _read("extend_case_error_cli_wrapped.json"))
    assert (wrapped.code, wrapped.retryable) == ("NOT_FOUND", False)
    text = extend.error_to_canonical(502, _read("extend_case_error_502_text.txt"))
    assert (text.code, text.retryable) == ("INTERNAL_ERROR", True)
    assert "502 Bad Gateway" in text.message


TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
TEXT = st.text(min_size=1, max_size=12)
KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10)
JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-(2**31), 2**31), TEXT)
JSON_OBJECTS = st.dictionaries(KEYS, JSON_VALUES, max_size=3)
PROCESSORS = st.sampled_from(["classification_standard", "classification_light", "custom_proc"])
FILES = st.sampled_from(
    [
        ("a.pdf", "application/pdf"),
        ("b.png", "image/png"),
        ("c.txt", "text/plain"),
        ("d.csv", "text/csv"),
    ]
)


@st.composite
def run_configs(draw: st.DrawFn, *, min_categories: int = 1) -> canonical.RunConfig:
    categories = draw(
        st.lists(
            st.builds(canonical.Category, key=KEYS, name=TEXT, description=TEXT),
            min_size=min_categories,
            max_size=4,
            unique_by=lambda c: c.key,
        )
    )
    starts = draw(st.lists(st.integers(1, 50), max_size=2))
    return canonical.RunConfig(
        categories=tuple(categories),
        model=draw(st.none() | PROCESSORS),
        model_version=draw(st.none() | TEXT),
        instructions=draw(st.none() | TEXT),
        pages=tuple(canonical.PageRange(start=s, end=s + draw(st.integers(0, 5))) for s in starts),
        context=draw(st.none() | st.sampled_from(["default", "max"])),
        multimodal=draw(st.none() | st.booleans()),
        memory=draw(st.none() | st.booleans()),
        parse_config=draw(st.none() | JSON_OBJECTS),
    )


@st.composite
def extend_runs(draw: st.DrawFn) -> canonical.ClassificationRun:
    """Canonical runs limited to what Extend can express: keyed categories, a processor,
    Extend failure reasons, Extend credits, a dashboard URL and an update time."""
    config = draw(run_configs())
    config = msgspec.structs.replace(config, model=draw(PROCESSORS))
    status = draw(st.sampled_from(list(canonical.Status)))
    decision = review = error = None
    if status is canonical.Status.completed:
        decision = draw(st.none() | _decisions(config))
    if decision is not None:
        review = draw(
            st.none()
            | st.builds(
                canonical.Review, edited=st.booleans(), initial=st.none() | _decisions(config)
            )
        )
    if status is canonical.Status.failed:
        reason = draw(st.sampled_from(sorted(extend.parts.FAILURE_REASONS)))
        error = canonical.RunError(code=reason, message=draw(TEXT), details={})
    name, mime = draw(FILES)
    file = canonical.FileInfo(
        id=draw(TEXT),
        filename=draw(KEYS) + name,
        mime_type=mime,
        page_count=draw(st.none() | st.integers(0, 500)),
        created_at=draw(TIMES),
    )
    classifier = draw(
        st.none()
        | st.builds(canonical.ClassifierInfo, id=TEXT, name=TEXT, version=TEXT, version_id=TEXT)
    )
    return canonical.ClassificationRun(
        id=draw(TEXT),
        status=status,
        config=config,
        created_at=draw(TIMES),
        file=draw(st.none() | st.just(file)),
        decision=decision,
        usage=draw(
            st.none()
            | st.builds(
                canonical.Usage,
                credits=st.floats(0, 1e6),
                total_credits=st.floats(0, 1e6),
                unit=st.just("extend_credits"),
            )
        ),
        error=error,
        updated_at=draw(TIMES),
        metadata=draw(st.none() | JSON_OBJECTS),
        review=review,
        classifier=classifier,
        dashboard_url=draw(TEXT),
        parse_run_id=draw(st.none() | TEXT),
    )


def _decisions(config: canonical.RunConfig) -> st.SearchStrategy[canonical.Decision]:
    return st.sampled_from(config.categories).flatmap(
        lambda c: st.builds(
            canonical.Decision,
            category_key=st.just(c.key),
            category_name=st.just(c.name),
            confidence=st.floats(0, 1),
            reasoning=st.text(max_size=20),
        )
    )


@settings(max_examples=150, deadline=None)
@given(run=extend_runs())
def test_runs_round_trip_through_extend(run: canonical.ClassificationRun) -> None:
    """Canonical → Extend JSON → canonical is the identity, except that `queued` reads back
    as `running` (Extend shows both as PROCESSING)."""
    body, _ = extend.response_from_canonical(run, public_id=run.id)
    wire = extend.run_decoder.decode(msgspec.json.encode(body))
    back, _ = extend.response_to_canonical(wire, received_at=RECEIVED)
    expected_status = (
        canonical.Status.running if run.status is canonical.Status.queued else run.status
    )
    assert back == msgspec.structs.replace(run, status=expected_status)


@st.composite
def extend_requests(draw: st.DrawFn) -> canonical.ClassifyRequest:
    """Canonical requests limited to what Extend can express: keyed, described categories,
    Extend file ids without a filename, one vote, no cache busting."""
    classifier = draw(
        st.none() | st.builds(canonical.ClassifierRef, id=TEXT, version=st.none() | TEXT)
    )
    config = draw(run_configs(min_categories=0 if classifier else 1))
    document = draw(
        st.one_of(
            st.builds(
                canonical.UrlDocument,
                url=TEXT,
                filename=st.none() | TEXT,
                password=st.none() | TEXT,
            ),
            st.builds(canonical.TextDocument, text=TEXT, filename=st.none() | TEXT),
            st.builds(canonical.FileRefDocument, vendor=st.just("extend"), file_id=TEXT),
        )
    )
    return canonical.ClassifyRequest(
        document=document,
        config=config,
        background=draw(st.booleans()),
        metadata=draw(st.none() | JSON_OBJECTS),
        priority=draw(st.none() | st.integers(1, 100)),  # Extend's documented range
        classifier=classifier,
    )


@settings(max_examples=150, deadline=None)
@given(request=extend_requests())
def test_requests_round_trip_through_extend(request: canonical.ClassifyRequest) -> None:
    """Canonical → Extend create body → (strict decode) → canonical is the identity."""
    body, notes, _ = extend.request_from_canonical(request)
    wire = extend.create_request_decoder.decode(msgspec.json.encode(body))
    back, _ = extend.request_to_canonical(wire, background=request.background)
    assert back == request
    assert not notes
