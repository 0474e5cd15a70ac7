"""Batches' SQL: recording a batch with its inputs, claiming inputs under a lease, refusing
one that cannot be created, and settling a batch's status from its inputs and runs.

Each read-modify-write runs in one `immediate` transaction, so it is atomic across
processes; an input is marked created by the insert of its run (batch_schema.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from gateway.store.base import DuplicateBatch
from gateway.store.batch_records import BatchRecord, ClaimedInput
from gateway.store.records import RunRecord
from gateway.store.sqlite import writes
from gateway.store.sqlite.batch_schema import UNSETTLED
from gateway.store.sqlite.rows import from_us, to_us
from gateway.store.sqlite.schema import immediate
from mappings import canonical

Status = canonical.BatchStatus
_COLUMNS = "seq, id, owner, backend, upstream_id, status, run_count, created_us, updated_us"
_INSERT = (
    "INSERT INTO batches (id, owner, backend, upstream_id, status, run_count, created_us, "
    "updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_CLAIMABLE = (
    "SELECT i.batch_id, i.idx, b.owner, b.backend, i.body, i.attempts"
    " FROM batch_inputs AS i INDEXED BY batch_inputs_pending JOIN batches AS b ON b.id = i.batch_id"
    " WHERE i.state = 'pending' AND (i.lease_until_us IS NULL OR i.lease_until_us < ?)"
    " ORDER BY i.rowid LIMIT 1"
)
_INPUT = " WHERE batch_id = ? AND idx = ?"


def insert(conn: sqlite3.Connection, batch: BatchRecord, bodies: Sequence[bytes]) -> BatchRecord:
    """Record a batch and every input of it, in one transaction."""
    with immediate(conn):
        try:
            cursor = conn.execute(_INSERT, _params(batch))
        except sqlite3.IntegrityError:
            raise DuplicateBatch(f"batch {batch.id} is already recorded") from None
        conn.executemany(
            "INSERT INTO batch_inputs (batch_id, idx, body) VALUES (?, ?, ?)",
            ((batch.id, i, body) for i, body in enumerate(bodies)),
        )
    stored = _get(conn, " WHERE seq = ?", (cursor.lastrowid,))
    assert stored is not None  # just written on this connection, in this thread
    return stored


def get(conn: sqlite3.Connection, owner: str, batch_id: str) -> BatchRecord | None:
    """The owner's batch, or None (also for another owner's)."""
    return _get(conn, " WHERE id = ? AND owner = ?", (batch_id, owner))


def claim(
    conn: sqlite3.Connection, worker: str, lease_until: datetime, now: datetime
) -> ClaimedInput | None:
    """Lease the oldest pending input that no live lease holds to `worker`; its batch is
    processing from then on."""
    with immediate(conn):
        row = conn.execute(_CLAIMABLE, (to_us(now),)).fetchone()
        if row is None:
            return None
        batch_id, index, owner, backend, body, attempts = row
        conn.execute(
            "UPDATE batch_inputs SET claimed_by = ?, lease_until_us = ?, attempts = ?" + _INPUT,
            (worker, to_us(lease_until), attempts + 1, batch_id, index),
        )
        settle(conn, batch_id, now)
    return ClaimedInput(
        batch_id=batch_id,
        index=index,
        owner=owner,
        backend=backend,
        body=body,
        attempts=attempts + 1,
    )


def extend_lease(
    conn: sqlite3.Connection, slot: tuple[str, int], worker: str, lease_until: datetime
) -> bool:
    """Move the lease `worker` holds on a pending input to `lease_until`."""
    sql = "UPDATE batch_inputs SET lease_until_us = ?" + _INPUT + " AND claimed_by = ?"
    sql += " AND state = 'pending'"
    return conn.execute(sql, (to_us(lease_until), *slot, worker)).rowcount > 0


def release(
    conn: sqlite3.Connection, slot: tuple[str, int], worker: str, retry_at: datetime
) -> bool:
    """Give a pending input back, to be claimed again from `retry_at` (a passing failure)."""
    sql = "UPDATE batch_inputs SET claimed_by = NULL, lease_until_us = ?" + _INPUT
    sql += " AND claimed_by = ? AND state = 'pending'"
    return conn.execute(sql, (to_us(retry_at), *slot, worker)).rowcount > 0


def refuse(conn: sqlite3.Connection, record: RunRecord, now: datetime) -> bool:
    """Record `record` (the failed run of an input that could not be created; its batch_id
    and batch_input name the input, which this marks refused). False, recording nothing, if
    the input is no longer pending."""
    batch_id, index = record.batch_id, record.batch_input
    assert batch_id is not None
    assert index is not None
    slot = (batch_id, index)
    with immediate(conn):
        state = conn.execute("SELECT state FROM batch_inputs" + _INPUT, slot).fetchone()
        if state is None or state[0] != "pending":
            return False
        conn.execute(writes.INSERT, writes.insert_params(record))  # marks it created...
        conn.execute(  # ... which it was not: it failed
            "UPDATE batch_inputs SET state = 'refused'" + _INPUT, slot
        )
        settle(conn, batch_id, now)
    return True


def settle_unsettled(conn: sqlite3.Connection, now: datetime) -> int:
    """Settle every batch not yet settled (those whose runs were deleted, or finished in
    another process); how many changed status."""
    changed = 0
    with immediate(conn):
        sql = f"SELECT id FROM batches INDEXED BY batches_unsettled WHERE {UNSETTLED}"
        for (batch_id,) in conn.execute(sql + " AND upstream_id IS NULL").fetchall():
            changed += settle(conn, batch_id, now) is not None
    return changed


def settle(conn: sqlite3.Connection, batch_id: str, now: datetime) -> BatchRecord | None:
    """Bring the batch's status in line with its inputs and runs, inside the caller's write
    transaction; the batch if its status changed, else None. A settled batch never changes."""
    batch = _get(conn, " WHERE id = ?", (batch_id,))
    if batch is None or batch.status.terminal or batch.relayed:
        return None
    status = _status(conn, batch)
    if status is batch.status:
        return None
    conn.execute(
        "UPDATE batches SET status = ?, updated_us = ? WHERE seq = ?",
        (status.value, to_us(now), batch.seq),
    )
    # TODO(batch): raise batch_processor_run.processed/.failed in this transaction once the
    # outbox is on main
    return _get(conn, " WHERE seq = ?", (batch.seq,))


def _status(conn: sqlite3.Connection, batch: BatchRecord) -> canonical.BatchStatus:
    """What a batch's inputs and their runs say its status is (a deleted run is settled)."""
    inputs = dict.fromkeys(("pending", "created", "refused"), 0)
    tried = 0
    sql = "SELECT state, count(*), sum(attempts > 0) FROM batch_inputs WHERE batch_id = ?"
    for state, count, attempted in conn.execute(sql + " GROUP BY state", (batch.id,)):
        inputs[state] = count
        tried += attempted
    if inputs["pending"]:
        return Status.processing if tried or inputs["pending"] < batch.run_count else Status.pending
    if inputs["refused"] == batch.run_count:
        return Status.failed  # not one run could be made
    runs = dict(
        conn.execute(
            "SELECT r.status, count(*) FROM batch_inputs AS i JOIN runs AS r ON r.key = i.run_key"
            " WHERE i.batch_id = ? AND i.state = 'created' GROUP BY r.status",
            (batch.id,),
        ).fetchall()
    )
    if any(not canonical.Status(s).terminal for s in runs):
        return Status.processing
    cancelled = runs.get(canonical.Status.cancelled.value, 0)
    if cancelled and cancelled == sum(runs.values()) and not inputs["refused"]:
        return Status.cancelled
    return Status.processed


def _get(conn: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> BatchRecord | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM batches{where}", params).fetchone()
    return None if row is None else _record(row)


def _record(row: tuple[Any, ...]) -> BatchRecord:
    seq, batch_id, owner, backend, upstream_id, status, run_count, created_us, updated_us = row
    return BatchRecord(
        id=batch_id,
        owner=owner,
        backend=backend,
        upstream_id=upstream_id,
        status=canonical.BatchStatus(status),
        run_count=run_count,
        created_at=from_us(created_us),
        updated_at=from_us(updated_us),
        seq=seq,
    )


def _params(batch: BatchRecord) -> tuple[Any, ...]:
    return (
        *(batch.id, batch.owner, batch.backend, batch.upstream_id, batch.status.value),
        *(batch.run_count, to_us(batch.created_at), to_us(batch.updated_at)),
    )
