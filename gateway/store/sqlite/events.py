"""What happens, inside the same write, when a run is saved: a run that has just reached a
terminal status raises its webhook event (design.md §7), so the event exists exactly when
the status change does, whichever path made it (a worker, a cancel, the refresher, a poll,
a relayed read, recovery), and finishes its side of any comparison it is linked to. A run
made for a comparison raises no event: its client never asked for it."""

from __future__ import annotations

from datetime import datetime

import msgspec

from gateway.store.records import NewEvent, RunRecord, RunSnapshot
from gateway.store.sql import Connection
from gateway.store.sqlite.batch_settle import settle
from gateway.store.sqlite.comparison_sides import run_finished
from gateway.store.sqlite.outbox import raise_event
from mappings import canonical
from mappings.extend import run_event_type

_encoder = msgspec.json.Encoder()


def run_saved(
    conn: Connection,
    before: canonical.Status | None,
    record: RunRecord,
    now: datetime,
) -> None:
    """Called in the transaction that inserted (`before` None) or updated `record`."""
    status = record.run.status
    if not status.terminal or (before is not None and before.terminal):
        return
    run_finished(conn, record, now)
    event_type = run_event_type(status)
    if event_type is not None and record.comparison is None:
        _raise(conn, record, event_type, now)
    if record.batch_id is not None:  # the batch may have settled with this run
        settle(conn, record.batch_id, now)


def _raise(conn: Connection, record: RunRecord, event_type: str, now: datetime) -> None:
    """The run's event: a snapshot of it as it ended."""
    snapshot = RunSnapshot(
        backend=record.backend,
        upstream_id=record.upstream_id,
        surface=record.surface,
        owner=record.owner,
        run=record.run,
        batch_id=record.batch_id,
    )
    event = NewEvent(
        event_type=event_type,
        kind="run",
        owner=record.owner,
        subject=record.key,
        data=_encoder.encode(snapshot),
    )
    raise_event(conn, event, now)
