"""The run ledger's interfaces: what the gateway needs from any store (design.md §4, §9).

`Ledger` is the owner-scoped record of every run, and through `FileLedger` the metadata of
every file uploaded (the bytes live on disk: `gateway/files/`); `WorkQueue` the local
backend's queue of background work kept in the same store; `Outbox` (`webhook_outbox`) the
webhook events owed to endpoints, raised in the same writes as the changes they report;
`BatchLedger` (`batch_ledger`) the batches of runs and their inputs still to be created
(gateway/batch); `ComparisonLedger` (`comparison_ledger`) the A/B comparisons of backends
(gateway/compare). `SqlLedger` (`gateway/store/sql_ledger.py`) implements them all by
running the jobs of `gateway/store/sqlite/*.py`, the SQL both stores run, on a store's
`LedgerRunner`: `SqliteLedger` over one SQLite file, the PostgreSQL store over its pool.
Imports only the stdlib, `gateway.store.records`, `gateway.store.batch_records`,
`gateway.store.comparison_records`, `gateway.files.records` and `mappings`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from gateway.files.records import FileListResult, FileRecord
from gateway.store.batch_ledger import BatchLedger as BatchLedger  # re-exported
from gateway.store.comparison_ledger import ComparisonLedger as ComparisonLedger  # re-exported
from gateway.store.comparison_ledger import DuplicateComparison as DuplicateComparison
from gateway.store.probes import Probed
from gateway.store.records import ListResult, RecoveryReport, RunRecord
from gateway.store.webhook_outbox import Outbox as Outbox  # re-exported
from mappings import canonical
from mappings.files import FileQuery

# Domain separation: an owner hash can never equal a hash of the same key made elsewhere.
_OWNER_PREFIX = b"crosswalk.owner.v1\x00"


def owner_of(api_key: str) -> str:
    """The owner id that scopes a client's runs: a hash of its key, never the key itself."""
    return hashlib.sha256(_OWNER_PREFIX + api_key.encode()).hexdigest()


class LedgerError(Exception):
    """Base of the ledger's own errors."""


class DuplicateRun(LedgerError):
    """A run with this (backend, upstream_id) is already recorded."""


class DuplicateBatch(LedgerError):
    """A batch with this id is already recorded."""


class DuplicateFile(LedgerError):
    """A file with this id is already recorded."""


class FileLedger(Protocol):
    """The metadata of uploaded files, per owner, scoped exactly like runs: a read or delete
    that takes an `owner` never touches another owner's file. `find_file` and the methods
    that take only a file id are for callers that have already found the file through an
    owner-scoped call, or that hold a signed link to it."""

    async def insert_file(self, record: FileRecord) -> FileRecord:
        """Record a new file; returns it with `seq` assigned. Raises DuplicateFile."""
        ...

    async def get_file(self, owner: str, file_id: str) -> FileRecord | None:
        """The owner's file, or None (also for another owner's file)."""
        ...

    async def find_file(self, file_id: str) -> FileRecord | None:
        """The file whoever owns it."""
        ...

    async def list_files(self, owner: str, query: FileQuery) -> FileListResult:
        """A page of the owner's files, filtered and ordered by (created_at, seq), paged from
        `query.cursor` (a file id) as `Ledger.list` pages runs: "after" reads on, "before"
        reads back, both exclusive of the cursor and both in `query.order`. A cursor the
        owner does not have gives an empty page with both flags False."""
        ...

    async def delete_file(self, owner: str, file_id: str) -> FileRecord | None:
        """Forget the owner's file; the record as it was, or None if there was none."""
        ...

    async def add_file_copy(
        self, file_id: str, backend: str, vendor_file_id: str
    ) -> FileRecord | None:
        """Remember that `backend` holds a copy of the file as `vendor_file_id`. The first
        copy recorded wins: the record returned names the copy to use, which is another
        one if a concurrent caller got there first. None if the file is gone."""
        ...

    async def set_file_page_count(self, file_id: str, page_count: int) -> FileRecord | None:
        """Record how many pages the file has, once something has counted them."""
        ...


class Ledger(FileLedger, Probed, Protocol):
    """Records runs per owner and pages through them: what surfaces, the run service and
    refreshers need.

    Reads and deletes that take an `owner` never touch another owner's runs: those look
    absent. Methods without one are for backend internals (refreshes, pass-through), which
    have already found the run through an owner-scoped call.
    """

    async def insert(self, record: RunRecord) -> RunRecord:
        """Record a new run; returns it with `seq` assigned. Raises DuplicateRun.

        Enqueueing local background work is inserting a record whose run is `queued` and
        whose `request` is set.
        """
        ...

    async def get(self, owner: str, backend: str, upstream_id: str) -> RunRecord | None:
        """The owner's record of a run, or None (also for another owner's run)."""
        ...

    async def find(self, backend: str, upstream_id: str) -> RunRecord | None:
        """The record of a run whoever owns it: for checking ownership before a pass-through
        call to a run that may predate crosswalk (it then has no record at all)."""
        ...

    async def unfinished(
        self, backend: str, *, limit: int, after: int = 0
    ) -> tuple[RunRecord, ...]:
        """Up to `limit` runs of `backend` not yet terminal whose `seq` is past `after`, in
        `seq` order: a caller walking them all round, page after page, reaches every one
        however long some stay unfinished."""
        ...

    async def update_run(
        self,
        backend: str,
        upstream_id: str,
        run: canonical.ClassificationRun,
        *,
        only_if_status_in: frozenset[canonical.Status] | None = None,
        now: datetime | None = None,
    ) -> RunRecord | None:
        """Store the latest canonical run; None if the record is gone or, compare-and-set,
        its current status is not in `only_if_status_in` (so a cancel that landed first
        wins over a worker finishing). A terminal run clears the lease and drops the
        document's content. Without `now`, the store's clock stamps `updated_at`."""
        ...

    async def delete(self, owner: str, backend: str, upstream_id: str) -> bool:
        """Forget the owner's run; False if there was none."""
        ...

    async def list(
        self,
        owner: str,
        query: canonical.ListQuery,
        *,
        cursor: tuple[str, str] | None = None,
    ) -> ListResult:
        """A page of the owner's runs, filtered and ordered by (created_at, seq).

        `query.order` is "asc" or "desc"; `query.direction` "after" reads on from the cursor
        record, "before" reads back towards the start, both exclusive of it and both
        returning records in `query.order`. No cursor means the first page in that order.
        `cursor` is the (backend, upstream_id) of a record; one the owner does not have
        (unknown, deleted, or another owner's) gives an empty page with both flags False.
        The query's own `cursor` string is the caller's business and ignored here.
        """
        ...

    async def close(self) -> None:
        """Release the store's connections."""
        ...


class WorkQueue(Protocol):
    """The local backend's background work, kept in the ledger's own records: workers in
    any process claim queued runs under a lease, keep it alive, and finish them; cancels and
    crash recovery act on the same records.

    Enqueueing is `Ledger.insert` of a `queued` record with its `request` set. Only
    `request_cancel` takes an `owner`; the rest belong to workers that hold the run's lease.
    """

    async def claim(
        self,
        worker: str,
        lease_seconds: float,
        now: datetime,
        *,
        backends: Collection[str],
        max_attempts: int | None = None,
    ) -> RunRecord | None:
        """Atomically take the oldest queued run of `backends` (or a running one whose lease
        expired), mark it running under a lease held by `worker`, count the attempt.

        Safe across processes sharing the store. With `max_attempts`, expired runs already
        tried that often are failed (INTERRUPTED) instead of being retaken.
        """
        ...

    async def heartbeat(
        self, backend: str, upstream_id: str, worker: str, lease_seconds: float, now: datetime
    ) -> bool:
        """Extend `worker`'s lease on a running run; False if it no longer holds it."""
        ...

    async def finish(
        self,
        backend: str,
        upstream_id: str,
        worker: str,
        run: canonical.ClassificationRun,
        *,
        now: datetime | None = None,
    ) -> RunRecord | None:
        """Store a worker's result only if the run is still running under its lease; without
        `now`, the store's clock stamps `updated_at`."""
        ...

    async def request_cancel(
        self, owner: str, backend: str, upstream_id: str, now: datetime
    ) -> RunRecord | None:
        """Cancel the owner's queued or running run at once; a terminal run comes back
        unchanged; None if the owner has no such run. A worker still busy with it loses
        the race at `update_run(only_if_status_in=...)` or `finish`."""
        ...

    async def recover(self, now: datetime, max_attempts: int) -> RecoveryReport:
        """Requeue running runs whose lease expired, or fail them with INTERRUPTED once they
        have had `max_attempts` attempts, so none is left hanging or lost."""
        ...
