"""Starts webhook delivery for the app's lifetime, only when `[[webhooks]]` are configured.

One `Dispatcher` per server process runs under the gateway's `Supervisor`, woken by the
ledger's events doorbell, with an httpx client of its own (never a backend's), closed at
shutdown after every attempt still in flight is stopped (its lease then runs out, and it is
made again by whichever process claims it next).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from gateway.clock import Clock
from gateway.config import LocalBackendConfig, Settings
from gateway.store.base import Outbox
from gateway.supervisor import Doorbell, Supervisor
from gateway.webhooks.dispatcher import Dispatcher
from gateway.webhooks.envelope import Renderer


@asynccontextmanager
async def webhook_delivery(
    settings: Settings,
    outbox: Outbox,
    supervisor: Supervisor,
    *,
    events: Doorbell,
    clock: Clock,
) -> AsyncIterator[Dispatcher | None]:
    """Deliver the configured endpoints' events until exit; None when there are none."""
    if not settings.webhooks:
        yield None
        return
    # redirects are never followed (a 3xx is a failed attempt); each attempt is timed by the
    # dispatcher, at its endpoint's timeout
    async with httpx.AsyncClient(follow_redirects=False, timeout=None) as client:
        dispatcher = Dispatcher(
            outbox,
            settings.webhooks,
            renderer=renderer(settings),
            client=client,
            doorbell=events,
            clock=clock,
        )
        supervisor.start(
            "webhooks", dispatcher.step, idle=dispatcher.idle_seconds, doorbell=dispatcher.doorbell
        )
        try:
            yield dispatcher
        finally:
            await dispatcher.aclose()


def renderer(settings: Settings) -> Renderer:
    """Renders event bodies with the Extend surface's public ids and dashboard links."""
    dialects = {
        name: None if isinstance(config, LocalBackendConfig) else config.kind
        for name, config in settings.backends.items()
    }
    return Renderer(dialects, public_url=settings.server.public_url)
