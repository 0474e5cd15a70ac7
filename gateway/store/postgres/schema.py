"""Bringing a PostgreSQL database up to the ledger's schema (`migrations.MIGRATIONS`).

Every replica migrates on start-up, often at the same moment: the migration runs in one
transaction holding a transaction-level advisory lock, so one replica migrates and the
others, let in after it commits, find the database current and change nothing. A database
migrated by a newer crosswalk is refused, as SQLite's ledger file is.
"""

from __future__ import annotations

from typing import Any

import psycopg

from gateway.store.migrating import bring_up_to_date
from gateway.store.postgres.connect import connect, failed
from gateway.store.postgres.migrations import MIGRATIONS, SCHEMA_VERSION

# the advisory lock every crosswalk migrating this database takes ("crosswalk" in ASCII,
# truncated to fit a bigint): another application's lock is unlikely to share it
MIGRATION_LOCK = int.from_bytes(b"crosswlk", "big") >> 1
VERSION = "SELECT coalesce(max(version), 0) FROM schema_version"


def migrate(url: str) -> tuple[int, int]:
    """Bring the database at `url` up to this crosswalk's schema; its version before and
    after. Safe while replicas run or migrate at the same moment."""
    with connect(url) as conn:
        try:
            return migrate_connection(conn)
        except psycopg.Error as exc:
            raise failed(url, "cannot be migrated", exc) from None


def version(url: str) -> int | None:
    """The schema version of the ledger in the database at `url`, None when it holds none;
    nothing is written."""
    with connect(url) as conn:
        try:
            return current_version(conn)
        except psycopg.Error as exc:
            raise failed(url, "cannot be read", exc) from None


def migrate_connection(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    """Apply the migrations `conn`'s database lacks, in one transaction; the schema version
    before and after. `conn` is in autocommit mode, outside a transaction."""
    # READ COMMITTED: once the lock is held, the version read is the one the last migrating
    # replica committed (a snapshot taken before the lock could predate it)
    conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute(VERSION).fetchone()
        version: int = row[0] if row is not None else 0
        bring_up_to_date(conn, version, MIGRATIONS, placeholder="%s")
        conn.execute("COMMIT")
    except BaseException:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute("ROLLBACK")
        raise
    return version, SCHEMA_VERSION


def current_version(conn: psycopg.Connection[Any]) -> int | None:
    """The database's schema version, None when it holds no ledger (nothing is changed)."""
    exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if exists is None or not exists[0]:
        return None
    row = conn.execute(VERSION).fetchone()
    return row[0] if row is not None and row[0] > 0 else None
