"""What every surface handler needs first: who is calling, and the shared run service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from litestar import Request, Response
from litestar.datastructures import State

from gateway.auth import authenticate
from gateway.backends.base import Backend, CallContext, Forwarding
from gateway.config import Settings
from gateway.dialects import Dialect
from gateway.errors import InvalidRequest
from gateway.middleware import request_id_of
from gateway.passthrough import PassThrough
from gateway.runs import RunService
from mappings import extend


def call_context(request: Request[Any, Any, Any], dialect: Dialect) -> CallContext:
    """Authenticate the caller and check the dialect's required headers."""
    settings: Settings = request.app.state.settings
    principal = authenticate(request.headers, dialect, settings)
    if dialect == "extend":
        version = request.headers.get(extend.VERSION_HEADER)
        # Extend itself answers a missing header with a 400 too (contracts.md §3)
        if version is None or not extend.api_version_supported(version):
            # other versions use other shapes (legacy processor_runs): hazard 28
            given = f"{version!r} is not supported" if version else "is missing"
            raise InvalidRequest(
                f"The {extend.VERSION_HEADER} header {given}; "
                f"this API serves {extend.API_VERSION}.",
                status=400,
            )
    return CallContext(
        request_id=request_id_of(request.scope),
        principal=principal,
        surface=dialect,
        forward=extend.forwarded_headers(request.headers) if dialect == "extend" else {},
    )


def same_vendor(backend: Backend, surface: Dialect) -> Forwarding | None:
    """The backend as a pass-through when it speaks the surface's own dialect (design.md §4)."""
    if backend.dialect != surface:
        return None
    return cast(Forwarding, backend)  # only vendor backends have a dialect


async def relay_run_call(
    runs: RunService,
    proxy: PassThrough,
    call: CallContext,
    public_id: str,
    method: str,
    path: str,
    query: Sequence[tuple[str, str]] = (),
) -> Response[bytes] | None:
    """The vendor's own answer when the run belongs to a backend of the caller's vendor;
    None when the surface must translate. `path` has an `{id}` for the run's upstream id."""
    dialect: Dialect = "retab" if call.surface == "retab" else "extend"
    backend, upstream_id = runs.locate(public_id, dialect)
    upstream = same_vendor(backend, dialect)
    if upstream is None:
        return None
    where = path.format(id=upstream_id)
    return await proxy.call(upstream, method, where, upstream_id, call=call, query=query)


async def provide_proxy(state: State) -> PassThrough:
    """The app's same-vendor pass-through (made in the lifespan)."""
    proxy: PassThrough = state.proxy
    return proxy


async def provide_runs(state: State) -> RunService:
    """The app's run service (made in the lifespan)."""
    runs: RunService = state.runs
    return runs
