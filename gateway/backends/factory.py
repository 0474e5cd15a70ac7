"""Opens what the configured backends need for the app's lifetime, and closes it after.

One ledger, the file store over it (every backend reads crosswalk's files from it), one
pooled httpx client per backend, the local backends' workers and extraction pools, and the
webhook dispatcher when endpoints are configured; tests pass transports (never clients) keyed
by backend name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import msgspec
import structlog

from gateway.backends.base import Backend, FileSource
from gateway.backends.extend import ExtendBackend, extend_headers
from gateway.backends.local.backend import LocalBackend
from gateway.backends.local.pool import extraction_pool
from gateway.backends.local.runner import LocalEngine
from gateway.backends.local.worker import LocalWorker
from gateway.backends.refresher import Refresher
from gateway.backends.retab import RetabBackend
from gateway.backends.scrub import Scrubber
from gateway.backends.stored import links_reach_vendors
from gateway.backends.upstream import Upstream, open_client
from gateway.clock import Clock, system_clock
from gateway.config import (
    ExtendBackendConfig,
    LocalBackendConfig,
    RetabBackendConfig,
    Secret,
    Settings,
)
from gateway.context import CallContext
from gateway.files.opening import open_file_store
from gateway.files.store import FileStore
from gateway.store.base import BatchLedger, ComparisonLedger, Ledger, Outbox, WorkQueue
from gateway.store.idempotency import IdempotencyStore
from gateway.store.opening import open_ledger
from gateway.supervisor import Doorbell, Supervisor
from gateway.webhooks.opening import webhook_delivery
from mappings import canonical, extend, retab
from mappings.dialects import Dialect

log = structlog.get_logger("crosswalk.backends")


class Opened(msgspec.Struct, frozen=True, kw_only=True):
    """The ledger, the file store and the backends, ready to serve."""

    ledger: Ledger
    outbox: Outbox  # the same store as `ledger`, seen as the webhook outbox
    files: FileStore
    backends: Mapping[str, Backend]
    background: Supervisor  # the local workers and the refreshers (the batch workers join)
    events: Doorbell  # rung when a write may have raised a webhook event in this process
    batches: BatchLedger  # the same store again, seen as the batches' ledger
    batch_doorbell: Doorbell  # rung by the ledger when a batch's inputs are recorded
    comparisons: ComparisonLedger  # the same store again, seen as the comparisons' ledger
    idempotency: IdempotencyStore  # the same store again, seen as Idempotency-Key slots


@asynccontextmanager
async def open_backends(
    settings: Settings,
    transports: Mapping[str, httpx.AsyncBaseTransport],
    *,
    clock: Clock = system_clock,
) -> AsyncIterator[Opened]:
    """Open the ledger, recover interrupted runs, start the backends and their workers."""
    doorbell = Doorbell()  # rung by the ledger when local work is queued in this process
    events = Doorbell()
    batch_doorbell = Doorbell()
    async with AsyncExitStack() as stack:
        ledger = await stack.enter_async_context(
            await open_ledger(
                settings,
                clock=clock,
                on_enqueue=doorbell.ring,
                on_event=events.ring,
                on_batch=batch_doorbell.ring,
            )
        )
        # as configured now: an endpoint no longer configured is owed no new events
        await ledger.subscribe({hook.name: hook.events for hook in settings.webhooks})
        stored = await open_file_store(settings, ledger, clock=clock)
        public_links = links_reach_vendors(settings.server.public_url)
        backends: dict[str, Backend] = {}
        vendors: dict[str, RetabBackend | ExtendBackend] = {}
        files: dict[Dialect, FileSource] = {}
        workers: list[LocalWorker] = []
        refreshers: list[Refresher] = []
        scrubber = Scrubber.of(settings)
        for name, config in settings.backends.items():
            transport = transports.get(name)
            if isinstance(config, LocalBackendConfig):
                client = await stack.enter_async_context(_local_client(config, transport))
                pool = await stack.enter_async_context(extraction_pool(config.extract_workers))
                engine = LocalEngine(config, client, pool, files=stored, clock=clock)
                backends[name] = LocalBackend(name, engine=engine, ledger=ledger, clock=clock)
                workers += [
                    LocalWorker(name, config=config, ledger=ledger, engine=engine, clock=clock)
                    for _ in range(config.concurrency)
                ]
                await _recover(ledger, config, clock)
            else:
                client = await stack.enter_async_context(open_client(config, transport))
                key = settings.upstream_keys.get(name)
                other: Dialect = "retab" if config.kind == "extend" else "extend"
                sources = files if _configured(settings, other) else None
                vendor = _vendor_backend(
                    name, config, client, key, sources, clock, scrubber, stored, public_links
                )
                backends[name] = vendors[name] = vendor
                if key is not None and config.refresh_interval > 0:
                    interval = config.refresh_interval
                    refreshers.append(Refresher(vendor, ledger, interval=interval, clock=clock))
        for name in sorted(vendors):  # the first backend of a vendor by name resolves its files
            files.setdefault(vendors[name].dialect, vendors[name])
        supervisor = Supervisor()
        for w in workers:
            supervisor.start(f"worker-{w.id}", w.step, idle=w.idle_seconds, doorbell=doorbell)
        for r in refreshers:
            # a run just created was read by its creator: the first pass waits an interval
            supervisor.start(f"refresher-{r.backend}", r.step, idle=r.interval, idle_first=True)
        hooks = webhook_delivery(settings, ledger, supervisor, events=events, clock=clock)
        await stack.enter_async_context(hooks)  # stopped after the supervisor, below
        try:
            yield Opened(
                ledger=ledger,
                outbox=ledger,
                files=stored,
                backends=backends,
                background=supervisor,
                events=events,
                batches=ledger,
                batch_doorbell=batch_doorbell,
                comparisons=ledger,
                idempotency=ledger,
            )
        finally:
            await supervisor.stop()


def _vendor_backend(
    name: str,
    config: RetabBackendConfig | ExtendBackendConfig,
    client: httpx.AsyncClient,
    key: Secret | None,
    files: Mapping[Dialect, FileSource] | None,
    clock: Clock,
    scrubber: Scrubber,
    stored: FileStore,
    public_links: bool,
) -> RetabBackend | ExtendBackend:
    # each vendor's file ids are resolved by a backend of that vendor (hazards 11, 12)
    if isinstance(config, ExtendBackendConfig):
        upstream = Upstream(
            name,
            dialect="extend",
            client=client,
            config=config,
            key=key,
            read_problem=extend.error_to_canonical,
            headers=extend_headers,
            scrubber=scrubber,
        )
        source = None if files is None else _Deferred(files, "retab")
        return ExtendBackend(
            name, config=config, upstream=upstream, files=source, stored=stored, clock=clock
        )
    upstream = Upstream(
        name,
        dialect="retab",
        client=client,
        config=config,
        key=key,
        read_problem=retab.error_to_canonical,
        scrubber=scrubber,
    )
    source = None if files is None else _Deferred(files, "extend")
    return RetabBackend(
        name,
        upstream=upstream,
        files=source,
        stored=stored,
        public_links=public_links,
        clock=clock,
    )


class _Deferred:
    """The `FileSource` of one vendor, looked up when a file is resolved, so that the order
    backends are opened in does not matter; the first backend of that vendor by name serves."""

    def __init__(self, sources: Mapping[Dialect, FileSource], vendor: Dialect) -> None:
        self._sources = sources
        self._vendor = vendor

    async def resolve_file(self, file_id: str, *, call: CallContext) -> canonical.Document:
        return await self._sources[self._vendor].resolve_file(file_id, call=call)


def _configured(settings: Settings, vendor: Dialect) -> bool:
    return any(config.kind == vendor for config in settings.backends.values())


def _local_client(
    config: LocalBackendConfig, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    # redirects are followed by fetch_document itself, re-checking every target address
    return httpx.AsyncClient(
        transport=transport, follow_redirects=False, timeout=config.fetch_timeout
    )


async def _recover(queue: WorkQueue, config: LocalBackendConfig, clock: Clock) -> None:
    report = await queue.recover(clock(), config.max_attempts)
    if report.resumed or report.failed or report.leased:  # a start with nothing to say is quiet
        # `leased` runs are not lost: their worker finishes them, or another takes them again
        # once the lease runs out (so none is "resumed" at this moment: hence no such count)
        log.info(
            "ledger.recovered",
            requeued=report.resumed,
            failed=report.failed,
            leased=report.leased,
            lease_seconds=config.lease_seconds,
        )
