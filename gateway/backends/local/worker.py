"""Background processing of queued local runs, safe with several server processes.

Each worker claims the oldest queued run from the ledger with a lease, keeps the lease alive
while it works, and writes the result only if the run is still running, so a cancel that
landed meanwhile wins. A worker that dies stops heartbeating; its run is retaken after the
lease expires, and failed visibly after `max_attempts` (design.md §9).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from datetime import UTC, datetime

import structlog

from gateway.backends.local.runner import DocumentProblem, LocalEngine, failed
from gateway.config import LocalBackendConfig
from gateway.store.base import WorkQueue
from gateway.store.records import RunRecord
from mappings import canonical

log = structlog.get_logger("crosswalk.local")
IDLE_POLL_SECONDS = 0.25


def _now() -> datetime:
    return datetime.now(UTC)


class LocalWorker:
    """Claims and processes queued runs of one local backend until stopped."""

    def __init__(
        self, backend: str, *, config: LocalBackendConfig, ledger: WorkQueue, engine: LocalEngine
    ) -> None:
        self.backend = backend
        self.id = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._config = config
        self._ledger = ledger
        self._engine = engine

    async def run_forever(self) -> None:
        while True:
            record = await self._ledger.claim(
                self.id,
                self._config.lease_seconds,
                _now(),
                backends=(self.backend,),
                max_attempts=self._config.max_attempts,
            )
            if record is None:
                await asyncio.sleep(IDLE_POLL_SECONDS)
                continue
            try:
                await self.process(record)
            except Exception:  # a bug must fail its run visibly, not stop the worker
                log.exception("local.worker_error", run_id=record.upstream_id)
                problem = DocumentProblem("INTERNAL_ERROR", "An unexpected error occurred.")
                await self._ledger.finish(
                    self.backend, record.upstream_id, self.id, failed(record.run, problem)
                )

    async def process(self, record: RunRecord) -> None:
        """Finish one claimed run: completed, or failed with the reason."""
        heartbeat = asyncio.create_task(self._heartbeat(record))
        try:
            result = await self._result(record)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        # only if still ours and running: a cancel or a retake that landed first wins
        stored = await self._ledger.finish(self.backend, record.upstream_id, self.id, result)
        log.info(
            "local.run_finished",
            run_id=record.upstream_id,
            status=result.status.value,
            kept=stored is not None,
        )

    async def _result(self, record: RunRecord) -> canonical.ClassificationRun:
        run = record.run
        if record.request is None:  # cannot happen for runs this backend queued
            return failed(run, DocumentProblem("INTERNAL_ERROR", "the run's request was lost"))
        try:
            async with self._engine.paced():
                return await self._engine.process(record.request, run)
        except DocumentProblem as exc:
            return failed(run, exc)

    async def _heartbeat(self, record: RunRecord) -> None:
        interval = self._config.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            await self._ledger.heartbeat(
                self.backend, record.upstream_id, self.id, self._config.lease_seconds, _now()
            )
