"""The comparison report rendered as a text table and as JSON (issue 12, "Report").

Each renderer is fed the hand-computed case of tests/test_compare_figures.py (ten documents,
extend vs local, two disagreements) and must show its known figures.
"""

from __future__ import annotations

import msgspec

from gateway.compare.figures import Report, build_report
from gateway.compare.render_json import parse_json, render_json
from gateway.compare.render_table import render_table
from tests.test_compare_figures import _case, _report


def _known() -> Report:
    return _report(_case())


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
