"""Schema version 8: A/B comparisons (gateway/compare), their sides, and the runs made for
them.

A run made for a comparison names it (`runs.comparison_id`); a client's run has NULL there.
Such runs are never listed to their owner, so the indexes listings walk are rebuilt partial,
holding client runs only: a shadowed owner's listing walks no shadow run, however many there
are. Each also holds `comparison_id` (always NULL there) so that a listing's walk still
reads its index only: SQLite reads the table to check a column an index lacks, even the one
its WHERE clause fixes.

A side is linked to its run by (backend, upstream_id), the way a run is named everywhere;
`comparison_sides_run` finds the side a run's terminal save finishes in one indexed
statement, and `comparison_sides_waiting` the sides still waiting for a run.
"""

from __future__ import annotations

CLIENT_RUN = "comparison_id IS NULL"  # the rows listings show, and their indexes hold
SCHEMA_V8 = (
    "ALTER TABLE runs ADD COLUMN comparison_id TEXT",
    "DROP INDEX runs_owner_created",
    f"""CREATE INDEX runs_owner_created ON runs (owner, created_us, seq, comparison_id)
        WHERE {CLIENT_RUN}""",
    "DROP INDEX runs_owner_status",
    f"""CREATE INDEX runs_owner_status ON runs (owner, status, created_us, seq, comparison_id)
        WHERE {CLIENT_RUN}""",
    "DROP INDEX runs_owner_filename_created",
    f"""CREATE INDEX runs_owner_filename_created
        ON runs (owner, filename, created_us, seq, comparison_id) WHERE {CLIENT_RUN}""",
    "DROP INDEX runs_owner_batch",
    f"""CREATE INDEX runs_owner_batch ON runs (owner, batch_id, created_us, seq, comparison_id)
        WHERE batch_id IS NOT NULL AND {CLIENT_RUN}""",
    """CREATE TABLE comparisons (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, only grows: a listing's cursor
        id TEXT NOT NULL UNIQUE,
        owner TEXT NOT NULL,
        source TEXT NOT NULL,  -- 'shadow' | 'replay'
        document TEXT NOT NULL,
        filename TEXT,
        categories BLOB NOT NULL,  -- the caller's canonical categories (msgspec JSON)
        expected TEXT,
        created_us INTEGER NOT NULL,
        completed_us INTEGER
    )""",
    "CREATE INDEX comparisons_owner_seq ON comparisons (owner, seq)",
    "CREATE INDEX comparisons_owner_created ON comparisons (owner, created_us, seq)",
    """CREATE TABLE comparison_sides (
        comparison_id TEXT NOT NULL REFERENCES comparisons (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,  -- 0 is the primary
        backend TEXT NOT NULL,
        upstream_id TEXT,  -- its run's, once the backend made one
        started_us INTEGER NOT NULL,
        finished_us INTEGER,
        error TEXT,
        PRIMARY KEY (comparison_id, backend)
    )""",
    "CREATE INDEX comparison_sides_run ON comparison_sides (backend, upstream_id)",
    """CREATE INDEX comparison_sides_waiting ON comparison_sides (started_us)
        WHERE upstream_id IS NULL AND finished_us IS NULL""",
)
# v9: a side keeps a copy of its run as it finished (msgspec JSON of the canonical run), so
# a client deleting that run later leaves the comparison its answer; reads prefer the live
# run. Sides already finished get theirs from `runs` now. The unfinished sides, with a run
# or without, are what the stale sweep walks (a side whose run was deleted before deletes
# finished sides also waits for ever), so their index holds both. Listings by owner walk
# `comparisons_owner_seq` whether or not `since` is given: its twin by `created_us` was
# never read.
SIDE_OPEN = "finished_us IS NULL"
SCHEMA_V9 = (
    "ALTER TABLE comparison_sides ADD COLUMN run BLOB",
    """UPDATE comparison_sides SET run = (SELECT r.run FROM runs AS r
        WHERE r.backend = comparison_sides.backend AND r.upstream_id = comparison_sides.upstream_id)
        WHERE finished_us IS NOT NULL AND upstream_id IS NOT NULL""",
    "DROP INDEX comparisons_owner_created",
    "DROP INDEX comparison_sides_waiting",
    f"CREATE INDEX comparison_sides_open ON comparison_sides (started_us) WHERE {SIDE_OPEN}",
)
