"""Which of an owner's runs a listing's filters select, in listing order: the SQL of each
filter, and the index or trigram search that finds the matches without a scan of the ledger.

- no filename filter: `runs_owner_created` (or `runs_owner_status`) walks the owner's runs in
  order and stops at the page's end;
- `filename` (exact, case-sensitive): `runs_owner_filename_created`, which also serves the
  order, so only matching entries are read;
- `batch_id`: `runs_owner_batch` (schema v6), likewise;
- `filename_contains` (a substring of the casefolded name): two ways race, a batch of each
  in turn, and the first to finish answers: the owner's runs walked in order and checked one
  by one (quick when matches are common: most pages end within the first batch, before the
  index is asked), and the FTS5 trigram index, which names every run of any owner holding
  the needle, then sorted (quick when they are rare). So a listing costs a small multiple of
  the better of the two, and only a needle common among other owners' runs but rare among
  this owner's is slow both ways. A needle under three characters (after casefolding) makes
  no trigram, and FTS5 cannot read one holding a NUL: those are only walked, which is slower
  the rarer they are. On PostgreSQL the substring is found by the ordered walk alone, whose
  `LIKE` its pg_trgm index serves (`gateway.store.sql_dialect`).

A run made for a comparison is never listed: every walk selects client runs only, which the
listing indexes alone hold (schema v8).

Every function returns `seq`s only (index-sized work); the records are read by `seq` after.
"""

from __future__ import annotations

import sqlite3
from typing import Any, NamedTuple

from gateway.store.sql import Connection
from gateway.store.sql_dialect import SQLITE, Dialect, dialect_of
from gateway.store.sqlite.comparison_schema import CLIENT_RUN
from gateway.store.sqlite.schema import HOLDS_NUL, NUL_NAMES_INDEX, SEARCH_TABLE
from gateway.store.sqlite.times import to_us
from mappings import canonical

TRIGRAM = 3  # the shortest needle FTS5's trigram tokenizer can find
# rows per turn of the race: a walked row costs about a quarter of a row the index names
# (which is joined to its run), so both sides spend about the same time per turn
WALK_BATCH, SEARCH_BATCH = 64, 16

Sql = tuple[str, tuple[Any, ...]]


class Scan(NamedTuple):
    """One walk over the owner's runs that `query` selects, in `ascending` (created, seq)
    order, from just past `anchor` (a (created_us, seq) position), or from it when
    `from_anchor`; from the start without one."""

    owner: str
    query: canonical.ListQuery
    ascending: bool
    anchor: tuple[int, int] | None = None
    from_anchor: bool = False


def matching_seqs(conn: Connection, scan: Scan, want: int) -> list[int]:
    """The `seq`s of the first `want` runs `scan` meets."""
    needle = needle_of(scan.query)
    if (
        needle is not None
        and scan.query.filename is None
        and searchable(needle)
        and isinstance(conn, sqlite3.Connection)  # the race needs FTS5
    ):
        return _race(conn, scan, needle, want)
    return _seqs(conn, ordered_sql(scan, want, dialect_of(conn)))


def searchable(needle: str) -> bool:
    """Whether the trigram index can find `needle`: three characters at least, and no NUL
    (FTS5 reads a query only up to one)."""
    return len(needle) >= TRIGRAM and "\x00" not in needle


def _race(conn: sqlite3.Connection, scan: Scan, needle: str, want: int) -> list[int]:
    """The walk against the trigram index, a batch of each in turn (see the module's doc);
    the index is only asked once the walk's first batch has not answered."""
    walk = conn.execute(*walk_sql(scan, needle))
    search: sqlite3.Cursor | None = None
    try:
        found: list[int] = []
        matches: list[tuple[int, int]] = []
        while True:
            stepped = walk.fetchmany(WALK_BATCH)
            found += [seq for seq, hit in stepped if hit]
            if len(found) >= want or len(stepped) < WALK_BATCH:
                return found[:want]  # enough, or the walk saw every candidate
            if search is None:
                search = conn.execute(*trigram_sql(scan, needle))
            named = search.fetchmany(SEARCH_BATCH)
            matches += [(created, seq) for created, seq, hit in named if hit]
            if len(named) < SEARCH_BATCH:  # the index has named every match
                # a name holding a NUL may be named twice: by the FTS index and as such
                ordered = sorted(set(matches), reverse=not scan.ascending)
                return [seq for _, seq in ordered[:want]]
    finally:
        walk.close()
        if search is not None:
            search.close()


def needle_of(query: canonical.ListQuery) -> str | None:
    """The substring searched for, folded as `runs.filename_folded` is; None for no filter."""
    return query.filename_contains.casefold() if query.filename_contains else None


def ordered_sql(scan: Scan, want: int, dialect: Dialect = SQLITE) -> Sql:
    """The first `want` matches by an index walk in order; the exact-filename index when
    there is a filename."""
    where, params = _where(scan, "")
    needle = needle_of(scan.query)
    if needle is not None:
        where += " AND " + dialect.contains("filename_folded")
        params += (dialect.needle(needle),)
    by_name = scan.query.filename is not None
    hint = dialect.indexed_by("runs_owner_filename_created") if by_name else ""
    return f"SELECT seq FROM runs{hint} WHERE {where}{_order(scan, '')} LIMIT ?", (*params, want)


def walk_sql(scan: Scan, needle: str) -> Sql:
    """Every candidate in order (all filters but the substring), each with whether its name
    holds `needle`: one row per step, however rare the matches."""
    where, params = _where(scan, "")
    hit = SQLITE.contains("filename_folded")
    sql = f"SELECT seq, {hit} FROM runs WHERE {where}{_order(scan, '')}"
    return sql, (needle, *params)


def trigram_sql(scan: Scan, needle: str) -> Sql:
    """Every run of any owner whose name the trigram index says holds `needle`, in no order,
    as (created_us, seq, whether it matches every filter): one row per step, however few are
    the owner's. The index only narrows: `instr` decides, as on the other paths."""
    where, params = _where(scan, "r.")
    verdict = f"r.created_us, r.seq, {where} AND {SQLITE.contains('r.filename_folded')}"
    sql = (
        f"SELECT {verdict} "
        f"FROM {SEARCH_TABLE} AS f CROSS JOIN runs AS r ON r.seq = f.rowid "
        "WHERE f.filename_folded MATCH ? "
        # names holding a NUL are indexed only up to it: each is named here too (schema v3)
        f"UNION ALL SELECT {verdict} FROM runs AS r INDEXED BY {NUL_NAMES_INDEX} "
        f"WHERE r.owner = ? AND {HOLDS_NUL.replace('filename_folded', 'r.filename_folded')}"
    )
    return sql, (*params, needle, _phrase(needle), *params, needle, scan.owner)


def _phrase(needle: str) -> str:
    # an FTS5 string: any character stands for itself, a double quote is doubled
    return '"' + needle.replace('"', '""') + '"'


def _where(scan: Scan, table: str) -> Sql:
    """Every filter but the substring, and the anchor, over columns prefixed `table`."""
    query = scan.query
    clauses, params = [f"{table}owner = ?", table + CLIENT_RUN], list[Any]([scan.owner])
    if query.status is not None:
        clauses.append(f"{table}status = ?")
        params.append(query.status.value)
    if query.filename is not None:
        clauses.append(f"{table}filename = ?")
        params.append(query.filename)
    if query.batch_id is not None:  # runs_owner_batch
        clauses.append(f"{table}batch_id = ?")
        params.append(query.batch_id)
    if query.created_from is not None:
        clauses.append(f"{table}created_us >= ?")
        params.append(to_us(query.created_from))
    if query.created_to is not None:
        clauses.append(f"{table}created_us <= ?")
        params.append(to_us(query.created_to))
    if scan.anchor is not None:
        side = (">" if scan.ascending else "<") + ("=" if scan.from_anchor else "")
        clauses.append(f"({table}created_us, {table}seq) {side} (?, ?)")
        params.extend(scan.anchor)
    return " AND ".join(clauses), tuple(params)


def _order(scan: Scan, table: str) -> str:
    way = "ASC" if scan.ascending else "DESC"
    return f" ORDER BY {table}created_us {way}, {table}seq {way}"


def _seqs(conn: Connection, sql: Sql) -> list[int]:
    return [seq for (seq,) in conn.execute(*sql).fetchall()]
