"""Comparisons' SQL: recording a comparison with its sides, failing a side that never got a
run, and reading comparisons back with each side's run as the ledger last recorded it (its
copy kept as the side finished, once the run itself is deleted).

Each write runs in one `immediate` transaction; sides are finished as their runs end by
`comparison_sides`, called from the run hook.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from gateway.store.base import LedgerError
from gateway.store.comparison_ledger import DuplicateComparison
from gateway.store.comparison_records import ComparisonRecord, ComparisonSource, SideRecord
from gateway.store.sql import Connection, immediate
from gateway.store.sql_dialect import dialect_of
from gateway.store.sqlite.comparison_schema import SIDE_OPEN
from gateway.store.sqlite.comparison_sides import DELETED, complete
from gateway.store.sqlite.times import from_us, to_us
from mappings import canonical

INTERRUPTED = "interrupted"  # the error of a side whose process died before its run existed
_BATCH = 500  # ids per statement, well under SQLite's limit on parameters
_COLUMNS = (
    "seq, id, owner, source, document, filename, categories, expected, created_us, completed_us"
)
_KNOWN = "SELECT 1 FROM comparisons WHERE id = ?"
_INSERT = (
    "INSERT INTO comparisons (id, owner, source, document, filename, categories, expected, "
    "created_us, completed_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_SIDE = (
    "INSERT INTO comparison_sides (comparison_id, position, backend, upstream_id, started_us, "
    "finished_us, error, run) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_SIDES = (
    "SELECT s.comparison_id, s.backend, s.upstream_id, s.started_us, s.finished_us, s.error,"
    " coalesce(r.run, s.run) FROM comparison_sides AS s"
    " JOIN comparisons AS c ON c.id = s.comparison_id"
    " LEFT JOIN runs AS r ON r.backend = s.backend AND r.upstream_id = s.upstream_id"
    " AND r.owner = c.owner"
)
_ENDED = (  # the run a side names, if its comparison's owner has it and it has ended
    "SELECT status, updated_us, run FROM runs WHERE backend = ? AND upstream_id = ? AND owner = ?"
)
_FAIL = (
    "UPDATE comparison_sides SET finished_us = ?, error = ? WHERE comparison_id = ?"
    " AND backend = ? AND upstream_id IS NULL AND finished_us IS NULL"
)
_END = (
    "UPDATE comparison_sides SET finished_us = ?, error = ? WHERE comparison_id = ?"
    " AND backend = ? AND finished_us IS NULL"
)
# unfinished sides that will never finish: no run yet, or a run no longer in the ledger
_STALE = (
    "SELECT s.comparison_id, s.backend, s.upstream_id"
    " FROM comparison_sides AS s{hint}"
    " JOIN comparisons AS c ON c.id = s.comparison_id"
    f" WHERE s.{SIDE_OPEN} AND s.started_us < ? AND (s.upstream_id IS NULL OR NOT EXISTS"
    " (SELECT 1 FROM runs AS r WHERE r.backend = s.backend AND r.upstream_id = s.upstream_id"
    " AND r.owner = c.owner))"
)
_TERMINAL = tuple(status.value for status in canonical.Status if status.terminal)

_encoder = msgspec.json.Encoder()
_categories = msgspec.json.Decoder(tuple[canonical.Category, ...])
_run = msgspec.json.Decoder(canonical.ClassificationRun)


def insert(conn: Connection, comparison: ComparisonRecord) -> ComparisonRecord:
    """Record `comparison` and its sides in one transaction; a side whose run has ended
    already is finished when it ended, and the comparison completed when its last side
    did if every side has. Raises DuplicateComparison; ValueError for two sides of one
    backend; any other refusal of the file's constraints as it is (one of CONSTRAINT_ERRORS)."""
    backends = [side.backend for side in comparison.sides]
    if len(set(backends)) < len(backends):
        raise ValueError(f"comparison {comparison.id} names a backend twice")
    with immediate(conn):
        if conn.execute(_KNOWN, (comparison.id,)).fetchone() is not None:
            raise DuplicateComparison(f"comparison {comparison.id} is already recorded")
        sides = [_settled(conn, comparison.owner, side) for side in comparison.sides]
        (seq,) = conn.execute(_INSERT + " RETURNING seq", _params(comparison)).fetchone()
        conn.executemany(
            _INSERT_SIDE,
            (_side_params(comparison.id, i, *side) for i, side in enumerate(sides)),
        )
        ends = [side.finished_at for side, _ in sides]
        if comparison.completed_at is None and sides and None not in ends:
            complete(conn, comparison.id)
        stored = _read(conn, " WHERE seq = ?", (seq,))
    assert len(stored) == 1  # just written in this transaction
    return stored[0]


def _settled(conn: Connection, owner: str, side: SideRecord) -> tuple[SideRecord, bytes | None]:
    """`side`, finished when its run (`owner`'s) ended if that run is terminal already, with
    the copy of the run it keeps then."""
    if side.finished_at is not None or side.upstream_id is None:
        return side, None
    row = conn.execute(_ENDED, (side.backend, side.upstream_id, owner)).fetchone()
    if row is None or row[0] not in _TERMINAL:
        return side, None
    return msgspec.structs.replace(side, finished_at=from_us(row[1])), row[2]


def _params(c: ComparisonRecord) -> tuple[Any, ...]:
    completed = None if c.completed_at is None else to_us(c.completed_at)
    head = (c.id, c.owner, c.source, c.document, c.filename, _encoder.encode(c.categories))
    return (*head, c.expected, to_us(c.created_at), completed)


def _side_params(
    comparison_id: str, position: int, side: SideRecord, run: bytes | None
) -> tuple[Any, ...]:
    finished = None if side.finished_at is None else to_us(side.finished_at)
    head = (comparison_id, position, side.backend, side.upstream_id, to_us(side.started_at))
    return (*head, finished, side.error, run)


def fail_side(
    conn: Connection, comparison_id: str, backend: str, error: str, now: datetime
) -> bool:
    """Finish the side, which never got a run, with `error`; completes the comparison if it
    was the last. False, writing nothing, if it is unknown, has a run or is finished."""
    with immediate(conn):
        if conn.execute(_FAIL, (to_us(now), error, comparison_id, backend)).rowcount == 0:
            return False
        complete(conn, comparison_id)
    return True


def fail_stale(conn: Connection, started_before: datetime, now: datetime) -> int:
    """Fail every side still waiting since before `started_before` that will never finish:
    as interrupted one with no run, as deleted one whose run is no longer in the ledger (a
    file written before deletes failed it); how many."""
    with immediate(conn):
        stale = conn.execute(_STALE.format(hint=_hint(conn)), (to_us(started_before),)).fetchall()
        for comparison_id, backend, upstream_id in stale:
            error = INTERRUPTED if upstream_id is None else DELETED
            conn.execute(_END, (to_us(now), error, comparison_id, backend))
        for comparison_id in dict.fromkeys(row[0] for row in stale):
            complete(conn, comparison_id)
    return len(stale)


def _hint(conn: Connection) -> str:
    return dialect_of(conn).indexed_by("comparison_sides_open")


def get(conn: Connection, owner: str, comparison_id: str) -> ComparisonRecord | None:
    """The owner's comparison, or None (also another owner's)."""
    found = _read(conn, " WHERE id = ? AND owner = ?", (comparison_id, owner))
    return found[0] if found else None


def listing(
    conn: Connection,
    owner: str | None,
    since: datetime | None,
    after: int,
    limit: int,
) -> tuple[ComparisonRecord, ...]:
    """Up to `limit` comparisons in `seq` order past `after`: `owner`'s (every owner's for
    None), created at or after `since` when given."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    clauses, params = ["seq > ?"], list[Any]([after])
    if owner is not None:
        clauses.append("owner = ?")
        params.append(owner)
    if since is not None:
        clauses.append("created_us >= ?")
        params.append(to_us(since))
    where = " WHERE " + " AND ".join(clauses) + " ORDER BY seq LIMIT ?"
    return _read(conn, where, (*params, limit))


def _read(conn: Connection, where: str, params: tuple[Any, ...]) -> tuple[ComparisonRecord, ...]:
    """The comparisons `where` selects, in its order, each with its sides and their runs."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM comparisons{where}", params).fetchall()
    sides = _sides_of(conn, [row[1] for row in rows])
    return tuple(_record(row, sides.get(row[1], [])) for row in rows)


def _sides_of(conn: Connection, ids: Sequence[str]) -> dict[str, list[SideRecord]]:
    """Each comparison's sides, primary first."""
    found: dict[str, list[SideRecord]] = {}
    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        marks = ", ".join("?" * len(batch))
        sql = f"{_SIDES} WHERE s.comparison_id IN ({marks}) ORDER BY s.comparison_id, s.position"
        for comparison_id, *side in conn.execute(sql, batch).fetchall():
            found.setdefault(comparison_id, []).append(_side(*side))
    return found


def _side(
    backend: str,
    upstream_id: str | None,
    started_us: int,
    finished_us: int | None,
    error: str | None,
    run: bytes | None,
) -> SideRecord:
    return SideRecord(
        backend=backend,
        upstream_id=upstream_id,
        started_at=from_us(started_us),
        finished_at=None if finished_us is None else from_us(finished_us),
        error=error,
        run=None if run is None else _run.decode(run),
    )


def _record(row: tuple[Any, ...], sides: list[SideRecord]) -> ComparisonRecord:
    seq, comparison_id, owner, source, document, filename, categories, expected = row[:8]
    created_us, completed_us = row[8:]
    return ComparisonRecord(
        id=comparison_id,
        owner=owner,
        source=_source(source),
        document=document,
        categories=_categories.decode(categories),
        created_at=from_us(created_us),
        sides=tuple(sides),
        filename=filename,
        expected=expected,
        completed_at=None if completed_us is None else from_us(completed_us),
        seq=seq,
    )


def _source(stored: str) -> ComparisonSource:
    # ComparisonRecord(...) checks no types: check here what the Literal promises readers
    if stored == "shadow":
        return "shadow"
    if stored == "replay":
        return "replay"
    raise LedgerError(f"a stored comparison names an unknown source {stored!r}")
