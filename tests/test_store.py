"""The run ledger on both stores (tests/stores.py: a real SQLite file and a real PostgreSQL):
scoping, listing, compare-and-set, claims, recovery."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.store import (
    INTERRUPTED,
    DuplicateRun,
    Ledger,
    LedgerError,
    RunRecord,
    SqliteLedger,
    WorkQueue,
    owner_of,
)
from gateway.store.sqlite import SCHEMA_VERSION
from mappings import canonical
from tests.stores import KINDS, AnyLedger, FreshStores, Kind, OpenLedger

S = canonical.Status
T0 = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = canonical.RunConfig(categories=(canonical.Category(key="invoice", name="Invoice"),))
ALICE, BOB = owner_of("sk-alice"), owner_of("sk-bob")
LOCAL = ("local",)
RUNNING = frozenset({S.running})


def make_record(
    upstream_id: str,
    *,
    owner: str = ALICE,
    backend: str = "local",
    status: S = S.queued,
    filename: str = "a.pdf",
    created_at: datetime = T0,
) -> RunRecord:
    document = canonical.InlineDocument(data=b"%PDF", filename=filename, mime_type="x/pdf")
    request = canonical.ClassifyRequest(document=document, config=CONFIG, background=True)
    run = canonical.ClassificationRun(
        id=upstream_id, status=status, config=CONFIG, created_at=created_at
    )
    return RunRecord(
        key=f"{backend}:{upstream_id}",
        owner=owner,
        backend=backend,
        upstream_id=upstream_id,
        surface="retab",
        run=run,
        request=request,
        filename=filename,
        created_at=created_at,
        updated_at=created_at,
    )


def completed(run: canonical.ClassificationRun) -> canonical.ClassificationRun:
    decision = canonical.Decision(category_key="invoice", category_name="Invoice")
    return msgspec.structs.replace(run, status=S.completed, decision=decision)


def ids(records: tuple[RunRecord, ...] | list[RunRecord]) -> list[str]:
    return [r.upstream_id for r in records]


async def test_the_ledger_satisfies_the_protocol(ledger: AnyLedger) -> None:
    """Each store's ledger is a Ledger (checked by mypy) and answers through the Protocol."""
    typed: Ledger = ledger
    assert await typed.get(ALICE, "local", "nope") is None


async def test_the_ledger_is_also_the_work_queue(ledger: AnyLedger) -> None:
    """The same ledger is a WorkQueue (checked by mypy) and answers through it."""
    queue: WorkQueue = ledger
    assert await queue.request_cancel(ALICE, "local", "nope", T0) is None


def test_owner_is_a_domain_separated_hash_of_the_key() -> None:
    """owner_of is stable, differs per key, and never contains the key."""
    assert owner_of("sk-alice") == ALICE != BOB
    assert len(ALICE) == 64
    assert "sk-alice" not in ALICE
    assert int(ALICE, 16) >= 0


async def test_insert_assigns_growing_seq_and_get_returns_the_record(ledger: AnyLedger) -> None:
    """Inserted records come back whole, with seq assigned in insertion order."""
    first = await ledger.insert(make_record("r1"))
    second = await ledger.insert(make_record("r2"))
    assert 0 < first.seq < second.seq
    assert await ledger.get(ALICE, "local", "r1") == first
    assert first == msgspec.structs.replace(make_record("r1"), seq=first.seq)


async def test_insert_of_a_recorded_run_raises(ledger: AnyLedger) -> None:
    """(backend, upstream_id) is unique."""
    await ledger.insert(make_record("r1"))
    with pytest.raises(DuplicateRun):
        await ledger.insert(make_record("r1", owner=BOB))


async def test_update_run_stores_the_latest_run(ledger: AnyLedger) -> None:
    """update_run replaces the run and updated_at; with only_if_status_in it is compare-and-set."""
    await ledger.insert(make_record("r1"))
    running = msgspec.structs.replace(make_record("r1").run, status=S.running)
    later = T0 + timedelta(minutes=1)
    updated = await ledger.update_run("local", "r1", running, now=later)
    assert updated is not None
    assert updated.run == running
    assert updated.updated_at == later
    assert await ledger.get(ALICE, "local", "r1") == updated
    assert await ledger.update_run("local", "missing", running) is None
    queued_only = frozenset({S.queued})
    assert await ledger.update_run("local", "r1", running, only_if_status_in=queued_only) is None
    assert await ledger.update_run("local", "r1", completed(running), only_if_status_in=RUNNING)


async def test_a_terminal_run_drops_the_document_but_keeps_the_categories(
    ledger: AnyLedger,
) -> None:
    """Once finished, the stored request keeps its categories and loses the document bytes."""
    await ledger.insert(make_record("r1"))
    file = canonical.FileInfo(id="f1", filename="real.pdf", mime_type="x/pdf")
    run = msgspec.structs.replace(completed(make_record("r1").run), file=file)
    updated = await ledger.update_run("local", "r1", run)
    assert updated is not None
    assert updated.request is not None
    assert isinstance(updated.request.document, canonical.InlineDocument)
    assert updated.request.document.data == b""
    assert updated.request.config == CONFIG
    assert updated.filename == "real.pdf"
    inserted = await ledger.insert(make_record("r2", status=S.completed))
    assert inserted.request is not None
    assert isinstance(inserted.request.document, canonical.InlineDocument)
    assert inserted.request.document.data == b""


async def test_another_owner_cannot_read_cancel_delete_or_list_a_run(
    ledger: AnyLedger,
) -> None:
    """Bob never sees, reads, cancels, deletes or pages from Alice's run."""
    await ledger.insert(make_record("r1"))
    assert await ledger.get(BOB, "local", "r1") is None
    assert await ledger.request_cancel(BOB, "local", "r1", T0) is None
    assert await ledger.delete(BOB, "local", "r1") is False
    assert (await ledger.list(BOB, canonical.ListQuery())).records == ()
    after_cursor = await ledger.list(BOB, canonical.ListQuery(), cursor=("local", "r1"))
    assert after_cursor.records == ()
    record = await ledger.get(ALICE, "local", "r1")
    assert record is not None
    assert record.run.status is S.queued


async def test_delete_forgets_the_owners_run(ledger: AnyLedger) -> None:
    """delete removes the run once; a second delete finds nothing."""
    await ledger.insert(make_record("r1"))
    assert await ledger.delete(ALICE, "local", "r1") is True
    assert await ledger.get(ALICE, "local", "r1") is None
    assert await ledger.delete(ALICE, "local", "r1") is False


async def test_list_orders_by_creation_then_insertion(ledger: AnyLedger) -> None:
    """asc and desc sort by (created_at, seq); equal times keep insertion order."""
    for name, minute in [("b", 1), ("a", 0), ("c", 1)]:
        await ledger.insert(make_record(name, created_at=T0 + timedelta(minutes=minute)))
    asc = await ledger.list(ALICE, canonical.ListQuery(order="asc"))
    desc = await ledger.list(ALICE, canonical.ListQuery(order="desc"))
    assert ids(asc.records) == ["a", "b", "c"]
    assert ids(desc.records) == ["c", "b", "a"]
    assert not asc.has_more_after
    assert not asc.has_more_before


async def test_list_filters_by_status_and_filename(ledger: AnyLedger) -> None:
    """status, exact filename and case-insensitive filename_contains each narrow the list."""
    await ledger.insert(make_record("r1", filename="Été-Invoice.PDF"))
    await ledger.insert(make_record("r2", filename="receipt.pdf", status=S.completed))
    await ledger.insert(make_record("r3", filename="receipt.pdf.bak"))

    async def listed(**filters: object) -> list[str]:
        query = msgspec.convert({"order": "asc", **filters}, canonical.ListQuery)
        return ids((await ledger.list(ALICE, query)).records)

    assert await listed(status="completed") == ["r2"]
    assert await listed(filename="receipt.pdf") == ["r2"]
    assert await listed(filename_contains="RECEIPT") == ["r2", "r3"]
    assert await listed(filename_contains="éTÉ-inv") == ["r1"]
    assert await listed(filename_contains="receipt", status="queued") == ["r3"]


async def test_list_date_bounds_are_inclusive(ledger: AnyLedger) -> None:
    """created_from and created_to include runs created exactly at the bound."""
    for hour in range(3):
        await ledger.insert(make_record(f"h{hour}", created_at=T0 + timedelta(hours=hour)))
    one = T0 + timedelta(hours=1)
    both = canonical.ListQuery(order="asc", created_from=one, created_to=T0 + timedelta(hours=2))
    exact = canonical.ListQuery(created_from=one, created_to=one)
    until = canonical.ListQuery(order="asc", created_to=one)
    assert ids((await ledger.list(ALICE, both)).records) == ["h1", "h2"]
    assert ids((await ledger.list(ALICE, exact)).records) == ["h1"]
    assert ids((await ledger.list(ALICE, until)).records) == ["h0", "h1"]


async def test_list_with_an_unknown_cursor_is_an_empty_page(ledger: AnyLedger) -> None:
    """A cursor naming no record of the owner gives an empty page with no neighbours."""
    await ledger.insert(make_record("r1"))
    result = await ledger.list(ALICE, canonical.ListQuery(), cursor=("local", "gone"))
    assert result.records == ()
    assert not result.has_more_after
    assert not result.has_more_before


async def test_list_rejects_an_unknown_order(ledger: AnyLedger) -> None:
    """order and direction outside their vocabularies are a caller's bug, not an empty page."""
    with pytest.raises(ValueError, match="sideways"):
        await ledger.list(ALICE, canonical.ListQuery(order=cast(Any, "sideways")))


async def walk_both_ways(
    ledger: AnyLedger, query: canonical.ListQuery, expected: list[str], owner: str = ALICE
) -> None:
    """Page forward from the start, then backward from the last record, checking the flags."""
    seen: list[str] = []
    cursor: tuple[str, str] | None = None
    while True:
        page = await ledger.list(owner, query, cursor=cursor)
        assert len(page.records) <= query.limit
        assert page.has_more_before == (cursor is not None)
        seen += ids(page.records)
        if not page.has_more_after:
            break
        cursor = ("local", page.records[-1].upstream_id)
    assert seen == expected
    if not expected:
        return
    back: list[str] = []
    cursor = ("local", expected[-1])
    backward = msgspec.structs.replace(query, direction="before")
    while True:
        page = await ledger.list(owner, backward, cursor=cursor)
        assert page.has_more_after
        back = ids(page.records) + back
        if not page.has_more_before:
            break
        cursor = ("local", page.records[0].upstream_id)
    assert back == expected[:-1]


async def _check_paging(
    fresh: FreshStores,
    kind: Kind,
    runs: list[tuple[int, S]],
    limit: int,
    order: canonical.Order,
    status: S | None,
) -> None:
    async with fresh.new(kind) as store:
        ledger = await store.open()
        inserted: list[RunRecord] = []
        for i, (minute, run_status) in enumerate(runs):
            at = T0 + timedelta(minutes=minute)
            inserted.append(
                await ledger.insert(make_record(f"r{i}", status=run_status, created_at=at))
            )
            await ledger.insert(make_record(f"bob{i}", owner=BOB, created_at=at))
        wanted = [r for r in inserted if status is None or r.run.status is status]
        wanted.sort(key=lambda r: (r.created_at, r.seq), reverse=order == "desc")
        query = canonical.ListQuery(limit=limit, order=order, status=status)
        await walk_both_ways(ledger, query, ids(wanted))


@given(
    runs=st.lists(
        st.tuples(st.integers(0, 4), st.sampled_from([S.queued, S.completed])), max_size=24
    ),
    limit=st.integers(1, 7),
    order=st.sampled_from(["asc", "desc"]),
    status=st.sampled_from([None, S.completed]),
)
@settings(max_examples=40, deadline=None)
@pytest.mark.parametrize("kind", KINDS)
def test_paging_visits_every_run_once_in_either_direction(
    fresh_stores: FreshStores,
    kind: Kind,
    runs: list[tuple[int, S]],
    limit: int,
    order: canonical.Order,
    status: S | None,
) -> None:
    """after-pages and before-pages cover every matching run once: no overlaps, no gaps."""
    asyncio.run(_check_paging(fresh_stores, kind, runs, limit, order, status))


async def test_a_cancel_wins_over_a_worker_finishing(ledger: AnyLedger) -> None:
    """A worker's result is not written over a cancel that landed while it worked."""
    await ledger.insert(make_record("r1"))
    claimed = await ledger.claim("w1", 30, T0, backends=LOCAL)
    assert claimed is not None
    assert claimed.run.status is S.running
    cancelled = await ledger.request_cancel(ALICE, "local", "r1", T0)
    assert cancelled is not None
    assert cancelled.run.status is S.cancelled
    result = completed(claimed.run)
    assert await ledger.update_run("local", "r1", result, only_if_status_in=RUNNING) is None
    assert await ledger.finish("local", "r1", "w1", result) is None
    stored = await ledger.get(ALICE, "local", "r1")
    assert stored is not None
    assert stored.run.status is S.cancelled
    assert stored.lease_until is None


async def test_cancel_of_a_queued_run_is_immediate_and_terminal_runs_are_unchanged(
    ledger: AnyLedger,
) -> None:
    """A queued run is cancelled at once and never claimed; a finished run stays finished."""
    await ledger.insert(make_record("q"))
    await ledger.insert(make_record("done", status=S.completed))
    cancelled = await ledger.request_cancel(ALICE, "local", "q", T0)
    assert cancelled is not None
    assert cancelled.run.status is S.cancelled
    assert await ledger.claim("w1", 30, T0, backends=LOCAL) is None
    finished = await ledger.get(ALICE, "local", "done")
    assert await ledger.request_cancel(ALICE, "local", "done", T0) == finished


async def test_a_finished_run_keeps_the_worker_and_ends_the_lease(ledger: AnyLedger) -> None:
    """finish stores the result for the lease holder; the lease ends, attempts stay."""
    await ledger.insert(make_record("r1"))
    claimed = await ledger.claim("w1", 30, T0, backends=LOCAL)
    assert claimed is not None
    assert claimed.attempts == 1
    assert claimed.lease_until == T0 + timedelta(seconds=30)
    done = await ledger.finish("local", "r1", "w1", completed(claimed.run))
    assert done is not None
    assert done.run.status is S.completed
    assert (done.claimed_by, done.lease_until, done.attempts) == ("w1", None, 1)


async def test_two_claimers_never_take_the_same_run(open_ledger: OpenLedger) -> None:
    """Concurrent claims through two handles on one store hand out each queued run once."""
    one, two = await open_ledger(), await open_ledger()
    for i in range(30):
        await one.insert(make_record(f"r{i}"))
    claims = [
        ledger.claim(f"w{n}", 30, T0, backends=LOCAL) for n in range(30) for ledger in (one, two)
    ]
    taken = [r.upstream_id for r in await asyncio.gather(*claims) if r is not None]
    assert sorted(taken) == sorted(f"r{i}" for i in range(30))


async def test_claim_takes_the_oldest_queued_run_of_its_backends(ledger: AnyLedger) -> None:
    """Claims go in insertion order and only to runs of the named backends."""
    await ledger.insert(make_record("remote", backend="extend"))
    await ledger.insert(make_record("first"))
    await ledger.insert(make_record("second"))
    first = await ledger.claim("w1", 30, T0, backends=LOCAL)
    second = await ledger.claim("w1", 30, T0, backends=LOCAL)
    assert [r.upstream_id for r in (first, second) if r is not None] == ["first", "second"]
    assert await ledger.claim("w1", 30, T0, backends=LOCAL) is None
    assert await ledger.claim("w1", 30, T0, backends=()) is None


async def test_an_expired_lease_is_reclaimed_and_counts_an_attempt(ledger: AnyLedger) -> None:
    """A run whose lease ran out goes to the next claimer; the old worker loses its hold."""
    await ledger.insert(make_record("r1"))
    await ledger.claim("w1", 10, T0, backends=LOCAL)
    assert await ledger.claim("w2", 10, T0 + timedelta(seconds=5), backends=LOCAL) is None
    assert await ledger.heartbeat("local", "r1", "w1", 10, T0 + timedelta(seconds=5))
    assert await ledger.claim("w2", 10, T0 + timedelta(seconds=12), backends=LOCAL) is None
    retaken = await ledger.claim("w2", 10, T0 + timedelta(seconds=16), backends=LOCAL)
    assert retaken is not None
    assert (retaken.claimed_by, retaken.attempts) == ("w2", 2)
    assert not await ledger.heartbeat("local", "r1", "w1", 10, T0 + timedelta(seconds=17))
    assert await ledger.finish("local", "r1", "w1", completed(retaken.run)) is None
    assert await ledger.finish("local", "r1", "w2", completed(retaken.run)) is not None


async def test_claim_fails_runs_out_of_attempts_instead_of_retaking_them(
    ledger: AnyLedger,
) -> None:
    """With max_attempts, an expired run tried that often fails with INTERRUPTED."""
    await ledger.insert(make_record("r1"))
    await ledger.claim("w1", 10, T0, backends=LOCAL)
    later = T0 + timedelta(minutes=1)
    assert await ledger.claim("w2", 10, later, backends=LOCAL, max_attempts=1) is None
    record = await ledger.get(ALICE, "local", "r1")
    assert record is not None
    assert record.run.status is S.failed
    assert record.run.error is not None
    assert record.run.error.code == INTERRUPTED


def _abandoned(upstream_id: str, *, attempts: int, lease_until: datetime) -> RunRecord:
    """A run a worker claimed and then never finished (its process died)."""
    record = make_record(upstream_id, status=S.running)
    return msgspec.structs.replace(
        record, claimed_by="dead", lease_until=lease_until, attempts=attempts
    )


async def test_recover_requeues_or_fails_abandoned_runs_visibly(ledger: AnyLedger) -> None:
    """Expired runs go back to the queue, or fail INTERRUPTED at max attempts; others stay."""
    expired, live = T0 + timedelta(seconds=10), T0 + timedelta(hours=1)
    await ledger.insert(_abandoned("retry", attempts=1, lease_until=expired))
    await ledger.insert(_abandoned("give-up", attempts=3, lease_until=expired))
    await ledger.insert(_abandoned("alive", attempts=1, lease_until=live))
    await ledger.insert(make_record("upstream", backend="extend", status=S.running))
    report = await ledger.recover(T0 + timedelta(minutes=1), max_attempts=3)
    assert (report.resumed, report.failed) == (1, 1)
    states = {r.upstream_id: r for r in (await ledger.list(ALICE, canonical.ListQuery())).records}
    assert states["retry"].run.status is S.queued
    assert states["retry"].claimed_by is None
    failed = states["give-up"].run
    assert failed.status is S.failed
    assert failed.error is not None
    assert failed.error.code == INTERRUPTED
    assert "3 times" in failed.error.message
    assert states["alive"].run.status is S.running
    assert states["upstream"].run.status is S.running
    again = await ledger.claim("w1", 10, T0 + timedelta(minutes=1), backends=LOCAL)
    assert again is not None
    assert (again.upstream_id, again.attempts) == ("retry", 2)


async def test_the_ledger_survives_reopening(open_ledger: OpenLedger) -> None:
    """Reopening a store keeps its runs."""
    async with await open_ledger() as ledger:
        inserted = await ledger.insert(make_record("r1"))
    async with await open_ledger() as ledger:
        assert await ledger.get(ALICE, "local", "r1") == inserted


# About the SQLite file itself (its schema version row, its journal): SQLite only.
async def test_a_reopened_file_keeps_its_schema_version_and_journal(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.db")
    async with await SqliteLedger.open(path) as ledger:
        await ledger.insert(make_record("r1"))
    async with await SqliteLedger.open(path):
        pass
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_a_newer_schema_refuses_to_open(tmp_path: Path) -> None:
    """A file written by a newer crosswalk is not silently misread."""
    path = str(tmp_path / "ledger.db")
    async with await SqliteLedger.open(path):
        pass
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(LedgerError, match="version 99"):
        await SqliteLedger.open(path)
