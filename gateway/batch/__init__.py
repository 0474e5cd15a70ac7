"""Extend batch runs on any backend (contracts.md §5): `POST /classify_runs/batch` fanned out
as one classify run per input, created by batch workers from inputs kept in the ledger, or
relayed as one call to an Extend backend that knows the classifier; `GET /batch_runs/{id}`.
"""

from gateway.batch.service import BatchService
from gateway.batch.worker import BatchWorker, start_batch_workers

__all__ = ["BatchService", "BatchWorker", "start_batch_workers"]
