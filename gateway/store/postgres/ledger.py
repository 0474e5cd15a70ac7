"""`PostgresLedger`: the ledger (runs, files, the local work queue, the webhook outbox,
batches, comparisons, Idempotency-Key slots) in one PostgreSQL database that every replica
shares; `migrate` (from schema.py) brings a database up to its schema.

The ledger's methods and SQL are SQLite's (`SqlLedger` over the jobs of
gateway/store/sqlite/), run by a `PgRunner` on pooled connections. Opening connects once
directly, so an unreachable server or refused credentials is one clear error at once (a pool
would keep retrying in the background), and migrates the schema before the pool opens.
Every error names the database by its URL without the password (`urls.redacted`).
"""

from __future__ import annotations

from collections.abc import Callable

import anyio.to_thread
import psycopg

from gateway.clock import Clock, system_clock
from gateway.config import DEFAULT_POOL_SIZE
from gateway.store.postgres.connect import CONNECT_TIMEOUT, failed
from gateway.store.postgres.runner import PgRunner
from gateway.store.postgres.schema import migrate as migrate
from gateway.store.sql_ledger import SqlLedger


class PostgresLedger(SqlLedger):
    """`SqlLedger` on a PostgreSQL database; open with `await PostgresLedger.open(url)`."""

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        clock: Clock = system_clock,
        on_enqueue: Callable[[], None] = lambda: None,
        on_event: Callable[[], None] = lambda: None,
        on_batch: Callable[[], None] = lambda: None,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> PostgresLedger:
        """Open (migrating first) the ledger in the database at `url`, on up to `pool_size`
        connections; the callbacks are `SqlLedger`'s. Raises LedgerError, saying why in one
        line, if the server cannot be reached or the schema is newer than this crosswalk's."""
        await anyio.to_thread.run_sync(migrate, url)
        try:
            runner = await PgRunner.open(url, size=pool_size, timeout=CONNECT_TIMEOUT)
        except psycopg.Error as exc:  # the pool's own timeout, after the server went away
            raise failed(url, "cannot be reached", exc) from None
        return cls(runner, clock=clock, on_enqueue=on_enqueue, on_event=on_event, on_batch=on_batch)
