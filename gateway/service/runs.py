"""Runs translated through the canonical model: create on a backend, read, cancel and delete
by the ledger's record, list from the ledger, all scoped by the caller's key (design.md §1, §5).

Every run accepted is recorded before the client hears of it. A method that finds no record
of the caller's answers None; the dialect service words the 404.
"""

from __future__ import annotations

import asyncio

from gateway.backends.base import Backend, ClassifierSource
from gateway.clock import Clock, system_clock
from gateway.context import CallContext
from gateway.errors import GatewayTimeout, UpstreamFailed
from gateway.routing import Located, Routing
from gateway.service.outcome import Page, Served
from gateway.store.base import DuplicateRun, Ledger
from gateway.store.records import RunRecord, new_record
from mappings import canonical, extend


class RunService:
    """Creates, reads, lists, cancels and deletes runs on behalf of either surface's clients."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        routing: Routing,
        classifiers: ClassifierSource | None = None,
        sync_timeout: float = 600.0,
        clock: Clock = system_clock,
    ) -> None:
        self._ledger = ledger
        self._routing = routing
        self._classifiers = classifiers
        self._sync_timeout = sync_timeout
        self._clock = clock

    async def create(
        self, request: canonical.ClassifyRequest, backend: Backend, *, call: CallContext
    ) -> Served:
        """Start a run on `backend` and record it."""
        # only Extend keeps saved classifiers: inline one for any other backend (hazard 10); the
        # ledger keeps the inlined request, so the run's categories table is the classifier's
        if request.classifier is not None and backend.dialect != "extend" and self._classifiers:
            version = await self._classifiers.saved_version(request.classifier, call=call)
            request = extend.with_saved_config(request, version)
        try:
            async with asyncio.timeout(None if request.background else self._sync_timeout):
                run = await backend.create(request, call=call)
        except TimeoutError:
            raise GatewayTimeout(
                f"The classification did not finish within {self._sync_timeout:g} s; "
                "send it as a background run instead."
            ) from None
        owner, now = call.principal.owner, self._clock()
        record = new_record(backend.name, run, request, surface=call.surface, owner=owner, now=now)
        try:
            await self._ledger.insert(record)
        except DuplicateRun:
            # never serve a run already recorded, perhaps another key's: the vendor erred
            raise UpstreamFailed(
                f"Backend {backend.name} answered a new run with the id of one already "
                f"recorded ({run.id})."
            ) from None
        return self._served(call, backend, run)

    async def get(self, located: Located, *, call: CallContext) -> Served | None:
        """The run's current state, refreshed from its backend."""
        record = await self._record(located, call)
        if record is None:
            return None
        run = await located.backend.refresh(record, call=call)
        await self._remember(located.backend, record, run)
        return self._served(call, located.backend, run)

    async def cancel(self, located: Located, *, call: CallContext) -> tuple[Served, bool] | None:
        """Cancel a run: the run, and whether it stopped (False for one that had finished,
        which comes back unchanged)."""
        record = await self._record(located, call)
        if record is None:
            return None
        backend = located.backend
        run = await backend.refresh(record, call=call)
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
        await located.backend.delete(record, call=call)
        await self._ledger.delete(call.principal.owner, located.backend.name, record.upstream_id)
        return True

    async def list(
        self, query: canonical.ListQuery, *, cursor: Located | None, call: CallContext
    ) -> Page:
        """A page of the caller's runs from the ledger, without one upstream call per item."""
        position = (cursor.backend.name, cursor.upstream_id) if cursor else None
        result = await self._ledger.list(call.principal.owner, query, cursor=position)
        items = tuple(
            self._served(call, backend, r.run)
            for r in result.records
            if (backend := self._routing.backend(r.backend)) is not None
        )
        first, last = (items[0].public_id, items[-1].public_id) if items else (None, None)
        return Page(
            items=items,
            before=first if result.has_more_before else None,
            after=last if result.has_more_after else None,
        )

    async def _record(self, located: Located, call: CallContext) -> RunRecord | None:
        owner = call.principal.owner
        return await self._ledger.get(owner, located.backend.name, located.upstream_id)

    async def _remember(
        self, backend: Backend, record: RunRecord, run: canonical.ClassificationRun
    ) -> None:
        """Keep the ledger's copy current: listings are served from it (hazard 23)."""
        if run != record.run:
            await self._ledger.update_run(backend.name, record.upstream_id, run)

    def _served(
        self, call: CallContext, backend: Backend, run: canonical.ClassificationRun
    ) -> Served:
        public_id = self._routing.public_id(call.surface, backend, run.id)
        return Served(public_id=public_id, run=run, backend=backend.name, notes=call.notes.notes)
