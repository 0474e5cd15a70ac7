"""`SqlLedger`'s `Outbox` methods (the webhook outbox), kept beside the ledger's module:
each runs one function of `gateway.store.sqlite.outbox` on the ledger's runner, and rings
`on_event` when it may have made a delivery due."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta

from gateway.clock import Clock
from gateway.store.records import Delivery, DeliveryState, NewEvent
from gateway.store.sql import LedgerRunner
from gateway.store.sqlite import outbox


class OutboxMethods:
    """Implements `Outbox` for `SqlLedger`, which sets these attributes."""

    _runner: LedgerRunner
    _clock: Clock
    _on_event: Callable[[], None]

    async def subscribe(self, endpoints: Mapping[str, Collection[str]]) -> None:
        await self._runner.write(outbox.subscribe, endpoints)

    async def add_event(self, event: NewEvent) -> str | None:
        event_id = await self._runner.write(outbox.add_event, event, self._clock())
        if event_id is not None:
            self._on_event()
        return event_id

    async def any_due(self, now: datetime, endpoints: Collection[str]) -> bool:
        return await self._runner.read(outbox.any_due, now, tuple(endpoints))

    async def claim_deliveries(
        self,
        worker: str,
        now: datetime,
        lease_seconds: float,
        limit: int,
        *,
        limits: Mapping[str, int] | None = None,
    ) -> tuple[Delivery, ...]:
        until = now + timedelta(seconds=lease_seconds)
        caps = None if limits is None else dict(limits)
        return await self._runner.write(outbox.claim, worker, now, until, limit, caps)

    async def delivered(self, delivery: Delivery, worker: str, now: datetime, status: int) -> bool:
        return await self._runner.write(outbox.delivered, delivery, worker, now, status)

    async def delivery_failed(
        self,
        delivery: Delivery,
        worker: str,
        *,
        retry_at: datetime | None,
        status: int | None,
        error: str,
    ) -> bool:
        return await self._runner.write(outbox.failed, delivery, worker, retry_at, status, error)

    async def release(self, delivery: Delivery, worker: str, now: datetime) -> bool:
        return await self._runner.write(outbox.release, delivery, worker, now)

    async def list_deliveries(
        self, *, state: DeliveryState | None = None, limit: int = 100
    ) -> tuple[Delivery, ...]:
        return await self._runner.read(outbox.listing, state, limit)

    async def retry_event(self, event_id: str, now: datetime) -> int | None:
        retried = await self._runner.write(outbox.retry, event_id, now)
        if retried:
            self._on_event()
        return retried

    async def outbox_depth(self) -> int:
        return await self._runner.read(outbox.depth)
