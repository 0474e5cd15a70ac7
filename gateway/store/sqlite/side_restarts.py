"""Starting a comparison's side again when it has no run: a resumed `crosswalk replay` sends
its document once more, so a failure before any run existed (a vendor's passing outage, a
side left `interrupted`) does not stick, and its latency counts from the new start.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from gateway.store.sqlite.schema import immediate
from gateway.store.sqlite.times import to_us

_RESTART = (
    "UPDATE comparison_sides SET started_us = ?, finished_us = NULL, error = NULL"
    " WHERE comparison_id = ? AND backend = ? AND upstream_id IS NULL"
)
_REOPEN = "UPDATE comparisons SET completed_us = NULL WHERE id = ?"


def restart_side(conn: sqlite3.Connection, comparison_id: str, backend: str, now: datetime) -> bool:
    """Start the side, which has no run, again at `now`; its comparison is no longer
    completed. False, writing nothing, if the side is unknown or has a run."""
    with immediate(conn):
        if conn.execute(_RESTART, (to_us(now), comparison_id, backend)).rowcount == 0:
            return False
        conn.execute(_REOPEN, (comparison_id,))
    return True
