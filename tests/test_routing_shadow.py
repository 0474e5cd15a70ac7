"""`[routing] shadow`: every create answered on its primary is made again, in the background,
on each shadow backend; the client gets the primary's answer unchanged and no later, and the
ledger records the comparison of both sides (design.md §5).

Vendors are respx-mocked; the other side of each comparison is the offline `local` backend.
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from structlog.testing import capture_logs

from gateway.clock import system_clock
from gateway.config import ServerConfig, Settings
from gateway.service.shadow import MAX_IN_FLIGHT, SHED
from gateway.store.base import owner_of
from gateway.store.comparison_records import ComparisonRecord
from tests.harness import MakeGateway, mocked, running, wait_until
from tests.shadow_support import (
    EXTEND_HEADERS,
    OWNER,
    RETAB_HEADERS,
    Gate,
    comparisons,
    extend_classify,
    extend_vendor,
    new_retab_id,
    retab_create,
    retab_run,
    retab_vendor,
    settings,
)
from tests.webhook_receiver import receiving
from tests.webhook_support import endpoint

CREATES = 20  # per setup, for the medians of a latency comparison


def _completed(built: Settings, count: int = 1) -> tuple[ComparisonRecord, ...]:
    """The owner's comparisons, once `count` of them are completed."""
    wait_until(lambda: sum(c.completed for c in comparisons(built)) >= count)
    return comparisons(built)


def _median_create_seconds(client: Any) -> float:
    took = []
    for i in range(CREATES):
        body = retab_create(f"Freight invoice {i}: total due within 30 days")
        began = time.perf_counter()
        answer = client.post("/v1/classifications", json=body, headers=RETAB_HEADERS)
        took.append(time.perf_counter() - began)
        assert answer.status_code == 201, answer.text
    return statistics.median(took)


def _shadow_answer(kind: str, gate: Gate) -> Any:
    if kind == "slow":
        return gate
    if kind == "refused":
        return httpx.ConnectError
    return httpx.Response(503, json={"detail": "upstream trouble"})


@pytest.mark.parametrize("kind", ["slow", "503", "refused"])
def test_a_slow_or_failing_shadow_adds_no_latency_to_the_client_s_create(
    make_gateway: MakeGateway, tmp_path: Path, kind: str
) -> None:
    """Medians over the same creates, with no shadow and with one that never answers until
    the test ends (or fails at once), in the same test: the shadow costs the client nothing."""
    gate = Gate(lambda request: retab_run(new_retab_id()))
    base = settings(tmp_path, ["retab"], default="local", shadow=(), db="base.db")
    alone = _median_create_seconds(make_gateway.client(base, mocked({"retab": retab_vendor()})))
    shadowed = settings(tmp_path, ["retab"], default="local", shadow=("retab",), db="shadowed.db")
    # the failing shadow is not ejected (its circuit, tests/test_circuit.py): every create is sent
    ejected = msgspec.structs.replace(shadowed.backends["retab"], circuit_failures=CREATES + 1)
    shadowed = msgspec.structs.replace(shadowed, backends={**shadowed.backends, "retab": ejected})
    router = retab_vendor(_shadow_answer(kind, gate))
    try:
        with_shadow = _median_create_seconds(
            make_gateway.client(shadowed, mocked({"retab": router}))
        )
        # every create was shadowed (a held call is counted by the gate, not yet by respx)
        wait_until(lambda: (gate.waiting if kind == "slow" else router.calls.call_count) == CREATES)
    finally:
        gate.open()
    assert with_shadow < 1.5 * alone + 0.020, (alone, with_shadow)


def test_a_local_primary_and_a_vendor_shadow_are_compared_once_both_finish(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    built = settings(tmp_path, ["retab"], default="local", shadow=("retab",))
    shadow_id = "cls_shadowcompared"
    router = retab_vendor(retab_run(shadow_id))
    client = make_gateway.client(built, mocked({"retab": router}))

    answer = client.post("/v1/classifications", json=retab_create(), headers=RETAB_HEADERS)

    assert answer.status_code == 201, answer.text
    assert answer.headers["crosswalk-backend"] == "local"
    (comparison,) = _completed(built)
    primary, shadow = comparison.sides
    assert (comparison.source, comparison.owner) == ("shadow", OWNER)
    assert [c.name for c in comparison.categories] == ["invoice", "receipt", "bill_of_lading"]
    assert comparison.filename == "doc.txt"
    assert primary.backend == "local"
    assert primary.run is not None
    assert primary.run.status.terminal
    assert primary.run.decision is not None
    assert (shadow.backend, shadow.upstream_id, shadow.error) == ("retab", shadow_id, None)
    assert shadow.run is not None
    assert shadow.run.decision is not None
    assert shadow.run.decision.category_name == "invoice"
    assert primary.started_at <= shadow.started_at
    assert comparisons(built, owner_of("another-key")) == ()  # scoped to its owner


def test_a_relayed_primary_answers_the_vendor_s_bytes_and_is_compared_with_a_local_shadow(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """Extend's sync /classify relayed to Extend: the client gets the mock's very bytes, and
    the local shadow's run is compared with the run the ledger recorded from them."""
    built = settings(tmp_path, ["extend"], default="extend", shadow=("local",))
    router = extend_vendor()
    client = make_gateway.client(built, mocked({"extend": router}))

    answer = client.post("/classify", json=extend_classify(), headers=EXTEND_HEADERS)

    assert answer.status_code == 200, answer.text
    assert answer.content == router.calls.last.response.content
    assert "crosswalk-translation" not in answer.headers
    (comparison,) = _completed(built)
    primary, shadow = comparison.sides
    assert (primary.backend, primary.upstream_id) == ("extend", answer.json()["id"])
    assert primary.run is not None
    assert primary.run.status.terminal
    assert shadow.backend == "local"
    assert shadow.run is not None
    assert shadow.run.status.terminal
    assert shadow.run.id not in answer.text


def test_shadow_runs_are_never_listed_nor_raise_a_webhook_event(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    shadow_id = "cls_shadowunlisted"
    with receiving() as receiver:
        built = settings(
            tmp_path, ["retab"], default="local", shadow=("retab",),
            webhooks=(endpoint(receiver.url),),
        )  # fmt: skip
        client = make_gateway.client(built, mocked({"retab": retab_vendor(retab_run(shadow_id))}))
        created = client.post("/v1/classifications", json=retab_create(), headers=RETAB_HEADERS)
        assert created.status_code == 201, created.text
        _completed(built)
        wait_until(lambda: len(receiver.received) >= 1)  # the client's own run's event
        retab = client.get("/v1/classifications", headers=RETAB_HEADERS)
        extend = client.get("/classify_runs", headers=EXTEND_HEADERS)
        events = [r.body for r in receiver.received]

    assert [item["id"] for item in retab.json()["data"]] == [created.json()["id"]]
    assert len(extend.json()["data"]) == 1
    for shown in (created.content, retab.content, extend.content, *events):
        assert shadow_id.encode() not in shown


def test_a_shadow_failing_before_its_run_exists_fails_its_side_and_completes_the_comparison(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    built = settings(tmp_path, ["retab"], default="local", shadow=("retab",))
    refusal = httpx.Response(400, json={"detail": "Document could not be read"})
    client = make_gateway.client(built, mocked({"retab": retab_vendor(refusal)}))

    body = retab_create()
    content = body["document"]["url"].partition(",")[2]  # the document, base64
    with capture_logs() as logs:
        answer = client.post("/v1/classifications", json=body, headers=RETAB_HEADERS)
        (comparison,) = _completed(built)

    assert answer.status_code == 201, answer.text
    warned = [e for e in logs if e["event"] == "routing.shadow"]
    assert [(e["backend"], e["comparison"], e["log_level"]) for e in warned] == [
        ("retab", comparison.id, "warning")
    ]
    told = repr(logs)  # never a key nor the document's content
    assert all(secret not in told for secret in ("gw-key", "sk-retab", content))
    shadow = comparison.sides[1]
    assert shadow.backend == "retab"
    assert shadow.run is None
    assert shadow.finished
    assert shadow.error is not None
    assert "Document could not be read" in shadow.error


@pytest.mark.parametrize(("path", "headers"), [
    ("/classify", EXTEND_HEADERS),  # relayed to Extend: its 500 answered as it came
    ("/v1/classifications", RETAB_HEADERS),  # translated: the failure raised
])  # fmt: skip
def test_a_failed_primary_is_not_shadowed(
    make_gateway: MakeGateway, tmp_path: Path, path: str, headers: dict[str, str]
) -> None:
    built = settings(tmp_path, ["extend", "retab"], default="extend", shadow=("retab",))
    shadow = retab_vendor()
    client = make_gateway.client(built, mocked({"extend": extend_vendor(500), "retab": shadow}))
    body = extend_classify() if path == "/classify" else retab_create()

    answer = client.post(path, json=body, headers=headers)

    assert answer.status_code >= 500, answer.text
    assert comparisons(built) == ()
    assert shadow.calls.call_count == 0


def test_a_create_served_by_its_shadow_backend_is_not_compared_with_itself(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    built = settings(tmp_path, ["retab"], default="local", shadow=("local", "retab"))
    shadow = retab_vendor()
    client = make_gateway.client(built, mocked({"retab": shadow}))

    answer = client.post("/v1/classifications", json=retab_create(), headers=RETAB_HEADERS)

    assert answer.status_code == 201, answer.text
    (comparison,) = _completed(built)
    assert [side.backend for side in comparison.sides] == ["local", "retab"]
    assert shadow.calls.call_count == 1


def test_shadows_past_the_in_flight_bound_are_shed_visibly(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    gate = Gate(lambda request: retab_run(new_retab_id()))
    built = settings(tmp_path, ["retab"], default="local", shadow=("retab",))
    router = retab_vendor(gate)
    client = make_gateway.client(built, mocked({"retab": router}))
    try:
        for i in range(MAX_IN_FLIGHT + 2):
            body = retab_create(f"Receipt {i}: paid in full", background=True)
            answer = client.post("/v1/classifications", json=body, headers=RETAB_HEADERS)
            assert answer.status_code == 201, answer.text
        wait_until(lambda: gate.waiting == MAX_IN_FLIGHT)
        shed = _shed(built, 2)
    finally:
        gate.open()
    assert all(c.sides[1].run is None for c in shed)
    _completed(built, MAX_IN_FLIGHT + 2)  # the held ones finish once answered
    assert router.calls.call_count == MAX_IN_FLIGHT


def _shed(built: Settings, count: int) -> list[ComparisonRecord]:
    def shed() -> list[ComparisonRecord]:
        return [c for c in comparisons(built) if c.sides[1].error == SHED]

    wait_until(lambda: len(shed()) == count)
    return shed()


def test_a_shadow_cut_short_by_a_shutdown_is_failed_by_the_sweep_after_a_restart(
    tmp_path: Path,
) -> None:
    gate = Gate(lambda request: retab_run(new_retab_id()))
    server = ServerConfig(sync_timeout=30.0)
    built = settings(tmp_path, ["retab"], default="local", shadow=("retab",), server=server)
    with running(built, mocked({"retab": retab_vendor(gate)})) as client:
        answer = client.post("/v1/classifications", json=retab_create(), headers=RETAB_HEADERS)
        assert answer.status_code == 201, answer.text
        wait_until(lambda: gate.waiting == 1)
    (cut,) = comparisons(built)
    assert not cut.completed
    assert not cut.sides[1].finished

    def later() -> Any:  # past the sync deadline and the sweep's margin
        return system_clock() + timedelta(seconds=server.sync_timeout + 61)

    with running(built, mocked({"retab": retab_vendor()}), clock=later):
        (swept,) = _completed(built)
    assert swept.sides[1].error == "interrupted"
    assert swept.sides[1].run is None
