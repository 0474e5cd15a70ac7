"""The store's shape: two interfaces, one SQLite object that serves both, small modules."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway import store
from gateway.store import Ledger, SqliteLedger, WorkQueue, owner_of

STORE_DIR = Path(store.__file__).parent
T0 = datetime(2026, 1, 1, tzinfo=UTC)
LEDGER_METHODS = {"insert", "get", "find", "unfinished", "update_run", "delete", "list", "close"}
QUEUE_METHODS = {"claim", "heartbeat", "finish", "request_cancel", "recover"}


def protocol_methods(protocol: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(protocol) if not name.startswith("_")}


@pytest.fixture
async def opened(tmp_path: Path) -> AsyncIterator[SqliteLedger]:
    async with await SqliteLedger.open(str(tmp_path / "ledger.db")) as ledger:
        yield ledger


async def test_sqlite_ledger_is_both_a_ledger_and_a_work_queue(opened: SqliteLedger) -> None:
    """One SqliteLedger serves as each interface (the assignments are checked by mypy)."""
    ledger: Ledger = opened
    queue: WorkQueue = opened
    assert await ledger.find("local", "nope") is None
    assert await queue.request_cancel(owner_of("sk"), "local", "nope", T0) is None


def test_the_two_interfaces_split_the_store_s_methods_between_them() -> None:
    """Ledger holds the owner-scoped records, WorkQueue the background work; none is in both,
    and SqliteLedger offers nothing public beyond them."""
    assert protocol_methods(Ledger) == LEDGER_METHODS
    assert protocol_methods(WorkQueue) == QUEUE_METHODS
    assert protocol_methods(SqliteLedger) == LEDGER_METHODS | QUEUE_METHODS | {"open"}


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=str(p.relative_to(STORE_DIR))) for p in sorted(STORE_DIR.rglob("*.py"))],
)
def test_every_store_module_is_small_and_says_what_it_is_for(path: Path) -> None:
    """House style: under 300 lines, opening with a docstring."""
    source = path.read_text()
    assert len(source.splitlines()) < 300
    assert source.startswith('"""')
