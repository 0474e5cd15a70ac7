"""Errors an ASGI middleware answers itself before any route handler runs (a per-key limit,
a refused Idempotency-Key): rendered in the caller's dialect as a handler's error would be,
and sent from inside the middleware stack, so the request's log line records them."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.types import Receive, Scope, Send

from gateway.errors import CrosswalkError
from gateway.surfaces.render import error_response


async def answer_error(scope: Scope, receive: Receive, send: Send, error: CrosswalkError) -> None:
    """Send `error` as the response to the request of `scope`."""
    request: Request[Any, Any, Any] = Request(scope, receive)
    response = error_response(request, error)
    await response.to_asgi_response(app=None, request=request)(scope, receive, send)
