"""A gateway with one backend per mocked vendor: `routers` maps "retab"/"extend" to the respx
router standing in for that vendor, each backend holding a key `sk-<vendor>`; clients present
the gateway key `gw-key`. Used by tests whose requests cross both vendors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import respx
from litestar.testing import TestClient

from gateway.app import create_app
from gateway.config import BackendConfig, ExtendBackendConfig, RetabBackendConfig, Secret, Settings

URLS = {"retab": "https://api.retab.test", "extend": "https://api.extend.test"}
GATEWAY_KEY = "gw-key"


def vendor_client(
    tmp_path: Path, routers: dict[str, respx.MockRouter], *, default: str
) -> TestClient[Any]:
    """A test client of a gateway whose backends are the vendors in `routers`."""
    backends: dict[str, BackendConfig] = {}
    for name in routers:
        kind = RetabBackendConfig if name == "retab" else ExtendBackendConfig
        backends[name] = kind(base_url=URLS[name], api_key_env=f"{name.upper()}_API_KEY")
    settings = Settings(
        backends=backends,
        default_backend=default,
        api_keys=(Secret(GATEWAY_KEY),),
        upstream_keys={name: Secret(f"sk-{name}") for name in routers},
        store_path=str(tmp_path / "ledger.db"),
    )
    transports = {n: httpx.MockTransport(r.async_handler) for n, r in routers.items()}
    return TestClient(app=create_app(settings, transports=transports))
