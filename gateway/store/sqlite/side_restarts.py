"""Starting a comparison's side again when it has no run: a resumed `crosswalk replay` sends
its document once more, so a failure before any run existed (a vendor's passing outage, a
side left `interrupted`) does not stick, and its latency counts from the new start; and
a comparison's expected label set again when a rerun is given another labels file.
"""

from __future__ import annotations

from datetime import datetime

from gateway.store.sql import Connection, immediate
from gateway.store.sqlite.comparison_sides import REOPEN
from gateway.store.sqlite.times import to_us

_RESTART = (
    "UPDATE comparison_sides SET started_us = ?, finished_us = NULL, error = NULL"
    " WHERE comparison_id = ? AND backend = ? AND upstream_id IS NULL"
)


def restart_side(conn: Connection, comparison_id: str, backend: str, now: datetime) -> bool:
    """Start the side, which has no run, again at `now`; its comparison is no longer
    completed. False, writing nothing, if the side is unknown or has a run."""
    with immediate(conn):
        if conn.execute(_RESTART, (to_us(now), comparison_id, backend)).rowcount == 0:
            return False
        conn.execute(REOPEN, (comparison_id,))
    return True


_RELABEL = "UPDATE comparisons SET expected = ? WHERE id = ?"


def set_expected(conn: Connection, comparison_id: str, expected: str | None) -> bool:
    """The comparison's expected label is now `expected` (a replay rerun with another labels
    file); False if there is no such comparison."""
    with immediate(conn):
        return conn.execute(_RELABEL, (expected, comparison_id)).rowcount > 0
