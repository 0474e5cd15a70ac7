"""A sync create that Extend accepts and crosswalk then polls is recorded as soon as Extend
has it: a caller who stops waiting (the sync deadline, a client gone) leaves a run that is
listed, readable by its id, and finished later by the refresher, never a run nobody knows."""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec
import respx

from gateway.config import ServerConfig, Settings
from tests.harness import (
    GATEWAY_KEY,
    URLS,
    mocked,
    running,
    vendor_backend,
    vendor_settings,
    wire_json,
)

RETAB = {"authorization": f"Bearer {GATEWAY_KEY}"}
CREATE = {
    "document": {"filename": "a.txt", "url": "data:text/plain;base64,SW52b2ljZSBkdWU="},
    "categories": [{"name": "invoice"}, {"name": "letter"}],
}


def _settings(tmp_path: Path, sync_timeout: float) -> Settings:
    backend = vendor_backend("extend", api_key_env="EXTEND_KEY", sync_mode="poll")
    backend = msgspec.structs.replace(backend, poll_interval=0.01)
    return vendor_settings(
        tmp_path,
        {"extend": backend},
        default="extend",
        api_keys=(GATEWAY_KEY,),
        upstream_keys={"extend": "sk-extend"},
        server=ServerConfig(sync_timeout=sync_timeout),
    )


def _vendor(pending: dict[str, object], finished: dict[str, object]) -> respx.MockRouter:
    router = respx.mock(base_url=URLS["extend"], assert_all_called=False)
    router.post("/classify_runs").mock(return_value=httpx.Response(200, json=pending))
    router.get(f"/classify_runs/{pending['id']}").mock(
        return_value=httpx.Response(200, json=finished)
    )
    return router


def test_a_sync_run_past_its_deadline_is_recorded_and_readable(tmp_path: Path) -> None:
    pending = wire_json("extend_classify_runs_get_pending.json")
    vendor = _vendor(pending, pending)  # never finishes while the caller waits
    with running(_settings(tmp_path, 0.2), mocked({"extend": vendor})) as client:
        answer = client.post("/v1/classifications", json=CREATE, headers=RETAB)
        assert answer.status_code == 504
        listed = client.get("/v1/classifications", headers=RETAB).json()["data"]
        assert len(listed) == 1
        run_id = listed[0]["id"]
        assert run_id in answer.json()["detail"]["message"]  # the 504 names the run that goes on
        assert client.get(f"/v1/classifications/{run_id}", headers=RETAB).status_code == 200


def test_a_sync_run_that_finishes_is_recorded_once_in_its_final_state(tmp_path: Path) -> None:
    pending = wire_json("extend_classify_runs_get_pending.json")
    finished = wire_json("extend_classify_runs_get_processed.json") | {"id": pending["id"]}
    vendor = _vendor(pending, finished)
    with running(_settings(tmp_path, 30.0), mocked({"extend": vendor})) as client:
        answer = client.post("/v1/classifications", json=CREATE, headers=RETAB)
        assert answer.status_code == 201, answer.text
        assert answer.json()["status"] == "completed"
        listed = client.get("/v1/classifications", headers=RETAB).json()["data"]
        assert [(r["id"], r["status"]) for r in listed] == [(answer.json()["id"], "completed")]
