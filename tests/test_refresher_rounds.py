"""The refresher walks round every unfinished vendor run, page by page: runs that stay
unfinished for hours never keep later ones from being re-read (a batch whose runs the vendor
has finished settles even behind another batch still running)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import msgspec

from gateway.backends.refresher import BATCH, Refresher
from gateway.context import CallContext
from gateway.store import RunRecord, SqliteLedger, owner_of
from gateway.store.records import new_record
from mappings import canonical
from tests.test_supervisor import FinishedUpstream

CONFIG = canonical.RunConfig(categories=(canonical.Category(key="memo", name="Memo"),))
CREATED = datetime(2030, 1, 1, tzinfo=UTC)


class SlowAndDoneUpstream(FinishedUpstream):
    """A vendor whose runs named `slow-…` are still running, and every other one is done."""

    async def refresh(self, record: RunRecord, *, call: CallContext) -> canonical.ClassificationRun:
        if record.upstream_id.startswith("slow-"):
            return record.run
        return msgspec.structs.replace(record.run, status=canonical.Status.completed)


def running(upstream_id: str) -> RunRecord:
    run = canonical.ClassificationRun(
        id=upstream_id, status=canonical.Status.running, config=CONFIG, created_at=CREATED
    )
    return new_record("extend", run, None, surface="extend", owner=owner_of("k"), now=CREATED)


async def test_runs_that_stay_unfinished_do_not_starve_the_rest(tmp_path: Path) -> None:
    """A page's worth of runs still running, recorded first, then ten the vendor finished:
    the second pass reaches the ten, and a third starts the round again from the first."""
    async with await SqliteLedger.open(str(tmp_path / "ledger.db")) as ledger:
        for i in range(BATCH):
            await ledger.insert(running(f"slow-{i:03d}"))
        for i in range(10):
            await ledger.insert(running(f"done-{i}"))
        refresher = Refresher(SlowAndDoneUpstream(), ledger, interval=30)
        assert await refresher.refresh_once() == 0  # the first page: all still running
        assert await refresher.refresh_once() == 10
        left = await ledger.unfinished("extend", limit=1000)
        assert [r.upstream_id for r in left] == [f"slow-{i:03d}" for i in range(BATCH)]
        assert await refresher.refresh_once() == 0
        again = await ledger.unfinished("extend", limit=BATCH, after=left[-1].seq)
        assert again == ()  # the walk wrapped: nothing lies past the last run
