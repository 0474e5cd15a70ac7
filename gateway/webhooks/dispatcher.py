"""Delivers the ledger's webhook outbox: signed POSTs, retried with backoff, then dead.

A `Supervisor` repeats `step` (one per server process); each step claims due deliveries under
a lease from the `Outbox` (any process may claim, none twice while the lease holds) and sends
each in a task of its own, so one slow endpoint holds only its own deliveries: at most
`per_endpoint` at once per endpoint and `concurrency` in all, each attempt cut at the
endpoint's timeout. The answer is a 2xx (delivered) or anything else (retried per
`RetryPolicy`, dead after 24 h). The dispatcher's httpx client is its own, never a backend's,
and follows no redirect.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
from collections import Counter
from collections.abc import Sequence

import httpx
import structlog

from gateway.backends.local.fetch import Resolver
from gateway.clock import Clock, system_clock
from gateway.config import WebhookEndpoint
from gateway.store.base import Outbox
from gateway.store.records import Delivery
from gateway.supervisor import Doorbell
from gateway.webhooks.envelope import Renderer
from gateway.webhooks.guard import Unreachable, post_pinned
from gateway.webhooks.resolving import EndpointResolver
from gateway.webhooks.retry import Draw, RetryPolicy
from gateway.webhooks.signing import signed_headers

log = structlog.get_logger("crosswalk.webhooks")
# how often an idle dispatcher looks for due deliveries (a read): how soon it finds those
# raised without its doorbell ringing (by another process, or a run its claim failed as out of
# attempts) and those whose backoff has passed
IDLE_SECONDS = 0.5
LEASE_MARGIN = 10.0  # seconds a lease outlives the longest attempt: the writes around it


class Attempt(Exception):
    """One attempt that did not end in a 2xx; the message is its `last_error`."""

    def __init__(self, error: str, status: int | None = None) -> None:
        super().__init__(error)
        self.status = status


class Dispatcher:
    """Sends due deliveries of the configured `endpoints`, one `step` at a time."""

    idle_seconds = IDLE_SECONDS

    def __init__(
        self,
        outbox: Outbox,
        endpoints: Sequence[WebhookEndpoint],
        *,
        renderer: Renderer,
        client: httpx.AsyncClient,
        doorbell: Doorbell | None = None,
        retry: RetryPolicy | None = None,
        concurrency: int = 16,
        per_endpoint: int = 4,
        clock: Clock = system_clock,
        resolver: Resolver | None = None,
        draw: Draw = random.uniform,
    ) -> None:
        self.id = f"{os.getpid()}-{secrets.token_hex(4)}"
        # rung by the ledger when an event may have been raised, and here when a slot frees
        self.doorbell = doorbell or Doorbell()
        self._outbox = outbox
        self._endpoints = {endpoint.name: endpoint for endpoint in endpoints}
        self._renderer = renderer
        self._client = client
        self._retry = retry or RetryPolicy()
        self._concurrency = concurrency
        self._per_endpoint = per_endpoint
        self._clock = clock
        # endpoints' names are looked up on threads of their own, not the gateway's shared ones
        self._own_resolver = EndpointResolver()  # its threads start only when it is used
        self._resolve = resolver or self._own_resolver
        self._draw = draw
        self._lease = max((e.timeout for e in endpoints), default=30.0) + LEASE_MARGIN
        self._sending: dict[asyncio.Task[None], Delivery] = {}

    async def step(self) -> bool:
        """Claim what this process has room for and start sending it; True when it filled
        every free slot (more may be due at once)."""
        free = self._concurrency - len(self._sending)
        limits = self._room()
        if free <= 0 or not limits:
            return False
        now = self._clock()
        if not await self._outbox.any_due(now, limits):
            return False  # asked on a reader: an idle dispatcher never takes the write lock
        claimed = await self._outbox.claim_deliveries(
            self.id, now, self._lease, free, limits=limits
        )
        sending = {(d.event_seq, d.endpoint) for d in self._sending.values()}
        for delivery in claimed:
            if (delivery.event_seq, delivery.endpoint) in sending:
                continue  # its lease ran out while it is still being sent here: not twice
            task = asyncio.create_task(self._attempt(delivery), name=f"webhook-{delivery.event_id}")
            self._sending[task] = delivery
            task.add_done_callback(self._done)
        return len(claimed) == free

    def _room(self) -> dict[str, int]:
        """How many more deliveries each endpoint may have in flight here (those with room):
        the claim takes no more of each, so a slow endpoint's backlog never takes the others'
        slots."""
        counts = Counter(delivery.endpoint for delivery in self._sending.values())
        room = {name: self._per_endpoint - counts[name] for name in self._endpoints}
        return {name: n for name, n in room.items() if n > 0}

    def _done(self, task: asyncio.Task[None]) -> None:
        self._sending.pop(task, None)
        self.doorbell.ring()
        if not task.cancelled() and task.exception() is not None:
            # the lease then runs out and another attempt is made
            log.error("webhooks.attempt_error", exc_info=task.exception())

    async def aclose(self) -> None:
        """Stop every attempt in flight and hand its delivery back, due now to whichever
        process claims it next (a dispatcher killed instead leaves its leases to run out)."""
        sending = dict(self._sending)
        for task in sending:
            task.cancel()
        await asyncio.gather(*sending, return_exceptions=True)
        now = self._clock()
        for task, delivery in sending.items():
            if task.cancelled():
                await self._outbox.release(delivery, self.id, now)
        self._own_resolver.close()

    async def _attempt(self, delivery: Delivery) -> None:
        try:
            status = await self._send(delivery)
        except Attempt as failed:
            await self._failed(delivery, failed)
            return
        recorded = await self._outbox.delivered(delivery, self.id, self._clock(), status)
        # not recorded: its lease ran out mid-attempt and another dispatcher took it over (or
        # an operator's retry, or its endpoint was removed); the delivery is theirs now
        log.log(
            logging.INFO if recorded else logging.WARNING,
            "webhooks.delivered" if recorded else "webhooks.lease_lost",
            event_id=delivery.event_id, endpoint=delivery.endpoint, status=status,
            attempt=delivery.attempts,
        )  # fmt: skip

    async def _send(self, delivery: Delivery) -> int:
        """The 2xx status `delivery`'s endpoint answered; raises Attempt otherwise."""
        endpoint = self._endpoints[delivery.endpoint]  # only configured endpoints are claimed
        try:
            body = self._renderer.body(delivery)
        except Exception:  # a bug or a damaged event: a failed attempt, in time a dead one
            log.exception("webhooks.render_failed", event_id=delivery.event_id)
            raise Attempt("the event could not be rendered (an internal error)") from None
        headers = signed_headers(endpoint.secret.reveal(), int(self._clock().timestamp()), body)
        try:
            async with asyncio.timeout(endpoint.timeout):
                response = await post_pinned(
                    self._client,
                    endpoint.url,
                    content=body,
                    headers=headers,
                    allow_private=endpoint.allow_private,
                    resolve=self._resolve,
                )
                await response.aclose()  # the answer's body is not read: only its status counts
        except Unreachable as exc:
            if exc.refused:
                log.warning("webhooks.refused", endpoint=endpoint.name, reason=str(exc))
            raise Attempt(str(exc)) from None
        except TimeoutError:
            raise Attempt(f"no answer within {endpoint.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise Attempt(f"{type(exc).__name__} while sending") from None
        if not response.is_success:
            raise Attempt(
                f"the endpoint answered HTTP {response.status_code}", response.status_code
            )
        return response.status_code

    async def _failed(self, delivery: Delivery, failed: Attempt) -> None:
        # `attempts` already counts this one (the claim counted it); the window starts at
        # `since`: when the event was raised, or when an operator last retried it
        retry_at = self._retry.next_attempt(
            delivery.attempts, since=delivery.since, now=self._clock(), draw=self._draw
        )
        await self._outbox.delivery_failed(
            delivery, self.id, retry_at=retry_at, status=failed.status, error=str(failed)
        )
        event = "webhooks.retrying" if retry_at is not None else "webhooks.dead"
        log.warning(
            event, event_id=delivery.event_id, endpoint=delivery.endpoint, error=str(failed),
            status=failed.status, attempt=delivery.attempts, retry_at=retry_at,
        )  # fmt: skip
