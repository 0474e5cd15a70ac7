"""Name resolution for webhook endpoints, on threads of its own.

`getaddrinfo` blocks a thread for as long as the OS resolver takes (seconds, for a name whose
servers do not answer). On asyncio's shared default executor, a few endpoints with such names
would hold every thread the gateway's other lookups (vendor connections, document URLs) need.
Here they hold at most `threads` threads of their own, and each host is resolved once at a
time: concurrent attempts to one endpoint share the lookup in flight.
"""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor

THREADS = 4  # lookups of distinct hosts at once; more wait their turn, only among webhooks


class EndpointResolver:
    """A `fetch.Resolver` for webhook endpoints; `close` when done with it."""

    def __init__(self, threads: int = THREADS) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhook-dns")
        self._in_flight: dict[tuple[str, int], asyncio.Future[list[str]]] = {}

    async def __call__(self, host: str, port: int) -> list[str]:
        """The addresses `host` resolves to, as the OS resolver answers."""
        key = (host, port)
        lookup = self._in_flight.get(key)
        if lookup is None:
            loop = asyncio.get_running_loop()
            lookup = loop.run_in_executor(self._executor, _addresses, host, port)
            self._in_flight[key] = lookup
            lookup.add_done_callback(lambda done: self._finished(key, done))
        # shielded: one attempt given up (its timeout, a shutdown) leaves the lookup to others
        return await asyncio.shield(lookup)

    def _finished(self, key: tuple[str, int], lookup: asyncio.Future[list[str]]) -> None:
        self._in_flight.pop(key, None)
        if not lookup.cancelled():
            lookup.exception()  # retrieved: every attempt waiting for it may have given up

    def close(self) -> None:
        """Stop taking lookups; those queued are dropped, a running one ends on its own."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _addresses(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]
