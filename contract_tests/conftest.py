"""A real gateway served over loopback HTTP, and the official SDKs pointed at it.

Each test gets a fresh app (its own ledger file) served by uvicorn in a thread; the SDKs are
used unchanged, with their retries turned off so a retry cannot hide a failure.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import uvicorn
from extend_ai import Extend
from retab import Retab

from gateway.app import create_app
from gateway.config import LocalBackendConfig, Secret, Settings

FIXTURES = Path(__file__).parent.parent / "fixtures"
NO_RETRIES: dict[str, Any] = {"max_retries": 0}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServedGateway:
    """`create_app(settings)` served by uvicorn on a loopback port, in a thread."""

    def __init__(
        self, settings: Settings, transports: Mapping[str, httpx.AsyncBaseTransport] | None = None
    ) -> None:
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings, transports=transports),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, daemon=True)
        self._clients: list[httpx.Client] = []

    def __enter__(self) -> ServedGateway:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        for client in self._clients:
            client.close()
        self.server.should_exit = True
        self._thread.join(timeout=15)

    def http(self, key: str | None = "key-a") -> httpx.Client:
        """A plain HTTP client, for what the SDKs do not expose (status codes, headers)."""
        headers = {"authorization": f"Bearer {key}"} if key else {}
        return self.track(httpx.Client(base_url=self.url, headers=headers, timeout=30))

    def track(self, client: httpx.Client) -> httpx.Client:
        """Close `client` when the gateway stops, so no test leaks a socket."""
        self._clients.append(client)
        return client


def local_settings(tmp_path: Path, **local: Any) -> Settings:
    """The embedded default with its ledger under `tmp_path` and local options overridden."""
    return Settings(
        backends={"local": LocalBackendConfig(**local)},
        default_backend="local",
        store_path=str(tmp_path / "crosswalk.db"),
    )


@pytest.fixture
def make_gateway(tmp_path: Path) -> Iterator[Callable[..., ServedGateway]]:
    """Start gateways with custom settings; all are stopped at teardown."""
    started: list[ServedGateway] = []

    def make(
        settings: Settings | None = None,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        **local: Any,
    ) -> ServedGateway:
        """A served gateway; `transports` replace backends' upstream connections by name."""
        gateway = ServedGateway(settings or local_settings(tmp_path, **local), transports)
        started.append(gateway.__enter__())
        return gateway

    yield make
    for gateway in started:
        gateway.__exit__(None, None, None)


@pytest.fixture
def gateway(make_gateway: Callable[..., ServedGateway]) -> ServedGateway:
    """A gateway on the embedded default; background runs take at least 0.3 s."""
    return make_gateway(min_run_seconds=0.3)


def retab_client(gateway: ServedGateway, key: str = "key-a") -> Retab:
    """The official Retab SDK, unchanged but for its base URL."""
    sdk = Retab(api_key=key, base_url=gateway.url, max_retries=0)
    gateway.track(sdk.client)
    return sdk


def extend_client(gateway: ServedGateway, key: str = "key-a") -> Extend:
    """The official Extend SDK, unchanged but for its base URL."""
    # the SDK's own default client is never closed; one of ours is, with the gateway
    http = gateway.track(httpx.Client(timeout=300, follow_redirects=True))
    return Extend(token=key, base_url=gateway.url, httpx_client=http)


@pytest.fixture
def retab_sdk(gateway: ServedGateway) -> Iterator[Retab]:
    client = retab_client(gateway)
    yield client
    client.client.close()


@pytest.fixture
def extend_sdk(gateway: ServedGateway) -> Extend:
    return extend_client(gateway)


def corpus(name: str) -> Path:
    return FIXTURES / "corpus" / name


def categories() -> list[dict[str, str]]:
    """The corpus's category set, as Retab categories (name + description + handle_key)."""
    raw = msgspec.json.decode((FIXTURES / "corpus" / "categories.json").read_bytes())
    return [
        {"name": c["name"], "description": c["description"], "handle_key": c["key"]} for c in raw
    ]


def classifications() -> list[dict[str, str]]:
    """The corpus's category set, as Extend classifications (id, type, description)."""
    raw = msgspec.json.decode((FIXTURES / "corpus" / "categories.json").read_bytes())
    return [{"id": c["key"], "type": c["name"], "description": c["description"]} for c in raw]


def wait_until(predicate: Callable[[], bool], *, timeout: float = 20.0) -> None:
    """Poll `predicate` until it holds, or fail the test."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.05)


def secret_keys(*keys: str) -> tuple[Secret, ...]:
    return tuple(Secret(k) for k in keys)
