"""`SqlLedger`: the run ledger, the file ledger, the local work queue, the webhook outbox,
batches, A/B comparisons and Idempotency-Key slots over any SQL store.

Every call runs one job of `gateway/store/sqlite/*.py` (the SQL both stores run, over
`gateway.store.sql.Connection`) on the ledger's `LedgerRunner`: writes with `write`, each
read-modify-write in its own `immediate` transaction, so claims, cancels and compare-and-set
updates are atomic across processes; reads with `read`, in one `snapshot`; point reads by
key with `read_point`. `SqliteLedger` runs it over one SQLite file, the PostgreSQL store
over its pool.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Self

from gateway.clock import Clock, system_clock
from gateway.files.records import FileListResult, FileRecord
from gateway.store.batch_records import BatchRecord, ClaimedInput
from gateway.store.records import (
    ListResult,
    RecoveryReport,
    RunRecord,
)
from gateway.store.sql import LedgerRunner
from gateway.store.sqlite import batches, files, probes, queue, writes
from gateway.store.sqlite.comparison_methods import ComparisonMethods
from gateway.store.sqlite.idempotency import IdempotencyMethods
from gateway.store.sqlite.listing import list_page
from gateway.store.sqlite.outbox_methods import OutboxMethods
from gateway.store.sqlite.rows import BY_OWNER_RUN, BY_RUN, SELECT, all_records, one_record
from mappings import canonical
from mappings.files import FileQuery

_UNFINISHED = (
    " WHERE backend = ? AND status IN ('pending', 'queued', 'running') AND seq > ?"
    " ORDER BY seq LIMIT ?"
)
_RUNNING = frozenset({canonical.Status.running})


class SqlLedger(OutboxMethods, ComparisonMethods, IdempotencyMethods):
    """Implements `Ledger` (with `FileLedger`), `WorkQueue`, `Outbox` (its methods in
    `OutboxMethods`), `BatchLedger`, `ComparisonLedger` (in `ComparisonMethods`) and
    `IdempotencyStore` (in `IdempotencyMethods`) over the store `runner` runs its jobs on;
    `on_enqueue` is called once background work is committed (a worker's doorbell),
    `on_event` once a write that may have raised a webhook event is (the dispatcher's), and
    `on_batch` once a batch's inputs are (the batch workers'). Close it when done (or use it
    as an async context): that closes its runner."""

    def __init__(
        self,
        runner: LedgerRunner,
        *,
        clock: Clock = system_clock,
        on_enqueue: Callable[[], None] = lambda: None,
        on_event: Callable[[], None] = lambda: None,
        on_batch: Callable[[], None] = lambda: None,
    ) -> None:
        self._runner = runner
        self._clock = clock  # stamps updates whose caller gave no `now`
        self._on_enqueue = on_enqueue
        self._on_event = on_event
        self._on_batch = on_batch

    @property
    def runner(self) -> LedgerRunner:
        """Where this ledger's jobs run, for the rows other stores keep in it (files' bytes,
        `gateway/files/bytes_in_database.py`)."""
        return self._runner

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
        await self._runner.close()

    async def ping(self) -> None:
        await self._runner.read(probes.ping)

    async def queue_depth(self, local_backends: Sequence[str]) -> int:
        return await self._runner.read(probes.queue_depth, local_backends)

    async def insert(self, record: RunRecord) -> RunRecord:
        inserted = await self._runner.write(writes.insert, record)
        if record.run.status is canonical.Status.queued and record.request is not None:
            self._on_enqueue()  # committed: a worker woken now finds it
        self._ended(inserted)
        return inserted

    async def get(self, owner: str, backend: str, upstream_id: str) -> RunRecord | None:
        key = (owner, backend, upstream_id)
        return await self._runner.read_point(one_record, SELECT + BY_OWNER_RUN, key)

    async def find(self, backend: str, upstream_id: str) -> RunRecord | None:
        return await self._runner.read_point(one_record, SELECT + BY_RUN, (backend, upstream_id))

    async def unfinished(
        self, backend: str, *, limit: int, after: int = 0
    ) -> tuple[RunRecord, ...]:
        params = (backend, after, limit)
        return await self._runner.read(all_records, SELECT + _UNFINISHED, params)

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
        return self._ended(
            await self._runner.write(writes.update, key, run, at, only_if_status_in, None)
        )

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
        return self._ended(await self._runner.write(writes.update, key, run, at, _RUNNING, worker))

    async def delete(self, owner: str, backend: str, upstream_id: str) -> bool:
        return await self._runner.write(writes.delete, (owner, backend, upstream_id), self._clock())

    async def list(
        self, owner: str, query: canonical.ListQuery, *, cursor: tuple[str, str] | None = None
    ) -> ListResult:
        return await self._runner.read(list_page, owner, query, cursor)

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
        return await self._runner.write(queue.claim, worker, until, now, names, max_attempts)

    async def heartbeat(
        self, backend: str, upstream_id: str, worker: str, lease_seconds: float, now: datetime
    ) -> bool:
        until, key = now + timedelta(seconds=lease_seconds), (backend, upstream_id)
        return await self._runner.write(queue.extend_lease, key, worker, until)

    async def request_cancel(
        self, owner: str, backend: str, upstream_id: str, now: datetime
    ) -> RunRecord | None:
        cancelled = await self._runner.write(queue.cancel, (owner, backend, upstream_id), now)
        return self._ended(cancelled)

    async def recover(self, now: datetime, max_attempts: int) -> RecoveryReport:
        report = await self._runner.write(queue.recover, now, max_attempts)
        if report.failed:
            self._on_event()
        return report

    async def insert_file(self, record: FileRecord) -> FileRecord:
        return await self._runner.write(files.insert, record)

    async def get_file(self, owner: str, file_id: str) -> FileRecord | None:
        return await self._runner.read(files.get, owner, file_id)

    async def find_file(self, file_id: str) -> FileRecord | None:
        return await self._runner.read(files.get, None, file_id)

    async def list_files(self, owner: str, query: FileQuery) -> FileListResult:
        return await self._runner.read(files.list_page, owner, query)

    async def delete_file(self, owner: str, file_id: str) -> FileRecord | None:
        return await self._runner.write(files.delete, owner, file_id)

    async def add_file_copy(
        self, file_id: str, backend: str, vendor_file_id: str
    ) -> FileRecord | None:
        return await self._runner.write(files.add_copy, file_id, backend, vendor_file_id)

    async def set_file_page_count(self, file_id: str, page_count: int) -> FileRecord | None:
        return await self._runner.write(files.set_page_count, file_id, page_count)

    async def insert_batch(
        self, batch: BatchRecord, inputs: Sequence[bytes], *, backends: Sequence[str] = ()
    ) -> BatchRecord:
        inserted = await self._runner.write(batches.insert, batch, tuple(inputs), tuple(backends))
        if inputs:
            self._on_batch()  # committed: a batch worker woken now finds its inputs
        return inserted

    async def get_batch(self, owner: str, batch_id: str) -> BatchRecord | None:
        return await self._runner.read(batches.get, owner, batch_id)

    async def claim_batch_input(
        self, worker: str, lease_seconds: float, now: datetime
    ) -> ClaimedInput | None:
        until = now + timedelta(seconds=lease_seconds)
        return await self._runner.write(batches.claim, worker, until, now)

    async def extend_batch_lease(
        self, batch_id: str, index: int, worker: str, lease_seconds: float, now: datetime
    ) -> bool:
        until = now + timedelta(seconds=lease_seconds)
        return await self._runner.write(batches.extend_lease, (batch_id, index), worker, until)

    async def release_batch_input(
        self, batch_id: str, index: int, worker: str, retry_at: datetime
    ) -> bool:
        return await self._runner.write(batches.release, (batch_id, index), worker, retry_at)

    async def refuse_batch_input(self, record: RunRecord, now: datetime) -> bool:
        refused = await self._runner.write(batches.refuse, record, now)
        if refused:
            self._on_event()  # a failed run, and perhaps a settled batch
        return refused

    async def settle_batches(self, now: datetime) -> int:
        changed = await self._runner.write(batches.settle_unsettled, now)
        if changed:
            self._on_event()
        return changed

    def _ended(self, record: RunRecord | None) -> RunRecord | None:
        """`record`, once the dispatcher has been told of it if it is terminal (the write that
        made it so may have raised an event)."""
        if record is not None and record.run.status.terminal:
            self._on_event()
        return record
