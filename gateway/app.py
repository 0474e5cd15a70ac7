"""The Litestar app factory. No app exists at import time; `crosswalk serve` builds one.

`create_app(settings)` wires both surfaces at the root (their paths do not collide), the error
handlers that render every failure in the caller's dialect, and a lifespan that opens the
ledger, the backends and the local workers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import structlog
from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException
from litestar.middleware.base import DefineMiddleware

from gateway import metrics, openapi
from gateway.backends.factory import Opened, open_backends
from gateway.batch import BatchService, BatchWorker, start_batch_workers
from gateway.batch.inputs import BatchInputs
from gateway.classifiers import Catalog
from gateway.clock import Clock, system_clock
from gateway.compare.reports import Reports
from gateway.config import Settings
from gateway.dialects import dialect_of
from gateway.disconnect import CancelOnDisconnect
from gateway.errors import (
    CrosswalkError,
    InternalError,
    InvalidRequest,
    PayloadTooLarge,
    RouteNotFound,
    StoreUnavailable,
)
from gateway.files.pending_in_database import pending_uploads
from gateway.gauges import start_depth_gauges
from gateway.idempotent_creates import IdempotentCreates
from gateway.limits import KeyLimits, PerKeyLimits
from gateway.logging import configure_logging
from gateway.middleware import CLIENT_CLOSED, add_request_id, client_gone, wrap_app
from gateway.routing import Routing
from gateway.service import EXTEND_RULES, RETAB_RULES, DialectService
from gateway.service.decoding import translation_error
from gateway.service.idempotency import PURGE_SECONDS, Idempotency
from gateway.service.relay import PassThrough
from gateway.service.runs import RunService
from gateway.service.shadow import SWEEP_SECONDS, Shadows
from gateway.service.stored import StoredFiles
from gateway.store.outage import RETRY_AFTER_SECONDS, is_outage
from gateway.surfaces import (
    comparisons,
    extend_batch,
    extend_classifiers,
    extend_files,
    extend_webhooks,
    files_content,
    files_uploads,
    health,
    retab_files,
)
from gateway.surfaces import extend as extend_surface
from gateway.surfaces import retab as retab_surface
from gateway.surfaces.render import error_response
from gateway.webhooks.relay import Relay
from mappings.dialects import Dialect
from mappings.errors import TranslationError

Transports = Mapping[str, httpx.AsyncBaseTransport]
log = structlog.get_logger("crosswalk.app")
AnyRequest = Request[Any, Any, Any]


def create_app(
    settings: Settings, *, transports: Transports | None = None, clock: Clock = system_clock
) -> Litestar:
    """Build one gateway from resolved settings. Reads no environment; `clock` is the time
    every part of it reads."""
    configure_logging()
    app = Litestar(
        route_handlers=[
            retab_surface.router,
            retab_files.router,
            extend_surface.router,
            extend_batch.router,
            extend_classifiers.router,
            extend_files.router(settings.files),
            files_content.router,
            files_uploads.router(settings.files),
            extend_webhooks.router,
            comparisons.router,
            health.router,
            openapi.router(),
        ],
        lifespan=[_lifespan(settings, transports or {}, clock)],
        exception_handlers={
            CrosswalkError: _render_crosswalk,
            TranslationError: _render_translation,
            HTTPException: _render_http,
            Exception: _render_unexpected,
        },
        middleware=[
            DefineMiddleware(CancelOnDisconnect),
            # one KeyLimits for the app: Litestar makes a middleware instance per route
            DefineMiddleware(
                PerKeyLimits, limits=KeyLimits(settings.limits, clock=clock), settings=settings
            ),
            DefineMiddleware(IdempotentCreates),
        ],
        before_send=[add_request_id],
        request_max_body_size=settings.server.max_body_bytes,
        # the document is crosswalk's own, built from the wire types (gateway/openapi)
        openapi_config=None,
        debug=False,
        # logging is structlog's, set up above; Litestar's own config would add a stdlib
        # handler of its own (style.md §12)
        logging_config=None,
    )
    return wrap_app(app)  # the request line and metrics of every request, 404s included


def _lifespan(
    settings: Settings, transports: Transports, clock: Clock
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_backends(settings, transports, clock=clock) as opened:
            app.state.settings = settings
            app.state.reports = Reports(opened.comparisons, settings.prices(), clock=clock)
            app.state.classifiers = Catalog.of(settings, opened.backends, started=clock())
            routing, runs = _runs(settings, opened, app.state.classifiers, clock)
            shadows = _shadows(settings, opened, runs, clock)
            app.state.services = _services(
                opened, routing, runs, app.state.classifiers, shadows, clock
            )
            app.state.batches = _batches(
                settings, opened, routing, runs, app.state.classifiers, clock
            )
            app.state.background = opened.background
            app.state.files = opened.files
            app.state.uploads = pending_uploads(opened.files, clock=clock)
            secrets = settings.vendor_webhook_secrets
            app.state.relay = Relay(opened.ledger, opened.outbox, secrets, clock=clock)
            app.state.readiness = health.Readiness(opened.ledger, opened.backends)
            local = [name for name, c in settings.backends.items() if c.kind == "local"]
            start_depth_gauges(opened.background, opened.ledger, opened.outbox, local)
            app.state.idempotency = _idempotency(settings, opened, clock)
            try:
                yield
            finally:
                await shadows.stop()  # their sides are failed by the next sweep
                metrics.process_exiting()

    return lifespan


def _idempotency(settings: Settings, opened: Opened, clock: Clock) -> Idempotency:
    """The Idempotency-Key slots of creates, and the loop purging those past 24 hours."""
    idempotency = Idempotency(
        opened.idempotency, sync_timeout=settings.server.sync_timeout, clock=clock
    )
    opened.background.start("idempotency-purge", idempotency.purge, idle=PURGE_SECONDS)
    return idempotency


def _runs(
    settings: Settings, opened: Opened, classifiers: Catalog, clock: Clock
) -> tuple[Routing, RunService]:
    """The one routing and run service every surface's calls (and batches) go through."""
    routing = Routing(
        opened.backends,
        default=settings.default_backend,
        surfaces=settings.surface_backends,
        split=settings.split,
        fallback=settings.fallback,
    )
    runs = RunService(
        ledger=opened.ledger,
        routing=routing,
        classifiers=classifiers,
        sync_timeout=settings.server.sync_timeout,
        clock=clock,
    )
    return routing, runs


def _shadows(settings: Settings, opened: Opened, runs: RunService, clock: Clock) -> Shadows:
    """The shadow creates of this process, and the sweep failing the sides a shutdown left
    without a run (`[routing] shadow`)."""
    shadows = Shadows.of(
        settings,
        opened.backends,
        runs=runs,
        ledger=opened.ledger,
        comparisons=opened.comparisons,
        clock=clock,
    )
    if settings.shadow:
        opened.background.start("shadow-sweep", shadows.sweep, idle=SWEEP_SECONDS)
    return shadows


def _services(
    opened: Opened,
    routing: Routing,
    runs: RunService,
    classifiers: Catalog,
    shadows: Shadows,
    clock: Clock,
) -> dict[Dialect, DialectService]:
    """One dialect service per surface, over one routing and one run service."""
    return {
        rules.dialect: DialectService(
            rules,
            routing=routing,
            runs=runs,
            relay=PassThrough(opened.ledger, rules, clock=clock),
            files=StoredFiles(opened.files, not_found=rules.file_not_found),
            # an Extend create naming a config classifier is inlined even for an Extend backend
            translates=classifiers.translates if rules.dialect == "extend" else lambda body: False,
            shadows=shadows,
        )
        for rules in (RETAB_RULES, EXTEND_RULES)
    }


def _batches(
    settings: Settings,
    opened: Opened,
    routing: Routing,
    runs: RunService,
    classifiers: Catalog,
    clock: Clock,
) -> BatchService:
    """The Extend surface's batches, and this process's batch workers creating their runs."""
    files = StoredFiles(opened.files, not_found=EXTEND_RULES.file_not_found)
    inputs = BatchInputs(files)
    workers = [
        BatchWorker(ledger=opened.batches, runs=runs, routing=routing, clock=clock)
        for _ in range(settings.batch.concurrency)
    ]
    start_batch_workers(opened.background, workers, opened.batch_doorbell)
    return BatchService(
        ledger=opened.batches,
        passthrough=PassThrough(opened.ledger, EXTEND_RULES, clock=clock),
        routing=routing,
        inputs=inputs,
        classifiers=classifiers,
        own_link=files.own_link,
        clock=clock,
    )


def _render_crosswalk(request: AnyRequest, exc: CrosswalkError) -> Response[bytes]:
    return error_response(request, exc)


def _render_translation(request: AnyRequest, exc: TranslationError) -> Response[bytes]:
    """A backend's translation refusal (e.g. consensus for Extend) as a client error."""
    dialect = dialect_of(request.url.path) or "retab"
    return error_response(request, translation_error(exc, dialect))


def _render_http(request: AnyRequest, exc: HTTPException) -> Response[bytes]:
    """Litestar's own errors (unknown route, wrong method, body too large) in the dialect."""
    if client_gone(request.scope):
        return _abandoned(request)
    status = exc.status_code
    error: CrosswalkError
    if status == 404:
        error = RouteNotFound("Not Found")
    elif status == 405:
        allow = (exc.headers or {}).get("allow", "")
        error = RouteNotFound("Method Not Allowed", status=405, headers={"allow": allow})
    elif status == 413:
        error = PayloadTooLarge("The request body is larger than this server accepts.")
    elif status < 500:
        error = InvalidRequest(str(exc.detail), status=status)
    else:
        return _render_unexpected(request, exc)
    return error_response(request, error)


def _abandoned(request: AnyRequest) -> Response[bytes]:
    """The client left before its request was read: nobody is there to answer, and it is not
    a server error (Litestar reports a short body as a 500)."""
    log.info("request.abandoned", reason="the client disconnected before sending its body")
    return Response(content=b"", status_code=CLIENT_CLOSED)


def _render_unexpected(request: AnyRequest, exc: Exception) -> Response[bytes]:
    if client_gone(request.scope):
        return _abandoned(request)
    if is_outage(exc):
        # the database's own message may name its host: the log keeps only the kind
        log.warning("request.store_unavailable", error=type(exc).__name__)
        retry_after = {"retry-after": str(RETRY_AFTER_SECONDS)}
        unavailable = StoreUnavailable("The service is unavailable.", headers=retry_after)
        return error_response(request, unavailable)
    log.error("request.unexpected_error", exc_info=exc)
    return error_response(request, InternalError("An unexpected error occurred."))
