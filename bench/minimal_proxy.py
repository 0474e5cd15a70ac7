"""The least a Python proxy can do, for `bench.overhead` to measure crosswalk beside it.

One Litestar catch-all route forwards each request's method, path, query, headers and body
to the upstream through one shared `httpx.AsyncClient`, and the answer's status, headers and
bytes back: no auth, no ledger, no translation, no logging. It is served the way
`crosswalk serve` serves the gateway, with the uvicorn options of `gateway.serving` on a
socket bound by `gateway.serving.bind`, so the two stay on the same server stack; its
upstream pool is sized like crosswalk's default (`max_connections` 100, all kept alive).

    python -m bench.minimal_proxy --upstream http://127.0.0.1:8100 [--port 8200] [--workers 1]
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from litestar import Litestar, Request, Response, route
from litestar.enums import HttpMethod
from uvicorn.supervisors.multiprocess import Multiprocess

from gateway import serving

UPSTREAM_ENV = "BENCH_PROXY_UPSTREAM"  # hands the upstream to each `--workers` process
MAX_CONNECTIONS = 100  # crosswalk's `max_connections` default
# a proxy forwards end-to-end headers only (RFC 9110 §7.6.1); httpx sets its own length
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


def create_proxy(upstream: str) -> Litestar:
    """A Litestar app forwarding every request to `upstream`."""
    clients: list[httpx.AsyncClient] = []

    @asynccontextmanager
    async def pooled(_: Litestar) -> AsyncIterator[None]:
        limits = httpx.Limits(
            max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
        )
        async with httpx.AsyncClient(base_url=upstream, limits=limits, timeout=60.0) as client:
            clients.append(client)
            yield

    methods: list[HttpMethod] = [HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT, HttpMethod.DELETE]

    @route("/{path:path}", http_method=methods)
    async def forward(request: Request[Any, Any, Any], path: str) -> Response[bytes]:
        headers = [(k, v) for k, v in request.headers.items() if k not in HOP_BY_HOP]
        query = request.url.query
        answer = await clients[0].request(
            request.method,
            f"{path}?{query}" if query else path,
            headers=headers,
            content=await request.body(),
        )
        back = {k: v for k, v in answer.headers.items() if k not in HOP_BY_HOP}
        return Response(answer.content, status_code=answer.status_code, headers=back)

    return Litestar(
        route_handlers=[forward], lifespan=[pooled], openapi_config=None, logging_config=None
    )


def app_from_environment() -> Litestar:
    """App factory of each `--workers` process."""
    return create_proxy(os.environ[UPSTREAM_ENV])


def serve(upstream: str, host: str, port: int, workers: int) -> None:
    """Serve until SIGTERM or Ctrl-C, in one process or `workers`."""
    with serving.bind(host, port) as sock:
        options = serving.uvicorn_options(*sock.getsockname()[:2])
        if workers == 1:
            config = uvicorn.Config(create_proxy(upstream), **options, lifespan="on")
            uvicorn.Server(config).run(sockets=[sock])
            return
        os.environ[UPSTREAM_ENV] = upstream
        factory = "bench.minimal_proxy:app_from_environment"
        config = uvicorn.Config(factory, factory=True, workers=workers, **options)
        Multiprocess(config, sockets=[sock]).run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="base URL requests are forwarded to")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    serve(args.upstream, args.host, args.port, args.workers)


if __name__ == "__main__":
    main()
