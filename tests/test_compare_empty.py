"""A report of no comparisons (issue 12, "Report"): every form says so plainly, and a report
with documents does not."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.compare.figures import build_report
from gateway.compare.formats import NO_COMPARISONS
from gateway.compare.records import Answer, Comparison
from gateway.compare.render_html import render_html
from gateway.compare.render_table import render_table
from gateway.compare.reports import pair_of
from tests.test_compare_render import parse

GENERATED = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)


def test_no_comparisons_yet_is_said_in_the_table_and_the_page() -> None:
    """With nothing recorded there is no pair to name; both forms say there is nothing yet."""
    a, b = pair_of([])
    report = build_report([], a=a, b=b)
    table = render_table(report)
    assert NO_COMPARISONS in table
    assert "Documents: 0" in table
    page = parse(render_html(report, title="report", generated_at=GENERATED))
    assert page.by_id("no-comparisons").text == NO_COMPARISONS
    assert page.by_id("confusion-matrix").find_all("td") == []


def test_a_report_with_documents_has_no_such_notice() -> None:
    """One document, even one no backend answered, is not "no comparisons"."""
    failed = Answer(label=None, latency_ms=1.0, failed=True)
    report = build_report([Comparison(document="d", a=failed, b=failed)], a="x", b="y")
    assert NO_COMPARISONS not in render_table(report)
    page = render_html(report, title="report", generated_at=GENERATED)
    assert 'id="no-comparisons"' not in page
