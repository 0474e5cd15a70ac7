"""The dispatcher over a real ledger and real loopback receivers: per-endpoint caps hold at
the claim, and stopping it hands its deliveries back at once. It is stepped by the test, as
the gateway's supervisor steps it (again at once while it fills its slots, else on its
doorbell)."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from gateway.config import WebhookEndpoint
from gateway.store import SqliteLedger
from gateway.store.records import NewEvent
from gateway.webhooks.dispatcher import Dispatcher
from gateway.webhooks.envelope import Renderer
from tests.webhook_receiver import receiving
from tests.webhook_support import endpoint

PROCESSED = "batch_processor_run.processed"
FAILED = "batch_processor_run.failed"


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[SqliteLedger]:
    async with await SqliteLedger.open(str(tmp_path / "ledger.db")) as opened:
        yield opened


async def raise_events(ledger: SqliteLedger, event_type: str, count: int) -> None:
    for n in range(count):
        event = NewEvent(event_type=event_type, kind="raw", owner="", subject=f"b{n}", data=b"{}")
        assert await ledger.add_event(event) is not None


@asynccontextmanager
async def dispatching(
    ledger: SqliteLedger, endpoints: Sequence[WebhookEndpoint], **options: Any
) -> AsyncIterator[Dispatcher]:
    """A dispatcher of `endpoints` (subscribed as the gateway does at start), stopped on exit."""
    await ledger.subscribe({hook.name: hook.events for hook in endpoints})
    async with httpx.AsyncClient(follow_redirects=False, timeout=None) as client:
        renderer = Renderer({}, public_url="http://127.0.0.1:8000")
        dispatcher = Dispatcher(ledger, endpoints, renderer=renderer, client=client, **options)
        try:
            yield dispatcher
        finally:
            await dispatcher.aclose()


async def step_until(
    dispatcher: Dispatcher, predicate: Callable[[], bool], *, timeout: float = 10.0
) -> None:
    """Step `dispatcher` as the supervisor does until `predicate` holds, or fail the test."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        if not await dispatcher.step():
            await dispatcher.doorbell.wait(0.05)


async def test_a_hanging_endpoints_backlog_leaves_room_for_the_others(
    ledger: SqliteLedger,
) -> None:
    """30 events owed to an endpoint that never answers, raised before 5 owed to a fast one:
    the fast one gets all 5 while no more than `per_endpoint` are held by the hanging one."""
    with receiving(hang=True) as hung, receiving() as fast:
        hooks = (
            endpoint(hung.url, name="hung", events=(PROCESSED,)),
            endpoint(fast.url, name="fast", events=(FAILED,)),
        )
        async with dispatching(ledger, hooks, per_endpoint=4, concurrency=16) as dispatcher:
            await raise_events(ledger, PROCESSED, 30)
            await raise_events(ledger, FAILED, 5)
            await step_until(dispatcher, lambda: len(fast.accepted()) == 5, timeout=5.0)
            await step_until(dispatcher, lambda: hung.hanging == 4)
            assert await dispatcher.step() is False  # the hung endpoint has no room left
            claimed = [d for d in await ledger.list_deliveries(limit=100) if d.attempts]
            assert hung.hanging == 4
    assert sorted(d.endpoint for d in claimed) == ["fast"] * 5 + ["hung"] * 4


async def test_stopping_hands_deliveries_in_flight_back_at_once(ledger: SqliteLedger) -> None:
    """A dispatcher stopped (a graceful shutdown) mid-attempt releases its lease: the
    delivery is due now to another dispatcher, its unfinished attempt not counted."""
    with receiving(hang=True) as hung:
        hooks = (endpoint(hung.url, events=(PROCESSED,)),)
        async with dispatching(ledger, hooks) as dispatcher:
            await raise_events(ledger, PROCESSED, 1)
            await step_until(dispatcher, lambda: hung.hanging == 1)
        now = datetime.now(UTC)
        [pending] = await ledger.list_deliveries()
        assert (pending.state, pending.attempts) == ("pending", 0)
        assert pending.next_attempt_at <= now
        [taken] = await ledger.claim_deliveries("another", now, 30, 10)
    assert (taken.event_id, taken.attempts) == (pending.event_id, 1)


async def test_slow_endpoint_names_leave_the_gateways_other_lookups_alone(
    ledger: SqliteLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four endpoints whose names take their time to resolve, 16 deliveries each in flight:
    one lookup per endpoint is made, on the dispatcher's own threads, and a lookup of
    another name on asyncio's shared executor (as a vendor connection makes) is not held
    up. The OS resolver is stood in for: nothing leaves the machine."""
    released = threading.Event()
    slow_lookups: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if str(host).endswith(".slow-dns.test"):
            slow_lookups.append(str(host))
            released.wait(timeout=30)
            raise socket.gaierror(socket.EAI_AGAIN, "temporary failure in name resolution")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    hooks = [
        endpoint(f"http://hooks{n}.slow-dns.test/hooks", name=f"slow{n}", events=(PROCESSED,))
        for n in range(4)
    ]
    try:
        async with dispatching(ledger, hooks, per_endpoint=16, concurrency=64) as dispatcher:
            await raise_events(ledger, PROCESSED, 16)
            await step_until(dispatcher, lambda: len(slow_lookups) >= len(hooks))
            loop = asyncio.get_running_loop()
            started = time.monotonic()
            await asyncio.wait_for(loop.getaddrinfo("127.0.0.1", 80), timeout=5)
            waited = time.monotonic() - started
            assert sorted(slow_lookups) == sorted(f"hooks{n}.slow-dns.test" for n in range(4))
            released.set()
    finally:
        released.set()
    assert waited < 1.0


async def test_an_idle_dispatcher_looks_without_the_write_lock(
    ledger: SqliteLedger, tmp_path: Path
) -> None:
    """With nothing due, a step only reads: it answers at once while another connection
    holds the ledger's write lock (a claim would wait for it), and still claims once
    something is due."""
    with receiving() as receiver:
        async with dispatching(ledger, (endpoint(receiver.url),)) as dispatcher:
            with closing(sqlite3.connect(tmp_path / "ledger.db", isolation_level=None)) as other:
                other.execute("BEGIN IMMEDIATE")
                assert await asyncio.wait_for(dispatcher.step(), timeout=2) is False
                other.execute("COMMIT")
            await raise_events(ledger, PROCESSED, 1)
            await step_until(dispatcher, lambda: len(receiver.accepted()) == 1)


async def test_a_2xx_after_the_lease_was_lost_is_not_logged_as_delivered(
    ledger: SqliteLedger,
) -> None:
    """The endpoint answers only after another dispatcher took the delivery over (the first
    one's lease ran out): the first logs `webhooks.lease_lost`, never `webhooks.delivered`."""
    answering = threading.Event()

    def late(event_id: str, nth: int) -> int:
        answering.wait(timeout=10)
        return 200

    with receiving(answer=late) as receiver, capture_logs() as logs:
        async with dispatching(ledger, (endpoint(receiver.url),)) as dispatcher:
            await raise_events(ledger, PROCESSED, 1)
            assert await dispatcher.step() is False  # one claimed of 16 slots
            after_lease = datetime.now(UTC) + timedelta(minutes=5)
            [taken] = await ledger.claim_deliveries("another", after_lease, 30, 10)
            answering.set()
            await step_until(dispatcher, lambda: len(receiver.received) == 1)
            await step_until(dispatcher, lambda: any("webhooks." in e["event"] for e in logs))
    events = [e["event"] for e in logs if e["event"].startswith("webhooks.")]
    assert events == ["webhooks.lease_lost"]
    assert taken.attempts == 2
