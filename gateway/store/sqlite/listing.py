"""One page of an owner's runs: keyset pagination on (created_at, seq) from a cursor record
in either direction, and whether more lie either side of the page. Which runs match, and
how they are found, is `filters`'s business."""

from __future__ import annotations

from typing import Any

from gateway.store.records import ListResult, RunRecord
from gateway.store.sql import Connection
from gateway.store.sqlite.comparison_schema import CLIENT_RUN
from gateway.store.sqlite.filters import Scan, matching_seqs
from gateway.store.sqlite.rows import BY_OWNER_RUN, SELECT, record_of
from mappings import canonical

_BATCH = 500  # seqs per statement, well under SQLite's limit on parameters
_EMPTY = ListResult(records=(), has_more_after=False, has_more_before=False)


def list_page(
    conn: Connection,
    owner: str,
    query: canonical.ListQuery,
    cursor: tuple[str, str] | None,
) -> ListResult:
    """The page `Ledger.list` describes; run inside one read transaction, so its parts agree."""
    if query.order not in ("asc", "desc") or query.direction not in ("after", "before"):
        raise ValueError(f"unknown order {query.order!r} or direction {query.direction!r}")
    if query.limit < 1:
        raise ValueError(f"limit must be at least 1, got {query.limit}")
    forward = cursor is None or query.direction == "after"
    ascending = (query.order == "asc") == forward  # the way the scan walks (created, seq)
    anchor: tuple[int, int] | None = None
    if cursor is not None:
        row = conn.execute(
            f"SELECT created_us, seq FROM runs{BY_OWNER_RUN} AND {CLIENT_RUN}", (owner, *cursor)
        ).fetchone()
        if row is None:
            return _EMPTY
        anchor = (row[0], row[1])
    seqs = matching_seqs(conn, Scan(owner, query, ascending, anchor), query.limit + 1)
    page = _records(conn, seqs[: query.limit])
    ahead = len(seqs) > query.limit
    # the cursor's other side, the cursor included: walked from it the other way
    back = Scan(owner, query, not ascending, anchor, from_anchor=True)
    behind = anchor is not None and bool(matching_seqs(conn, back, 1))
    if not forward:
        page.reverse()  # read backwards from the cursor, shown in the query's order
    return ListResult(
        records=tuple(page),
        has_more_after=ahead if forward else behind,
        has_more_before=behind if forward else ahead,
    )


def _records(conn: Connection, seqs: list[int]) -> list[RunRecord]:
    """The records of `seqs`, in that order."""
    by_seq: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(seqs), _BATCH):
        batch = seqs[start : start + _BATCH]
        sql = f"{SELECT} WHERE seq IN ({', '.join('?' * len(batch))})"
        by_seq.update((row[0], row) for row in conn.execute(sql, batch).fetchall())
    return [record_of(by_seq[seq]) for seq in seqs]
