"""A vendor backend's pooled client keeps every connection it opened for a burst of calls, so
the next burst reuses them rather than closing some and opening new ones (issue 14: httpx keeps
20 by default, and past that each burst paid a new connection per call)."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from gateway.backends.pool import ShardedPool
from gateway.backends.upstream import open_client
from gateway.config import RetabBackendConfig

BURST = 32  # calls in flight at once: more than httpx keeps alive by default
BODY = b'{"id": "cls_pooled"}'


class BurstServer:
    """A loopback vendor that holds each request until `burst` are waiting, then answers them
    all; it counts the connections it accepted."""

    def __init__(self, burst: int) -> None:
        self.burst = burst
        self.connections = 0
        self._waiting = 0
        self._all_in = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> BurstServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                await self._wave()
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(BODY), BODY)
                )
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def waiting(self) -> int:
        """Requests read and not yet answered."""
        return self._waiting

    async def _wave(self) -> None:
        self._waiting += 1
        if self._waiting == self.burst:
            self._all_in.set()
        await self._all_in.wait()
        self._waiting -= 1
        if self._waiting == 0:
            self._all_in = asyncio.Event()  # the next burst waits again


async def test_a_second_burst_reuses_every_connection_of_the_first() -> None:
    async with BurstServer(BURST) as vendor:
        client = open_client(RetabBackendConfig(base_url=vendor.url), None)
        async with client:
            for _ in range(2):
                answers = await asyncio.gather(*(client.get("/v1/runs") for _ in range(BURST)))
                assert {answer.status_code for answer in answers} == {200}
        assert vendor.connections == BURST


async def test_every_call_is_counted_out_of_its_pool_once_answered_or_failed() -> None:
    """A call read to its end, one closed unread, one cancelled and one whose connection was
    refused each leave the pool: none keeps a pool looking busy (then all calls would crowd
    into the others)."""
    pool = ShardedPool(16)
    vendor, held = BurstServer(1), BurstServer(2)  # `held` never answers a lone call
    async with vendor, held, httpx.AsyncClient(transport=pool) as client:
        assert (await client.get(f"{vendor.url}/read")).content == BODY
        async with client.stream("GET", f"{vendor.url}/unread") as unread:
            assert pool.in_flight == 1
            assert unread.status_code == 200
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{_closed_port()}/refused")
        cancelled = asyncio.create_task(client.get(f"{held.url}/cancelled"))
        while held.waiting == 0:  # sent, and waiting for its answer
            await asyncio.sleep(0.001)
        assert pool.in_flight == 1
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        assert pool.in_flight == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: a connection to it is refused
