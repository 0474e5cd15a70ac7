"""The run ledger in one SQLite file, shared by every server process on a host (design.md §4).

`schema` opens and migrates the file, `rows` turns records into rows and back, `writes`,
`listing` (with `filters`, which finds what a listing selects) and `queue` hold the SQL of
each kind of call, `outbox` the webhook outbox's (with `events`, which raises a run's event
in the write that ends it), `threads` the connections and threads it runs on, and `ledger`
the class that runs it.
"""

from gateway.store.sqlite.ledger import SqliteLedger
from gateway.store.sqlite.schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "SqliteLedger"]
