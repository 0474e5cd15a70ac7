"""The comparison report rendered three ways (issue 12, "Report"): text table, JSON and HTML.

Each renderer is fed the hand-computed case of tests/test_compare_figures.py (ten documents,
extend vs local, two disagreements) and must show its known figures. The HTML page is parsed
with the stdlib's `html.parser` into a small tree and walked: the heat-map cells, the
disagreement list, the SVG bars, the absence of scripts and external assets, and escaping.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser

import msgspec
import pytest

from gateway.compare.figures import Report, build_report
from gateway.compare.records import Answer, Comparison
from gateway.compare.render_html import render_html
from gateway.compare.render_json import parse_json, render_json
from gateway.compare.render_table import render_table
from tests.test_compare_figures import _case, _report

GENERATED = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
VOID = frozenset({"meta", "br", "hr", "img", "link", "input", "col", "wbr"})


class Node:
    """One element of the parsed page: its tag, attributes, children and own text."""

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag, self.attrs = tag, attrs
        self.children: list[Node] = []
        self.texts: list[str] = []

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    def find_all(self, tag: str, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.walk()
            if n.tag == tag and all(n.attrs.get(k) == v for k, v in attrs.items())
        ]

    def by_id(self, element_id: str) -> Node:
        (node,) = [n for n in self.walk() if n.attrs.get("id") == element_id]
        return node

    def with_class(self, name: str) -> list[Node]:
        return [n for n in self.walk() if name in n.attrs.get("class", "").split()]

    @property
    def text(self) -> str:
        return "".join(self.texts) + "".join(child.text for child in self.children)


class TreeBuilder(HTMLParser):
    """A DOM-like tree from html.parser's events; an unbalanced end tag fails the test."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].texts.append(data)


def parse(page: str) -> Node:
    builder = TreeBuilder()
    builder.feed(page)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    return builder.root


def _known() -> Report:
    return _report(_case())


def _html(report: Report, title: str = "extend vs local") -> str:
    return render_html(report, title=title, generated_at=GENERATED)


# the table


def test_the_table_shows_the_known_figures() -> None:
    """Headline, per-backend row, confusion matrix rows and the disagreements, as computed."""
    text = render_table(_known())
    assert "Agreement: 75.0 % (6/8, 95 % CI 40.9 to 92.9 %)" in text
    assert "Cohen's kappa: 0.579" in text
    lines = text.splitlines()
    extend = next(line for line in lines if line.startswith("extend "))
    assert extend.split()[:11] == [
        *("extend", "10", "1", "10.0", "%", "500", "ms", "900", "ms", "$20.00", "77.8"),
    ]
    assert "(7/9, 95 % CI 45.3 to 93.7 %)" in extend
    local = next(line for line in lines if line.startswith("local "))
    assert local.split()[:10] == [
        *("local", "10", "1", "10.0", "%", "50", "ms", "100", "ms", "$0.00"),
    ]
    matrix = lines[lines.index("Confusion matrix (rows: extend, columns: local)") + 1 :][:5]
    assert matrix[0].split() == ["extend", "\\", "local", "contract", "invoice", "receipt"]
    assert [row.split() for row in matrix[2:]] == [
        ["contract", "1", "0", "0"],
        ["invoice", "0", "3", "1"],
        ["receipt", "0", "1", "2"],
    ]
    assert "Disagreements: 2" in text
    assert any(
        line.split() == ["doc-04", "invoice", "(0.60)", "receipt", "(0.80)", "receipt"]
        for line in lines
    )


def test_the_table_lists_only_the_first_disagreements_and_no_colour_codes() -> None:
    """`disagreements=1` lists doc-04 and says so; the text is plain (no ANSI escapes)."""
    text = render_table(_known(), disagreements=1)
    assert "Disagreements: 2 (first 1 shown)" in text
    assert "doc-04" in text
    assert "doc-07" not in text
    assert "\x1b" not in text


def test_the_table_shows_calibration_and_per_category_scores() -> None:
    """The calibration buckets and extend's precision/recall for invoice (0.8) are printed."""
    lines = render_table(_known()).splitlines()
    last_bucket = next(line for line in lines if line.startswith("[0.90, 1.00]"))
    assert last_bucket.split() == ["[0.90,", "1.00]", "1", "100.0", "%", "2", "50.0", "%"]
    start = lines.index("Per category: extend")
    invoice = next(line for line in lines[start:] if line.startswith("invoice"))
    assert invoice.split() == ["invoice", "5", "5", "4", "80.0", "%", "80.0", "%"]


# JSON


def test_the_json_round_trips_with_stable_keys() -> None:
    """Decoding the JSON gives the same Report; keys come in the Struct's field order."""
    report = _known()
    data = render_json(report)
    assert parse_json(data) == report
    assert parse_json(render_json(report, indent=2)) == report
    assert list(msgspec.json.decode(data)) == list(Report.__struct_fields__)
    assert render_json(report) == data


def test_the_json_of_an_empty_report_has_nulls_not_nan() -> None:
    """No comparisons: every figure without data is null, and the JSON is strict JSON."""
    data = render_json(build_report([], a="extend", b="local"))
    assert b"NaN" not in data
    assert b"Infinity" not in data
    decoded = msgspec.json.decode(data)
    assert decoded["agreement"] is None
    assert decoded["kappa"] is None
    assert decoded["a"]["latency_p50_ms"] is None


# HTML


def test_the_confusion_matrix_is_a_heat_map_with_the_counts() -> None:
    """Rows and columns are the labels, each cell prints its count and deepens with it."""
    page = parse(_html(_known()))
    matrix = page.by_id("confusion-matrix")
    columns = [th.text for th in matrix.find_all("th", scope="col")]
    assert columns == ["contract", "invoice", "receipt"]
    rows = [
        (row.find_all("th")[0].text, [td.text for td in row.find_all("td")])
        for row in matrix.find_all("tr")[1:]
    ]
    assert rows == [
        ("contract", ["1", "0", "0"]),
        ("invoice", ["0", "3", "1"]),
        ("receipt", ["0", "1", "2"]),
    ]
    alpha = {td.text: td.attrs["style"] for td in matrix.find_all("td")}
    assert "0.00)" in alpha["0"]
    assert "1.00)" in alpha["3"]
    assert "0.67)" in alpha["2"]


def test_the_disagreements_show_both_answers_side_by_side() -> None:
    """One list entry per disagreeing document, with each backend's label and confidence."""
    comparisons = _case()
    comparisons[3] = msgspec.structs.replace(
        comparisons[3], a=msgspec.structs.replace(comparisons[3].a, reasoning="Has a total.")
    )
    page = parse(_html(_report(comparisons)))
    entries = page.by_id("disagreements").with_class("disagreement")
    assert [e.attrs["data-document"] for e in entries] == ["doc-04", "doc-07"]
    first = entries[0]
    answers = first.with_class("answer")
    assert [a.with_class("backend")[0].text for a in answers] == ["extend", "local"]
    assert [a.with_class("label")[0].text for a in answers] == ["invoice", "receipt"]
    assert [a.with_class("confidence")[0].text for a in answers] == ["0.60", "0.80"]
    assert answers[0].with_class("reasoning")[0].text == "Has a total."
    assert first.with_class("expected")[0].text == "Expected: receipt"


def test_the_charts_are_inline_svg_with_one_bar_per_backend() -> None:
    """Latency has a p50 and a p95 bar per backend, cost one bar; widths follow the values."""
    page = parse(_html(_known()))
    latency, cost = page.by_id("latency-chart"), page.by_id("cost-chart")
    assert latency.tag == cost.tag == "svg"
    for chart in (latency, cost):
        groups = chart.with_class("backend")
        assert [g.attrs["data-backend"] for g in groups] == ["extend", "local"]
    for series in ("p50", "p95"):
        assert len([r for r in latency.with_class(series) if r.tag == "rect"]) == 2
    widths = [float(r.attrs["width"]) for r in cost.find_all("rect")]
    assert len(widths) == 2
    assert widths[0] > 0
    assert widths[1] == 0
    p95 = [float(r.attrs["width"]) for r in latency.with_class("p95")]
    assert p95[0] == max(p95)
    assert math.isclose(p95[1] / p95[0], 100 / 900, rel_tol=1e-2)


def test_the_page_is_self_contained() -> None:
    """No script at all and no external asset: nothing loaded by src or href from the web."""
    page_text = _html(_known())
    assert "<script" not in page_text.lower()
    page = parse(page_text)
    for node in page.walk():
        for name in ("src", "href", "xlink:href", "action"):
            value = node.attrs.get(name, "")
            assert not value.startswith(("http://", "https://", "//")), (node.tag, value)
        assert not any(name.startswith("on") for name in node.attrs), node.tag
    assert page.find_all("link") == []
    assert page.find_all("style")
    assert page.find_all("title")[0].text == "extend vs local"
    assert page.find_all("time")[0].attrs["datetime"] == "2026-12-03T13:00:00+00:00"


def test_the_page_shows_per_category_scores_and_calibration() -> None:
    """With expected labels, each backend has a precision/recall table; calibration is there."""
    page = parse(_html(_known()))
    extend = page.by_id("categories-extend")
    invoice = next(
        r
        for r in extend.find_all("tr")
        if r.find_all("td")[:1] and r.find_all("td")[0].text == "invoice"
    )
    assert [td.text for td in invoice.find_all("td")] == [
        "invoice",
        "5",
        "5",
        "4",
        "80.0 %",
        "80.0 %",
    ]
    assert len(page.by_id("calibration").find_all("tr")) == 1 + 4


def test_data_strings_are_escaped() -> None:
    """A label, reasoning, document key and backend name holding markup come out as text."""
    evil = "<script>alert(1)</script>"
    comparisons = [
        Comparison(
            document='doc"><img src=x onerror=alert(1)>',
            a=Answer(label=evil, latency_ms=10.0, reasoning=f"because {evil}"),
            b=Answer(label="invoice", latency_ms=20.0, reasoning="<b>bold</b> & more"),
            expected=evil,
        )
    ]
    report = build_report(comparisons, a="<i>a</i>", b="local")
    page_text = render_html(report, title=f"Report {evil}", generated_at=GENERATED)
    assert "<script" not in page_text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page_text
    page = parse(page_text)
    assert page.find_all("img") == []
    assert page.find_all("i") == []
    assert page.find_all("b") == []
    (entry,) = page.by_id("disagreements").with_class("disagreement")
    assert entry.attrs["data-document"] == 'doc"><img src=x onerror=alert(1)>'
    answers = entry.with_class("answer")
    assert answers[0].with_class("label")[0].text == evil
    assert answers[0].with_class("reasoning")[0].text == f"because {evil}"
    assert answers[1].with_class("reasoning")[0].text == "<b>bold</b> & more"
    assert page.find_all("h1")[0].text == f"Report {evil}"


@pytest.mark.parametrize(
    "comparisons",
    [
        [],
        [
            Comparison(
                document="d",
                a=Answer(label=None, latency_ms=1.0, failed=True),
                b=Answer(label="x", latency_ms=1.0),
            )
        ],
    ],
    ids=["no documents", "nothing compared"],
)
def test_an_empty_report_renders_every_way(comparisons: list[Comparison]) -> None:
    """No data: the table, JSON and page still render, with an empty matrix and no entries."""
    report = build_report(comparisons, a="extend", b="local")
    assert "Disagreements: 0" in render_table(report)
    assert parse_json(render_json(report)) == report
    page = parse(_html(report))
    assert page.by_id("confusion-matrix").find_all("td") == []
    assert page.by_id("disagreements").with_class("disagreement") == []
    for chart in ("latency-chart", "cost-chart"):
        assert len(page.by_id(chart).with_class("backend")) == 2
