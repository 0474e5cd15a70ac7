"""A point read of the SQLite ledger runs on its caller's thread, with no hop to a reader thread
and back (issue 14), and still sees every write committed before it; a caller on another
thread than the first point read's takes the reader threads, for a connection serves one
thread."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from gateway.store.records import RunRecord
from gateway.store.sqlite import writes
from gateway.store.sqlite.rows import BY_RUN, SELECT, one_record
from gateway.store.sqlite.threads import LedgerThreads
from mappings import canonical

KEY = ("local", "run-1")
AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
Seen = tuple[int, RunRecord | None]


def recorded(status: canonical.Status) -> RunRecord:
    config = canonical.RunConfig(categories=(canonical.Category(key="memo", name="Memo"),))
    run = canonical.ClassificationRun(id=KEY[1], status=status, config=config, created_at=AT)
    return RunRecord(
        key="local:run-1",
        owner="owner-a",
        backend=KEY[0],
        upstream_id=KEY[1],
        surface="extend",
        run=run,
        request=None,
        filename="memo.txt",
        created_at=AT,
        updated_at=AT,
    )


def seen_from(conn: Any, key: tuple[str, str]) -> Seen:
    """The thread this read ran on, and the record it found."""
    return threading.get_ident(), one_record(conn, SELECT + BY_RUN, key)


async def test_a_point_read_runs_on_the_callers_thread_and_sees_the_last_write(
    tmp_path: Path,
) -> None:
    threads = await LedgerThreads.open(str(tmp_path / "ledger.db"), readers=1)
    try:
        assert (await threads.read_point(seen_from, KEY))[1] is None
        queued = await threads.write(writes.insert, recorded(canonical.Status.queued))
        thread, found = await threads.read_point(seen_from, KEY)
        assert thread == threading.get_ident()
        assert found is not None
        assert found.run.status is canonical.Status.queued
        done = msgspec.structs.replace(queued.run, status=canonical.Status.completed)
        await threads.write(writes.update, KEY, done, AT, None, None)
        assert (await threads.read_point(seen_from, KEY))[1] == msgspec.structs.replace(
            found, run=done
        )
    finally:
        await threads.close()


async def test_a_point_read_from_another_thread_takes_a_reader_thread(tmp_path: Path) -> None:
    threads = await LedgerThreads.open(str(tmp_path / "ledger.db"), readers=1)
    try:
        await threads.write(writes.insert, recorded(canonical.Status.queued))
        assert (await threads.read_point(seen_from, KEY))[0] == threading.get_ident()
        seen: list[Seen] = []
        elsewhere = threading.Thread(
            target=lambda: seen.append(asyncio.run(threads.read_point(seen_from, KEY)))
        )
        elsewhere.start()
        elsewhere.join(timeout=10)
        ((thread, found),) = seen
        assert thread not in (threading.get_ident(), elsewhere.ident)
        assert found is not None
        assert found.upstream_id == KEY[1]
    finally:
        await threads.close()
