"""How far two backends agree: the confusion matrix, Cohen's kappa and calibration buckets.

Every figure here is over the documents both backends answered (`Answer.answered`); a failure
on either side is counted in the failure rate, not as a disagreement. Counts are integers and
kappa is computed from them exactly, so swapping the sides gives the same kappa to the last bit.
Pure: stdlib and msgspec only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import msgspec

from gateway.compare.records import Answer, Comparison


class Confusion(msgspec.Struct, frozen=True, kw_only=True):
    """Counts of (a's label, b's label): rows are a's labels, columns b's, both `labels`."""

    labels: tuple[str, ...]  # the union of both sides' labels, sorted
    counts: tuple[tuple[int, ...], ...]


class Bucket(msgspec.Struct, frozen=True, kw_only=True):
    """The documents whose confidence falls in [low, high) (the last bucket includes 1.0)."""

    low: float
    high: float
    count: int
    agreeing: int
    agreement: float | None  # agreeing / count; None for an empty bucket


# confidence bucket edges; a confidence outside [0, 1] counts in the nearest end bucket
BUCKET_EDGES = (0.0, 0.5, 0.7, 0.9, 1.0)


def answered_pairs(comparisons: Sequence[Comparison]) -> list[tuple[str, str]]:
    """(a's label, b's label) of every document both sides answered."""
    return [
        (c.a.label, c.b.label)
        for c in comparisons
        if c.a.answered and c.b.answered and c.a.label is not None and c.b.label is not None
    ]


def confusion_matrix(pairs: Sequence[tuple[str, str]]) -> Confusion:
    """The matrix of `pairs` over the sorted union of labels."""
    labels = tuple(sorted({label for pair in pairs for label in pair}))
    cells = Counter(pairs)
    counts = tuple(tuple(cells[(row, col)] for col in labels) for row in labels)
    return Confusion(labels=labels, counts=counts)


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Cohen's kappa of `pairs`; None when there are none.

    kappa = (p_o - p_e) / (1 - p_e), computed as (n·agree - Σ r_k·c_k) / (n² - Σ r_k·c_k) with
    r_k, c_k the times a and b said label k. When p_e = 1 both sides said one and the same
    label every time, so agreement is perfect too and the ratio is 0/0: kappa is then defined
    as 1.0 (perfect agreement), the usual convention. Never NaN, never a division by zero.
    """
    n = len(pairs)
    if n == 0:
        return None
    agree = sum(1 for a, b in pairs if a == b)
    rows = Counter(a for a, _ in pairs)
    cols = Counter(b for _, b in pairs)
    chance = sum(rows[label] * cols[label] for label in rows)
    if chance == n * n:
        return 1.0
    return (n * agree - chance) / (n * n - chance)


def calibration(
    comparisons: Sequence[Comparison], side: Callable[[Comparison], Answer]
) -> tuple[Bucket, ...]:
    """Agreement by the confidence of `side`, over documents both answered with a confidence."""
    counts = [0] * (len(BUCKET_EDGES) - 1)
    agreeing = [0] * len(counts)
    for c in comparisons:
        if not (c.a.answered and c.b.answered):
            continue
        confidence = side(c).confidence
        if confidence is None or c.a.confidence is None or c.b.confidence is None:
            continue
        index = _bucket_index(confidence)
        counts[index] += 1
        agreeing[index] += c.a.label == c.b.label
    return tuple(
        Bucket(
            low=BUCKET_EDGES[i],
            high=BUCKET_EDGES[i + 1],
            count=counts[i],
            agreeing=agreeing[i],
            agreement=agreeing[i] / counts[i] if counts[i] else None,
        )
        for i in range(len(counts))
    )


def _bucket_index(confidence: float) -> int:
    inner = BUCKET_EDGES[1:-1]
    return sum(1 for edge in inner if confidence >= edge)
