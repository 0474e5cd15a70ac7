"""Where every test gets its settings, gateway and clients: one place that builds apps.

A gateway runs in-process (Litestar's TestClient runs the app and its lifespan) unless a test
needs it behind a real socket: a chained gateway's upstream, or a snippet that dials a URL.
Uses only gateway.app.create_app and gateway.config; no gateway internals.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import msgspec
import pytest
import respx
import uvicorn
from extend_ai import Extend
from litestar.testing import TestClient
from litestar.testing.transport import TestClientTransport
from retab import Retab

from gateway.app import create_app
from gateway.cli import uvicorn_options
from gateway.clock import Clock, system_clock
from gateway.config import (
    BackendConfig,
    ExtendBackendConfig,
    LocalBackendConfig,
    RetabBackendConfig,
    Secret,
    Settings,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"
WIRE = FIXTURES / "wire"
URLS = {"retab": "https://api.retab.test", "extend": "https://api.extend.test"}
NO_RETRIES: dict[str, Any] = {"max_retries": 0}
GATEWAY_KEY = "gw-key"  # what clients present to a gateway in front of mocked vendors
SLOW_RUN_SECONDS = 2.0  # long enough for a cancel to find a local run unfinished, under load
IN_PROCESS_URL = "http://crosswalk.test"

Transports = Mapping[str, httpx.AsyncBaseTransport]
# every key the harness was handed, client or upstream: none may be logged (tests/secret_watch.py)
known_keys: set[str] = set()


def wire(name: str) -> bytes:
    """A wire example from fixtures/wire, as bytes."""
    return (WIRE / name).read_bytes()


def wire_json(name: str) -> Any:
    """A wire example from fixtures/wire, decoded."""
    return msgspec.json.decode(wire(name))


def secret_keys(*keys: str) -> tuple[Secret, ...]:
    known_keys.update(keys)
    return tuple(Secret(k) for k in keys)


def local_settings(
    tmp_path: Path,
    local: LocalBackendConfig | None = None,
    *,
    api_keys: tuple[str, ...] = (),
    **settings: Any,
) -> Settings:
    """The embedded default with its ledger under `tmp_path`; `local` overrides its options."""
    return Settings(
        backends={"local": local or LocalBackendConfig()},
        default_backend="local",
        api_keys=secret_keys(*api_keys),
        store_path=str(tmp_path / "crosswalk.db"),
        **settings,
    )


def vendor_backend(kind: str, base_url: str | None = None, **options: Any) -> BackendConfig:
    """A `retab` or `extend` backend at `base_url` (the mocked vendor's URL by default)."""
    config = RetabBackendConfig if kind == "retab" else ExtendBackendConfig
    return config(base_url=base_url or URLS[kind], **options)


def vendor_settings(
    tmp_path: Path,
    backends: Mapping[str, BackendConfig],
    *,
    default: str,
    api_keys: tuple[str, ...] = (),
    upstream_keys: Mapping[str, str] | None = None,
    db: str = "crosswalk.db",
    **settings: Any,
) -> Settings:
    """Settings over vendor backends, with gateway keys and the upstream keys crosswalk holds."""
    known_keys.update((upstream_keys or {}).values())
    return Settings(
        backends=dict(backends),
        default_backend=default,
        api_keys=secret_keys(*api_keys),
        upstream_keys={name: Secret(key) for name, key in (upstream_keys or {}).items()},
        store_path=str(tmp_path / db),
        **settings,
    )


def mocked_vendors_settings(
    tmp_path: Path,
    names: Iterable[str],
    *,
    default: str,
    api_keys: tuple[str, ...] = (GATEWAY_KEY,),
    **settings: Any,
) -> Settings:
    """One backend per named vendor (`retab`, `extend`) at its mocked URL, each holding the
    upstream key `sk-<vendor>`; clients present `api_keys`."""
    names = list(names)
    return vendor_settings(
        tmp_path,
        {name: vendor_backend(name, api_key_env=f"{name.upper()}_API_KEY") for name in names},
        default=default,
        api_keys=api_keys,
        upstream_keys={name: f"sk-{name}" for name in names},
        **settings,
    )


def mocked(routers: Mapping[str, respx.MockRouter]) -> dict[str, httpx.AsyncBaseTransport]:
    """Transports that send each backend's upstream calls to its respx router."""
    return {name: httpx.MockTransport(router.async_handler) for name, router in routers.items()}


def app_client(
    settings: Settings, transports: Transports | None = None, *, clock: Clock = system_clock
) -> TestClient[Any]:
    """A test client of a fresh app; enter it to run the lifespan."""
    return TestClient(app=create_app(settings, transports=transports, clock=clock))


@contextmanager
def running(
    settings: Settings, transports: Transports | None = None, *, clock: Clock = system_clock
) -> Iterator[TestClient[Any]]:
    """A started app (lifespan running) and its test client."""
    with app_client(settings, transports, clock=clock) as client:
        yield client


def retab_error(response: httpx.Response, status: int) -> Any:
    """The detail of an error in Retab's FastAPI envelope (`{"detail": ...}`, `x-request-id`)."""
    assert response.status_code == status, response.text
    assert response.headers["x-request-id"].startswith("req_")
    body = response.json()
    assert set(body) == {"detail"}
    return body["detail"]


def extend_error(response: httpx.Response, status: int) -> Any:
    """Extend's envelope: `code`, `message`, `retryable` and this request's `requestId`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert {"code", "message", "retryable", "requestId"} <= set(body)
    assert body["requestId"] == response.headers["x-request-id"]
    return body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(predicate: Callable[[], bool], *, timeout: float = 20.0) -> None:
    """Poll `predicate` until it holds, or fail the test."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.02)


class Gateway:
    """A started gateway that hands out HTTP clients and SDKs; all are closed when it stops."""

    url: str
    settings: Settings

    def __init__(self) -> None:
        self._clients: list[httpx.Client] = []

    def _http_client(self, headers: dict[str, str]) -> httpx.Client:
        raise NotImplementedError

    def track(self, client: httpx.Client) -> httpx.Client:
        """Close `client` when the gateway stops, so no test leaks a socket."""
        self._clients.append(client)
        return client

    def http(self, key: str | None = "key-a") -> httpx.Client:
        """A plain HTTP client, for what the SDKs do not expose (status codes, headers)."""
        headers = {"authorization": f"Bearer {key}"} if key else {}
        known_keys.update([key] if key else [])
        return self.track(self._http_client(headers))

    def retab(self, key: str = "key-a") -> Retab:
        """The official Retab SDK, unchanged but for its base URL, retries off."""
        known_keys.add(key)
        sdk = Retab(api_key=key, base_url=self.url, max_retries=0)
        # Retab's SDK builds its own httpx.Client (`sdk.client`); ours reaches this gateway
        sdk.client.close()
        sdk.client = self.http(None)
        return sdk

    def extend(self, key: str = "key-a") -> Extend:
        """The official Extend SDK, unchanged but for its base URL and HTTP client."""
        known_keys.add(key)
        return Extend(token=key, base_url=self.url, httpx_client=self.http(None))

    def close_clients(self) -> None:
        for client in self._clients:
            client.close()


class _InProcessTransport(httpx.BaseTransport):
    """Requests handled by a started TestClient's app, in its event loop (no socket)."""

    def __init__(self, client: TestClient[Any]) -> None:
        self._inner = TestClientTransport(client=client, raise_server_exceptions=True)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)


class InProcessGateway(Gateway):
    """`create_app(settings)` run by Litestar's TestClient: no socket, lifespan running."""

    def __init__(self, settings: Settings, transports: Transports | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.url = IN_PROCESS_URL
        self.client = app_client(settings, transports)

    def _http_client(self, headers: dict[str, str]) -> httpx.Client:
        transport = _InProcessTransport(self.client)
        return httpx.Client(base_url=self.url, headers=headers, transport=transport)

    def __enter__(self) -> InProcessGateway:
        self.client.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_clients()
        self.client.__exit__(*exc)


class ServedGateway(Gateway):
    """`create_app(settings)` served by uvicorn on a loopback port, in a thread."""

    def __init__(
        self, settings: Settings, transports: Transports | None = None, *, port: int | None = None
    ) -> None:
        super().__init__()
        self.settings = settings
        self.url = f"http://127.0.0.1:{port or free_port()}"
        config = uvicorn.Config(
            create_app(settings, transports=transports),
            **uvicorn_options("127.0.0.1", int(self.url.rsplit(":", 1)[1])),
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    def _http_client(self, headers: dict[str, str]) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def __enter__(self) -> ServedGateway:
        self._thread.start()
        wait_until(lambda: self.server.started or not self._thread.is_alive(), timeout=15)
        if not self.server.started:
            raise RuntimeError("the gateway did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_clients()
        self.server.should_exit = True
        self._thread.join(timeout=15)


G = TypeVar("G", InProcessGateway, ServedGateway)


class MakeGateway:
    """Starts gateways for one test and stops them all at its end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self._started: list[InProcessGateway | ServedGateway] = []

    def __call__(
        self,
        settings: Settings | None = None,
        transports: Transports | None = None,
        *,
        served: bool = False,
        port: int | None = None,
        **local: Any,
    ) -> Gateway:
        """A started gateway: in-process, or `served` on a loopback port (`port`, or a free
        one) for real HTTP. Without settings, the embedded local default with `local` options."""
        settings = settings or local_settings(self.tmp_path, LocalBackendConfig(**local))
        if served:
            return self._start(ServedGateway(settings, transports, port=port))
        return self._start(InProcessGateway(settings, transports))

    def _start(self, gateway: G) -> G:
        gateway.__enter__()
        self._started.append(gateway)
        return gateway

    def client(self, settings: Settings, transports: Transports | None = None) -> TestClient[Any]:
        """The test client of a started in-process gateway."""
        return self._start(InProcessGateway(settings, transports)).client

    def mocked_client(
        self, routers: Mapping[str, respx.MockRouter], *, default: str, **settings: Any
    ) -> TestClient[Any]:
        """The test client of a gateway whose backends are the vendors in `routers`, mocked by
        respx: each holds the key `sk-<vendor>`; clients present `gw-key`."""
        built = mocked_vendors_settings(self.tmp_path, routers, default=default, **settings)
        return self.client(built, mocked(routers))

    def stop_all(self) -> None:
        for gateway in reversed(self._started):
            gateway.__exit__(None, None, None)


def retab_status(sdk: Retab, run_id: str) -> str | None:
    """A run's status as Retab's SDK reads it now (None when the answer has none)."""
    status = sdk.classifications.get(run_id).status
    return None if status is None else str(status.value)


def corpus(name: str) -> Path:
    """A document of the sample corpus (fixtures/corpus)."""
    return FIXTURES / "corpus" / name


def _corpus_categories() -> list[dict[str, str]]:
    raw: list[dict[str, str]] = msgspec.json.decode(corpus("categories.json").read_bytes())
    return raw


def categories() -> list[dict[str, str]]:
    """The corpus's category set, as Retab categories (name + description + handle_key)."""
    return [
        {"name": c["name"], "description": c["description"], "handle_key": c["key"]}
        for c in _corpus_categories()
    ]


def classifications() -> list[dict[str, str]]:
    """The corpus's category set, as Extend classifications (id, type, description)."""
    return [
        {"id": c["key"], "type": c["name"], "description": c["description"]}
        for c in _corpus_categories()
    ]


def label(name: str) -> str:
    """The corpus document's category key (labels.json)."""
    labels = msgspec.json.decode(corpus("labels.json").read_bytes())
    return str(labels[name])


def category_name(name: str) -> str:
    """The corpus document's category name, as Retab clients name it."""
    return next(c["name"] for c in categories() if c["handle_key"] == label(name))


def text_file(name: str) -> dict[str, str]:
    """A corpus document as Extend's `file.text`."""
    return {"text": corpus(name).read_text(encoding="utf-8"), "name": name}


@pytest.fixture
def make_gateway(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeGateway]:
    """Start gateways (in-process unless `served=True`); all are stopped at teardown, before
    the test's store goes."""
    # set up first so torn down last: a store torn down first drops its PostgreSQL database
    # under the gateways, whose ledger jobs then wait for a connection while they stop
    for outliving in ("store", "postgres_url"):
        if outliving in request.fixturenames:
            request.getfixturevalue(outliving)
    make = MakeGateway(tmp_path)
    yield make
    make.stop_all()
