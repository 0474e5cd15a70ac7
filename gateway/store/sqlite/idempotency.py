"""The ledger's Idempotency-Key slots: reserving one in a single write (an `immediate`
transaction, so two processes never both take it), keeping a create's answer in it, freeing it, and
purging expired ones; and `IdempotencyMethods`, `SqlLedger`'s side of `IdempotencyStore`.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import msgspec

from gateway.store.idempotency import (
    IdempotencySlot,
    InFlight,
    Mismatch,
    Replay,
    Reservation,
    Reserved,
    Resumed,
    StoredAnswer,
)
from gateway.store.sql import Connection, LedgerRunner, immediate
from gateway.store.sqlite.times import to_us

_SLOT = " WHERE owner = ? AND scope = ? AND key = ?"
_HELD = _SLOT + " AND holder = ? AND lease_until_us IS NOT NULL"
# a fresh slot, or one replaced whole: an expired key's old answer goes with it
_RESERVE = (
    "INSERT INTO idempotency_keys (owner, scope, key, request_hash, holder, reserved_us, "
    "lease_until_us, run_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (owner, scope, key) DO UPDATE SET request_hash = excluded.request_hash, "
    "holder = excluded.holder, reserved_us = excluded.reserved_us, "
    "lease_until_us = excluded.lease_until_us, run_ref = excluded.run_ref, status = NULL, "
    "headers = NULL, body = NULL, done_us = NULL"
)
_headers = msgspec.json.Decoder(tuple[tuple[str, str], ...])


def _params(slot: IdempotencySlot) -> tuple[str, str, str]:
    return (slot.owner, slot.scope, slot.key)


def reserve(
    conn: Connection,
    slot: IdempotencySlot,
    request_hash: str,
    now: datetime,
    lease_until: datetime,
    expired_before: datetime,
) -> Reservation:
    """`IdempotencyStore.reserve_idempotency`, in one write transaction."""
    with immediate(conn):
        row = conn.execute(
            "SELECT request_hash, reserved_us, lease_until_us, status, headers, body, run_ref"
            " FROM idempotency_keys" + _SLOT,
            _params(slot),
        ).fetchone()
        run_ref = None
        if row is not None and row[1] >= to_us(expired_before):
            held_hash, _, lease_until_us, status, headers, body, run_ref = row
            if held_hash != request_hash:
                return Mismatch()
            if lease_until_us is None:
                answer = StoredAnswer(status=status, headers=_headers.decode(headers), body=body)
                return Replay(answer=answer)
            if lease_until_us >= to_us(now):
                return InFlight()
        holder = secrets.token_hex(16)
        conn.execute(
            _RESERVE,
            (*_params(slot), request_hash, holder, to_us(now), to_us(lease_until), run_ref),
        )
        if run_ref is not None:
            return Resumed(holder=holder, run_ref=run_ref)
        return Reserved(holder=holder)


def link(conn: Connection, slot: IdempotencySlot, holder: str, run_ref: str) -> bool:
    """`IdempotencyStore.link_idempotency`."""
    with immediate(conn):
        named = conn.execute(
            "UPDATE idempotency_keys SET run_ref = ?" + _HELD, (run_ref, *_params(slot), holder)
        )
        return named.rowcount == 1


def renew(conn: Connection, slot: IdempotencySlot, holder: str, lease_until: datetime) -> bool:
    """`IdempotencyStore.renew_idempotency`: a released slot (its lease 0) stays released."""
    with immediate(conn):
        renewed = conn.execute(
            "UPDATE idempotency_keys SET lease_until_us = ?" + _HELD + " AND lease_until_us > 0",
            (to_us(lease_until), *_params(slot), holder),
        )
        return renewed.rowcount == 1


def complete(
    conn: Connection,
    slot: IdempotencySlot,
    holder: str,
    answer: StoredAnswer,
    now: datetime,
) -> bool:
    """`IdempotencyStore.complete_idempotency`."""
    with immediate(conn):
        done = conn.execute(
            "UPDATE idempotency_keys SET status = ?, headers = ?, body = ?, done_us = ?, "
            "lease_until_us = NULL" + _HELD,
            (
                answer.status,
                msgspec.json.encode(answer.headers),
                answer.body,
                to_us(now),
                *_params(slot),
                holder,
            ),
        )
        return done.rowcount == 1


def release(conn: Connection, slot: IdempotencySlot, holder: str) -> bool:
    """`IdempotencyStore.release_idempotency`: a slot naming a run stays, its lease over."""
    with immediate(conn):
        params = (*_params(slot), holder)
        resumable = conn.execute(
            "UPDATE idempotency_keys SET lease_until_us = 0" + _HELD + " AND run_ref IS NOT NULL",
            params,
        )
        freed = conn.execute(
            "DELETE FROM idempotency_keys" + _HELD + " AND run_ref IS NULL", params
        )
        return resumable.rowcount + freed.rowcount == 1


def purge(conn: Connection, expired_before: datetime) -> int:
    """`IdempotencyStore.purge_idempotency`."""
    with immediate(conn):
        gone = conn.execute(
            "DELETE FROM idempotency_keys WHERE reserved_us < ?", (to_us(expired_before),)
        )
        return gone.rowcount


class IdempotencyMethods:
    """Implements `IdempotencyStore` for `SqlLedger`, which sets `_runner`."""

    _runner: LedgerRunner

    async def reserve_idempotency(
        self,
        slot: IdempotencySlot,
        request_hash: str,
        *,
        now: datetime,
        lease_until: datetime,
        expired_before: datetime,
    ) -> Reservation:
        return await self._runner.write(
            reserve, slot, request_hash, now, lease_until, expired_before
        )

    async def link_idempotency(self, slot: IdempotencySlot, holder: str, run_ref: str) -> bool:
        return await self._runner.write(link, slot, holder, run_ref)

    async def renew_idempotency(
        self, slot: IdempotencySlot, holder: str, lease_until: datetime
    ) -> bool:
        return await self._runner.write(renew, slot, holder, lease_until)

    async def complete_idempotency(
        self, slot: IdempotencySlot, holder: str, answer: StoredAnswer, now: datetime
    ) -> bool:
        return await self._runner.write(complete, slot, holder, answer, now)

    async def release_idempotency(self, slot: IdempotencySlot, holder: str) -> bool:
        return await self._runner.write(release, slot, holder)

    async def purge_idempotency(self, expired_before: datetime) -> int:
        return await self._runner.write(purge, expired_before)
