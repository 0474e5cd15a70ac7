"""The store's interface for the webhook outbox (gateway/webhooks): events owed to endpoints
and how their deliveries go; `SqliteLedger` implements it beside `Ledger`. Re-exported by
`gateway.store.base`. Imports only the stdlib and `gateway.store` records.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Protocol

from gateway.store.records import Delivery, DeliveryState, NewEvent


class Outbox(Protocol):
    """Webhook events owed to endpoints, and how their deliveries go (design.md §7).

    A run that reaches a terminal status raises its event in the write that records it
    (`Ledger.insert`, `update_run`, `WorkQueue.finish`, `request_cancel`, `recover`), with one
    delivery per endpoint subscribed to its type; nothing is written when none is. Deliveries
    are claimed under a lease, so each is made by one dispatcher at a time in any process,
    and one whose dispatcher died is taken again once its lease runs out (at least once).
    """

    async def subscribe(self, endpoints: Mapping[str, Collection[str]]) -> None:
        """Make the subscriptions exactly `endpoints`: endpoint name → event types. What is
        still owed to an endpoint not among them is dead ("the endpoint is no longer
        configured"), for `retry_event` to revive once it is configured again."""
        ...

    async def add_event(self, event: NewEvent) -> str | None:
        """Raise an event no other change goes with (a relayed one); its id, or None when no
        endpoint subscribes or an event of the same given id was raised before."""
        ...

    async def any_due(self, now: datetime, endpoints: Collection[str]) -> bool:
        """Whether a delivery of `endpoints` is due and unclaimed; read without the write
        lock, so an idle dispatcher can ask often."""
        ...

    async def claim_deliveries(
        self,
        worker: str,
        now: datetime,
        lease_seconds: float,
        limit: int,
        *,
        limits: Mapping[str, int] | None = None,
    ) -> tuple[Delivery, ...]:
        """Lease up to `limit` due deliveries to `worker`, the longest due first; with
        `limits` (endpoint name → how many more it may take now) at most that many of each
        endpoint named, none of others. Each comes back with this attempt counted."""
        ...

    async def delivered(self, delivery: Delivery, worker: str, now: datetime, status: int) -> bool:
        """Record a delivery `worker` made; False if it no longer held it."""
        ...

    async def delivery_failed(
        self,
        delivery: Delivery,
        worker: str,
        *,
        retry_at: datetime | None,
        status: int | None,
        error: str,
    ) -> bool:
        """Record a failed attempt: due again at `retry_at`, or dead when it is None. False
        if `worker` no longer held it."""
        ...

    async def release(self, delivery: Delivery, worker: str, now: datetime) -> bool:
        """Hand back a delivery `worker` holds and will not finish (it is shutting down): due
        now to any dispatcher, the unfinished attempt not counted. False if it no longer held
        it."""
        ...

    async def list_deliveries(
        self, *, state: DeliveryState | None = None, limit: int = 100
    ) -> tuple[Delivery, ...]:
        """The latest deliveries, newest event first: all, or those in `state`."""
        ...

    async def retry_event(self, event_id: str, now: datetime) -> int | None:
        """Make the event's undelivered deliveries due now, with a fresh retry window, but
        none being sent now (under a live lease); how many, or None if there is no such
        event."""
        ...

    async def outbox_depth(self) -> int:
        """How many deliveries are still owed."""
        ...
