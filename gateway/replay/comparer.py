"""One replayed document: its comparison recorded first, then one sync create per backend
that has not answered it yet, each run linked to its side by the ledger as it is recorded.

Resuming is reading the comparison back: a side whose run finished is left alone, a side
whose run exists but is unfinished (a sync deadline passed, or the replay was stopped while
the vendor worked) is re-read until it finishes rather than sent again, and a side with no
run is sent (again): never sent, stopped in flight, or failed before any run existed, since a
transient failure should not stick; but not one whose backend refused the document (a 4xx:
sending it again would be refused again).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from typing import Any

import msgspec

from gateway.auth import Principal
from gateway.backends.base import Backend
from gateway.clock import Clock, system_clock
from gateway.context import CallContext
from gateway.errors import CrosswalkError
from gateway.middleware import new_request_id
from gateway.routing import Located
from gateway.service.runs import RunService
from gateway.store.comparison_ledger import ComparisonLedger, DuplicateComparison
from gateway.store.comparison_records import ComparisonRecord, SideRecord
from mappings import canonical
from mappings.dialects import Dialect
from mappings.errors import TranslationError

# how the error of a side whose backend refused its document starts: never sent again
REFUSED = "refused: "


class Document(msgspec.Struct, frozen=True, kw_only=True):
    """A document to compare: the comparison that records it, and the request each backend
    gets."""

    comparison_id: str
    key: str  # the hex of its `routing.document_key`
    name: str
    request: canonical.ClassifyRequest
    expected: str | None = None
    labelled: bool = False  # `expected` replaces the label a rerun finds recorded


class Comparer:
    """Compares documents across `backends` (in order; the first is the primary side) on
    behalf of `principal`, as a client of `surface` (the dialect its categories came in)."""

    def __init__(
        self,
        *,
        comparisons: ComparisonLedger,
        runs: RunService,
        backends: Sequence[Backend],
        principal: Principal,
        surface: Dialect,
        poll_interval: float = 1.0,
        patience: float = 600.0,
        clock: Clock = system_clock,
    ) -> None:
        self._comparisons = comparisons
        self._runs = runs
        self._backends: Mapping[str, Backend] = {b.name: b for b in backends}
        self._principal = principal
        self._surface: Dialect = surface
        self._poll = poll_interval
        self._patience = patience
        self._clock = clock

    async def compare(self, document: Document) -> tuple[ComparisonRecord, bool]:
        """The document's comparison once every side has been sent or re-read, and whether
        this call had anything to do (False: an earlier replay had compared it)."""
        record, resumed = await self._open(document)
        unsent = [side for side in record.sides if _to_send(side)]
        if resumed:  # started again: its latency counts from now, a failure is forgotten
            for side in unsent:
                await self._comparisons.restart_side(record.id, side.backend, self._clock())
        await _all(self._send(document, side) for side in unsent)
        if unsent:
            record = await self._read(record.id)
        waiting = [
            Located(self._backends[s.backend], s.upstream_id)
            for s in record.sides
            if s.upstream_id is not None and not s.finished
        ]
        if waiting:
            await _all(self._wait(run) for run in waiting)
            record = await self._read(record.id)
        return record, bool(unsent or waiting)

    async def _open(self, document: Document) -> tuple[ComparisonRecord, bool]:
        """The comparison as recorded, and whether an earlier replay had recorded it."""
        now = self._clock()
        new = ComparisonRecord(
            id=document.comparison_id,
            owner=self._owner,
            source="replay",
            document=document.key,
            categories=document.request.config.categories,
            created_at=now,
            sides=tuple(SideRecord(backend=name, started_at=now) for name in self._backends),
            filename=document.name,
            expected=document.expected,
        )
        try:
            return await self._comparisons.insert_comparison(new), False
        except DuplicateComparison:
            pass
        if document.labelled:
            await self._comparisons.set_expected(new.id, document.expected)
        return await self._read(new.id), True

    async def _send(self, document: Document, side: SideRecord) -> None:
        backend = self._backends[side.backend]
        try:
            await self._runs.create(
                document.request, backend, call=self._call(), comparison=document.comparison_id
            )
        except (CrosswalkError, TranslationError) as exc:
            # writes nothing when the run exists after all (a sync deadline passed): it is
            # then re-read like any unfinished run
            reason = " ".join(str(exc).split()) or type(exc).__name__
            if _permanent(exc):
                reason = f"{REFUSED}{reason}"
            await self._comparisons.fail_side(
                document.comparison_id, backend.name, reason, self._clock()
            )

    async def _wait(self, located: Located) -> None:
        """Re-read a side's run until it is terminal (its side then finishes in the ledger),
        for at most `patience` seconds; a vendor failing to answer leaves it for a rerun."""
        try:
            async with asyncio.timeout(self._patience):
                while True:
                    served = await self._runs.get(located, call=self._call())
                    if served is None or served.run.status.terminal:
                        return
                    await asyncio.sleep(self._poll)
        except (TimeoutError, CrosswalkError):
            return

    async def _read(self, comparison_id: str) -> ComparisonRecord:
        record = await self._comparisons.get_comparison(self._owner, comparison_id)
        if record is None:  # a comparison is never deleted
            raise LookupError(f"comparison {comparison_id} is not in the ledger")
        return record

    @property
    def _owner(self) -> str:
        return self._principal.owner

    def _call(self) -> CallContext:
        """A call of its own for each create and read, as each client request has one."""
        return CallContext(
            request_id=new_request_id(), principal=self._principal, surface=self._surface
        )


def _to_send(side: SideRecord) -> bool:
    """Whether the side is sent (again): it has no run, and its backend did not refuse the
    document for good (a rerun would be refused, and billed, the same way)."""
    return side.upstream_id is None and not (side.error or "").startswith(REFUSED)


def _permanent(exc: CrosswalkError | TranslationError) -> bool:
    """A refusal of the document itself (a 4xx but 408 and 429, or a request the backend's
    format cannot hold), as opposed to an outage, a timeout or a rate limit."""
    if isinstance(exc, TranslationError):
        return True
    status = getattr(exc, "upstream_status", None) or exc.status
    return 400 <= status < 500 and status not in (408, 429) and not exc.retryable


async def _all(calls: Iterable[Coroutine[Any, Any, None]]) -> None:
    async with asyncio.TaskGroup() as group:
        for call in calls:
            group.create_task(call)
