"""The official SDKs driving a gateway built by tests/harness.py.

Each test gets fresh apps (their own ledger files), run in-process unless the test is about
real HTTP; the SDKs are used unchanged, with their retries turned off.
"""

from __future__ import annotations

import pytest
from extend_ai import Extend
from retab import Retab

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
