"""`OPTIONS` on a surface's paths: 204 with an `Allow` naming every method the path serves.

Litestar makes its automatic OPTIONS handler from the first handler registered on a path and
keeps it when more handlers join that path, so its `Allow` misses methods (GET on
`/v1/classifications`, DELETE on `/classify_runs/{id}`). This handler reads the finished
route table instead, so it is right whatever order handlers are registered in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Request, Response, route
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

AnyRequest = Request[Any, Any, Any]


def options_handler(paths: Sequence[str], *, name: str) -> HTTPRouteHandler:
    """One OPTIONS handler for `paths`; register it first on its router, so Litestar never
    makes its own for them. Needs no key: a browser's CORS preflight sends none."""

    @route(list(paths), http_method=[HttpMethod.OPTIONS], include_in_schema=False, name=name)
    async def allowed_methods(request: AnyRequest) -> Response[None]:
        template = request.scope["path_template"]
        methods = {
            method
            for served in request.app.routes
            if isinstance(served, HTTPRoute) and served.path_format == template
            for method in served.methods
        }
        allow = ", ".join(sorted(methods))
        return Response(content=None, status_code=204, headers={"allow": allow})

    return allowed_methods
