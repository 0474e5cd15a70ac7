"""The Retab surface: `/v1/classifications*`, answered as Retab's API would (contracts.md §2).

Served by a Retab backend, a call is relayed byte for byte (gateway/passthrough.py); by any
other backend, it is translated through the canonical model (gateway/runs.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response, Router, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from gateway.errors import InvalidRequest
from gateway.passthrough import PassThrough
from gateway.runs import RunService, Served
from gateway.surfaces.context import (
    call_context,
    provide_proxy,
    provide_runs,
    relay_run_call,
    same_vendor,
)
from gateway.surfaces.render import (
    BACKEND_HEADER,
    decode_body,
    json_response,
    translation_error,
)
from mappings import canonical, retab
from mappings.errors import InvalidInput, UnsupportedFeature
from mappings.notes import Notes

T = TypeVar("T")
AnyRequest = Request[Any, Any, Any]
MAX_LIMIT = 100


PATH = "/v1/classifications"
ONE = PATH + "/{id}"  # a run's upstream path, formatted by relay_run_call


@post(PATH, status_code=201)
async def create_classification(
    request: AnyRequest, runs: NamedDependency[RunService], proxy: NamedDependency[PassThrough]
) -> Response[bytes]:
    """Classify a document; `background: true` answers at once with a queued run."""
    call = call_context(request, "retab")
    body = await request.body()
    if upstream := same_vendor(runs.route("retab"), "retab"):
        return await proxy.create(upstream, PATH, body, call=call, request=_lenient(body))
    wire = decode_body(body, retab.ClassificationRequest, dialect="retab")
    classify, notes = _translate(retab.request_to_canonical, wire)
    served = await runs.create(classify, surface="retab", call=call)
    return _run_response(served, notes + call.notes.notes, status=201)


@get(PATH + "/{classification_id:str}")
async def get_classification(
    request: AnyRequest,
    runs: NamedDependency[RunService],
    proxy: NamedDependency[PassThrough],
    classification_id: FromPath[str],
) -> Response[bytes]:
    """One classification; `include_output=false` leaves the output out."""
    call = call_context(request, "retab")
    include_output = _flag(request.query_params.get("include_output"), "include_output")
    query = list(request.query_params.multi_items())
    if relayed := await relay_run_call(runs, proxy, call, classification_id, "GET", ONE, query):
        return relayed
    served = await runs.get(classification_id, surface="retab", call=call)
    return _run_response(served, call.notes.notes, include_output=include_output)


@get(PATH)
async def list_classifications(
    request: AnyRequest, runs: NamedDependency[RunService], proxy: NamedDependency[PassThrough]
) -> Response[bytes]:
    """The caller's classifications, paged by id cursors (contracts.md §2.3)."""
    call = call_context(request, "retab")
    upstream = same_vendor(runs.route("retab"), "retab")
    if upstream is not None and upstream.upstream.proxies_client_keys:
        # the vendor scopes a pure proxy's listing by the client's own key
        params = list(request.query_params.multi_items())
        return await proxy.list(upstream, PATH, call=call, query=params)
    query, cursor = list_query(request.query_params)
    page = await runs.list(query, cursor=cursor, surface="retab", call=call)
    items = [(s.public_id, s.run) for s in page.items]
    body, notes = retab.list_from_canonical(items, before=page.before, after=page.after)
    return json_response(body, notes=notes)


# the decorator's status is only the default: both paths answer 204 themselves, and a
# handler declared 204 may not return a body (the relayed one of an upstream error)
@delete(PATH + "/{classification_id:str}", status_code=200)
async def delete_classification(
    request: AnyRequest,
    runs: NamedDependency[RunService],
    proxy: NamedDependency[PassThrough],
    classification_id: FromPath[str],
) -> Response[bytes]:
    """Delete a classification: 204 with no body."""
    call = call_context(request, "retab")
    if relayed := await relay_run_call(runs, proxy, call, classification_id, "DELETE", ONE):
        return relayed
    await runs.delete(classification_id, surface="retab", call=call)
    backend, _ = runs.locate(classification_id, "retab")
    return Response(content=b"", status_code=204, headers={BACKEND_HEADER: backend.name})


@post(PATH + "/{classification_id:str}/cancel", status_code=200)
async def cancel_classification(
    request: AnyRequest,
    runs: NamedDependency[RunService],
    proxy: NamedDependency[PassThrough],
    classification_id: FromPath[str],
) -> Response[bytes]:
    """Cancel a classification; idempotent on finished runs (contracts.md §10 hazard 25)."""
    call = call_context(request, "retab")
    cancel = ONE + "/cancel"
    if relayed := await relay_run_call(runs, proxy, call, classification_id, "POST", cancel):
        return relayed
    served = await runs.cancel(classification_id, surface="retab", call=call, reject_terminal=False)
    return _run_response(served, call.notes.notes)


def _run_response(
    served: Served, notes: Notes, *, status: int = 200, include_output: bool = True
) -> Response[bytes]:
    body, out_notes = retab.response_from_canonical(
        served.run, public_id=served.public_id, include_output=include_output
    )
    return json_response(body, status=status, notes=notes + out_notes, backend=served.backend)


def _lenient(body: bytes) -> canonical.ClassifyRequest | None:
    """The request for the ledger, if we can read it; the vendor judges it, not crosswalk."""
    try:
        return retab.request_to_canonical(retab.request_decoder.decode(body))[0]
    except (msgspec.DecodeError, InvalidInput, UnsupportedFeature):
        return None


def _translate(
    fn: Callable[[T], tuple[canonical.ClassifyRequest, Notes]], wire: T
) -> tuple[canonical.ClassifyRequest, Notes]:
    try:
        return fn(wire)
    except (InvalidInput, UnsupportedFeature) as exc:
        raise translation_error(exc, "retab") from None


def list_query(params: Any) -> tuple[canonical.ListQuery, str | None]:
    """Retab's list parameters as a canonical query and a cursor (public id) to page from."""
    before, after = params.get("before"), params.get("after")
    if before and after:
        raise InvalidRequest("`before` and `after` cannot be combined.", status=400)
    order = params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise _invalid_param("order", "Input should be 'asc' or 'desc'", order)
    status = params.get("status")
    if status is not None and status not in retab.STATUS_TO_CANONICAL:
        raise _invalid_param(
            "status", f"Input should be one of {', '.join(retab.STATUS_TO_CANONICAL)}", status
        )
    query = canonical.ListQuery(
        limit=_limit(params.get("limit")),
        order=order,
        direction="before" if before else "after",
        filename=params.get("filename") or None,
        status=retab.STATUS_TO_CANONICAL[status] if status else None,
        created_from=_date(params.get("from_date"), "from_date", end=False),
        created_to=_date(params.get("to_date"), "to_date", end=True),
    )
    return query, before or after or None


def _limit(raw: str | None) -> int:
    if raw is None:
        return 10
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise _invalid_param("limit", f"Input should be an integer from 1 to {MAX_LIMIT}", raw)
    return int(raw)


def _date(raw: str | None, name: str, *, end: bool) -> datetime | None:
    """`YYYY-MM-DD` (a whole day, inclusive) or an ISO datetime; otherwise a 400."""
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime.combine(day, time.min, tzinfo=UTC)
            return moment + timedelta(days=1, microseconds=-1) if end else moment
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(
            f"Invalid {name} {raw!r}: expected a date as YYYY-MM-DD or an ISO 8601 datetime.",
            status=400,
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _flag(raw: str | None, name: str) -> bool:
    if raw is None or raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise _invalid_param(name, "Input should be a valid boolean", raw)


def _invalid_param(name: str, message: str, value: str) -> InvalidRequest:
    field = canonical.FieldProblem(loc=("query", name), message=message, type="value_error")
    return InvalidRequest(f"{name}: {message}", status=422, fields=(field,))


router = Router(
    path="/",
    route_handlers=[
        create_classification,
        get_classification,
        list_classifications,
        delete_classification,
        cancel_classification,
    ],
    dependencies={"runs": Provide(provide_runs), "proxy": Provide(provide_proxy)},
)
