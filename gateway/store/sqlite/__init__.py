"""The run ledger in one SQLite file, shared by every server process on a host (design.md §4),
and the ledger's SQL, which the PostgreSQL store runs too.

The job modules are the SQL both stores run, each a function of a `gateway.store.sql`
`Connection`: `rows` turns records into rows and back, `writes`, `listing` (with `filters`,
which finds what a listing selects) and `queue` hold the SQL of each kind of call, `outbox`
the webhook outbox's (with `events`, which raises a run's event in the write that ends it),
and `files`, `batches`, `comparisons` and `idempotency` theirs; where SQLite is written for
apart, `gateway.store.sql_dialect` says so. SQLite's own: `schema` opens and migrates the
file, `threads` holds the connections and threads it runs on, `existing` checks a file
before an admin command opens it, and `ledger` opens `SqlLedger` over them.
"""

from gateway.store.sqlite.ledger import SqliteLedger
from gateway.store.sqlite.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "SqliteLedger"]
