"""Who a call is for: the `CallContext` every service and backend call carries, and the
Litestar dependency that builds it for each surface (authentication, the dialect's headers)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import State

from gateway.auth import Principal, authenticate
from gateway.config import Settings
from gateway.errors import InvalidRequest
from gateway.middleware import request_id_of
from mappings import extend
from mappings.dialects import Dialect
from mappings.notes import NoteTaker


class CallContext(msgspec.Struct, frozen=True, kw_only=True):
    """What a backend may need to know about the client request it serves.

    `surface` is the dialect the client speaks; `forward` the client headers a same-vendor
    upstream must see (Extend's workspace id); `notes` collects what the backend's own
    translations synthesized or dropped, for the `crosswalk-translation` header.
    """

    request_id: str
    principal: Principal
    surface: Dialect
    forward: dict[str, str] = msgspec.field(default_factory=dict)
    notes: NoteTaker = msgspec.field(default_factory=NoteTaker)


def call_context(request: Request[Any, Any, Any], dialect: Dialect) -> CallContext:
    """Authenticate the caller and check the dialect's required headers."""
    settings: Settings = request.app.state.settings
    principal = authenticate(request.headers, dialect, settings)
    forward: dict[str, str] = {}
    if dialect == "extend":
        _check_extend_version(request.headers.get(extend.VERSION_HEADER))
        forward = extend.forwarded_headers(request.headers)
    return CallContext(
        request_id=request_id_of(request.scope),
        principal=principal,
        surface=dialect,
        forward=forward,
    )


def _check_extend_version(version: str | None) -> None:
    # Extend itself answers a missing header with a 400 too (contracts.md §3); other versions
    # use other shapes (legacy processor_runs): hazard 28
    if version is not None and extend.api_version_supported(version):
        return
    given = f"{version!r} is not supported" if version else "is missing"
    raise InvalidRequest(
        f"The {extend.VERSION_HEADER} header {given}; this API serves {extend.API_VERSION}.",
        status=400,
    )


async def provide_retab_call(request: Request[Any, Any, Any]) -> CallContext:
    """The call context of a Retab-surface request."""
    return call_context(request, "retab")


async def provide_extend_call(request: Request[Any, Any, Any]) -> CallContext:
    """The call context of an Extend-surface request."""
    return call_context(request, "extend")


async def provide_settings(state: State) -> Settings:
    """The app's resolved settings."""
    settings: Settings = state.settings
    return settings
