"""What the run lines of the log say: the start-up `ledger.recovered` report counts runs still
under a lease (taken again once it runs out) instead of claiming none will resume, and a local
run cancelled while its worker was busy is logged as cancelled, not as the discarded result."""

from __future__ import annotations

import asyncio
import io
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec
import pytest
from structlog.testing import capture_logs

from gateway.backends.local.pool import extraction_pool
from gateway.backends.local.runner import LocalEngine
from gateway.backends.local.worker import LocalWorker
from gateway.config import LocalBackendConfig
from gateway.store import SqliteLedger, owner_of
from gateway.store.records import new_record
from mappings import canonical
from tests.harness import local_settings, running

OWNER = owner_of("sk-logs")
CONFIG = canonical.RunConfig(
    categories=(
        canonical.Category(key="memo", name="Memo"),
        canonical.Category(key="invoice", name="Invoice"),
    )
)


async def _enqueue(ledger: SqliteLedger, run_id: str) -> None:
    now = datetime.now(UTC)
    document = canonical.TextDocument(text="Memo to all staff.", filename="memo.txt")
    request = canonical.ClassifyRequest(document=document, config=CONFIG, background=True)
    run = canonical.ClassificationRun(
        id=run_id, status=canonical.Status.queued, config=CONFIG, created_at=now
    )
    await ledger.insert(new_record("local", run, request, surface="retab", owner=OWNER, now=now))


async def _leave_a_leased_run(path: str) -> None:
    """A run claimed under a one-hour lease by a worker that then went away."""
    async with await SqliteLedger.open(path) as ledger:
        await _enqueue(ledger, "run1")
        claimed = await ledger.claim("gone", 3600, datetime.now(UTC), backends=("local",))
        assert claimed is not None


def test_a_run_under_a_live_lease_is_reported_as_leased_not_as_nothing_to_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = local_settings(tmp_path)
    asyncio.run(_leave_a_leased_run(settings.store_path))
    stderr = io.StringIO()  # the JSON log lines; configure_logging binds sys.stderr
    monkeypatch.setattr(sys, "stderr", stderr)
    with running(settings):
        pass
    lines = [msgspec.json.decode(line) for line in stderr.getvalue().splitlines()]
    [report] = [line for line in lines if line["event"] == "ledger.recovered"]
    assert (report["requeued"], report["failed"], report["leased"]) == (0, 0, 1)
    assert "report" not in report  # the old `report: {resumed: 0, ...}`


def test_a_start_with_nothing_to_recover_logs_no_recovery_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    with running(local_settings(tmp_path)):
        pass
    assert "ledger.recovered" not in stderr.getvalue()


async def test_a_run_cancelled_while_processed_is_logged_cancelled(tmp_path: Path) -> None:
    config = LocalBackendConfig(min_run_seconds=2.0)  # long enough for the cancel to land
    async with (
        await SqliteLedger.open(str(tmp_path / "ledger.db")) as ledger,
        httpx.AsyncClient() as client,
        extraction_pool(config.extract_workers) as pool,
    ):
        engine = LocalEngine(config, client, pool)
        worker = LocalWorker("local", config=config, ledger=ledger, engine=engine)
        await _enqueue(ledger, "run1")
        with capture_logs() as logs:
            step = asyncio.create_task(worker.step())
            while (found := await ledger.find("local", "run1")) is None or (
                found.run.status is not canonical.Status.running
            ):
                await asyncio.sleep(0.01)
            await ledger.request_cancel(OWNER, "local", "run1", datetime.now(UTC))
            assert await step is True
    [finished] = [e for e in logs if e["event"] == "local.run_finished"]
    assert (finished["status"], finished["kept"]) == ("cancelled", False)
