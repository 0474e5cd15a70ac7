"""The indexes claims walk (SQLite's schema version 12, PostgreSQL's version 3): only live
rows, so a claim's cost does not grow with the finished runs and inputs behind it.

A run claim and `unfinished` read `runs_live`, holding only runs not yet finished, in `seq`
order per backend; their queries repeat `LIVE` word for word, as SQLite uses a partial index
only for a query whose WHERE holds its predicate's terms. A batch input's claim reads
`batch_inputs_claimable`, pending inputs in their batch's `seq` order: `batch_seq` is copied
from the batch when the input is written (a correlated subquery per row would read every
pending input to sort them). On PostgreSQL reading few rows matters twice: a SERIALIZABLE
transaction's scan of the whole table locks its predicate on all of it, so every concurrent
claim conflicted with every other.

The statements are the same on both stores (SQLite reads BIGINT as INTEGER).
"""

from __future__ import annotations

LIVE = "status IN ('pending', 'queued', 'running')"
SCHEMA_CLAIMS = (
    f"CREATE INDEX runs_live ON runs (backend, seq) WHERE {LIVE}",
    "ALTER TABLE batch_inputs ADD COLUMN batch_seq BIGINT",
    "UPDATE batch_inputs SET batch_seq = (SELECT seq FROM batches WHERE id = batch_id)",
    """CREATE INDEX batch_inputs_claimable ON batch_inputs (batch_seq, idx)
        WHERE state = 'pending'""",
    "DROP INDEX batch_inputs_pending",  # what the claim walked before: this one replaces it
)
