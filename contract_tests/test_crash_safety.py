"""kill -9 during background runs and idempotent creates: after a restart none is lost or
doubled.

A real `crosswalk serve` on the local backend accepts background runs from Retab and Extend
clients, is killed while some are queued and some processing, and is started again on the same
ledger. Every accepted id must still be readable and end completed, the ledger must hold exactly
one row per accepted run, and no run may be finished and kept twice (the servers' own logs).
Killed in a burst of creates sent with `Idempotency-Key`, the restarted server answers each key
sent again with the run it already made (a replay), and the ledger holds no second one.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from pathlib import Path

import httpx

from contract_tests.served_process import ServerProcess
from tests.harness import wait_until

KEY = "key-crash-7b2e"
TEXT = "Invoice total due"
RETAB = {
    "document": {"filename": "memo.txt", "url": "data:text/plain;base64,SW52b2ljZSB0b3RhbCBkdWU="},
    "categories": [{"name": "invoice"}, {"name": "letter"}],
    "background": True,
}
EXTEND = {
    "file": {"text": TEXT, "name": "memo.txt"},
    "config": {"classifications": [{"id": "invoice", "type": "invoice", "description": "A bill"}]},
}
EXTEND_HEADERS = {"x-extend-api-version": "2026-02-09"}
PATHS = {"retab": "/v1/classifications", "extend": "/classify_runs"}
DONE = {"retab": {"completed", "failed", "cancelled"}, "extend": {"PROCESSED", "FAILED"}}
BUSY = {"in_progress", "PROCESSING"}


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "crosswalk.toml"
    path.write_text(
        "[backends.local]\nkind = \"local\"\n"
        "min_run_seconds = 1.0\nlease_seconds = 1.0\nconcurrency = 2\n"
        f"[store]\nurl = \"sqlite:///{tmp_path / 'ledger.db'}\"\n"
    )  # fmt: skip
    return path


def _create(client: httpx.Client, count: int) -> list[tuple[str, str]]:
    """`count` background runs from each surface, as (surface, id)."""
    accepted = []
    for _ in range(count):
        retab = client.post(PATHS["retab"], json=RETAB)
        assert retab.status_code == 201, retab.text
        extend = client.post(PATHS["extend"], json=EXTEND, headers=EXTEND_HEADERS)
        assert extend.status_code == 200, extend.text
        accepted += [("retab", retab.json()["id"]), ("extend", extend.json()["id"])]
    return accepted


def _status(client: httpx.Client, surface: str, run_id: str) -> str:
    headers = EXTEND_HEADERS if surface == "extend" else {}
    response = client.get(f"{PATHS[surface]}/{run_id}", headers=headers)
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


def _statuses(client: httpx.Client, runs: list[tuple[str, str]]) -> dict[str, str]:
    return {run_id: _status(client, surface, run_id) for surface, run_id in runs}


def _ledger_rows(tmp_path: Path) -> int:
    with sqlite3.connect(f"file:{tmp_path / 'ledger.db'}?mode=ro", uri=True) as db:
        count: int = db.execute("SELECT count(*) FROM runs").fetchone()[0]
    return count


def _kept(*logs: Path) -> Counter[str]:
    """How often each run was finished and kept, by the JSON lines both servers logged."""
    counts: Counter[str] = Counter()
    for log in logs:
        for line in log.read_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:  # not JSON, or the line the kill cut short
                continue
            if isinstance(event, dict) and event.get("event") == "local.run_finished":
                counts[event["run_id"]] += bool(event.get("kept"))
    return counts


def test_background_runs_of_both_surfaces_survive_kill_9(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    config = _config(tmp_path)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = ServerProcess(config, log=first_log).start()
    servers.append(first)
    with httpx.Client(base_url=first.url, headers={"authorization": f"Bearer {KEY}"}) as client:
        runs = _create(client, 4)
        wait_until(lambda: bool(BUSY & set(_statuses(client, runs).values())))
        before = _statuses(client, runs)
    first.kill()
    # some were still waiting or working when the process died
    assert set(before.values()) - DONE["retab"] - DONE["extend"], before
    assert _ledger_rows(tmp_path) == len(runs)

    second = ServerProcess(config, log=second_log, port=first.port).start()
    servers.append(second)
    with httpx.Client(base_url=second.url, headers={"authorization": f"Bearer {KEY}"}) as client:

        def settled() -> bool:
            return all(_status(client, s, i) in DONE[s] for s, i in runs)

        wait_until(settled, timeout=90)
        final = _statuses(client, runs)
    assert set(final.values()) == {"completed", "PROCESSED"}, final
    assert len({run_id for _, run_id in runs}) == len(runs)
    assert _ledger_rows(tmp_path) == len(runs)  # nothing lost, nothing doubled
    second.stop()
    kept = _kept(first_log, second_log)
    assert kept, "no run_finished lines were read"
    assert max(kept.values()) <= 1, kept


def _idempotent(client: httpx.Client, surface: str, key: str) -> httpx.Response:
    body, headers = (EXTEND, EXTEND_HEADERS) if surface == "extend" else (RETAB, {})
    return client.post(PATHS[surface], json=body, headers={**headers, "idempotency-key": key})


def _burst(url: str, answered: dict[str, str], sent: list[str], started: threading.Event) -> None:
    """Extend idempotent creates one after another until the server dies under them."""
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {KEY}"}) as client:
        for n in range(10_000):
            key = f"burst-{n}"
            sent.append(key)
            try:
                response = _idempotent(client, "extend", key)
            except httpx.TransportError:
                return
            assert response.status_code == 200, response.text
            answered[key] = response.json()["id"]
            if len(answered) >= 3:
                started.set()


def test_idempotent_creates_survive_kill_9(tmp_path: Path, servers: list[ServerProcess]) -> None:
    """Killed mid-burst of idempotent creates: after restart each key's retry is its one run."""
    config = _config(tmp_path)
    first = ServerProcess(config, log=tmp_path / "first.log").start()
    servers.append(first)
    with httpx.Client(base_url=first.url, headers={"authorization": f"Bearer {KEY}"}) as client:
        answered = {f"retab-{n}": _idempotent(client, "retab", f"retab-{n}").json()["id"]
                    for n in range(3)}  # fmt: skip
    sent: list[str] = []
    started = threading.Event()
    burst = threading.Thread(target=_burst, args=(first.url, answered, sent, started))
    burst.start()
    assert started.wait(timeout=30)
    first.kill()
    burst.join(timeout=30)

    second = ServerProcess(config, log=tmp_path / "second.log", port=first.port).start()
    servers.append(second)
    runs: dict[str, str] = {}
    with httpx.Client(base_url=second.url, headers={"authorization": f"Bearer {KEY}"}) as client:
        for key in [*(k for k in answered if k.startswith("retab-")), *sent]:
            surface = "retab" if key.startswith("retab-") else "extend"
            retry = _idempotent(client, surface, key)
            if key in answered:  # the first answer, replayed: the same run
                assert retry.status_code in (200, 201), retry.text
                assert retry.headers["crosswalk-idempotent-replay"] == "true"
                assert retry.json()["id"] == answered[key]
            else:  # cut short by the kill: its one run now, or still in flight
                assert retry.status_code in (200, 409), retry.text
            if retry.status_code < 300:
                runs[retry.json()["id"]] = surface
        wait_until(
            lambda: all(_status(client, s, i) in DONE[s] for i, s in runs.items()), timeout=90
        )
    assert len(runs) >= len(answered)
    assert _ledger_rows(tmp_path) == len(runs)  # one row per key that made a run, none doubled
