"""Listing by filename from the ledger, on both stores: exact names (Retab's `filename`) and
substrings of the casefolded name (Extend's `fileNameContains`), paged both ways, served by
indexes and the trigram search rather than a scan (issue 9, item 13). The plans and statements
checked at the end are SQLite's (its FTS5 table and query planner): SQLite only."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import closing
from datetime import timedelta

import msgspec
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.store.sqlite.filters import (
    WALK_BATCH,
    Scan,
    ordered_sql,
    trigram_sql,
    walk_sql,
)
from gateway.store.sqlite.listing import list_page
from gateway.store.sqlite.schema import connect_reader, snapshot
from mappings import canonical
from mappings.canonical import ListQuery
from tests.postgres import PostgresServer
from tests.stores import KINDS, AnyLedger, Store
from tests.test_store import ALICE, BOB, T0, ids, make_record, walk_both_ways

# Names with what a listing must not misread: case, casefolding beyond lower() (ß, ﬁ), LIKE
# wildcards, quotes, FTS5 query syntax, a backslash, scripts outside Latin, characters outside
# the BMP, NFC beside NFD, control characters.
TRICKY = (
    "Invoice-2024.pdf",
    "invoice-2025.PDF",
    "INVOICE.txt",
    "Straße.pdf",
    "STRASSE-plan.pdf",
    "naïve.txt",
    "nai\u0308ve.txt",
    "100%.pdf",
    "100_.pdf",
    "a_b.csv",
    "a%b.csv",
    "it's.txt",
    'say "hi".txt',
    "back\\slash.txt",
    "NEAR AND OR NOT.txt",
    "star*caret^colon:.txt",
    "日本語の請求書.pdf",
    "📄📄📄.pdf",
    "ﬁle.pdf",
    "tab\there.txt",
    "nul\x00byte.txt",
)
FILLERS = 150  # newer than every tricky name: a newest-first walk meets them first
NAMES = (*TRICKY, *(f"filler-{i:03}.bin" for i in range(FILLERS)))
ALICE_RUNS = tuple((f"a{i:03}", name) for i, name in enumerate(NAMES))


def expected(match: Callable[[str], bool], order: canonical.Order) -> list[str]:
    """Alice's runs whose name `match`es, in `order` of creation."""
    found = [uid for uid, name in ALICE_RUNS if match(name)]
    return found if order == "asc" else found[::-1]


def holding(needle: str) -> Callable[[str], bool]:
    return lambda name: needle.casefold() in name.casefold()


def named(filename: str) -> Callable[[str], bool]:
    return lambda name: name == filename


async def fill(store: Store) -> None:
    async with await store.open() as ledger:
        for i, (uid, name) in enumerate(ALICE_RUNS):
            at = T0 + timedelta(minutes=i // 2)  # pairs share a time: seq breaks the tie
            await ledger.insert(make_record(uid, filename=name, created_at=at))
            if i < len(TRICKY):  # Bob's runs by the same names are never Alice's to see
                await ledger.insert(
                    make_record(f"b{i:03}", owner=BOB, filename=name, created_at=at)
                )


@pytest.fixture(scope="module")
def listing_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite ledger of Alice's tricky names and fillers, beside Bob's; read-only for its
    tests."""
    path = str(tmp_path_factory.mktemp("listing") / "ledger.db")
    asyncio.run(fill(Store("sqlite", path)))
    return path


@pytest.fixture(scope="module", params=KINDS)
def listing_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """The same ledger on either store, made once for the module's tests."""
    if request.param == "sqlite":
        yield Store("sqlite", request.getfixturevalue("listing_db"))
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    try:
        store = Store("postgres", server.url(name))
        asyncio.run(fill(store))
        yield store
    finally:
        server.drop_later(name)


@pytest.fixture
async def ledger(listing_store: Store) -> AsyncIterator[AnyLedger]:
    async with await listing_store.open() as opened:
        yield opened


async def listed(ledger: AnyLedger, order: canonical.Order, **filters: str) -> list[str]:
    query = msgspec.convert({"limit": len(NAMES) + 1, "order": order, **filters}, ListQuery)
    return ids((await ledger.list(ALICE, query)).records)


CONTAINS = [
    pytest.param("invoice", 3, id="case-insensitive"),
    pytest.param("STRASSE", 2, id="casefold-sharp-s"),
    pytest.param("ß", 2, id="short-folds-to-ss"),
    pytest.param("FILE", 1, id="casefold-ligature"),
    pytest.param("naïve", 1, id="nfc-is-not-nfd"),
    pytest.param("%", 2, id="percent-is-literal"),
    pytest.param("_", 2, id="underscore-is-literal"),
    pytest.param("0%.", 1, id="percent-in-a-trigram"),
    pytest.param('"hi"', 1, id="double-quotes"),
    pytest.param("it's", 1, id="single-quote"),
    pytest.param("\\", 1, id="backslash"),
    pytest.param("NEAR AND", 1, id="fts-keywords"),
    pytest.param("*caret^colon:", 1, id="fts-operators"),
    pytest.param("請求", 1, id="short-cjk"),
    pytest.param("の請求書", 1, id="cjk"),
    pytest.param("📄📄", 1, id="short-astral"),
    pytest.param("📄📄📄", 1, id="astral"),
    pytest.param("\there", 1, id="tab"),
    pytest.param("l\x00b", 1, id="nul"),
    pytest.param(".PDF", 9, id="common"),
    pytest.param("filler-1", 50, id="many"),
    pytest.param("nowhere", 0, id="absent"),
    pytest.param("q", 0, id="absent-one-char"),
]


@pytest.mark.parametrize(("needle", "count"), CONTAINS)
@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_filename_contains_is_a_casefolded_substring(
    ledger: AnyLedger, needle: str, count: int, order: canonical.Order
) -> None:
    """`filename_contains` finds every run of the owner whose casefolded name holds the
    casefolded needle, literally (no wildcard, no query syntax), however short."""
    want = expected(holding(needle), order)
    assert len(want) == count
    assert await listed(ledger, order, filename_contains=needle) == want


EXACT = [
    pytest.param("Invoice-2024.pdf", 1, id="exact"),
    pytest.param("invoice-2024.pdf", 0, id="case-sensitive"),
    pytest.param("100%.pdf", 1, id="percent"),
    pytest.param("100_.pdf", 1, id="underscore"),
    pytest.param("%", 0, id="no-wildcards"),
    pytest.param('say "hi".txt', 1, id="quotes"),
    pytest.param("nai\u0308ve.txt", 1, id="nfd"),
    pytest.param("日本語の請求書.pdf", 1, id="cjk"),
    pytest.param("nul\x00byte.txt", 1, id="nul"),
    pytest.param("filler-007.bin", 1, id="filler"),
    pytest.param("filler-007", 0, id="prefix-is-not-a-name"),
]


@pytest.mark.parametrize(("filename", "count"), EXACT)
@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_filename_is_an_exact_case_sensitive_name(
    ledger: AnyLedger, filename: str, count: int, order: canonical.Order
) -> None:
    """`filename` finds the owner's runs of exactly that name: case and every character
    count, nothing is a wildcard."""
    want = expected(named(filename), order)
    assert len(want) == count
    assert await listed(ledger, order, filename=filename) == want


@pytest.mark.parametrize(
    "filters",
    [
        pytest.param({"filename_contains": "invoice"}, id="contains-dense"),
        pytest.param({"filename_contains": ".pdf"}, id="contains-sparse"),
        pytest.param({"filename_contains": "ß"}, id="contains-short"),
        pytest.param({"filename_contains": "filler-0"}, id="contains-many"),
        pytest.param({"filename": "Straße.pdf"}, id="exact"),
        pytest.param({"filename": "a.pdf"}, id="exact-absent"),
    ],
)
@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("limit", [1, 3])
async def test_filtered_listings_page_both_ways(
    ledger: AnyLedger, filters: dict[str, str], order: canonical.Order, limit: int
) -> None:
    """Paged forwards from the start and backwards from the end, a filtered listing visits
    every match once, with the right has-more flags on each page."""
    query = msgspec.convert({"limit": limit, "order": order, **filters}, ListQuery)
    contains = filters.get("filename_contains")
    match = holding(contains) if contains is not None else named(filters["filename"])
    await walk_both_ways(ledger, query, expected(match, order))


def piece(name: str, start: int, end: int) -> str:
    """Part of a name, possibly empty."""
    return name[min(start, end) : max(start, end)]


PIECES = st.builds(piece, st.sampled_from(NAMES), st.integers(0, 20), st.integers(0, 20))
NEEDLES = st.one_of(
    st.text(alphabet="".join(sorted(set("".join(TRICKY)))), min_size=1, max_size=4),
    PIECES.filter(bool),
)


@given(
    needle=NEEDLES,
    order=st.sampled_from(["asc", "desc"]),
    limit=st.integers(1, 6),
)
@example(needle="E.T", order="asc", limit=1)  # after "nul\x00byte.txt"'s NUL: FTS5 misses it
@settings(max_examples=60, deadline=None)
def test_any_substring_lists_what_python_finds(
    listing_store: Store, needle: str, order: canonical.Order, limit: int
) -> None:
    """Whatever the needle, paging both ways gives exactly the runs whose casefolded name
    holds it, as Python's `in` says, whichever way the ledger found them."""

    async def check() -> None:
        async with await listing_store.open() as ledger:
            query = canonical.ListQuery(limit=limit, order=order, filename_contains=needle)
            await walk_both_ways(ledger, query, expected(holding(needle), order))

    asyncio.run(check())


def statements_of_a_listing(db: str, query: canonical.ListQuery) -> list[str]:
    """The SQL a first page of `query` runs, on a reader connection of its own."""
    statements: list[str] = []
    with closing(connect_reader(db)) as conn:
        conn.set_trace_callback(statements.append)
        with snapshot(conn):
            list_page(conn, ALICE, query, None)
    return statements


@pytest.mark.parametrize(
    ("needle", "order", "searched"),
    [
        pytest.param("pdf", "desc", True, id="rare-among-the-newest"),
        pytest.param("pdf", "asc", False, id="common-among-the-oldest"),
        pytest.param("filler", "desc", False, id="common"),
        pytest.param("ß", "desc", False, id="too-short-for-trigrams"),
        pytest.param("l\x00b", "desc", False, id="nul-cuts-an-fts-query"),
    ],
)
def test_the_trigram_index_is_asked_only_when_walking_does_not_answer_at_once(
    listing_db: str, needle: str, order: canonical.Order, searched: bool
) -> None:
    """A page the first WALK_BATCH runs in order fill is answered by walking them; rare
    matches (here: the tricky names, behind 150 newer fillers) bring in the trigram index;
    a needle it cannot search (under 3 characters, or holding a NUL) is only walked."""
    assert FILLERS > WALK_BATCH
    query = canonical.ListQuery(limit=5, order=order, filename_contains=needle)
    statements = statements_of_a_listing(listing_db, query)
    assert any("MATCH" in sql for sql in statements) == searched


def plan(db: str, sql: tuple[str, tuple[object, ...]]) -> str:
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute(f"EXPLAIN QUERY PLAN {sql[0]}", sql[1]).fetchall()
    return "\n".join(row[3] for row in rows)


ANCHOR = (123, 45)


@pytest.mark.parametrize("anchor", [None, ANCHOR])
@pytest.mark.parametrize("status", [None, canonical.Status.completed])
def test_an_exact_filename_is_read_from_an_index_that_also_gives_the_order(
    listing_db: str, anchor: tuple[int, int] | None, status: canonical.Status | None
) -> None:
    """`filename=` searches `runs_owner_filename_created` by (owner, filename) and the
    cursor's position, in index order: no sort, no walk over other names."""
    query = canonical.ListQuery(filename="a.pdf", status=status)
    shown = plan(listing_db, ordered_sql(Scan(ALICE, query, False, anchor), 11))
    assert "INDEX runs_owner_filename_created (owner=? AND filename=?" in shown
    if anchor is not None:
        assert "filename=? AND created_us<?)" in shown
    assert "TEMP B-TREE" not in shown
    assert "SCAN" not in shown


@pytest.mark.parametrize("ascending", [True, False])
def test_a_substring_is_searched_through_the_trigram_index(
    listing_db: str, ascending: bool
) -> None:
    """The trigram path starts from the FTS5 index and reads each run it names by its key,
    beside the owner's few names holding a NUL (which FTS5 indexes only up to it); it never
    scans `runs`."""
    query = canonical.ListQuery(filename_contains="invoice", status=canonical.Status.queued)
    shown = plan(listing_db, trigram_sql(Scan(ALICE, query, ascending, ANCHOR), "invoice"))
    assert "SCAN f VIRTUAL TABLE INDEX" in shown
    assert "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)" in shown
    assert "SEARCH r USING INDEX runs_owner_nul_names (owner=?)" in shown
    assert "SCAN r" not in shown


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(canonical.ListQuery(), id="unfiltered"),
        pytest.param(canonical.ListQuery(filename_contains="invoice"), id="walk"),
        pytest.param(canonical.ListQuery(status=canonical.Status.queued), id="status"),
    ],
)
def test_other_listings_walk_an_owner_index_in_order(
    listing_db: str, query: canonical.ListQuery
) -> None:
    """Unfiltered, by status, and the substring walk: an index on the owner gives the order,
    so a page stops at its end rather than sorting the owner's runs."""
    scan = Scan(ALICE, query, False, ANCHOR)
    sql = walk_sql(scan, "invoice") if query.filename_contains else ordered_sql(scan, 11)
    shown = plan(listing_db, sql)
    assert "USING" in shown
    assert "INDEX runs_owner_" in shown
    assert "(owner=?" in shown
    assert "TEMP B-TREE" not in shown
