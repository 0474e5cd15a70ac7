"""Comparison records for the report's tests: runs, sides and comparisons built literally.

`CATEGORIES` is the caller's category set (keys and names differ, so a test can tell which
one a label was read from); `run`, `side` and `comparison` build the store's records.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.store.comparison_records import ComparisonRecord, ComparisonSource, SideRecord
from mappings import canonical

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CATEGORIES = (
    canonical.Category(key="inv", name="Invoice"),
    canonical.Category(key="rec", name="Receipt"),
    canonical.Category(key="con", name="Contract"),
)


def run(
    run_id: str,
    *,
    key: str | None = None,
    name: str = "",
    confidence: float | None = None,
    credits: float | None = None,
    status: canonical.Status = canonical.Status.completed,
    error: str | None = None,
    reasoning: str = "",
) -> canonical.ClassificationRun:
    """A run that settled on the category (`key`, `name`) when completed."""
    decision = None
    if status is canonical.Status.completed:
        decision = canonical.Decision(
            category_key=key, category_name=name, confidence=confidence, reasoning=reasoning
        )
    return canonical.ClassificationRun(
        id=run_id,
        status=status,
        config=canonical.RunConfig(categories=CATEGORIES),
        created_at=START,
        decision=decision,
        usage=None if credits is None else canonical.Usage(credits=credits),
        error=None if error is None else canonical.RunError(code="failed", message=error),
    )


def side(
    backend: str,
    result: canonical.ClassificationRun | None = None,
    *,
    latency_ms: float | None = 100.0,
    error: str | None = None,
    started_at: datetime = START,
) -> SideRecord:
    """A side started at `started_at`, finished `latency_ms` later (unfinished for None)."""
    finished = None if latency_ms is None else started_at + timedelta(milliseconds=latency_ms)
    return SideRecord(
        backend=backend,
        started_at=started_at,
        upstream_id=None if result is None else result.id,
        finished_at=finished,
        error=error,
        run=result,
    )


def comparison(
    comparison_id: str,
    *sides: SideRecord,
    owner: str = "owner-a",
    document: str | None = None,
    filename: str | None = None,
    expected: str | None = None,
    created_at: datetime = START,
    completed: bool = True,
    source: ComparisonSource = "shadow",
) -> ComparisonRecord:
    """A comparison of `sides` (the first the primary), completed unless told otherwise."""
    return ComparisonRecord(
        id=comparison_id,
        owner=owner,
        source=source,
        document=document or f"hash-{comparison_id}",
        categories=CATEGORIES,
        created_at=created_at,
        sides=sides,
        filename=filename,
        expected=expected,
        completed_at=created_at + timedelta(seconds=1) if completed else None,
    )
