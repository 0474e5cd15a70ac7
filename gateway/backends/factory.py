"""Opens what the configured backends need for the app's lifetime, and closes it after.

One ledger, one pooled httpx client per backend, and the local backends' workers; tests pass
transports (never clients) keyed by backend name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime

import httpx
import msgspec
import structlog

from gateway.backends.base import Backend, CallContext, ClassifierResolver, FileResolver
from gateway.backends.extend import ExtendBackend, extend_headers
from gateway.backends.local.backend import LocalBackend
from gateway.backends.local.runner import LocalEngine
from gateway.backends.local.worker import LocalWorker
from gateway.backends.refresher import Refresher
from gateway.backends.retab import RetabBackend
from gateway.backends.upstream import Upstream, open_client
from gateway.config import (
    ExtendBackendConfig,
    LocalBackendConfig,
    RetabBackendConfig,
    Secret,
    Settings,
)
from gateway.store.base import Ledger
from gateway.store.sqlite import SqliteLedger
from gateway.supervisor import Supervisor
from mappings import canonical, extend, retab

log = structlog.get_logger("crosswalk.backends")


class Opened(msgspec.Struct, frozen=True, kw_only=True):
    """The ledger and the backends, ready to serve; `saved_classifiers` inlines Extend saved
    classifiers for other backends when an Extend backend is configured."""

    ledger: Ledger
    backends: Mapping[str, Backend]
    saved_classifiers: ClassifierResolver | None = None


@asynccontextmanager
async def open_backends(
    settings: Settings, transports: Mapping[str, httpx.AsyncBaseTransport]
) -> AsyncIterator[Opened]:
    """Open the ledger, recover interrupted runs, start the backends and their workers."""
    async with AsyncExitStack() as stack:
        ledger = await stack.enter_async_context(await SqliteLedger.open(settings.store_path))
        backends: dict[str, Backend] = {}
        workers: list[LocalWorker] = []
        refreshers: list[Refresher] = []
        for name, config in settings.backends.items():
            transport = transports.get(name)
            if isinstance(config, LocalBackendConfig):
                client = await stack.enter_async_context(_local_client(config, transport))
                engine = LocalEngine(config, client)
                backends[name] = LocalBackend(name, engine=engine, ledger=ledger)
                workers += [
                    LocalWorker(name, config=config, ledger=ledger, engine=engine)
                    for _ in range(config.concurrency)
                ]
                await _recover(ledger, config)
            else:
                client = await stack.enter_async_context(open_client(config, transport))
                key = settings.upstream_keys.get(name)
                backends[name] = _vendor_backend(name, config, client, key, settings, backends)
                if key is not None and config.refresh_interval > 0:
                    interval = config.refresh_interval
                    refreshers.append(Refresher(backends[name], ledger, interval=interval))
        supervisor = Supervisor()
        for w in workers:
            supervisor.start(f"worker-{w.id}", w.step, idle=w.idle_seconds, doorbell=w.doorbell)
        for r in refreshers:
            supervisor.start(f"refresher-{r.backend}", r.step, idle=r.interval)
        try:
            saved = _saved_classifiers(settings, backends)
            yield Opened(ledger=ledger, backends=backends, saved_classifiers=saved)
        finally:
            await supervisor.stop()


def _vendor_backend(
    name: str,
    config: RetabBackendConfig | ExtendBackendConfig,
    client: httpx.AsyncClient,
    key: Secret | None,
    settings: Settings,
    opened: Mapping[str, Backend],
) -> Backend:
    # each vendor's file ids are resolved by a backend of that vendor (hazards 11, 12)
    if isinstance(config, ExtendBackendConfig):
        upstream = Upstream(
            name,
            dialect="extend",
            client=client,
            key=key,
            read_problem=extend.error_to_canonical,
            headers=extend_headers,
        )
        files = _files_of(settings, "retab", opened)
        return ExtendBackend(name, config=config, upstream=upstream, retab_files=files)
    upstream = Upstream(
        name, dialect="retab", client=client, key=key, read_problem=retab.error_to_canonical
    )
    files = _files_of(settings, "extend", opened)
    return RetabBackend(name, config=config, upstream=upstream, extend_files=files)


def _files_of(settings: Settings, kind: str, opened: Mapping[str, Backend]) -> FileResolver | None:
    """A resolver of `kind` file ids through the first backend of that kind, if one is
    configured; it looks the backend up when called, so opening order does not matter."""
    names = sorted(n for n, c in settings.backends.items() if c.__struct_config__.tag == kind)
    if not names:
        return None

    async def resolve(file_id: str, *, call: CallContext) -> canonical.Document:
        backend = opened[names[0]]
        assert isinstance(backend, RetabBackend | ExtendBackend)  # by its config's kind
        document: canonical.Document = await backend.resolve_file(file_id, call=call)
        return document

    return resolve


def _saved_classifiers(
    settings: Settings, opened: Mapping[str, Backend]
) -> ClassifierResolver | None:
    """Inlines a saved classifier read from the first Extend backend, if one is configured."""
    names = sorted(n for n, c in settings.backends.items() if isinstance(c, ExtendBackendConfig))
    if not names:
        return None

    async def inline(
        request: canonical.ClassifyRequest, call: CallContext
    ) -> canonical.ClassifyRequest:
        backend = opened[names[0]]
        assert isinstance(backend, ExtendBackend)  # by its config's kind
        assert request.classifier is not None
        version = await backend.saved_version(request.classifier, call=call)
        return extend.with_saved_config(request, version)

    return inline


def _local_client(
    config: LocalBackendConfig, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    # redirects are followed by fetch_document itself, re-checking every target address
    return httpx.AsyncClient(
        transport=transport, follow_redirects=False, timeout=config.fetch_timeout
    )


async def _recover(ledger: Ledger, config: LocalBackendConfig) -> None:
    report = await ledger.recover(datetime.now(UTC), config.max_attempts)
    log.info("ledger.recovered", report=msgspec.to_builtins(report))
