"""The comparison report as one self-contained HTML page, for `GET /crosswalk/report`.

No external asset and no JavaScript: the CSS is inline, the confusion matrix is a heat-map
<table> (each cell's background deepens with its count, the count printed in it), latency and
cost are inline SVG bar charts, and the disagreeing documents show both answers side by side.
Every string that comes from data (backend names, labels, document keys, reasoning, errors) is
HTML-escaped, so a label such as "<script>" is shown, never run. The title and the "generated
at" time come from the caller: nothing here reads the clock. Pure: stdlib and msgspec only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from gateway.compare import formats, rows
from gateway.compare.accuracy import Accuracy
from gateway.compare.charts import Group, Series, bar_chart
from gateway.compare.figures import Report
from gateway.compare.records import Answer, Comparison

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; color: #1f2933; margin: 2rem auto;
  max-width: 72rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.generated { color: #616e7c; margin-top: .2rem; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid #cbd2d9; padding: .3rem .6rem; text-align: right; }
th:first-child, td.label { text-align: left; }
#confusion-matrix td.cell { min-width: 3.5rem; text-align: center; font-weight: 600; }
#confusion-matrix td.dark { color: #fff; }
#confusion-matrix td.agree { outline: 2px solid #1f2933; outline-offset: -2px; }
dl.headline { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dl.headline dt { font-weight: 600; } dl.headline dd { margin: 0; }
svg.chart text { font: 12px system-ui, sans-serif; fill: #1f2933; }
ol.disagreements { padding-left: 1.2rem; }
li.disagreement { margin-bottom: 1rem; }
.side-by-side { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.answer { border: 1px solid #cbd2d9; border-radius: 4px; padding: .5rem .8rem; }
.answer .backend { font-weight: 600; } .answer .reasoning { white-space: pre-wrap; }
.empty { color: #616e7c; font-style: italic; }
"""

LATENCY_SERIES = (Series(name="p50", colour="#2563eb"), Series(name="p95", colour="#93c5fd"))
COST_SERIES = (Series(name="cost", colour="#059669"),)


def render_html(report: Report, *, title: str, generated_at: datetime) -> str:
    """The whole page: `title` as its heading, stamped with the caller's `generated_at`."""
    sections = [
        _headline(report),
        _backends(report),
        _confusion(report),
        _charts(report),
        _calibration(report),
        *(
            _categories(side.name, side.accuracy)
            for side in (report.a, report.b)
            if side.accuracy is not None
        ),
        _disagreements(report),
    ]
    stamp = generated_at.isoformat(timespec="seconds")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            '<head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title>",
            f"<style>{STYLE}</style></head>",
            "<body>",
            f"<h1>{escape(title)}</h1>",
            f'<p class="generated">Generated at <time datetime="{escape(stamp)}">'
            f"{escape(stamp)}</time></p>",
            *sections,
            "</body></html>",
            "",
        ]
    )


def table(
    table_id: str, header: Sequence[str], body: Sequence[Sequence[str]], *, caption: str = ""
) -> str:
    """A <table>; `header` and `rows` are plain text, escaped here (the first column a label)."""
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    cells = "".join(
        f'<tr><td class="label">{escape(row[0])}</td>'
        + "".join(f"<td>{escape(cell)}</td>" for cell in row[1:])
        + "</tr>"
        for row in body
    )
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return wrap_table(table_id, f"{cap}<thead><tr>{head}</tr></thead><tbody>{cells}</tbody>")


def wrap_table(table_id: str, inner: str) -> str:
    """A <table> with id `table_id` around already-escaped rows."""
    return f'<table id="{escape(table_id)}">{inner}</table>'


def _headline(report: Report) -> str:
    items = [
        ("Backends", f"{report.a.name} (a) vs {report.b.name} (b)"),
        ("Documents", str(report.documents)),
        ("Compared (both answered)", str(report.compared)),
        ("With an expected label", str(report.with_expected)),
        ("Agreement", formats.proportion(report.agreement)),
        ("Cohen's kappa", formats.number(report.kappa)),
    ]
    body = "".join(f"<dt>{escape(name)}</dt><dd>{escape(value)}</dd>" for name, value in items)
    notice = (
        f'<p class="empty" id="no-comparisons">{escape(formats.NO_COMPARISONS)}</p>'
        if report.documents == 0
        else ""
    )
    if report.cut is not None:
        covered = formats.cut(report.cut.latest, report.cut.recorded)
        notice += f'<p class="empty" id="cut">{escape(covered)}</p>'
    return f'<section id="headline">{notice}<dl class="headline">{body}</dl></section>'


def _backends(report: Report) -> str:
    return f"<section><h2>Backends</h2>{table('backends', *rows.backends(report))}</section>"


def _confusion(report: Report) -> str:
    labels = report.confusion.labels
    heading = (
        f"<h2>Confusion matrix</h2><p>Rows: what {escape(report.a.name)} said; columns: what "
        f"{escape(report.b.name)} said. Darker cells hold more documents.</p>"
    )
    if not labels:
        empty = '<p class="empty">No document was answered by both backends.</p>'
        return f'<section>{heading}<table id="confusion-matrix"></table>{empty}</section>'
    largest = max((count for row in report.confusion.counts for count in row), default=0) or 1
    corner = f"{report.a.name} \\ {report.b.name}"
    head = f"<th>{escape(corner)}</th>" + "".join(
        f'<th scope="col">{escape(label)}</th>' for label in labels
    )
    lines = []
    for i, (label, counts) in enumerate(zip(labels, report.confusion.counts, strict=True)):
        cells = "".join(_heat_cell(count, largest, agree=i == j) for j, count in enumerate(counts))
        lines.append(f'<tr><th scope="row">{escape(label)}</th>{cells}</tr>')
    body = "".join(lines)
    matrix = (
        f'<table id="confusion-matrix"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )
    return f"<section>{heading}{matrix}</section>"


def _heat_cell(count: int, largest: int, *, agree: bool) -> str:
    """A matrix cell whose blue deepens with `count`, relative to the largest cell."""
    alpha = count / largest
    classes = ["cell", *(["agree"] if agree else []), *(["dark"] if alpha > 0.55 else [])]
    style = f"background-color: rgba(37, 99, 235, {alpha:.2f})"
    return f'<td class="{" ".join(classes)}" data-count="{count}" style="{style}">{count}</td>'


def _charts(report: Report) -> str:
    sides = (report.a, report.b)
    latency = bar_chart(
        "latency-chart",
        "Latency p50 and p95 per backend",
        LATENCY_SERIES,
        [Group(label=s.name, values=(s.latency_p50_ms, s.latency_p95_ms)) for s in sides],
        formats.milliseconds,
    )
    cost = bar_chart(
        "cost-chart",
        "Cost per 1,000 documents per backend",
        COST_SERIES,
        [Group(label=s.name, values=(s.cost_per_1000_usd,)) for s in sides],
        formats.usd,
    )
    return (
        f"<section><h2>Latency (p50, p95)</h2>{latency}</section>"
        f"<section><h2>Cost per 1,000 documents</h2>{cost}</section>"
    )


def _calibration(report: Report) -> str:
    caption = "Agreement by each side's confidence, over documents where both gave one"
    calibration = table("calibration", *rows.calibration(report), caption=caption)
    return f"<section><h2>Calibration</h2>{calibration}</section>"


def _categories(name: str, accuracy: Accuracy) -> str:
    caption = f"{name} against the expected labels"
    scores = table(f"categories-{name}", *rows.categories(accuracy), caption=caption)
    return (
        f'<section class="categories" data-backend="{escape(name)}">'
        f"<h2>Per category: {escape(name)}</h2>{scores}</section>"
    )


def _disagreements(report: Report) -> str:
    heading = f"<h2>Disagreements ({report.disagreeing})</h2>"
    if len(report.disagreements) < report.disagreeing:
        heading += f'<p class="empty">The latest {len(report.disagreements)} are listed.</p>'
    if not report.disagreements:
        body = '<p class="empty">The backends agreed on every document both answered.</p>'
    else:
        items = "".join(
            _disagreement(c, report.a.name, report.b.name) for c in report.disagreements
        )
        body = f'<ol class="disagreements">{items}</ol>'
    return f'<section id="disagreements">{heading}{body}</section>'


def _disagreement(comparison: Comparison, a: str, b: str) -> str:
    document = escape(comparison.document)
    expected = (
        f'<p class="expected">Expected: {escape(comparison.expected)}</p>'
        if comparison.expected is not None
        else ""
    )
    answers = _answer(a, comparison.a, "a") + _answer(b, comparison.b, "b")
    return (
        f'<li class="disagreement" data-document="{document}">'
        f'<p class="document">{document}</p>{expected}'
        f'<div class="side-by-side">{answers}</div></li>'
    )


def _answer(backend: str, answer: Answer, side: str) -> str:
    parts = [
        f'<p class="backend">{escape(backend)}</p>',
        f'<p>Label: <span class="label">{escape(answer.label or formats.MISSING)}</span></p>',
        '<p>Confidence: <span class="confidence">'
        f"{formats.confidence(answer.confidence)}</span></p>",
    ]
    if answer.reasoning:
        parts.append(f'<p class="reasoning">{escape(answer.reasoning)}</p>')
    return f'<div class="answer side-{side}">{"".join(parts)}</div>'
