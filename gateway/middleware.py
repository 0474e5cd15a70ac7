"""Per-request context: a request id on every response and one summary log line.

A client that goes away mid-request (fewer body bytes than its Content-Length, then a close)
is noted in the request's state, so its request is logged as abandoned (status 499, nginx's
"client closed request"), not as a server error.
"""

from __future__ import annotations

import secrets
import time

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from gateway.dialects import dialect_of

REQUEST_ID_HEADER = b"x-request-id"
CLIENT_CLOSED = 499  # nginx's status for a request its client abandoned; never sent to anyone
log = structlog.get_logger("crosswalk.request")


def new_request_id() -> str:
    """A fresh id in Retab's style (`req_…`), unique per request."""
    return "req_" + secrets.token_hex(12)


def client_gone(scope: Scope) -> bool:
    """True once the client of this request has disconnected."""
    return bool(scope.get("state", {}).get("client_gone", False))


def request_id_of(scope: Scope) -> str:
    """This request's id, assigned on first use (routing errors never reach middleware)."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        state["request_id"] = new_request_id()
    return str(state["request_id"])


async def add_request_id(message: Message, scope: Scope) -> None:
    """`before_send` hook: every response, errors from the router included, gets its id."""
    if message["type"] == "http.response.start":
        headers = list(message.get("headers", []))
        if not any(name.lower() == REQUEST_ID_HEADER for name, _ in headers):
            headers.append((REQUEST_ID_HEADER, request_id_of(scope).encode()))
        message["headers"] = headers


class RequestContext:
    """ASGI middleware: binds the request id to the log context, logs one line at the end."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=request_id, surface=dialect_of(scope["path"]) or "gateway"
        )
        started = time.perf_counter()
        status: int | None = None  # until a response starts

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        async def receive_noting_disconnect() -> ReceiveMessage:
            message = await receive()
            if message["type"] == "http.disconnect":
                scope["state"]["client_gone"] = True
            return message

        try:
            await self.app(scope, receive_noting_disconnect, send_noting_status)
        finally:
            if status is None:
                # no answer at all: its client left (the handling was cancelled), or a bug
                status = CLIENT_CLOSED if client_gone(scope) else 500
            log.info(
                "request.completed",
                method=scope.get("method", ""),
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
