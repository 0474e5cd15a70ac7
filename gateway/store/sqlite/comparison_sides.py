"""A comparison's sides kept in step with their runs, inside the write that changes a run:
a comparison's own run is linked to its side as it is recorded, any linked run reaching a
terminal status finishes its side (keeping a copy of the run), and a linked run deleted
before it ended fails its side; each completes the comparison when it was the last side.
A shadowed comparison completed so, whose shadow labelled the document otherwise than its
primary, is counted in `/metrics` (`crosswalk_shadow_disagreements`). The count and the warning of a
run linked to nothing are made once the write commits (after_commit.py), not once per try.

A side's run is the run of its (backend, upstream_id) that belongs to the comparison's
owner: another owner's run is never linked, finishes nothing and is never read through it.

Called by `writes` and `events.run_saved`; imports no module of this package that records
runs, so the run hook can call it.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

import msgspec
import structlog

from gateway import metrics
from gateway.store.after_commit import after_commit
from gateway.store.records import RunRecord
from gateway.store.sql import Connection
from gateway.store.sql_dialect import DIALECTS, dialect_of
from gateway.store.sqlite.times import to_us
from mappings import canonical
from mappings.labels import label_of

log = structlog.get_logger("crosswalk.comparisons")

DELETED = "deleted"  # the error of a side whose run was deleted before it ended
# the side's comparison is `?`'s (the run's owner)
_OWNED = (
    "EXISTS (SELECT 1 FROM comparisons AS c"
    " WHERE c.id = comparison_sides.comparison_id AND c.owner = ?)"
)
# a side failed before it had a run is reopened by its run turning up after all (a slow sync
# vendor answering past the side's failure): the run is billed, so the comparison shows it
_LINK = (
    "UPDATE comparison_sides SET upstream_id = ?, finished_us = NULL, error = NULL"
    f" WHERE comparison_id = ? AND backend = ? AND upstream_id IS NULL AND {_OWNED}"
)
REOPEN = "UPDATE comparisons SET completed_us = NULL WHERE id = ?"
_WAITING_ON_SQL = (
    "SELECT s.comparison_id FROM comparison_sides AS s{hint}"
    " JOIN comparisons AS c ON c.id = s.comparison_id"
    " WHERE s.backend = ? AND s.upstream_id = ? AND s.finished_us IS NULL AND c.owner = ?"
)
_WAITING_ON = {
    dialect: _WAITING_ON_SQL.format(hint=dialect.indexed_by("comparison_sides_run"))
    for dialect in DIALECTS
}
_FINISH = (
    "UPDATE comparison_sides SET finished_us = ?, run = ?, error = ?"
    " WHERE comparison_id = ? AND backend = ? AND finished_us IS NULL"
)
# completed when its last side finished, whichever write's clock came last
_COMPLETE = (
    "UPDATE comparisons SET completed_us = (SELECT max(finished_us) FROM comparison_sides"
    " WHERE comparison_id = ?) WHERE id = ? AND completed_us IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM comparison_sides WHERE comparison_id = ?"
    " AND finished_us IS NULL)"
)

_SHADOW_SIDES = (
    "SELECT s.backend, s.run, c.categories FROM comparison_sides AS s"
    " JOIN comparisons AS c ON c.id = s.comparison_id"
    " WHERE s.comparison_id = ? AND c.source = 'shadow' ORDER BY s.position"
)

_encoder = msgspec.json.Encoder()
_run = msgspec.json.Decoder(canonical.ClassificationRun)
_categories = msgspec.json.Decoder(tuple[canonical.Category, ...])


def link(conn: Connection, record: RunRecord) -> None:
    """Name `record`, a run just recorded for its comparison, as its backend's side's run,
    reopening the side if it had failed without one; a side that has a run keeps it, and
    another owner's comparison is left alone (logged, as a run linked to nothing)."""
    if record.comparison is None:
        return
    params = (record.upstream_id, record.comparison, record.backend, record.owner)
    if conn.execute(_LINK, params).rowcount == 0:
        unlinked = {"backend": record.backend, "comparison": record.comparison}
        after_commit(conn, lambda: log.warning("comparisons.unlinked_run", **unlinked))
        return
    conn.execute(REOPEN, (record.comparison,))


def run_finished(conn: Connection, record: RunRecord, now: datetime) -> None:
    """Finish every side waiting on `record`'s run, which has just reached a terminal
    status, keeping the run as it ended; one indexed read when the run is in no comparison
    (every terminal save pays it)."""
    _finish_waiting(conn, record.owner, record.backend, record.upstream_id, now, record.run, None)


def run_deleted(conn: Connection, key: tuple[str, str, str], now: datetime) -> None:
    """Fail, as deleted, every side still waiting on the run of `key` (owner, backend,
    upstream_id), which has just been deleted: it will never end."""
    owner, backend, upstream_id = key
    _finish_waiting(conn, owner, backend, upstream_id, now, None, DELETED)


def _finish_waiting(
    conn: Connection,
    owner: str,
    backend: str,
    upstream_id: str,
    now: datetime,
    run: canonical.ClassificationRun | None,
    error: str | None,
) -> None:
    waiting = conn.execute(_WAITING_ON[dialect_of(conn)], (backend, upstream_id, owner)).fetchall()
    if not waiting:
        return
    kept = None if run is None else _encoder.encode(run)  # encoded only for a side to keep
    for (comparison_id,) in waiting:
        conn.execute(_FINISH, (to_us(now), kept, error, comparison_id, backend))
        if complete(conn, comparison_id):
            _count_disagreements(conn, comparison_id)


def complete(conn: Connection, comparison_id: str) -> bool:
    """Mark the comparison completed, when its last side finished, if every side of it is
    finished and it was not already; whether it was."""
    params = (comparison_id, comparison_id, comparison_id)
    return conn.execute(_COMPLETE, params).rowcount > 0


def _count_disagreements(conn: Connection, comparison_id: str) -> None:
    """Count each shadow of a just-completed shadowed comparison whose label differs from its
    primary's (a failed side has no label: that is a failure, not a disagreement)."""
    rows = conn.execute(_SHADOW_SIDES, (comparison_id,)).fetchall()
    if len(rows) < 2:
        return  # a replay's comparison, or a shadow without its sides
    categories = _categories.decode(rows[0][2])
    (primary, label), *shadows = [(row[0], _label(row[1], categories)) for row in rows]
    for shadow, other in shadows:
        if label is not None and other is not None and other != label:
            after_commit(conn, partial(metrics.shadow_disagreed, primary, shadow))


def _label(kept: bytes | None, categories: tuple[canonical.Category, ...]) -> str | None:
    run = None if kept is None else _run.decode(kept)
    if run is None or run.status is not canonical.Status.completed or run.decision is None:
        return None
    return label_of(run.decision, categories)
