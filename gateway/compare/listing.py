"""Recorded comparisons as `GET /crosswalk/comparisons` lists them: each comparison with
each backend's side (its status, its label in the caller's category keys, confidence, latency,
credits and error) and a link to the report of its backends.

Field names are crosswalk's own (neither vendor has comparisons); times are ISO 8601 in UTC.
Pure: stdlib, msgspec, the store's records and the report's pure modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal
from urllib.parse import urlencode

import msgspec

from gateway.compare.from_ledger import label_of
from gateway.store.comparison_records import ComparisonRecord, ComparisonSource, SideRecord
from mappings import canonical

REPORT_PATH = "/crosswalk/report"


class SideView(msgspec.Struct, frozen=True, kw_only=True):
    """One backend's side: `status` is its run's, "pending" before the backend answered,
    "failed" when it failed before making a run."""

    backend: str
    status: canonical.Status
    label: str | None  # the caller's category key (else the backend's own label)
    confidence: float | None
    latency_ms: float | None  # None until the side is finished
    credits: float | None
    error: str | None


class ComparisonView(msgspec.Struct, frozen=True, kw_only=True):
    """One comparison; `status` is "completed" once every side is finished."""

    object: Literal["comparison"] = "comparison"
    id: str
    source: ComparisonSource
    status: Literal["pending", "completed"]
    document: str
    filename: str | None
    expected: str | None
    created_at: datetime
    completed_at: datetime | None
    sides: tuple[SideView, ...]
    report: str | None  # the report of its first two sides' backends


class ComparisonList(msgspec.Struct, frozen=True, kw_only=True):
    """A page of comparisons, oldest first; `next` is the `after` of the following page."""

    object: Literal["list"] = "list"
    data: tuple[ComparisonView, ...]
    has_more: bool
    next: str | None


def list_of(records: Sequence[ComparisonRecord], next_after: int | None) -> ComparisonList:
    """A page of `records`; `next_after` is the next page's cursor, None on the last page."""
    return ComparisonList(
        data=tuple(view_of(record) for record in records),
        has_more=next_after is not None,
        next=None if next_after is None else str(next_after),
    )


def view_of(record: ComparisonRecord) -> ComparisonView:
    """One comparison as listed."""
    backends = [side.backend for side in record.sides]
    report = None
    if len(backends) >= 2:
        report = f"{REPORT_PATH}?{urlencode({'backends': ','.join(backends[:2])}, safe=',')}"
    return ComparisonView(
        id=record.id,
        source=record.source,
        status="completed" if record.completed else "pending",
        document=record.document,
        filename=record.filename,
        expected=record.expected,
        created_at=record.created_at,
        completed_at=record.completed_at,
        sides=tuple(side_of(side, record.categories) for side in record.sides),
        report=report,
    )


def side_of(side: SideRecord, categories: Sequence[canonical.Category]) -> SideView:
    """One side as listed, its label read back into the caller's categories."""
    run = side.run
    latency = None
    if side.finished_at is not None:
        latency = max(0.0, (side.finished_at - side.started_at).total_seconds() * 1000.0)
    decision = run.decision if run is not None else None
    error = side.error
    if error is None and run is not None and run.error is not None:
        error = run.error.message
    return SideView(
        backend=side.backend,
        status=_status(side),
        label=label_of(decision, categories) if decision is not None else None,
        confidence=decision.confidence if decision is not None else None,
        latency_ms=latency,
        credits=run.usage.credits if run is not None and run.usage is not None else None,
        error=error,
    )


def _status(side: SideRecord) -> canonical.Status:
    if side.run is not None:
        return side.run.status
    return canonical.Status.failed if side.finished else canonical.Status.pending
