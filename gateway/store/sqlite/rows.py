"""A run record as a row of the `runs` table and back, and the reads that return records.

Canonical values are stored as msgspec JSON; times as integer microseconds since the epoch.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.store.base import LedgerError
from gateway.store.records import RunRecord
from gateway.store.sql import Connection
from gateway.store.sqlite.events import run_saved
from gateway.store.sqlite.times import from_us, to_us
from mappings import canonical
from mappings.dialects import DIALECTS, Dialect

_COLUMNS = (
    "seq, key, owner, backend, upstream_id, surface, run, request, filename, "
    "created_us, updated_us, claimed_by, lease_until_us, attempts, batch_id, batch_input, "
    "comparison_id"
)
SELECT = f"SELECT {_COLUMNS} FROM runs"
BY_RUN = " WHERE backend = ? AND upstream_id = ?"
BY_OWNER_RUN = " WHERE owner = ? AND backend = ? AND upstream_id = ?"
_SAVE = (
    "UPDATE runs SET status = ?, filename = ?, filename_folded = ?, updated_us = ?, run = ?, "
    "request = ?, claimed_by = ?, lease_until_us = ?, attempts = ? WHERE seq = ?"
)

_encoder = msgspec.json.Encoder()
_run_decoder = msgspec.json.Decoder(canonical.ClassificationRun)
_request_decoder = msgspec.json.Decoder(canonical.ClassifyRequest)


def record_of(row: tuple[Any, ...]) -> RunRecord:
    """The record a row selected with `SELECT` holds."""
    seq, key, owner, backend, upstream_id, surface, run, request, filename = row[:9]
    created_us, updated_us, claimed_by, lease_until_us, attempts, batch_id, batch_input = row[9:16]
    return RunRecord(
        key=key,
        owner=owner,
        backend=backend,
        upstream_id=upstream_id,
        surface=_dialect(surface),
        run=_run_decoder.decode(run),
        request=None if request is None else _request_decoder.decode(request),
        filename=filename,
        created_at=from_us(created_us),
        updated_at=from_us(updated_us),
        seq=seq,
        claimed_by=claimed_by,
        lease_until=None if lease_until_us is None else from_us(lease_until_us),
        attempts=attempts,
        batch_id=batch_id,
        batch_input=batch_input,
        comparison=row[16],
    )


def _dialect(stored: str) -> Dialect:
    # RunRecord(...) checks no types: check here what the Literal promises readers
    for dialect in DIALECTS:
        if stored == dialect:
            return dialect
    raise LedgerError(f"a stored run names an unknown surface {stored!r}")


def mutable_columns(r: RunRecord) -> tuple[Any, ...]:
    """status … attempts, in the order `_SAVE` and the tail of an insert name them."""
    request = None if r.request is None else _encoder.encode(r.request)
    lease = None if r.lease_until is None else to_us(r.lease_until)
    return (
        *(r.run.status.value, r.filename, r.filename.casefold(), to_us(r.updated_at)),
        *(_encoder.encode(r.run), request, r.claimed_by, lease, r.attempts),
    )


def all_records(conn: Connection, sql: str, params: tuple[Any, ...]) -> tuple[RunRecord, ...]:
    """Every record `sql` (a `SELECT` query) finds."""
    return tuple(record_of(row) for row in conn.execute(sql, params).fetchall())


def one_record(conn: Connection, sql: str, params: tuple[Any, ...]) -> RunRecord | None:
    """The first record `sql` (a `SELECT` query) finds, or None."""
    row = conn.execute(sql, params).fetchone()
    return None if row is None else record_of(row)


def save(conn: Connection, current: RunRecord, record: RunRecord) -> RunRecord:
    """Write back what may change of `current`, a record as just read in the caller's write
    transaction, as `record`; a run reaching a terminal status raises its event there."""
    conn.execute(_SAVE, (*mutable_columns(record), record.seq))
    run_saved(conn, current.run.status, record, record.updated_at)
    return record
