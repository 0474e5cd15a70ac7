"""Claims read only live rows (issue 15): on both stores the run claim, `unfinished` and the
batch-input claim walk the partial indexes of claim_schema.py whatever the finished rows
behind them, and on PostgreSQL many claimers over two ledger handles (two replicas) with
many finished runs take every queued run and input once, none failing after its retries
(a claim that scanned the table conflicted, under SERIALIZABLE, with every other)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable
from datetime import UTC, datetime, timedelta

from gateway.store.batch_records import BatchRecord
from gateway.store.postgres.connection import translate
from gateway.store.sql_dialect import OTHER, SQLITE
from gateway.store.sql_ledger import _UNFINISHED
from gateway.store.sqlite import batches, queue
from gateway.store.sqlite.rows import SELECT
from mappings import canonical
from tests.stores import AnyLedger, OpenLedger, Store
from tests.test_postgres_ledger import _record

T0 = datetime(2026, 1, 1, tzinfo=UTC)
FINISHED = 20_000
OPEN = 50  # pending inputs of a batch written with the finished rows
# finished runs, and a finished batch whose inputs all have runs, written behind the ledger
_FILL_RUNS = """{numbers} INSERT INTO runs (key, owner, backend, upstream_id, surface, status,
    filename, filename_folded, created_us, updated_us, run)
    SELECT 'done' || n, 'o', 'local', 'done' || n, 'extend', 'completed', 'f', 'f', n, n, ?
    FROM g"""
_FILL_INPUTS = """{numbers} INSERT INTO batch_inputs (batch_id, idx, body, state, batch_seq)
    SELECT 'bpr_done', n, ?, 'created', 0 FROM g"""
_NUMBERS = f"WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {FINISHED})"


def _batch(batch_id: str, count: int) -> BatchRecord:
    return BatchRecord(
        id=batch_id,
        owner="o",
        backend="local",
        status=canonical.BatchStatus.pending,
        run_count=count,
        created_at=T0,
        updated_at=T0,
    )


async def _with_finished_rows(store: Store, ledger: AnyLedger) -> None:
    await ledger.insert_batch(_batch("bpr_done", 0), [])
    await ledger.insert_batch(_batch("bpr_open", OPEN), [b"{}"] * OPEN)
    store.execute(_FILL_RUNS.format(numbers=_NUMBERS), (b"{}",))
    store.execute(_FILL_INPUTS.format(numbers=_NUMBERS), (b"{}",))
    store.execute("ANALYZE")


def _plan(store: Store, sql: str, params: tuple[object, ...]) -> str:
    if store.kind == "sqlite":
        rows = store.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row[-1]) for row in rows)
    # tests.stores.Store.execute only swaps placeholders; translate also doubles a literal %
    rows = store.execute("EXPLAIN " + translate(sql).replace("%s", "?"), params)
    return "\n".join(str(row[0]) for row in rows)


async def test_claims_and_unfinished_walk_only_live_rows(
    store: Store, open_ledger: OpenLedger
) -> None:
    ledger = await open_ledger()
    await _with_finished_rows(store, ledger)
    dialect = SQLITE if store.kind == "sqlite" else OTHER
    now = 10**15
    hint = dialect.indexed_by("runs_live")
    for which in ("status = 'queued'", queue._EXPIRED):
        sql = queue._CLAIMABLE.format(hint=hint, marks="?", which=which) + queue._OLDEST
        params: tuple[object, ...] = ("local",) if "?" not in which else ("local", now)
        plan = _plan(store, sql, params)
        assert "runs_live" in plan, plan
        assert "Seq Scan" not in plan, plan
        assert "SCAN runs\n" not in plan + "\n", plan
    plan = _plan(store, SELECT + _UNFINISHED, ("local", 0, 50))
    assert "runs_live" in plan, plan
    plan = _plan(store, batches._CLAIMABLE[dialect], (now,))
    assert "batch_inputs_claimable" in plan, plan
    for reads_more in ("SubPlan", "CORRELATED", "Sort", "TEMP B-TREE"):
        assert reads_more not in plan, plan


async def _drain(
    ledgers: list[AnyLedger], claim: Callable[[AnyLedger, str], Awaitable[Hashable | None]]
) -> tuple[list[Hashable], list[BaseException]]:
    taken: list[Hashable] = []
    errors: list[BaseException] = []

    async def worker(ledger: AnyLedger, name: str) -> None:
        while True:
            try:
                got = await claim(ledger, name)
            except Exception as exc:  # counted: the test is that there are none
                errors.append(exc)
                continue
            if got is None:
                return
            taken.append(got)

    workers = [worker(ledger, f"w{i}-{j}") for i, ledger in enumerate(ledgers) for j in range(12)]
    await asyncio.gather(*workers)
    return taken, errors


async def test_concurrent_claims_on_two_postgres_replicas(postgres_url: str) -> None:
    from gateway.store.postgres.ledger import PostgresLedger

    store = Store("postgres", postgres_url)
    one = await PostgresLedger.open(postgres_url, pool_size=8)
    two = await PostgresLedger.open(postgres_url, pool_size=8)
    try:
        await _with_finished_rows(store, one)
        count = 150
        for n in range(count):
            await one.insert(_record(f"r{n:04}", at=T0 + timedelta(microseconds=n)))
        await one.insert_batch(_batch("bpr_live", count), [b"{}"] * count)

        async def run(ledger: AnyLedger, name: str) -> Hashable | None:
            got = await ledger.claim(name, 60, T0, backends=("local",))
            return None if got is None else got.upstream_id

        async def input_(ledger: AnyLedger, name: str) -> Hashable | None:
            got = await ledger.claim_batch_input(name, 600, T0)
            return None if got is None else (got.batch_id, got.index)

        for claim, expected in ((run, count), (input_, count + OPEN)):
            taken, errors = await _drain([one, two], claim)
            assert not errors, errors[:1]
            assert not [k for k, times in Counter(taken).items() if times > 1]
            assert len(taken) == expected
    finally:
        await one.close()
        await two.close()
