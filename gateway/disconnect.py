"""Stops handling a request whose client has gone, so its upstream call ends with it.

uvicorn never cancels an app when the client disconnects: a handler waiting on a slow vendor
would hold its pooled upstream connection until the vendor answered, and enough abandoned
requests exhaust the pool for every client. `CancelOnDisconnect` watches the connection once
the request body has been read and cancels the handler (its upstream call, and so the
connection, is released) when the client goes before the response is complete.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import anyio
import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

log = structlog.get_logger("crosswalk.request")


class CancelOnDisconnect:
    """ASGI middleware: cancels the app's handling of a request whose client disconnected."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        with anyio.CancelScope() as handling:
            exchange = _Exchange(receive, send, on_gone=handling.cancel)
            try:
                if not _has_body(scope):
                    await exchange.read_empty_body()
                await self.app(scope, exchange.receive, exchange.send)
            finally:
                exchange.stop_watching()
        if handling.cancelled_caught:
            log.info("request.abandoned", reason="the client disconnected")


class _Exchange:
    """One request's receive and send as the app sees them. Once the body is in, a watcher
    alone reads the server's `receive` (two readers at once are not allowed); an app that
    asks again is handed the disconnect when it comes."""

    def __init__(self, receive: Receive, send: Send, *, on_gone: Callable[[], None]) -> None:
        self._receive = receive
        self._send = send
        self._on_gone = on_gone
        self._early: ReceiveMessage | None = None  # an empty body read before the app asked
        self._watcher: asyncio.Task[None] | None = None
        self._gone = asyncio.Event()
        self._disconnect: ReceiveMessage = {"type": "http.disconnect"}
        self._responded = False

    async def read_empty_body(self) -> None:
        """Take a bodiless request's one message now: an app that never reads its body
        (a GET) is still watched from the start."""
        self._early = await self._receive()
        self._received(self._early)

    async def receive(self) -> ReceiveMessage:
        if self._early is not None:
            message, self._early = self._early, None
            return message
        if self._watcher is not None:
            await self._gone.wait()
            return self._disconnect
        message = await self._receive()
        self._received(message)
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self._responded = True  # a disconnect from now on interrupts nothing
        await self._send(message)

    def stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()

    def _received(self, message: ReceiveMessage) -> None:
        if message["type"] == "http.request" and not message.get("more_body", False):
            self._watcher = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while (message := await self._receive())["type"] != "http.disconnect":
            pass  # a server may wake a reader with an empty chunk; only a disconnect counts
        self._disconnect = message
        self._gone.set()
        if not self._responded:
            self._on_gone()


def _has_body(scope: Scope) -> bool:
    """Whether the request announces a body (HTTP/1.1: a length or a transfer coding)."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False
