"""The official Extend SDK against a gateway whose backend is Extend (same-vendor pass-through).

Request bytes reach Extend unchanged and its answers come back unchanged (design.md §4); only
the key is swapped: the backend's own, or the client's for a pure proxy. Extend is the fake of
contract_tests/fake_extend.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from extend_ai import Extend
from extend_ai.core.api_error import ApiError
from extend_ai.errors import NotFoundError, TooManyRequestsError

from contract_tests.fake_extend import API_VERSION, BASE_URL, FakeExtend, wire
from tests.harness import (
    NO_RETRIES,
    Gateway,
    MakeGateway,
    classifications,
    corpus,
    vendor_backend,
    vendor_settings,
)

UPSTREAM_KEY = "sk-extend-upstream"
WORKSPACE = "ws_Ab1c2D3e"
EXTEND_HEADERS = {"x-extend-api-version": API_VERSION, "content-type": "application/json"}
# an Extend body as a client might write it: odd spacing, its own key order, a field from the
# future; re-encoding it anywhere on the way would change these bytes
RAW_BODY = (
    b'{ "metadata":{"tenant":"acme"},\n  "file": {"text": "INVOICE no. 7 \\u00e9",'
    b' "name": "i.txt"}, "config": {"classifications": [{"type": "Invoice", "id": "invoice",'
    b' "description": "A bill"}]}, "futureInput": [1, 2.50] }'
)


@pytest.fixture
def fake() -> FakeExtend:
    return FakeExtend(gets_before_processed=100)


@pytest.fixture
def served(make_gateway: MakeGateway, tmp_path: Path, fake: FakeExtend) -> Gateway:
    """Extend clients routed to an Extend backend holding its own key, behind gateway keys."""
    settings = vendor_settings(
        tmp_path,
        {"extend": vendor_backend("extend", BASE_URL, api_key_env="EXTEND_API_KEY")},
        default="extend",
        api_keys=("gw-key", "gw-key-2"),
        upstream_keys={"extend": UPSTREAM_KEY},
    )
    return make_gateway(settings, {"extend": fake.transport})


@pytest.fixture
def proxy(make_gateway: MakeGateway, tmp_path: Path, fake: FakeExtend) -> Gateway:
    """A pure proxy: no key of its own and no gateway keys; each client's key goes upstream."""
    settings = vendor_settings(
        tmp_path, {"extend": vendor_backend("extend", BASE_URL)}, default="extend"
    )
    return make_gateway(settings, {"extend": fake.transport})


def _text_file() -> dict[str, str]:
    return {"text": corpus("doc_001.txt").read_text(encoding="utf-8"), "name": "doc_001.txt"}


def _create(sdk: Extend) -> str:
    run = sdk.classify_runs.create(
        file=_text_file(),
        config={"classifications": classifications()},
        request_options={"additional_headers": {"x-extend-workspace-id": WORKSPACE}},
    )
    return str(run.id)


@pytest.mark.parametrize("path", ["/classify", "/classify_runs"])
def test_create_body_and_answer_pass_byte_for_byte(
    served: Gateway, fake: FakeExtend, path: str
) -> None:
    """The client's body reaches Extend as sent, and Extend's answer reaches the client as is."""
    headers = EXTEND_HEADERS | {"x-extend-workspace-id": WORKSPACE}
    response = served.http("gw-key").post(path, content=RAW_BODY, headers=headers)
    upstream = fake.last("POST", path)
    assert upstream.body == RAW_BODY
    assert response.status_code == 200
    assert response.content == upstream.answer
    assert response.headers["crosswalk-backend"] == "extend"
    assert "crosswalk-translation" not in response.headers
    assert response.json()["id"] == fake.last_run_id
    assert upstream.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert upstream.headers["x-extend-workspace-id"] == WORKSPACE
    assert upstream.headers["x-extend-api-version"] == API_VERSION


def test_sdk_run_lifecycle_passes_through(served: Gateway, fake: FakeExtend) -> None:
    """create, retrieve, cancel and delete reach Extend with the backend's key and the
    client's workspace; run ids stay Extend's own."""
    sdk = served.extend("gw-key")
    run_id = _create(sdk)
    assert run_id == fake.last_run_id
    assert run_id.startswith("clr_")
    assert "xw1" not in run_id
    retrieved = sdk.classify_runs.retrieve(run_id, extend_workspace_id=WORKSPACE)
    assert (retrieved.id, retrieved.status) == (run_id, "PROCESSING")
    cancelled = sdk.classify_runs.cancel(run_id, extend_workspace_id=WORKSPACE)
    assert (cancelled.id, cancelled.status) == (run_id, "CANCELLED")
    assert sdk.classify_runs.delete(run_id, extend_workspace_id=WORKSPACE).id == run_id
    one = f"/classify_runs/{run_id}"
    expected = ["POST /classify_runs", f"GET {one}", f"POST {one}/cancel", f"DELETE {one}"]
    assert fake.summary() == expected
    for call in fake.calls():
        assert call.headers["authorization"] == f"Bearer {UPSTREAM_KEY}", call.path
        assert call.headers["x-extend-workspace-id"] == WORKSPACE, call.path
        assert call.headers["x-extend-api-version"] == API_VERSION, call.path
    assert fake.calls("POST", "/classify_runs")[0].json()["config"] == {
        "classifications": classifications()
    }


def test_unknown_response_fields_reach_the_sdk(served: Gateway, fake: FakeExtend) -> None:
    """A field Extend adds tomorrow survives the gateway, to the SDK's raw response and JSON."""
    sdk = served.extend("gw-key")
    fake.extra_fields = {"futureField": {"x": 1}}
    run_id = _create(sdk)
    raw = sdk.classify_runs.with_raw_response.retrieve(run_id)
    assert raw.data.id == run_id
    assert raw.data.model_extra == {"futureField": {"x": 1}}
    got = served.http("gw-key").get(f"/classify_runs/{run_id}", headers=EXTEND_HEADERS)
    assert got.json()["futureField"] == {"x": 1}
    assert got.content == fake.last("GET", f"/classify_runs/{run_id}").answer


def test_another_keys_run_is_not_found(served: Gateway, fake: FakeExtend) -> None:
    """A run made with one gateway key is a 404 for another, which never reaches Extend."""
    run_id = _create(served.extend("gw-key"))
    stranger = served.extend("gw-key-2")
    before = len(fake.calls())
    for call in (stranger.classify_runs.retrieve, stranger.classify_runs.cancel):
        with pytest.raises(NotFoundError) as caught:
            call(run_id, request_options=NO_RETRIES)
        assert caught.value.body["code"] == "NOT_FOUND"
    assert fake.calls()[before:] == []


def test_pure_proxy_sends_the_clients_own_token(proxy: Gateway, fake: FakeExtend) -> None:
    """With no key of its own, the gateway forwards the client's token to Extend."""
    sdk = proxy.extend("sk-client-own")
    run_id = _create(sdk)
    assert sdk.classify_runs.retrieve(run_id).id == run_id
    assert [c.headers["authorization"] for c in fake.calls()] == ["Bearer sk-client-own"] * 2


def test_pure_proxy_lists_extends_own_runs(proxy: Gateway, fake: FakeExtend) -> None:
    """`list` on a pure proxy is Extend's own listing, relayed: runs crosswalk never made too."""
    elsewhere = fake.add_run(wire("extend_classify_runs_get_processed.json"))
    sdk = proxy.extend("sk-client-own")
    made_here = _create(sdk)
    first = sdk.classify_runs.list(max_page_size=1, extend_workspace_id=WORKSPACE)
    assert [r.id for r in first.data] == [made_here]
    assert first.next_page_token == "1"
    second = sdk.classify_runs.list(max_page_size=1, next_page_token=first.next_page_token)
    assert [r.id for r in second.data] == [elsewhere]
    assert second.next_page_token is None
    listed = fake.calls("GET", "/classify_runs")
    assert listed[0].query["maxPageSize"] == "1"
    assert listed[0].headers["authorization"] == "Bearer sk-client-own"
    assert listed[0].headers["x-extend-workspace-id"] == WORKSPACE
    assert listed[1].query["nextPageToken"] == "1"


def test_upstream_not_found_is_relayed(served: Gateway, fake: FakeExtend) -> None:
    """Extend's 404 for a run it does not know comes back with its own status and body."""
    sdk = served.extend("gw-key")
    with pytest.raises(NotFoundError) as caught:
        sdk.classify_runs.retrieve("clr_doesNotExist000000000", request_options=NO_RETRIES)
    answer = fake.last("GET", "/classify_runs/clr_doesNotExist000000000").answer
    assert caught.value.status_code == 404
    assert caught.value.body == json.loads(answer)


def test_upstream_rate_limit_is_relayed_with_retry_after(served: Gateway, fake: FakeExtend) -> None:
    """Extend's 429 keeps its status, body and `Retry-After`; no run is recorded."""
    limited = wire("extend_error_429_rate_limited.json")
    fake.fail_next(429, limited, headers={"Retry-After": "7"}, method="POST")
    sdk = served.extend("gw-key")
    with pytest.raises(TooManyRequestsError) as caught:
        _create_without_retries(sdk)
    assert caught.value.status_code == 429
    assert caught.value.body == limited
    assert caught.value.headers["retry-after"] == "7"
    fake.fail_next(429, limited, headers={"Retry-After": "7"}, method="POST")
    response = served.http("gw-key").post(
        "/classify_runs", content=RAW_BODY, headers=EXTEND_HEADERS
    )
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")
    assert response.content == fake.calls("POST", "/classify_runs")[-1].answer
    assert sdk.classify_runs.list().data == []


def test_unreachable_upstream_is_a_502_in_extends_envelope(
    served: Gateway, fake: FakeExtend
) -> None:
    """A connection failure to Extend is the gateway's 502, in Extend's error envelope."""
    fake.fail_next(error=httpx.ConnectError("connection refused"))
    sdk = served.extend("gw-key")
    with pytest.raises(ApiError) as caught:
        _create_without_retries(sdk)
    assert caught.value.status_code == 502
    assert caught.value.body["retryable"] is True
    assert caught.value.body["requestId"].startswith("req_")
    assert fake.last("POST", "/classify_runs").status == 0  # it raised, answering nothing
    assert sdk.classify_runs.list().data == []


def _create_without_retries(sdk: Extend) -> None:
    sdk.classify_runs.create(
        file=_text_file(),
        config={"classifications": classifications()},
        request_options=NO_RETRIES,
    )
