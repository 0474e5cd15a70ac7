"""Background loops survive their errors: a failing step is logged with its loop's name and
retried after a growing, capped backoff; stopping ends every loop quietly; a doorbell wakes an
idle loop at once; the refresher is one such step."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import msgspec
from structlog.testing import capture_logs

from gateway.backends.base import Accepted, Relay
from gateway.backends.refresher import Refresher
from gateway.context import CallContext
from gateway.store import RunRecord, SqliteLedger, owner_of
from gateway.store.records import new_record
from gateway.supervisor import Backoff, Doorbell, Supervisor, cancel_and_wait
from mappings import canonical
from mappings.dialects import Dialect

LATER = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
DEADLINE = 10.0  # seconds a condition may take before the test fails; never slept out


class RecordingSleep:
    """Stands in for asyncio.sleep: notes each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def scripted(outcomes: list[bool | Exception], done: asyncio.Event) -> Callable[[], Any]:
    """A step that plays `outcomes` in order (raising the exceptions), then parks."""
    script: Iterator[bool | Exception] = iter(outcomes)

    async def step() -> bool:
        outcome = next(script, None)
        if outcome is None:
            done.set()
            await asyncio.Event().wait()  # parked until the supervisor cancels it
        if isinstance(outcome, Exception):
            raise outcome
        return bool(outcome)

    return step


async def until(condition: Callable[[], bool]) -> None:
    """Wait until `condition()` holds, failing after DEADLINE seconds."""
    async with asyncio.timeout(DEADLINE):
        while not condition():
            await asyncio.sleep(0.005)


def locked() -> sqlite3.OperationalError:
    return sqlite3.OperationalError("database is locked")


async def test_a_failing_step_is_logged_with_context_and_the_loop_goes_on() -> None:
    """A SQLite error in a step is logged with loop name, attempt and traceback; later steps
    still run."""
    done, sleep = asyncio.Event(), RecordingSleep()
    with capture_logs() as logs:
        async with Supervisor(sleep=sleep) as supervisor:
            supervisor.start("worker-1", scripted([locked(), True], done), idle=1.0)
            async with asyncio.timeout(DEADLINE):
                await done.wait()
    failures = [e for e in logs if e["event"] == "supervisor.step_failed"]
    assert len(failures) == 1
    assert failures[0]["loop"] == "worker-1"
    assert failures[0]["attempt"] == 1
    assert failures[0]["log_level"] == "error"
    assert failures[0]["exc_info"] is True
    assert any(e["event"] == "supervisor.step_recovered" for e in logs)


async def test_backoff_grows_with_failures_in_a_row_and_resets_after_a_success() -> None:
    """Three failures wait 0.1, 0.2, 0.4 s; an idle step waits the idle interval; the next
    failure waits 0.1 s again."""
    done, sleep = asyncio.Event(), RecordingSleep()
    outcomes: list[bool | Exception] = [locked(), locked(), locked(), False, locked(), True]
    with capture_logs() as logs:
        async with Supervisor(sleep=sleep) as supervisor:
            supervisor.start("refresher-extend", scripted(outcomes, done), idle=30.0)
            async with asyncio.timeout(DEADLINE):
                await done.wait()
    assert sleep.waits == [0.1, 0.2, 0.4, 30.0, 0.1]
    attempts = [e["attempt"] for e in logs if e["event"] == "supervisor.step_failed"]
    assert attempts == [1, 2, 3, 1]


def test_backoff_is_capped() -> None:
    """The wait doubles up to its cap and stays there, however long the failures last."""
    backoff = Backoff(first=0.1, cap=5.0)
    assert [backoff.delay(n) for n in (1, 2, 3)] == [0.1, 0.2, 0.4]
    assert backoff.delay(7) == 5.0
    assert backoff.delay(100_000) == 5.0


async def test_stopping_cancels_every_loop_quietly() -> None:
    """Busy, idle and backing-off loops all end on exit: no exception, no error logged."""
    busy_started, cancelled = asyncio.Event(), asyncio.Event()
    idle_ran, failed_once = asyncio.Event(), asyncio.Event()

    async def busy() -> bool:
        busy_started.set()
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()
        return True

    async def idle() -> bool:
        idle_ran.set()
        return False

    async def failing() -> bool:
        failed_once.set()
        raise locked()

    with capture_logs() as logs:
        async with Supervisor(backoff=Backoff(first=3600, cap=3600)) as supervisor:
            supervisor.start("busy", busy, idle=3600)
            supervisor.start("idle", idle, idle=3600)
            supervisor.start("failing", failing, idle=3600)
            async with asyncio.timeout(DEADLINE):
                for event in (busy_started, idle_ran, failed_once):
                    await event.wait()
            await until(lambda: any(e["event"] == "supervisor.step_failed" for e in logs))
            logged = len(logs)
    assert cancelled.is_set()
    assert logs[logged:] == []  # shutdown itself logged nothing
    await supervisor.stop()  # stopping again is harmless


async def test_a_loop_stopped_while_it_waits_for_a_child_task_to_end_stops() -> None:
    """A step that is cancelling a child task (the local worker's heartbeat) when `stop`
    comes ends with the loop: the stop is not taken for the child's own cancellation."""
    child_cancelled, release, steps = asyncio.Event(), asyncio.Event(), [0]

    async def slow_to_die() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            child_cancelled.set()
            await release.wait()  # ends only once the loop's own stop has arrived

    async def step() -> bool:
        steps[0] += 1
        child = asyncio.create_task(slow_to_die())
        await asyncio.sleep(0)  # the child starts
        await cancel_and_wait(child)
        return True

    supervisor = Supervisor()
    supervisor.start("worker", step, idle=0.01)
    async with asyncio.timeout(DEADLINE):
        await child_cancelled.wait()
    stopping = asyncio.create_task(supervisor.stop())
    await asyncio.sleep(0)  # the stop's cancel lands while the step waits for the child
    release.set()
    # a loop that ran on would keep `stop` waiting: fail, rather than hang the suite
    done, _ = await asyncio.wait([stopping], timeout=DEADLINE)
    assert done == {stopping}
    assert steps == [1]


async def test_cancel_and_wait_raises_the_callers_own_cancellation() -> None:
    ending = asyncio.Event()

    async def slow_to_die() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await ending.wait()

    child = asyncio.create_task(slow_to_die())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(cancel_and_wait(child))
    await asyncio.sleep(0)
    waiter.cancel()
    ending.set()
    async with asyncio.timeout(DEADLINE):
        results = await asyncio.gather(waiter, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)


async def test_a_ring_wakes_an_idle_loop_at_once() -> None:
    """A loop waiting out an hour's idle interval runs its step as soon as the bell rings."""
    bell, ran = Doorbell(), asyncio.Event()
    calls = 0

    async def step() -> bool:
        nonlocal calls
        calls += 1
        ran.set()
        return False

    async with Supervisor() as supervisor:
        supervisor.start("worker-1", step, idle=3600, doorbell=bell)
        async with asyncio.timeout(DEADLINE):
            await ran.wait()
            ran.clear()
            bell.ring()
            await ran.wait()
    assert calls == 2


class FinishedUpstream:
    """A vendor backend whose every run has completed by the time it is re-read."""

    name = "extend"
    dialect: Dialect | None = "extend"
    relay: Relay | None = None  # never relayed to in a refresh

    def circuit_state(self) -> Literal["closed"]:
        return "closed"

    async def create(
        self,
        request: canonical.ClassifyRequest,
        *,
        call: CallContext,
        accepted: Accepted | None = None,
    ) -> canonical.ClassificationRun:
        raise NotImplementedError

    async def refresh(self, record: RunRecord, *, call: CallContext) -> canonical.ClassificationRun:
        return msgspec.structs.replace(record.run, status=canonical.Status.completed)

    async def cancel(self, record: RunRecord, *, call: CallContext) -> canonical.ClassificationRun:
        raise NotImplementedError

    async def delete(self, record: RunRecord, *, call: CallContext) -> None:
        raise NotImplementedError


async def test_a_refresher_step_is_one_pass_stamped_by_its_clock(tmp_path: Path) -> None:
    """`step` re-reads the unfinished runs once, stores what changed at the clock's time, and
    asks for no more work right away (the supervisor waits the interval)."""
    config = canonical.RunConfig(categories=(canonical.Category(key="memo", name="Memo"),))
    created = datetime(2030, 1, 1, tzinfo=UTC)
    run = canonical.ClassificationRun(
        id="run1", status=canonical.Status.running, config=config, created_at=created
    )
    record = new_record("extend", run, None, surface="extend", owner=owner_of("k"), now=created)
    async with await SqliteLedger.open(str(tmp_path / "ledger.db")) as ledger:
        await ledger.insert(record)
        refresher = Refresher(FinishedUpstream(), ledger, interval=60, clock=lambda: LATER)
        assert await refresher.step() is False
        stored = await ledger.find("extend", "run1")
    assert stored is not None
    assert stored.run.status is canonical.Status.completed
    assert stored.updated_at == LATER


async def test_a_loop_started_idle_first_waits_before_its_first_step() -> None:
    """A refresher's first pass comes one interval after start-up, not during it; its step
    can still be run by hand meanwhile, under its loop's name."""
    released, stepped = asyncio.Event(), asyncio.Event()
    waits: list[float] = []

    async def held_sleep(seconds: float) -> None:
        waits.append(seconds)
        await released.wait()
        await asyncio.sleep(0)  # once released, each idle wait still yields to the test

    async def step() -> bool:
        stepped.set()
        return False

    async with Supervisor(sleep=held_sleep) as supervisor:
        supervisor.start("refresher-x", step, idle=30.0, idle_first=True)
        await until(lambda: waits == [30.0])
        assert not stepped.is_set()
        assert supervisor.steps()["refresher-x"] is step
        released.set()
        async with asyncio.timeout(DEADLINE):
            await stepped.wait()
