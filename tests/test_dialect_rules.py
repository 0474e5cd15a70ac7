"""The dialect rules that moved into mappings/: Retab's list query and flags, both vendors'
not-found wording, Extend's unfinished statuses, the background `queued` rule, the upload rule
and the read-back of an answer into the request's own terms."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from mappings import canonical, extend, retab
from mappings.errors import InvalidInput, TranslationError, UnsupportedFeature

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
CATEGORIES = (
    canonical.Category(key=None, name="Invoice", description=""),
    canonical.Category(key=None, name="Invoice", description=""),
    canonical.Category(key="receipt", name="Receipt", description=""),
)


def _request(document: canonical.Document | None = None) -> canonical.ClassifyRequest:
    return canonical.ClassifyRequest(
        document=document or canonical.TextDocument(text="Total due"),
        config=canonical.RunConfig(categories=CATEGORIES),
    )


def _run(
    decision: canonical.Decision | None, status: canonical.Status
) -> canonical.ClassificationRun:
    return canonical.ClassificationRun(
        id="run_1",
        status=status,
        config=canonical.RunConfig(categories=CATEGORIES),
        created_at=NOW,
        decision=decision,
    )


def test_both_translation_errors_share_one_base() -> None:
    """A surface catches one class for any translation refusal."""
    assert issubclass(InvalidInput, TranslationError)
    assert issubclass(UnsupportedFeature, TranslationError)
    refusal = InvalidInput("limit", "too big", location="query", status=400)
    assert (refusal.field, refusal.reason, refusal.location, refusal.status) == (
        "limit", "too big", "query", 400,
    )  # fmt: skip


def test_retab_list_query_defaults() -> None:
    """No parameters: the first ten, newest first, unfiltered."""
    query = retab.list_query_to_canonical({})
    assert (query.limit, query.order, query.direction, query.cursor) == (10, "desc", "after", None)
    assert query.status is None
    assert query.created_from is None


def test_retab_list_query_reads_every_parameter() -> None:
    """Cursor, order, filters and a whole-day date range, inclusive of the last day."""
    query = retab.list_query_to_canonical(
        {
            "before": "cls_2",
            "order": "asc",
            "limit": "100",
            "filename": "a.pdf",
            "status": "in_progress",
            "from_date": "2026-01-01",
            "to_date": "2026-01-31",
        }
    )
    assert (query.cursor, query.direction, query.order, query.limit) == (
        "cls_2",
        "before",
        "asc",
        100,
    )
    assert query.filename == "a.pdf"
    assert query.status is canonical.Status.running
    assert query.created_from == datetime(2026, 1, 1, tzinfo=UTC)
    assert query.created_to == datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)


@pytest.mark.parametrize(
    ("params", "field", "status"),
    [
        ({"limit": "0"}, "limit", None),
        ({"limit": "101"}, "limit", None),
        ({"limit": "ten"}, "limit", None),
        ({"order": "sideways"}, "order", None),
        ({"status": "done"}, "status", None),
        ({"before": "cls_1", "after": "cls_2"}, "before", 400),
        ({"from_date": "2026-13-45"}, "from_date", 400),
    ],
)
def test_retab_list_query_refusals_name_the_parameter(
    params: dict[str, str], field: str, status: int | None
) -> None:
    """FastAPI's own validation has no status of its own (the dialect's 422); Retab's own checks
    answer 400."""
    with pytest.raises(InvalidInput) as caught:
        retab.list_query_to_canonical(params)
    assert (caught.value.field, caught.value.location, caught.value.status) == (
        field, "query", status,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, True), ("true", True), ("1", True), ("FALSE", False), ("0", False)]
)
def test_retab_flags(raw: str | None, expected: bool) -> None:
    """`include_output` reads as FastAPI reads a bool, true when absent."""
    assert retab.flag(raw, "include_output") is expected


def test_retab_flag_refuses_other_words() -> None:
    with pytest.raises(InvalidInput, match="include_output"):
        retab.flag("maybe", "include_output")


def test_not_found_wording_is_each_vendors_own() -> None:
    """Retab answers FastAPI's bare text; Extend names the run."""
    assert retab.not_found_message("cls_1") == "Not found"
    assert extend.not_found_message("clr_1") == "Classify run clr_1 not found."


def test_extend_unfinished_statuses_are_the_ones_its_poller_waits_on() -> None:
    assert frozenset({"PENDING", "PROCESSING", "CANCELLING"}) == extend.UNFINISHED_STATUSES
    assert "PROCESSED" not in extend.UNFINISHED_STATUSES


def test_an_accepted_background_run_is_only_queued() -> None:
    """Extend answers PROCESSING for a run nothing has started yet (contracts.md §2)."""
    running = _run(None, canonical.Status.running)
    assert extend.accepted_to_canonical(running).status is canonical.Status.queued
    done = _run(None, canonical.Status.completed)
    assert extend.accepted_to_canonical(done) is done


@pytest.mark.parametrize(
    ("document", "upload"),
    [
        (
            canonical.InlineDocument(
                data=b"%PDF-1.7", filename="a.pdf", mime_type="application/pdf"
            ),
            True,
        ),
        (
            canonical.InlineDocument(data=b"\xff\xfe", filename="a.txt", mime_type="text/plain"),
            True,
        ),
        (canonical.InlineDocument(data=b"plain", filename="a.txt", mime_type="text/plain"), False),
        (canonical.UrlDocument(url="https://example.com/a.pdf"), False),
        (canonical.TextDocument(text="hi"), False),
    ],
)
def test_extend_takes_only_utf8_text_inline(document: canonical.Document, upload: bool) -> None:
    """Other bytes go through Extend's Files API first (hazard 11)."""
    assert extend.needs_upload(document) is upload


def test_a_body_built_while_the_upload_was_pending_names_the_uploaded_file() -> None:
    """The request is translated once, before the upload; the file id is put in after."""
    pending = msgspec.structs.replace(_request(), document=extend.UPLOAD_PENDING)
    outbound = extend.request_from_canonical(pending)
    uploaded = canonical.FileRefDocument(vendor="extend", file_id="file_9")
    final, notes, sent = extend.with_document(outbound, uploaded)
    assert msgspec.to_builtins(final)["file"] == {"id": "file_9"}
    assert sent == outbound.sent == ("invoice", "invoice_2", "receipt")
    assert final.config == outbound.body.config
    assert notes == outbound.notes  # an uploaded file id adds nothing to note


def test_answers_are_read_back_in_the_requests_own_terms() -> None:
    """Each vendor answers in the identifiers it was sent; the caller sees its own categories."""
    request = _request()
    sent_names = msgspec.to_builtins(retab.request_from_canonical(request)[0])["categories"]
    second = canonical.Decision(category_key=None, category_name=sent_names[1]["name"])
    run = retab.in_request_terms(_run(second, canonical.Status.completed), request)
    assert run.decision is not None
    assert run.decision.category_name == "Invoice"
    assert sent_names[1]["name"] != "Invoice"  # a repeated name was made unique to send it

    sent_ids = msgspec.to_builtins(extend.request_from_canonical(request)[0])["config"]
    key = sent_ids["classifications"][2]["id"]
    decision = canonical.Decision(category_key=key, category_name="Receipt")
    run = extend.in_request_terms(_run(decision, canonical.Status.completed), request)
    assert run.decision is not None
    assert run.decision.category_key == "receipt"


def test_rendered_configs_are_not_shared_between_responses() -> None:
    """A cached rendering is copied out: changing one response cannot change the next."""
    run = _run(None, canonical.Status.running)
    first, _ = extend.response_from_canonical(run, public_id="clr_1")
    second, _ = extend.response_from_canonical(run, public_id="clr_1")
    assert first.config == second.config
    assert first.config is not second.config
