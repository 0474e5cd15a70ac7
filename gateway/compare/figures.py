"""The comparison report's figures, computed from recorded comparisons of two backends.

`build_report` turns a sequence of `Comparison` records into a `Report`: label agreement with
its 95 % Wilson interval, Cohen's kappa, the confusion matrix, each backend's latency, failure
rate, cost and calibration, the disagreeing documents, and accuracy when expected labels are
known. The disagreements listed are the latest `shown` (200) of them, with their count: a
report of many documents stays a page a person can read. Every figure that has no data is
None, never NaN; a `Report` encodes with `msgspec.json`. Pure: stdlib and msgspec only; the
renderers and the ledger build on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import msgspec

from gateway.compare import accuracy, agreement
from gateway.compare.accuracy import Accuracy
from gateway.compare.agreement import Bucket, Confusion
from gateway.compare.intervals import Proportion, wilson
from gateway.compare.records import Answer, Comparison


class BackendFigures(msgspec.Struct, frozen=True, kw_only=True):
    """One backend's side of the report."""

    name: str
    documents: int
    answered: int
    failed: int  # documents without a label: failed, or answered with none
    failure_rate: float | None  # failed / documents; None without documents
    latency_p50_ms: float | None  # nearest-rank percentiles over the answered documents
    latency_p95_ms: float | None
    credits: float  # the credits reported, summed
    cost_per_1000_usd: float | None  # None when priced but no answer reported its credits
    calibration: tuple[Bucket, ...]
    accuracy: Accuracy | None  # None when no document has an expected label


DISAGREEMENTS = 200  # disagreeing documents a report lists: the latest ones


class Cut(msgspec.Struct, frozen=True, kw_only=True):
    """A report of only the latest comparisons recorded: `latest` of `recorded`."""

    latest: int
    recorded: int


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the comparison report shows about backends `a` and `b`."""

    a: BackendFigures
    b: BackendFigures
    documents: int
    compared: int  # documents both backends answered
    agreement: Proportion | None  # same label, over the compared documents
    kappa: float | None
    confusion: Confusion
    # the latest compared documents with different labels (at most `shown`), by document
    disagreements: tuple[Comparison, ...]
    disagreeing: int  # how many documents disagree, listed or not
    with_expected: int  # documents with an expected label
    cut: Cut | None = None  # set when the documents are only the latest recorded


def build_report(
    comparisons: Sequence[Comparison],
    *,
    a: str,
    b: str,
    usd_per_credit: Mapping[str, float] | None = None,
    shown: int = DISAGREEMENTS,
) -> Report:
    """The report of `comparisons` (oldest first) between backend `a` and backend `b`.

    `usd_per_credit` prices each backend's credits; a backend absent from it is free. The
    last `shown` disagreements are listed.
    """
    prices = usd_per_credit or {}
    pairs = agreement.answered_pairs(comparisons)
    agreeing = sum(1 for la, lb in pairs if la == lb)
    disagreeing = [
        c for c in comparisons if c.a.answered and c.b.answered and c.a.label != c.b.label
    ]
    latest = disagreeing[len(disagreeing) - max(shown, 0) :]
    disagreements = tuple(sorted(latest, key=lambda c: c.document))
    return Report(
        a=_backend(comparisons, a, lambda c: c.a, prices.get(a)),
        b=_backend(comparisons, b, lambda c: c.b, prices.get(b)),
        documents=len(comparisons),
        compared=len(pairs),
        agreement=wilson(agreeing, len(pairs)),
        kappa=agreement.cohen_kappa(pairs),
        confusion=agreement.confusion_matrix(pairs),
        disagreements=disagreements,
        disagreeing=len(disagreeing),
        with_expected=sum(1 for c in comparisons if c.expected is not None),
    )


def percentile(values: Sequence[float], p: int) -> float | None:
    """The nearest-rank p-th percentile: the smallest value with at least p % at or below it.

    Always one of `values` (no interpolation); None when there are none.
    """
    if not values:
        return None
    rank = max(1, -(-p * len(values) // 100))  # ceil(p·n / 100), in integers
    return sorted(values)[rank - 1]


def _backend(
    comparisons: Sequence[Comparison],
    name: str,
    side: Callable[[Comparison], Answer],
    price: float | None,
) -> BackendFigures:
    answers = [side(c) for c in comparisons]
    latencies = [answer.latency_ms for answer in answers if answer.answered]
    documents = len(answers)
    failed = documents - len(latencies)
    return BackendFigures(
        name=name,
        documents=documents,
        answered=len(latencies),
        failed=failed,
        failure_rate=failed / documents if documents else None,
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        credits=sum(answer.credits for answer in answers if answer.credits is not None),
        cost_per_1000_usd=_cost_per_1000(answers, price),
        calibration=agreement.calibration(comparisons, side),
        accuracy=_accuracy(comparisons, side),
    )


def _cost_per_1000(answers: Sequence[Answer], price: float | None) -> float | None:
    """USD per 1,000 documents: the mean priced credits of the answers that report credits.

    A backend without a price is free (0.0, like `local`). None when there are no documents,
    or when the backend is priced but no answer said what it used.
    """
    if not answers:
        return None
    if price is None:
        return 0.0
    known = [answer.credits for answer in answers if answer.credits is not None]
    if not known:
        return None
    return price * sum(known) / len(known) * 1000


def _accuracy(
    comparisons: Sequence[Comparison], side: Callable[[Comparison], Answer]
) -> Accuracy | None:
    if all(c.expected is None for c in comparisons):
        return None
    pairs = [
        (c.expected, label)
        for c in comparisons
        if c.expected is not None and side(c).answered and (label := side(c).label) is not None
    ]
    return accuracy.score(pairs)
