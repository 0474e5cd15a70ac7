"""The ledger's interface for batches of runs (gateway/batch): what batch workers, the batch
service and the settler need from any store; `SqliteLedger` implements it beside `Ledger`.
Re-exported by `gateway.store.base`. Imports only the stdlib and `gateway.store` records.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from gateway.store.batch_records import BatchRecord, ClaimedInput
from gateway.store.records import RunRecord


class BatchLedger(Protocol):
    """Batches of runs, each input kept until its run is made: batch workers in any process
    claim inputs under a lease, so a restart loses none and creates none twice.

    A run recorded (`Ledger.insert`) with `batch_id` and `batch_input` set marks its input
    created in the same write, and is refused (DuplicateRun) if the input has a run already.
    """

    async def insert_batch(
        self, batch: BatchRecord, inputs: Sequence[bytes], *, backends: Sequence[str] = ()
    ) -> BatchRecord:
        """Record a batch and its inputs (each the `/classify_runs` body it becomes) in one
        transaction; a relayed batch has none. `backends`, when given, names each input's
        backend (a split batch); otherwise every input is created on the batch's."""
        ...

    async def get_batch(self, owner: str, batch_id: str) -> BatchRecord | None:
        """The owner's batch, or None (also for another owner's)."""
        ...

    async def claim_batch_input(
        self, worker: str, lease_seconds: float, now: datetime
    ) -> ClaimedInput | None:
        """Lease the oldest pending input no live lease holds to `worker`, counting the
        attempt; its batch is processing from then on."""
        ...

    async def extend_batch_lease(
        self, batch_id: str, index: int, worker: str, lease_seconds: float, now: datetime
    ) -> bool:
        """Extend `worker`'s lease on a pending input; False if it no longer holds it."""
        ...

    async def release_batch_input(
        self, batch_id: str, index: int, worker: str, retry_at: datetime
    ) -> bool:
        """Give back a pending input `worker` holds, to be claimed again from `retry_at`."""
        ...

    async def refuse_batch_input(self, record: RunRecord, now: datetime) -> bool:
        """Record the failed run of an input that could not be created (named by the
        record's `batch_id` and `batch_input`); False, recording nothing, if the input is no
        longer pending."""
        ...

    async def settle_batches(self, now: datetime) -> int:
        """Bring every unsettled batch's status in line with its inputs and runs; how many
        changed."""
