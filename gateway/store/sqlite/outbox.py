"""The webhook outbox's SQL: raising events with one delivery per subscribed endpoint, claiming
due deliveries under a lease, recording how each attempt went, and the operator's views.

`raise_event` runs inside its caller's write transaction, so an event exists exactly when the
change that raised it does; every other read-modify-write here runs in its own `immediate`.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

import msgspec

from gateway.store.base import LedgerError
from gateway.store.records import Delivery, DeliveryState, EventKind, NewEvent
from gateway.store.sql import Connection, immediate, skip_locked
from gateway.store.sqlite.times import from_us, to_us

_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_LENGTH = 22  # as Extend's own event ids: evt_ and 22 base-62 characters
_SELECT = (
    "SELECT e.seq, e.event_id, e.event_type, e.kind, e.owner, e.subject, e.data, d.endpoint, "
    "d.state, d.attempts, e.created_us, d.since_us, d.next_attempt_us, d.last_status, "
    "d.last_error, d.delivered_us FROM webhook_deliveries d "
    "JOIN webhook_events e ON e.seq = d.event_seq"
)
_DUE = (
    " WHERE d.state = 'pending' AND d.next_attempt_us <= ?"
    " AND (d.lease_until_us IS NULL OR d.lease_until_us < ?)"
)
_BY_DELIVERY = " WHERE event_seq = ? AND endpoint = ? AND claimed_by = ? AND state = 'pending'"
UNCONFIGURED = "the endpoint is no longer configured"
_KINDS: Mapping[str, EventKind] = {"run": "run", "batch": "batch", "raw": "raw"}
_STATES: Mapping[str, DeliveryState] = {
    "pending": "pending",
    "delivered": "delivered",
    "dead": "dead",
}


def new_event_id() -> str:
    """A fresh event id, shaped like Extend's (`evt_…`)."""
    return "evt_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))


def raise_event(conn: Connection, event: NewEvent, now: datetime) -> str | None:
    """Put `event` in the outbox, owed to every endpoint subscribed to its type, inside the
    caller's transaction. Its id, or None when no endpoint subscribes (nothing is written)
    or an event of the same given id was raised before (a relayed event seen twice)."""
    found = conn.execute(
        "SELECT endpoint FROM webhook_subscriptions WHERE event_type = ? ORDER BY endpoint",
        (event.event_type,),
    )
    endpoints = [row[0] for row in found.fetchall()]
    if not endpoints:
        return None
    event_id = event.event_id or new_event_id()
    at = to_us(now)
    inserted = conn.execute(
        "INSERT INTO webhook_events "
        "(event_id, event_type, kind, owner, subject, data, created_us) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING RETURNING seq",
        (event_id, event.event_type, event.kind, event.owner, event.subject, event.data, at),
    ).fetchone()
    if inserted is None:  # raised before
        return None
    conn.executemany(
        "INSERT INTO webhook_deliveries "
        "(event_seq, endpoint, state, attempts, since_us, next_attempt_us) "
        "VALUES (?, ?, 'pending', 0, ?, ?)",
        [(inserted[0], endpoint, at, at) for endpoint in endpoints],
    )
    return event_id


def add_event(conn: Connection, event: NewEvent, now: datetime) -> str | None:
    """`raise_event` in a transaction of its own: an event no other change goes with."""
    with immediate(conn):
        return raise_event(conn, event, now)


def subscribe(conn: Connection, endpoints: Mapping[str, Collection[str]]) -> None:
    """Make the subscriptions exactly `endpoints` (name → event types), as configured. What
    is still owed to an endpoint no longer configured is dead, so it shows in `webhooks list
    --state dead` (and `webhooks retry` revives it once the endpoint is back)."""
    names = tuple(endpoints)
    configured = f" AND endpoint NOT IN ({', '.join('?' * len(names))})" if names else ""
    with immediate(conn):
        conn.execute("DELETE FROM webhook_subscriptions")
        conn.executemany(
            "INSERT INTO webhook_subscriptions (endpoint, event_type) VALUES (?, ?)",
            [(name, kind) for name, kinds in endpoints.items() for kind in set(kinds)],
        )
        conn.execute(
            "UPDATE webhook_deliveries SET state = 'dead', last_error = ?, claimed_by = NULL, "
            f"lease_until_us = NULL WHERE state = 'pending'{configured}",
            (UNCONFIGURED, *names),
        )


def any_due(conn: Connection, now: datetime, endpoints: Collection[str]) -> bool:
    """Whether any delivery of `endpoints` is due and unclaimed: a read, so an idle
    dispatcher asks without taking the write lock."""
    if not endpoints:
        return False
    names = tuple(endpoints)
    sql = (
        f"SELECT 1 FROM webhook_deliveries d{_DUE}"
        f" AND d.endpoint IN ({', '.join('?' * len(names))}) LIMIT 1"
    )
    return conn.execute(sql, (to_us(now), to_us(now), *names)).fetchone() is not None


def claim(
    conn: Connection,
    worker: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    limits: Mapping[str, int] | None,
) -> tuple[Delivery, ...]:
    """Lease up to `limit` due deliveries to `worker`, the longest due first: of any
    endpoint when `limits` is None, else at most `limits[name]` of each endpoint it names
    (and none of any other). Each claim counts an attempt."""
    caps = None if limits is None else [(name, n) for name, n in limits.items() if n > 0]
    if limit <= 0 or caps == []:
        return ()
    params: tuple[object, ...] = (to_us(now), to_us(now))
    if caps is None:
        sql = f"{_SELECT}{_DUE} ORDER BY d.next_attempt_us, d.event_seq LIMIT ?"
    else:
        # each endpoint's due rows numbered oldest first, kept up to its own cap, so one
        # endpoint's backlog never takes the slots of the others
        values = ", ".join("(?, ?)" for _ in caps)
        sql = (
            f"WITH caps (endpoint, most) AS (VALUES {values}), ranked AS ("
            "SELECT d.event_seq, d.endpoint, caps.most, ROW_NUMBER() OVER ("
            "PARTITION BY d.endpoint ORDER BY d.next_attempt_us, d.event_seq) AS nth "
            f"FROM webhook_deliveries d JOIN caps ON caps.endpoint = d.endpoint{_DUE}) "
            f"{_SELECT} JOIN ranked r ON r.event_seq = d.event_seq AND r.endpoint = d.endpoint"
            " WHERE r.nth <= r.most ORDER BY d.next_attempt_us, d.event_seq LIMIT ?"
        )
        params = (*(value for cap in caps for value in cap), *params)
    claimed: list[Delivery] = []
    unreadable: list[tuple[str, int, str]] = []
    with immediate(conn):
        for row in conn.execute(sql + skip_locked(conn), (*params, limit)).fetchall():
            try:
                claimed.append(_claimed(row))
            except (LedgerError, TypeError, ValueError, OverflowError) as exc:
                # a damaged row is dead, saying why, rather than failing every claim after it
                reason = str(exc) if isinstance(exc, LedgerError) else type(exc).__name__
                unreadable.append((f"the stored delivery cannot be read: {reason}", row[0], row[7]))
        conn.executemany(
            "UPDATE webhook_deliveries SET claimed_by = ?, lease_until_us = ?, "
            "attempts = attempts + 1 WHERE event_seq = ? AND endpoint = ?",
            [(worker, to_us(lease_until), d.event_seq, d.endpoint) for d in claimed],
        )
        conn.executemany(
            "UPDATE webhook_deliveries SET state = 'dead', last_error = ?, claimed_by = NULL, "
            "lease_until_us = NULL WHERE event_seq = ? AND endpoint = ?",
            unreadable,
        )
    return tuple(claimed)


def delivered(
    conn: Connection, delivery: Delivery, worker: str, now: datetime, status: int
) -> bool:
    """Mark a delivery `worker` holds as delivered; False if its lease was lost."""
    sql = (
        "UPDATE webhook_deliveries SET state = 'delivered', delivered_us = ?, last_status = ?, "
        "last_error = NULL, claimed_by = NULL, lease_until_us = NULL" + _BY_DELIVERY
    )
    params = (to_us(now), status, delivery.event_seq, delivery.endpoint, worker)
    return conn.execute(sql, params).rowcount > 0


def failed(
    conn: Connection,
    delivery: Delivery,
    worker: str,
    retry_at: datetime | None,
    status: int | None,
    error: str,
) -> bool:
    """Record a failed attempt: due again at `retry_at`, or dead when None; False if the
    lease was lost."""
    state = "dead" if retry_at is None else "pending"
    next_us = delivery.next_attempt_at if retry_at is None else retry_at
    sql = (
        "UPDATE webhook_deliveries SET state = ?, next_attempt_us = ?, last_status = ?, "
        "last_error = ?, claimed_by = NULL, lease_until_us = NULL" + _BY_DELIVERY
    )
    params = (state, to_us(next_us), status, error, delivery.event_seq, delivery.endpoint, worker)
    return conn.execute(sql, params).rowcount > 0


def release(conn: Connection, delivery: Delivery, worker: str, now: datetime) -> bool:
    """Hand back a delivery `worker` holds but will not finish (it is stopping): no lease,
    due at `now`, and its attempt not counted, as it never ended; False if it was lost."""
    sql = (
        "UPDATE webhook_deliveries SET claimed_by = NULL, lease_until_us = NULL, "
        "next_attempt_us = CASE WHEN next_attempt_us < ? THEN next_attempt_us ELSE ? END, "
        "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END" + _BY_DELIVERY
    )
    params = (to_us(now), to_us(now), delivery.event_seq, delivery.endpoint, worker)
    return conn.execute(sql, params).rowcount > 0


def listing(conn: Connection, state: DeliveryState | None, limit: int) -> tuple[Delivery, ...]:
    """The latest deliveries, newest event first, of one state or all."""
    where, params = ("", ()) if state is None else (" WHERE d.state = ?", (state,))
    sql = f"{_SELECT}{where} ORDER BY d.event_seq DESC, d.endpoint LIMIT ?"
    return tuple(_delivery(row) for row in conn.execute(sql, (*params, limit)).fetchall())


def retry(conn: Connection, event_id: str, now: datetime) -> int | None:
    """Make the event's undelivered deliveries due now, each with a fresh retry window; how
    many, or None if there is no such event. One being sent now (its lease live) is left to
    its dispatcher: taking it over would send it twice and lose the answer it gets."""
    with immediate(conn):
        row = conn.execute(
            "SELECT seq FROM webhook_events WHERE event_id = ?", (event_id,)
        ).fetchone()
        if row is None:
            return None
        at = to_us(now)
        return conn.execute(
            "UPDATE webhook_deliveries SET state = 'pending', since_us = ?, "
            "next_attempt_us = ?, claimed_by = NULL, lease_until_us = NULL "
            "WHERE event_seq = ? AND state != 'delivered' "
            "AND (lease_until_us IS NULL OR lease_until_us < ?)",
            (at, at, row[0], at),
        ).rowcount


def depth(conn: Connection) -> int:
    """How many deliveries are still owed."""
    row = conn.execute("SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'")
    count: int = row.fetchone()[0]
    return count


def _claimed(row: tuple[Any, ...]) -> Delivery:
    # as claimed: the attempt being made is counted
    delivery = _delivery(row)
    return msgspec.structs.replace(delivery, attempts=delivery.attempts + 1)


def _delivery(row: tuple[Any, ...]) -> Delivery:
    seq, event_id, event_type, kind, owner, subject, data, endpoint, state = row[:9]
    attempts, created_us, since_us, next_us, last_status, last_error, delivered_us = row[9:]
    if kind not in _KINDS or state not in _STATES:
        raise LedgerError(f"webhook event {event_id} has an unknown kind or state")
    return Delivery(
        event_seq=seq,
        event_id=event_id,
        event_type=event_type,
        kind=_KINDS[kind],
        owner=owner,
        subject=subject,
        data=bytes(data),
        endpoint=endpoint,
        state=_STATES[state],
        attempts=attempts,
        created_at=from_us(created_us),
        since=from_us(since_us),
        next_attempt_at=from_us(next_us),
        last_status=last_status,
        last_error=last_error,
        delivered_at=None if delivered_us is None else from_us(delivered_us),
    )
