"""Batches' SQL: recording a batch with its inputs, claiming inputs under a lease, refusing
one that cannot be created, and settling every batch not yet settled.

Each read-modify-write runs in one `immediate` transaction, so it is atomic across
processes; an input is marked created by the insert of its run (batch_schema.py), and a
batch is settled by batch_settle.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from gateway.store.base import DuplicateBatch
from gateway.store.batch_records import BatchRecord, ClaimedInput
from gateway.store.records import RunRecord
from gateway.store.sql import CONSTRAINT_ERRORS, Connection, immediate, skip_locked
from gateway.store.sql_dialect import DIALECTS, dialect_of
from gateway.store.sqlite import writes
from gateway.store.sqlite.batch_schema import UNSETTLED
from gateway.store.sqlite.batch_settle import get as get_where
from gateway.store.sqlite.batch_settle import settle
from gateway.store.sqlite.events import run_saved
from gateway.store.sqlite.times import to_us
from mappings import canonical

Status = canonical.BatchStatus
_encoder = msgspec.json.Encoder()
_forward = msgspec.json.Decoder(dict[str, str])

_INSERT = (
    "INSERT INTO batches (id, owner, backend, upstream_id, status, run_count, forward, "
    "created_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# only the input is read (and, elsewhere, locked): a claim never holds up its batch's others;
# the oldest batch's inputs first, each batch in input order, off batch_inputs_claimable
_CLAIMABLE_SQL = (
    "SELECT i.batch_id, i.idx, i.backend, i.body, i.attempts FROM batch_inputs AS i{hint}"
    " WHERE i.state = 'pending' AND (i.lease_until_us IS NULL OR i.lease_until_us < ?)"
    " ORDER BY i.batch_seq, i.idx LIMIT 1"
)
_CLAIMABLE = {
    dialect: _CLAIMABLE_SQL.format(hint=dialect.indexed_by("batch_inputs_claimable"))
    for dialect in DIALECTS
}
_CLAIMED_BATCH = "SELECT owner, backend, forward FROM batches WHERE id = ?"
_INPUT = " WHERE batch_id = ? AND idx = ?"


def insert(
    conn: Connection,
    batch: BatchRecord,
    bodies: Sequence[bytes],
    backends: Sequence[str] = (),
) -> BatchRecord:
    """Record a batch and every input of it, in one transaction; `backends` names each
    input's own backend (a split batch), else its batch's is used."""
    named: Sequence[str | None] = backends or (None,) * len(bodies)
    with immediate(conn):
        try:
            (seq,) = conn.execute(_INSERT + " RETURNING seq", _params(batch)).fetchone()
        except CONSTRAINT_ERRORS:
            # PostgreSQL has aborted the transaction: nothing more may run in it
            raise DuplicateBatch(f"batch {batch.id} is already recorded") from None
        conn.executemany(
            "INSERT INTO batch_inputs (batch_id, idx, body, backend, batch_seq)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                (batch.id, i, body, backend, seq)
                for i, (body, backend) in enumerate(zip(bodies, named, strict=True))
            ),
        )
        stored = get_where(conn, " WHERE seq = ?", (seq,))
    assert stored is not None  # just written in this transaction
    return stored


def get(conn: Connection, owner: str, batch_id: str) -> BatchRecord | None:
    """The owner's batch, or None (also for another owner's)."""
    return get_where(conn, " WHERE id = ? AND owner = ?", (batch_id, owner))


def claim(
    conn: Connection, worker: str, lease_until: datetime, now: datetime
) -> ClaimedInput | None:
    """Lease the oldest pending input that no live lease holds to `worker`; its batch is
    processing from then on. With none claimable, takes no write lock (idle workers poll)."""
    claimable = _CLAIMABLE[dialect_of(conn)]
    if conn.execute(claimable, (to_us(now),)).fetchone() is None:
        return None
    with immediate(conn):
        row = conn.execute(claimable + skip_locked(conn), (to_us(now),)).fetchone()
        if row is None:
            return None
        batch_id, index, own_backend, body, attempts = row
        owner, backend, forward = conn.execute(_CLAIMED_BATCH, (batch_id,)).fetchone()
        conn.execute(
            "UPDATE batch_inputs SET claimed_by = ?, lease_until_us = ?, attempts = ?" + _INPUT,
            (worker, to_us(lease_until), attempts + 1, batch_id, index),
        )
        # the claimed input is pending, so the batch cannot settle here: it is processing
        conn.execute(
            "UPDATE batches SET status = ?, updated_us = ? WHERE id = ? AND status = ?",
            (Status.processing.value, to_us(now), batch_id, Status.pending.value),
        )
    return ClaimedInput(
        batch_id=batch_id,
        index=index,
        owner=owner,
        backend=backend if own_backend is None else own_backend,
        body=body,
        attempts=attempts + 1,
        forward=_forward.decode(forward),
    )


def extend_lease(
    conn: Connection, slot: tuple[str, int], worker: str, lease_until: datetime
) -> bool:
    """Move the lease `worker` holds on a pending input to `lease_until`."""
    sql = "UPDATE batch_inputs SET lease_until_us = ?" + _INPUT + " AND claimed_by = ?"
    sql += " AND state = 'pending'"
    return conn.execute(sql, (to_us(lease_until), *slot, worker)).rowcount > 0


def release(conn: Connection, slot: tuple[str, int], worker: str, retry_at: datetime) -> bool:
    """Give a pending input back, to be claimed again from `retry_at` (a passing failure)."""
    sql = "UPDATE batch_inputs SET claimed_by = NULL, lease_until_us = ?" + _INPUT
    sql += " AND claimed_by = ? AND state = 'pending'"
    return conn.execute(sql, (to_us(retry_at), *slot, worker)).rowcount > 0


def refuse(conn: Connection, record: RunRecord, now: datetime) -> bool:
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
        # the insert marks the input created (batch_schema.py); it was refused instead
        inserted = writes.insert_row(conn, record)
        conn.execute("UPDATE batch_inputs SET state = 'refused'" + _INPUT, slot)
        run_saved(conn, None, inserted, now)  # its event, and the batch settled
    return True


def settle_unsettled(conn: Connection, now: datetime) -> int:
    """Settle every batch not yet settled (those whose runs were deleted, or finished in
    another process); how many changed status. With none unsettled, takes no write lock."""
    unsettled = (
        f"SELECT id FROM batches{dialect_of(conn).indexed_by('batches_unsettled')}"
        f" WHERE {UNSETTLED}"
        " AND upstream_id IS NULL"
    )
    if conn.execute(unsettled + " LIMIT 1").fetchone() is None:
        return 0
    changed = 0
    with immediate(conn):
        for (batch_id,) in conn.execute(unsettled).fetchall():
            changed += settle(conn, batch_id, now) is not None
    return changed


def _params(batch: BatchRecord) -> tuple[Any, ...]:
    return (
        *(batch.id, batch.owner, batch.backend, batch.upstream_id, batch.status.value),
        *(batch.run_count, _encoder.encode(batch.forward).decode()),
        *(to_us(batch.created_at), to_us(batch.updated_at)),
    )
