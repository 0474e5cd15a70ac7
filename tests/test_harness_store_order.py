"""The harness stops a test's gateways before the test's store goes, whatever order the test
asks for the fixtures in: a PostgreSQL database dropped under a running gateway leaves its
ledger jobs waiting for a connection while it stops (a 15 s teardown, a pool never closed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import MakeGateway, local_settings
from tests.postgres import PostgresServer
from tests.stores import Store

Order = list[str]


@pytest.fixture
def order(postgres_server: PostgresServer) -> Iterator[Order]:
    """Asked for first, so torn down last: what was done at teardown, checked in order."""
    seen: Order = []
    drop_later = postgres_server.drop_later

    def recorded(name: str) -> None:
        seen.append("store dropped")
        drop_later(name)

    postgres_server.drop_later = recorded  # type: ignore[method-assign]
    yield seen
    del postgres_server.drop_later  # the session's server drops as before
    assert seen == ["gateways stopped", "store dropped"]


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_gateways_stop_before_their_database_is_dropped(
    order: Order, make_gateway: MakeGateway, store: Store, tmp_path: Path
) -> None:
    stop_all = make_gateway.stop_all

    def recorded() -> None:
        stop_all()
        order.append("gateways stopped")

    make_gateway.stop_all = recorded  # type: ignore[method-assign]
    make_gateway(store.serving(local_settings(tmp_path)))
