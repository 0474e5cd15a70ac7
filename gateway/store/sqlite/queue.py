"""The local work queue's SQL: claiming queued runs under a lease, extending and expiring
leases, and cancelling queued or running runs.

Each read-modify-write runs in one `immediate` transaction, so it is atomic across processes.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from gateway.store import records as rec
from gateway.store.records import RecoveryReport, RunRecord
from gateway.store.sql import Connection, immediate, skip_locked
from gateway.store.sql_dialect import dialect_of
from gateway.store.sqlite.claim_schema import LIVE
from gateway.store.sqlite.rows import (
    BY_OWNER_RUN,
    BY_RUN,
    SELECT,
    one_record,
    record_of,
    save,
)
from gateway.store.sqlite.times import to_us
from mappings import canonical

_EXPIRED = "status = 'running' AND lease_until_us IS NOT NULL AND lease_until_us < ?"
# each claim query walks runs_live, which holds only unfinished runs (claim_schema.py)
_CLAIMABLE = f"{SELECT}{{hint}} WHERE backend IN ({{marks}}) AND {LIVE} AND {{which}}"
_OLDEST = " ORDER BY seq LIMIT 1"


def claim(
    conn: Connection,
    worker: str,
    lease_until: datetime,
    now: datetime,
    backends: Collection[str],
    max_attempts: int | None,
) -> RunRecord | None:
    """Take the oldest queued (or lease-expired) run of `backends` for `worker`, if any."""
    hint = dialect_of(conn).indexed_by("runs_live")
    marks = ", ".join("?" * len(backends))
    queued, expired = (
        _CLAIMABLE.format(hint=hint, marks=marks, which=which)
        for which in ("status = 'queued'", _EXPIRED)
    )
    with immediate(conn):
        if max_attempts is not None:
            # out of attempts: fail it visibly rather than hand it to one more worker
            exhausted = f"{expired} AND attempts >= ?"
            for row in conn.execute(exhausted, (*backends, to_us(now), max_attempts)).fetchall():
                spent = record_of(row)
                save(conn, spent, rec.interrupted(spent, now))
        # two queries, each an ordered walk of the index (one with an OR would read it all)
        locked = _OLDEST + skip_locked(conn)
        candidates = (
            one_record(conn, queued + locked, tuple(backends)),
            one_record(conn, expired + locked, (*backends, to_us(now))),
        )
        found = [record for record in candidates if record is not None]
        if not found:
            return None
        oldest = min(found, key=lambda record: record.seq)
        return save(conn, oldest, rec.claimed(oldest, worker, lease_until, now))


def extend_lease(
    conn: Connection, key: tuple[str, str], worker: str, lease_until: datetime
) -> bool:
    """Move the lease `worker` holds on the running run of `key` to `lease_until`."""
    sql = f"UPDATE runs SET lease_until_us = ?{BY_RUN} AND claimed_by = ? AND status = ?"
    params = (to_us(lease_until), *key, worker, canonical.Status.running.value)
    return conn.execute(sql, params).rowcount > 0


def cancel(conn: Connection, key: tuple[str, str, str], now: datetime) -> RunRecord | None:
    """Cancel the run of `key` (owner, backend, upstream_id) unless it is already terminal."""
    with immediate(conn):
        current = one_record(conn, SELECT + BY_OWNER_RUN, key)
        if current is None or current.run.status.terminal:
            return current
        return save(conn, current, rec.with_status(current, canonical.Status.cancelled, now, None))


def recover(conn: Connection, now: datetime, max_attempts: int) -> RecoveryReport:
    """Requeue every lease-expired run, or fail it once out of attempts."""
    resumed = failed = 0
    with immediate(conn):
        for row in conn.execute(f"{SELECT} WHERE {LIVE} AND {_EXPIRED}", (to_us(now),)).fetchall():
            record = record_of(row)
            if record.attempts >= max_attempts:
                save(conn, record, rec.interrupted(record, now))
                failed += 1
            else:
                save(conn, record, rec.requeued(record, now))
                resumed += 1
        live = (
            f"SELECT count(*) FROM runs WHERE {LIVE} AND status = 'running' AND lease_until_us >= ?"
        )
        (leased,) = conn.execute(live, (to_us(now),)).fetchone()
    return RecoveryReport(resumed=resumed, failed=failed, leased=leased)
