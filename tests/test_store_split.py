"""The store's shape and vocabulary: two interfaces served by one SQLite object, the clock
it stamps updates with, the dialect each run was created through, and small modules."""

from __future__ import annotations

import inspect
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from gateway import store
from gateway.store import (
    Ledger,
    LedgerError,
    Outbox,
    RunRecord,
    SqliteLedger,
    WorkQueue,
    owner_of,
)
from gateway.store.base import BatchLedger, ComparisonLedger, FileLedger
from gateway.store.idempotency import IdempotencyStore
from gateway.store.records import new_record
from mappings import canonical
from mappings.dialects import DIALECTS, Dialect

STORE_DIR = Path(store.__file__).parent
T0 = datetime(2026, 1, 1, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)
ALICE = owner_of("sk-alice")
CONFIG = canonical.RunConfig(categories=(canonical.Category(key="invoice", name="Invoice"),))
LEDGER_METHODS = {"insert", "get", "find", "unfinished", "update_run", "delete", "list", "close"}
QUEUE_METHODS = {"claim", "heartbeat", "finish", "request_cancel", "recover"}
FILE_METHODS = {"insert_file", "get_file", "find_file", "list_files", "delete_file"}
FILE_METHODS |= {"add_file_copy", "set_file_page_count"}
PROBE_METHODS = {"ping", "queue_depth"}  # gateway/store/probes.py: /readyz and /metrics
BATCH_METHODS = {"insert_batch", "get_batch", "claim_batch_input", "extend_batch_lease"}
BATCH_METHODS |= {"release_batch_input", "refuse_batch_input", "settle_batches"}
OUTBOX_METHODS = {"subscribe", "add_event", "any_due", "claim_deliveries", "delivered"}
OUTBOX_METHODS |= {"delivery_failed", "release", "list_deliveries", "retry_event", "outbox_depth"}
COMPARISON_METHODS = {"insert_comparison", "fail_side", "get_comparison", "comparisons"}
COMPARISON_METHODS |= {"fail_stale_sides", "restart_side", "set_expected"}
IDEMPOTENCY_METHODS = {"reserve_idempotency", "complete_idempotency", "release_idempotency"}
IDEMPOTENCY_METHODS |= {"purge_idempotency", "link_idempotency", "renew_idempotency"}


def protocol_methods(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls) if not name.startswith("_")}


def queued(upstream_id: str, surface: Dialect = "retab") -> RunRecord:
    document = canonical.TextDocument(text="a memo", filename="memo.txt")
    request = canonical.ClassifyRequest(document=document, config=CONFIG, background=True)
    run = canonical.ClassificationRun(
        id=upstream_id, status=canonical.Status.queued, config=CONFIG, created_at=T0
    )
    return new_record("local", run, request, surface=surface, owner=ALICE, now=T0)


def test_the_interfaces_split_the_store_s_methods_between_them() -> None:
    """Ledger holds the owner-scoped records (files through FileLedger), WorkQueue the
    background work, Outbox the webhook deliveries, BatchLedger the batches and
    ComparisonLedger the A/B comparisons, IdempotencyStore the Idempotency-Key slots; no
    method is in two, and SqliteLedger offers nothing public beyond them but `open`."""
    assert protocol_methods(FileLedger) == FILE_METHODS
    assert protocol_methods(Ledger) == LEDGER_METHODS | FILE_METHODS | PROBE_METHODS
    assert protocol_methods(WorkQueue) == QUEUE_METHODS
    assert protocol_methods(Outbox) == OUTBOX_METHODS
    assert protocol_methods(BatchLedger) == BATCH_METHODS
    assert protocol_methods(ComparisonLedger) == COMPARISON_METHODS
    assert protocol_methods(IdempotencyStore) == IDEMPOTENCY_METHODS
    every = LEDGER_METHODS | FILE_METHODS | QUEUE_METHODS | OUTBOX_METHODS | BATCH_METHODS
    every |= PROBE_METHODS | COMPARISON_METHODS | IDEMPOTENCY_METHODS
    assert protocol_methods(SqliteLedger) == every | {"open", "runner"}  # runner: files' bytes


def later() -> datetime:
    """A clock stopped at LATER."""
    return LATER


async def test_updates_without_a_time_are_stamped_by_the_injected_clock(tmp_path: Path) -> None:
    """update_run and finish with no `now` take updated_at from the clock the ledger was
    opened with, not from the wall clock."""
    async with await SqliteLedger.open(str(tmp_path / "ledger.db"), clock=later) as ledger:
        await ledger.insert(queued("r1"))
        await ledger.insert(queued("r2"))
        running = await ledger.claim("w1", 30, T0, backends=("local",))
        assert running is not None
        assert running.updated_at == T0
        done = msgspec.structs.replace(running.run, status=canonical.Status.completed)
        finished = await ledger.finish("local", running.upstream_id, "w1", done)
        updated = await ledger.update_run("local", "r2", done)
    assert finished is not None
    assert updated is not None
    assert finished.updated_at == updated.updated_at == LATER


async def test_the_default_clock_is_the_wall_clock(tmp_path: Path) -> None:
    """Opened without a clock, the ledger stamps updates with the current UTC time."""
    async with await SqliteLedger.open(str(tmp_path / "ledger.db")) as ledger:
        await ledger.insert(queued("r1"))
        before = datetime.now(UTC)
        updated = await ledger.update_run("local", "r1", queued("r1").run)
        after = datetime.now(UTC)
    assert updated is not None
    assert before <= updated.updated_at <= after


@pytest.mark.parametrize("surface", DIALECTS)
async def test_a_record_keeps_the_dialect_it_was_created_through(
    tmp_path: Path, surface: Dialect
) -> None:
    """The surface stored with a run comes back as the same Dialect."""
    async with await SqliteLedger.open(str(tmp_path / "ledger.db")) as ledger:
        await ledger.insert(queued("r1", surface))
        stored = await ledger.find("local", "r1")
    assert stored is not None
    assert stored.surface == surface


async def test_a_stored_run_naming_no_known_dialect_is_refused(tmp_path: Path) -> None:
    """A row whose surface is not a Dialect is an error when read, never a record."""
    path = str(tmp_path / "ledger.db")
    async with await SqliteLedger.open(path) as ledger:
        await ledger.insert(queued("r1"))
        with closing(sqlite3.connect(path)) as raw, raw:
            raw.execute("UPDATE runs SET surface = 'soap'")
        with pytest.raises(LedgerError, match="soap"):
            await ledger.find("local", "r1")


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=str(p.relative_to(STORE_DIR))) for p in sorted(STORE_DIR.rglob("*.py"))],
)
def test_every_store_module_is_small_and_says_what_it_is_for(path: Path) -> None:
    """House style: under 300 lines, opening with a docstring."""
    source = path.read_text()
    assert len(source.splitlines()) < 300
    assert source.startswith('"""')
