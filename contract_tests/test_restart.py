"""Nothing is lost: background runs survive a crash, and several workers share the queue."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx

from contract_tests.served_process import ServerProcess
from tests.harness import wait_until

TERMINAL = {"completed", "failed", "cancelled"}
BODY = {
    "document": {"filename": "memo.txt", "url": "data:text/plain;base64,SW52b2ljZSB0b3RhbCBkdWU="},
    "categories": [{"name": "invoice"}, {"name": "letter"}],
    "background": True,
}


def _config(tmp_path: Path, **local: object) -> Path:
    lines = ["[backends.local]", 'kind = "local"']
    lines += [f"{key} = {value}" for key, value in local.items()]
    lines += ["[store]", f'url = "sqlite:///{tmp_path / "ledger.db"}"']
    path = tmp_path / "crosswalk.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _create(client: httpx.Client, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        response = client.post("/v1/classifications", json=BODY)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def _statuses(client: httpx.Client, ids: list[str]) -> dict[str, str]:
    return {i: client.get(f"/v1/classifications/{i}").json()["status"] for i in ids}


def test_runs_survive_a_crash(tmp_path: Path, servers: list[ServerProcess]) -> None:
    """Kill the server mid-run and start it again: every accepted run still ends."""
    config = _config(tmp_path, min_run_seconds=1.0, lease_seconds=1.0, concurrency=2)
    first = ServerProcess(config, log=tmp_path / "first.log").start()
    servers.append(first)
    with httpx.Client(base_url=first.url, headers={"api-key": "k"}) as client:
        ids = _create(client, 6)
        wait_until(lambda: "in_progress" in _statuses(client, ids).values())
    first.kill()

    second = ServerProcess(config, log=tmp_path / "second.log", port=first.port).start()
    servers.append(second)
    with httpx.Client(base_url=second.url, headers={"api-key": "k"}) as client:
        wait_until(lambda: set(_statuses(client, ids).values()) <= TERMINAL, timeout=60)
        final = _statuses(client, ids)
    assert set(final.values()) == {"completed"}, final


def test_several_workers_process_each_run_once(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    """With `--workers 2`, every background run is processed by exactly one worker."""
    config = _config(tmp_path, min_run_seconds=0.2, concurrency=2)
    log = tmp_path / "workers.log"
    server = ServerProcess(config, log=log, workers=2).start()
    servers.append(server)
    with httpx.Client(base_url=server.url, headers={"api-key": "k"}) as client:
        ids = _create(client, 12)
        wait_until(lambda: set(_statuses(client, ids).values()) == {"completed"}, timeout=60)
    # a run reads as completed a moment before its worker logs it: wait for the lines too
    wait_until(lambda: sum(_finished(log).values()) >= 12, timeout=60)
    server.stop()
    finished = _finished(log)
    assert len(finished) == 12
    assert set(finished.values()) == {1}


def _finished(log: Path) -> Counter[str]:
    """How often each run was finished and kept, by the JSON lines logged so far."""
    counts: Counter[str] = Counter()
    for line in log.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:  # not a JSON line, or one still being written
            continue
        finished = isinstance(event, dict) and event.get("event") == "local.run_finished"
        if finished and event.get("kept"):
            counts[event["run_id"]] += 1
    return counts
