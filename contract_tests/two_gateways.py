"""Gateway A in front of gateway B, both served over loopback HTTP (test_two_gateways*.py).

B is the embedded local default, open access; A has one vendor backend whose `base_url` is B
and holds an upstream key for it. A's connection to B is real HTTP, recorded on the way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import msgspec

from gateway.config import BackendConfig, ExtendBackendConfig, RetabBackendConfig, Secret, Settings
from mappings import extend, ids
from tests.harness import (
    NO_RETRIES,
    Gateway,
    MakeGateway,
    categories,
    corpus,
)

INVOICE = "doc_001.txt"
GATEWAY_KEY = "gw-key-of-a"  # what A's clients present
UPSTREAM_KEY = "sk-a-spends-at-b"  # what A holds for its vendor; B is open, so any key is one
B_MIN_RUN_SECONDS = 0.2  # B's background runs stay cancellable this long


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
    """Gateway A in front of gateway B, and what A sent B."""

    a: Gateway
    b: Gateway
    upstream: RecordingTransport


def chain(make_gateway: MakeGateway, tmp_path: Path, kind: str) -> Chain:
    """B on the local default; A with one backend of `kind` (its name too) pointed at B."""
    b = make_gateway(served=True, min_run_seconds=B_MIN_RUN_SECONDS)
    backend: BackendConfig
    if kind == "extend":
        backend = ExtendBackendConfig(base_url=b.url, api_key_env="B_KEY", poll_interval=0.05)
    else:
        backend = RetabBackendConfig(base_url=b.url, api_key_env="B_KEY", poll_interval=0.05)
    settings = Settings(
        backends={kind: backend},
        default_backend=kind,
        api_keys=(Secret(GATEWAY_KEY),),
        upstream_keys={kind: Secret(UPSTREAM_KEY)},
        store_path=str(tmp_path / "gateway_a.db"),
    )
    upstream = RecordingTransport()
    a = make_gateway(settings, transports={kind: upstream})
    return Chain(a=a, b=b, upstream=upstream)


def label(name: str) -> str:
    """The corpus document's category key (labels.json)."""
    labels = msgspec.json.decode(corpus("labels.json").read_bytes())
    return str(labels[name])


def category_name(name: str) -> str:
    """The corpus document's category name, as Retab clients name it."""
    return next(c["name"] for c in categories() if c["handle_key"] == label(name))


def text_file(name: str = INVOICE) -> dict[str, str]:
    """A corpus document as Extend's `file.text`."""
    return {"text": corpus(name).read_text(encoding="utf-8"), "name": name}


def b_id(surface: str, a_id: str, backend: str) -> str:
    """The id B knows a run by, from the public id A showed for it on a translated surface."""
    decoded = ids.decode(surface, a_id)
    assert decoded.backend == backend, a_id
    return decoded.upstream_id


def b_extend_ids(b: Gateway) -> list[str]:
    """The runs B holds for A's upstream key, as B's Extend surface lists them."""
    listed = b.extend(UPSTREAM_KEY).classify_runs.list(request_options=NO_RETRIES)
    return [r.id for r in listed.data]


def b_retab_ids(b: Gateway) -> list[str]:
    """The runs B holds for A's upstream key, as B's Retab surface lists them."""
    return [c.id for c in b.retab(UPSTREAM_KEY).classifications.list().data]


def json_body(request: httpx.Request) -> Any:
    """The JSON body A sent."""
    assert request.headers["content-type"].startswith("application/json")
    return msgspec.json.decode(request.content)


def assert_spends_upstream_key(request: httpx.Request, *, extend_version: bool) -> None:
    """A authenticated at B with its own upstream key, never its client's gateway key."""
    assert request.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert GATEWAY_KEY not in str(request.headers.raw)
    if extend_version:
        assert request.headers[extend.VERSION_HEADER] == extend.API_VERSION
    else:
        assert extend.VERSION_HEADER not in request.headers
