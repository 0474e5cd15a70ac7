"""The Retab surface: `/v1/classifications*`, answered as Retab's API would (contracts.md §2).

Each handler decodes its parameters, makes one call to the Retab dialect service (which relays
to a Retab backend or translates for any other) and renders the outcome.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Request, Response, Router, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from gateway.context import CallContext, provide_retab_call
from gateway.service import Deleted, DialectService, Page, Served
from gateway.service.decoding import translation_error
from gateway.surfaces.options import options_handler
from gateway.surfaces.render import BACKEND_HEADER, json_response, rendered
from gateway.surfaces.services import provide_retab_service
from mappings import retab
from mappings.errors import TranslationError

AnyRequest = Request[Any, Any, Any]
Service = NamedDependency[DialectService]
Call = NamedDependency[CallContext]

PATH = retab.RUNS_PATH
ONE = PATH + "/{classification_id:str}"


@post(PATH, status_code=201)
async def create_classification(
    request: AnyRequest, call: Call, service: Service
) -> Response[bytes]:
    """Classify a document; `background: true` answers at once with a queued run."""
    outcome = await service.create(call, await request.body(), path=PATH)
    return rendered(outcome, partial(_run, status=201))


@get(ONE)
async def get_classification(
    request: AnyRequest, call: Call, service: Service, classification_id: FromPath[str]
) -> Response[bytes]:
    """One classification; `include_output=false` leaves the output out."""
    include_output = _flag(request.query_params.get("include_output"), "include_output")
    query = list(request.query_params.multi_items())
    outcome = await service.get(call, classification_id, query=query)
    return rendered(outcome, partial(_run, include_output=include_output))


@get(PATH)
async def list_classifications(
    request: AnyRequest, call: Call, service: Service
) -> Response[bytes]:
    """The caller's classifications, paged by id cursors (contracts.md §2.3)."""
    return rendered(await service.list(call, request.query_params), _page)


# the decorator's status is only the default: both paths answer 204 themselves, and a
# handler declared 204 may not return a body (the relayed one of an upstream error)
@delete(ONE, status_code=200)
async def delete_classification(
    call: Call, service: Service, classification_id: FromPath[str]
) -> Response[bytes]:
    """Delete a classification: 204 with no body."""
    return rendered(await service.delete(call, classification_id), _deleted)


@post(ONE + "/cancel", status_code=200)
async def cancel_classification(
    call: Call, service: Service, classification_id: FromPath[str]
) -> Response[bytes]:
    """Cancel a classification; idempotent on finished runs (contracts.md §10 hazard 25)."""
    return rendered(await service.cancel(call, classification_id), _run)


def _run(served: Served, *, status: int = 200, include_output: bool = True) -> Response[bytes]:
    body, notes = retab.response_from_canonical(
        served.run, public_id=served.public_id, include_output=include_output
    )
    return json_response(body, status=status, notes=served.notes + notes, backend=served.backend)


def _page(page: Page) -> Response[bytes]:
    items = [(s.public_id, s.run) for s in page.items]
    body, notes = retab.list_from_canonical(items, before=page.before, after=page.after)
    return json_response(body, notes=notes)


def _deleted(deleted: Deleted) -> Response[bytes]:
    return Response(content=b"", status_code=204, headers={BACKEND_HEADER: deleted.backend})


def _flag(raw: str | None, name: str) -> bool:
    try:
        return retab.flag(raw, name)
    except TranslationError as exc:
        raise translation_error(exc, "retab") from None


router = Router(
    path="/",
    route_handlers=[
        options_handler([PATH, ONE, ONE + "/cancel"], name="retab-options"),
        create_classification,
        get_classification,
        list_classifications,
        delete_classification,
        cancel_classification,
    ],
    dependencies={"call": Provide(provide_retab_call), "service": Provide(provide_retab_service)},
)
