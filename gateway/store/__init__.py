"""The run ledger: every run created through crosswalk, scoped per client key (design.md §4)."""

from gateway.store.base import DuplicateRun, Ledger, LedgerError, Outbox, WorkQueue, owner_of
from gateway.store.records import INTERRUPTED, ListResult, RecoveryReport, RunRecord
from gateway.store.sqlite import SqliteLedger

__all__ = [
    "INTERRUPTED",
    "DuplicateRun",
    "Ledger",
    "LedgerError",
    "ListResult",
    "Outbox",
    "RecoveryReport",
    "RunRecord",
    "SqliteLedger",
    "WorkQueue",
    "owner_of",
]
