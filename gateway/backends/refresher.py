"""Keeps the ledger's copy of unfinished vendor runs current.

Listings are served from the ledger (hazard 23), and a vendor's run only changes there when
someone reads it through crosswalk. A refresher re-reads, every `refresh_interval`, a page of
the runs of one vendor backend that are not finished yet, walking them round in the order
they were recorded, so a listing does not show a run as running long after the vendor
finished it, and runs that stay unfinished for hours never keep the others from their turn
(a batch settles only once every one of its runs is seen to end). Only for backends with a
key of their own: a pure proxy's runs are read with each client's key, which is never kept.
A pass is skipped while the backend's circuit is open (its calls would only fail fast), and
ends when it opens. A `Supervisor` repeats `step` and keeps it going through errors
(gateway/supervisor.py).
"""

from __future__ import annotations

import structlog

from gateway.auth import Principal
from gateway.backends.base import Backend
from gateway.clock import Clock, system_clock
from gateway.config import Secret
from gateway.context import CallContext
from gateway.errors import CircuitOpen, CrosswalkError
from gateway.middleware import new_request_id
from gateway.store.base import Ledger

BATCH = 50  # runs re-read per tick and backend: bounds the upstream calls a tick makes
log = structlog.get_logger("crosswalk.refresher")


class Refresher:
    """Re-reads one backend's unfinished runs from the vendor, once per `step`; a supervisor
    runs a step every `interval` seconds."""

    def __init__(
        self, backend: Backend, ledger: Ledger, *, interval: float, clock: Clock = system_clock
    ) -> None:
        self.backend = backend.name
        self.interval = interval
        self._backend = backend
        self._ledger = ledger
        self._clock = clock
        self._after = 0  # where the walk round the unfinished runs goes on from

    async def step(self) -> bool:
        """One pass; never more work right away: the next pass waits for the interval."""
        await self.refresh_once()
        return False

    async def refresh_once(self) -> int:
        """One pass; returns how many runs changed."""
        changed = 0
        if self._backend.circuit_state() == "open":
            return changed  # its vendor is failing: calls now would only fail fast
        page = await self._ledger.unfinished(self._backend.name, limit=BATCH, after=self._after)
        # a short page reached the end: the next pass starts the round again
        self._after = page[-1].seq if len(page) == BATCH else 0
        for record in page:
            # the backend spends its own key, so the owner's hash is all the call needs
            principal = Principal(owner=record.owner, key=Secret(""))
            call = CallContext(
                request_id=new_request_id(), principal=principal, surface=record.surface
            )
            try:
                run = await self._backend.refresh(record, call=call)
                if run != record.run:  # the ledger may refuse it too (a run past its bound)
                    now = self._clock()
                    await self._ledger.update_run(self.backend, record.upstream_id, run, now=now)
                    changed += 1
            except CircuitOpen:
                break  # the vendor began failing during the pass: the rest waits for the next
            except CrosswalkError as exc:
                log.warning(
                    "refresh.failed", backend=self._backend.name, run=record.upstream_id,
                    error=exc.code, status=exc.status,
                )  # fmt: skip
        return changed
