"""A client that hangs up mid-request releases the gateway's upstream call and its pooled
connection, so abandoned requests cannot exhaust the pool for everyone else.

The pool test serves the gateway with uvicorn, which is what never cancels an app on its own;
the middleware's own promises are checked against a toy app, with no server.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import msgspec
from litestar.types import HTTPRequestEvent, Message, ReceiveMessage, Scope
from structlog.testing import capture_logs

from gateway.disconnect import CancelOnDisconnect
from mappings import extend
from tests.harness import (
    GATEWAY_KEY,
    MakeGateway,
    vendor_backend,
    vendor_settings,
    wait_until,
    wire_json,
)
from tests.loopback import DripServer

POOL = 2  # the backend's max_connections
ABANDONED = 3 * POOL
READY = "/classify_runs/clr_ready"
HEADERS = {
    "host": "127.0.0.1",
    "authorization": f"Bearer {GATEWAY_KEY}",
    extend.VERSION_HEADER: extend.API_VERSION,
}


def _raw_request(method: str, path: str, body: bytes = b"") -> bytes:
    headers = dict(HEADERS)
    if body:
        headers |= {"content-type": "application/json", "content-length": str(len(body))}
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"{method} {path} HTTP/1.1\r\n{head}\r\n".encode() + body


def test_abandoned_requests_do_not_exhaust_the_upstream_pool(
    tmp_path: Path, make_gateway: MakeGateway
) -> None:
    """Clients that hang up while the vendor drips its answer (a get, and a create whose body
    was read) let go of their upstream connections at once, long before any timeout; with
    three times the pool abandoned, another client is still served."""
    create = msgspec.json.encode(wire_json("extend_classify_runs_create_request.json"))
    abandoned = [_raw_request("GET", "/classify_runs/clr_slow")]
    abandoned.append(_raw_request("POST", "/classify_runs", create))
    with DripServer({READY: b'{"id": "clr_ready"}'}) as vendor:
        backend = vendor_backend(
            "extend",
            vendor.url,
            api_key_env="EXTEND_KEY",
            max_connections=POOL,
            call_timeout=120.0,
            read_timeout=120.0,
        )
        settings = vendor_settings(
            tmp_path,
            {"extend": backend},
            default="extend",
            api_keys=(GATEWAY_KEY,),
            upstream_keys={"extend": "sk-extend"},
        )
        gateway = make_gateway(settings, served=True)
        host, port = gateway.url.removeprefix("http://").split(":")
        with capture_logs() as logs:
            for n in range(1, ABANDONED + 1):
                with socket.create_connection((host, int(port))) as client:
                    client.sendall(abandoned[n % 2])
                    wait_until(_counted(vendor, "received", n))  # its upstream call is under way
                wait_until(_counted(vendor, "released", n), timeout=10)
            response = gateway.http(GATEWAY_KEY).get(READY, headers=HEADERS, timeout=10)

            def summaries() -> list[int]:
                return [e["status"] for e in logs if e["event"] == "request.completed"]

            wait_until(lambda: len(summaries()) == ABANDONED + 1)
    assert response.status_code == 200
    assert response.json() == {"id": "clr_ready"}
    # each abandoned request is logged as its client's doing, never as a server error
    assert sorted(summaries()) == [200] + [499] * ABANDONED


def _counted(vendor: DripServer, what: str, count: int) -> Callable[[], bool]:
    return lambda: bool(getattr(vendor, what) == count)


class Server:
    """The server side of one toy request: what `receive` hands out, then a disconnect once
    `hang_up` is called; what the app sent."""

    def __init__(self, *body: bytes) -> None:
        chunks = body or (b"",)
        self.messages: list[HTTPRequestEvent] = [
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
            for i, chunk in enumerate(chunks)
        ]
        length = str(sum(map(len, body))).encode()
        headers = [(b"content-length", length)] if body else []
        self.scope = cast(Scope, {"type": "http", "path": "/classify_runs", "headers": headers})
        self.sent: list[Message] = []
        self._gone = asyncio.Event()

    def hang_up(self) -> None:
        self._gone.set()

    async def receive(self) -> ReceiveMessage:
        if self.messages:
            return self.messages.pop(0)
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)


RESPONSE: list[Message] = [
    {"type": "http.response.start", "status": 200, "headers": []},
    {"type": "http.response.body", "body": b"{}", "more_body": False},
]


class App:
    """A toy app: reads its body (unless told not to), then waits for `release` before it
    answers; notes what it read and whether it was cancelled."""

    def __init__(self, *, read_body: bool = True, receive_after: bool = False) -> None:
        self.read_body = read_body
        self.receive_after = receive_after
        self.body = b""
        self.waiting = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = False
        self.after: ReceiveMessage | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        more = self.read_body
        while more:
            message = await receive()
            self.body += message["body"]
            more = message["more_body"]
        self.waiting.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        for message in RESPONSE:
            await send(message)
        if self.receive_after:
            self.after = await receive()


async def _run(app: App, server: Server) -> asyncio.Task[None]:
    task = asyncio.create_task(CancelOnDisconnect(app)(server.scope, server.receive, server.send))
    await asyncio.wait_for(app.waiting.wait(), timeout=5)
    return task


async def test_a_handler_is_cancelled_when_its_client_hangs_up_after_the_body() -> None:
    """The app read its whole body and is still working: a disconnect cancels it, and the
    middleware itself ends quietly (there is no one to answer)."""
    app, server = App(), Server(b'{"a":', b" 1}")
    task = await _run(app, server)
    server.hang_up()
    await asyncio.wait_for(task, timeout=5)
    assert app.cancelled
    assert app.body == b'{"a": 1}'
    assert server.sent == []


async def test_a_bodiless_request_is_watched_though_the_app_never_reads_it() -> None:
    """A GET's handler never calls `receive`; its client's going still cancels it."""
    app, server = App(read_body=False), Server()
    task = await _run(app, server)
    server.hang_up()
    await asyncio.wait_for(task, timeout=5)
    assert app.cancelled


async def test_a_request_whose_client_stays_is_answered_untouched() -> None:
    """No disconnect, no interference: the app's answer goes out as it sent it."""
    app, server = App(), Server(b"{}")
    task = await _run(app, server)
    app.release.set()
    await asyncio.wait_for(task, timeout=5)
    assert not app.cancelled
    assert server.sent == RESPONSE


async def test_an_app_asking_after_its_response_is_handed_the_disconnect() -> None:
    """An app that calls `receive` again once answered gets the disconnect when it comes,
    and is not cancelled for it: its response was complete."""
    app, server = App(receive_after=True), Server(b"{}")
    task = await _run(app, server)
    app.release.set()
    await asyncio.wait_for(wait_for_sent(server, len(RESPONSE)), timeout=5)
    server.hang_up()
    await asyncio.wait_for(task, timeout=5)
    assert app.after == {"type": "http.disconnect"}
    assert not app.cancelled


async def wait_for_sent(server: Server, count: int) -> None:
    while len(server.sent) < count:
        await asyncio.sleep(0)
