"""A comparison's sides kept in step with their runs, inside the write that changes a run:
a comparison's own run is linked to its side as it is recorded, and any linked run reaching
a terminal status finishes its side, completing the comparison when it was the last.

Called by `writes.insert` and `events.run_saved`; imports no module of this package that
records runs, so the run hook can call it.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from gateway.store.records import RunRecord
from gateway.store.sqlite.times import to_us

_LINK = (
    "UPDATE comparison_sides SET upstream_id = ? WHERE comparison_id = ? AND backend = ?"
    " AND upstream_id IS NULL AND finished_us IS NULL"
)
_WAITING_ON = (
    "SELECT comparison_id FROM comparison_sides INDEXED BY comparison_sides_run"
    " WHERE backend = ? AND upstream_id = ? AND finished_us IS NULL"
)
_FINISH = (
    "UPDATE comparison_sides SET finished_us = ?"
    " WHERE comparison_id = ? AND backend = ? AND finished_us IS NULL"
)
_COMPLETE = (
    "UPDATE comparisons SET completed_us = ? WHERE id = ? AND completed_us IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM comparison_sides WHERE comparison_id = ?"
    " AND finished_us IS NULL)"
)


def link(conn: sqlite3.Connection, record: RunRecord) -> None:
    """Name `record`, a run just recorded for its comparison, as its backend's side's run;
    a side that has a run already, or has failed, keeps what it has."""
    if record.comparison is not None:
        conn.execute(_LINK, (record.upstream_id, record.comparison, record.backend))


def run_finished(conn: sqlite3.Connection, backend: str, upstream_id: str, now: datetime) -> None:
    """Finish every side waiting on the run, which has just reached a terminal status; one
    indexed read when the run is in no comparison (every terminal save pays it)."""
    waiting = conn.execute(_WAITING_ON, (backend, upstream_id)).fetchall()
    for (comparison_id,) in waiting:
        conn.execute(_FINISH, (to_us(now), comparison_id, backend))
        complete(conn, comparison_id, now)


def complete(conn: sqlite3.Connection, comparison_id: str, now: datetime) -> bool:
    """Mark the comparison completed at `now` if every side of it is finished and it was not
    already; whether it was."""
    return conn.execute(_COMPLETE, (to_us(now), comparison_id, comparison_id)).rowcount > 0
