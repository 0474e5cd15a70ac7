"""One backend's answers against the expected labels: accuracy and per-category scores.

Scored over the documents that have an expected label and that the backend answered; its
failures are counted in the failure rate instead, so the two figures do not overlap.
Pure: stdlib and msgspec only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import msgspec

from gateway.compare.intervals import Proportion, wilson


class CategoryScore(msgspec.Struct, frozen=True, kw_only=True):
    """Precision and recall of one label; None where the denominator is 0."""

    label: str
    expected: int  # documents whose expected label is this one
    predicted: int  # documents the backend gave this label
    correct: int
    precision: float | None  # correct / predicted
    recall: float | None  # correct / expected


class Accuracy(msgspec.Struct, frozen=True, kw_only=True):
    """How often a backend gave the expected label, overall and per category."""

    overall: Proportion | None  # None when no answered document has an expected label
    categories: tuple[CategoryScore, ...]  # over the union of expected and given labels, sorted


def score(pairs: Sequence[tuple[str, str]]) -> Accuracy:
    """Accuracy of (expected, given) label pairs."""
    expected = Counter(e for e, _ in pairs)
    predicted = Counter(g for _, g in pairs)
    correct = Counter(e for e, g in pairs if e == g)
    categories = tuple(
        CategoryScore(
            label=label,
            expected=expected[label],
            predicted=predicted[label],
            correct=correct[label],
            precision=correct[label] / predicted[label] if predicted[label] else None,
            recall=correct[label] / expected[label] if expected[label] else None,
        )
        for label in sorted(expected.keys() | predicted.keys())
    )
    return Accuracy(overall=wilson(sum(correct.values()), len(pairs)), categories=categories)
