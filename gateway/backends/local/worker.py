"""Background processing of queued local runs, safe with several server processes.

Each worker claims the oldest queued run from the ledger with a lease, keeps the lease alive
while it works, and writes the result only if the run is still running, so a cancel that
landed meanwhile wins. A worker that dies stops heartbeating; its run is retaken after the
lease expires, and failed visibly after `max_attempts` (design.md §9).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import Protocol

import structlog

from gateway.backends.local.runner import DocumentProblem, LocalEngine, failed
from gateway.clock import Clock, system_clock
from gateway.config import LocalBackendConfig
from gateway.store.base import Ledger, WorkQueue
from gateway.store.records import RunRecord
from gateway.supervisor import cancel_and_wait
from mappings import canonical

log = structlog.get_logger("crosswalk.local")
# how often an idle worker looks for runs other processes queued; its own process's runs
# ring the ledger's doorbell and start at once
IDLE_POLL_SECONDS = 0.25


class RunQueue(WorkQueue, Ledger, Protocol):
    """The ledger as a worker sees it: its queue, and the runs it reads back."""


class LocalWorker:
    """Claims and processes queued runs of one local backend, one `step` at a time.

    The loop around `step` is a `Supervisor`'s: it retries after errors and waits
    `idle_seconds`, or for the ledger's doorbell, when the queue is empty.
    """

    idle_seconds = IDLE_POLL_SECONDS

    def __init__(
        self,
        backend: str,
        *,
        config: LocalBackendConfig,
        ledger: RunQueue,
        engine: LocalEngine,
        clock: Clock = system_clock,
    ) -> None:
        self.backend = backend
        self.id = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._config = config
        self._ledger = ledger
        self._engine = engine
        self._clock = clock

    async def step(self) -> bool:
        """Claim the oldest queued run and process it; False when there was none."""
        record = await self._ledger.claim(
            self.id,
            self._config.lease_seconds,
            self._clock(),
            backends=(self.backend,),
            max_attempts=self._config.max_attempts,
        )
        if record is None:
            return False
        try:
            await self.process(record)
        except Exception:  # a bug must fail its run visibly, not stop the worker
            log.exception("local.worker_error", run_id=record.upstream_id)
            problem = DocumentProblem("INTERNAL_ERROR", "An unexpected error occurred.")
            result = failed(record.run, problem, now=self._clock())
            await self._finish(record, result)
        return True

    async def process(self, record: RunRecord) -> None:
        """Finish one claimed run: completed, or failed with the reason."""
        heartbeat = asyncio.create_task(self._heartbeat(record))
        try:
            result = await self._result(record)
        except asyncio.CancelledError:  # the server is stopping
            await cancel_and_wait(heartbeat)
            await self._give_up(record)
            raise
        finally:
            await cancel_and_wait(heartbeat)
        # only if still ours and running: a cancel or a retake that landed first wins
        stored = await self._finish(record, result)
        kept = stored is not None
        if not kept:  # the status logged is the run's (cancelled…), not the discarded result's
            stored = await self._ledger.find(self.backend, record.upstream_id)
        log.info(
            "local.run_finished",
            run_id=record.upstream_id,
            status=(stored.run if stored else result).status.value,
            kept=kept,
        )

    async def _result(self, record: RunRecord) -> canonical.ClassificationRun:
        run = record.run
        if record.request is None:  # cannot happen for runs this backend queued
            problem = DocumentProblem("INTERNAL_ERROR", "the run's request was lost")
            return failed(run, problem, now=self._clock())
        try:
            async with self._engine.paced():
                return await self._engine.process(record.request, run)
        except DocumentProblem as exc:
            return failed(run, exc, now=self._clock())

    async def _finish(
        self, record: RunRecord, result: canonical.ClassificationRun
    ) -> RunRecord | None:
        return await self._ledger.finish(
            self.backend, record.upstream_id, self.id, result, now=self._clock()
        )

    async def _give_up(self, record: RunRecord) -> None:
        """End this worker's lease now, so that the run is taken again at once (by the next
        start, or another process) instead of once the lease would have run out."""
        now = self._clock()
        try:
            await self._ledger.heartbeat(self.backend, record.upstream_id, self.id, 0, now)
        except Exception:  # the lease then runs out by itself: the run is only delayed
            log.warning("local.lease_not_released", run_id=record.upstream_id, exc_info=True)

    async def _heartbeat(self, record: RunRecord) -> None:
        interval = self._config.lease_seconds / 3
        lease = self._config.lease_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                await self._ledger.heartbeat(
                    self.backend, record.upstream_id, self.id, lease, self._clock()
                )
            except Exception:  # a missed beat only shortens the lease; the run goes on
                log.warning("local.heartbeat_failed", run_id=record.upstream_id, exc_info=True)
