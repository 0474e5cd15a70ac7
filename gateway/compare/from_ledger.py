"""The report's inputs read from the ledger's comparisons: each side's run as an `Answer` in
the caller's category keys, and the pair of backends a report compares.

A side's label is its decision read back into the categories the caller sent: the category
whose key (else name) the decision names, by key first, then by name; a label no category
matches is kept as the backend gave it, so a backend answering outside the caller's set
still shows as a disagreement. Pure: stdlib, msgspec and the store's records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from gateway.compare.records import Answer, Comparison
from gateway.store.comparison_records import ComparisonRecord, SideRecord
from mappings import canonical


def label_of(decision: canonical.Decision, categories: Sequence[canonical.Category]) -> str:
    """The caller's key for the category `decision` names."""
    if decision.category_key is not None:
        for category in categories:
            if category.key is not None and category.key == decision.category_key:
                return category.key
    for category in categories:
        if category.name == decision.category_name:
            return category.key if category.key is not None else category.name
    return decision.category_key if decision.category_key is not None else decision.category_name


def answer_of(side: SideRecord, categories: Sequence[canonical.Category]) -> Answer:
    """One finished side as the report reads it."""
    latency = 0.0
    if side.finished_at is not None:
        latency = max(0.0, (side.finished_at - side.started_at).total_seconds() * 1000.0)
    run = side.run
    if run is None:
        return Answer(label=None, latency_ms=latency, failed=True, error=side.error or "no run")
    credits = None if run.usage is None else run.usage.credits
    if run.status is not canonical.Status.completed or run.decision is None:
        error = run.error.message if run.error is not None else f"run {run.status.value}"
        return Answer(label=None, latency_ms=latency, credits=credits, failed=True, error=error)
    decision = run.decision
    return Answer(
        label=label_of(decision, categories),
        latency_ms=latency,
        confidence=decision.confidence,
        credits=credits,
        reasoning=decision.reasoning or None,
    )


def comparison_of(record: ComparisonRecord, a: str, b: str) -> Comparison | None:
    """The completed `record` as a comparison of backend `a` with `b`; None when it is not
    completed or lacks either side."""
    if not record.completed:
        return None
    sides = {side.backend: side for side in record.sides}
    if a not in sides or b not in sides:
        return None
    return Comparison(
        document=record.filename or record.document,
        a=answer_of(sides[a], record.categories),
        b=answer_of(sides[b], record.categories),
        expected=record.expected,
    )


def comparisons_of(records: Iterable[ComparisonRecord], a: str, b: str) -> list[Comparison]:
    """Every completed record with sides `a` and `b`, as comparisons of the two."""
    pairs = (comparison_of(record, a, b) for record in records)
    return [pair for pair in pairs if pair is not None]


def usual_pair(records: Iterable[ComparisonRecord]) -> tuple[str, str] | None:
    """The two backends most completed comparisons share, the primary side first (a shadow's
    client backend, a replay's first); ties go to the pair first seen. None without any."""
    completed = (record for record in records if record.completed)
    return usual_pair_of(tuple(side.backend for side in record.sides) for record in completed)


def usual_pair_of(backends: Iterable[Sequence[str]]) -> tuple[str, str] | None:
    """`usual_pair` of completed comparisons given as their sides' backends, in order."""
    counted: Counter[tuple[str, str]] = Counter()
    for names in backends:
        for other in names[1:]:
            counted[(names[0], other)] += 1
    if not counted:
        return None
    return counted.most_common(1)[0][0]
