"""The official Retab SDK against a served gateway whose backend is Retab (same vendor).

Same-vendor traffic is a transparent proxy (design.md §4): the body goes upstream byte for
byte and the answer comes back unchanged; only the key is swapped, and runs are recorded in
crosswalk's ledger, which serves a listing scoped per gateway key.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec
import pytest
from retab import Retab
from retab.exceptions import InternalServerError, NotFoundError, RateLimitError

from contract_tests.fake_retab import BASE_URL, PATH, FakeRetab
from gateway.config import Settings
from tests.harness import (
    FIXTURES,
    Gateway,
    MakeGateway,
    categories,
    corpus,
    vendor_backend,
    vendor_settings,
)

INVOICE = "doc_001.txt"
UPSTREAM_KEY = "sk-retab-upstream"
FUTURE = {"future_field": {"added_in": "v2", "values": [1, 2.5, None]}}
# a create body as a client might write it: odd spacing, key order and escapes kept as sent
RAW_CREATE = (
    b'{ "categories":[{"name":"invoice","description":"Bill \\u2014 amount due"},'
    b'{"name":"receipt" , "handle_key":"rcpt","description":""}],\n'
    b' "document":{"url":"data:text/plain;base64,SW52b2ljZSB0b3RhbDogNDIgRVVS",'
    b'"filename":"a.txt"},"model":"retab-small","n_consensus":1,'
    b'"bust_cache":false,"background":false}'
)


def _settings(tmp_path: Path, *, upstream_key: bool = True) -> Settings:
    """A Retab backend with crosswalk's own key and gateway keys, or a pure proxy."""
    env = "RETAB_API_KEY" if upstream_key else None
    return vendor_settings(
        tmp_path,
        {"retab": vendor_backend("retab", BASE_URL, api_key_env=env)},
        default="retab",
        api_keys=("gw-a", "gw-b") if upstream_key else (),
        upstream_keys={"retab": UPSTREAM_KEY} if upstream_key else {},
    )


@pytest.fixture
def retab() -> FakeRetab:
    fake = FakeRetab()
    fake.extra_fields = dict(FUTURE)
    return fake


@pytest.fixture
def served(make_gateway: MakeGateway, tmp_path: Path, retab: FakeRetab) -> Gateway:
    return make_gateway(_settings(tmp_path), transports={"retab": retab.transport})


@pytest.fixture
def sdk(served: Gateway) -> Retab:
    return served.retab("gw-a")


def _create(sdk: Retab, *, background: bool = False) -> str:
    created = sdk.classifications.create(
        document=corpus(INVOICE), categories=categories(), background=background
    )
    return str(created.id)


def test_create_body_reaches_retab_byte_for_byte(served: Gateway, retab: FakeRetab) -> None:
    """The create body Retab receives is the client's, byte for byte; the answer too."""
    response = served.http("gw-a").post(
        PATH, content=RAW_CREATE, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201
    sent = retab.last("POST")
    assert sent.body == RAW_CREATE
    assert sent.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert response.content == sent.response
    assert response.json()["future_field"] == FUTURE["future_field"]
    assert response.headers["crosswalk-backend"] == "retab"


def test_sdk_create_keeps_native_ids(sdk: Retab, retab: FakeRetab) -> None:
    """An SDK create answers with Retab's own `cls_` id, sent with crosswalk's key."""
    result = sdk.classifications.create(document=corpus(INVOICE), categories=categories())
    assert result.id == retab.only_run_id()
    assert result.id.startswith("cls_")
    assert "xw1-" not in result.id
    assert result.status is not None
    assert result.status.value == "completed"
    sent = retab.last("POST")
    assert sent.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert sent.json()["categories"] == categories()


def test_get_relays_retabs_answer_unchanged(sdk: Retab, served: Gateway, retab: FakeRetab) -> None:
    """`get` reaches Retab with its query and key; unknown fields come back unchanged."""
    run_id = _create(sdk, background=True)
    fetched = sdk.classifications.get(run_id)
    assert fetched.id == run_id
    call = retab.last("GET", f"{PATH}/{run_id}")
    assert call.query == {"include_output": "true"}
    assert call.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    raw = served.http("gw-a").get(f"{PATH}/{run_id}", params={"include_output": "false"})
    assert raw.status_code == 200
    assert raw.content == retab.last("GET", f"{PATH}/{run_id}").response
    assert "output" not in raw.json()
    assert raw.json()["future_field"] == FUTURE["future_field"]


def test_cancel_relays_retabs_answer(sdk: Retab, served: Gateway, retab: FakeRetab) -> None:
    """`create_classification_cancel` reaches Retab; a finished run comes back unchanged."""
    run_id = _create(sdk, background=True)
    cancelled = sdk.classifications.create_classification_cancel(run_id)
    assert cancelled.status is not None
    assert cancelled.status.value == "cancelled"
    call = retab.last("POST", f"{PATH}/{run_id}/cancel")
    assert call.body == b""
    assert call.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    again = served.http("gw-a").post(f"{PATH}/{run_id}/cancel")
    assert again.status_code == 200
    assert again.content == retab.last("POST", f"{PATH}/{run_id}/cancel").response
    assert again.json()["status"] == "cancelled"
    listed = sdk.classifications.list().data
    assert [(c.id, c.status and c.status.value) for c in listed] == [(run_id, "cancelled")]


def test_delete_relays_the_empty_204(sdk: Retab, retab: FakeRetab) -> None:
    """`delete` reaches Retab and answers its 204; the run is then gone."""
    run_id = _create(sdk)
    assert sdk.classifications.delete(run_id) is None
    call = retab.last("DELETE", f"{PATH}/{run_id}")
    assert (call.status, call.headers["authorization"]) == (204, f"Bearer {UPSTREAM_KEY}")
    with pytest.raises(NotFoundError):
        sdk.classifications.get(run_id)
    assert sdk.classifications.list().data == []


def test_a_run_crosswalk_never_saw_is_asked_of_retab(sdk: Retab, retab: FakeRetab) -> None:
    """A native id missing from the ledger goes to Retab as is (a migration); a run Retab has
    is relayed, and Retab's 404 for one it lacks is the SDK's NotFoundError."""
    page = msgspec.json.decode((FIXTURES / "wire" / "retab_list_response.json").read_bytes())
    known = page["data"][0]
    retab.seed(known)
    fetched = sdk.classifications.get(known["id"])
    assert fetched.id == known["id"]
    assert fetched.output is not None
    assert fetched.output.category == known["output"]["category"]
    missing = "cls_01JNZZZZZZZZZZZZZZZZZZZZZZ"
    with pytest.raises(NotFoundError):
        sdk.classifications.get(missing)
    assert retab.last("GET", f"{PATH}/{missing}").status == 404


def test_list_is_served_from_the_ledger_per_key(served: Gateway, retab: FakeRetab) -> None:
    """With crosswalk's key, `list` comes from the ledger: each gateway key sees only its runs."""
    owner, stranger = served.retab("gw-a"), served.retab("gw-b")
    ids = [_create(owner) for _ in range(3)]
    listed = owner.classifications.list(limit=2)
    assert [c.id for c in listed.data] == ids[::-1][:2]
    assert [c.id for c in listed.auto_paging_iter()] == ids[::-1]
    assert stranger.classifications.list().data == []
    assert retab.calls("GET") == []


def test_another_keys_run_is_not_found(served: Gateway, retab: FakeRetab) -> None:
    """A run of one gateway key is a 404 for another, and Retab is not even asked."""
    owner, stranger = served.retab("gw-a"), served.retab("gw-b")
    run_id = _create(owner, background=True)
    for call in (
        stranger.classifications.get,
        stranger.classifications.create_classification_cancel,
        stranger.classifications.delete,
    ):
        with pytest.raises(NotFoundError):
            call(run_id)
    assert [r.method for r in retab.calls()] == ["POST"]


def test_pure_proxy_forwards_the_clients_key(
    make_gateway: MakeGateway, tmp_path: Path, retab: FakeRetab
) -> None:
    """With no key of its own, crosswalk sends the client's own key to Retab."""
    served = make_gateway(_settings(tmp_path, upstream_key=False), {"retab": retab.transport})
    sdk = served.retab("sk-client-own")
    run_id = _create(sdk)
    assert sdk.classifications.get(run_id).id == run_id
    assert {r.headers["authorization"] for r in retab.calls()} == {"Bearer sk-client-own"}


def test_pure_proxy_lists_retabs_own_listing(
    make_gateway: MakeGateway, tmp_path: Path, retab: FakeRetab
) -> None:
    """A pure proxy relays Retab's listing, runs crosswalk never saw included."""
    page = msgspec.json.decode((FIXTURES / "wire" / "retab_list_response.json").read_bytes())
    for resource in reversed(page["data"]):  # oldest first, as Retab made them
        retab.seed(resource)
    served = make_gateway(_settings(tmp_path, upstream_key=False), {"retab": retab.transport})
    sdk = served.retab("sk-client-own")
    new = _create(sdk)
    listed = sdk.classifications.list(limit=10)
    assert [c.id for c in listed.data] == [new, *(r["id"] for r in page["data"])]
    call = retab.last("GET", PATH)
    assert call.query == {"limit": "10", "order": "desc"}
    assert call.headers["authorization"] == "Bearer sk-client-own"
    raw = served.http("sk-client-own").get(PATH, params={"limit": "1"})
    assert raw.content == retab.last("GET", PATH).response


def test_upstream_rate_limit_reaches_the_sdk(sdk: Retab, retab: FakeRetab) -> None:
    """Retab's 429 is the SDK's RateLimitError, and the response keeps `Retry-After`."""
    seen: list[httpx.Response] = []
    sdk.client.event_hooks["response"].append(seen.append)
    retab.fail_next(429, {"detail": "Rate limit exceeded"}, headers={"Retry-After": "7"})
    with pytest.raises(RateLimitError) as caught:
        sdk.classifications.create(document=corpus(INVOICE), categories=categories())
    assert caught.value.status_code == 429
    assert caught.value.message == "Rate limit exceeded"
    assert [r.headers.get("retry-after") for r in seen] == ["7"]
    assert retab.last("POST").status == 429
    assert retab.runs == {}


def test_unreachable_upstream_is_a_502(sdk: Retab, retab: FakeRetab) -> None:
    """A connection failure to Retab is a 502, the SDK's InternalServerError."""
    retab.fail_next(exception=httpx.ConnectError("connection refused"))
    with pytest.raises(InternalServerError) as caught:
        sdk.classifications.create(document=corpus(INVOICE), categories=categories())
    assert caught.value.status_code == 502
    assert retab.last("POST").status is None
