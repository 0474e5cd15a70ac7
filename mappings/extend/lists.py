"""Extend run listings: summaries, list pages and list queries (contracts.md §5, hazards 21-23).

Pure: imports only the stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import msgspec

from mappings import canonical
from mappings.errors import InvalidInput, UnsupportedFeature
from mappings.extend.common import STATUS_TO_CANONICAL
from mappings.extend.resources import ClassifyRun, ClassifyRunList, ClassifyRunSummary
from mappings.extend.runs import response_from_canonical, response_to_canonical
from mappings.models import DEFAULT_MODELS, ModelTable
from mappings.notes import Notes
from mappings.numbers import OutOfRange, query_integer
from mappings.shared import given

MAX_PAGE_SIZE = 1000  # Extend documents no bound (contracts.md §13); batches stop at 1000 too
_NOT_IN_SUMMARY = ("output", "initialOutput", "reviewedOutput", "config")


def summary_from_canonical(
    run: canonical.ClassificationRun,
    *,
    public_id: str,
    models: ModelTable = DEFAULT_MODELS,
    dashboard_url: str = "",
) -> tuple[ClassifyRunSummary, Notes]:
    """A canonical run as a list item: the full run without output or config (§5.2)."""
    full, notes = response_from_canonical(
        run, public_id=public_id, models=models, dashboard_url=dashboard_url
    )
    summary = ClassifyRunSummary(
        id=full.id,
        classifier=full.classifier,
        classifier_version=full.classifier_version,
        status=full.status,
        failure_reason=full.failure_reason,
        failure_message=full.failure_message,
        metadata=full.metadata,
        reviewed=full.reviewed,
        edited=full.edited,
        file=full.file,
        parse_run_id=full.parse_run_id,
        dashboard_url=full.dashboard_url,
        created_at=full.created_at,
        updated_at=full.updated_at,
        usage=full.usage,
    )
    return summary, _summary_notes(notes)


def _summary_notes(notes: Notes) -> Notes:
    def kept(paths: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(p for p in paths if p.split(".", 1)[0] not in _NOT_IN_SUMMARY)

    return Notes(synthesized=kept(notes.synthesized), dropped=kept(notes.dropped))


def list_from_canonical(
    items: Sequence[tuple[str, canonical.ClassificationRun]],
    *,
    next_page_token: str | None,
    dashboard_base: str = "",
) -> tuple[ClassifyRunList, Notes]:
    """`(public id, run)` pairs as Extend's list page; the token is the canonical `after`
    cursor (hazard 21). With `dashboard_base`, each item links to `<base>/classify_runs/<id>`."""
    notes = Notes()
    summaries = []
    for public_id, run in items:
        url = f"{dashboard_base}/classify_runs/{public_id}" if dashboard_base else ""
        summary, item_notes = summary_from_canonical(run, public_id=public_id, dashboard_url=url)
        summaries.append(summary)
        notes += item_notes
    return ClassifyRunList(data=tuple(summaries), next_page_token=next_page_token), notes


def list_to_canonical(
    page: ClassifyRunList, *, received_at: datetime
) -> tuple[canonical.RunPage, Notes]:
    """An Extend list page as canonical: `nextPageToken` is the forward cursor `after`
    (hazard 21); Extend cannot page backwards, so `before` stays None."""
    notes = Notes()
    runs = []
    for summary in page.data:
        run, run_notes = response_to_canonical(_as_run(summary), received_at=received_at)
        runs.append(run)
        notes += run_notes
    return canonical.RunPage(runs=tuple(runs), after=given(page.next_page_token)), notes


def _as_run(summary: ClassifyRunSummary) -> ClassifyRun:
    # a summary is a run without output and config; those read as absent (hazard 23)
    return ClassifyRun(
        id=summary.id,
        status=summary.status,
        classifier=summary.classifier,
        classifier_version=summary.classifier_version,
        failure_reason=summary.failure_reason,
        failure_message=summary.failure_message,
        metadata=summary.metadata,
        reviewed=summary.reviewed,
        edited=summary.edited,
        file=summary.file,
        parse_run_id=summary.parse_run_id,
        dashboard_url=summary.dashboard_url,
        usage=summary.usage,
        created_at=summary.created_at,
        updated_at=summary.updated_at,
    )


def list_params_to_canonical(params: Mapping[str, str]) -> canonical.ListQuery:
    """`GET /classify_runs`'s query string as a canonical list query; the filters with no
    canonical field (`classifierId`, `source`, `sourceId`) are not read."""
    query = list_query_to_canonical(
        status=params.get("status"),
        file_name_contains=params.get("fileNameContains"),
        sort_by=params.get("sortBy"),
        sort_dir=params.get("sortDir"),
        next_page_token=params.get("nextPageToken"),
        max_page_size=params.get("maxPageSize"),
    )
    batch_id = params.get("batchId")
    return msgspec.structs.replace(query, batch_id=batch_id) if batch_id else query


def list_query_to_canonical(
    status: str | None = None,
    file_name_contains: str | None = None,
    sort_by: str | None = None,
    sort_dir: str | None = None,
    next_page_token: str | None = None,
    max_page_size: str | int | None = None,
) -> canonical.ListQuery:
    """`GET /classify_runs` query parameters as a canonical list query (hazard 22).

    `classifierId`, `source` and `sourceId` have no canonical field; the surface does not
    pass them (`batchId` is read by `list_params_to_canonical`). PROCESSING and CANCELLING
    both read as `running`.
    """
    return canonical.ListQuery(
        limit=page_size(max_page_size),
        order=_order(sort_by, sort_dir),
        cursor=next_page_token or None,
        direction="after",  # Extend's tokens only page forwards (hazard 21)
        filename_contains=file_name_contains or None,
        status=_status_filter(status),
    )


def page_size(value: str | int | None) -> int:
    """`maxPageSize` read strictly: ASCII digits, 1 to MAX_PAGE_SIZE; the default when absent."""
    if value is None or value == "":
        return canonical.ListQuery().limit
    try:
        return query_integer(str(value), low=1, high=MAX_PAGE_SIZE)
    except OutOfRange:
        raise InvalidInput(
            "maxPageSize", f"must be between 1 and {MAX_PAGE_SIZE}", location="query"
        ) from None
    except ValueError:
        raise InvalidInput("maxPageSize", "must be an integer", location="query") from None


def _order(sort_by: str | None, sort_dir: str | None) -> canonical.Order:
    if sort_by not in (None, "createdAt", "updatedAt"):
        raise InvalidInput("sortBy", "must be `createdAt` or `updatedAt`", location="query")
    if sort_by == "updatedAt":
        # a valid Extend value with no canonical counterpart: listings order by creation
        raise UnsupportedFeature(
            "sortBy", "only `createdAt` ordering is supported", location="query"
        )
    if sort_dir == "asc":
        return "asc"
    if sort_dir in (None, "desc"):
        return "desc"
    raise InvalidInput("sortDir", "must be `asc` or `desc`", location="query")


def _status_filter(status: str | None) -> canonical.Status | None:
    if status is None or status == "":
        return None
    try:
        return STATUS_TO_CANONICAL[status]
    except KeyError:
        allowed = ", ".join(STATUS_TO_CANONICAL)
        raise InvalidInput("status", f"must be one of {allowed}", location="query") from None
