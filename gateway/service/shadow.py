"""`[routing] shadow`: every create answered on its primary is made again, in the background,
on each shadow backend, and the ledger compares the sides (design.md §5).

Nothing of it is on the client's path but scheduling: the comparison's insert and the shadow
creates run in tasks this module's `Shadows` owns, and whatever they meet (a slow backend, a
refusal, a bug) is recorded on the shadow's side and logged, never raised. The client's
answer is the primary's, unchanged (for a relayed create, its very bytes). A shadow run is
recorded under the client's owner but linked to its comparison, so it is never listed and
raises no webhook event (the store's doing, by `RunRecord.comparison`).

Only the creates a client makes on a surface are shadowed: a batch's inputs are not. A
background create whose primary's runs nobody re-reads (a pure proxy, or `refresh_interval =
0`) is not shadowed either: its side would never finish, nor its comparison.

In-flight shadow creates are bounded per process; past the bound a side fails at once,
visibly, rather than queue without end (a create whose every shadow is past it is not
compared at all, and counted in a log line). Each job has a deadline, its longest create's
(`max(sync_timeout, call_timeout)`) and a margin for its reads and writes; the periodic sweep
(`sweep`) fails the sides left without a run past it, by a shutdown that cancelled their task.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta

import msgspec
import structlog

from gateway.backends.base import Backend
from gateway.backends.scrub import Scrubber
from gateway.clock import Clock, system_clock
from gateway.config import Settings, VendorBackendConfig
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
SHED_LOG_EVERY = 100  # creates shed whole are logged once per this many, with their count
SWEEP_SECONDS = 60.0  # how often sides left without a run by a shutdown are failed
# a job's deadline beyond its longest create's: its classifier's resolution, its stored
# file's check and its ledger writes are outside the create's own deadline
JOB_MARGIN = 60.0
# a side with no run this long after its job's deadline is one whose process went away
STALE_MARGIN = timedelta(seconds=60)
MESSAGE_CHARS = 200  # of an unexpected error's message in a log: a reason, never a payload

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
    deadline: float  # the event loop's time by which every side has a run or is failed


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
        call_timeout: float = 0.0,
        unrefreshed: Collection[str] = (),
        scrubber: Scrubber | None = None,
        clock: Clock = system_clock,
        limit: int = MAX_IN_FLIGHT,
        margin: float = JOB_MARGIN,
    ) -> None:
        """`call_timeout` is the longest of the shadow backends' (a background create's only
        deadline); `unrefreshed` names the backends whose unfinished runs nobody re-reads."""
        self._backends = tuple(backends)
        self._runs = runs
        self._ledger = ledger
        self._comparisons = comparisons
        self._budget = max(sync_timeout, call_timeout) + margin
        self._stale_after = timedelta(seconds=self._budget) + STALE_MARGIN
        self._unrefreshed = frozenset(unrefreshed)
        self._unrefreshed_told: set[str] = set()
        self._scrubber = scrubber or Scrubber()
        self._clock = clock
        self._limit = limit
        self._in_flight = 0
        self._shed = 0  # creates not compared at all, every shadow past the bound
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = False  # a create answered during shutdown is not shadowed

    @classmethod
    def of(
        cls,
        settings: Settings,
        backends: Mapping[str, Backend],
        *,
        runs: RunService,
        ledger: Ledger,
        comparisons: ComparisonLedger,
        clock: Clock = system_clock,
    ) -> Shadows:
        """The shadows `settings` configure, over the process's `backends`."""
        configs = settings.backends
        call_timeouts = [
            c.call_timeout
            for name in settings.shadow
            if isinstance(c := configs[name], VendorBackendConfig)
        ]
        # a local backend's workers finish its runs; a vendor's are re-read by a refresher
        # only with a key of its own and an interval (gateway/backends/factory.py)
        unrefreshed = [
            name
            for name, c in configs.items()
            if isinstance(c, VendorBackendConfig)
            and (name not in settings.upstream_keys or c.refresh_interval <= 0)
        ]
        return cls(
            [backends[name] for name in settings.shadow],
            runs=runs,
            ledger=ledger,
            comparisons=comparisons,
            sync_timeout=settings.server.sync_timeout,
            call_timeout=max(call_timeouts, default=0.0),
            unrefreshed=unrefreshed,
            scrubber=Scrubber.of(settings),
            clock=clock,
        )

    @property
    def in_flight(self) -> int:
        """Shadow creates admitted and not yet ended (bounded by `limit`)."""
        return self._in_flight

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
        failed_on: Collection[str] = (),
    ) -> None:
        """Shadow a create its primary answered (`outcome`), its serving attempt begun at
        `started_at`; only schedules. A failed primary is not shadowed, nor a body not read
        as canonical (`request` None), nor a backend this create just failed on (`failed_on`,
        before a fallback served it). `read_run` reads a relayed answer's run; `prepare`
        makes the request ready for a backend as the primary's was (a stored file's name
        filled in)."""
        skipped = {outcome.backend, *failed_on}
        shadows = tuple(b for b in self._backends if b.name not in skipped)
        failed = isinstance(outcome, Relayed) and not outcome.answer.is_success
        if not shadows or failed or self._stopped:
            return
        if request is None:
            log.info("routing.shadow_skipped", backend=outcome.backend, reason="unreadable body")
            return
        if request.background and outcome.backend in self._unrefreshed:
            self._never_refreshed(outcome.backend)
            return
        room = max(0, self._limit - self._in_flight)
        admitted, shed = shadows[:room], shadows[room:]
        if not admitted:
            self._shed += 1
            if self._shed % SHED_LOG_EVERY == 1:
                log.warning("routing.shadow_shed", backend=outcome.backend, creates=self._shed)
            return
        deadline = asyncio.get_running_loop().time() + self._budget
        job = _Job(call=call, request=request, outcome=outcome, started_at=started_at,
                   shadows=admitted, shed=shed, read_run=read_run, prepare=prepare,
                   deadline=deadline)  # fmt: skip
        self._in_flight += len(admitted)
        task = asyncio.create_task(self._compare(job), name="shadow")
        self._tasks.add(task)
        # a done callback runs however the task ends, cancelled before it began included
        task.add_done_callback(lambda done: self._release(done, len(admitted)))

    def _release(self, task: asyncio.Task[None], slots: int) -> None:
        self._tasks.discard(task)
        self._in_flight -= slots

    def _never_refreshed(self, primary: str) -> None:
        """A background create on a primary whose runs nobody re-reads is not shadowed: its
        side would wait forever. Said once per backend."""
        if primary not in self._unrefreshed_told:
            self._unrefreshed_told.add(primary)
            log.warning(
                "routing.shadow_skipped", backend=primary,
                reason="background runs of this backend are never refreshed (a pure proxy, or "
                "refresh_interval = 0): their comparisons could not complete",
            )  # fmt: skip

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
            async with asyncio.timeout_at(job.deadline):
                comparison = await self._recorded(job)
            if comparison is None:
                return
            for backend in job.shed:
                await self._fail(comparison.id, backend, SHED, outcome="shed")
            await asyncio.gather(*(self._shadow(job, comparison, b) for b in job.shadows))
        except Exception as exc:  # never raised anywhere: the client has its answer already
            self._failed(exc, job, backend=job.outcome.backend)

    def _failed(self, exc: Exception, job: _Job, **fields: str) -> None:
        """An unexpected error logged by its type and a short message without a secret or
        the document: never a traceback, whose frames may hold the request."""
        message = self._scrubber.text(str(exc), *_content_of(job.request.document))
        log.error("routing.shadow_failed", **fields, error=type(exc).__name__,
                  message=message[:MESSAGE_CHARS])  # fmt: skip

    async def _recorded(self, job: _Job) -> ComparisonRecord | None:
        """The comparison of the job's sides, as stored; None for a relayed create whose run
        the ledger did not record (nothing to compare it with)."""
        run = await self._primary_run(job)
        if run is None:
            log.info("routing.shadow_skipped", backend=job.outcome.backend, reason="unrecorded")
            return None
        sent = self._clock()
        primary = SideRecord(
            backend=job.outcome.backend, started_at=job.started_at, upstream_id=run.id
        )
        shadows = [SideRecord(backend=b.name, started_at=sent) for b in (*job.shadows, *job.shed)]
        request = job.request
        comparison = ComparisonRecord(
            id=f"cmp_{secrets.token_hex(12)}",
            owner=job.call.principal.owner,
            source="shadow",
            document=document_key(request.document).hex(),
            filename=request.document.filename or None,
            # a create naming a saved classifier has its categories once resolved: the run's
            categories=run.config.categories or request.config.categories,
            created_at=sent,
            sides=(primary, *shadows),
        )
        return await self._comparisons.insert_comparison(comparison)

    async def _primary_run(self, job: _Job) -> canonical.ClassificationRun | None:
        """The primary's run (its id the upstream one): a translated run itself; a relayed
        run read back from the answer, if the ledger recorded that run for this caller."""
        outcome = job.outcome
        if not isinstance(outcome, Relayed):
            return outcome.run
        run = job.read_run(outcome.answer.content, self._clock())
        if run is None:
            return None
        record = await self._ledger.find(outcome.backend, run.id)
        mine = record is not None and record.owner == job.call.principal.owner
        return run if mine else None

    async def _shadow(self, job: _Job, comparison: ComparisonRecord, backend: Backend) -> None:
        """The create on one shadow backend, as the client's own call would make it there,
        linked to the comparison; a failure before its run exists fails the side."""
        call = msgspec.structs.replace(job.call, notes=NoteTaker())
        try:
            async with asyncio.timeout_at(job.deadline):
                request = await job.prepare(job.request, call)
                await self._runs.create(request, backend, call=call, comparison=comparison.id)
        except TimeoutError:
            message = f"no run within the shadow's deadline ({self._budget:g} s)"
            await self._fail(comparison.id, backend, message, outcome="timeout")
        except (CrosswalkError, TranslationError) as exc:
            message = exc.message if isinstance(exc, CrosswalkError) else str(exc)
            await self._fail(comparison.id, backend, message, outcome=type(exc).__name__)
        except Exception as exc:
            self._failed(exc, job, backend=backend.name, comparison=comparison.id)
            await self._fail(comparison.id, backend, "internal error", outcome=type(exc).__name__)

    async def _fail(
        self, comparison_id: str, backend: Backend, error: str, *, outcome: str
    ) -> None:
        """Fail a side that has no run (the store writes nothing for one that has)."""
        log.warning("routing.shadow", backend=backend.name, comparison=comparison_id,
                    outcome=outcome)  # fmt: skip
        await self._comparisons.fail_side(comparison_id, backend.name, error, self._clock())


def _content_of(document: canonical.Document) -> tuple[str, ...]:
    """What of a document an error's message may echo, to be kept out of a log."""
    match document:
        case canonical.InlineDocument(data=data):
            return (data.decode(errors="replace"),)
        case canonical.UrlDocument(url=url, password=password):
            return (url,) if password is None else (url, password)
        case canonical.TextDocument(text=text):
            return (text,)
        case _:
            return ()
