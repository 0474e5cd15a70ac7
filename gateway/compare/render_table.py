"""The comparison report as a plain-text table, for `crosswalk compare --format table`.

Fixed-width columns, no colour codes: the text reads the same in a terminal, a log or a file.
Sections: the headline figures, one row per backend, the confusion matrix, the calibration
buckets, per-category precision/recall when expected labels exist, and the first disagreements.
Pure: stdlib and msgspec only; the caller prints the returned text.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.compare import formats, rows
from gateway.compare.figures import Report
from gateway.compare.records import Answer

DISAGREEMENTS_SHOWN = 10


def render_table(report: Report, *, disagreements: int = DISAGREEMENTS_SHOWN) -> str:
    """The report as text; at most `disagreements` disagreeing documents are listed."""
    sections = [
        _headline(report),
        _backends(report),
        _confusion(report),
        _calibration(report),
        *_categories(report),
        _disagreements(report, disagreements),
    ]
    return "\n\n".join(sections) + "\n"


def grid(header: Sequence[str], body: Sequence[Sequence[str]], *, right_from: int = 1) -> str:
    """Columns padded to their widest cell; columns from `right_from` on align right."""
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.rjust(width) if i >= right_from else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in body)])


def _headline(report: Report) -> str:
    lines = [
        f"Comparison: {report.a.name} (a) vs {report.b.name} (b)",
        f"Documents: {report.documents}, compared (both answered): {report.compared}, "
        f"with an expected label: {report.with_expected}",
        f"Agreement: {formats.proportion(report.agreement)}",
        f"Cohen's kappa: {formats.number(report.kappa)}",
    ]
    if report.documents == 0:
        lines.insert(1, formats.NO_COMPARISONS)
    if report.cut is not None:
        lines.insert(1, formats.cut(report.cut.latest, report.cut.recorded))
    return "\n".join(lines)


def _backends(report: Report) -> str:
    return "Backends\n" + grid(*rows.backends(report))


def _confusion(report: Report) -> str:
    title = f"Confusion matrix (rows: {report.a.name}, columns: {report.b.name})"
    labels = report.confusion.labels
    if not labels:
        return f"{title}\n(no document answered by both)"
    matrix = [
        [label, *(str(count) for count in counts)]
        for label, counts in zip(labels, report.confusion.counts, strict=True)
    ]
    return f"{title}\n" + grid([f"{report.a.name} \\ {report.b.name}", *labels], matrix)


def _calibration(report: Report) -> str:
    return "Calibration: agreement by each side's confidence\n" + grid(*rows.calibration(report))


def _categories(report: Report) -> list[str]:
    """Per-category precision/recall of each backend with expected labels; none without."""
    return [
        f"Per category: {side.name}\n" + grid(*rows.categories(side.accuracy))
        for side in (report.a, report.b)
        if side.accuracy is not None and side.accuracy.categories
    ]


def _disagreements(report: Report, limit: int) -> str:
    total = report.disagreeing
    shown = report.disagreements[: max(limit, 0)]
    title = f"Disagreements: {total}"
    if len(shown) < total:
        latest = len(report.disagreements)
        within = f" of the latest {latest}" if latest < total else ""
        title += f" (first {len(shown)}{within} shown)"
    if not shown:
        return title
    header = ["document", report.a.name, report.b.name, "expected"]
    listed = [
        [c.document, _answer(c.a), _answer(c.b), c.expected or formats.MISSING] for c in shown
    ]
    return f"{title}\n" + grid(header, listed, right_from=len(header))


def _answer(answer: Answer) -> str:
    label = answer.label or formats.MISSING
    if answer.confidence is None:
        return label
    return f"{label} ({formats.confidence(answer.confidence)})"
