"""`bench.overhead`'s figures: the cells measured, issue 14's targets checked against them,
and the one table (or JSON document) they are printed as.

Targets, for crosswalk's rows (each against the minimal proxy with as many workers):
throughput with the mock answering at once ≥ 0.9x for pass-through, ≥ 0.8x translated;
latency added over the direct call with the delayed mock: p50 ≤ 1 ms, p99 ≤ 5 ms at c ≤ 16
and ≤ 20 ms above; and a translated operation faster than LiteLLM's pass-through of it.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Literal

from bench.load import Result
from bench.processes import Server

PASS_THROUGH_RATIO = 0.9
TRANSLATED_RATIO = 0.8
ADDED_P50_MS = 1.0
ADDED_P99_MS = 5.0
ADDED_P99_HIGH_MS = 20.0
HIGH_CONCURRENCY = 16  # above this, the looser p99 target


@dataclass(frozen=True)
class Target:
    """A server measured: `gateway` ones get the client's request, `upstream` ones the call
    crosswalk makes for it; `keyless` ones are sent it without its key."""

    name: str
    server: Server
    via: Literal["gateway", "upstream"]
    workers: int = 1
    keyless: bool = False


@dataclass(frozen=True)
class Cell:
    operation: str
    translated: bool
    connections: int
    delay_ms: float
    target: str
    result: Result


@dataclass
class Report:
    backend: str
    workers: int
    load: str
    delay_ms: float
    seconds: float
    mock_rate: float
    cells: list[Cell]
    rss: dict[str, int]
    skipped: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Row:
    """One line of the table: a server's figures for one operation at one concurrency."""

    operation: str
    connections: int
    target: str
    rate: float
    ratio: float | None  # to the minimal proxy with as many workers
    p50: float  # added over the direct call, ms (the direct row: its own latency)
    p95: float
    p99: float
    errors: int
    verdict: str  # "met", "missed: …" or "" where no target applies


def rows(report: Report) -> list[Row]:
    """Every (operation, concurrency, server) measured, with its targets checked."""
    fast = {(c.operation, c.connections, c.target): c for c in report.cells if c.delay_ms == 0}
    slow = {(c.operation, c.connections, c.target): c for c in report.cells if c.delay_ms != 0}
    found = []
    for key, cell in fast.items():
        operation, connections, target = key
        delayed = slow.get(key)
        direct = slow.get((operation, connections, "direct"))
        base = _baseline(fast, operation, connections, target)
        ratio = cell.result.rate / base.result.rate if base and base.result.rate else None
        latency = _added(delayed, direct, own=target == "direct")
        litellm = fast.get((operation, connections, "litellm"))
        verdict = ""
        if target.startswith("crosswalk"):
            verdict = _verdict(cell, ratio, latency, litellm)
        errors = cell.result.errors + (delayed.result.errors if delayed else 0)
        found.append(
            Row(operation, connections, target, cell.result.rate, ratio, *latency, errors, verdict)
        )
    return found


def _baseline(
    fast: dict[tuple[str, int, str], Cell], operation: str, c: int, target: str
) -> Cell | None:
    if target == "direct":
        return None
    suffix = target.split(" ", 1)[1] if " " in target else ""
    return fast.get((operation, c, f"minimal {suffix}".strip()))


def _added(delayed: Cell | None, direct: Cell | None, *, own: bool) -> tuple[float, float, float]:
    # no answer at all (every request timed out): wrk's empty record reads as 0 ms
    if delayed is None or direct is None or not delayed.result.requests:
        return (float("nan"),) * 3
    mine, theirs = delayed.result, direct.result
    if own:
        return mine.p50, mine.p95, mine.p99
    return mine.p50 - theirs.p50, mine.p95 - theirs.p95, mine.p99 - theirs.p99


def _verdict(
    cell: Cell, ratio: float | None, latency: tuple[float, float, float], litellm: Cell | None
) -> str:
    missed = []
    floor = TRANSLATED_RATIO if cell.translated else PASS_THROUGH_RATIO
    if ratio is not None and ratio < floor:
        missed.append(f"x{ratio:.2f}<{floor}")
    p50, _, p99 = latency
    if p50 > ADDED_P50_MS:
        missed.append(f"p50 +{p50:.1f}>{ADDED_P50_MS:g}")
    ceiling = ADDED_P99_MS if cell.connections <= HIGH_CONCURRENCY else ADDED_P99_HIGH_MS
    if p99 > ceiling:
        missed.append(f"p99 +{p99:.1f}>{ceiling:g}")
    if cell.translated and litellm is not None and cell.result.rate <= litellm.result.rate:
        missed.append("slower than LiteLLM")
    if cell.result.errors:
        missed.append(f"{cell.result.errors} errors")
    return "missed: " + ", ".join(missed) if missed else "met"


def as_text(report: Report) -> str:
    lines = [
        f"crosswalk overhead: {report.backend} backend on the mock; load: {report.load}"
        + (" (a Python loop: NOT real figures)" if report.load == "python" else ""),
        f"cells of {report.seconds:g} s; req/s with the mock answering at once; +p50/+p95/+p99: "
        f"ms added over the direct call with the mock answering after {report.delay_ms:g} ms "
        "(direct rows: its own latency); x: req/s over the minimal proxy with as many workers",
        f"mock alone, c=64: {report.mock_rate:,.0f} req/s",
        "",
        f"{'operation':<18} {'c':>3} {'server':<14} {'req/s':>8} {'x':>5} "
        f"{'+p50':>7} {'+p95':>7} {'+p99':>7}  target",
    ]
    for row in rows(report):
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else "-"
        errors = f" ({row.errors} errors)" if row.errors and not row.verdict else ""
        lines.append(
            f"{row.operation:<18} {row.connections:>3} {row.target:<14} {row.rate:>8.0f} "
            f"{ratio:>5} {row.p50:>7.2f} {row.p95:>7.2f} {row.p99:>7.2f}  {row.verdict}{errors}"
        )
    lines.append("")
    lines.append(
        "RSS after the run: "
        + ", ".join(f"{name} {size / 2**20:.0f} MB" for name, size in report.rss.items())
    )
    lines += [f"{name}: {reason}" for name, reason in report.skipped.items()]
    return "\n".join(lines)


def as_json(report: Report) -> str:
    document = {
        "backend": report.backend,
        "workers": report.workers,
        "load": report.load,
        "delay_ms": report.delay_ms,
        "seconds": report.seconds,
        "mock_rate": report.mock_rate,
        "rows": [_finite(asdict(row)) for row in rows(report)],
        "rss_bytes": report.rss,
        "skipped": report.skipped,
    }
    return json.dumps(document, indent=2, allow_nan=False)


def _finite(row: dict[str, object]) -> dict[str, object]:
    """NaN (a figure not measured) as null: JSON has no NaN."""
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
