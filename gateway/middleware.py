"""Per-request context: a request id on every response, the request's metrics, and one
summary log line — for every request, unknown paths and wrong methods included.

`RequestContext` wraps the whole app, outside Litestar's routing (`wrap_app`): middleware
given to Litestar runs only once a route matched, so a 404 would go uncounted and unlogged.

An incoming `x-request-id` that is sane (up to 128 of `A-Za-z0-9._:-`) is kept and echoed,
so a caller's own id follows its request through crosswalk's logs; any other gets a new one.

A client that goes away mid-request (fewer body bytes than its Content-Length, then a close)
is noted in the request's state, so its request is logged as abandoned (status 499, nginx's
"client closed request"), not as a server error.
"""

from __future__ import annotations

import re
import secrets
import time

import structlog
from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from gateway import metrics
from gateway.dialects import dialect_of

REQUEST_ID_HEADER = b"x-request-id"
CLIENT_CLOSED = 499  # nginx's status for a request its client abandoned; never sent to anyone
# the answer's own headers that the summary line and the metrics read (gateway/surfaces/render)
_BACKEND = b"crosswalk-backend"
_ATTEMPTS = b"crosswalk-attempts"
_TRANSLATION = b"crosswalk-translation"
_READ = frozenset({_BACKEND, _ATTEMPTS, _TRANSLATION})
_SANE_ID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
_MAX_LOGGED_PATH = 100  # an unknown path is logged as sent, but not at any length
_PARAMETER = re.compile(r"\{[^}]*\}")
_routes: dict[str, str] = {}  # the routes' templates are a bounded set: each rewritten once
NO_ROUTE = "none"  # the surface (in metrics and logs) of a request no route took
log = structlog.get_logger("crosswalk.request")


def new_request_id() -> str:
    """A fresh id in Retab's style (`req_…`), unique per request."""
    return "req_" + secrets.token_hex(12)


def client_gone(scope: Scope) -> bool:
    """True once the client of this request has disconnected."""
    return bool(scope.get("state", {}).get("client_gone", False))


def request_id_of(scope: Scope) -> str:
    """This request's id: its caller's `x-request-id` when sane, else a new one."""
    state = scope.setdefault("state", {})
    if "request_id" not in state:
        given = next((v for k, v in scope.get("headers", ()) if k == REQUEST_ID_HEADER), b"")
        state["request_id"] = given.decode() if _SANE_ID.fullmatch(given) else new_request_id()
    return str(state["request_id"])


async def add_request_id(message: Message, scope: Scope) -> None:
    """`before_send` hook: every response, errors from the router included, gets its id."""
    if message["type"] == "http.response.start":
        headers = list(message.get("headers", []))
        if not any(name.lower() == REQUEST_ID_HEADER for name, _ in headers):
            headers.append((REQUEST_ID_HEADER, request_id_of(scope).encode()))
        message["headers"] = headers


def wrap_app(app: Litestar) -> Litestar:
    """Put `RequestContext` around all of `app`, routing included; returns `app`."""
    app.asgi_handler = RequestContext(app.asgi_handler)
    return app


class RequestContext:
    """ASGI middleware: binds the request id to the log context, counts the request in the
    metrics and logs one line at its end."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        # in flight before routing: by its path's surface (a bounded set), "gateway" outside
        arriving_at = dialect_of(scope["path"]) or "gateway"
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, surface=arriving_at)
        metrics.request_started(arriving_at)
        started = time.perf_counter()
        status: int | None = None  # until a response starts
        answer: dict[bytes, bytes] = {}

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", ())
                answer.update((k.lower(), v) for k, v in headers if k.lower() in _READ)
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
            _ended(scope, arriving_at, status, answer, time.perf_counter() - started)


def _ended(
    scope: Scope, arriving_at: str, status: int, answer: dict[bytes, bytes], seconds: float
) -> None:
    """The request's metrics and its summary line: never a key, a query or a body."""
    routed = "route_handler" in scope
    surface = arriving_at if routed else NO_ROUTE
    context = structlog.contextvars.get_contextvars()
    backend = answer.get(_BACKEND, b"").decode("latin-1") or str(context.get("backend", "none"))
    notes = answer.get(_TRANSLATION, b"").decode("latin-1")
    metrics.request_ended(
        surface=surface, backend=backend, status=status, seconds=seconds, in_flight_as=arriving_at
    )
    noted = _noted_fields(notes) if notes else []
    if noted:
        metrics.translation_lost(surface, noted)
    overhead = max(0.0, seconds - metrics.upstream_total())
    # what applies only: the line stays within 300 bytes (issue 14). The fields a translation
    # noted are counted here; their names are in the answer's crosswalk-translation header,
    # in crosswalk_translation_lost_total, and in a DEBUG line
    extra: dict[str, str | int] = {"backend": backend} if backend != "none" else {}
    if attempts := answer.get(_ATTEMPTS, b"").decode("latin-1"):
        extra["attempts"] = attempts
    if noted:
        extra["noted"] = len(noted)
        log.debug("request.translation", notes=notes)
    if context.get("upstream_attempts") == 1:
        # named only when the call was retried: the line stays within 300 bytes
        structlog.contextvars.unbind_contextvars("upstream_attempts")
    log.info(
        "request.completed",
        method=scope.get("method", ""),
        route=_route(scope["path_template"]) if routed else scope["path"][:_MAX_LOGGED_PATH],
        surface=surface,
        status=status,
        overhead_ms=round(overhead * 1000, 2),
        duration_ms=round(seconds * 1000, 2),
        **extra,
    )


def _route(template: str) -> str:
    """A route template as logged: `/v1/classifications/{}`, its parameters unnamed (the
    names say nothing the path does not, and the line stays within 300 bytes)."""
    if (logged := _routes.get(template)) is None:
        logged = _routes[template] = _PARAMETER.sub("{}", template)
    return logged


def _noted_fields(header: str) -> list[str]:
    """The field names of a `crosswalk-translation` header (`synthesized=a,b; dropped=c`)."""
    return [
        field
        for part in header.split(";")
        for field in part.partition("=")[2].split(",")
        if field.strip()
    ]
