"""The connections a vendor backend keeps to its vendor: several small httpx pools side by side
(`ShardedPool`), each call sent through the one with the fewest calls in flight.

Why not one pool of `max_connections`: httpcore's pool walks every connection it holds each
time a call starts or ends, and asks the OS of each idle one whether its server hung up (a
poll per connection), so a call costs time in proportion to the pool's size. One that keeps
only a few alive (httpx keeps 20 by default) instead closes and reopens connections whenever
more calls than that are in flight. Measured with 64 calls in flight to a vendor answering in
20 ms, side by side (`python -m bench.profile_path --kind pool`, 2 busy cores, two runs): one
pool keeping 20 alive, 277 and 549 calls/s, p99 515 and 248 ms, 1,375 and 2,731 connections
opened in 5 s; one pool keeping all 100 alive, 85 and 101 calls/s, p99 3.7 and 3.1 s; these
pools of 8, 940 and 780 calls/s, p99 192 and 179 ms, 64 connections opened in all.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import httpx

SHARD_CONNECTIONS = 8  # per small pool: what one call start or end walks
# how long an idle pooled connection is kept (httpx's default): a busy pool reuses its
# connections within milliseconds anyway, and one kept longer than its server keeps it (uvicorn
# drops idle ones after 5 s) may be closed under a create about to use it, which is not retried
KEEPALIVE_SECONDS = 5.0


class ShardedPool(httpx.AsyncBaseTransport):
    """An httpx transport of `connections` pooled connections in all, every one kept alive
    between calls, split into pools of at most `SHARD_CONNECTIONS`."""

    def __init__(self, connections: int, *, tls: ssl.SSLContext | None = None) -> None:
        tls = tls or httpx.create_ssl_context()  # one for all: loading CAs takes milliseconds
        sizes = [SHARD_CONNECTIONS] * (connections // SHARD_CONNECTIONS)
        if connections % SHARD_CONNECTIONS:
            sizes.append(connections % SHARD_CONNECTIONS)
        self._shards = [
            httpx.AsyncHTTPTransport(verify=tls, limits=shard_limits(size)) for size in sizes
        ]
        self._in_flight = [0] * len(sizes)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        shard = min(range(len(self._shards)), key=self._in_flight.__getitem__)
        self._in_flight[shard] += 1
        try:
            response = await self._shards[shard].handle_async_request(request)
        except BaseException:
            self._in_flight[shard] -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)  # an async transport's
        body = _Counted(response.stream, self._in_flight, shard)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=body,
            extensions=response.extensions,
        )

    @property
    def in_flight(self) -> int:
        """Calls sent whose answers are not yet read to their end or closed."""
        return sum(self._in_flight)

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


def shard_limits(connections: int) -> httpx.Limits:
    """A pool that keeps every connection it opens alive while it is used."""
    return httpx.Limits(
        max_connections=connections,
        max_keepalive_connections=connections,
        keepalive_expiry=KEEPALIVE_SECONDS,
    )


class _Counted(httpx.AsyncByteStream):
    """A response's body that counts its call out of its pool's calls in flight when closed:
    its connection is busy until then."""

    def __init__(self, inner: httpx.AsyncByteStream, in_flight: list[int], shard: int) -> None:
        self._inner = inner
        self._in_flight = in_flight
        self._shard = shard
        self._open = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._open:
                self._open = False
                self._in_flight[self._shard] -= 1
