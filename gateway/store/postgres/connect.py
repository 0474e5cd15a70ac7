"""One direct connection to a PostgreSQL ledger's database, for migrating it and for the
checks made before a pool is opened; its errors are `LedgerError`s in one line, naming the
database without its password.

A pool retries a failing connection in the background until its timeout, and says only that
it timed out; this connection fails at once with the server's reason (refused, unknown
host, authentication failed).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from gateway.store.base import LedgerError
from gateway.store.postgres.urls import redacted, scrubbed

CONNECT_TIMEOUT = 10  # seconds, unless the URL sets its own `connect_timeout`


def connect(url: str) -> psycopg.Connection[Any]:
    """One connection to `url` in autocommit mode; LedgerError (without the password) if it
    cannot be made."""
    try:
        given = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise LedgerError(f"{redacted(url)} is not a valid PostgreSQL URL") from None
    conninfo = (
        url if "connect_timeout" in given else make_conninfo(url, connect_timeout=CONNECT_TIMEOUT)
    )
    try:
        return psycopg.connect(conninfo, autocommit=True)
    except psycopg.Error as exc:
        raise failed(url, "cannot be reached", exc) from None


def failed(url: str, what: str, exc: Exception) -> LedgerError:
    """The LedgerError saying the ledger at `url` `what` (cannot be …) because of `exc`."""
    reason = scrubbed(str(exc), url) or type(exc).__name__
    return LedgerError(f"the ledger at {redacted(url)} {what}: {reason}")
