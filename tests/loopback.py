"""A tiny HTTP/1.1 vendor on a loopback port, for faults a mocked transport cannot show: an
answer dripped a byte at a time, and whether the gateway lets go of the connection it came on.

Runs its own event loop in a thread, so it serves a gateway run in-process or by uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Mapping
from types import TracebackType

_HEAD_END = b"\r\n\r\n"
_DRIP_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000000\r\n\r\n"
)


class DripServer:
    """Answers a path in `answers` with its JSON body at once; any other request with headers
    announcing a large body, then one byte every `interval` seconds until the client hangs up.

    `received` counts the requests read, `released` the dripping connections the client
    closed. Both are written by the server's thread and only read by tests.
    """

    def __init__(
        self, answers: Mapping[str, bytes] | None = None, *, interval: float = 0.05
    ) -> None:
        self.answers = {path.encode(): body for path, body in (answers or {}).items()}
        self.interval = interval
        self.received = 0
        self.released = 0
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> DripServer:
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("the loopback server did not start")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        handlers: set[asyncio.Task[None]] = set()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            handlers.add(task)
            try:
                await self._serve(reader, writer)
            finally:
                handlers.discard(task)

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            for task in list(handlers):
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while path := await self._request(reader):
                body = self.answers.get(path)
                if body is None:
                    await self._drip(reader, writer)
                    return
                head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                writer.write(head + b"content-length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _request(self, reader: asyncio.StreamReader) -> bytes:
        """The path of the next request on the connection, its body read; b"" at its end."""
        try:
            head = await reader.readuntil(_HEAD_END)
        except asyncio.IncompleteReadError:
            return b""
        lines = head.split(b"\r\n")
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length" and int(value):
                await reader.readexactly(int(value))
        self.received += 1
        return lines[0].split(b" ")[1]

    async def _drip(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(_DRIP_HEAD)
        hung_up = asyncio.ensure_future(reader.read())  # b"" once the client closes
        try:
            while not hung_up.done():
                writer.write(b" ")
                await writer.drain()
                await asyncio.wait([hung_up], timeout=self.interval)
        except ConnectionError:
            pass
        finally:
            hung_up.cancel()
        self.released += 1
