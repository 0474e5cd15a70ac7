"""The report's tables as rows of formatted text, shared by the text table and the HTML page.

Each function returns plain strings (header, then rows); the renderer lays them out and, for
HTML, escapes them. Pure: stdlib and msgspec only.
"""

from __future__ import annotations

from gateway.compare import formats
from gateway.compare.accuracy import Accuracy
from gateway.compare.figures import BackendFigures, Report

Rows = list[list[str]]


def backends(report: Report) -> tuple[list[str], Rows]:
    """One row per backend: documents, failures, latency, cost, and accuracy when known."""
    header = ["backend", "documents", "failed", "failure rate", "p50", "p95", "cost / 1,000"]
    with_accuracy = report.with_expected > 0
    if with_accuracy:
        header.append("accuracy")
    return header, [_backend(side, with_accuracy) for side in (report.a, report.b)]


def _backend(side: BackendFigures, with_accuracy: bool) -> list[str]:
    row = [
        side.name,
        str(side.documents),
        str(side.failed),
        formats.percent(side.failure_rate),
        formats.milliseconds(side.latency_p50_ms),
        formats.milliseconds(side.latency_p95_ms),
        formats.usd(side.cost_per_1000_usd),
    ]
    if with_accuracy:
        overall = side.accuracy.overall if side.accuracy is not None else None
        row.append(formats.proportion(overall))
    return row


def calibration(report: Report) -> tuple[list[str], Rows]:
    """One row per confidence bucket: each side's document count and agreement in it."""
    header = ["confidence"]
    for side in (report.a, report.b):
        header += [f"{side.name} n", f"{side.name} agreement"]
    buckets = list(zip(report.a.calibration, report.b.calibration, strict=True))
    rows = []
    for i, (bucket_a, bucket_b) in enumerate(buckets):
        row = [formats.bucket(bucket_a.low, bucket_a.high, last=i == len(buckets) - 1)]
        for bucket in (bucket_a, bucket_b):
            row += [str(bucket.count), formats.percent(bucket.agreement)]
        rows.append(row)
    return header, rows


def categories(accuracy: Accuracy) -> tuple[list[str], Rows]:
    """One row per category: expected, predicted and correct counts, precision and recall."""
    header = ["category", "expected", "predicted", "correct", "precision", "recall"]
    rows = [
        [
            score.label,
            str(score.expected),
            str(score.predicted),
            str(score.correct),
            formats.percent(score.precision),
            formats.percent(score.recall),
        ]
        for score in accuracy.categories
    ]
    return header, rows
