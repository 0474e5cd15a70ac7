"""`SqliteLedger`: the run ledger and the local work queue over one SQLite file.

WAL mode lets readers run beside the one writer. Each `SqliteLedger` holds a single
connection, used from worker threads (`anyio.to_thread`) one call at a time under a lock:
SQLite serialises writers anyway, and one connection is one thing to close. Every
read-modify-write runs in `BEGIN IMMEDIATE`, which takes the file's write lock up front, so
claims, cancels and compare-and-set updates are atomic across processes too.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

import anyio.to_thread

from gateway.clock import Clock, system_clock
from gateway.store.records import ListResult, RecoveryReport, RunRecord
from gateway.store.sqlite import queue, writes
from gateway.store.sqlite.listing import list_page
from gateway.store.sqlite.rows import BY_OWNER_RUN, BY_RUN, SELECT, all_records, one_record
from gateway.store.sqlite.schema import connect
from mappings import canonical

T = TypeVar("T")

_UNFINISHED = (
    " WHERE backend = ? AND status IN ('pending', 'queued', 'running')"
    " ORDER BY updated_us, seq LIMIT ?"
)
_RUNNING = frozenset({canonical.Status.running})


class SqliteLedger:
    """Implements `Ledger` and `WorkQueue` over one SQLite file, on one connection; open
    with `await SqliteLedger.open(path)`, and close it (or use it as an async context)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        clock: Clock = system_clock,
        on_enqueue: Callable[[], None] = lambda: None,
    ) -> None:
        self._conn = conn
        self._clock = clock  # stamps updates whose caller gave no `now`
        self._on_enqueue = on_enqueue
        self._lock = threading.Lock()  # one statement sequence at a time on the connection

    @classmethod
    async def open(
        cls,
        path: str,
        *,
        clock: Clock = system_clock,
        on_enqueue: Callable[[], None] = lambda: None,
    ) -> SqliteLedger:
        """Open (creating or upgrading) the ledger at `path`, reading the time from `clock`;
        `on_enqueue` is called once background work is committed (a worker's doorbell)."""
        connection = await anyio.to_thread.run_sync(connect, path)
        return cls(connection, clock=clock, on_enqueue=on_enqueue)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._call(self._conn.close)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        def locked() -> T:
            with self._lock:
                return fn(*args)

        # not abandoned on cancellation: a transaction always finishes before the lock frees
        return await anyio.to_thread.run_sync(locked)

    async def insert(self, record: RunRecord) -> RunRecord:
        inserted = await self._call(writes.insert, self._conn, record)
        if record.run.status is canonical.Status.queued and record.request is not None:
            self._on_enqueue()  # committed: a worker woken now finds it
        return inserted

    async def get(self, owner: str, backend: str, upstream_id: str) -> RunRecord | None:
        key = (owner, backend, upstream_id)
        return await self._call(one_record, self._conn, SELECT + BY_OWNER_RUN, key)

    async def find(self, backend: str, upstream_id: str) -> RunRecord | None:
        return await self._call(one_record, self._conn, SELECT + BY_RUN, (backend, upstream_id))

    async def unfinished(self, backend: str, *, limit: int) -> tuple[RunRecord, ...]:
        return await self._call(all_records, self._conn, SELECT + _UNFINISHED, (backend, limit))

    async def update_run(
        self,
        backend: str,
        upstream_id: str,
        run: canonical.ClassificationRun,
        *,
        only_if_status_in: frozenset[canonical.Status] | None = None,
        now: datetime | None = None,
    ) -> RunRecord | None:
        at = now or self._clock()
        key = (backend, upstream_id)
        return await self._call(writes.update, self._conn, key, run, at, only_if_status_in, None)

    async def finish(
        self,
        backend: str,
        upstream_id: str,
        worker: str,
        run: canonical.ClassificationRun,
        *,
        now: datetime | None = None,
    ) -> RunRecord | None:
        at, key = now or self._clock(), (backend, upstream_id)
        return await self._call(writes.update, self._conn, key, run, at, _RUNNING, worker)

    async def delete(self, owner: str, backend: str, upstream_id: str) -> bool:
        return await self._call(writes.delete, self._conn, (owner, backend, upstream_id))

    async def list(
        self, owner: str, query: canonical.ListQuery, *, cursor: tuple[str, str] | None = None
    ) -> ListResult:
        return await self._call(list_page, self._conn, owner, query, cursor)

    async def claim(
        self,
        worker: str,
        lease_seconds: float,
        now: datetime,
        *,
        backends: Collection[str],
        max_attempts: int | None = None,
    ) -> RunRecord | None:
        if not backends:
            return None
        until = now + timedelta(seconds=lease_seconds)
        names = tuple(backends)
        return await self._call(queue.claim, self._conn, worker, until, now, names, max_attempts)

    async def heartbeat(
        self, backend: str, upstream_id: str, worker: str, lease_seconds: float, now: datetime
    ) -> bool:
        until, key = now + timedelta(seconds=lease_seconds), (backend, upstream_id)
        return await self._call(queue.extend_lease, self._conn, key, worker, until)

    async def request_cancel(
        self, owner: str, backend: str, upstream_id: str, now: datetime
    ) -> RunRecord | None:
        return await self._call(queue.cancel, self._conn, (owner, backend, upstream_id), now)

    async def recover(self, now: datetime, max_attempts: int) -> RecoveryReport:
        return await self._call(queue.recover, self._conn, now, max_attempts)
