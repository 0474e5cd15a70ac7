"""The Extend surface: `/classify` and `/classify_runs*`, answered as Extend's API would
(contracts.md §3, §5).

Served by an Extend backend, a call is relayed byte for byte (gateway/passthrough.py); by any
other backend, it is translated through the canonical model (gateway/runs.py).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, Router, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from gateway.config import Settings
from gateway.passthrough import PassThrough
from gateway.runs import RunService, Served
from gateway.surfaces.context import (
    call_context,
    provide_proxy,
    provide_runs,
    relay_run_call,
    same_vendor,
)
from gateway.surfaces.render import decode_body, json_response, translation_error
from mappings import canonical, extend
from mappings.errors import InvalidInput, UnsupportedFeature
from mappings.notes import Notes

AnyRequest = Request[Any, Any, Any]


RUNS = "/classify_runs"
ONE = RUNS + "/{id}"  # a run's upstream path, formatted by relay_run_call


@post("/classify", status_code=200)
async def classify(
    request: AnyRequest, runs: NamedDependency[RunService], proxy: NamedDependency[PassThrough]
) -> Response[bytes]:
    """Classify a file synchronously."""
    return await _create(request, runs, proxy, "/classify", extend.ClassifyRequest)


@post(RUNS, status_code=200)
async def create_classify_run(
    request: AnyRequest, runs: NamedDependency[RunService], proxy: NamedDependency[PassThrough]
) -> Response[bytes]:
    """Start a classify run; it answers at once while the run is processed."""
    return await _create(request, runs, proxy, RUNS, extend.ClassifyRunCreateRequest)


async def _create(
    request: AnyRequest,
    runs: RunService,
    proxy: PassThrough,
    path: str,
    wire_type: type[extend.ClassifyRequest] | type[extend.ClassifyRunCreateRequest],
) -> Response[bytes]:
    call = call_context(request, "extend")
    body = await request.body()
    background = path == RUNS
    if upstream := same_vendor(runs.route("extend"), "extend"):
        lenient = _lenient(body, wire_type, background=background)
        return await proxy.create(upstream, path, body, call=call, request=lenient)
    wire = decode_body(body, wire_type, dialect="extend")
    classify_request, notes = _translate(wire, background=background)
    served = await runs.create(classify_request, surface="extend", call=call)
    return _run_response(request, served, notes + call.notes.notes)


@get(RUNS + "/{run_id:str}")
async def get_classify_run(
    request: AnyRequest,
    runs: NamedDependency[RunService],
    proxy: NamedDependency[PassThrough],
    run_id: FromPath[str],
) -> Response[bytes]:
    """One classify run."""
    call = call_context(request, "extend")
    if relayed := await relay_run_call(runs, proxy, call, run_id, "GET", ONE):
        return relayed
    served = await runs.get(run_id, surface="extend", call=call)
    return _run_response(request, served, call.notes.notes)


@get(RUNS)
async def list_classify_runs(
    request: AnyRequest, runs: NamedDependency[RunService], proxy: NamedDependency[PassThrough]
) -> Response[bytes]:
    """The caller's classify runs as summaries, newest first unless asked otherwise."""
    call = call_context(request, "extend")
    upstream = same_vendor(runs.route("extend"), "extend")
    if upstream is not None and upstream.upstream.proxies_client_keys:
        # the vendor scopes a pure proxy's listing by the client's own key
        items = list(request.query_params.multi_items())
        return await proxy.list(upstream, RUNS, call=call, query=items)
    params = request.query_params
    try:
        query = extend.list_query_to_canonical(
            status=params.get("status"),
            file_name_contains=params.get("fileNameContains"),
            sort_by=params.get("sortBy"),
            sort_dir=params.get("sortDir"),
            next_page_token=params.get("nextPageToken"),
            max_page_size=params.get("maxPageSize"),
        )
    except InvalidInput as exc:
        raise translation_error(exc, "extend") from None
    page = await runs.list(query, cursor=query.cursor, surface="extend", call=call)
    items = [(s.public_id, s.run) for s in page.items]
    settings: Settings = request.app.state.settings
    body, notes = extend.list_from_canonical(
        items, next_page_token=page.after, dashboard_base=settings.server.public_url
    )
    return json_response(body, notes=notes)


@delete(RUNS + "/{run_id:str}", status_code=200)
async def delete_classify_run(
    request: AnyRequest,
    runs: NamedDependency[RunService],
    proxy: NamedDependency[PassThrough],
    run_id: FromPath[str],
) -> Response[bytes]:
    """Delete a classify run; Extend answers with its id (hazard 24)."""
    call = call_context(request, "extend")
    if relayed := await relay_run_call(runs, proxy, call, run_id, "DELETE", ONE):
        return relayed
    await runs.delete(run_id, surface="extend", call=call)
    backend, _ = runs.locate(run_id, "extend")
    return json_response(extend.delete_response(run_id), backend=backend.name)


@post(RUNS + "/{run_id:str}/cancel", status_code=200)
async def cancel_classify_run(
    request: AnyRequest,
    runs: NamedDependency[RunService],
    proxy: NamedDependency[PassThrough],
    run_id: FromPath[str],
) -> Response[bytes]:
    """Cancel a run still processing; a finished run is an error in Extend (hazard 25)."""
    call = call_context(request, "extend")
    if relayed := await relay_run_call(runs, proxy, call, run_id, "POST", ONE + "/cancel"):
        return relayed
    served = await runs.cancel(run_id, surface="extend", call=call, reject_terminal=True)
    return _run_response(request, served, call.notes.notes)


def _run_response(request: AnyRequest, served: Served, notes: Notes) -> Response[bytes]:
    settings: Settings = request.app.state.settings
    body, out_notes = extend.response_from_canonical(
        served.run,
        public_id=served.public_id,
        dashboard_url=f"{settings.server.public_url}/classify_runs/{served.public_id}",
    )
    return json_response(body, notes=notes + out_notes, backend=served.backend)


def _lenient(
    body: bytes,
    wire_type: type[extend.ClassifyRequest] | type[extend.ClassifyRunCreateRequest],
    *,
    background: bool,
) -> canonical.ClassifyRequest | None:
    """The request for the ledger, if we can read it; the vendor judges it, not crosswalk."""
    try:
        wire = msgspec.json.decode(body, type=wire_type)
        return extend.request_to_canonical(wire, background=background)[0]
    except (msgspec.DecodeError, InvalidInput, UnsupportedFeature):
        return None


def _translate(
    wire: extend.ClassifyRequest | extend.ClassifyRunCreateRequest, *, background: bool
) -> tuple[canonical.ClassifyRequest, Notes]:
    try:
        return extend.request_to_canonical(wire, background=background)
    except (InvalidInput, UnsupportedFeature) as exc:
        raise translation_error(exc, "extend") from None


router = Router(
    path="/",
    route_handlers=[
        classify,
        create_classify_run,
        get_classify_run,
        list_classify_runs,
        delete_classify_run,
        cancel_classify_run,
    ],
    dependencies={"runs": Provide(provide_runs), "proxy": Provide(provide_proxy)},
)
