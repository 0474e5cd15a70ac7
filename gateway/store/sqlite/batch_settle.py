"""A batch's status, settled from its inputs and runs inside the write that changed them, and
its webhook event raised in that same write when it settles (contracts.md §8).

Called whenever a run of a batch reaches a terminal status (`events.run_saved`), when an
input is claimed or refused, and by the batch settler for what changed without a word to it
(a run deleted). Reads batches by id; imports no other module of this package that records
runs, so the run hook can call it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from gateway.store.batch_records import BatchRecord
from gateway.store.records import NewEvent
from gateway.store.sql import Connection
from gateway.store.sqlite.outbox import raise_event
from gateway.store.sqlite.times import from_us, to_us
from mappings import canonical
from mappings.extend import batches, webhooks

Status = canonical.BatchStatus
COLUMNS = "seq, id, owner, backend, upstream_id, status, run_count, forward, created_us, updated_us"
# Extend has events for a processed and a failed batch only: one whose runs all ended
# cancelled is done processing too, and its payload's status says how it ended
_EVENTS = {
    Status.processed: webhooks.BATCH_PROCESSED,
    Status.cancelled: webhooks.BATCH_PROCESSED,
    Status.failed: webhooks.BATCH_FAILED,
}
_encoder = msgspec.json.Encoder()
_forward = msgspec.json.Decoder(dict[str, str])


def settle(conn: Connection, batch_id: str, now: datetime) -> BatchRecord | None:
    """Bring the batch's status in line with its inputs and runs, inside the caller's write
    transaction; the batch if its status changed, else None. A settled batch never changes;
    settling raises its event."""
    batch = get(conn, " WHERE id = ?", (batch_id,))
    if batch is None or batch.status.terminal or batch.relayed:
        return None
    status = _status(conn, batch)
    if status is batch.status:
        return None
    conn.execute(
        "UPDATE batches SET status = ?, updated_us = ? WHERE seq = ?",
        (status.value, to_us(now), batch.seq),
    )
    settled = msgspec.structs.replace(batch, status=status, updated_at=now)
    if status.terminal:
        _raise(conn, settled, now)
    return settled


def _raise(conn: Connection, batch: BatchRecord, now: datetime) -> None:
    """The settled batch's event: its `BatchRun` as Extend renders it."""
    event = NewEvent(
        event_type=_EVENTS[batch.status],
        kind="batch",
        owner=batch.owner,
        subject=batch.id,
        data=_encoder.encode(batches.batch_from_canonical(batch.canonical())),
    )
    raise_event(conn, event, now)


def _status(conn: Connection, batch: BatchRecord) -> canonical.BatchStatus:
    """What a batch's inputs and their runs say its status is (a deleted run is settled)."""
    inputs = dict.fromkeys(("pending", "created", "refused"), 0)
    tried = 0
    sql = (
        "SELECT state, count(*), sum(CASE WHEN attempts > 0 THEN 1 ELSE 0 END)"
        " FROM batch_inputs WHERE batch_id = ? GROUP BY state"
    )
    for state, count, attempted in conn.execute(sql, (batch.id,)).fetchall():
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


def get(conn: Connection, where: str, params: tuple[Any, ...]) -> BatchRecord | None:
    """The batch `where` finds, or None."""
    row = conn.execute(f"SELECT {COLUMNS} FROM batches{where}", params).fetchone()
    return None if row is None else _record(row)


def _record(row: tuple[Any, ...]) -> BatchRecord:
    seq, batch_id, owner, backend, upstream_id, status, run_count, forward = row[:8]
    created_us, updated_us = row[8:]
    return BatchRecord(
        id=batch_id,
        owner=owner,
        backend=backend,
        upstream_id=upstream_id,
        status=canonical.BatchStatus(status),
        run_count=run_count,
        forward=_forward.decode(forward),
        created_at=from_us(created_us),
        updated_at=from_us(updated_us),
        seq=seq,
    )
