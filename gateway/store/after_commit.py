"""`after_commit`: a job's side effects outside the database (a metric counted, a warning
logged) made once, when what they report has committed.

PostgreSQL's runner runs a write job again whole after its SERIALIZABLE transaction lost a
race (gateway/store/postgres/runner.py), so an effect made inside the job would be made once
per try. A connection that can defer (`DefersToCommit`: PostgreSQL's) keeps the effect until
its transaction commits and drops it on a rollback; SQLite's jobs run once on its one writer
(a transaction there never loses a race), so the effect is made at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from gateway.store.sql import Connection


@runtime_checkable
class DefersToCommit(Protocol):
    """A connection that runs callbacks once its open transaction has committed."""

    def after_commit(self, effect: Callable[[], None]) -> None:
        """Run `effect` once the open transaction commits (now, with none open); never if
        it rolls back."""
        ...


def after_commit(conn: Connection, effect: Callable[[], None]) -> None:
    """`effect` once the write on `conn` has committed (see the module docstring)."""
    if isinstance(conn, DefersToCommit):
        conn.after_commit(effect)
    else:
        effect()
