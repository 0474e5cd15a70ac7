"""Gateway A in front of gateway B over real HTTP (test_two_gateways.py).

B is the embedded local default, open access, served on a loopback port; A (in-process) has one
vendor backend whose `base_url` is B and holds an upstream key for it. A's connection to B is
real HTTP, recorded on the way. A client of A whose dialect is the backend's kind is passed
through; the other dialect is translated.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from extend_ai import Extend
from extend_ai.errors import NotFoundError as ExtendNotFound
from retab import Retab
from retab.exceptions import NotFoundError as RetabNotFound

from gateway.config import LocalBackendConfig
from mappings import extend, ids
from mappings.dialects import Dialect
from tests.harness import (
    NO_RETRIES,
    SLOW_RUN_SECONDS,
    Gateway,
    MakeGateway,
    ServedGateway,
    local_settings,
    vendor_backend,
    vendor_settings,
)

INVOICE = "doc_001.txt"
GATEWAY_KEY = "gw-key-of-a"  # what A's clients present
RUNS = {"extend": "/classify_runs", "retab": "/v1/classifications"}  # each dialect's runs


class RecordingTransport(httpx.AsyncBaseTransport):
    """A's real HTTP connection to B, remembering each request A sent."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        """Every request A sent B with this method and path."""
        return [r for r in self.requests if r.method == method and r.url.path == path]

    def last(self, method: str, path: str) -> httpx.Request:
        """The last request A sent B with this method and path."""
        sent = self.sent(method, path)
        assert sent, f"A never sent {method} {path}; it sent {self.paths()}"
        return sent[-1]

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


class Chain(msgspec.Struct, frozen=True, kw_only=True):
    """Gateway A in front of gateway B, and what A sent B. `kind` is A's backend: the dialect
    A speaks to B."""

    kind: str
    a: Gateway
    b: Gateway
    upstream_key: str  # what A holds for its vendor; B is open, so any key is one
    upstream: RecordingTransport

    def b_extend(self) -> Extend:
        """Extend's SDK on B, with A's upstream key: it sees what A made there."""
        return self.b.extend(self.upstream_key)

    def b_retab(self) -> Retab:
        """Retab's SDK on B, with A's upstream key: it sees what A made there."""
        return self.b.retab(self.upstream_key)

    def relays(self, surface: Dialect) -> bool:
        """Whether A passes `surface` clients through to B (same dialect) or translates."""
        return surface == self.kind

    def upstream_id(self, surface: Dialect, a_id: str) -> str:
        """The id B knows a run by, from the public id A showed a `surface` client."""
        if self.relays(surface):
            return a_id
        decoded = ids.decode(surface, a_id)
        assert decoded.backend == self.kind, a_id
        return decoded.upstream_id

    def b_run(self, upstream_id: str) -> str:
        """B's path of one run, in the dialect A speaks to B."""
        return f"{RUNS[self.kind]}/{upstream_id}"

    def b_ids(self) -> list[str]:
        """The runs B holds for A's upstream key, as B lists them in A's backend dialect."""
        if self.kind == "extend":
            listed = self.b_extend().classify_runs.list(request_options=NO_RETRIES)
            return [r.id for r in listed.data]
        return [c.id for c in self.b_retab().classifications.list().data]

    def b_status(self, upstream_id: str) -> str:
        """The run's status at B, as B states it in A's backend dialect."""
        if self.kind == "extend":
            return str(self.b_extend().classify_runs.retrieve(upstream_id).status)
        status = self.b_retab().classifications.get(upstream_id).status
        assert status is not None
        return str(status.value)

    def assert_gone_at_b(self, upstream_id: str) -> None:
        """B answers its not-found for the run."""
        if self.kind == "extend":
            with pytest.raises(ExtendNotFound):
                self.b_extend().classify_runs.retrieve(upstream_id, request_options=NO_RETRIES)
        else:
            with pytest.raises(RetabNotFound):
                self.b_retab().classifications.get(upstream_id)

    def assert_spends_upstream_key(self, request: httpx.Request) -> None:
        """A authenticated at B with its own upstream key, never its client's gateway key."""
        assert request.headers["authorization"] == f"Bearer {self.upstream_key}"
        assert GATEWAY_KEY not in str(request.headers.raw)
        if self.kind == "extend":
            assert request.headers[extend.VERSION_HEADER] == extend.API_VERSION
        else:
            assert extend.VERSION_HEADER not in request.headers


@contextmanager
def served_b(tmp_path: Path, *, slow: bool = False) -> Iterator[Gateway]:
    """B: the local default on a loopback port, its runs `slow` to finish if asked. Many
    chains may share one B, each A with its own upstream key, so none sees another's runs."""
    local = LocalBackendConfig(min_run_seconds=SLOW_RUN_SECONDS if slow else 0.0)
    with ServedGateway(local_settings(tmp_path, local)) as b:
        yield b


def chain(make_gateway: MakeGateway, tmp_path: Path, b: Gateway, kind: str) -> Chain:
    """A with one backend of `kind` (its name too) pointed at `b`, with a key of its own."""
    upstream_key = f"sk-a-spends-at-b-{secrets.token_hex(4)}"
    settings = vendor_settings(
        tmp_path,
        {kind: vendor_backend(kind, b.url, api_key_env="B_KEY", poll_interval=0.05)},
        default=kind,
        api_keys=(GATEWAY_KEY,),
        upstream_keys={kind: upstream_key},
        db="gateway_a.db",
    )
    upstream = RecordingTransport()
    a = make_gateway(settings, transports={kind: upstream})
    return Chain(kind=kind, a=a, b=b, upstream_key=upstream_key, upstream=upstream)


def json_body(request: httpx.Request) -> Any:
    """The JSON body A sent."""
    assert request.headers["content-type"].startswith("application/json")
    return msgspec.json.decode(request.content)
