"""The benchmarks of bench/ start everything they measure, print their figures and leave no
process behind.

Each runs with its smallest setting, driven by bench/load.py's Python loop (never real
figures, but no wrk needed), without LiteLLM, on loopback only. Every process a run starts
inherits a marker in its environment, so any left over is found by it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from contextlib import suppress
from pathlib import Path

from tests.harness import wait_until

ROOT = Path(__file__).resolve().parent.parent
MARK_ENV = "CROSSWALK_BENCH_SMOKE"
SMOKE_SECONDS = 240
SERVERS = ("direct", "minimal", "crosswalk")
OPERATIONS = ("pass-through get", "translated get", "translated create")


def run_bench(module: str, *args: str) -> str:
    """The module's output once it exited 0 and every process it started is gone."""
    mark = f"{MARK_ENV}={uuid.uuid4().hex}".encode()
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=SMOKE_SECONDS,
        cwd=ROOT,
        env={**os.environ, MARK_ENV: mark.decode().split("=", 1)[1]},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    wait_until(lambda: not _marked(mark), timeout=10)
    return done.stdout


def _marked(mark: bytes) -> list[int]:
    """Processes whose environment holds `mark`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError):
                if mark in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
    return found


def test_overhead_measures_every_server_for_every_operation() -> None:
    """One short run prints a row for the direct call, the minimal proxy and crosswalk for
    each operation, crosswalk's with its targets checked, and stops every server."""
    out = run_bench(
        "bench.overhead",
        *("--no-litellm", "--load", "python", "--workers", "1"),
        *("--concurrency", "1", "--seconds", "0.3", "--warmup", "0", "--json"),
    )
    report = json.loads(out)
    rows = {(row["operation"], row["target"]): row for row in report["rows"]}
    assert set(rows) == {(op, server) for op in OPERATIONS for server in SERVERS}
    assert all(row["rate"] > 0 and row["errors"] == 0 for row in rows.values())
    for operation in OPERATIONS:
        crosswalk = rows[(operation, "crosswalk")]
        assert crosswalk["ratio"] is not None
        assert crosswalk["verdict"].startswith(("met", "missed"))
        assert rows[(operation, "direct")]["p50"] >= 20  # the mock's 20 ms delay run
    assert report["mock_rate"] > 0
    assert set(report["rss_bytes"]) == set(SERVERS)
    assert report["skipped"] == {"litellm": "left out (--no-litellm)"}


def test_overhead_prints_one_table() -> None:
    """Without --json the figures are one table with the crosswalk rows' targets marked."""
    out = run_bench(
        "bench.overhead",
        *("--no-litellm", "--load", "python", "--workers", "1", "--backend", "extend"),
        *("--concurrency", "1", "--seconds", "0.2", "--warmup", "0"),
    )
    assert "NOT real figures" in out
    table = [line for line in out.splitlines() if line.startswith(OPERATIONS)]
    assert len(table) == len(OPERATIONS) * len(SERVERS)
    assert all(("met" in line or "missed" in line) for line in table if "crosswalk" in line)
    assert "RSS after the run: direct" in out


def test_payload_sends_a_document_both_ways() -> None:
    """A document goes through crosswalk by upload and inline, each answered and measured."""
    out = run_bench("bench.payload", "--sizes", "2M")
    rows = [line.split() for line in out.splitlines() if line.startswith(("upload", "inline"))]
    assert [(row[0], row[1], row[2]) for row in rows] == [
        ("upload", "2,000,000", "200"),
        ("inline", "2,000,000", "201"),
    ]


def test_soak_reports_memory_and_log_bytes() -> None:
    """A few seconds of soak report the gateway's RSS and its log bytes per request."""
    out = run_bench("bench.soak", *("--minutes", "0.05", "--connections", "2", "--load", "python"))
    assert "NOT real figures" in out
    assert "RSS: settled" in out
    assert "bytes per request" in out
