"""The Extend surface's batch runs: `POST /classify_runs/batch` and `GET /batch_runs/{id}`,
answered as Extend's API would (contracts.md §5) by the batch service (gateway/batch).

Extend has no batch cancel or delete: those paths answer as any unknown route or method does,
in Extend's error shape (`RouteNotFound`).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from gateway.batch import BatchService
from gateway.context import CallContext, provide_extend_call
from gateway.surfaces.options import options_handler
from gateway.surfaces.render import json_response, rendered
from mappings import canonical
from mappings.extend import batches

AnyRequest = Request[Any, Any, Any]
Batches = NamedDependency[BatchService]
Call = NamedDependency[CallContext]

CREATE = batches.BATCH_PATH
ONE = batches.BATCH_RUNS_PATH + "/{batch_id:str}"


async def provide_batches(state: State) -> BatchService:
    """The app's batch service (made in its lifespan)."""
    service: BatchService = state.batches
    return service


@post(CREATE, status_code=200)
async def create_batch(request: AnyRequest, call: Call, service: Batches) -> Response[bytes]:
    """Start one classify run per input with a saved classifier; the batch answers at once."""
    return rendered(await service.create(call, await request.body()), _batch)


@get(ONE)
async def get_batch(call: Call, service: Batches, batch_id: FromPath[str]) -> Response[bytes]:
    """A batch's status and run count."""
    return rendered(await service.get(call, batch_id), _batch)


def _batch(batch: canonical.Batch) -> Response[bytes]:
    return json_response(batches.batch_from_canonical(batch))


router = Router(
    path="/",
    route_handlers=[
        options_handler([CREATE, ONE], name="extend-batch-options"),
        create_batch,
        get_batch,
    ],
    dependencies={
        "call": Provide(provide_extend_call),
        "service": Provide(provide_batches),
    },
)
