"""What a write job does outside the database happens once, after its transaction committed
(issue 15): PostgreSQL's runner runs a job again whole after its SERIALIZABLE transaction
lost a race, so a count made inside it was made once per try. Both sides of many shadowed
comparisons finish at once on two replicas (the completing writes race each other): every
comparison completes, and each disagreement is counted exactly once in /metrics."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from gateway import metrics
from gateway.store.postgres.ledger import PostgresLedger
from gateway.store.records import new_record
from mappings import canonical
from tests.comparison_support import START, comparison, run, side

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
