"""`SqliteLedger`: the ledger (`SqlLedger`) over one SQLite file.

Each `SqliteLedger` runs on threads of its own (`LedgerThreads`): writes one at a time on one
writing connection, reads on read-only connections beside it (WAL), so a long listing never
holds up a write, and no ledger call waits behind other work in anyio's thread pool. Every
read-modify-write runs in `BEGIN IMMEDIATE`, which takes the file's write lock up front, so
claims, cancels and compare-and-set updates are atomic across processes too. The SQL it runs
is the package's job modules, the same the PostgreSQL store runs.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.clock import Clock, system_clock
from gateway.store.sql_ledger import SqlLedger
from gateway.store.sqlite.threads import LedgerThreads

READERS = 2  # read-only connections (and threads) per ledger


class SqliteLedger(SqlLedger):
    """`SqlLedger` over one SQLite file; open with `await SqliteLedger.open(path)`, and close
    it (or use it as an async context)."""

    @classmethod
    async def open(
        cls,
        path: str,
        *,
        clock: Clock = system_clock,
        on_enqueue: Callable[[], None] = lambda: None,
        on_event: Callable[[], None] = lambda: None,
        on_batch: Callable[[], None] = lambda: None,
    ) -> SqliteLedger:
        """Open (creating or upgrading) the ledger at `path`, reading the time from `clock`;
        the callbacks are `SqlLedger`'s."""
        threads = await LedgerThreads.open(path, readers=READERS)
        return cls(
            threads, clock=clock, on_enqueue=on_enqueue, on_event=on_event, on_batch=on_batch
        )
