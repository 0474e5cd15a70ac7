"""The official SDKs driving a gateway built by tests/harness.py.

Each test gets fresh apps (their own ledger files), run in-process unless the test is about
real HTTP; the SDKs are used unchanged, with their retries turned off.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from extend_ai import Extend
from retab import Retab

from contract_tests.served_process import ServerProcess
from tests.harness import Gateway, MakeGateway


@pytest.fixture
def gateway(make_gateway: MakeGateway) -> Gateway:
    """A gateway on the embedded default."""
    return make_gateway()


@pytest.fixture
def retab_sdk(gateway: Gateway) -> Retab:
    return gateway.retab()


@pytest.fixture
def extend_sdk(gateway: Gateway) -> Extend:
    return gateway.extend()


@pytest.fixture
def servers() -> Iterator[list[ServerProcess]]:
    """Real `crosswalk serve` processes a test starts; each is stopped after it."""
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()
