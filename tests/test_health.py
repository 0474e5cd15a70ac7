"""`/healthz` and `/readyz`: answered without a key, ready while the store reads, 503 with the
reason once it cannot, each backend's circuit shown, and nothing secret in either."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec

from gateway.store.sqlite import SqliteLedger
from gateway.surfaces.health import Readiness, circuit_state
from tests.harness import GATEWAY_KEY, local_settings, mocked_vendors_settings, running


def test_healthz_is_ok_without_a_key(tmp_path: Path) -> None:
    with running(local_settings(tmp_path, api_keys=("gw-secret",))) as client:
        answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_readyz_reports_the_store_and_every_backends_circuit(tmp_path: Path) -> None:
    settings = mocked_vendors_settings(tmp_path, ["retab", "extend"], default="retab")
    with running(settings) as client:
        answer = client.get("/readyz")  # no key: load balancers probe without one
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ready",
        "store": "ok",
        "backends": {"retab": {"circuit": "closed"}, "extend": {"circuit": "closed"}},
    }
    for secret in (GATEWAY_KEY, "sk-retab", "sk-extend", "api.retab.test", str(tmp_path)):
        assert secret not in answer.text


def test_readyz_is_503_once_the_ledger_file_is_gone(tmp_path: Path) -> None:
    """An open SQLite connection goes on writing a deleted file, lost at exit: not ready."""
    with running(local_settings(tmp_path)) as client:
        (tmp_path / "crosswalk.db").unlink()
        answer = client.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "not_ready"
    assert body["store"] == "unreachable"
    assert body["reasons"] == ["the store cannot be read"]
    assert body["backends"] == {"local": {"circuit": "closed"}}
    assert str(tmp_path) not in answer.text


def test_a_closed_store_is_not_ready(tmp_path: Path) -> None:
    async def check() -> tuple[bool, dict[str, object]]:
        ledger = await SqliteLedger.open(str(tmp_path / "ledger.db"))
        readiness = Readiness(ledger, {})
        assert (await readiness.check())[0]
        await ledger.close()
        return await readiness.check()

    ready, body = asyncio.run(check())
    assert not ready
    assert body["store"] == "unreachable"


class _Ejected:
    """A backend whose circuit is open: how /readyz reads one (res's circuit.py)."""

    def circuit_state(self) -> str:
        return "open"


def test_a_backends_own_circuit_state_is_reported(tmp_path: Path) -> None:
    async def check() -> dict[str, object]:
        async with await SqliteLedger.open(str(tmp_path / "ledger.db")) as ledger:
            return (await Readiness(ledger, {"a": _Ejected(), "b": object()}).check())[1]

    body = asyncio.run(check())
    # an open circuit is reported, not a reason to leave the pool: fallbacks may still serve
    assert body["status"] == "ready"
    assert body["backends"] == {"a": {"circuit": "open"}, "b": {"circuit": "closed"}}
    assert circuit_state(object()) == "closed"


def test_health_answers_are_json_not_cached(tmp_path: Path) -> None:
    with running(local_settings(tmp_path)) as client:
        for path in ("/healthz", "/readyz"):
            answer = client.get(path)
            assert answer.headers["content-type"].startswith("application/json")
            assert answer.headers["cache-control"] == "no-store"
            msgspec.json.decode(answer.content)
