"""Cheap reads for operators: is the ledger readable (`/readyz`), and how much work waits in
it (the queue and outbox gauges of `/metrics`). Each is one indexed count or less."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence

from gateway.store.base import LedgerError
from gateway.store.probes import Depths


def ping(conn: sqlite3.Connection) -> None:
    """Read the ledger's first row; raise LedgerError when its file is no longer on disk.

    An open connection reads and writes a deleted file as if nothing happened, and all of it
    is lost with the process: a ledger whose file was removed must not look ready."""
    conn.execute("SELECT seq FROM runs ORDER BY seq LIMIT 1").fetchall()
    for _, name, path in conn.execute("PRAGMA database_list").fetchall():
        if name == "main" and path and not os.path.exists(path):
            raise LedgerError("the ledger's file is no longer on disk")


def depths(conn: sqlite3.Connection, local_backends: Sequence[str]) -> Depths:
    """Background runs of `local_backends` queued or running, and deliveries still owed."""
    marks = ",".join("?" * len(local_backends))
    queue = 0
    if local_backends:
        (queue,) = conn.execute(
            "SELECT count(*) FROM runs WHERE status IN ('queued', 'running')"
            f" AND backend IN ({marks})",
            tuple(local_backends),
        ).fetchone()
    (outbox,) = conn.execute(
        "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'"
    ).fetchone()
    return Depths(queue=int(queue), outbox=int(outbox))
