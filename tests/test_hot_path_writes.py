"""Reading a run that has not changed writes nothing to the ledger (issue 14): a relayed get and
a translated get each compare the vendor's run with the record they read, and only a changed
run is written (so `updated_at` is when the run last changed, not when it was last read).

Writes are seen through the ledger's own file: SQLite's `PRAGMA data_version`, read on a
connection of the test's own, moves once another connection has committed a change.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import respx
from litestar.testing import TestClient

from mappings import extend
from tests.harness import GATEWAY_KEY, URLS, MakeGateway, wire_json

READS = 5
RETAB = {"authorization": f"Bearer {GATEWAY_KEY}"}
EXTEND = {**RETAB, extend.VERSION_HEADER: extend.API_VERSION}
RUN_ID = "cls_01JNQ8W3T5V7X9Z1B3D5F7H9K2"
RUNNING = {**wire_json("retab_create_response_201.json"), "status": "in_progress", "output": None}
EXTEND_CREATE = {
    "file": {"url": "https://docs.example/freight_invoice.pdf"},
    "config": wire_json("extend_classify_runs_create_request.json")["config"],
}

Commits = Callable[[], int]


@pytest.fixture(params=["dated", "undated"])
def vendor(request: pytest.FixtureRequest) -> respx.MockRouter:
    """Retab, answering every create and every read of the run with the same completed run;
    an undated one has no `created_at`, for which crosswalk stands in the time it first saw
    the run (a later read must not make it another run)."""
    router = respx.MockRouter(base_url=URLS["retab"], assert_all_called=False)
    completed = wire_json("retab_create_response_201.json")
    if request.param == "undated":
        del completed["created_at"]
    router.post("/v1/classifications").respond(201, json=completed)
    router.route(method="GET", path=f"/v1/classifications/{RUN_ID}").respond(200, json=completed)
    return router


@pytest.fixture
def client(make_gateway: MakeGateway, vendor: respx.MockRouter) -> TestClient[Any]:
    return make_gateway.mocked_client({"retab": vendor}, default="retab")


@pytest.fixture
def commits(tmp_path: Path, client: TestClient[Any]) -> Iterator[Commits]:
    """A number that moves once the ledger's file has changed since it was last read."""
    conn = sqlite3.connect(tmp_path / "crosswalk.db")
    yield lambda: int(conn.execute("PRAGMA data_version").fetchone()[0])
    conn.close()


def test_relayed_gets_of_an_unchanged_run_write_nothing(
    client: TestClient[Any], vendor: respx.MockRouter, commits: Commits
) -> None:
    assert client.post("/v1/classifications", json={}, headers=RETAB).status_code == 201
    before = commits()
    for _ in range(READS):
        response = client.get(f"/v1/classifications/{RUN_ID}", headers=RETAB)
        assert response.status_code == 200
        assert response.json()["status"] == "completed"
    assert commits() == before
    _changes_are_written(client, vendor, commits, f"/v1/classifications/{RUN_ID}", RETAB)


def test_translated_gets_of_an_unchanged_run_write_nothing(
    client: TestClient[Any], vendor: respx.MockRouter, commits: Commits
) -> None:
    created = client.post("/classify_runs", json=EXTEND_CREATE, headers=EXTEND)
    assert created.status_code == 200, created.text
    path = f"/classify_runs/{created.json()['id']}"
    before = commits()
    for _ in range(READS):
        response = client.get(path, headers=EXTEND)
        assert response.status_code == 200
        assert response.json()["status"] == "PROCESSED"
    assert commits() == before
    _changes_are_written(client, vendor, commits, path, EXTEND)


def _changes_are_written(
    client: TestClient[Any],
    vendor: respx.MockRouter,
    commits: Commits,
    path: str,
    headers: dict[str, str],
) -> None:
    """A run the vendor reports changed is still written, once, and listed as it now is."""
    vendor.route(method="GET", path=f"/v1/classifications/{RUN_ID}").respond(200, json=RUNNING)
    before = commits()
    assert client.get(path, headers=headers).status_code == 200
    assert commits() > before
    written = commits()
    assert client.get(path, headers=headers).status_code == 200
    assert commits() == written
    listed = client.get(path.rsplit("/", 1)[0], headers=headers)
    assert listed.status_code == 200
    assert "in_progress" in listed.text or "PROCESSING" in listed.text
