"""The SQLite ledger's own threads and connections: a long read does not hold up a write,
ledger calls never wait for anyio's default thread pool, and closing closes every
connection (issue 9, items 9 and 13).

SQLite only: the thread layout is SQLite's runner (PostgreSQL's is its connection pool)."""

from __future__ import annotations

import gc
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from gateway.store import LedgerError, SqliteLedger
from mappings import canonical
from tests.test_store import ALICE, ids, make_record

GIVE_UP = 5.0  # seconds a held call waits before letting go, so a failing test ends


def live_connections() -> list[sqlite3.Connection]:
    return [o for o in gc.get_objects() if isinstance(o, sqlite3.Connection)]


@asynccontextmanager
async def ledger_and_connections(
    path: str,
) -> AsyncIterator[tuple[SqliteLedger, list[sqlite3.Connection]]]:
    """An open ledger and the connections it opened (found by the garbage collector: those
    that were not there before)."""
    before = live_connections()
    async with await SqliteLedger.open(path) as ledger:
        known = {id(conn) for conn in before}
        yield ledger, [conn for conn in live_connections() if id(conn) not in known]


class HoldOnce:
    """A SQLite progress handler that holds the first statement to call it until released
    (or until GIVE_UP), and lets every later one through."""

    def __init__(self) -> None:
        self.holding, self.release, self.resumed = (threading.Event() for _ in range(3))
        self._lock = threading.Lock()
        self._used = False

    def __call__(self) -> int:
        with self._lock:
            first, self._used = not self._used, True
        if first:
            self.holding.set()
            self.release.wait(GIVE_UP)
            self.resumed.set()
        return 0  # carry on


async def test_a_write_completes_while_a_listing_is_still_reading(tmp_path: Path) -> None:
    """A listing held in the middle of its read (its read transaction open on a reader
    connection) does not hold up an insert: the insert commits first, then the listing
    finishes. Before, one lock around one connection made the insert wait for the list."""
    async with ledger_and_connections(str(tmp_path / "ledger.db")) as (ledger, connections):
        await ledger.insert(make_record("r0"))
        hold = HoldOnce()
        for conn in connections:
            conn.set_progress_handler(hold, 1)
        async with anyio.create_task_group() as tasks:
            listed: list[list[str]] = []

            async def listing() -> None:
                page = await ledger.list(ALICE, canonical.ListQuery())
                listed.append(ids(page.records))

            tasks.start_soon(listing)
            await anyio.to_thread.run_sync(hold.holding.wait, GIVE_UP)
            assert hold.holding.is_set()
            inserted = await ledger.insert(make_record("r1"))
            written_while_held = not hold.resumed.is_set()
            hold.release.set()
        assert written_while_held
        assert await ledger.get(ALICE, "local", "r1") == inserted
        [page] = listed
        assert page[-1] == "r0"  # r1 too if the listing was held before its first read


async def test_ledger_calls_do_not_wait_for_anyio_s_default_threads(tmp_path: Path) -> None:
    """With every token of anyio's default thread limiter taken (as by documents being
    extracted), the ledger still opens, writes, reads, lists and closes."""
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = 1
    release, lapsed = threading.Event(), threading.Event()

    def occupy() -> None:
        if not release.wait(GIVE_UP):
            lapsed.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(anyio.to_thread.run_sync, occupy)
        while limiter.borrowed_tokens < 1:
            await anyio.lowlevel.checkpoint()
        try:
            async with await SqliteLedger.open(str(tmp_path / "ledger.db")) as ledger:
                await ledger.insert(make_record("r1"))
                assert await ledger.find("local", "r1") is not None
                assert ids((await ledger.list(ALICE, canonical.ListQuery())).records) == ["r1"]
        finally:
            release.set()
    assert not lapsed.is_set(), "a ledger call waited for anyio's thread pool"


async def test_closing_the_ledger_closes_every_connection_it_opened(tmp_path: Path) -> None:
    """The writer and every reader are closed by `close`; none is left to the GC."""
    async with ledger_and_connections(str(tmp_path / "ledger.db")) as (ledger, connections):
        await ledger.insert(make_record("r1"))
        assert await ledger.get(ALICE, "local", "r1") is not None
        assert len(connections) >= 2  # a writer and at least one reader
    for conn in connections:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            conn.execute("SELECT 1")


@pytest.mark.parametrize("path", ["", ":memory:"])
async def test_a_ledger_without_a_file_is_refused_clearly(path: str) -> None:
    """The ledger reads on connections of their own, which a private or in-memory database
    would not share: that is an error naming the path, not an empty ledger."""
    with pytest.raises(LedgerError, match="needs a file"):
        await SqliteLedger.open(path)
