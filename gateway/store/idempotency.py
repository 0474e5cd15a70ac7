"""The store's interface for Idempotency-Key reservations (gateway/service/idempotency.py):
one slot per (owner, create path, key), reserved before a create is sent and holding its
answer once it is done; `SqliteLedger` implements it. Imports only the stdlib and msgspec.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import msgspec


class IdempotencySlot(msgspec.Struct, frozen=True, kw_only=True):
    """Where one Idempotency-Key lives: its owner (a key hash), the create it was sent to
    (`POST /classify_runs`) and the client's key itself."""

    owner: str
    scope: str
    key: str


class StoredAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """A create's answer as it was sent: status, headers (names lowercase) and body bytes."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class Reserved(msgspec.Struct, frozen=True, kw_only=True, tag="reserved"):
    """The slot is now this request's: `holder` completes or releases it."""

    holder: str


class Resumed(msgspec.Struct, frozen=True, kw_only=True, tag="resumed"):
    """The slot was left in flight by a process that died after its run was accepted: it is
    now this request's (`holder`), to answer with that run (`run_ref`, its public id)."""

    holder: str
    run_ref: str


class Replay(msgspec.Struct, frozen=True, kw_only=True, tag="replay"):
    """The slot holds the answer of an earlier request with the same body."""

    answer: StoredAnswer


class InFlight(msgspec.Struct, frozen=True, kw_only=True, tag="in_flight"):
    """An earlier request with the same body holds the slot and has not finished."""


class Mismatch(msgspec.Struct, frozen=True, kw_only=True, tag="mismatch"):
    """The slot was taken by a request with another body (or path)."""


Reservation = Reserved | Resumed | Replay | InFlight | Mismatch


class IdempotencyStore(Protocol):
    """Idempotency-Key slots, each reserved in one write so two processes never both run it."""

    async def reserve_idempotency(
        self,
        slot: IdempotencySlot,
        request_hash: str,
        *,
        now: datetime,
        lease_until: datetime,
        expired_before: datetime,
    ) -> Reservation:
        """Take `slot` until `lease_until` for a request whose body hashes to `request_hash`,
        unless it is held: a slot reserved before `expired_before` is free again, and so is
        one still in flight past its lease (its process died, or its answer was a failure
        after its run was made): taken over, `Resumed` when it names that run."""
        ...

    async def link_idempotency(self, slot: IdempotencySlot, holder: str, run_ref: str) -> bool:
        """Name the run the create of `holder`'s slot made (its public id), as soon as it is
        accepted; False if `holder` no longer holds the slot."""
        ...

    async def renew_idempotency(
        self, slot: IdempotencySlot, holder: str, lease_until: datetime
    ) -> bool:
        """Extend the lease of the slot `holder` holds in flight to `lease_until`; False if it
        no longer holds it, or it was completed or released."""
        ...

    async def complete_idempotency(
        self, slot: IdempotencySlot, holder: str, answer: StoredAnswer, now: datetime
    ) -> bool:
        """Keep `answer` in the slot `holder` reserved; False if it no longer holds it."""
        ...

    async def release_idempotency(self, slot: IdempotencySlot, holder: str) -> bool:
        """Free the slot `holder` reserved, so the key can run again (or, when it names a
        run, be answered with it); False if it no longer holds it."""
        ...

    async def purge_idempotency(self, expired_before: datetime) -> int:
        """Forget every slot reserved before `expired_before`; how many."""
        ...
