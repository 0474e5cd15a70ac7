"""Cheap reads for operators: is the ledger readable (`/readyz`), and how much background
work waits in it (the queue gauge of `/metrics`). Each is one indexed read."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence

from gateway.store.base import LedgerError
from gateway.store.sql import Connection


def ping(conn: Connection) -> None:
    """Read the ledger's first row; on SQLite, raise LedgerError when its file is no longer
    on disk.

    An open connection reads and writes a deleted file as if nothing happened, and all of it
    is lost with the process: a ledger whose file was removed must not look ready."""
    conn.execute("SELECT seq FROM runs ORDER BY seq LIMIT 1").fetchall()
    if isinstance(conn, sqlite3.Connection):
        _require_file(conn)


def _require_file(conn: sqlite3.Connection) -> None:
    for _, name, path in conn.execute("PRAGMA database_list").fetchall():
        if name == "main" and path and not os.path.exists(path):
            raise LedgerError("the ledger's file is no longer on disk")


def queue_depth(conn: Connection, local_backends: Sequence[str]) -> int:
    """Background runs of `local_backends` queued or running (the runs_queue index)."""
    if not local_backends:
        return 0
    marks = ",".join("?" * len(local_backends))
    query = "SELECT count(*) FROM runs WHERE status IN ('queued', 'running')"
    query += f" AND backend IN ({marks})"
    count: int = conn.execute(query, tuple(local_backends)).fetchone()[0]
    return count
