"""Idempotency-Key on creates: one run per key, owner and create path for 24 hours, replays
answered byte for byte, and every refusal in the caller's dialect."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx
from prometheus_client import REGISTRY

from gateway.clock import Clock
from gateway.config import ServerConfig
from tests.batch_support import (
    HEADERS,
    KEY,
    batch_body,
    saved_classifiers,
    statuses_until_settled,
)
from tests.harness import (
    GATEWAY_KEY,
    URLS,
    MakeGateway,
    extend_error,
    local_settings,
    mocked,
    mocked_vendors_settings,
    retab_error,
    running,
    vendor_backend,
    vendor_settings,
    wire,
)
from tests.held_vendor import Clockwork, Gate, held
from tests.stores import Store

RETAB = {"authorization": f"Bearer {GATEWAY_KEY}"}
EXTEND = {**RETAB, "x-extend-api-version": "2026-02-09"}
RETAB_BODY = {
    "document": {"filename": "a.txt", "url": "data:text/plain;base64,SGVsbG8="},
    "categories": [{"name": "invoice"}],
}
EXTEND_BODY = {
    "file": {"text": "Invoice 42: total due", "name": "a.txt"},
    "config": {"classifications": [{"id": "invoice", "type": "invoice", "description": "x"}]},
}
REPLAY = "crosswalk-idempotent-replay"
LEASE = timedelta(seconds=600 + 60)  # the default sync timeout, and the grace beyond it


@pytest.fixture
def upstreams() -> dict[str, respx.MockRouter]:
    routers = {
        name: respx.MockRouter(base_url=URLS[name], assert_all_called=False)
        for name in ("retab", "extend")
    }
    routers["retab"].post("/v1/classifications").respond(
        201, content=wire("retab_create_response_201.json")
    )
    for path in ("/classify", "/classify_runs"):
        routers["extend"].post(path).respond(
            200, content=wire("extend_classify_runs_create_response.json")
        )
    return routers


def _gateway(
    store: Store,
    tmp_path: Path,
    upstreams: dict[str, respx.MockRouter],
    clock: Clock | None = None,
) -> Any:
    settings = store.serving(mocked_vendors_settings(
        tmp_path, upstreams, default="retab", api_keys=(GATEWAY_KEY, "gw-other"),
        surface_backends={"retab": "retab", "extend": "extend"},
    ))  # fmt: skip
    if clock is None:
        return running(settings, mocked(upstreams))
    return running(settings, mocked(upstreams), clock=clock)


def _calls(router: respx.MockRouter, path: str) -> int:
    return sum(1 for call in router.calls if call.request.url.path == path)


CASES = [
    pytest.param("retab", "/v1/classifications", RETAB, RETAB_BODY, id="retab"),
    pytest.param("extend", "/classify", EXTEND, EXTEND_BODY, id="extend-classify"),
    pytest.param("extend", "/classify_runs", EXTEND, EXTEND_BODY, id="extend-classify_runs"),
]


@pytest.mark.parametrize(("vendor", "path", "headers", "body"), CASES)
def test_a_replay_is_the_first_answer_byte_for_byte(
    tmp_path: Path,
    store: Store,
    upstreams: dict[str, respx.MockRouter],
    vendor: str,
    path: str,
    headers: dict[str, str],
    body: dict[str, Any],
) -> None:
    """The same create sent twice with one key reaches the vendor once; the second answer is
    the first's status, headers and bytes, marked as a replay."""
    with _gateway(store, tmp_path, upstreams) as client:
        sent = {**headers, "idempotency-key": "order-1"}
        first = client.post(path, json=body, headers=sent)
        again = client.post(path, json=body, headers=sent)
    assert first.status_code in (200, 201)
    assert REPLAY not in first.headers
    assert again.headers[REPLAY] == "true"
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["crosswalk-backend"] == first.headers["crosswalk-backend"] == vendor
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["x-request-id"] == first.headers["x-request-id"]
    assert _calls(upstreams[vendor], path) == 1
    assert _run_ref(store, "order-1") == first.json()["id"]  # named for a crash's retry


def test_the_sdks_get_one_run_for_one_key(
    make_gateway: MakeGateway, tmp_path: Path, store: Store, upstreams: dict[str, respx.MockRouter]
) -> None:
    """Extend's SDK (the key as a request option) and Retab's (the key on its HTTP client)
    read the replay as the same run."""
    settings = mocked_vendors_settings(tmp_path, upstreams, default="retab",
                                       surface_backends={"extend": "extend"})  # fmt: skip
    settings = store.serving(settings)
    gateway = make_gateway(settings, mocked(upstreams))
    extend_sdk = gateway.extend(GATEWAY_KEY)
    options: Any = {"additional_headers": {"Idempotency-Key": "sdk-1"}, "max_retries": 0}
    extend_runs = [
        extend_sdk.classify_runs.create(
            file=EXTEND_BODY["file"], config=EXTEND_BODY["config"], request_options=options
        )
        for _ in range(2)
    ]
    retab_sdk = gateway.retab(GATEWAY_KEY)
    retab_sdk.client.headers["Idempotency-Key"] = "sdk-1"
    retab_runs = [
        retab_sdk.classifications.create(
            document=RETAB_BODY["document"], categories=RETAB_BODY["categories"]
        )
        for _ in range(2)
    ]
    assert extend_runs[0].id == extend_runs[1].id
    assert retab_runs[0].id == retab_runs[1].id
    assert _calls(upstreams["extend"], "/classify_runs") == 1
    assert _calls(upstreams["retab"], "/v1/classifications") == 1


@pytest.mark.parametrize(("vendor", "path", "headers", "body"), CASES[:2])
def test_another_body_with_the_same_key_is_a_422_in_the_dialect(
    tmp_path: Path,
    store: Store,
    upstreams: dict[str, respx.MockRouter],
    vendor: str,
    path: str,
    headers: dict[str, str],
    body: dict[str, Any],
) -> None:
    """A key reused for a different create is the client's mistake, said in its dialect."""
    other = {**body, "document" if vendor == "retab" else "file": {"text": "x", "name": "b.txt"}}
    if vendor == "retab":
        other["document"] = {"filename": "b.txt", "url": "data:text/plain;base64,SGk="}
    with _gateway(store, tmp_path, upstreams) as client:
        sent = {**headers, "idempotency-key": "order-2"}
        client.post(path, json=body, headers=sent)
        refused = client.post(path, json=other, headers=sent)
    if vendor == "retab":
        assert "different request body" in str(retab_error(refused, 422))
    else:
        assert "different request body" in extend_error(refused, 422)["message"]
    assert _calls(upstreams[vendor], path) == 1


@pytest.mark.parametrize("raw", ["", " ", "k" * 256])
def test_an_empty_or_overlong_key_is_a_400(
    tmp_path: Path, store: Store, upstreams: dict[str, respx.MockRouter], raw: str
) -> None:
    """Keys are 1 to 255 characters; anything else is refused before any create."""
    with _gateway(store, tmp_path, upstreams) as client:
        retab = client.post(
            "/v1/classifications", json=RETAB_BODY, headers={**RETAB, "idempotency-key": raw}
        )
        extend = client.post(
            "/classify_runs", json=EXTEND_BODY, headers={**EXTEND, "idempotency-key": raw}
        )
    assert "idempotency-key" in str(retab_error(retab, 400))
    assert "idempotency-key" in extend_error(extend, 400)["message"]
    assert not upstreams["retab"].calls
    assert not upstreams["extend"].calls


def test_keys_are_scoped_per_client_key_and_path(
    tmp_path: Path, store: Store, upstreams: dict[str, respx.MockRouter]
) -> None:
    """Another client's same Idempotency-Key, or the same key on another create path, is a
    create of its own."""
    with _gateway(store, tmp_path, upstreams) as client:
        key = {"idempotency-key": "shared"}
        mine = client.post("/classify_runs", json=EXTEND_BODY, headers={**EXTEND, **key})
        theirs_headers = {**EXTEND, **key, "authorization": "Bearer gw-other"}
        theirs = client.post("/classify_runs", json=EXTEND_BODY, headers=theirs_headers)
        sync = client.post("/classify", json=EXTEND_BODY, headers={**EXTEND, **key})
    assert REPLAY not in theirs.headers
    assert REPLAY not in sync.headers
    assert mine.status_code == theirs.status_code == sync.status_code == 200
    assert _calls(upstreams["extend"], "/classify_runs") == 2
    assert _calls(upstreams["extend"], "/classify") == 1


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_vendor_failure_frees_the_key_for_a_retry(
    tmp_path: Path, store: Store, upstreams: dict[str, respx.MockRouter], status: int
) -> None:
    """A 5xx or 429 before any run existed is not kept: the SDK's retry with the same key
    runs, and is then the key's answer."""
    route = upstreams["retab"].post("/v1/classifications")
    route.side_effect = [
        httpx.Response(status, json={"detail": "busy"}, headers={"retry-after": "1"}),
        httpx.Response(201, content=wire("retab_create_response_201.json")),
    ]
    with _gateway(store, tmp_path, upstreams) as client:
        sent = {**RETAB, "idempotency-key": "retry-me"}
        failed = client.post("/v1/classifications", json=RETAB_BODY, headers=sent)
        retried = client.post("/v1/classifications", json=RETAB_BODY, headers=sent)
        replayed = client.post("/v1/classifications", json=RETAB_BODY, headers=sent)
    # a vendor's 500 is answered as a 502: a 500 from crosswalk is never the vendor's
    assert failed.status_code == (502 if status == 500 else status)
    assert retried.status_code == 201
    assert REPLAY not in retried.headers
    assert replayed.headers[REPLAY] == "true"
    assert replayed.content == retried.content
    assert route.call_count == 2


def test_a_validation_error_is_kept_for_the_key(
    tmp_path: Path, store: Store, upstreams: dict[str, respx.MockRouter]
) -> None:
    """A 4xx the same request would get again is the key's answer: replayed, not re-run."""
    route = upstreams["retab"].post("/v1/classifications")
    route.respond(422, json={"detail": [{"msg": "bad categories"}]})
    with _gateway(store, tmp_path, upstreams) as client:
        sent = {**RETAB, "idempotency-key": "bad-1"}
        first = client.post("/v1/classifications", json=RETAB_BODY, headers=sent)
        again = client.post("/v1/classifications", json=RETAB_BODY, headers=sent)
    assert first.status_code == again.status_code == 422
    assert again.headers[REPLAY] == "true"
    assert again.content == first.content
    assert route.call_count == 1


def test_a_concurrent_duplicate_is_a_409_while_the_first_is_in_flight(
    make_gateway: MakeGateway, tmp_path: Path, store: Store
) -> None:
    """While the first create is held at the vendor, the same one again is a 409 in Extend's
    envelope; once the first is answered, the same request replays it."""
    gate = Gate()
    settings = store.serving(mocked_vendors_settings(tmp_path, ["extend"], default="extend"))
    gateway = make_gateway(settings, {"extend": gate}, served=True)
    sent = {**EXTEND, "idempotency-key": "held"}
    client = gateway.http(GATEWAY_KEY)
    with held(
        gate, lambda: client.post("/classify_runs", json=EXTEND_BODY, headers=sent)
    ) as answers:
        duplicate = gateway.http(GATEWAY_KEY).post("/classify_runs", json=EXTEND_BODY, headers=sent)
    body = extend_error(duplicate, 409)
    assert body["retryable"] is True
    assert "still being processed" in body["message"]
    replay = gateway.http(GATEWAY_KEY).post("/classify_runs", json=EXTEND_BODY, headers=sent)
    assert answers[0].status_code == 200
    assert replay.headers[REPLAY] == "true"
    assert replay.content == answers[0].content
    assert gate.creates == 1


def test_keys_expire_after_24_hours_and_are_purged(
    tmp_path: Path, store: Store, upstreams: dict[str, respx.MockRouter]
) -> None:
    """A day after its first use a key is free again (even for another body), and the purge
    loop forgets it."""
    clock = Clockwork()
    with _gateway(store, tmp_path, upstreams, clock) as client:
        sent = {**RETAB, "idempotency-key": "daily"}
        client.post("/v1/classifications", json=RETAB_BODY, headers=sent)
        clock.now += timedelta(hours=23)
        assert client.post("/v1/classifications", json=RETAB_BODY, headers=sent).headers[REPLAY]
        clock.now += timedelta(hours=2)
        client.blocking_portal.call(client.app.state.background.steps()["idempotency-purge"])
        assert _slots(store) == 0
        other = {**RETAB_BODY, "categories": [{"name": "receipt"}]}
        fresh = client.post("/v1/classifications", json=other, headers=sent)
    assert fresh.status_code == 201
    assert REPLAY not in fresh.headers
    assert upstreams["retab"].calls.call_count == 2
    assert _slots(store) == 1


def _run_ref(store: Store, key: str) -> str | None:
    [(run_ref,)] = store.execute("SELECT run_ref FROM idempotency_keys WHERE key = ?", (key,))
    found: str | None = run_ref
    return found


def _slots(store: Store) -> int:
    [(count,)] = store.execute("SELECT count(*) FROM idempotency_keys")
    slots: int = count
    return slots


def _hold(store: Store, key: str, *, at: datetime, run_made: bool) -> str | None:
    """Make the key's slot as a process that died mid-create leaves it: in flight until `at`,
    naming the run its create made (when `run_made`); the run named."""
    [(run_ref,)] = store.execute("SELECT run_ref FROM idempotency_keys WHERE key = ?", (key,))
    store.execute(
        "UPDATE idempotency_keys SET status = NULL, headers = NULL, body = NULL, "
        "lease_until_us = ?, run_ref = ? WHERE key = ?",
        (int(at.timestamp() * 1_000_000), run_ref if run_made else None, key),
    )
    held: str | None = run_ref if run_made else None
    return held


def test_answers_survive_a_restart_and_a_dead_reservation_is_freed(
    tmp_path: Path, store: Store, upstreams: dict[str, respx.MockRouter]
) -> None:
    """A key answered before a restart replays after it; one a dead process left in flight
    before any run existed is a 409 until the sync timeout (and a grace) has passed, then the
    create runs anew."""
    clock = Clockwork()
    sent = {**RETAB, "idempotency-key": "across"}
    with _gateway(store, tmp_path, upstreams, clock) as client:
        first = client.post("/v1/classifications", json=RETAB_BODY, headers=sent)
    with _gateway(store, tmp_path, upstreams, clock) as client:
        replay = client.post("/v1/classifications", json=RETAB_BODY, headers=sent)
    assert replay.headers[REPLAY] == "true"
    assert replay.content == first.content
    _hold(store, "across", at=clock.now + LEASE, run_made=False)
    with _gateway(store, tmp_path, upstreams, clock) as client:
        retab_error(client.post("/v1/classifications", json=RETAB_BODY, headers=sent), 409)
        clock.now += LEASE + timedelta(seconds=1)
        rerun = client.post("/v1/classifications", json=RETAB_BODY, headers=sent)
    assert rerun.status_code == 201
    assert REPLAY not in rerun.headers
    assert upstreams["retab"].calls.call_count == 2


@pytest.mark.parametrize(
    ("path", "listing", "headers", "body"),
    [
        pytest.param("/v1/classifications", "/v1/classifications", RETAB, RETAB_BODY, id="retab"),
        pytest.param("/classify", "/classify_runs", EXTEND, EXTEND_BODY, id="extend"),
    ],
)
def test_a_retry_after_a_crash_is_answered_with_the_run_already_made(
    tmp_path: Path,
    store: Store,
    path: str,
    listing: str,
    headers: dict[str, str],
    body: dict[str, Any],
) -> None:
    """The key names its run once the backend accepts it: when the process dies before the
    answer is kept, the retry (once the reservation is stale) answers with that run, and no
    second run is made."""
    clock = Clockwork()
    sent = {**headers, "idempotency-key": "crash"}
    settings = store.serving(local_settings(tmp_path, api_keys=(GATEWAY_KEY,)))
    with running(settings, clock=clock) as client:
        first = client.post(path, json=body, headers=sent)
    assert first.is_success
    assert _hold(store, "crash", at=clock.now + LEASE, run_made=True) == first.json()["id"]
    clock.now += LEASE + timedelta(seconds=1)
    with running(settings, clock=clock) as client:
        retried = client.post(path, json=body, headers=sent)
        listed = client.get(listing, headers=headers)
    assert retried.status_code == first.status_code
    assert retried.json()["id"] == first.json()["id"]
    assert len(listed.json()["data"]) == 1


def test_creates_without_a_key_are_untouched(
    tmp_path: Path, store: Store, upstreams: dict[str, respx.MockRouter]
) -> None:
    """No header, no slot: two creates are two runs."""
    with _gateway(store, tmp_path, upstreams) as client:
        for _ in range(2):
            assert client.post("/v1/classifications", json=RETAB_BODY, headers=RETAB).is_success
    assert upstreams["retab"].calls.call_count == 2
    assert _slots(store) == 0


def test_an_unauthenticated_create_is_a_401_and_keeps_no_slot(
    tmp_path: Path, store: Store, upstreams: dict[str, respx.MockRouter]
) -> None:
    """A wrong key is answered as ever, and reserves nothing under anyone's name."""
    with _gateway(store, tmp_path, upstreams) as client:
        sent = {"authorization": "Bearer nope", "idempotency-key": "k"}
        retab_error(client.post("/v1/classifications", json=RETAB_BODY, headers=sent), 401)
    assert _slots(store) == 0


def test_a_create_that_may_have_reached_the_vendor_keeps_its_key(
    tmp_path: Path, store: Store, upstreams: dict[str, respx.MockRouter]
) -> None:
    """A read timeout may hide a run made upstream: the key's answer is the 504, replayed,
    so a retry cannot make a second run; a connect error sent nothing, so its key is free."""
    route = upstreams["retab"].post("/v1/classifications")
    route.side_effect = [
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
        httpx.Response(201, content=wire("retab_create_response_201.json")),
    ]
    with _gateway(store, tmp_path, upstreams) as client:
        timed_out = {**RETAB, "idempotency-key": "maybe-made"}
        first = client.post("/v1/classifications", json=RETAB_BODY, headers=timed_out)
        again = client.post("/v1/classifications", json=RETAB_BODY, headers=timed_out)
        unsent = {**RETAB, "idempotency-key": "never-sent"}
        refused = client.post("/v1/classifications", json=RETAB_BODY, headers=unsent)
        retried = client.post("/v1/classifications", json=RETAB_BODY, headers=unsent)
    assert first.status_code == 504
    assert again.headers[REPLAY] == "true"
    assert again.content == first.content
    assert refused.status_code == 502
    assert retried.status_code == 201
    assert route.call_count == 3


def test_a_batch_create_is_made_once_per_key(
    make_gateway: MakeGateway, tmp_path: Path, store: Store
) -> None:
    """`POST /classify_runs/batch` with a key makes one batch however often it is sent, on
    the local backend too; each replay is counted in the metrics."""
    settings = local_settings(tmp_path, api_keys=(KEY,), classifiers=saved_classifiers())
    settings = store.serving(settings)
    http = make_gateway(settings).http(None)
    sent = {**HEADERS, "idempotency-key": "batch-1"}
    before = _replays("extend")
    answers = [http.post("/classify_runs/batch", json=batch_body(3), headers=sent) for _ in "ab"]
    assert answers[0].status_code == 200
    assert answers[1].headers[REPLAY] == "true"
    assert answers[1].content == answers[0].content
    assert _replays("extend") == before + 1
    assert statuses_until_settled(http, answers[0].json()["id"])[-1] == "PROCESSED"
    listed = http.get("/classify_runs", headers=HEADERS).json()["data"]
    assert len(listed) == 3  # one batch's runs, never a second batch's


def _replays(surface: str) -> float:
    value = REGISTRY.get_sample_value("crosswalk_idempotent_replays_total", {"surface": surface})
    return value or 0.0


def test_a_sync_create_past_its_deadline_is_answered_with_its_run_on_retry(
    tmp_path: Path,
    store: Store,
) -> None:
    """A Retab sync create on Extend (`poll`) whose run outlives `sync_timeout` answers 504;
    the retry with the same key makes no second run: it is answered with the first one."""
    extend = respx.MockRouter(base_url=URLS["extend"], assert_all_called=False)
    created = extend.post("/classify_runs").respond(
        200, content=wire("extend_classify_runs_create_response.json")
    )
    run_id = "clr_Wm8kP2sV6yB0nE4rT8uX1q"
    polled = extend.get(f"/classify_runs/{run_id}")
    polled.respond(200, content=wire("extend_classify_runs_get_pending.json"))
    settings = vendor_settings(
        tmp_path,
        {"extend": vendor_backend("extend", api_key_env="EXTEND_API_KEY", sync_mode="poll",
                                  poll_interval=0.01)},
        default="extend", api_keys=(GATEWAY_KEY,), upstream_keys={"extend": "sk-extend"},
        server=ServerConfig(sync_timeout=0.2),
    )  # fmt: skip
    settings = store.serving(settings)
    sent = {**RETAB, "idempotency-key": "slow"}
    body = RETAB_BODY
    with running(settings, mocked({"extend": extend})) as client:
        late = client.post("/v1/classifications", json=body, headers=sent)
        polled.respond(200, content=wire("extend_classify_runs_get_processed.json"))
        retried = client.post("/v1/classifications", json=body, headers=sent)
    assert "goes on" in retab_error(late, 504)["message"]
    assert retried.status_code == 201
    assert retried.json()["id"] in late.json()["detail"]["message"]
    assert created.call_count == 1


def _done(store: Store, key: str) -> bool:
    [(done_us,)] = store.execute("SELECT done_us FROM idempotency_keys WHERE key = ?", (key,))
    return done_us is not None


def test_the_key_keeps_its_answer_before_the_answer_s_last_bytes_leave(
    tmp_path: Path, store: Store, upstreams: dict[str, respx.MockRouter]
) -> None:
    """A client holding its whole answer can count on a retry getting the same one, even if
    the process dies the moment after: the answer is kept before its last bytes are sent."""
    body = json.dumps(RETAB_BODY).encode()
    sent = {**RETAB, "idempotency-key": "kept-first", "content-type": "application/json"}
    headers = [(k.encode(), v.encode()) for k, v in sent.items()]
    headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/classifications", "raw_path": b"/v1/classifications",
        "query_string": b"", "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    kept_when_last_sent: list[bool] = []
    with _gateway(store, tmp_path, upstreams) as client:
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> Any:
            if messages:
                return messages.pop()
            await anyio.sleep_forever()

        async def send(message: Any) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                kept_when_last_sent.append(_done(store, "kept-first"))

        client.blocking_portal.call(client.app, scope, receive, send)
    assert kept_when_last_sent == [True]
