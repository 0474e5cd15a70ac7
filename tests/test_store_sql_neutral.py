"""The statement shapes the ledger's jobs use so SQLite and PostgreSQL run one set of SQL
(`INSERT … RETURNING`, `ON CONFLICT`, `LIKE` with escaped wildcards, CASE for SQLite's
scalar min/max, a claim's order without SQLite's rowid), proven on SQLite.

Each test runs against two ledgers over a real SQLite file: `SqliteLedger` as served, and a
`SqlLedger` whose connection SQLite does not recognise as its own (`NeutralConnection`), so
`gateway.store.sql_dialect` hands it the SQL written for every other store: `LIKE` rather
than `instr`, no `INDEXED BY`, no rowid, no FTS5 race. Both must answer alike.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.store import DuplicateRun, SqliteLedger
from gateway.store.base import DuplicateBatch, DuplicateFile
from gateway.store.idempotency import IdempotencySlot, Replay, Reserved, StoredAnswer
from gateway.store.records import NewEvent
from gateway.store.sql import Cursor, Job, P, T
from gateway.store.sql_dialect import like_pattern
from gateway.store.sql_ledger import SqlLedger
from gateway.store.sqlite.schema import connect, immediate, snapshot
from mappings import canonical
from mappings.files import FileQuery
from tests.test_batch_store import batch
from tests.test_store import ALICE, T0, make_record
from tests.test_store_files import make_file

# what a filename search must read literally: LIKE's wildcards, its escape, and casefolding
NAMES = ("100%.pdf", "100x.pdf", "a_b.pdf", "axb.pdf", "c\\d.pdf", "cd.pdf", "Straße.pdf")


class NeutralConnection:
    """A SQLite connection as any other store's: not a `sqlite3.Connection`, with the
    transactions a `ManagedConnection` opens (SQLite's own) and no row locks to ask for."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        return self.conn.execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor:
        return self.conn.executemany(sql, parameters)

    @contextmanager
    def immediate(self) -> Iterator[None]:
        with immediate(self.conn):
            yield

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        with snapshot(self.conn):
            yield

    @property
    def skip_locked(self) -> str:
        return ""  # SQLite's write transaction already holds the whole file


class NeutralRunner:
    """A `LedgerRunner` running every job, one at a time, on one `NeutralConnection`."""

    def __init__(self, path: str) -> None:
        self._conn = NeutralConnection(connect(path))
        self._turn = asyncio.Lock()

    async def write(self, job: Job[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        async with self._turn:
            return await asyncio.to_thread(job, self._conn, *args, **kwargs)

    async def read(self, job: Job[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        def in_snapshot() -> T:
            with self._conn.snapshot():
                return job(self._conn, *args, **kwargs)

        async with self._turn:
            return await asyncio.to_thread(in_snapshot)

    read_point = read

    async def close(self) -> None:
        self._conn.conn.close()


@pytest.fixture(params=["sqlite", "neutral"])
async def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlLedger]:
    path = str(tmp_path / "ledger.db")
    if request.param == "sqlite":
        opened: SqlLedger = await SqliteLedger.open(path, clock=lambda: T0)
    else:
        opened = SqlLedger(NeutralRunner(path), clock=lambda: T0)
    async with opened:
        yield opened


def test_a_like_pattern_escapes_the_wildcards_and_the_escape() -> None:
    assert like_pattern("a%b_c\\d") == "%a\\%b\\_c\\\\d%"
    with closing(sqlite3.connect(":memory:")) as conn:
        matched = "SELECT ? LIKE ? ESCAPE '\\'"
        assert conn.execute(matched, ("1a%b_c\\d2", like_pattern("a%b_c\\d"))).fetchone()[0]
        assert not conn.execute(matched, ("axbxc\\d", like_pattern("a%b_c\\d"))).fetchone()[0]


@pytest.mark.parametrize(
    ("needle", "found"),
    [
        ("%", ["100%.pdf"]),
        ("0%.p", ["100%.pdf"]),  # long enough for the trigram index on SQLite
        ("_", ["a_b.pdf"]),
        ("a_b", ["a_b.pdf"]),
        ("\\", ["c\\d.pdf"]),
        ("c\\d", ["c\\d.pdf"]),
        ("STRASSE", ["Straße.pdf"]),  # both sides casefolded
    ],
)
async def test_a_run_filename_search_reads_wildcards_literally(
    ledger: SqlLedger, needle: str, found: list[str]
) -> None:
    for n, name in enumerate(NAMES):
        await ledger.insert(make_record(f"r{n}", filename=name))
    page = await ledger.list(ALICE, canonical.ListQuery(filename_contains=needle, limit=50))
    assert [r.filename for r in page.records] == found


@pytest.mark.parametrize(
    ("needle", "found"),
    [("%", ["100%.pdf"]), ("_", ["a_b.pdf"]), ("\\", ["c\\d.pdf"]), ("strasse", ["Straße.pdf"])],
)
async def test_a_file_name_search_reads_wildcards_literally(
    ledger: SqlLedger, needle: str, found: list[str]
) -> None:
    for n, name in enumerate(NAMES, start=1):
        await ledger.insert_file(make_file(n, name=name))
    page = await ledger.list_files(ALICE, FileQuery(name_contains=needle, limit=50))
    assert [r.file.name for r in page.records] == found


async def test_inserts_return_the_seq_each_row_was_given(ledger: SqlLedger) -> None:
    """`INSERT … RETURNING seq`: every record comes back numbered, in the order written, and
    reads back with that number."""
    runs = [await ledger.insert(make_record(f"r{n}")) for n in range(3)]
    assert [r.seq for r in runs] == sorted({r.seq for r in runs})
    assert runs[0].seq > 0
    assert await ledger.get(ALICE, "local", "r2") == runs[2]
    files = [await ledger.insert_file(make_file(n)) for n in (1, 2)]
    assert 0 < files[0].seq < files[1].seq
    assert await ledger.get_file(ALICE, files[1].file.id) == files[1]
    batches = [await ledger.insert_batch(batch(f"bpr_{n}"), [b"{}"]) for n in (1, 2)]
    assert 0 < batches[0].seq < batches[1].seq


async def test_a_refused_duplicate_leaves_the_ledger_writable(ledger: SqlLedger) -> None:
    """A constraint refusal ends its job (PostgreSQL aborts the transaction): the error is
    the ledger's own, and the next write goes through."""
    await ledger.insert(make_record("r1"))
    with pytest.raises(DuplicateRun):
        await ledger.insert(make_record("r1"))
    await ledger.insert_file(make_file(1))
    with pytest.raises(DuplicateFile):
        await ledger.insert_file(make_file(1))
    await ledger.insert_batch(batch("bpr_1"), [b"{}"])
    with pytest.raises(DuplicateBatch):
        await ledger.insert_batch(batch("bpr_1"), [b"{}"])
    assert (await ledger.insert(make_record("r2"))).upstream_id == "r2"


async def test_an_event_raised_twice_under_one_id_is_owed_once(ledger: SqlLedger) -> None:
    """`ON CONFLICT DO NOTHING`, as `INSERT OR IGNORE` was: the second raise writes nothing."""
    await ledger.subscribe({"a": ("relayed",)})
    event = NewEvent(
        event_type="relayed", kind="raw", owner=ALICE, subject="s", data=b"{}", event_id="evt_1"
    )
    assert await ledger.add_event(event) == "evt_1"
    assert await ledger.add_event(event) is None
    assert [d.event_id for d in await ledger.list_deliveries()] == ["evt_1"]


async def test_an_expired_key_is_reserved_afresh_without_its_old_answer(
    ledger: SqlLedger, tmp_path: Path
) -> None:
    """`ON CONFLICT … DO UPDATE`, as `INSERT OR REPLACE` was: the slot is replaced whole."""
    slot = IdempotencySlot(owner=ALICE, scope="POST /classify_runs", key="k")
    hour = timedelta(hours=1)
    first = await ledger.reserve_idempotency(
        slot, "h", now=T0, lease_until=T0 + hour, expired_before=T0 - hour
    )
    assert isinstance(first, Reserved)
    answer = StoredAnswer(status=201, headers=(("a", "b"),), body=b"kept")
    assert await ledger.complete_idempotency(slot, first.holder, answer, T0)
    later = T0 + 2 * hour
    kept = await ledger.reserve_idempotency(
        slot, "h", now=later, lease_until=later + hour, expired_before=T0 - hour
    )
    assert kept == Replay(answer=answer)
    again = await ledger.reserve_idempotency(
        slot, "h", now=later, lease_until=later + hour, expired_before=later - hour
    )
    assert isinstance(again, Reserved)
    assert again.holder != first.holder
    with closing(sqlite3.connect(tmp_path / "ledger.db")) as conn:
        row = conn.execute("SELECT holder, status, headers, body, done_us FROM idempotency_keys")
        assert row.fetchall() == [(again.holder, None, None, None, None)]


async def test_batch_inputs_are_claimed_oldest_batch_first_in_input_order(
    ledger: SqlLedger,
) -> None:
    """The order SQLite's rowid gives, which other stores get from the batch's seq."""
    await ledger.insert_batch(batch("bpr_z", runs=2), [b"{}", b"{}"])
    await ledger.insert_batch(batch("bpr_a", runs=2), [b"{}", b"{}"])
    claimed = [await ledger.claim_batch_input("w", 60, T0) for _ in range(5)]
    slots = [None if c is None else (c.batch_id, c.index) for c in claimed]
    assert slots == [("bpr_z", 0), ("bpr_z", 1), ("bpr_a", 0), ("bpr_a", 1), None]


async def test_a_released_delivery_is_due_at_the_sooner_time_its_attempt_uncounted(
    ledger: SqlLedger,
) -> None:
    """CASE in place of SQLite's two-argument min and max."""
    await ledger.subscribe({"a": ("relayed",)})
    event = NewEvent(event_type="relayed", kind="raw", owner=ALICE, subject="s", data=b"{}")
    await ledger.add_event(event)
    due = T0 + timedelta(days=1)  # past the event's own time, whichever clock raised it
    (held,) = await ledger.claim_deliveries("w", due, 60, 10)
    assert held.attempts == 1
    assert await ledger.release(held, "w", due + timedelta(hours=1))
    (kept,) = await ledger.list_deliveries()
    assert (kept.next_attempt_at, kept.attempts) == (held.next_attempt_at, 0)
    (again,) = await ledger.claim_deliveries("w", due, 60, 10)
    sooner = held.next_attempt_at - timedelta(hours=1)
    assert await ledger.release(again, "w", sooner)
    (last,) = await ledger.list_deliveries()
    assert (last.next_attempt_at, last.attempts) == (sooner, 0)
