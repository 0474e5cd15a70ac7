"""Schema version 6: batches of runs (gateway/batch), their inputs, and the runs' batch.

A batch crosswalk fans out keeps one `batch_inputs` row per input, the `/classify_runs` body
it becomes, written with the batch in one transaction. A run recorded for an input names it
(`runs.batch_id`, `runs.batch_input`), and the trigger below marks the input created in the
very statement that records the run: no crash can leave a run recorded and its input still
pending (created twice), nor an input created with no run. It also refuses a second run for
an input that already has one. Listings by batch walk `runs_owner_batch`.
"""

from __future__ import annotations

UNSETTLED = "status IN ('pending', 'processing')"
SCHEMA_V6 = (
    """CREATE TABLE batches (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,  -- the public id, bpr_…
        owner TEXT NOT NULL,
        backend TEXT NOT NULL,
        upstream_id TEXT,  -- the vendor's id of a relayed batch; NULL for one fanned out here
        status TEXT NOT NULL,  -- canonical.BatchStatus
        run_count INTEGER NOT NULL,
        forward TEXT NOT NULL DEFAULT '{}',  -- the client headers its runs' calls carry (JSON)
        created_us INTEGER NOT NULL,
        updated_us INTEGER NOT NULL
    )""",
    f"CREATE INDEX batches_unsettled ON batches (seq) WHERE {UNSETTLED}",
    """CREATE TABLE batch_inputs (
        batch_id TEXT NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        body BLOB NOT NULL,  -- the /classify_runs body the input becomes (JSON)
        state TEXT NOT NULL DEFAULT 'pending',  -- pending, created, refused
        run_key TEXT,  -- runs.key of its run, once it has one
        claimed_by TEXT,
        lease_until_us INTEGER,  -- also: not to be retried before (after a passing failure)
        attempts INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (batch_id, idx)
    )""",
    # walked in rowid order: the oldest batch's inputs first, each batch in input order
    "CREATE INDEX batch_inputs_pending ON batch_inputs (state) WHERE state = 'pending'",
    "ALTER TABLE runs ADD COLUMN batch_id TEXT",
    "ALTER TABLE runs ADD COLUMN batch_input INTEGER",
    """CREATE INDEX runs_owner_batch ON runs (owner, batch_id, created_us, seq)
        WHERE batch_id IS NOT NULL""",
    """CREATE TRIGGER runs_batch_input AFTER INSERT ON runs WHEN new.batch_input IS NOT NULL
    BEGIN
        SELECT RAISE(ABORT, 'the batch input is not pending: it has a run already')
        WHERE NOT EXISTS (
            SELECT 1 FROM batch_inputs
            WHERE batch_id = new.batch_id AND idx = new.batch_input AND state = 'pending'
        );
        UPDATE batch_inputs
        SET state = 'created', run_key = new.key, claimed_by = NULL, lease_until_us = NULL
        WHERE batch_id = new.batch_id AND idx = new.batch_input;
    END""",
)
# Schema version 7: an input of a split batch (gateway/routing.py) names its own backend;
# NULL for one created on its batch's
SCHEMA_V7 = ("ALTER TABLE batch_inputs ADD COLUMN backend TEXT",)
