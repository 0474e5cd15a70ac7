"""`GET /metrics`: requests, latency and overhead by surface, backend and status, translation
losses by field, in-flight requests, the ledger's queue and outbox depths and background
restarts — and labels that never carry a key, an id, a path or a URL.

The metrics live in the test process's one registry, shared by every app a test builds, so
each test reads how much a sample moved, never its absolute value.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from gateway import metrics
from gateway.config import LocalBackendConfig
from gateway.gauges import LOOP
from gateway.supervisor import Backoff, Supervisor, loop_kind
from tests.cross_vendor_app import GATEWAY_KEY, UPSTREAM_KEY, serve
from tests.harness import (
    free_port,
    local_settings,
    mocked,
    running,
    wait_until,
    wire,
    wire_json,
)
from tests.shadow_support import (
    RETAB_HEADERS,
    comparisons,
    new_retab_id,
    retab_create,
    retab_vendor,
)
from tests.shadow_support import settings as shadow_settings
from tests.test_run_semantics import CREATE, EXTEND, RETAB
from tests.webhook_support import endpoint

Labels = dict[str, str]


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the sample `name` with `labels` in an exposition, 0 when absent."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return 0.0


def scrape(client: TestClient[Any]) -> str:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


def test_requests_and_latency_are_counted_by_surface_backend_and_status(tmp_path: Path) -> None:
    retab = {"surface": "retab", "backend": "local", "status": "201"}
    with running(local_settings(tmp_path)) as client:
        before = scrape(client)
        for _ in range(3):
            assert client.post("/v1/classifications", json=CREATE, headers=RETAB).status_code == 201
        after = scrape(client)
    moved = sample(after, "crosswalk_requests_total", **retab) - sample(
        before, "crosswalk_requests_total", **retab
    )
    assert moved == 3
    seconds = "crosswalk_request_duration_seconds_count"
    assert sample(after, seconds, **retab) - sample(before, seconds, **retab) == 3
    # a local backend has no upstream call: all of its time is the gateway's own
    overhead = "crosswalk_overhead_seconds_count"
    local = {"surface": "retab", "backend": "local"}
    assert sample(after, overhead, **local) - sample(before, overhead, **local) == 3
    assert sample(after, "crosswalk_overhead_seconds_sum", **local) > sample(
        before, "crosswalk_overhead_seconds_sum", **local
    )


def test_translation_losses_are_counted_by_field(tmp_path: Path) -> None:
    body = {
        "file": {"text": "Invoice due"},
        "config": {"classifications": [{"id": "i", "type": "invoice", "description": "bill"}]},
    }
    lost = {"surface": "extend", "field": "dashboardUrl"}
    with running(local_settings(tmp_path)) as client:
        before = sample(scrape(client), "crosswalk_translation_losses_total", **lost)
        answer = client.post("/classify", json=body, headers=EXTEND)
        assert "dashboardUrl" in answer.headers["crosswalk-translation"]
        after = sample(scrape(client), "crosswalk_translation_losses_total", **lost)
    assert after - before == 1


def test_list_indices_are_folded_out_of_field_labels() -> None:
    field = {"surface": "retab", "field": "categories[].name"}
    before = sample(metrics.exposition().decode(), "crosswalk_translation_losses_total", **field)
    metrics.translation_lost("retab", ["categories[0].name", "categories[7].name", "a b;c"])
    text = metrics.exposition().decode()
    assert sample(text, "crosswalk_translation_losses_total", **field) - before == 1
    assert "a b;c" not in text


def test_an_unknown_path_is_counted_under_surface_none_not_its_path(tmp_path: Path) -> None:
    unknown = {"surface": "none", "backend": "none", "status": "404"}
    with running(local_settings(tmp_path)) as client:
        before = sample(scrape(client), "crosswalk_requests_total", **unknown)
        for path in ("/no/such/run_3f9a", "/v1/nothing-here", "/wp-admin.php"):
            assert client.get(path).status_code == 404
        text = scrape(client)
    assert sample(text, "crosswalk_requests_total", **unknown) - before == 3
    for part in ("run_3f9a", "nothing-here", "wp-admin"):
        assert part not in text


def test_a_vendor_backend_is_named_and_its_keys_never_appear(tmp_path: Path) -> None:
    translated = {"surface": "retab", "backend": "extend", "status": "201"}
    with serve("retab", tmp_path) as leg:
        leg.upstream.post("/classify").respond(
            200, content=wire("extend_classify_response.json"), headers={"content-type": "json"}
        )
        before = sample(scrape(leg.client), "crosswalk_requests_total", **translated)
        assert leg.create().status_code == 201
        text = scrape(leg.client)
    assert sample(text, "crosswalk_requests_total", **translated) - before == 1
    assert GATEWAY_KEY not in text
    assert UPSTREAM_KEY not in text
    assert "api.extend.test" not in text


def test_nothing_stays_in_flight_after_requests_end(tmp_path: Path) -> None:
    with running(local_settings(tmp_path)) as client:
        client.post("/v1/classifications", json=CREATE, headers=RETAB)
        client.get("/nowhere")
        text = scrape(client)
    # the scrape itself is the one request in flight, on the "gateway" surface
    assert sample(text, "crosswalk_in_flight_requests", surface="retab") == 0
    assert sample(text, "crosswalk_in_flight_requests", surface="gateway") == 1


def test_queue_and_outbox_depths_are_read_from_the_ledger(tmp_path: Path) -> None:
    background = {**CREATE, "background": True}
    slow = LocalBackendConfig(concurrency=1, min_run_seconds=60.0)  # none ends in the test
    with running(local_settings(tmp_path, slow)) as client:
        count_now(client)
        assert sample(scrape(client), "crosswalk_queue_depth") == 0
        for _ in range(3):
            assert client.post("/v1/classifications", json=background, headers=RETAB).is_success
        count_now(client)
        text = scrape(client)
    assert sample(text, "crosswalk_queue_depth") == 3  # one running, two queued
    assert sample(text, "crosswalk_webhook_outbox_depth") == 0


def test_undelivered_webhooks_are_the_outbox_depth(tmp_path: Path) -> None:
    """A receiver on a loopback port nobody listens on: each run's event stays owed."""
    hooks = (endpoint(f"http://127.0.0.1:{free_port()}/hooks"),)
    with running(local_settings(tmp_path, webhooks=hooks)) as client:
        for _ in range(2):  # sync creates: each run ends at once and raises its event
            assert client.post("/v1/classifications", json=CREATE, headers=RETAB).is_success

        def owed() -> float:
            count_now(client)
            return sample(scrape(client), "crosswalk_webhook_outbox_depth")

        wait_until(lambda: owed() == 2)


def count_now(client: TestClient[Any]) -> None:
    """Run the depth gauges' step once now, not at the loop's next interval."""
    step = client.app.state.background.steps()[LOOP]
    with client.portal() as portal:
        portal.call(step)


def test_a_background_loop_restart_is_counted_by_its_kind() -> None:
    def restarts(kind: str) -> float:
        text = metrics.exposition().decode()
        return sample(text, "crosswalk_background_restarts_total", loop=kind)

    before = restarts("worker")
    attempts: list[int] = []
    done = asyncio.Event()

    async def failing_once() -> bool:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("the ledger hiccuped")
        done.set()
        return False

    async def supervise() -> None:
        async def no_wait(seconds: float) -> None:
            await asyncio.sleep(0)

        async with Supervisor(backoff=Backoff(first=0.0), sleep=no_wait) as supervisor:
            supervisor.start("worker-4242-0a1b2c3d", failing_once, idle=60.0)
            await done.wait()

    asyncio.run(supervise())
    assert restarts("worker") - before == 1
    assert loop_kind("refresher-retab") == "refresher-retab"
    assert loop_kind("batch-settler") == "batch-settler"


def test_a_shadow_labelling_otherwise_than_its_primary_is_counted(tmp_path: Path) -> None:
    """The local primary labels the freight invoice; the shadow says "invoice" to the first
    create and "receipt" to the second: one disagreement."""
    said = iter(["invoice", "receipt"])

    def shadow_answer(request: httpx.Request) -> httpx.Response:
        body = wire_json("retab_create_response_201.json")
        body["id"] = new_retab_id()
        body["output"]["category"] = next(said)
        return httpx.Response(201, json=body)

    pair = {"primary": "local", "shadow": "retab"}
    built = shadow_settings(tmp_path, ["retab"], default="local", shadow=("retab",))
    with running(built, mocked({"retab": retab_vendor(shadow_answer)})) as client:
        before = sample(scrape(client), "crosswalk_shadow_disagreements_total", **pair)
        for _ in range(2):
            answer = client.post("/v1/classifications", json=retab_create(), headers=RETAB_HEADERS)
            assert answer.status_code == 201
            assert answer.json()["output"]["category"] == "invoice"
        wait_until(lambda: sum(c.completed for c in comparisons(built)) == 2)
        after = sample(scrape(client), "crosswalk_shadow_disagreements_total", **pair)
    assert after - before == 1
