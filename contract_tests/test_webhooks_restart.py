"""A real `crosswalk serve` killed with SIGKILL while its webhook events are undelivered (the
receiver is down) loses none: restarted, it delivers each once the receiver is up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from contract_tests.served_process import ServerProcess
from gateway.store import SqliteLedger
from gateway.store.records import Delivery
from tests.harness import free_port, wait_until
from tests.webhook_receiver import receiving
from tests.webhook_support import RETAB_BODY, SECRET, verify

SECRET_ENV = "CROSSWALK_TEST_WEBHOOK_SECRET"
RUNS = 5


def _config(tmp_path: Path, receiver_port: int) -> Path:
    path = tmp_path / "crosswalk.toml"
    path.write_text(
        '[backends.local]\nkind = "local"\n'
        f'[store]\nurl = "sqlite:///{tmp_path / "ledger.db"}"\n'
        "[[webhooks]]\n"
        f'url = "http://127.0.0.1:{receiver_port}/hooks"\n'
        f'secret_env = "{SECRET_ENV}"\n'
        "allow_private = true\n"
        "timeout = 2.0\n"
    )
    return path


def _deliveries(tmp_path: Path) -> tuple[Delivery, ...]:
    async def read() -> tuple[Delivery, ...]:
        async with await SqliteLedger.open(str(tmp_path / "ledger.db")) as ledger:
            return await ledger.list_deliveries(limit=100)

    return asyncio.run(read())


def test_events_pending_at_a_crash_are_delivered_after_restart(
    tmp_path: Path, servers: list[ServerProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs end while the receiver is down; the gateway is killed with their deliveries
    failed and pending; restarted with the receiver up, it delivers every event once."""
    monkeypatch.setenv(SECRET_ENV, SECRET)
    port = free_port()
    config = _config(tmp_path, port)
    first = ServerProcess(config, log=tmp_path / "first.log").start()
    servers.append(first)
    with httpx.Client(base_url=first.url, headers={"api-key": "k"}) as client:
        for _ in range(RUNS):
            assert client.post("/v1/classifications", json=RETAB_BODY).status_code == 201
    # every event tried at least once, against a port nobody listens on
    wait_until(lambda: [d.last_error is not None for d in _deliveries(tmp_path)] == [True] * RUNS)
    first.kill()
    owed = {d.event_id for d in _deliveries(tmp_path)}
    assert {d.state for d in _deliveries(tmp_path)} == {"pending"}

    with receiving(port=port) as receiver:
        second = ServerProcess(config, log=tmp_path / "second.log", port=first.port).start()
        servers.append(second)
        # the first backoffs are up to 5 and 10 s: a few seconds pass in real time here
        wait_until(lambda: set(receiver.accepted()) == owed, timeout=60)
        wait_until(lambda: {d.state for d in _deliveries(tmp_path)} == {"delivered"})
    assert len(owed) == RUNS
    assert set(receiver.accepted().values()) == {1}
    for received in receiver.received:
        assert verify(received).event_type == "classify_run.processed"
