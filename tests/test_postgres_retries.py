"""Write jobs on PostgreSQL (issue 15) run again only when that is safe, and what they do
outside the database happens once, after their transaction committed.

PostgreSQL's runner runs a job again whole after its SERIALIZABLE transaction lost a race,
so a count made inside it was made once per try: both sides of many shadowed comparisons
finish at once on two replicas (the completing writes race), every comparison completes, and
each disagreement is counted exactly once in /metrics. A write whose connection the server
ended before it sent anything that commits runs again on a new connection."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import psycopg

from gateway import metrics
from gateway.store.postgres.ledger import PostgresLedger
from gateway.store.postgres.runner import PgRunner
from gateway.store.postgres.schema import migrate
from gateway.store.records import new_record
from gateway.store.sql import Connection
from mappings import canonical
from tests.comparison_support import START, comparison, run, side
from tests.test_postgres_ledger import T0, _record

COMPARISONS = 60


def _disagreements() -> float:
    sample = metrics.SHADOW_DISAGREEMENTS.labels(primary="a", shadow="b")
    value: float = sample._value.get()
    return value


async def test_racing_sides_count_each_disagreement_once(postgres_url: str) -> None:
    one = await PostgresLedger.open(postgres_url, pool_size=8)
    two = await PostgresLedger.open(postgres_url, pool_size=8)
    try:
        for i in range(COMPARISONS):
            primary = run(f"ra{i}", status=canonical.Status.running)
            shadow = run(f"rb{i}", status=canonical.Status.running)
            cid = f"cmp_{i}"
            await one.insert(new_record("a", primary, None, surface="extend", owner="o", now=START))
            sides = (side("a", primary, latency_ms=None), side("b", None, latency_ms=None))
            await one.insert_comparison(comparison(cid, *sides, owner="o", completed=False))
            await one.insert(
                new_record(
                    "b", shadow, None, surface="extend", owner="o", now=START, comparison=cid
                )
            )
        before = _disagreements()
        later = START + timedelta(seconds=5)
        # each comparison's two sides end at once, one on each replica: their writes race
        await asyncio.gather(
            *(
                write
                for i in range(COMPARISONS)
                for write in (
                    one.update_run(
                        "a", f"ra{i}", run(f"ra{i}", key="inv", name="Invoice"), now=later
                    ),
                    two.update_run(
                        "b", f"rb{i}", run(f"rb{i}", key="rec", name="Receipt"), now=later
                    ),
                )
            )
        )
        done = await one.comparisons("o", limit=1000)
        assert len(done) == COMPARISONS
        assert all(c.completed for c in done), [c.id for c in done if not c.completed]
        assert _disagreements() - before == COMPARISONS
    finally:
        await one.close()
        await two.close()


async def test_writes_run_again_after_the_server_ended_their_idle_connections(
    postgres_url: str,
) -> None:
    """The server ends every pooled connection (a restart, a failover) between jobs, too
    soon after their last use for the idle check: the next writes broke before anything of
    them was sent to commit, so each runs again on a new connection instead of failing."""
    migrate(postgres_url)
    size = 4
    runner = await PgRunner.open(postgres_url, size=size, timeout=10, idle_check=3600)
    ledger = PostgresLedger(runner)
    try:
        await ledger.insert(_record("r0"))
        all_held = threading.Barrier(size)

        def hold(conn: Connection) -> None:
            all_held.wait(timeout=10)  # each job on a connection of its own: the pool is full

        await asyncio.gather(*(runner.read(hold) for _ in range(size)))
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        for n in range(1, size + 2):
            await ledger.insert(_record(f"r{n}", at=T0 + timedelta(seconds=n)))
        for n in range(size + 2):
            assert await ledger.find("local", f"r{n}") is not None
    finally:
        await ledger.close()
