"""Telling a store that is out of reach from a bug: a request whose ledger call failed because
the database could not be reached (PostgreSQL down or restarting, its pool exhausted past its
timeout, SQLite's file locked past its busy timeout) is answered 503 with Retry-After, a
condition the client may retry, not a 500."""

from __future__ import annotations

import sqlite3

import psycopg
import psycopg_pool

RETRY_AFTER_SECONDS = 1

# SQLite's own "unavailable": the file stayed locked past the busy timeout
_SQLITE_BUSY = ("database is locked", "database is busy")


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` says the store could not be reached or used for now, not that the
    gateway asked it something wrong."""
    if isinstance(exc, psycopg_pool.PoolTimeout | psycopg.OperationalError):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        return any(text in str(exc) for text in _SQLITE_BUSY)
    return False
