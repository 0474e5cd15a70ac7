"""The comparison report's figures (issue 12, "Report"): a hand-computed case, edge cases and
properties of `gateway.compare.figures.build_report`.

The constructed case: ten documents sent to `extend` (side a) and `local` (side b).

    doc     a (extend)   b (local)    expected
    doc-01  invoice      invoice      invoice
    doc-02  invoice      invoice      invoice
    doc-03  invoice      invoice      invoice
    doc-04  invoice      receipt      receipt     <- disagreement
    doc-05  receipt      receipt      receipt
    doc-06  receipt      receipt      receipt
    doc-07  receipt      invoice      invoice     <- disagreement
    doc-08  contract     contract     contract
    doc-09  invoice      (failed)     invoice
    doc-10  (failed)     receipt      receipt

Compared (both answered): n = 8, agreeing 6, so agreement p_o = 6/8 = 0.75.
Wilson 95 % for 6/8, z = 1.96: centre = (0.75 + z²/16) / (1 + z²/8) = 0.6689,
half = z·sqrt(0.75·0.25/8 + z²/256) / (1 + z²/8) = 0.2596, so [0.4093, 0.9285].
Marginals over the 8: a says invoice 4, receipt 3, contract 1; b says invoice 4, receipt 3,
contract 1. p_e = (4·4 + 3·3 + 1·1) / 64 = 26/64.
kappa = (p_o - p_e) / (1 - p_e) = (48/64 - 26/64) / (38/64) = 22/38 = 11/19 ≈ 0.5789.
Confusion (labels sorted contract, invoice, receipt; rows a, columns b):
    contract [1, 0, 0] / invoice [0, 3, 1] / receipt [0, 1, 2].
Latency, nearest rank over answered documents: a answered doc-01..09 at 100..900 ms, so p50 is
the ceil(0.5·9) = 5th = 500 and p95 the ceil(0.95·9) = 9th = 900 (doc-10's 5000 ms failure is
left out); b answered 10..80 ms and doc-10 at 100 ms: p50 = 5th = 50, p95 = 9th = 100.
Failure rate: 1/10 each. Cost: extend costs $0.01 a credit and used 2 credits on each of the 9
documents that report credits: $0.02 a document, $20 per 1,000; local is unpriced, so free.
Accuracy over answered documents with an expected label: a is right on 7 of 9 (wrong on doc-04
and doc-07); b on 9 of 9, Wilson [1 / (1 + z²/9), 1] = [0.7008, 1].
a per category: invoice expected 5 (01 02 03 07 09), predicted 5 (01 02 03 04 09), correct 4:
precision = recall = 0.8; receipt expected 3, predicted 3, correct 2: 2/3 each; contract 1/1.
"""

from __future__ import annotations

import math

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.compare.agreement import Bucket
from gateway.compare.figures import Report, build_report, percentile
from gateway.compare.intervals import wilson
from gateway.compare.records import Answer, Comparison

ROWS = [
    # document, a label, b label, expected, a confidence, b confidence
    ("doc-01", "invoice", "invoice", "invoice", 1.0, 0.9),
    ("doc-02", "invoice", "invoice", "invoice", 0.95, None),
    ("doc-03", "invoice", "invoice", "invoice", None, None),
    ("doc-04", "invoice", "receipt", "receipt", 0.6, 0.8),
    ("doc-05", "receipt", "receipt", "receipt", 0.8, 0.8),
    ("doc-06", "receipt", "receipt", "receipt", None, 0.5),
    ("doc-07", "receipt", "invoice", "invoice", 0.3, 0.99),
    ("doc-08", "contract", "contract", "contract", None, None),
    ("doc-09", "invoice", None, "invoice", None, None),
    ("doc-10", None, "receipt", "receipt", None, None),
]


def _answer(label: str | None, confidence: float | None, latency: float, credits: float | None):
    if label is None:
        return Answer(label=None, latency_ms=latency, failed=True, error="upstream 503")
    return Answer(label=label, latency_ms=latency, confidence=confidence, credits=credits)


def _case() -> list[Comparison]:
    comparisons = []
    for i, (document, a, b, expected, conf_a, conf_b) in enumerate(ROWS, start=1):
        comparisons.append(
            Comparison(
                document=document,
                a=_answer(a, conf_a, 5000.0 if a is None else 100.0 * i, 2.0),
                b=_answer(b, conf_b, 30000.0 if b is None else 10.0 * i, None),
                expected=expected,
            )
        )
    return comparisons


def _report(comparisons: list[Comparison]) -> Report:
    return build_report(comparisons, a="extend", b="local", usd_per_credit={"extend": 0.01})


def test_agreement_kappa_and_confusion_match_the_hand_computation() -> None:
    """The figures of the docstring's case, computed by hand there."""
    report = _report(_case())
    assert (report.documents, report.compared, report.with_expected) == (10, 8, 10)
    assert report.agreement is not None
    assert (report.agreement.successes, report.agreement.n) == (6, 8)
    assert report.agreement.rate == 0.75
    assert report.agreement.low == pytest.approx(0.4093, abs=1e-4)
    assert report.agreement.high == pytest.approx(0.9285, abs=1e-4)
    assert report.kappa == pytest.approx(11 / 19)
    assert report.confusion.labels == ("contract", "invoice", "receipt")
    assert report.confusion.counts == ((1, 0, 0), (0, 3, 1), (0, 1, 2))
    assert [c.document for c in report.disagreements] == ["doc-04", "doc-07"]
    side_by_side = report.disagreements[0]
    assert (side_by_side.a.label, side_by_side.b.label) == ("invoice", "receipt")


def test_only_the_latest_disagreements_are_listed_with_their_count() -> None:
    """`shown` caps the list at the latest disagreements (input order); the count is all."""
    report = build_report(_case(), a="extend", b="local", shown=1)
    assert report.disagreeing == 2
    assert [c.document for c in report.disagreements] == ["doc-07"]
    assert _report(_case()).disagreeing == 2
    assert build_report(_case(), a="extend", b="local", shown=0).disagreements == ()


def test_latency_failures_and_cost_per_backend() -> None:
    """Nearest-rank p50/p95 over answered documents, failure rate, and cost per 1,000."""
    report = _report(_case())
    a, b = report.a, report.b
    assert (a.name, b.name) == ("extend", "local")
    assert (a.latency_p50_ms, a.latency_p95_ms) == (500.0, 900.0)
    assert (b.latency_p50_ms, b.latency_p95_ms) == (50.0, 100.0)
    assert (a.answered, a.failed, a.failure_rate) == (9, 1, 0.1)
    assert (b.answered, b.failed, b.failure_rate) == (9, 1, 0.1)
    assert a.credits == 18.0  # the failed doc-10 reported none
    assert a.cost_per_1000_usd == pytest.approx(20.0)
    assert (b.credits, b.cost_per_1000_usd) == (0.0, 0.0)  # unpriced: free


def test_accuracy_and_per_category_scores_against_expected_labels() -> None:
    """Accuracy with its Wilson interval, and precision/recall per category."""
    report = _report(_case())
    assert report.a.accuracy is not None
    assert report.b.accuracy is not None
    a, b = report.a.accuracy, report.b.accuracy
    assert a.overall is not None
    assert b.overall is not None
    assert (a.overall.successes, a.overall.n) == (7, 9)
    assert (b.overall.successes, b.overall.n, b.overall.high) == (9, 9, 1.0)
    assert b.overall.low == pytest.approx(0.7008, abs=1e-4)
    scores = {s.label: s for s in a.categories}
    assert list(scores) == ["contract", "invoice", "receipt"]
    assert (scores["invoice"].precision, scores["invoice"].recall) == (0.8, 0.8)
    assert scores["receipt"].precision == pytest.approx(2 / 3)
    assert scores["receipt"].recall == pytest.approx(2 / 3)
    assert (scores["contract"].precision, scores["contract"].recall) == (1.0, 1.0)


def test_calibration_buckets_agreement_by_each_sides_confidence() -> None:
    """Only documents where both sides gave a confidence count; 1.0 is in the last bucket."""
    report = _report(_case())

    def bucket(low: float, high: float, count: int, agreeing: int) -> Bucket:
        rate = agreeing / count if count else None
        return Bucket(low=low, high=high, count=count, agreeing=agreeing, agreement=rate)

    # both gave one on doc-01 (agree), doc-04 (differ), doc-05 (agree), doc-07 (differ)
    assert report.a.calibration == (
        bucket(0.0, 0.5, 1, 0),  # doc-07 at 0.3
        bucket(0.5, 0.7, 1, 0),  # doc-04 at 0.6
        bucket(0.7, 0.9, 1, 1),  # doc-05 at 0.8
        bucket(0.9, 1.0, 1, 1),  # doc-01 at 1.0
    )
    assert report.b.calibration == (
        bucket(0.0, 0.5, 0, 0),
        bucket(0.5, 0.7, 0, 0),  # doc-06's 0.5 has no partner confidence
        bucket(0.7, 0.9, 2, 1),  # doc-04, doc-05 at 0.8
        bucket(0.9, 1.0, 2, 1),  # doc-01 at 0.9, doc-07 at 0.99
    )


def test_the_report_round_trips_through_json_without_nan() -> None:
    """A Report encodes with msgspec.json and decodes back equal; no NaN or Infinity."""
    for comparisons in (_case(), []):
        report = _report(comparisons)
        encoded = msgspec.json.encode(report)
        assert msgspec.json.decode(encoded, type=Report) == report
        assert b"NaN" not in encoded
        assert b"Infinity" not in encoded


def test_no_comparisons_give_no_figures_rather_than_nan() -> None:
    """Empty input: every rate is None, the matrix is empty, nothing divides by zero."""
    report = build_report([], a="retab", b="extend", usd_per_credit={"retab": 0.01})
    assert (report.documents, report.compared, report.agreement, report.kappa) == (0, 0, None, None)
    assert (report.confusion.labels, report.confusion.counts) == ((), ())
    assert report.disagreements == ()
    for side in (report.a, report.b):
        assert (side.failure_rate, side.latency_p50_ms, side.latency_p95_ms) == (None, None, None)
        assert (side.cost_per_1000_usd, side.accuracy) == (None, None)
        assert all(bucket.count == 0 and bucket.agreement is None for bucket in side.calibration)


def test_all_failures_leave_nothing_compared() -> None:
    """When every answer failed: failure rate 1, no agreement, kappa or latency."""
    failed = Answer(label=None, latency_ms=10.0, failed=True, error="timeout")
    comparisons = [Comparison(document=f"d{i}", a=failed, b=failed, expected="x") for i in range(3)]
    report = build_report(comparisons, a="retab", b="extend")
    assert (report.compared, report.agreement, report.kappa) == (0, None, None)
    assert (report.a.failure_rate, report.b.failure_rate) == (1.0, 1.0)
    assert report.a.latency_p50_ms is None
    assert report.a.accuracy is not None
    assert (report.a.accuracy.overall, report.a.accuracy.categories) == (None, ())


def _pairs(labels: list[tuple[str, str]]) -> list[Comparison]:
    return [
        Comparison(
            document=f"d{i}",
            a=Answer(label=a, latency_ms=1.0),
            b=Answer(label=b, latency_ms=1.0),
        )
        for i, (a, b) in enumerate(labels)
    ]


def test_one_category_on_both_sides_is_perfect_agreement() -> None:
    """p_e = 1 (both said one label every time) makes kappa 0/0: defined as 1.0."""
    report = build_report(_pairs([("x", "x")] * 5), a="a", b="b")
    assert report.kappa == 1.0
    assert report.agreement is not None
    assert report.agreement.rate == 1.0
    assert report.confusion.counts == ((5,),)


def test_one_side_with_one_category_has_kappa_zero() -> None:
    """A side that always says the same label agrees no better than chance: kappa 0."""
    report = build_report(_pairs([("x", "x"), ("x", "x"), ("x", "y")]), a="a", b="b")
    assert report.kappa == 0.0
    assert report.confusion.counts == ((2, 1), (0, 0))


def test_missing_confidences_leave_calibration_empty() -> None:
    """Without confidences there is nothing to calibrate, but the other figures stand."""
    report = build_report(_pairs([("x", "x"), ("x", "y")]), a="a", b="b")
    assert [bucket.count for bucket in report.a.calibration] == [0, 0, 0, 0]
    assert report.agreement is not None
    assert report.agreement.rate == 0.5


def test_missing_costs() -> None:
    """Priced without any credits reported: unknown (None). Unpriced: free. Some credits
    missing: the mean over the answers that reported them."""
    credited = [Answer(label="x", latency_ms=1.0, credits=c) for c in (None, 1.0, 3.0)]
    bare = Answer(label="x", latency_ms=1.0)
    comparisons = [Comparison(document=f"d{i}", a=a, b=bare) for i, a in enumerate(credited)]
    prices = {"retab": 0.5, "extend": 0.25}
    report = build_report(comparisons, a="retab", b="extend", usd_per_credit=prices)
    assert report.a.cost_per_1000_usd == pytest.approx(0.5 * 2.0 * 1000)
    assert report.b.cost_per_1000_usd is None
    free = build_report(comparisons, a="retab", b="local", usd_per_credit=prices)
    assert free.b.cost_per_1000_usd == 0.0


def test_a_category_never_predicted_has_no_precision() -> None:
    """Precision or recall with a zero denominator is None, not NaN or 0."""
    comparisons = [
        Comparison(
            document="d",
            a=Answer(label="invoice", latency_ms=1.0),
            b=Answer(label="invoice", latency_ms=1.0),
            expected="memo",
        )
    ]
    accuracy = build_report(comparisons, a="a", b="b").a.accuracy
    assert accuracy is not None
    scores = {s.label: (s.precision, s.recall) for s in accuracy.categories}
    assert scores == {"invoice": (0.0, None), "memo": (None, 0.0)}


def test_percentile_is_nearest_rank() -> None:
    """One of the values, never interpolated."""
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 95) == 4.0
    assert percentile([7.0], 50) == 7.0
    assert percentile([], 50) is None


LABELS = st.sampled_from(["invoice", "receipt", "contract"])
ANSWERS = st.builds(
    Answer,
    label=st.none() | LABELS,
    latency_ms=st.floats(min_value=0, max_value=1e6),
    confidence=st.none() | st.floats(min_value=0, max_value=1),
    credits=st.none() | st.floats(min_value=0, max_value=100),
    failed=st.booleans(),
)
COMPARISONS = st.lists(
    st.builds(
        Comparison,
        document=st.text(max_size=8),
        a=ANSWERS,
        b=ANSWERS,
        expected=st.none() | LABELS,
    ),
    max_size=40,
)


@given(COMPARISONS)
def test_figures_stay_in_range(comparisons: list[Comparison]) -> None:
    """Agreement in [0, 1] inside its interval, kappa in [-1, 1], the matrix sums to n."""
    report = build_report(comparisons, a="a", b="b", usd_per_credit={"a": 0.01})
    both = sum(1 for c in comparisons if c.a.answered and c.b.answered)
    assert report.compared == both
    assert sum(map(sum, report.confusion.counts)) == both
    if report.agreement is None:
        assert both == 0
        assert report.kappa is None
    else:
        assert 0 <= report.agreement.low <= report.agreement.rate <= report.agreement.high <= 1
    if report.kappa is not None:
        assert not math.isnan(report.kappa)
        assert -1 <= report.kappa <= 1
    assert msgspec.json.decode(msgspec.json.encode(report), type=Report) == report


@given(COMPARISONS)
def test_swapping_the_sides_transposes_the_matrix(comparisons: list[Comparison]) -> None:
    """a ↔ b: the matrix is transposed, agreement and kappa are unchanged, sides exchanged."""
    prices = {"a": 0.01, "b": 0.02}
    report = build_report(comparisons, a="a", b="b", usd_per_credit=prices)
    swapped = build_report([c.swapped() for c in comparisons], a="b", b="a", usd_per_credit=prices)
    assert swapped.confusion.labels == report.confusion.labels
    assert swapped.confusion.counts == tuple(zip(*report.confusion.counts, strict=True))
    assert swapped.agreement == report.agreement
    assert swapped.kappa == report.kappa
    assert (swapped.a, swapped.b) == (report.b, report.a)


@given(
    st.integers(min_value=1, max_value=100_000).flatmap(
        lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
    )
)
def test_the_wilson_interval_contains_the_estimate(case: tuple[int, int]) -> None:
    """For any count, low ≤ rate ≤ high within [0, 1]."""
    successes, n = case
    proportion = wilson(successes, n)
    assert proportion is not None
    assert 0 <= proportion.low <= proportion.rate <= proportion.high <= 1
    assert proportion.rate == successes / n


def test_wilson_refuses_impossible_counts() -> None:
    """More successes than trials is a caller's bug, not a figure; n = 0 has no interval."""
    with pytest.raises(ValueError, match="successes"):
        wilson(3, 2)
    assert wilson(0, 0) is None
