"""What a report or a listing of comparisons is asked for (`gateway.compare.params`), and a
comparison as `GET /crosswalk/comparisons` lists it (`gateway.compare.listing`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from gateway.compare.listing import list_of, view_of
from gateway.compare.params import (
    ListingQuery,
    ReportQuery,
    backends_of,
    listing_query,
    report_query,
    since_of,
)
from mappings import canonical
from tests.comparison_support import comparison, run, side


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-01-02", datetime(2026, 1, 2, tzinfo=UTC)),
        ("2026-01-02T09:30:00", datetime(2026, 1, 2, 9, 30, tzinfo=UTC)),
        ("2026-01-02T09:30:00Z", datetime(2026, 1, 2, 9, 30, tzinfo=UTC)),
        (
            "2026-01-02T09:30:00+02:00",
            datetime(2026, 1, 2, 9, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
    ],
)
def test_since_is_a_date_or_an_iso_datetime(text: str, moment: datetime) -> None:
    """A bare date is its midnight UTC; a datetime without an offset is UTC."""
    assert since_of(text) == moment


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "", "01/02/2026"])
def test_a_bad_since_says_what_is_expected(text: str) -> None:
    """Anything else is refused with one line naming both accepted forms."""
    with pytest.raises(ValueError, match=r"expected a date \(2026-01-01\) or an ISO datetime"):
        since_of(text)


def test_backends_are_two_different_names() -> None:
    """`a,b` is side a then side b; one name, three, a repeat or a bad name is refused."""
    assert backends_of("retab, extend") == ("retab", "extend")
    for bad, reason in [
        ("retab", "two backend names"),
        ("a,b,c", "two backend names"),
        ("retab,", "two backend names"),
        ("retab,Extend!", "'Extend!' is not a backend name"),
        ("retab,retab", "two different backends"),
    ]:
        with pytest.raises(ValueError, match=reason):
            backends_of(bad)


def test_the_listing_query_has_defaults_and_bounds() -> None:
    """limit 1..1000 (100 by default), after a cursor, since a date."""
    assert listing_query([]) == ListingQuery(limit=100, after=0, since=None)
    parsed = listing_query([("limit", "1000"), ("after", "7"), ("since", "2026-01-02")])
    assert parsed == ListingQuery(limit=1000, after=7, since=datetime(2026, 1, 2, tzinfo=UTC))


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([("limit", "0")], "limit: expected a whole number from 1 to 1000, got '0'"),
        ([("limit", "1001")], "limit: expected a whole number from 1 to 1000"),
        ([("limit", "ten")], "limit: expected a whole number"),
        ([("limit", "9" * 5000)], "limit: expected a whole number"),
        ([("after", "-1")], "after: expected the `next` of a listing"),
        ([("since", "soon")], "since: expected a date"),
        ([("limit", "1"), ("limit", "2")], "limit: given more than once"),
        ([("page", "2")], "page: unknown parameter"),
    ],
)
def test_a_bad_listing_query_names_the_parameter(
    items: list[tuple[str, str]], message: str
) -> None:
    """Each refusal starts with the parameter at fault."""
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        listing_query(items)


def test_the_report_query() -> None:
    """since and backends; a listing's parameter is not a report's."""
    assert report_query([("backends", "extend,local")]) == ReportQuery(backends=("extend", "local"))
    with pytest.raises(ValueError, match=r"^limit: unknown parameter"):
        report_query([("limit", "5")])
    with pytest.raises(ValueError, match=r"^backends: expected two backend names"):
        report_query([("backends", "extend")])


def test_a_comparison_is_listed_with_each_side() -> None:
    """Each side: status, label in the caller's keys, confidence, latency, credits, error;
    the comparison links the report of its first two backends."""
    record = comparison(
        "cmp_1",
        side("extend", run("e1", key=None, name="Invoice", confidence=0.9, credits=2.0)),
        side("retab", None, latency_ms=30.0, error="upstream 503"),
        side("local", run("l1", status=canonical.Status.running), latency_ms=None),
        filename="a.pdf",
        completed=False,
    )
    listed = msgspec.json.decode(msgspec.json.encode(view_of(record)))
    assert listed["object"] == "comparison"
    assert (listed["id"], listed["status"], listed["filename"]) == ("cmp_1", "pending", "a.pdf")
    assert listed["report"] == "/crosswalk/report?backends=extend,retab"
    assert listed["sides"] == [
        {
            "backend": "extend",
            "status": "completed",
            "label": "inv",
            "confidence": 0.9,
            "latency_ms": 100.0,
            "credits": 2.0,
            "error": None,
        },
        {
            "backend": "retab",
            "status": "failed",
            "label": None,
            "confidence": None,
            "latency_ms": 30.0,
            "credits": None,
            "error": "upstream 503",
        },
        {
            "backend": "local",
            "status": "running",
            "label": None,
            "confidence": None,
            "latency_ms": None,
            "credits": None,
            "error": None,
        },
    ]


def test_a_page_says_whether_more_follow() -> None:
    """`next` is the following page's `after`, None (and has_more false) on the last."""
    record = comparison("c", side("extend", run("e", key="inv")), side("local", None))
    assert msgspec.json.decode(msgspec.json.encode(list_of([record], 12)))["next"] == "12"
    last = list_of([record], None)
    assert (last.object, last.has_more, last.next, len(last.data)) == ("list", False, None, 1)


@pytest.mark.parametrize(
    ("items", "name"),
    [
        ([("since", "x" * 10_000)], "since"),
        ([("backends", "y" * 10_000)], "backends"),
        ([("backends", "ok," + "Z" * 10_000)], "backends"),
        ([("limit", "9" * 10_000)], "limit"),
        ([("p" * 10_000, "1")], "p" * 100),
    ],
)
def test_a_refused_value_is_echoed_cut_short(items: list[tuple[str, str]], name: str) -> None:
    """A 10 KB value (or name) is not sent back whole: its first 100 characters and its length."""
    reader = listing_query if name == "limit" else report_query
    with pytest.raises(ValueError, match=r"\(10,00\d characters\)") as refused:
        reader(items)
    message = str(refused.value)
    assert message.startswith(name)
    assert len(message) < 400
