"""The Litestar providers of each surface's dialect service (made in the app's lifespan)."""

from __future__ import annotations

from litestar.datastructures import State

from gateway.service import DialectService


async def provide_retab_service(state: State) -> DialectService:
    """The Retab surface's service."""
    service: DialectService = state.services["retab"]
    return service


async def provide_extend_service(state: State) -> DialectService:
    """The Extend surface's service."""
    service: DialectService = state.services["extend"]
    return service
