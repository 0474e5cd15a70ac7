"""Runs translated through the canonical model: create on a backend, read, cancel and delete
by the ledger's record, list from the ledger, all scoped by the caller's key (design.md §1, §5).

Every run accepted is recorded before the client hears of it, and only once its public id is
known to build; a read or cancel only records the run it asked about. A method that finds no
record of the caller's answers None; the dialect service words the 404. A listing skips, with
a warning, a row no public id can name (one an older version recorded from a bad answer).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Protocol

import anyio
import msgspec
import structlog

from gateway.backends import answers
from gateway.backends.base import Backend
from gateway.clock import Clock, system_clock
from gateway.context import CallContext
from gateway.errors import GatewayTimeout, UpstreamError, UpstreamFailed
from gateway.routing import Located, Routing
from gateway.service import idempotency
from gateway.service.outcome import Page, Served
from gateway.store.base import DuplicateRun, Ledger
from gateway.store.records import (
    BatchSlot,
    ListResult,
    RunRecord,
    never_created,
    new_record,
)
from mappings import canonical

log = structlog.get_logger("crosswalk.runs")


class SavedClassifiers(Protocol):
    """Resolves a create's saved `classifier` reference (gateway/classifiers)."""

    async def resolve(
        self, request: canonical.ClassifyRequest, backend: Backend, *, call: CallContext
    ) -> canonical.ClassifyRequest:
        """`request` as `backend` can run it (hazard 10)."""
        ...


class BatchInputTaken(Exception):
    """The batch input a run was made for has a run already: another worker took the input
    over when this one's lease ran out. The run just made is recorded nowhere."""


class RunService:
    """Creates, reads, lists, cancels and deletes runs on behalf of either surface's clients."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        routing: Routing,
        classifiers: SavedClassifiers | None = None,
        sync_timeout: float = 600.0,
        clock: Clock = system_clock,
    ) -> None:
        self._ledger = ledger
        self._routing = routing
        self._classifiers = classifiers
        self._sync_timeout = sync_timeout
        self._clock = clock

    async def create(
        self,
        request: canonical.ClassifyRequest,
        backend: Backend,
        *,
        call: CallContext,
        batch: BatchSlot | None = None,
        comparison: str | None = None,
    ) -> Served:
        """Start a run on `backend` and record it (as the run of a batch's input, or of a
        comparison, if given: a comparison's run is never listed and raises no event)."""
        # a saved classifier the backend does not know is inlined (hazard 10); the ledger keeps
        # the inlined request, so the run's categories table is the classifier's
        if request.classifier is not None and self._classifiers is not None:
            request = await self._classifiers.resolve(request, backend, call=call)
        recorded: list[RunRecord] = []  # the record made when the vendor accepted the run

        async def record(run: canonical.ClassificationRun) -> RunRecord:
            made = new_record(
                backend.name,
                run,
                request,
                surface=call.surface,
                owner=call.principal.owner,
                now=self._clock(),
                batch=batch,
                comparison=comparison,
            )
            await self._insert(made, backend)
            if batch is None and comparison is None:  # the client's own create, not a copy
                await idempotency.run_accepted(self._served(call, backend, run).public_id)
            return made

        async def record_accepted(run: canonical.ClassificationRun) -> None:
            self._served(call, backend, run)  # a run no public id can name is not kept
            recorded.append(await record(run))

        try:
            async with asyncio.timeout(None if request.background else self._sync_timeout):
                run = await backend.create(request, call=call, accepted=record_accepted)
        except TimeoutError:
            goes_on = ""
            if recorded:
                public_id = self._served(call, backend, recorded[0].run).public_id
                goes_on = f" Run {public_id} goes on; read it later by its id."
            raise GatewayTimeout(
                f"The classification did not finish within {self._sync_timeout:g} s; "
                f"send it as a background run instead.{goes_on}"
            ) from None
        except UpstreamError as exc:
            exc.run_made = exc.run_made or bool(recorded)  # the run exists: never sent elsewhere
            raise
        served = self._served(call, backend, run)  # a run no public id can name is not kept
        if recorded:
            with anyio.CancelScope(shield=True):
                await self._remember(backend, recorded[0], run)
            return served
        await record(run)
        return served

    async def _insert(self, record: RunRecord, backend: Backend) -> None:
        """Record a run the backend has made; never interrupted half-way, for the run exists
        whether or not its caller is still there (a client gone, a sync deadline)."""
        try:
            with anyio.CancelScope(shield=True):
                await self._ledger.insert(record)
        except DuplicateRun:
            known = await self._ledger.find(record.backend, record.upstream_id)
            if known is None and record.batch_id is not None:
                # not the vendor's doing: the input's trigger refused a second run of it
                raise BatchInputTaken(
                    f"Input {record.batch_input} of batch {record.batch_id} has a run already."
                ) from None
            # never serve a run already recorded, perhaps another key's: the vendor erred
            raise UpstreamFailed(
                f"Backend {backend.name} answered a new run with the id of one already "
                f"recorded ({record.upstream_id})."
            ) from None

    async def get(self, located: Located, *, call: CallContext) -> Served | None:
        """The run's current state, refreshed from its backend."""
        record = await self._record(located, call)
        if record is None:
            return None
        run = await self._refreshed(located.backend, record, call)
        await self._remember(located.backend, record, run)
        return self._served(call, located.backend, run)

    async def cancel(self, located: Located, *, call: CallContext) -> tuple[Served, bool] | None:
        """Cancel a run: the run, and whether it stopped (False for one that had finished,
        which comes back unchanged)."""
        record = await self._record(located, call)
        if record is None:
            return None
        backend = located.backend
        run = await self._refreshed(backend, record, call)
        stopped = False
        if not run.status.terminal:
            run = await backend.cancel(record, call=call)
            # it may have finished first: Retab then hands the finished run back (hazard 25)
            stopped = run.status is canonical.Status.cancelled or not run.status.terminal
        await self._remember(backend, record, run)
        return self._served(call, backend, run), stopped

    async def delete(self, located: Located, *, call: CallContext) -> bool:
        """Delete a run upstream and from the ledger; False if the caller has no such run."""
        record = await self._record(located, call)
        if record is None:
            return False
        if not never_created(record):  # a run only the ledger has
            await located.backend.delete(record, call=call)
        await self._ledger.delete(call.principal.owner, located.backend.name, record.upstream_id)
        return True

    async def list(
        self, query: canonical.ListQuery, *, cursor: Located | None, call: CallContext
    ) -> Page:
        """A page of the caller's runs from the ledger, without one upstream call per item."""
        position = (cursor.backend.name, cursor.upstream_id) if cursor else None
        owner, backwards = call.principal.owner, query.direction == "before"
        result = await self._ledger.list(owner, query, cursor=position)
        items = list(self._listable(call, result.records))
        near, far = _flags(result, backwards)
        # rows skipped above leave the page short: read on past them, so that a page holding
        # only such rows does not end the listing
        while far and len(items) < query.limit and result.records:
            edge = result.records[0] if backwards else result.records[-1]
            rest = msgspec.structs.replace(query, limit=query.limit - len(items))
            result = await self._ledger.list(owner, rest, cursor=(edge.backend, edge.upstream_id))
            more = list(self._listable(call, result.records))
            items = more + items if backwards else items + more
            far = _flags(result, backwards)[1]
        before, after = (far, near) if backwards else (near, far)
        first, last = (items[0].public_id, items[-1].public_id) if items else (None, None)
        return Page(
            items=tuple(items),
            before=first if before else None,
            after=last if after else None,
        )

    def _listable(self, call: CallContext, records: tuple[RunRecord, ...]) -> Iterator[Served]:
        """The records as a listing shows them; a backend no longer configured is left out,
        and so is a row no public id can name, with a warning (it would fail every page)."""
        for record in records:
            backend = self._routing.backend(record.backend)
            if backend is None:
                continue
            try:
                # the row's own id, under which the ledger and the backend know the run
                yield self._served(call, backend, record.run, record.upstream_id)
            except UpstreamFailed:
                log.warning("ledger.unlistable_run", backend=record.backend, seq=record.seq)

    async def _refreshed(
        self, backend: Backend, record: RunRecord, call: CallContext
    ) -> canonical.ClassificationRun:
        """The run now; one no backend made (a batch input refused) is the ledger's alone."""
        if never_created(record):
            return record.run
        return await backend.refresh(record, call=call)

    async def _record(self, located: Located, call: CallContext) -> RunRecord | None:
        owner = call.principal.owner
        return await self._ledger.get(owner, located.backend.name, located.upstream_id)

    async def _remember(
        self, backend: Backend, record: RunRecord, run: canonical.ClassificationRun
    ) -> None:
        """Keep the ledger's copy current: listings are served from it (hazard 23). Another
        run than the record's is the backend's failure, and never stored under its id."""
        answers.check_same_run(backend.name, record.upstream_id, run.id)
        if run != record.run:
            await self._ledger.update_run(backend.name, record.upstream_id, run)

    def _served(
        self,
        call: CallContext,
        backend: Backend,
        run: canonical.ClassificationRun,
        upstream_id: str | None = None,
    ) -> Served:
        """The run under its public id; raises UpstreamFailed if none can be built for it."""
        try:
            public_id = self._routing.public_id(
                call.surface, backend, run.id if upstream_id is None else upstream_id
            )
        except ValueError as exc:
            raise UpstreamFailed(
                f"Backend {backend.name} answered a run crosswalk cannot address: {exc}."
            ) from None
        return Served(public_id=public_id, run=run, backend=backend.name, notes=call.notes.notes)


def _flags(result: ListResult, backwards: bool) -> tuple[bool, bool]:
    """Whether more runs lie on the near side of a page (towards its cursor) and on the far
    side (where the listing reads on)."""
    if backwards:
        return result.has_more_after, result.has_more_before
    return result.has_more_before, result.has_more_after
