"""Several processes sharing one ledger, on either store (tests/stores.py): each queued run is
processed exactly once, and a run whose process dies is recovered rather than lost
(design.md §9)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.store import RunRecord, owner_of
from mappings import canonical
from tests.stores import Store

OWNER = owner_of("sk-workers")
CONFIG = canonical.RunConfig(categories=(canonical.Category(key="memo", name="Memo"),))
RUNS = 200
PROCESSES = 4

# Run by each child process: wait for "go" on stdin so all start together, then claim and
# finish until the queue is empty, printing the ids this worker finished. In "hang" mode it
# claims one run and waits to be killed, like a server that dies mid-run.
WORKER_SCRIPT = """
import asyncio, json, sys
from datetime import UTC, datetime

import msgspec

from gateway.store import SqliteLedger
from gateway.store.postgres.ledger import PostgresLedger
from mappings import canonical


async def main(place: str, worker: str, mode: str) -> None:
    finished = []
    kind = PostgresLedger if place.startswith("postgresql://") else SqliteLedger
    async with await kind.open(place) as ledger:
        print("ready", flush=True)
        sys.stdin.readline()
        while record := await ledger.claim(worker, 60.0, datetime.now(UTC), backends=("local",)):
            if mode == "hang":
                print(record.upstream_id, flush=True)
                sys.stdin.readline()
            metadata = {"finished_by": worker}
            result = msgspec.structs.replace(
                record.run, status=canonical.Status.completed, metadata=metadata
            )
            if await ledger.finish("local", record.upstream_id, worker, result) is not None:
                finished.append(record.upstream_id)
    print(json.dumps(finished), flush=True)


asyncio.run(main(*sys.argv[1:4]))
"""


def queued(upstream_id: str, created_at: datetime) -> RunRecord:
    document = canonical.TextDocument(text="a memo", filename=f"{upstream_id}.txt")
    request = canonical.ClassifyRequest(document=document, config=CONFIG, background=True)
    run = canonical.ClassificationRun(
        id=upstream_id, status=canonical.Status.queued, config=CONFIG, created_at=created_at
    )
    return RunRecord(
        key=f"local:{upstream_id}",
        owner=OWNER,
        backend="local",
        upstream_id=upstream_id,
        surface="extend",
        run=run,
        request=request,
        filename=f"{upstream_id}.txt",
        created_at=created_at,
        updated_at=created_at,
    )


async def enqueue(store: Store, count: int) -> list[str]:
    now = datetime.now(UTC)
    async with await store.open() as ledger:
        return [(await ledger.insert(queued(f"run{i:03}", now))).upstream_id for i in range(count)]


def start_worker(
    stack: ExitStack, script: Path, db: str, name: str, mode: str
) -> subprocess.Popen[str]:
    # -W error: a connection left open in the child fails it just as it would fail a test
    command = [sys.executable, "-W", "error", str(script), db, name, mode]
    proc = stack.enter_context(
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    return proc


def go(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()


async def test_several_processes_process_every_queued_run_exactly_once(
    store: Store, tmp_path: Path
) -> None:
    """200 queued runs, 4 processes claiming at once: each run is finished by exactly one."""
    db, script = store.location, tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT)
    expected = await enqueue(store, RUNS)
    outputs: dict[str, list[str]] = {}
    with ExitStack() as stack:
        names = [f"worker{n}" for n in range(PROCESSES)]
        procs = {name: start_worker(stack, script, db, name, "finish") for name in names}
        for proc in procs.values():  # all are connected before any starts claiming
            go(proc)
        for name, proc in procs.items():
            stdout, _ = proc.communicate(timeout=120)
            assert proc.returncode == 0
            outputs[name] = json.loads(stdout)
    finished = Counter(run_id for ids in outputs.values() for run_id in ids)
    assert sorted(finished) == expected
    assert set(finished.values()) == {1}
    async with await store.open() as ledger:
        for name, ids in outputs.items():
            for run_id in ids:
                record = await ledger.get(OWNER, "local", run_id)
                assert record is not None
                assert record.run.status is canonical.Status.completed
                assert record.run.metadata == {"finished_by": name}
                assert (record.claimed_by, record.attempts) == (name, 1)


async def test_a_run_whose_process_died_is_recovered_not_lost(store: Store, tmp_path: Path) -> None:
    """A process killed mid-run leaves its run to recovery, which queues it for another try."""
    db, script = store.location, tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT)
    [run_id] = await enqueue(store, 1)
    with ExitStack() as stack:
        proc = start_worker(stack, script, db, "doomed", "hang")
        go(proc)
        assert proc.stdout is not None
        assert proc.stdout.readline() == f"{run_id}\n"
        proc.kill()
        proc.wait(timeout=30)
    after_lease = datetime.now(UTC) + timedelta(minutes=5)
    async with await store.open() as ledger:
        abandoned = await ledger.get(OWNER, "local", run_id)
        assert abandoned is not None
        assert (abandoned.run.status, abandoned.claimed_by) == (canonical.Status.running, "doomed")
        report = await ledger.recover(after_lease, max_attempts=3)
        assert (report.resumed, report.failed) == (1, 0)
        retaken = await ledger.claim("survivor", 60, after_lease, backends=("local",))
        assert retaken is not None
        assert (retaken.upstream_id, retaken.attempts) == (run_id, 2)
