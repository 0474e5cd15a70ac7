"""Idempotency-Key on creates: a create sent again with the same key runs once per key, owner
and create path for 24 hours (Stripe's model; both vendors' SDKs retry POSTs on 5xx and 429,
contracts.md §9), answered from the first request's stored answer.

The key is reserved in the ledger, in one write, before the create is sent; its answer
(status, headers, body bytes) is kept once sent. A replay with the same body gets that answer
byte for byte with `crosswalk-idempotent-replay: true`; another body with the same key is a
422, and a duplicate while the first is in flight a 409, each in the caller's dialect.

Which answers spend the key: a success, a client error that would be the same again (400,
404, 413, 422 …), and any failure after which a run may exist (`note_failure`: the vendor
accepted it, a sync deadline passed, the connection broke after sending). Released, so a retry
runs anew: 401, 403, 408, 409, 429 and every 5xx no run can be behind (the vendor answered
5xx, nothing was sent, a circuit was open). A request whose client went away, or a process
that died, leaves its key in flight until the sync timeout (plus a grace) has passed; then a
retry runs anew: the run the first attempt may have made is in the ledger and the listing,
not linked to the key (the vendors' SDKs would have retried with a fresh request anyway).
"""

from __future__ import annotations

import hashlib
from contextvars import ContextVar
from datetime import timedelta

import anyio
import structlog
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from gateway import metrics
from gateway.auth import authenticate
from gateway.clock import Clock, system_clock
from gateway.config import Settings
from gateway.dialects import dialect_of
from gateway.errors import (
    CrosswalkError,
    GatewayTimeout,
    InvalidRequest,
    Unauthorized,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
    UpstreamUnsent,
)
from gateway.middleware import request_id_of
from gateway.store.idempotency import (
    IdempotencySlot,
    IdempotencyStore,
    InFlight,
    Mismatch,
    Replay,
    Reserved,
    StoredAnswer,
)
from mappings import extend, retab
from mappings.extend import batches

HEADER = "idempotency-key"
REPLAY_HEADER = "crosswalk-idempotent-replay"
MAX_KEY_LENGTH = 255  # Stripe's bound
MAX_ANSWER_BYTES = 1024 * 1024  # a create's answer is a few KiB; a bigger one is not kept
TTL = timedelta(hours=24)
STALE_GRACE = timedelta(seconds=60)  # beyond the sync timeout: the answer is being stored
PURGE_SECONDS = 3600.0
CREATE_PATHS = frozenset({retab.RUNS_PATH, extend.CLASSIFY_PATH, extend.RUNS_PATH,
                          batches.BATCH_PATH})  # fmt: skip
RELEASED_STATUSES = frozenset({401, 403, 408, 409, 429})  # a retry may well go otherwise
_NOT_REPLAYED = frozenset({"content-length", "date", "server"})

log = structlog.get_logger("crosswalk.idempotency")


class IdempotencyInFlight(CrosswalkError):
    """The same create, with the same Idempotency-Key, is still being answered."""

    status = 409
    code = "CONFLICT"
    retryable = True


class _Attempt:
    """What the service learnt about the create being answered under a key."""

    run_may_exist = False


_attempt: ContextVar[_Attempt | None] = ContextVar("idempotent_attempt", default=None)


def note_failure(error: CrosswalkError) -> None:
    """The create being answered failed with `error`: note whether a run may exist anyway,
    which keeps its Idempotency-Key spent (a retry would make a second run)."""
    attempt = _attempt.get()
    if attempt is None:
        return
    broke_after_sending = isinstance(error, UpstreamTimeout | UpstreamUnreachable) and not (
        isinstance(error, UpstreamUnsent)
    )
    made = isinstance(error, UpstreamError) and error.run_made
    if made or broke_after_sending or isinstance(error, GatewayTimeout):
        attempt.run_may_exist = True


def keeps(status: int, *, run_may_exist: bool) -> bool:
    """Whether an answer with `status` spends its key (kept for replays) or frees it."""
    return run_may_exist or (status < 500 and status not in RELEASED_STATUSES)


def request_hash(path: str, body: bytes) -> str:
    """What makes two creates the same: the path and the exact body bytes."""
    return hashlib.sha256(path.encode() + b"\x00" + body).hexdigest()


class Idempotency:
    """The app's Idempotency-Key slots: the store, the clock and how long a create may run."""

    def __init__(
        self, store: IdempotencyStore, *, sync_timeout: float, clock: Clock = system_clock
    ) -> None:
        self.store = store
        self.clock = clock
        self._stale_after = timedelta(seconds=sync_timeout) + STALE_GRACE

    async def reserve(self, slot: IdempotencySlot, hashed: str) -> Reserved | Replay:
        """The slot for this request, or the answer to replay; raises when it is taken."""
        now = self.clock()
        stale_before, expired_before = now - self._stale_after, now - TTL
        reservation = await self.store.reserve_idempotency(
            slot, hashed, now=now, stale_before=stale_before, expired_before=expired_before
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
            case Reserved() | Replay():
                return reservation

    async def settle(
        self, slot: IdempotencySlot, holder: str, answer: _Recorder, attempt: _Attempt
    ) -> None:
        """Keep the answer in the slot, or free it (see the module's docstring)."""
        status = answer.status
        if status is None or not answer.done:
            return  # no whole answer went out: left in flight until it is stale
        if not keeps(status, run_may_exist=attempt.run_may_exist):
            await self.store.release_idempotency(slot, holder)
        elif answer.size > MAX_ANSWER_BYTES:
            # never expected (a create's answer is small): said, and the key freed
            log.warning("idempotency.answer_not_kept", size=answer.size, limit=MAX_ANSWER_BYTES)
            await self.store.release_idempotency(slot, holder)
        else:
            await self.store.complete_idempotency(slot, holder, answer.stored(), self.clock())

    async def purge(self) -> bool:
        """One pass of the purge loop: forget keys older than 24 hours."""
        await self.store.purge_idempotency(self.clock() - TTL)
        return False


class IdempotentCreates:
    """ASGI middleware: answers a create with an Idempotency-Key once per key (the app's
    `state.idempotency` and `state.settings`, set by its lifespan)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = _key_of(scope)
        dialect = dialect_of(scope["path"])
        if raw is None or dialect is None:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        settings: Settings = state.settings
        try:
            owner = authenticate(Headers.from_scope(scope), dialect, settings).owner
        except Unauthorized:
            await self.app(scope, receive, send)  # the surface answers its own 401
            return
        key = _checked(raw)
        body, receive = await _read_body(receive, settings.server.max_body_bytes)
        if body is None:
            await self.app(scope, receive, send)  # too large: the surface answers its 413
            return
        idempotency: Idempotency = state.idempotency
        slot = IdempotencySlot(owner=owner, scope=f"POST {scope['path']}", key=key)
        reservation = await idempotency.reserve(slot, request_hash(scope["path"], body))
        if isinstance(reservation, Replay):
            metrics.idempotent_replay(dialect)
            await _replay(send, reservation.answer)
            return
        await self._first(scope, receive, send, idempotency, slot, reservation.holder)

    async def _first(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        idempotency: Idempotency,
        slot: IdempotencySlot,
        holder: str,
    ) -> None:
        attempt = _Attempt()
        token = _attempt.set(attempt)
        answer = _Recorder(send, request_id_of(scope))
        try:
            await self.app(scope, receive, answer.send)
        finally:
            _attempt.reset(token)
            with anyio.CancelScope(shield=True):
                await idempotency.settle(slot, holder, answer, attempt)


def _key_of(scope: Scope) -> str | None:
    if scope["type"] != ScopeType.HTTP or scope.get("method") != "POST":
        return None
    if scope["path"] not in CREATE_PATHS:
        return None
    for name, value in scope["headers"]:
        if name.lower() == HEADER.encode():
            return str(value.decode("latin-1"))
    return None


def _checked(raw: str) -> str:
    if not raw.strip():
        raise InvalidRequest(f"The {HEADER} header is empty.", status=400)
    if len(raw) > MAX_KEY_LENGTH:
        raise InvalidRequest(
            f"The {HEADER} header is longer than {MAX_KEY_LENGTH} characters.", status=400
        )
    return raw


async def _read_body(receive: Receive, limit: int) -> tuple[bytes | None, Receive]:
    """The request's body (None past `limit`), and a `receive` that hands the app the same
    messages again before the server's own."""
    chunks: list[bytes] = []
    size, more = 0, True
    while more and size <= limit:
        message = await receive()
        if message["type"] != "http.request":
            return None, _then(message, receive)
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = message.get("more_body", False)
    body = b"".join(chunks)
    again: ReceiveMessage = {"type": "http.request", "body": body, "more_body": more}
    return (None if more or size > limit else body), _then(again, receive)


def _then(first: ReceiveMessage, receive: Receive) -> Receive:
    pending: list[ReceiveMessage] = [first]

    async def replayed() -> ReceiveMessage:
        return pending.pop() if pending else await receive()

    return replayed


class _Recorder:
    """Passes a response on while keeping a copy of it (up to `MAX_ANSWER_BYTES`)."""

    def __init__(self, send: Send, request_id: str) -> None:
        self._send = send
        self._request_id = request_id
        self.status: int | None = None
        self._headers: tuple[tuple[str, str], ...] = ()
        self._body: list[bytes] = []
        self.size = 0
        self.done = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self._headers = tuple(
                (name.decode("latin-1").lower(), value.decode("latin-1"))
                for name, value in message.get("headers", ())
            )
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            self.size += len(chunk)
            if self.size <= MAX_ANSWER_BYTES:
                self._body.append(chunk)
            self.done = not message.get("more_body", False)
        await self._send(message)

    def stored(self) -> StoredAnswer:
        """The answer sent, as kept; with this request's id (an Extend error's body names it,
        and a replay is the first request's answer)."""
        headers = tuple((n, v) for n, v in self._headers if n not in _NOT_REPLAYED)
        if not any(name == "x-request-id" for name, _ in headers):
            headers += (("x-request-id", self._request_id),)
        return StoredAnswer(status=self.status or 500, headers=headers, body=b"".join(self._body))


async def _replay(send: Send, answer: StoredAnswer) -> None:
    headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in answer.headers]
    headers += [
        (b"content-length", str(len(answer.body)).encode()),
        (REPLAY_HEADER.encode(), b"true"),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})
