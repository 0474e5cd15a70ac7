"""Listing an owner's runs by filename from a large SQLite ledger: index-driven against the
old query, at 20,000 and at 100,000 runs.

A ledger file is filled in one transaction (through the real schema and its triggers) with
runs named like `Invoice-004201.pdf`, nine in ten of them one owner's. For each query the
first page (10 runs, newest first) is read as `SqliteLedger.list` reads it (`list_page` in
a read transaction, records decoded), next to a baseline measured in the same run on the
same file: the query every listing ran before schema 2, one `SELECT` walking the owner's
runs in creation order through `runs_owner_created` and testing each name (forced with
`INDEXED BY`, the plan SQLite chose then), its page decoded the same way. Figures are the
median of several runs after a warm-up. Then the file grows to 100,000 runs and everything
is measured again: the indexed figures stay about flat where the baseline's grow about
fivefold. Not every row is a win: pages the old walk ended at once (unfiltered, a common
needle) pay some microseconds for finding `seq`s first and records after; a needle under
three characters has no trigram and is still checked run by run; and a needle in about one
run of a hundred, where the old walk (all inside SQLite) ended soonest, now walks row by row
in Python beside the trigram index and costs a millisecond or two more, at either size.

Run from the repository root:

    python -m bench.listing
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import NamedTuple

from gateway.store.base import owner_of
from gateway.store.records import RunRecord
from gateway.store.sqlite.listing import list_page
from gateway.store.sqlite.rows import SELECT, record_of
from gateway.store.sqlite.schema import connect, connect_reader, immediate, snapshot
from gateway.store.sqlite.writes import INSERT, insert_params
from mappings import canonical

SIZES = (20_000, 100_000)
PAGE = 10
REPETITIONS = 15
WARMUP = 2
KINDS = ("Invoice", "receipt", "contract", "letter", "statement")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
OWNER, OTHER = owner_of("bench-owner"), owner_of("bench-other")
CONFIG = canonical.RunConfig(
    categories=tuple(canonical.Category(key=k.lower(), name=k) for k in KINDS)
)


class Case(NamedTuple):
    label: str
    query: canonical.ListQuery
    baseline_filter: str  # the old WHERE clause beyond `owner = ?`
    baseline_param: str | None


def name_of(i: int) -> str:
    return f"{KINDS[i % len(KINDS)]}-{i:06d}.pdf"


CASES = (
    Case("unfiltered", canonical.ListQuery(limit=PAGE), "", None),
    Case(
        "filename= (exact, 1 match)",
        canonical.ListQuery(limit=PAGE, filename=name_of(4201)),
        " AND filename = ?",
        name_of(4201),
    ),
    *(
        Case(
            f"fileNameContains={needle!r} ({what})",
            canonical.ListQuery(limit=PAGE, filename_contains=needle),
            " AND instr(filename_folded, ?) > 0",
            needle.casefold(),
        )
        for needle, what in (
            ("004201", "1 match"),
            ("INVOICE", "1 in 5"),
            ("00.pdf", "1 in 100"),
            ("nowhere", "none"),
            ("zq", "none, under 3 chars"),
        )
    ),
)


def run_record(i: int) -> RunRecord:
    """A finished run, as a terminal run is kept: categories and no document content."""
    created = T0 + timedelta(seconds=i)
    document = canonical.InlineDocument(data=b"", filename=name_of(i), mime_type="x/pdf")
    request = canonical.ClassifyRequest(document=document, config=CONFIG)
    decision = canonical.Decision(category_key="invoice", category_name="Invoice")
    run = canonical.ClassificationRun(
        id=f"run{i:06d}",
        status=canonical.Status.completed,
        config=CONFIG,
        decision=decision,
        created_at=created,
    )
    return RunRecord(
        key=f"local:run{i:06d}",
        owner=OTHER if i % 10 == 9 else OWNER,
        backend="local",
        upstream_id=run.id,
        surface="retab",
        run=run,
        request=request,
        filename=name_of(i),
        created_at=created,
        updated_at=created,
    )


def fill(conn: sqlite3.Connection, start: int, stop: int) -> float:
    """Insert runs start..stop-1 in one transaction; the seconds it took."""
    began = time.perf_counter()
    with immediate(conn):
        conn.executemany(INSERT, (insert_params(run_record(i)) for i in range(start, stop)))
    return time.perf_counter() - began


def indexed(conn: sqlite3.Connection, case: Case) -> int:
    """The first page as the ledger lists it now."""
    with snapshot(conn):
        return len(list_page(conn, OWNER, case.query, None).records)


def baseline(conn: sqlite3.Connection, case: Case) -> int:
    """The first page as the ledger listed it before schema 2."""
    sql = (
        f"{SELECT} INDEXED BY runs_owner_created WHERE owner = ?{case.baseline_filter} "
        "ORDER BY created_us DESC, seq DESC LIMIT ?"
    )
    params = (OWNER, case.baseline_param) if case.baseline_param is not None else (OWNER,)
    with snapshot(conn):
        rows = conn.execute(sql, (*params, PAGE + 1)).fetchall()
        return len([record_of(row) for row in rows[:PAGE]])


def median_ms(work: Callable[[], int]) -> tuple[float, int]:
    """The median milliseconds of `work` over REPETITIONS, and what it returned."""
    times: list[float] = []
    found = 0
    for repetition in range(WARMUP + REPETITIONS):
        began = time.perf_counter()
        found = work()
        if repetition >= WARMUP:
            times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), found


def measure(reader: sqlite3.Connection) -> Iterator[tuple[Case, float, float]]:
    for case in CASES:
        old, old_found = median_ms(partial(baseline, reader, case))
        new, new_found = median_ms(partial(indexed, reader, case))
        assert old_found == new_found, f"{case.label}: {old_found} != {new_found} runs"
        yield case, old, new


def main() -> None:
    print(f"SQLite {sqlite3.sqlite_version}; first page of {PAGE}, newest first; median ms")
    results: dict[int, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "ledger.db")
        writer = connect(path)
        reader = connect_reader(path)
        try:
            done = 0
            for size in SIZES:
                seconds = fill(writer, done, size)
                print(f"\n{size:,} runs ({size - done:,} inserted in {seconds:.1f} s)")
                print(f"{'query':<44} {'baseline':>9} {'indexed':>9} {'speed-up':>9}")
                done = size
                results[size] = {}
                for case, old, new in measure(reader):
                    results[size][case.label] = (old, new)
                    print(f"{case.label:<44} {old:>9.3f} {new:>9.3f} {old / new:>8.1f}x")
        finally:
            reader.close()
            writer.close()
    small, large = SIZES
    print(f"\ngrowth from {small:,} to {large:,} runs (x{large / small:g} runs)")
    print(f"{'query':<44} {'baseline':>9} {'indexed':>9}")
    for label, (old, new) in results[large].items():
        old_small, new_small = results[small][label]
        print(f"{label:<44} {old / old_small:>8.1f}x {new / new_small:>8.1f}x")


if __name__ == "__main__":
    main()
