"""The ASGI side of Idempotency-Key (gateway/service/idempotency.py has the rules): reads a
create's key and body before its handler, answers a replay or a refusal itself, and keeps a
copy of the first answer as it is sent.

Runs after authentication would: the owner is the caller's key hash (a key the surface will
refuse is left to it, with no slot taken), and only the create paths of both surfaces are
read: `POST /v1/classifications`, `/classify`, `/classify_runs` and `/classify_runs/batch`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from gateway import metrics
from gateway.auth import authenticate
from gateway.config import Settings
from gateway.dialects import dialect_of
from gateway.errors import CrosswalkError, InvalidRequest, Unauthorized
from gateway.middleware import request_id_of
from gateway.service.idempotency import (
    MAX_ANSWER_BYTES,
    Attempt,
    Idempotency,
    attempting,
    request_hash,
)
from gateway.store.idempotency import IdempotencySlot, Replay, Resumed, StoredAnswer
from gateway.surfaces.early_errors import answer_error
from mappings import extend, retab
from mappings.extend import batches

HEADER = "idempotency-key"
REPLAY_HEADER = "crosswalk-idempotent-replay"
MAX_KEY_LENGTH = 255  # Stripe's bound
CREATE_PATHS = frozenset({retab.RUNS_PATH, extend.CLASSIFY_PATH, extend.RUNS_PATH,
                          batches.BATCH_PATH})  # fmt: skip
_NOT_REPLAYED = frozenset({"content-length", "date", "server"})  # the server's own, per answer


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
        settings: Settings = scope["app"].state.settings
        try:
            owner = authenticate(Headers.from_scope(scope), dialect, settings).owner
        except Unauthorized:
            await self.app(scope, receive, send)  # the surface answers its own 401
            return
        limit = settings.server.max_body_bytes
        if _declared_size(scope) > limit:
            await self.app(scope, receive, send)  # too large: the surface answers its 413
            return
        body, receive = await _read_body(receive, limit)
        if body is None:
            await self.app(scope, receive, send)  # too large: the surface answers its 413
            return
        idempotency: Idempotency = scope["app"].state.idempotency
        slot = IdempotencySlot(owner=owner, scope=f"POST {scope['path']}", key=raw)
        try:
            _check(raw)
            # shielded: a reservation taken is always settled, never orphaned in flight
            with anyio.CancelScope(shield=True):
                reservation = await idempotency.reserve(slot, request_hash(scope["path"], body))
        except CrosswalkError as exc:
            await answer_error(scope, receive, send, exc)
            return
        if isinstance(reservation, Replay):
            metrics.idempotent_replay(dialect)
            await _replay(send, reservation.answer)
            return
        holder = reservation.holder

        async def link(run_ref: str) -> bool:
            return await idempotency.store.link_idempotency(slot, holder, run_ref)

        resume = reservation.run_ref if isinstance(reservation, Resumed) else None
        with attempting(Attempt(resume=resume, link=link)) as attempt:

            async def settle(answer: StoredAnswer | None, size: int) -> None:
                with anyio.CancelScope(shield=True):
                    await idempotency.settle(slot, holder, answer, attempt, size=size)

            recorder = _Recorder(send, request_id_of(scope), settle)
            try:
                async with idempotency.holding(slot, holder):
                    await self.app(scope, receive, recorder.send)
            finally:
                if not recorder.settled:  # no whole answer was sent: the client left, or a failure
                    await settle(recorder.stored(), recorder.size)


def _key_of(scope: Scope) -> str | None:
    if scope["type"] != ScopeType.HTTP or scope.get("method") != "POST":
        return None
    if scope["path"] not in CREATE_PATHS:
        return None
    for name, value in scope["headers"]:
        if name.lower() == HEADER.encode():
            return str(value.decode("latin-1"))
    return None


def _check(raw: str) -> None:
    if not raw.strip():
        raise InvalidRequest(f"The {HEADER} header is empty.", status=400)
    if len(raw) > MAX_KEY_LENGTH:
        raise InvalidRequest(
            f"The {HEADER} header is longer than {MAX_KEY_LENGTH} characters.", status=400
        )


def _declared_size(scope: Scope) -> int:
    """The body size the request's Content-Length declares (0 without a readable one)."""
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def _read_body(receive: Receive, limit: int) -> tuple[list[bytes] | None, Receive]:
    """The request's body as its chunks (None past `limit`), and a `receive` that hands the
    app the same messages again before the server's own."""
    read: list[ReceiveMessage] = []
    body: list[bytes] = []
    size, more = 0, True
    while more and size <= limit:
        message = await receive()
        read.append(message)
        if message["type"] != "http.request":
            return None, _then(read, receive)
        body.append(message.get("body", b""))
        size += len(body[-1])
        more = message.get("more_body", False)
    return (None if more or size > limit else body), _then(read, receive)


def _then(first: list[ReceiveMessage], receive: Receive) -> Receive:
    pending = first[::-1]

    async def replayed() -> ReceiveMessage:
        return pending.pop() if pending else await receive()

    return replayed


class _Recorder:
    """Passes a response on while keeping a copy of it (up to `MAX_ANSWER_BYTES`), and settles
    the key with it before the answer's last bytes leave: a client that has its answer can
    count on a retry getting the same one, even if the process dies the moment after."""

    def __init__(
        self,
        send: Send,
        request_id: str,
        settle: Callable[[StoredAnswer | None, int], Awaitable[None]],
    ) -> None:
        self._send = send
        self._settle = settle
        self.settled = False
        self._request_id = request_id
        self._status: int | None = None
        self._headers: tuple[tuple[str, str], ...] = ()
        self._body: list[bytes] = []
        self.size = 0
        self._done = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._status = message["status"]
            self._headers = tuple(
                (name.decode("latin-1").lower(), value.decode("latin-1"))
                for name, value in message.get("headers", ())
            )
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            self.size += len(chunk)
            if self.size <= MAX_ANSWER_BYTES:
                self._body.append(chunk)
            self._done = not message.get("more_body", False)
            if self._done:
                await self._settle(self.stored(), self.size)
                self.settled = True
        await self._send(message)

    def stored(self) -> StoredAnswer | None:
        """The answer sent, as kept (None if none was sent whole); with this request's id,
        for an Extend error's body names it, and a replay is the first request's answer."""
        if self._status is None or not self._done:
            return None
        headers = tuple((n, v) for n, v in self._headers if n not in _NOT_REPLAYED)
        if not any(name == "x-request-id" for name, _ in headers):
            headers += (("x-request-id", self._request_id),)
        return StoredAnswer(status=self._status, headers=headers, body=b"".join(self._body))


async def _replay(send: Send, answer: StoredAnswer) -> None:
    headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in answer.headers]
    headers += [
        (b"content-length", str(len(answer.body)).encode()),
        (REPLAY_HEADER.encode(), b"true"),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})
