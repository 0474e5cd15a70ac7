"""A fast mock of both vendors' run endpoints, for measuring what a proxy in front costs.

It answers the calls crosswalk makes for a get, a create and an Extend upload with the
fixture JSON of `fixtures/wire/` (the run's id echoed from the path, or a new one for each
create), after a fixed delay: 0 for throughput, 20 ms to see the latency a proxy adds. It is
a bare asyncio protocol over httptools' parser on uvloop (when installed), so that the mock
is never what a benchmark measures: `python -m bench.overhead` prints its own rate alone.

    python -m bench.mock_vendor [--port 8100] [--delay-ms 0]

Routes: Retab `GET /v1/classifications/{id}`, `POST /v1/classifications`; Extend
`GET /classify_runs/{id}`, `POST /classify`, `POST /classify_runs`, `POST /files/upload`.
`PUT /_mock/delay/{ms}` changes the delay of every later answer, so one mock serves a whole
benchmark. Anything else is a 404. Request bodies are read and dropped, never kept.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import secrets
import socket
from collections.abc import Callable
from pathlib import Path
from typing import cast

import httptools

WIRE = Path(__file__).resolve().parent.parent / "fixtures" / "wire"
RUN_PATH = re.compile(rb"^/(?:v1/classifications|classify_runs)/([A-Za-z0-9_-]+)$")
DELAY_PATH = re.compile(rb"^/_mock/delay/([0-9]+(?:\.[0-9]+)?)$")


class Answer:
    """One fixture as a response template: its own id is replaced by the run's."""

    def __init__(self, fixture: str, own_id: str, prefix: str) -> None:
        self._parts = (WIRE / fixture).read_bytes().split(own_id.encode())
        self.prefix = prefix

    def body(self, run_id: bytes) -> bytes:
        return run_id.join(self._parts)


RETAB_RUN = Answer("retab_create_response_201.json", "cls_01JNQ8W3T5V7X9Z1B3D5F7H9K2", "cls_")
EXTEND_RUN = Answer("extend_classify_runs_get_processed.json", "clr_Wm8kP2sV6yB0nE4rT8uX1q", "")
EXTEND_SYNC = Answer("extend_classify_response.json", "clr_Hq3vN7xB1kM5pT9wZ2cF6j", "clr_")
EXTEND_QUEUED = Answer(
    "extend_classify_runs_create_response.json", "clr_Wm8kP2sV6yB0nE4rT8uX1q", "clr_"
)
EXTEND_FILE = Answer("extend_files_upload_response.json", "file_xQ4nT8vB2mK6pR9sW3yZ7c", "file_")
CREATES = {
    b"/v1/classifications": RETAB_RUN,
    b"/classify": EXTEND_SYNC,
    b"/classify_runs": EXTEND_QUEUED,
    b"/files/upload": EXTEND_FILE,
}
NOT_FOUND = b'{"detail":"Not found"}'
OK = b"{}"


class Vendor:
    """What the mock answers: the same bytes for every process of one run, new ids counted."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._ids = itertools.count(1)
        # new ids differ from any earlier mock's, so a ledger kept across runs never sees one twice
        self._token = secrets.token_hex(4)

    def answer(self, method: bytes, path: bytes) -> tuple[int, bytes]:
        """(status, JSON body) for one request."""
        path = path.split(b"?", 1)[0]
        if method == b"POST" and path in CREATES:
            created = CREATES[path]
            run_id = f"{created.prefix}mock{self._token}{next(self._ids):012d}"
            return 200, created.body(run_id.encode())
        if method == b"PUT" and (delay := DELAY_PATH.match(path)) is not None:
            self.delay = float(delay.group(1)) / 1000
            return 200, OK
        found = RUN_PATH.match(path) if method == b"GET" else None
        if found is None:
            return 404, NOT_FOUND
        template = RETAB_RUN if path.startswith(b"/v1/") else EXTEND_RUN
        return 200, template.body(found.group(1))


def response(status: int, body: bytes, *, keep_alive: bool) -> bytes:
    reason = b"OK" if status == 200 else b"Not Found"
    connection = b"keep-alive" if keep_alive else b"close"
    head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n" % (
        status,
        reason,
        len(body),
    )
    return head + b"connection: " + connection + b"\r\n\r\n" + body


class VendorProtocol(asyncio.Protocol):
    """One client connection: requests parsed by httptools, answered in order."""

    def __init__(self, vendor: Vendor) -> None:
        self._vendor = vendor
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._url = b""
        self._loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods
        transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:  # answers are small: never wait for the client's delayed ACK
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            if self._transport is not None:
                self._transport.close()

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_message_complete(self) -> None:
        method = self._parser.get_method()
        keep_alive = self._parser.should_keep_alive()
        status, body = self._vendor.answer(method, self._url)
        self._url = b""
        send = self._sender(response(status, body, keep_alive=keep_alive), keep_alive)
        if self._vendor.delay > 0:
            self._loop.call_later(self._vendor.delay, send)
        else:
            send()

    def _sender(self, data: bytes, keep_alive: bool) -> Callable[[], None]:
        def send() -> None:
            transport = self._transport
            if transport is None or transport.is_closing():
                return
            transport.write(data)
            if not keep_alive:
                transport.close()

        return send

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


async def serve(host: str, port: int, delay: float) -> None:
    """Serve until cancelled."""
    vendor = Vendor(delay)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: VendorProtocol(vendor), host, port, backlog=4096, reuse_address=True
    )
    async with server:
        await server.serve_forever()


def run(host: str, port: int, delay: float) -> None:
    """Serve on the fastest event loop installed."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(host, port, delay))
    else:
        uvloop.run(serve(host, port, delay))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="wait before each answer")
    args = parser.parse_args()
    run(args.host, args.port, args.delay_ms / 1000)


if __name__ == "__main__":
    main()
