"""Opens what the configured backends need for the app's lifetime, and closes it after.

One ledger, one pooled httpx client per backend, and the local backends' workers; tests pass
transports (never clients) keyed by backend name.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime

import httpx
import msgspec
import structlog

from gateway.backends.base import Backend
from gateway.backends.local.backend import LocalBackend
from gateway.backends.local.runner import LocalEngine
from gateway.backends.local.worker import LocalWorker
from gateway.config import LocalBackendConfig, Settings
from gateway.store.base import Ledger
from gateway.store.sqlite import SqliteLedger

log = structlog.get_logger("crosswalk.backends")


class Opened(msgspec.Struct, frozen=True, kw_only=True):
    """The ledger and the backends, ready to serve."""

    ledger: Ledger
    backends: Mapping[str, Backend]


@asynccontextmanager
async def open_backends(
    settings: Settings, transports: Mapping[str, httpx.AsyncBaseTransport]
) -> AsyncIterator[Opened]:
    """Open the ledger, recover interrupted runs, start the backends and their workers."""
    async with AsyncExitStack() as stack:
        ledger = await stack.enter_async_context(await SqliteLedger.open(settings.store_path))
        backends: dict[str, Backend] = {}
        workers: list[LocalWorker] = []
        for name, config in settings.backends.items():
            client = await stack.enter_async_context(_client(config, transports.get(name)))
            engine = LocalEngine(config, client)
            backends[name] = LocalBackend(name, engine=engine, ledger=ledger)
            workers += [
                LocalWorker(name, config=config, ledger=ledger, engine=engine)
                for _ in range(config.concurrency)
            ]
            await _recover(ledger, config)
        tasks = [asyncio.create_task(w.run_forever(), name=f"worker-{w.id}") for w in workers]
        try:
            yield Opened(ledger=ledger, backends=backends)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def _client(
    config: LocalBackendConfig, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    # redirects are followed by fetch_document itself, re-checking every target address
    return httpx.AsyncClient(
        transport=transport, follow_redirects=False, timeout=config.fetch_timeout
    )


async def _recover(ledger: Ledger, config: LocalBackendConfig) -> None:
    report = await ledger.recover(datetime.now(UTC), config.max_attempts)
    log.info("ledger.recovered", report=msgspec.to_builtins(report))
