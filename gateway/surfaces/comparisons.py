"""`GET /crosswalk/comparisons` (JSON) and `GET /crosswalk/report` (one HTML page): the A/B
comparisons recorded for the caller's key, and their report (design.md §8).

Both need a gateway key, presented as either surface accepts one (`Authorization: Bearer` or
`Api-Key`): one of the `[auth]` keys when configured, else any non-empty key (design.md §6).
Each key sees only its own comparisons. A missing or refused key is a 401, an unknown,
repeated or malformed query parameter a 400, both as crosswalk's own JSON error
(`{"code", "message"}`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from litestar import Request, Response, Router, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from gateway.auth import authenticate
from gateway.compare import listing
from gateway.compare.params import listing_query, report_query
from gateway.compare.reports import Reports
from gateway.config import Settings
from gateway.errors import InvalidRequest
from gateway.surfaces.render import json_response

T = TypeVar("T")
AnyRequest = Request[Any, Any, Any]
ReportsDependency = NamedDependency[Reports]
COMPARISONS = "/crosswalk/comparisons"
REPORT = listing.REPORT_PATH
HTML = "text/html"  # Litestar adds "; charset=utf-8"


async def provide_reports(state: State) -> Reports:
    """The app's reports over its ledger (made in the lifespan)."""
    reports: Reports = state.reports
    return reports


@get(COMPARISONS, include_in_schema=False)
async def list_comparisons(request: AnyRequest, reports: ReportsDependency) -> Response[bytes]:
    """A page of the caller's comparisons, oldest first."""
    owner = _owner(request)
    query = _query(request, listing_query)
    page = await reports.page(owner, since=query.since, after=query.after, limit=query.limit)
    return json_response(listing.list_of(page.records, page.next))


@get(REPORT, include_in_schema=False)
async def report_page(request: AnyRequest, reports: ReportsDependency) -> Response[bytes]:
    """The report of the caller's comparisons as one self-contained page."""
    owner = _owner(request)
    query = _query(request, report_query)
    report = await reports.report(owner, since=query.since, backends=query.backends)
    page = await reports.html(report)
    return Response(content=page.encode(), media_type=HTML)


def _owner(request: AnyRequest) -> str:
    settings: Settings = request.app.state.settings
    # Retab's reading of the headers takes both forms the surfaces accept
    return authenticate(request.headers, "retab", settings).owner


def _query(request: AnyRequest, reader: Callable[[list[tuple[str, str]]], T]) -> T:
    try:
        return reader(list(request.query_params.multi_items()))
    except ValueError as exc:
        raise InvalidRequest(str(exc), status=400) from None


router = Router(
    path="/",
    route_handlers=[list_comparisons, report_page],
    dependencies={"reports": Provide(provide_reports)},
)
