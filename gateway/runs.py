"""Run operations over canonical types: route to a backend, record in the ledger, scope by key.

Surfaces call this with a decoded, canonical request and get back canonical runs with the
public ids their clients see (design.md §1, §5). Every run accepted is recorded before the
client hears of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import msgspec

from gateway.backends.base import Backend, CallContext, ClassifierResolver
from gateway.dialects import Dialect
from gateway.errors import GatewayTimeout, InvalidRequest, RunNotFound, UpstreamFailed
from gateway.store.base import DuplicateRun, Ledger
from gateway.store.records import RunRecord, new_record
from mappings import canonical, ids
from mappings.errors import NotFound


class Served(msgspec.Struct, frozen=True, kw_only=True):
    """A run as a surface shows it: under its public id, from the backend that owns it."""

    public_id: str
    run: canonical.ClassificationRun
    backend: str


class Page(msgspec.Struct, frozen=True, kw_only=True):
    """One page of a listing, with public-id cursors for the pages either side."""

    items: tuple[Served, ...]
    before: str | None
    after: str | None


def utcnow() -> datetime:
    return datetime.now(UTC)


class RunService:
    """Creates, reads, lists, cancels and deletes runs on behalf of one surface's clients."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        backends: Mapping[str, Backend],
        default_backend: str,
        surface_backends: Mapping[str, str] | None = None,
        saved_classifiers: ClassifierResolver | None = None,
        sync_timeout: float = 600.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._ledger = ledger
        self._sync_timeout = sync_timeout
        self._backends = backends
        self._default = default_backend
        self._routes = dict(surface_backends or {})
        self._saved_classifiers = saved_classifiers
        self._clock = clock

    def route(self, surface: Dialect) -> Backend:
        """The backend that gets new runs created through `surface`."""
        return self._backends[self._routes.get(surface, self._default)]

    def locate(self, public_id: str, surface: Dialect) -> tuple[Backend, str]:
        """The backend that owns a public run id, and the id it knows the run by."""
        name, upstream_id = self._locate(public_id, surface)
        return self._backends[name], upstream_id

    async def create(
        self, request: canonical.ClassifyRequest, *, surface: Dialect, call: CallContext
    ) -> Served:
        """Start a run on the routed backend and record it."""
        backend = self.route(surface)
        # only Extend keeps saved classifiers: inline one for any other backend (hazard 10); the
        # ledger keeps the inlined request, so the run's categories table is the classifier's
        inline = self._saved_classifiers
        if request.classifier is not None and backend.dialect != "extend" and inline is not None:
            request = await inline(request, call)
        try:
            async with asyncio.timeout(None if request.background else self._sync_timeout):
                run = await backend.create(request, call=call)
        except TimeoutError:
            raise GatewayTimeout(
                f"The classification did not finish within {self._sync_timeout:g} s; "
                "send it as a background run instead."
            ) from None
        record = new_record(
            backend.name,
            run,
            request,
            surface=surface,
            owner=call.principal.owner,
            now=self._clock(),
        )
        try:
            await self._ledger.insert(record)
        except DuplicateRun:
            # never serve a run already recorded, perhaps another key's: the vendor erred
            raise UpstreamFailed(
                f"Backend {backend.name} answered a new run with the id of one already "
                f"recorded ({run.id})."
            ) from None
        return self._served(surface, backend, run)

    async def get(self, public_id: str, *, surface: Dialect, call: CallContext) -> Served:
        """The run's current state, refreshed from its backend."""
        backend, record = await self._find(public_id, surface, call)
        run = await backend.refresh(record, call=call)
        await self._remember(backend, record, run)
        return self._served(surface, backend, run)

    async def cancel(
        self, public_id: str, *, surface: Dialect, call: CallContext, reject_terminal: bool
    ) -> Served:
        """Cancel a run; a finished one comes back unchanged unless `reject_terminal`."""
        backend, record = await self._find(public_id, surface, call)
        run = await backend.refresh(record, call=call)
        stopped = False
        if not run.status.terminal:
            run = await backend.cancel(record, call=call)
            # it may have finished first: Retab then hands the finished run back (hazard 25)
            stopped = run.status is canonical.Status.cancelled or not run.status.terminal
        await self._remember(backend, record, run)
        if reject_terminal and not stopped:
            raise InvalidRequest(
                f"Classify run {public_id} is {run.status.value} and cannot be cancelled; "
                "only runs still processing can be.",
                status=400,
            )
        return self._served(surface, backend, run)

    async def _remember(
        self, backend: Backend, record: RunRecord, run: canonical.ClassificationRun
    ) -> None:
        """Keep the ledger's copy current: listings are served from it (hazard 23)."""
        if run != record.run:
            await self._ledger.update_run(backend.name, record.upstream_id, run)

    async def delete(self, public_id: str, *, surface: Dialect, call: CallContext) -> None:
        """Delete a run upstream and from the ledger."""
        backend, record = await self._find(public_id, surface, call)
        await backend.delete(record, call=call)
        await self._ledger.delete(call.principal.owner, backend.name, record.upstream_id)

    async def list(
        self,
        query: canonical.ListQuery,
        *,
        cursor: str | None,
        surface: Dialect,
        call: CallContext,
    ) -> Page:
        """A page of the caller's runs from the ledger, without one upstream call per item."""
        position = self._cursor_position(cursor, surface) if cursor else None
        result = await self._ledger.list(call.principal.owner, query, cursor=position)
        items = tuple(
            self._served(surface, self._backends[r.backend], r.run)
            for r in result.records
            if r.backend in self._backends
        )
        first, last = (items[0].public_id, items[-1].public_id) if items else (None, None)
        return Page(
            items=items,
            before=first if result.has_more_before else None,
            after=last if result.has_more_after else None,
        )

    def _served(
        self, surface: Dialect, backend: Backend, run: canonical.ClassificationRun
    ) -> Served:
        public_id = ids.encode(surface, backend.name, backend.dialect, run.id)
        return Served(public_id=public_id, run=run, backend=backend.name)

    async def _find(
        self, public_id: str, surface: Dialect, call: CallContext
    ) -> tuple[Backend, RunRecord]:
        backend_name, upstream_id = self._locate(public_id, surface)
        record = await self._ledger.get(call.principal.owner, backend_name, upstream_id)
        if record is None:
            raise RunNotFound(not_found_message(public_id, surface))
        return self._backends[backend_name], record

    def _locate(self, public_id: str, surface: Dialect) -> tuple[str, str]:
        try:
            decoded = ids.decode(surface, public_id)
        except NotFound:
            raise RunNotFound(not_found_message(public_id, surface)) from None
        if decoded.backend is not None and decoded.backend in self._backends:
            return decoded.backend, decoded.upstream_id
        # a native id, or one that only looks like ours: a vendor that is itself a crosswalk
        # issues `xw1` ids naming its own backends. Both belong to the surface's own vendor.
        native = self._native_backend(surface)
        if native is None:
            raise RunNotFound(not_found_message(public_id, surface))
        return native, public_id if decoded.backend is not None else decoded.upstream_id

    def _native_backend(self, surface: Dialect) -> str | None:
        """The backend that owns ids of the surface's own vendor (old ids in a migration)."""
        routed = self.route(surface)
        if routed.dialect == surface:
            return routed.name
        return next((b.name for b in self._backends.values() if b.dialect == surface), None)

    def _cursor_position(self, cursor: str, surface: Dialect) -> tuple[str, str]:
        try:
            return self._locate(cursor, surface)
        except RunNotFound:
            raise InvalidRequest(f"Unknown pagination cursor {cursor!r}.", status=400) from None


def not_found_message(public_id: str, surface: str) -> str:
    """The 404 message of `surface`'s vendor for an unknown run."""
    # each vendor's own wording (contracts.md §7; examples/*_404_*.json)
    return "Not found" if surface == "retab" else f"Classify run {public_id} not found."
