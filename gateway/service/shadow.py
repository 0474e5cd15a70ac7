"""`[routing] shadow`: every create answered on its primary is made again, in the background,
on each shadow backend, and the ledger compares the sides (design.md §5).

Nothing of it is on the client's path but scheduling: the comparison's insert and the shadow
creates run in tasks this module's `Shadows` owns, and whatever they meet (a slow backend, a
refusal, a bug) is recorded on the shadow's side and logged, never raised. The client's
answer is the primary's, unchanged (for a relayed create, its very bytes). A shadow run is
recorded under the client's owner but linked to its comparison, so it is never listed and
raises no webhook event (the store's doing, by `RunRecord.comparison`).

In-flight shadow creates are bounded per process; past the bound a side fails at once,
visibly, rather than queue without end. Tasks still running at shutdown are cancelled; the
periodic sweep (`sweep`) later fails the sides they left without a run.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

import msgspec
import structlog

from gateway.backends.base import Backend
from gateway.clock import Clock, system_clock
from gateway.context import CallContext
from gateway.errors import CrosswalkError
from gateway.routing import document_key
from gateway.service.outcome import Outcome, Relayed
from gateway.service.runs import RunService
from gateway.store.base import Ledger
from gateway.store.comparison_ledger import ComparisonLedger
from gateway.store.comparison_records import ComparisonRecord, SideRecord
from mappings import canonical
from mappings.errors import TranslationError
from mappings.notes import NoteTaker

log = structlog.get_logger("crosswalk.routing")

MAX_IN_FLIGHT = 64  # shadow creates running at once per process; more are shed
SHED = "shed: too many shadow runs in flight"
SWEEP_SECONDS = 60.0  # how often sides left without a run by a shutdown are failed
# a side with no run this long after it started is one whose process went away: a shadow
# create ends by the sync deadline (a background one long before)
STALE_MARGIN = timedelta(seconds=60)

ReadRun = Callable[[bytes, datetime], canonical.ClassificationRun | None]
Prepare = Callable[[canonical.ClassifyRequest, CallContext], Awaitable[canonical.ClassifyRequest]]


class _Job(msgspec.Struct, frozen=True, kw_only=True):
    """One create answered on its primary, to be made again on `shadows`."""

    call: CallContext
    request: canonical.ClassifyRequest
    outcome: Outcome
    started_at: datetime
    shadows: tuple[Backend, ...]
    shed: tuple[Backend, ...]
    read_run: ReadRun
    prepare: Prepare


class Shadows:
    """Sends copies of creates to the shadow backends and records the comparisons; holds
    the tasks doing it, cancelled by `stop`."""

    def __init__(
        self,
        backends: Sequence[Backend],
        *,
        runs: RunService,
        ledger: Ledger,
        comparisons: ComparisonLedger,
        sync_timeout: float,
        clock: Clock = system_clock,
        limit: int = MAX_IN_FLIGHT,
    ) -> None:
        self._backends = tuple(backends)
        self._runs = runs
        self._ledger = ledger
        self._comparisons = comparisons
        self._stale_after = timedelta(seconds=sync_timeout) + STALE_MARGIN
        self._clock = clock
        self._limit = limit
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = False  # a create answered during shutdown is not shadowed

    @property
    def configured(self) -> bool:
        """Whether any create is shadowed (so its body is worth reading as canonical)."""
        return bool(self._backends)

    def now(self) -> datetime:
        """When a create begins: its primary side's start."""
        return self._clock()

    def schedule(
        self,
        call: CallContext,
        request: canonical.ClassifyRequest | None,
        outcome: Outcome,
        *,
        started_at: datetime,
        read_run: ReadRun,
        prepare: Prepare,
    ) -> None:
        """Shadow a create its primary answered (`outcome`), begun at `started_at`; only
        schedules. A failed primary is not shadowed, nor a body not read as canonical
        (`request` None). `read_run` reads a relayed answer's run; `prepare` makes the
        request ready for a backend as the primary's was (a stored file's name filled in)."""
        shadows = tuple(b for b in self._backends if b.name != outcome.backend)
        failed = isinstance(outcome, Relayed) and not outcome.answer.is_success
        if not shadows or failed or self._stopped:
            return
        if request is None:
            log.info("routing.shadow_skipped", backend=outcome.backend, reason="unreadable body")
            return
        room = max(0, self._limit - self._in_flight)
        admitted, shed = shadows[:room], shadows[room:]
        self._in_flight += len(admitted)
        job = _Job(call=call, request=request, outcome=outcome, started_at=started_at,
                   shadows=admitted, shed=shed, read_run=read_run, prepare=prepare)  # fmt: skip
        task = asyncio.create_task(self._compare(job), name="shadow")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Cancel every shadow still running and wait for each; their sides without a run
        are failed by a later `sweep` (in this process or the next)."""
        self._stopped = True
        tasks, self._tasks = set(self._tasks), set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def sweep(self) -> bool:
        """Fail the sides a process left without a run: a supervisor step, never more work
        right away."""
        now = self._clock()
        failed = await self._comparisons.fail_stale_sides(now - self._stale_after, now)
        if failed:
            log.warning("routing.shadow", outcome="interrupted", sides=failed)
        return False

    async def _compare(self, job: _Job) -> None:
        try:
            comparison = await self._recorded(job)
            if comparison is None:
                return
            for backend in job.shed:
                await self._fail(comparison.id, backend, SHED, outcome="shed")
            await asyncio.gather(*(self._shadow(job, comparison, b) for b in job.shadows))
        except Exception:  # never raised anywhere: the client has its answer already
            log.exception("routing.shadow_failed", backend=job.outcome.backend)
        finally:
            self._in_flight -= len(job.shadows)

    async def _recorded(self, job: _Job) -> ComparisonRecord | None:
        """The comparison of the job's sides, as stored; None for a relayed create whose run
        the ledger did not record (nothing to compare it with)."""
        upstream_id = await self._primary_id(job)
        if upstream_id is None:
            log.info("routing.shadow_skipped", backend=job.outcome.backend, reason="unrecorded")
            return None
        sent = self._clock()
        primary = SideRecord(
            backend=job.outcome.backend, started_at=job.started_at, upstream_id=upstream_id
        )
        shadows = [SideRecord(backend=b.name, started_at=sent) for b in (*job.shadows, *job.shed)]
        request = job.request
        comparison = ComparisonRecord(
            id=f"cmp_{secrets.token_hex(12)}",
            owner=job.call.principal.owner,
            source="shadow",
            document=document_key(request.document).hex(),
            filename=request.document.filename or None,
            categories=request.config.categories,
            created_at=sent,
            sides=(primary, *shadows),
        )
        return await self._comparisons.insert_comparison(comparison)

    async def _primary_id(self, job: _Job) -> str | None:
        """The primary's upstream id: a translated run's own; a relayed run's read back from
        the answer, if the ledger recorded that run for this caller."""
        outcome = job.outcome
        if not isinstance(outcome, Relayed):
            return outcome.run.id
        run = job.read_run(outcome.answer.content, self._clock())
        if run is None:
            return None
        record = await self._ledger.find(outcome.backend, run.id)
        mine = record is not None and record.owner == job.call.principal.owner
        return run.id if mine else None

    async def _shadow(self, job: _Job, comparison: ComparisonRecord, backend: Backend) -> None:
        """The create on one shadow backend, as the client's own call would make it there,
        linked to the comparison; a failure before its run exists fails the side."""
        call = msgspec.structs.replace(job.call, notes=NoteTaker())
        try:
            request = await job.prepare(job.request, call)
            await self._runs.create(request, backend, call=call, comparison=comparison.id)
        except (CrosswalkError, TranslationError) as exc:
            message = exc.message if isinstance(exc, CrosswalkError) else str(exc)
            await self._fail(comparison.id, backend, message, outcome=type(exc).__name__)
        except Exception as exc:
            log.exception("routing.shadow_failed", backend=backend.name, comparison=comparison.id)
            await self._fail(comparison.id, backend, "internal error", outcome=type(exc).__name__)

    async def _fail(
        self, comparison_id: str, backend: Backend, error: str, *, outcome: str
    ) -> None:
        """Fail a side that has no run (the store writes nothing for one that has)."""
        log.warning("routing.shadow", backend=backend.name, comparison=comparison_id,
                    outcome=outcome)  # fmt: skip
        await self._comparisons.fail_side(comparison_id, backend.name, error, self._clock())
