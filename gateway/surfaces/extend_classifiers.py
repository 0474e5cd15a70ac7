"""The Extend surface's saved classifiers: `GET /classifiers` and `GET /classifiers/{id}`,
answered as Extend's API would (contracts.md §5.3) from the catalog (gateway/classifiers)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from gateway.classifiers import Catalog, provide_catalog
from gateway.context import CallContext, provide_extend_call
from gateway.surfaces.options import options_handler
from gateway.surfaces.render import json_response, rendered
from mappings import extend

AnyRequest = Request[Any, Any, Any]
Classifiers = NamedDependency[Catalog]
Call = NamedDependency[CallContext]

LIST = "/classifiers"
ONE = LIST + "/{classifier_id:str}"


@get(LIST)
async def list_classifiers(
    request: AnyRequest, call: Call, catalog: Classifiers
) -> Response[bytes]:
    """Summaries of the saved classifiers: the config's, then an Extend backend's."""
    return rendered(await catalog.list(request.query_params, call=call), _json)


@get(ONE)
async def get_classifier(
    call: Call, catalog: Classifiers, classifier_id: FromPath[str]
) -> Response[bytes]:
    """One saved classifier with its draft version."""
    return rendered(await catalog.get(classifier_id, call=call), _json)


def _json(body: extend.Classifier | extend.ClassifierList) -> Response[bytes]:
    return json_response(body)


router = Router(
    path="/",
    route_handlers=[
        options_handler([LIST, ONE], name="extend-classifiers-options"),
        list_classifiers,
        get_classifier,
    ],
    dependencies={
        "call": Provide(provide_extend_call),
        "catalog": Provide(provide_catalog),
    },
)
