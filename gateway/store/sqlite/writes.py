"""Recording a run, replacing its canonical run (compare-and-set), and forgetting it.

Each function runs on the caller's connection, in its own `immediate` transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from gateway.store import records as rec
from gateway.store.base import DuplicateRun
from gateway.store.records import RunRecord
from gateway.store.sql import CONSTRAINT_ERRORS, Connection, immediate
from gateway.store.sqlite.comparison_sides import link, run_deleted
from gateway.store.sqlite.events import run_saved
from gateway.store.sqlite.rows import (
    BY_OWNER_RUN,
    BY_RUN,
    SELECT,
    mutable_columns,
    one_record,
    save,
)
from gateway.store.sqlite.times import to_us
from mappings import canonical

INSERT = (
    "INSERT INTO runs (key, owner, backend, upstream_id, surface, status, filename, "
    "filename_folded, created_us, updated_us, run, request, claimed_by, lease_until_us, "
    "attempts, batch_id, batch_input, comparison_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def insert(conn: Connection, record: RunRecord) -> RunRecord:
    """Store a new record and return it as stored, `seq` assigned; a run made for a
    comparison is linked to its side, and a run already terminal raises its event (and
    finishes its side) in the same transaction. Raises DuplicateRun."""
    with immediate(conn):
        try:
            inserted = insert_row(conn, record)
        except CONSTRAINT_ERRORS:
            # PostgreSQL has aborted the transaction: nothing more may run in it
            raise DuplicateRun(f"run {record.key} is already recorded") from None
        link(conn, inserted)
        run_saved(conn, None, inserted, inserted.updated_at)
    return inserted


def insert_row(conn: Connection, record: RunRecord) -> RunRecord:
    """Write `record`'s row (no hooks) and return the record as stored, `seq` assigned."""
    (seq,) = conn.execute(INSERT + " RETURNING seq", insert_params(record)).fetchone()
    inserted = one_record(conn, f"{SELECT} WHERE seq = ?", (seq,))
    assert inserted is not None  # just written in this transaction
    return inserted


def insert_params(record: RunRecord) -> tuple[Any, ...]:
    """The parameters of `INSERT` for `record`; a finished run's document content is dropped."""
    if record.run.status.terminal and record.request is not None:
        record = msgspec.structs.replace(record, request=rec.without_document(record.request))
    head = (record.key, record.owner, record.backend, record.upstream_id, record.surface)
    cols = mutable_columns(record)
    tail = (record.batch_id, record.batch_input, record.comparison)
    return (*head, *cols[:3], to_us(record.created_at), *cols[3:], *tail)


def update(
    conn: Connection,
    key: tuple[str, str],
    run: canonical.ClassificationRun,
    now: datetime,
    only_if: frozenset[canonical.Status] | None,
    worker: str | None,
) -> RunRecord | None:
    """Store `run` in the record of `key` (backend, upstream_id); None, writing nothing, if
    there is none, its status is not in `only_if`, or `worker` does not hold it."""
    with immediate(conn):
        current = one_record(conn, SELECT + BY_RUN, key)
        if current is None or (only_if is not None and current.run.status not in only_if):
            return None
        if worker is not None and current.claimed_by != worker:
            return None
        return save(conn, current, rec.with_run(current, run, now))


def delete(conn: Connection, key: tuple[str, str, str], now: datetime) -> bool:
    """Forget the record of `key` (owner, backend, upstream_id), failing at `now` any side
    still waiting on it; False if there was none."""
    with immediate(conn):
        if conn.execute("DELETE FROM runs" + BY_OWNER_RUN, key).rowcount == 0:
            return False
        run_deleted(conn, key, now)
    return True
