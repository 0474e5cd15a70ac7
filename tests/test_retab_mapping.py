"""Retab <-> canonical translations: the SDK as referee, round-trip properties, and the
contracts.md §10 hazards that touch Retab, one `test_hazard_NN_*` per promise."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from retab.types.classifications import Classification as SdkClassification
from retab.types.classifications import EditsStatus
from retab.types.pagination import PaginatedList

from mappings import canonical, retab
from mappings.errors import InvalidInput, UnsupportedFeature
from mappings.models import ModelTable

WIRE = Path(__file__).resolve().parent.parent / "fixtures" / "wire"
RECEIVED = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
CREATED = datetime(2026, 3, 2, 14, 7, 40, 118000, tzinfo=UTC)
RESPONSES = [
    "retab_cancel_response.json",
    "retab_create_response_201.json",
    "retab_create_response_background_queued.json",
    "retab_get_cancelled.json",
    "retab_get_completed_consensus.json",
    "retab_get_failed.json",
    "retab_get_in_progress.json",
    "retab_get_seed.json",
]
LISTS = ["retab_list_response.json", "retab_list_response_last_page.json"]
CATEGORIES = (
    canonical.Category(key="invoice", name="Invoice", description="Bills"),
    canonical.Category(key="receipt", name="Receipt", description="Paid slips"),
)


def _fixture(name: str) -> bytes:
    return (WIRE / name).read_bytes()


def _classification(name: str) -> retab.Classification:
    return retab.classification_decoder.decode(_fixture(name))


def _request(name: str) -> retab.ClassificationRequest:
    return retab.request_decoder.decode(_fixture(name))


def _json(value: Any) -> Any:
    return json.loads(msgspec.json.encode(value))


def _run(**changes: Any) -> canonical.ClassificationRun:
    """A completed run of a foreign backend, as the Extend mapping would report it."""
    fields: dict[str, Any] = {
        "id": "clr_abc",
        "status": canonical.Status.completed,
        "config": canonical.RunConfig(categories=CATEGORIES, model="classification_standard"),
        "created_at": CREATED,
        "file": canonical.FileInfo(id="file_x", filename="a.pdf", mime_type="application/pdf"),
        "decision": canonical.Decision(
            category_key="receipt", category_name="Receipt", confidence=0.82, reasoning="PAID"
        ),
        "usage": canonical.Usage(credits=2.0, unit="extend_credits"),
    }
    fields.update(changes)
    return canonical.ClassificationRun(**fields)


def _classify(document: canonical.Document, **changes: Any) -> canonical.ClassifyRequest:
    config = canonical.RunConfig(categories=CATEGORIES, model="classification_standard")
    fields: dict[str, Any] = {"document": document, "config": config}
    fields.update(changes)
    return canonical.ClassifyRequest(**fields)


def _config(**changes: Any) -> canonical.RunConfig:
    return msgspec.structs.replace(_classify(_url()).config, **changes)


def _url(url: str = "https://files.example.com/in/a.pdf") -> canonical.UrlDocument:
    return canonical.UrlDocument(url=url, filename="a.pdf")


def _sdk(body: retab.Classification) -> SdkClassification:
    return SdkClassification.model_validate(_json(body))


@pytest.mark.parametrize("name", RESPONSES)
def test_response_example_survives_canonical_and_validates_with_the_sdk(name: str) -> None:
    """Each Retab response example, through canonical and back, is a valid SDK Classification
    with the same id, status and answer."""
    original = SdkClassification.model_validate_json(_fixture(name))
    run, _ = retab.response_to_canonical(_classification(name), received_at=RECEIVED)
    again = _sdk(retab.response_from_canonical(run, public_id=run.id)[0])
    assert (again.id, again.status, again.categories) == (
        original.id,
        original.status,
        original.categories,
    )
    if original.status == EditsStatus.COMPLETED:
        assert again.output == original.output


@pytest.mark.parametrize("name", [n for n in RESPONSES if n != "retab_get_seed.json"])
def test_response_example_round_trips_exactly(name: str) -> None:
    """Retab's own runs re-render to the same JSON, with nothing noted (the seed is covered by
    test_retab_wire's normalisation test)."""
    run, notes = retab.response_to_canonical(_classification(name), received_at=RECEIVED)
    body, out_notes = retab.response_from_canonical(run, public_id=run.id)
    assert _json(body) == json.loads(_fixture(name))
    assert not notes
    assert not out_notes


@pytest.mark.parametrize("name", LISTS)
def test_list_example_validates_with_the_sdk_pagination_type(name: str) -> None:
    """A list page through canonical and back validates as the SDK's PaginatedList."""
    page = retab.classification_list_decoder.decode(_fixture(name))
    runs, _ = retab.list_to_canonical(page, received_at=RECEIVED)
    items = [(run.id, run) for run in runs.runs]
    body, _ = retab.list_from_canonical(items, before=runs.before, after=runs.after)
    sdk = PaginatedList[SdkClassification].model_validate(_json(body))
    assert _json(body) == json.loads(_fixture(name))
    assert sdk.has_more == (page.list_metadata.after is not None)


def test_request_example_round_trips_through_canonical() -> None:
    """Both create examples map to canonical and back to the same JSON."""
    for name in ("retab_create_request.json", "retab_create_request_background.json"):
        canon, _ = retab.request_to_canonical(_request(name))
        body, notes, _ = retab.request_from_canonical(canon)
        assert _json(body) == json.loads(_fixture(name))
        assert not notes


def test_file_ref_request_maps_to_a_retab_file_reference() -> None:
    """A FileRef document becomes a FileRefDocument owned by Retab, and back."""
    canon, _ = retab.request_to_canonical(_request("retab_case_request_file_ref.json"))
    assert canon.document == canonical.FileRefDocument(
        vendor="retab",
        file_id="file_3c0a9f1e77b2d564",
        filename="pos_receipt_118.jpg",
        mime_type="image/jpeg",
    )
    body, _, _ = retab.request_from_canonical(canon)
    assert _json(body) == json.loads(_fixture("retab_case_request_file_ref.json"))


@pytest.mark.parametrize(
    ("name", "error", "field"),
    [
        ("retab_case_request_http_url.json", UnsupportedFeature, "document.url"),
        ("retab_case_request_bad_base64.json", InvalidInput, "document.url"),
        ("retab_case_request_duplicate_names.json", InvalidInput, "categories[1].name"),
        ("retab_case_request_n_consensus_17.json", InvalidInput, "n_consensus"),
    ],
)
def test_invalid_request_is_refused_naming_the_field(
    name: str, error: type[InvalidInput | UnsupportedFeature], field: str
) -> None:
    """A create body Retab would not accept raises an error naming the Retab wire path."""
    with pytest.raises(error) as raised:
        retab.request_to_canonical(_request(name))
    assert isinstance(raised.value, InvalidInput | UnsupportedFeature)
    assert raised.value.field == field


def test_request_without_categories_is_invalid() -> None:
    """An empty `categories` list is refused, naming `categories`."""
    req = msgspec.structs.replace(_request("retab_create_request.json"), categories=())
    with pytest.raises(InvalidInput) as raised:
        retab.request_to_canonical(req)
    assert raised.value.field == "categories"


def test_request_document_needs_exactly_one_of_url_and_id() -> None:
    """A document with both `url` and `id` is ambiguous and refused."""
    req = _request("retab_case_request_file_ref.json")
    both = msgspec.structs.replace(req.document, url="https://files.example.com/a.pdf")
    with pytest.raises(InvalidInput, match="document"):
        retab.request_to_canonical(msgspec.structs.replace(req, document=both))


def test_request_category_defaults() -> None:
    """A missing handle_key is key None; a null description is ""."""
    req = _request("retab_case_request_bad_base64.json")
    valid = msgspec.structs.replace(req.document, url="https://files.example.com/a.pdf")
    canon, _ = retab.request_to_canonical(msgspec.structs.replace(req, document=valid))
    assert canon.config.categories == (canonical.Category(key=None, name="invoice"),)


TEXT = st.text(st.characters(codec="utf-8"), max_size=12)  # JSON text: no lone surrogates
NAME = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)
# Retab model names: not Extend processor names, which the table would rename (hazard 6)
MODELS = st.sampled_from(["retab-small", "retab-large", "retab-micro", "gpt-4o"])
DETAILS = st.dictionaries(TEXT, st.one_of(st.none(), st.booleans(), st.integers(-9, 9), TEXT))


@st.composite
def categories(draw: st.DrawFn) -> tuple[canonical.Category, ...]:
    """1-5 categories with unique names and unique (or absent) keys, as Retab requires."""
    names = draw(st.lists(NAME, min_size=1, max_size=5, unique=True))
    keys = draw(st.lists(NAME, min_size=len(names), max_size=len(names), unique=True))
    return tuple(
        canonical.Category(
            key=key if draw(st.booleans()) else None, name=name, description=draw(TEXT)
        )
        for name, key in zip(names, keys, strict=True)
    )


def _pick(draw: st.DrawFn, cats: tuple[canonical.Category, ...], **kw: Any) -> canonical.Decision:
    cat = draw(st.sampled_from(cats))
    return canonical.Decision(
        category_key=cat.key, category_name=cat.name, reasoning=draw(TEXT), **kw
    )


@st.composite
def runs(draw: st.DrawFn) -> canonical.ClassificationRun:
    """Canonical runs restricted to what a Retab Classification can express: no Extend-only
    fields, a file always, confidence equal to the consensus share, Retab credits."""
    cats = draw(categories())
    status = draw(st.sampled_from(canonical.Status))
    agreement = draw(st.none() | st.floats(0, 1))
    decision = None
    if status is canonical.Status.completed and draw(st.booleans()):
        decision = _pick(draw, cats, confidence=agreement)
    errors = st.builds(canonical.RunError, code=NAME, message=TEXT, details=DETAILS)
    return canonical.ClassificationRun(
        id=draw(NAME),
        status=status,
        config=canonical.RunConfig(
            categories=cats,
            model=draw(MODELS),
            instructions=draw(st.none() | TEXT),
            consensus=draw(st.integers(1, 16)),
        ),
        created_at=draw(st.datetimes(timezones=st.just(UTC))),
        file=canonical.FileInfo(id=draw(NAME), filename=draw(NAME), mime_type=draw(NAME)),
        decision=decision,
        votes=tuple(_pick(draw, cats) for _ in range(draw(st.integers(0, 3)))),
        agreement=agreement,
        usage=draw(
            st.none()
            | st.builds(canonical.Usage, credits=st.floats(0, 1e6), unit=st.just("retab_credits"))
        ),
        error=draw(errors) if status is canonical.Status.failed else draw(st.none() | errors),
    )


@st.composite
def documents(draw: st.DrawFn) -> canonical.Document:
    """Documents Retab takes as they are: inline bytes, https URLs, Retab file ids."""
    filename = draw(NAME)
    mime = draw(st.sampled_from(["application/pdf", "image/png", "text/plain;charset=utf-8"]))
    options: list[canonical.Document] = [
        canonical.InlineDocument(
            data=draw(st.binary(max_size=64)), filename=filename, mime_type=mime
        ),
        canonical.UrlDocument(url=f"https://files.example.com/{draw(NAME)}", filename=filename),
        canonical.FileRefDocument(
            vendor="retab", file_id=draw(NAME), filename=filename, mime_type=mime
        ),
    ]
    return draw(st.sampled_from(options))


@st.composite
def requests(draw: st.DrawFn) -> canonical.ClassifyRequest:
    """Canonical requests restricted to Retab's create body: no Extend-only inputs, a model
    given, at most one page range from page 1."""
    n_pages = draw(st.none() | st.integers(1, 500))
    config = canonical.RunConfig(
        categories=draw(categories()),
        model=draw(MODELS),
        instructions=draw(st.none() | TEXT),
        pages=() if n_pages is None else (canonical.PageRange(start=1, end=n_pages),),
        consensus=draw(st.integers(1, 16)),
    )
    return canonical.ClassifyRequest(
        document=draw(documents()),
        config=config,
        background=draw(st.booleans()),
        bust_cache=draw(st.booleans()),
    )


@given(runs())
def test_runs_round_trip_through_retab_json(run: canonical.ClassificationRun) -> None:
    """Retab-expressible runs survive response_from_canonical, JSON, response_to_canonical.

    Normalisations, asserted here: a failed run's `details: None` is rendered `{}` (hazard 17);
    a completed decision's confidence is read back from `likelihoods`, so the strategy keeps
    them equal; `updated_at` and the Extend-only fields are never generated."""
    body, notes = retab.response_from_canonical(run, public_id=run.id)
    SdkClassification.model_validate(_json(body))
    decoded = retab.classification_decoder.decode(msgspec.json.encode(body))
    back, back_notes = retab.response_to_canonical(decoded, received_at=RECEIVED)
    assert back == run
    assert not notes
    assert not back_notes


@given(requests())
def test_requests_round_trip_through_retab_json(req: canonical.ClassifyRequest) -> None:
    """Retab-expressible requests survive request_from_canonical, JSON, request_to_canonical."""
    body, notes, _ = retab.request_from_canonical(req)
    decoded = retab.request_decoder.decode(msgspec.json.encode(body))
    back, _ = retab.request_to_canonical(decoded)
    assert back == req
    assert not notes


def test_model_none_is_normalised_to_retab_small() -> None:
    """A request with no model comes back as `retab-small`, the SDK default, noted."""
    req = _classify(_url(), config=_config(model=None))
    body, notes, _ = retab.request_from_canonical(req)
    assert body.model == "retab-small"
    assert notes.synthesized == ("model",)


def test_hazard_02_background_flag_carries_sync_or_async() -> None:
    """Retab's `background` is the canonical sync/async switch, both ways."""
    sync, _ = retab.request_to_canonical(_request("retab_create_request.json"))
    background, _ = retab.request_to_canonical(_request("retab_create_request_background.json"))
    assert (sync.background, background.background) == (False, True)
    for flag in (False, True):
        body, _, _ = retab.request_from_canonical(_classify(_url(), background=flag))
        assert _json(body)["background"] is flag


def test_hazard_04_foreign_confidence_becomes_noted_likelihoods() -> None:
    """An Extend confidence with no consensus is reported as `consensus.likelihoods`, noted."""
    body, notes = retab.response_from_canonical(_run(), public_id="cls_x")
    assert _json(body)["consensus"] == {"choices": [], "likelihoods": 0.82}
    assert "consensus.likelihoods" in notes.synthesized
    run, _ = retab.response_to_canonical(
        _classification("retab_get_completed_consensus.json"), received_at=RECEIVED
    )
    assert run.decision is not None
    assert run.decision.confidence == 0.67


def test_hazard_06_model_names_go_through_the_table() -> None:
    """Extend processors become Retab models by the table, in requests and responses."""
    req = _classify(_url(), config=_config(model="classification_performance"))
    assert retab.request_from_canonical(req)[0].model == "retab-large"
    table = ModelTable(to_extend={}, to_retab={"classification_standard": "house-model"})
    body, _ = retab.response_from_canonical(_run(), public_id="cls_x", models=table)
    assert body.model == "house-model"
    config = msgspec.structs.replace(_run().config, model=None)
    body, notes = retab.response_from_canonical(_run(config=config), public_id="cls_x")
    assert body.model == "retab-small"
    assert "model" in notes.synthesized


def test_hazard_07_n_consensus_and_bust_cache_are_kept() -> None:
    """Retab-only `n_consensus` and `bust_cache` survive into canonical and back out."""
    canon, _ = retab.request_to_canonical(_request("retab_case_request_file_ref.json"))
    assert (canon.config.consensus, canon.bust_cache) == (5, True)
    body, _, _ = retab.request_from_canonical(canon)
    assert (body.n_consensus, body.bust_cache) == (5, True)
    with pytest.raises(InvalidInput, match="n_consensus"):
        retab.request_to_canonical(_request("retab_case_request_n_consensus_17.json"))


def test_hazard_08_first_n_pages_is_one_range_from_page_one() -> None:
    """first_n_pages N is pages 1..N; any other page selection is refused toward Retab."""
    canon, _ = retab.request_to_canonical(_request("retab_create_request.json"))
    assert canon.config.pages == (canonical.PageRange(start=1, end=2),)
    assert retab.request_from_canonical(canon)[0].first_n_pages == 2
    for pages in [
        (canonical.PageRange(start=2, end=5),),
        (canonical.PageRange(start=1, end=2), canonical.PageRange(start=4, end=4)),
    ]:
        with pytest.raises(UnsupportedFeature) as raised:
            retab.request_from_canonical(_classify(_url(), config=_config(pages=pages)))
        assert raised.value.field == "config.advancedOptions.pageRanges"


def test_hazard_10_extend_only_inputs_are_dropped_or_rejected() -> None:
    """Extend-only options are noted as dropped; a saved classifier and a PDF password are
    refused, since Retab cannot honour them."""
    config = _config(
        model_version="3.3.0", context="max", multimodal=True, memory=False, parse_config={}
    )
    req = _classify(_url(), config=config, priority=5, metadata={"ticket": 7})
    body, notes, _ = retab.request_from_canonical(req)
    assert set(notes.dropped) == {
        "config.baseVersion",
        "config.advancedOptions.context",
        "config.advancedOptions.advancedMultimodalEnabled",
        "config.advancedOptions.memoryEnabled",
        "config.parseConfig",
        "priority",
        "metadata",
    }
    assert "metadata" not in _json(body)
    assert not retab.request_from_canonical(_classify(_url()))[1].dropped
    saved = _classify(_url(), classifier=canonical.ClassifierRef(id="cl_1"))
    with pytest.raises(UnsupportedFeature, match="classifier"):
        retab.request_from_canonical(saved)
    locked = canonical.UrlDocument(url="https://x.example/a.pdf", password="s3cret")
    with pytest.raises(UnsupportedFeature) as raised:
        retab.request_from_canonical(_classify(locked))
    assert raised.value.field == "file.settings.password"


def test_hazard_12_extend_url_and_text_become_mime_data() -> None:
    """An Extend URL passes as MIMEData named by its basename; http:// is refused."""
    unnamed = canonical.UrlDocument(url="https://files.example.com/in/scan%2042.pdf?sig=1")
    body, notes, _ = retab.request_from_canonical(_classify(unnamed))
    assert _json(body)["document"] == {
        "filename": "scan 42.pdf",
        "url": "https://files.example.com/in/scan%2042.pdf?sig=1",
    }
    assert notes.synthesized == ("document.filename",)
    with pytest.raises(UnsupportedFeature) as raised:
        retab.request_from_canonical(_classify(_url("http://files.example.com/a.pdf")))
    assert raised.value.field == "file.url"


def test_hazard_13_file_ids_are_never_forwarded_across_vendors() -> None:
    """An Extend file id is refused toward Retab; a Retab one passes as a FileRef."""
    foreign = canonical.FileRefDocument(vendor="extend", file_id="file_aB3", filename="a.pdf")
    with pytest.raises(UnsupportedFeature) as raised:
        retab.request_from_canonical(_classify(foreign))
    assert raised.value.field == "file.id"
    own = msgspec.structs.replace(foreign, vendor="retab")
    body, notes, _ = retab.request_from_canonical(_classify(own))
    assert _json(body)["document"] == {
        "filename": "a.pdf",
        "id": "file_aB3",
        "mime_type": "application/octet-stream",
    }
    assert notes.synthesized == ("document.mime_type",)


def test_hazard_15_status_is_always_a_known_retab_value() -> None:
    """Every canonical status renders to a value of the SDK's strict enum, always present;
    running is in_progress; a missing status reads as pending; an unknown one is refused."""
    for status in canonical.Status:
        body, _ = retab.response_from_canonical(_run(status=status), public_id="cls_x")
        assert EditsStatus(_json(body)["status"])
    body, _ = retab.response_from_canonical(_run(status=canonical.Status.running), public_id="c")
    assert body.status == "in_progress"
    seed = _classification("retab_get_seed.json")
    run, notes = retab.response_to_canonical(seed, received_at=RECEIVED)
    assert run.status is canonical.Status.pending
    assert notes.synthesized == ("status",)
    with pytest.raises(UnsupportedFeature, match="status"):
        retab.response_to_canonical(
            msgspec.structs.replace(seed, status="paused"), received_at=RECEIVED
        )


def test_hazard_16_output_is_a_placeholder_until_completed() -> None:
    """Before completion `output` is `{reasoning:"", category:""}`, never null; and a
    placeholder read from Retab is no decision."""
    for status in (canonical.Status.queued, canonical.Status.running, canonical.Status.failed):
        body, _ = retab.response_from_canonical(_run(status=status), public_id="cls_x")
        assert _json(body)["output"] == {"reasoning": "", "category": ""}
    done, _ = retab.response_from_canonical(_run(), public_id="cls_x")
    assert _json(done)["output"] == {"reasoning": "PAID", "category": "Receipt"}
    light, _ = retab.response_from_canonical(_run(), public_id="cls_x", include_output=False)
    assert "output" not in _json(light)
    _sdk(light)
    queued = _classification("retab_create_response_background_queued.json")
    assert retab.response_to_canonical(queued, received_at=RECEIVED)[0].decision is None


def test_hazard_17_failure_becomes_primitive_error() -> None:
    """An Extend failureReason/message becomes `error {code, message, details: {}}`."""
    failure = canonical.RunError(code="FAILED_TO_PROCESS_FILE", message="Corrupt PDF")
    run = _run(status=canonical.Status.failed, decision=None, error=failure)
    body, _ = retab.response_from_canonical(run, public_id="cls_x")
    assert _json(body)["error"] == {
        "code": "FAILED_TO_PROCESS_FILE",
        "message": "Corrupt PDF",
        "details": {},
    }
    assert _sdk(body).error is not None
    bare = _run(status=canonical.Status.failed, decision=None)
    body, notes = retab.response_from_canonical(bare, public_id="cls_x")
    assert body.error is not None
    assert "error" in notes.synthesized


def test_hazard_18_usage_is_credits_only() -> None:
    """Usage is `{credits}`, never token-style; a foreign unit passes through, noted."""
    body, notes = retab.response_from_canonical(_run(), public_id="cls_x")
    assert _json(body)["usage"] == {"credits": 2.0}
    assert "usage.credits" in notes.synthesized
    run, _ = retab.response_to_canonical(
        _classification("retab_create_response_201.json"), received_at=RECEIVED
    )
    assert run.usage == canonical.Usage(credits=1.0, unit="retab_credits")


def test_hazard_20_missing_file_is_synthesised() -> None:
    """A run with no file (Extend ingestion failure) still gets the required FileRef, noted."""
    body, notes = retab.response_from_canonical(_run(file=None), public_id="cls_x")
    file = _sdk(body).file
    assert file.id.startswith("file_")
    assert len(file.id) == len("file_") + 16
    assert "file" in notes.synthesized
    again, _ = retab.response_from_canonical(_run(file=None), public_id="cls_x")
    assert again.file == body.file  # deterministic for the same run


def test_hazard_23_list_items_are_full_classifications() -> None:
    """A list page from foreign runs holds full Classifications with categories and output."""
    items = [("cls_a", _run()), ("cls_b", _run(status=canonical.Status.running, decision=None))]
    body, notes = retab.list_from_canonical(items, before=None, after="cls_b")
    sdk = PaginatedList[SdkClassification].model_validate(_json(body))
    assert [c.id for c in sdk.data] == ["cls_a", "cls_b"]
    assert all(len(c.categories) == 2 and c.output is not None for c in sdk.data)
    assert sdk.has_more
    assert "data[].consensus.likelihoods" in notes.synthesized


def test_hazard_26_errors_render_in_retab_shapes() -> None:
    """Field problems render as the 422 list, auth and not-found as bare strings, the rest as
    `{"detail": {code, message, details}}`; the SDK's parser reads each."""
    field = canonical.FieldProblem(loc=("body", "categories"), message="Field required")
    invalid = canonical.Problem(status=422, code="INVALID_REQUEST", message="x", fields=(field,))
    assert _json(retab.error_from_canonical(invalid)) == {
        "detail": [{"loc": ["body", "categories"], "msg": "Field required", "type": "value_error"}]
    }
    missing = canonical.Problem(status=404, code="NOT_FOUND", message="Not found")
    assert _json(retab.error_from_canonical(missing)) == json.loads(
        _fixture("retab_error_404_detail_string.json")
    )
    unsupported = canonical.Problem(
        status=400, code="INVALID_DOCUMENT", message="bad", details={"field": "document.url"}
    )
    assert _json(retab.error_from_canonical(unsupported)) == {
        "detail": {
            "code": "INVALID_DOCUMENT",
            "message": "bad",
            "details": {"field": "document.url"},
        }
    }


@pytest.mark.parametrize(
    ("name", "status", "code", "message"),
    [
        ("retab_error_400_detail_object.json", 400, "INVALID_DOCUMENT", "document.url must be"),
        ("retab_error_401_detail_string.json", 401, "UNAUTHORIZED", "Not authenticated"),
        ("retab_error_404_detail_string.json", 404, "NOT_FOUND", "Not found"),
        ("retab_error_422_validation.json", 422, "INVALID_REQUEST", "body.categories: Field"),
        ("retab_case_error_502_proxy.html", 502, "INTERNAL_ERROR", "<html>"),
    ],
)
def test_hazard_26_upstream_error_shapes_become_problems(
    name: str, status: int, code: str, message: str
) -> None:
    """Each Retab error shape, and a proxy's non-JSON page, reads as a Problem."""
    problem = retab.error_to_canonical(status, _fixture(name))
    assert (problem.status, problem.code) == (status, code)
    assert problem.message.startswith(message)
    assert problem.retryable is (status >= 500)


def test_hazard_26_validation_list_keeps_each_field() -> None:
    """A 422 list keeps every location, so the caller's dialect can name each field."""
    problem = retab.error_to_canonical(422, _fixture("retab_error_422_validation.json"))
    assert [f.loc for f in problem.fields] == [("body", "categories"), ("body", "n_consensus")]
    assert _json(retab.error_from_canonical(problem))["detail"][1]["type"] == "int_parsing"


def test_hazard_31_text_becomes_a_text_data_url() -> None:
    """Extend `file.text` is sent as `data:text/plain;base64,…` named document.txt."""
    body, notes, _ = retab.request_from_canonical(
        _classify(canonical.TextDocument(text="Total: 5€"))
    )
    document = _json(body)["document"]
    assert document["filename"] == "document.txt"
    prefix = "data:text/plain;base64,"
    assert document["url"].startswith(prefix)
    assert base64.b64decode(document["url"][len(prefix) :]).decode() == "Total: 5€"
    assert notes.synthesized == ("document.filename",)
    named = canonical.TextDocument(text="hi", filename="memo")
    assert retab.request_from_canonical(_classify(named))[0].document.filename == "memo.txt"


def test_duplicate_names_toward_retab_are_made_unique_and_answer_maps_back() -> None:
    """Extend types may repeat; Retab names must not, so repeats take their key, noted, and
    the run's answer is rendered in those names (hazard 3)."""
    cats = (
        canonical.Category(key="inv_a", name="invoice"),
        canonical.Category(key="inv_b", name="invoice"),
        canonical.Category(key="rcpt", name="receipt"),
    )
    req = _classify(_url(), config=_config(categories=cats))
    body, notes, _ = retab.request_from_canonical(req)
    assert [c.name for c in body.categories] == ["inv_a", "inv_b", "receipt"]
    assert notes.synthesized == ("categories[0].name", "categories[1].name")
    decision = canonical.Decision(category_key="inv_b", category_name="invoice")
    run = _run(config=_config(categories=cats), decision=decision)
    out, _ = retab.response_from_canonical(run, public_id="cls_x")
    assert out.output == retab.ClassificationDecision(reasoning="", category="inv_b")


def test_missing_created_at_is_the_time_received() -> None:
    """A Classification without `created_at` is dated when the gateway received it, noted."""
    cls = msgspec.structs.replace(_classification("retab_get_in_progress.json"), created_at=None)
    run, notes = retab.response_to_canonical(cls, received_at=RECEIVED)
    assert run.created_at == RECEIVED
    assert notes.synthesized == ("created_at",)


problems = st.builds(
    canonical.Problem,
    status=st.integers(400, 599),
    code=st.sampled_from(["INVALID_DOCUMENT", "RATE_LIMIT_EXCEEDED", "INTERNAL_ERROR"]),
    message=TEXT,
    details=st.none() | DETAILS,
)


@given(problems)
def test_structured_problems_round_trip_through_retab_error_bodies(
    problem: canonical.Problem,
) -> None:
    """A Problem rendered as `{"detail": {...}}` reads back the same; `retryable` is derived
    from the status (429 and 5xx, as Retab's SDK retries), so the strategy sets it that way."""
    problem = msgspec.structs.replace(
        problem, retryable=problem.status == 429 or problem.status >= 500
    )
    body = msgspec.json.encode(retab.error_from_canonical(problem))
    assert retab.error_to_canonical(problem.status, body) == problem
