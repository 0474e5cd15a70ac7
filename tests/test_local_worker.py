"""A local worker's `step` claims one queued run and finishes it, says when the queue is
empty, fails a run visibly on a bug, and lets a ledger error reach its supervisor; the
ledger rings the doorbell once a queued run is committed."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
from structlog.testing import capture_logs

from gateway.backends.local.pool import extraction_pool
from gateway.backends.local.runner import LocalEngine
from gateway.backends.local.worker import LocalWorker
from gateway.config import LocalBackendConfig
from gateway.store import SqliteLedger, owner_of
from gateway.store.records import new_record
from gateway.supervisor import Doorbell, Supervisor
from mappings import canonical

CREATED = datetime(2030, 1, 1, tzinfo=UTC)
LATER = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
OWNER = owner_of("sk-worker")
CONFIG = canonical.RunConfig(
    categories=(
        canonical.Category(key="memo", name="Memo"),
        canonical.Category(key="invoice", name="Invoice"),
    )
)


class Local(NamedTuple):
    ledger: SqliteLedger
    engine: LocalEngine
    worker: LocalWorker


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[Local]:
    config = LocalBackendConfig()
    async with (
        await SqliteLedger.open(str(tmp_path / "ledger.db")) as ledger,
        httpx.AsyncClient() as client,
        extraction_pool(config.extract_workers) as pool,
    ):
        engine = LocalEngine(config, client, pool, clock=lambda: LATER)
        worker = LocalWorker(
            "local", config=config, ledger=ledger, engine=engine, clock=lambda: LATER
        )
        yield Local(ledger, engine, worker)


def request(text: str = "Memo to all staff: the office closes early on Friday.") -> Any:
    document = canonical.TextDocument(text=text, filename="memo.txt")
    return canonical.ClassifyRequest(document=document, config=CONFIG, background=True)


async def enqueue(ledger: SqliteLedger, run_id: str) -> None:
    run = canonical.ClassificationRun(
        id=run_id, status=canonical.Status.queued, config=CONFIG, created_at=CREATED
    )
    record = new_record("local", run, request(), surface="retab", owner=OWNER, now=CREATED)
    await ledger.insert(record)


async def stored_run(ledger: SqliteLedger, run_id: str) -> canonical.ClassificationRun:
    record = await ledger.find("local", run_id)
    assert record is not None
    return record.run


async def test_a_step_processes_one_queued_run_then_reports_an_empty_queue(local: Local) -> None:
    """The first step completes the queued run, stamped by the clock; the next finds none."""
    await enqueue(local.ledger, "run1")
    assert await local.worker.step() is True
    run = await stored_run(local.ledger, "run1")
    assert run.status is canonical.Status.completed
    assert run.decision is not None
    assert run.decision.category_key == "memo"
    assert run.updated_at == LATER
    assert await local.worker.step() is False


async def test_a_bug_fails_the_run_visibly_and_the_step_carries_on(
    local: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error while processing fails that run with INTERNAL_ERROR, logged."""

    async def broken(*args: Any, **kwargs: Any) -> canonical.ClassificationRun:
        raise RuntimeError("a bug")

    monkeypatch.setattr(local.engine, "process", broken)
    await enqueue(local.ledger, "run1")
    with capture_logs() as logs:
        assert await local.worker.step() is True
    run = await stored_run(local.ledger, "run1")
    assert run.status is canonical.Status.failed
    assert run.error is not None
    assert run.error.code == "INTERNAL_ERROR"
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["local.worker_error"]


async def test_a_failed_heartbeat_does_not_fail_the_run(
    local: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lease renewal that errors is logged as a warning; the run still completes."""
    beat_failed, process = asyncio.Event(), local.engine.process

    async def failing_beat(*args: Any, **kwargs: Any) -> bool:
        beat_failed.set()
        raise sqlite3.OperationalError("database is locked")

    async def slow(*args: Any, **kwargs: Any) -> canonical.ClassificationRun:
        await beat_failed.wait()  # a beat is due every lease/3 = 10 ms
        return await process(*args, **kwargs)

    monkeypatch.setattr(local.ledger, "heartbeat", failing_beat)
    monkeypatch.setattr(local.engine, "process", slow)
    config = LocalBackendConfig(lease_seconds=0.03)
    worker = LocalWorker("local", config=config, ledger=local.ledger, engine=local.engine)
    await enqueue(local.ledger, "run1")
    with capture_logs() as logs:
        async with asyncio.timeout(10):
            assert await worker.step() is True
    assert (await stored_run(local.ledger, "run1")).status is canonical.Status.completed
    assert "local.heartbeat_failed" in [e["event"] for e in logs if e["log_level"] == "warning"]


async def test_a_ledger_error_is_survived_under_a_supervisor(
    local: Local, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim that fails with a SQLite error is logged, and the worker goes on to finish
    the queued run once the ledger answers again."""
    claim, calls = local.ledger.claim, 0

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise sqlite3.OperationalError("database is locked")
        return await claim(*args, **kwargs)

    monkeypatch.setattr(local.ledger, "claim", flaky)
    await enqueue(local.ledger, "run1")
    with capture_logs() as logs:
        async with Supervisor() as supervisor:
            worker = local.worker
            supervisor.start("worker", worker.step, idle=3600)
            async with asyncio.timeout(10):
                while (
                    await stored_run(local.ledger, "run1")
                ).status is not canonical.Status.completed:
                    await asyncio.sleep(0.005)
    failure = next(e for e in logs if e["event"] == "supervisor.step_failed")
    assert failure["loop"] == "worker"
    assert failure["attempt"] == 1


async def test_a_queued_run_rings_the_doorbell_once_it_is_committed(tmp_path: Path) -> None:
    """The ledger rings when it has recorded background work, never before: an idle worker of
    this process woken by it finds the run, instead of waiting for its next poll. A finished
    run queues nothing and rings nothing."""
    doorbell = Doorbell()
    path = str(tmp_path / "ledger.db")
    committed: list[int] = []

    def ring() -> None:  # what another connection (another worker) sees when the bell rings
        with closing(sqlite3.connect(path)) as other:
            committed.append(other.execute("SELECT count(*) FROM runs").fetchone()[0])
        doorbell.ring()

    async with await SqliteLedger.open(path, on_enqueue=ring) as ledger:
        done = canonical.ClassificationRun(
            id="done1", status=canonical.Status.completed, config=CONFIG, created_at=CREATED
        )
        await ledger.insert(
            new_record("local", done, request(), surface="retab", owner=OWNER, now=CREATED)
        )
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await doorbell.wait(3600)
        await enqueue(ledger, "queued1")
        async with asyncio.timeout(1):  # rung already: returns at once, not after an hour
            await doorbell.wait(3600)
    assert committed == [2]
