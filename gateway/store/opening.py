"""Opening the configured ledger, SQLite's or PostgreSQL's: the one place that chooses.

`open_ledger` is what the app (gateway/backends/factory.py) and start-up's probe open;
`open_existing` what the admin commands (`crosswalk compare`, `crosswalk webhooks`) open,
after checking there is a ledger to read (opening makes or upgrades one); `migrate_store`
what `crosswalk migrate` runs; `reach_store` what `check-config` and `serve` check first.
A place is a SQLite file's path or a PostgreSQL URL (`Settings.store`); every message names
it through `redacted`, so a password in the URL is never shown.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing
from functools import partial
from pathlib import Path

import anyio.to_thread
import psycopg

from gateway.clock import Clock, system_clock
from gateway.config import Settings
from gateway.store.base import LedgerError
from gateway.store.postgres import schema as postgres
from gateway.store.postgres.connect import connect
from gateway.store.postgres.ledger import PostgresLedger
from gateway.store.postgres.migrations import SCHEMA_VERSION as POSTGRES_VERSION
from gateway.store.postgres.urls import is_postgres, redacted
from gateway.store.sql_ledger import SqlLedger
from gateway.store.sqlite import SqliteLedger
from gateway.store.sqlite.existing import NoLedger as NoLedger  # re-exported
from gateway.store.sqlite.existing import require_ledger
from gateway.store.sqlite.schema import connect as sqlite_connect

# what opening or reading a ledger can raise, each said in one line by the commands
STORE_ERRORS = (LedgerError, sqlite3.Error, psycopg.Error, OSError)


async def open_ledger(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    on_enqueue: Callable[[], None] = lambda: None,
    on_event: Callable[[], None] = lambda: None,
    on_batch: Callable[[], None] = lambda: None,
) -> SqlLedger:
    """Open (creating or upgrading) the ledger `settings` names; the callbacks are
    `SqlLedger`'s doorbells."""
    opening: Callable[..., Awaitable[SqlLedger]]
    if settings.store_url is not None:
        pool_size = settings.store_pool_size
        opening = partial(PostgresLedger.open, settings.store_url, pool_size=pool_size)
    else:
        opening = partial(SqliteLedger.open, settings.store_path)
    return await opening(clock=clock, on_enqueue=on_enqueue, on_event=on_event, on_batch=on_batch)


async def open_existing(place: str, *, clock: Clock = system_clock) -> SqlLedger:
    """Open the ledger at `place` (a path or a PostgreSQL URL) if there is a current one;
    else raise NoLedger saying, in one line, what is there instead. Nothing is created."""
    if not is_postgres(place):
        require_ledger(place)
        return await SqliteLedger.open(place, clock=clock)
    version = await anyio.to_thread.run_sync(postgres.version, place)
    if version is None:
        raise NoLedger(
            f"no ledger in {redacted(place)} (the gateway or `crosswalk migrate` makes it)"
        )
    if version < POSTGRES_VERSION:
        raise NoLedger(
            f"the ledger in {redacted(place)} has schema version {version}, older than this "
            f"crosswalk's {POSTGRES_VERSION}: run `crosswalk migrate` to upgrade it"
        )
    return await PostgresLedger.open(place, clock=clock, pool_size=2)  # one command's calls


def migrate_store(place: str) -> tuple[int, int]:
    """Bring the ledger at `place` (created if missing) up to this crosswalk's schema; its
    version before and after."""
    if is_postgres(place):
        return postgres.migrate(place)
    before = _sqlite_version(place)
    sqlite_connect(place).close()  # connecting migrates the file
    return before, _sqlite_version(place)


def reach_store(settings: Settings) -> None:
    """Connect to the PostgreSQL server `settings` names and leave (LedgerError, in one
    line, if it cannot be reached or refuses the credentials); nothing for SQLite, whose
    file is checked by `gateway.startup.check_store`."""
    if settings.store_url is not None:
        connect(settings.store_url).close()


def _sqlite_version(path: str) -> int:
    """The schema version of the SQLite ledger at `path`; 0 for no file or no ledger yet."""
    if not Path(path).is_file():
        return 0
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as conn:
        try:
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        except sqlite3.OperationalError:  # no such table: an empty file
            return 0
    return row[0] if row is not None and isinstance(row[0], int) else 0
