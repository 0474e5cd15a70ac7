"""`POST /crosswalk/webhooks/extend`: where an operator points Extend's own webhook.

No gateway key: the delivery's Extend signature is its credential (`gateway.webhooks.relay`
checks it and takes the event in). A refused delivery is a 401 with a JSON error, and nothing
is recorded; a genuine one is answered 200 as soon as it is recorded.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from gateway.surfaces.render import json_response
from gateway.webhooks.relay import Relay

AnyRequest = Request[Any, Any, Any]
RelayDependency = NamedDependency[Relay]
PATH = "/crosswalk/webhooks/extend"


async def provide_relay(state: State) -> Relay:
    """The app's relay of Extend's events (made in the lifespan)."""
    relay: Relay = state.relay
    return relay


@post(PATH, status_code=200, include_in_schema=False)
async def take_extend_event(request: AnyRequest, relay: RelayDependency) -> Response[bytes]:
    """Take in one of Extend's webhook deliveries."""
    await relay.take(await request.body(), request.headers)
    return json_response({"received": True})


router = Router(
    path="/",
    route_handlers=[take_extend_event],
    dependencies={"relay": Provide(provide_relay)},
)
