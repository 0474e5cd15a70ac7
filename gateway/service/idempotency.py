"""Idempotency-Key on creates: a create sent again with the same key runs once per key, owner
and create path for 24 hours (Stripe's model; both vendors' SDKs retry POSTs on 5xx and 429,
contracts.md §9), answered from the first request's stored answer.

The key is reserved in the ledger, in one write, before the create is sent; its answer
(status, headers, body bytes) is kept once sent. A replay with the same body gets that answer
byte for byte with `crosswalk-idempotent-replay: true`; another body with the same key is a
422, and a duplicate while the first is in flight a 409, each in the caller's dialect.

Which answers spend the key: a success, a client error that would be the same again (400,
404, 413, 422 …), and a failure after which a run may exist that the key cannot name
(`note_failure`: an upstream timeout, a connection broken after sending). The key names its
run as soon as the backend accepts one (`run_accepted`); any other answer releases it: a key
naming a run is then answered with that run as it is now (a sync create past its deadline,
then retried), one naming none runs anew (401, 403, 408, 409, 429, a 5xx from the vendor,
nothing sent, a circuit open). A request whose client went away without a whole answer
frees its key when the key names its run or nothing was sent upstream yet, and otherwise
leaves it in flight (a run may be on its way). While a create is in flight its live process
renews the reservation, so only a dead process's slot goes stale: after the sync timeout
(plus a grace) it is taken over like a released one.
A batch create names no run: after a crash its retry makes a new batch.

This module holds the rules and the ledger's side; gateway/idempotent_creates.py reads the
header and the body and keeps the answer, as ASGI middleware; the dialect service tells it,
through `note_failure`, when a failed create may have left a run behind.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from contextvars import ContextVar
from datetime import timedelta

import anyio
import structlog

from gateway import upstream_sends
from gateway.clock import Clock, system_clock
from gateway.errors import (
    CrosswalkError,
    GatewayTimeout,
    InvalidRequest,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
    UpstreamUnsent,
)
from gateway.store.idempotency import (
    IdempotencySlot,
    IdempotencyStore,
    InFlight,
    Mismatch,
    Replay,
    Reserved,
    Resumed,
    StoredAnswer,
)

MAX_ANSWER_BYTES = 1024 * 1024  # a create's answer is a few KiB; a bigger one is not kept
TTL = timedelta(hours=24)
STALE_GRACE = timedelta(seconds=60)  # beyond the sync timeout: the answer is being stored
PURGE_SECONDS = 3600.0
RENEW_TICK = 0.5  # seconds between looks at a held lease; it is written only when due
RELEASED_STATUSES = frozenset({401, 403, 408, 409, 429})  # a retry may well go otherwise

log = structlog.get_logger("crosswalk.idempotency")


class IdempotencyInFlight(CrosswalkError):
    """The same create, with the same Idempotency-Key, is still being answered."""

    status = 409
    code = "CONFLICT"
    retryable = True


class Attempt:
    """A create being answered under a key: the run it is to answer with instead (`resume`,
    a public id: its first try's, which failed or died after making it), how to name the
    run in the slot once one is accepted (`link`), whether it is named, whether a run
    may exist unnamed (`note_failure`), and whether a request went upstream (`sent`)."""

    def __init__(
        self,
        *,
        resume: str | None = None,
        link: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        self.resume = resume
        self.named = resume is not None
        self.run_may_exist = False
        self.sent = False
        self._link = link

    async def accepted(self, public_id: str) -> None:
        if self._link is not None:
            link, self._link = self._link, None  # the create's own run: the first accepted
            with anyio.CancelScope(shield=True):
                self.named = await link(public_id)

    def sending(self) -> None:
        self.sent = True  # from now on a run may exist that a gone client was not told of

    def keeps(self, status: int) -> bool:
        """Whether an answer with `status` spends the key, kept for replays: a success, a
        client error the same request would get again, and a failure after which a run may
        exist that the key does not name. Otherwise the key is released: to run again, or,
        when it names its run, to be answered with that run."""
        if status < 500 and status not in RELEASED_STATUSES:
            return True
        return self.run_may_exist and not self.named


_attempt: ContextVar[Attempt | None] = ContextVar("idempotent_attempt", default=None)


@contextmanager
def attempting(attempt: Attempt) -> Iterator[Attempt]:
    """Answer a create under a key inside this block: the service reads and writes `attempt`
    through `resuming`, `run_accepted` and `note_failure`."""
    token = _attempt.set(attempt)
    try:
        with upstream_sends.watching(attempt.sending):
            yield attempt
    finally:
        _attempt.reset(token)


def resuming() -> str | None:
    """The public id of the run to answer this create with, instead of making one: its key's
    first try made it, then failed or died."""
    attempt = _attempt.get()
    return None if attempt is None else attempt.resume


async def run_accepted(public_id: str) -> None:
    """The backend accepted the run of the create being answered (under a key, if any): the
    key is spent, and names the run, so a retry after a crash answers with it."""
    attempt = _attempt.get()
    if attempt is not None:
        await attempt.accepted(public_id)


def note_failure(error: CrosswalkError) -> None:
    """The create being answered failed with `error`: note whether a run may exist anyway
    that the key may not name, which keeps the key spent (a retry could make a second run)."""
    attempt = _attempt.get()
    if attempt is None:
        return
    broke_after_sending = isinstance(error, UpstreamTimeout | UpstreamUnreachable) and not (
        isinstance(error, UpstreamUnsent)
    )
    made = isinstance(error, UpstreamError) and error.run_made
    if made or broke_after_sending or isinstance(error, GatewayTimeout):
        attempt.run_may_exist = True


def request_hash(path: str, body: Iterable[bytes]) -> str:
    """What makes two creates the same: the path and the exact body bytes (its chunks, hashed
    as they come rather than joined into a copy)."""
    hashed = hashlib.sha256(path.encode() + b"\x00")
    for chunk in body:
        hashed.update(chunk)
    return hashed.hexdigest()


class Idempotency:
    """The app's Idempotency-Key slots: the store, the clock and how long a create may run."""

    def __init__(
        self, store: IdempotencyStore, *, sync_timeout: float, clock: Clock = system_clock
    ) -> None:
        self.store = store
        self.clock = clock
        self._stale_after = timedelta(seconds=sync_timeout) + STALE_GRACE

    async def reserve(self, slot: IdempotencySlot, hashed: str) -> Reserved | Resumed | Replay:
        """The slot for this request (resumed: naming the run to answer with), or the answer
        to replay; raises when it is taken."""
        now = self.clock()
        lease_until, expired_before = now + self._stale_after, now - TTL
        reservation = await self.store.reserve_idempotency(
            slot, hashed, now=now, lease_until=lease_until, expired_before=expired_before
        )
        match reservation:
            case InFlight():
                raise IdempotencyInFlight(
                    "A request with this Idempotency-Key is still being processed; "
                    "retry once it has been answered."
                )
            case Mismatch():
                raise InvalidRequest(
                    "This Idempotency-Key was already used with a different request body; "
                    "use a new key for a new request."
                )
            case Reserved() | Resumed() | Replay():
                return reservation

    @asynccontextmanager
    async def holding(self, slot: IdempotencySlot, holder: str) -> AsyncIterator[None]:
        """Keep `holder`'s reservation from going stale while the block runs: a create may
        run longer than the sync timeout (a background run, or fallback to another backend)."""
        renewer = asyncio.create_task(self._renew(slot, holder))
        try:
            yield
        finally:
            renewer.cancel()
            with anyio.CancelScope(shield=True), suppress(asyncio.CancelledError):
                await renewer  # no renewal written after the slot is settled

    async def _renew(self, slot: IdempotencySlot, holder: str) -> None:
        renewed = self.clock()
        while True:
            await anyio.sleep(RENEW_TICK)
            now = self.clock()
            if now - renewed < self._stale_after / 4:
                continue
            try:
                held = await self.store.renew_idempotency(slot, holder, now + self._stale_after)
            except Exception as exc:  # the create goes on; its lease may lapse as a dead one's
                log.warning("idempotency.renew_failed", error=type(exc).__name__)
                return
            if not held:
                return  # no longer this request's: settled, or taken over
            renewed = now

    async def settle(
        self,
        slot: IdempotencySlot,
        holder: str,
        answer: StoredAnswer | None,
        attempt: Attempt,
        *,
        size: int,
    ) -> None:
        """Keep the answer sent (`size` bytes of body, kept up to `MAX_ANSWER_BYTES`) in the
        slot, or free it (see the module's docstring); None when no whole answer was sent."""
        if answer is None:
            # the client went (or the app failed) before a whole answer: a key naming its run
            # is answered with it on retry, and one whose create sent nothing upstream runs
            # anew; otherwise a run may be on its way, and the key stays in flight till stale
            if attempt.named or not attempt.sent:
                await self.store.release_idempotency(slot, holder)
            return
        if not attempt.keeps(answer.status):
            await self.store.release_idempotency(slot, holder)
        elif size > MAX_ANSWER_BYTES:
            # never expected (a create's answer is small): said, and the key freed
            log.warning("idempotency.answer_not_kept", size=size, limit=MAX_ANSWER_BYTES)
            await self.store.release_idempotency(slot, holder)
        else:
            await self.store.complete_idempotency(slot, holder, answer, self.clock())

    async def purge(self) -> bool:
        """One pass of the purge loop: forget keys older than 24 hours."""
        await self.store.purge_idempotency(self.clock() - TTL)
        return False
