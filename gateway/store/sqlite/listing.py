"""One page of an owner's runs: the filters, keyset pagination on (created_at, seq) from a
cursor record in either direction, and whether more lie either side of the page."""

from __future__ import annotations

import sqlite3
from typing import Any

from gateway.store.records import ListResult
from gateway.store.sqlite.rows import BY_OWNER_RUN, SELECT, record_of, to_us
from mappings import canonical


def list_page(
    conn: sqlite3.Connection,
    owner: str,
    query: canonical.ListQuery,
    cursor: tuple[str, str] | None,
) -> ListResult:
    """The page `Ledger.list` describes."""
    if query.order not in ("asc", "desc") or query.direction not in ("after", "before"):
        raise ValueError(f"unknown order {query.order!r} or direction {query.direction!r}")
    if query.limit < 1:
        raise ValueError(f"limit must be at least 1, got {query.limit}")
    where, params = _filters(owner, query)
    forward = cursor is None or query.direction == "after"
    ascending = (query.order == "asc") == forward  # the way the scan walks (created, seq)
    anchor: tuple[int, int] | None = None
    if cursor is not None:
        row = conn.execute(
            "SELECT created_us, seq FROM runs" + BY_OWNER_RUN, (owner, *cursor)
        ).fetchone()
        if row is None:
            return ListResult(records=(), has_more_after=False, has_more_before=False)
        anchor = (row[0], row[1])
    scan_where, scan_params = where, params
    if anchor is not None:
        scan_where += f" AND (created_us, seq) {'>' if ascending else '<'} (?, ?)"
        scan_params += anchor
    way = "ASC" if ascending else "DESC"
    rows = conn.execute(
        f"{SELECT} WHERE {scan_where} ORDER BY created_us {way}, seq {way} LIMIT ?",
        (*scan_params, query.limit + 1),
    ).fetchall()
    page = [record_of(r) for r in rows[: query.limit]]
    ahead = len(rows) > query.limit
    behind = anchor is not None and _exists_behind(conn, where, params, anchor, ascending)
    if not forward:
        page.reverse()  # read backwards from the cursor, shown in the query's order
    return ListResult(
        records=tuple(page),
        has_more_after=ahead if forward else behind,
        has_more_before=behind if forward else ahead,
    )


def _filters(owner: str, query: canonical.ListQuery) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause (without the keyword) that every part of one listing shares."""
    clauses, params = ["owner = ?"], list[Any]([owner])
    if query.status is not None:
        clauses.append("status = ?")
        params.append(query.status.value)
    if query.filename is not None:
        clauses.append("filename = ?")
        params.append(query.filename)
    if query.filename_contains:
        clauses.append("instr(filename_folded, ?) > 0")
        params.append(query.filename_contains.casefold())
    if query.created_from is not None:
        clauses.append("created_us >= ?")
        params.append(to_us(query.created_from))
    if query.created_to is not None:
        clauses.append("created_us <= ?")
        params.append(to_us(query.created_to))
    return " AND ".join(clauses), tuple(params)


def _exists_behind(
    conn: sqlite3.Connection,
    where: str,
    params: tuple[Any, ...],
    anchor: tuple[int, int],
    ascending: bool,
) -> bool:
    """Whether anything matching lies on the cursor's other side, the cursor included."""
    side = "<=" if ascending else ">="
    sql = f"SELECT EXISTS (SELECT 1 FROM runs WHERE {where} AND (created_us, seq) {side} (?, ?))"
    return bool(conn.execute(sql, (*params, *anchor)).fetchone()[0])
