"""`[routing] shadow`: every create answered on its primary is made again, in the background,
on each shadow backend; the client gets the primary's answer unchanged and no later, and the
ledger records the comparison of both sides (design.md §5).

Vendors are respx-mocked; the other side of each comparison is the offline `local` backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from structlog.testing import capture_logs

from gateway.clock import system_clock
from gateway.config import ServerConfig, Settings, load_settings
from gateway.service.shadow import JOB_MARGIN, MAX_IN_FLIGHT, SHED_LOG_EVERY
from gateway.store.base import owner_of
from gateway.store.comparison_records import ComparisonRecord
from tests.harness import MakeGateway, mocked, running, wait_until, wire
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

SAVED = load_settings(
    Path(__file__).parent.parent / "fixtures/config/classifiers.toml", {}
).classifiers
CREATES = 40  # per setup, for a latency comparison (fewer than MAX_IN_FLIGHT, never shed)


def _completed(built: Settings, count: int = 1) -> tuple[ComparisonRecord, ...]:
    """The owner's comparisons, once `count` of them are completed."""
    wait_until(lambda: sum(c.completed for c in comparisons(built)) >= count)
    return comparisons(built)


def _fast_create_seconds(
    alone: Any, shadowed: Any, shadowed_by: Callable[[int], bool]
) -> tuple[float, float]:
    """The fastest of each client's creates, the same creates sent to both by turns
    (in either order), so that a drift of the machine's load weighs on both alike. A wait on
    the create's path delays every create, the fastest too; a busy machine only some. Each
    create is timed once the shadows of those before have been sent (`shadowed_by(count)`):
    what is timed is the create's path, not the background work beside it."""
    took: dict[int, list[float]] = {0: [], 1: []}
    for i in range(CREATES):
        body = retab_create(f"Freight invoice {i}: total due within 30 days")
        for which in (0, 1) if i % 2 else (1, 0):
            client = (alone, shadowed)[which]
            began = time.perf_counter()
            answer = client.post("/v1/classifications", json=body, headers=RETAB_HEADERS)
            took[which].append(time.perf_counter() - began)
            assert answer.status_code == 201, answer.text
            wait_until(lambda: shadowed_by(len(took[1])))
    return min(took[0]), min(took[1])


def _shadow_answer(kind: str, gate: Gate) -> Any:
    if kind == "slow":
        return gate
    if kind == "refused":
        return httpx.ConnectError
    return httpx.Response(503, json={"detail": "upstream trouble"})


@pytest.mark.parametrize(("primary", "kind"), [
    ("local", "slow"), ("local", "503"), ("local", "refused"),
    ("retab", "slow"),  # relayed to Retab, shadowed on Extend
])  # fmt: skip
def test_a_slow_or_failing_shadow_adds_no_latency_to_the_client_s_create(
    make_gateway: MakeGateway, tmp_path: Path, primary: str, kind: str
) -> None:
    """The same creates, with no shadow and with one that never answers until the test ends
    (or fails at once), sent by turns: the shadow costs the client nothing measurable (a 5 ms
    wait on the create's path fails this)."""
    shadow = "extend" if primary == "retab" else "retab"
    gate = Gate(lambda request: retab_run(new_retab_id()))
    if shadow == "extend":
        gate = Gate(
            lambda request: httpx.Response(200, content=wire("extend_classify_response.json"))
        )
    vendors = ["retab", "extend"]
    base = settings(tmp_path, vendors, default=primary, shadow=(), db="base.db")
    shadowed = settings(tmp_path, vendors, default=primary, shadow=(shadow,), db="shadowed.db")
    # the failing shadow is not ejected (its circuit, tests/test_circuit.py): every create is sent
    kept = msgspec.structs.replace(shadowed.backends[shadow], circuit_failures=3 * CREATES)
    shadowed = msgspec.structs.replace(shadowed, backends={**shadowed.backends, shadow: kept})
    router = (extend_vendor if shadow == "extend" else retab_vendor)()
    router.routes.clear()
    path = "/classify" if shadow == "extend" else "/v1/classifications"
    router.post(path).mock(side_effect=_shadow_answer(kind, gate))
    alone = make_gateway.client(base, mocked({"retab": retab_vendor(), "extend": extend_vendor()}))
    routers = {"retab": retab_vendor(), "extend": extend_vendor(), shadow: router}

    def shadowed_by(count: int) -> bool:
        if kind == "slow":  # held: the job is idle once its call waits at the gate
            return gate.waiting == count
        # refused or failed (retried first): the job is done once its side is failed
        return sum(c.completed for c in comparisons(shadowed)) == count

    try:
        took_alone, with_shadow = _fast_create_seconds(
            alone, make_gateway.client(shadowed, mocked(routers)), shadowed_by
        )
    finally:
        gate.open()
    # the fastest of 40: a busy machine delays some creates (background work competes for
    # the CPU), a wait on the create's path delays every one; 2 ms of noise, a 5 ms wait caught
    assert with_shadow < 1.25 * took_alone + 0.002, (took_alone, with_shadow)


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


def test_creates_past_the_in_flight_bound_are_not_compared_and_are_counted_in_a_log(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """A create whose every shadow is past the bound costs nothing more (no task, no ledger
    write): it is counted in one log line per SHED_LOG_EVERY."""
    gate = Gate(lambda request: retab_run(new_retab_id()))
    built = settings(tmp_path, ["retab"], default="local", shadow=("retab",))
    router = retab_vendor(gate)
    client = make_gateway.client(built, mocked({"retab": router}))
    try:
        with capture_logs() as logs:
            for i in range(MAX_IN_FLIGHT + SHED_LOG_EVERY + 1):
                body = retab_create(f"Receipt {i}: paid in full", background=True)
                answer = client.post("/v1/classifications", json=body, headers=RETAB_HEADERS)
                assert answer.status_code == 201, answer.text
            wait_until(lambda: gate.waiting == MAX_IN_FLIGHT)
        assert len(comparisons(built)) == MAX_IN_FLIGHT
    finally:
        gate.open()
    shed = [e for e in logs if e["event"] == "routing.shadow_shed"]
    assert [(e["creates"], e["log_level"]) for e in shed] == [(1, "warning"), (101, "warning")]
    assert SHED_LOG_EVERY == 100
    _completed(built, MAX_IN_FLIGHT)  # the held ones finish once answered
    assert len(comparisons(built)) == MAX_IN_FLIGHT
    assert router.calls.call_count == MAX_IN_FLIGHT


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

    def later() -> Any:  # past the job's deadline (Retab's call timeout) and the sweep's margin
        return system_clock() + timedelta(seconds=360 + JOB_MARGIN + 61)

    with running(built, mocked({"retab": retab_vendor()}), clock=later):
        (swept,) = _completed(built)
    assert swept.sides[1].error == "interrupted"
    assert swept.sides[1].run is None


def test_a_background_create_on_a_primary_nobody_refreshes_is_not_shadowed(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """Retab's runs are never re-read (`refresh_interval = 0`): a background run there may
    never be seen finished, nor its comparison completed, so it is not shadowed (said once);
    a sync create, finished when answered, still is."""
    built = settings(tmp_path, ["retab"], default="retab", shadow=("local",))
    retab = msgspec.structs.replace(built.backends["retab"], refresh_interval=0.0)
    built = msgspec.structs.replace(built, backends={**built.backends, "retab": retab})
    client = make_gateway.client(built, mocked({"retab": retab_vendor()}))

    with capture_logs() as logs:
        for i in range(2):
            body = retab_create(f"Receipt {i}: paid in full", background=True)
            answer = client.post("/v1/classifications", json=body, headers=RETAB_HEADERS)
            assert answer.status_code == 201, answer.text
        synced = client.post("/v1/classifications", json=retab_create(), headers=RETAB_HEADERS)
        assert synced.status_code == 201, synced.text
        (comparison,) = _completed(built)

    assert comparison.sides[0].upstream_id == synced.json()["id"]
    skipped = [e for e in logs if e["event"] == "routing.shadow_skipped"]
    assert [(e["backend"], e["log_level"]) for e in skipped] == [("retab", "warning")]
    assert "never refreshed" in skipped[0]["reason"]


def test_with_fallback_the_serving_side_starts_with_its_own_attempt_and_the_failed_one_is_not_shadowed(  # noqa: E501
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """Retab fails before a run exists and `local` serves: the local side's latency is its own
    (it starts after Retab's answer), and Retab, the create's failed backend, is not sent the
    same document again as a shadow; Extend, a shadow too, is."""
    failed_at: list[datetime] = []

    def refused(request: httpx.Request) -> httpx.Response:
        failed_at.append(system_clock())
        return httpx.Response(503, json={"detail": "upstream trouble"})

    built = settings(tmp_path, ["retab", "extend"], default="retab", fallback=("local",),
                     shadow=("retab", "extend"))  # fmt: skip
    retab = retab_vendor(refused)
    client = make_gateway.client(built, mocked({"retab": retab, "extend": extend_vendor()}))

    answer = client.post("/v1/classifications", json=retab_create(), headers=RETAB_HEADERS)

    assert answer.status_code == 201, answer.text
    assert answer.headers["crosswalk-backend"] == "local"
    (comparison,) = _completed(built)
    primary, shadow = comparison.sides
    assert [primary.backend, shadow.backend] == ["local", "extend"]
    assert primary.started_at >= failed_at[0]
    assert retab.calls.call_count == 1


def test_a_create_naming_a_saved_classifier_is_compared_over_its_categories(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    built = settings(tmp_path, ["retab"], default="local", shadow=("retab",), classifiers=SAVED)
    client = make_gateway.client(built, mocked({"retab": retab_vendor()}))
    body = {"file": {"text": "FREIGHT INVOICE No. 88213, total due"},
            "classifier": {"id": "cl_freight"}}  # fmt: skip

    answer = client.post("/classify", json=body, headers=EXTEND_HEADERS)

    assert answer.status_code == 200, answer.text
    (comparison,) = _completed(built)
    assert [c.key for c in comparison.categories] == ["invoice", "receipt", "bill_of_lading"]


def test_an_unexpected_shadow_error_is_logged_by_its_type_without_a_traceback_secret_or_document(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    text = "Freight invoice 4471: total due within 30 days to Northwind"

    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError(f"bug near sk-retab, reading {text!r}")

    built = settings(tmp_path, ["retab"], default="local", shadow=("retab",))
    client = make_gateway.client(built, mocked({"retab": retab_vendor(broken)}))

    with capture_logs() as logs:
        answer = client.post("/v1/classifications", json=retab_create(text), headers=RETAB_HEADERS)
        (comparison,) = _completed(built)

    assert answer.status_code == 201, answer.text
    assert comparison.sides[1].error == "internal error"
    (failed,) = [e for e in logs if e["event"] == "routing.shadow_failed"]
    assert (failed["backend"], failed["error"], failed["log_level"]) == (
        "retab",
        "RuntimeError",
        "error",
    )
    assert "exc_info" not in failed
    assert failed["message"] == "bug near [redacted], reading '[redacted]'"
    told = repr(logs)
    assert "sk-retab" not in told
    assert text not in told
