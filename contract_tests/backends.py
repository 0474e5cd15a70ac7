"""The gateway on each backend in turn: the embedded local one, then a vendor's (a fake of its
API) reached by translation, for promises a surface keeps whichever backend does the work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest
from extend_ai import Extend
from retab import Retab

from gateway.config import LocalBackendConfig
from tests.harness import GATEWAY_KEY, SLOW_RUN_SECONDS, Gateway, MakeGateway, local_settings

F = TypeVar("F")


@dataclass(frozen=True)
class On(Generic[F]):
    """The gateway on one backend, and the fake vendor behind it (None on `local`)."""

    gateway: Gateway
    fake: F | None

    def retab(self, key: str = GATEWAY_KEY) -> Retab:
        return self.gateway.retab(key)

    def extend(self, key: str = GATEWAY_KEY) -> Extend:
        return self.gateway.extend(key)


def on_each_backend(
    vendor: str, build: Callable[[MakeGateway, Path, bool], tuple[Gateway, F]]
) -> tuple[Any, Any]:
    """Fixtures `on` and `slow`, parametrized over `local` and `vendor`: `build` starts a
    gateway in front of a fake `vendor`, its runs slow to finish if asked, and the fake."""
    params = [pytest.param("local", id="local"), pytest.param(vendor, id=f"via-{vendor}")]

    def start(kind: str, make_gateway: MakeGateway, tmp_path: Path, slow: bool) -> On[F]:
        if kind == "local":
            local = LocalBackendConfig(min_run_seconds=SLOW_RUN_SECONDS if slow else 0.0)
            return On(gateway=make_gateway(local_settings(tmp_path, local)), fake=None)
        gateway, fake = build(make_gateway, tmp_path, slow)
        return On(gateway=gateway, fake=fake)

    @pytest.fixture(params=params)
    def on(request: pytest.FixtureRequest, make_gateway: MakeGateway, tmp_path: Path) -> On[F]:
        """The gateway on each backend in turn."""
        return start(request.param, make_gateway, tmp_path, False)

    @pytest.fixture(params=params)
    def slow(request: pytest.FixtureRequest, make_gateway: MakeGateway, tmp_path: Path) -> On[F]:
        """The same, with runs that stay unfinished long enough to be cancelled."""
        return start(request.param, make_gateway, tmp_path, True)

    return on, slow
