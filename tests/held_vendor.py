"""A mocked Extend that holds each create until released, and a clock moved by hand: how the
idempotency and limits tests keep a first request in flight, and age what they stored."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import anyio.to_thread
import httpx

from tests.harness import wire


class Clockwork:
    """The app's clock, moved on by hand (`now += timedelta(...)`)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Gate(httpx.AsyncBaseTransport):
    """Extend's API answering each create only once `release` is set; counts creates."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.creates = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.creates += 1
        self.arrived.set()
        await anyio.to_thread.run_sync(self.release.wait)
        return httpx.Response(200, content=wire("extend_classify_runs_create_response.json"))


@contextmanager
def held(gate: Gate, send: Callable[[], httpx.Response]) -> Iterator[list[httpx.Response]]:
    """`send` in a thread, held at `gate` for the block; the list holds its answer after."""
    answers: list[httpx.Response] = []
    first = threading.Thread(target=lambda: answers.append(send()))
    first.start()
    try:
        assert gate.arrived.wait(timeout=20)
        yield answers
    finally:
        gate.release.set()
        first.join(timeout=20)
