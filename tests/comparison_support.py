"""Comparison records for the report's tests: runs, sides and comparisons built literally.

`CATEGORIES` is the caller's category set (keys and names differ, so a test can tell which
one a label was read from); `run`, `side` and `comparison` build the store's records, and
`store` records one in a real ledger as the shadow would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from gateway.store.comparison_records import ComparisonRecord, ComparisonSource, SideRecord
from gateway.store.records import new_record
from gateway.store.sqlite import SqliteLedger
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


async def store(ledger: SqliteLedger, record: ComparisonRecord) -> ComparisonRecord:
    """Record `record` as a shadow does: the primary's run first (the client's), then the
    comparison, then each other side's run made for it, or its failure before any run. Each
    side finishes when its run, saved terminal, was last updated: `latency_ms` after it
    started."""
    primary, *others = record.sides
    await _insert_run(ledger, record, primary, comparison=None)
    bare = tuple(
        msgspec.structs.replace(
            s,
            finished_at=None,
            error=None,
            run=None,
            upstream_id=s.upstream_id if s is primary else None,
        )
        for s in record.sides
    )
    await ledger.insert_comparison(msgspec.structs.replace(record, sides=bare, completed_at=None))
    for other in others:
        if other.run is not None:
            await _insert_run(ledger, record, other, comparison=record.id)
        elif other.error is not None and other.finished_at is not None:
            await ledger.fail_side(record.id, other.backend, other.error, other.finished_at)
    stored = await ledger.get_comparison(record.owner, record.id)
    assert stored is not None
    return stored


async def _insert_run(
    ledger: SqliteLedger, record: ComparisonRecord, side: SideRecord, *, comparison: str | None
) -> None:
    assert side.run is not None
    now = side.finished_at or side.started_at
    await ledger.insert(
        new_record(
            side.backend,
            side.run,
            None,
            surface="extend",
            owner=record.owner,
            now=now,
            comparison=comparison,
        )
    )
