"""The Extend surface: `/classify` and `/classify_runs*`, answered as Extend's API would
(contracts.md §3, §5).

Each handler decodes its parameters, makes one call to the Extend dialect service (which
relays to an Extend backend or translates for any other) and renders the outcome.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Request, Response, Router, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from gateway.batch import BatchService
from gateway.config import Settings
from gateway.context import CallContext, provide_extend_call, provide_settings
from gateway.service import Deleted, DialectService, Page, Served
from gateway.surfaces.extend_batch import provide_batches
from gateway.surfaces.options import options_handler
from gateway.surfaces.render import json_response, rendered
from gateway.surfaces.services import provide_extend_service
from mappings import extend

AnyRequest = Request[Any, Any, Any]
Service = NamedDependency[DialectService]
Call = NamedDependency[CallContext]
Config = NamedDependency[Settings]
Batches = NamedDependency[BatchService]

CLASSIFY = extend.CLASSIFY_PATH
RUNS = extend.RUNS_PATH
ONE = RUNS + "/{run_id:str}"


@post([CLASSIFY, RUNS], status_code=200)
async def create_classify_run(
    request: AnyRequest, call: Call, service: Service, settings: Config
) -> Response[bytes]:
    """Classify a file: synchronously at `/classify`; at `/classify_runs` the answer comes at
    once while the run is processed."""
    path = CLASSIFY if request.scope.get("path_template") == CLASSIFY else RUNS
    outcome = await service.create(call, await request.body(), path=path)
    return rendered(outcome, partial(_run, settings=settings))


@get(ONE)
async def get_classify_run(
    call: Call, service: Service, settings: Config, run_id: FromPath[str]
) -> Response[bytes]:
    """One classify run."""
    return rendered(await service.get(call, run_id), partial(_run, settings=settings))


@get(RUNS)
async def list_classify_runs(
    request: AnyRequest, call: Call, service: Service, settings: Config, batches: Batches
) -> Response[bytes]:
    """The caller's classify runs as summaries, newest first unless asked otherwise; those of
    a batch relayed to Extend (`batchId`) as Extend lists them."""
    page = await batches.runs(call, request.query_params) or await service.list(
        call, request.query_params
    )
    return rendered(page, partial(_page, settings=settings))


@delete(ONE, status_code=200)
async def delete_classify_run(
    call: Call, service: Service, run_id: FromPath[str]
) -> Response[bytes]:
    """Delete a classify run; Extend answers with its id (hazard 24)."""
    return rendered(await service.delete(call, run_id), _deleted)


@post(ONE + "/cancel", status_code=200)
async def cancel_classify_run(
    call: Call, service: Service, settings: Config, run_id: FromPath[str]
) -> Response[bytes]:
    """Cancel a run still processing; a finished run is an error in Extend (hazard 25)."""
    return rendered(await service.cancel(call, run_id), partial(_run, settings=settings))


def _run(served: Served, *, settings: Settings) -> Response[bytes]:
    body, notes = extend.response_from_canonical(
        served.run,
        public_id=served.public_id,
        dashboard_url=f"{settings.server.public_url}/classify_runs/{served.public_id}",
    )
    return json_response(body, notes=served.notes + notes, backend=served.backend)


def _page(page: Page, *, settings: Settings) -> Response[bytes]:
    items = [(s.public_id, s.run) for s in page.items]
    body, notes = extend.list_from_canonical(
        items, next_page_token=page.after, dashboard_base=settings.server.public_url
    )
    return json_response(body, notes=notes)


def _deleted(deleted: Deleted) -> Response[bytes]:
    return json_response(extend.delete_response(deleted.public_id), backend=deleted.backend)


router = Router(
    path="/",
    route_handlers=[
        options_handler([CLASSIFY, RUNS, ONE, ONE + "/cancel"], name="extend-options"),
        create_classify_run,
        get_classify_run,
        list_classify_runs,
        delete_classify_run,
        cancel_classify_run,
    ],
    dependencies={
        "call": Provide(provide_extend_call),
        "service": Provide(provide_extend_service),
        "settings": Provide(provide_settings),
        "batches": Provide(provide_batches),
    },
)
