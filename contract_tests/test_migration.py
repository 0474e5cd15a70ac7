"""Vendor migration: runs made directly on the old vendor stay reachable through the gateway
after new runs go to the new one.

The old vendor is mocked with respx and answers with a fixed native id from fixtures/wire; the
new vendor is a local gateway reached over its vendor surface (real HTTP). The old vendor's
native ids pass through unchanged, its answers byte for byte; new runs get crosswalk ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
import respx
from retab.exceptions import NotFoundError

from gateway.config import Settings
from mappings import extend, ids
from tests.harness import (
    FIXTURES,
    NO_RETRIES,
    Gateway,
    MakeGateway,
    ServedGateway,
    categories,
    classifications,
    corpus,
    local_settings,
    vendor_backend,
    vendor_settings,
)

WIRE = FIXTURES / "wire"
RETAB_URL = "https://api.retab.test"
EXTEND_URL = "https://api.extend.test"
GATEWAY_KEY = "gw-key"
RETAB_KEY = "sk-retab-upstream"
EXTEND_KEY = "sk-extend-upstream"
OLD_RETAB = msgspec.json.decode((WIRE / "retab_get_completed_consensus.json").read_bytes())["id"]
OLD_EXTEND = msgspec.json.decode((WIRE / "extend_classify_runs_get_processed.json").read_bytes())[
    "id"
]
INVOICE = "doc_001.txt"


def _wire(name: str) -> bytes:
    return (WIRE / name).read_bytes()


@pytest.fixture
def old_retab() -> respx.MockRouter:
    """The old vendor, Retab, which holds run OLD_RETAB."""
    router = respx.MockRouter(base_url=RETAB_URL, assert_all_called=False)
    path = f"/v1/classifications/{OLD_RETAB}"
    json = "application/json"
    router.get(path, name="get").respond(
        content=_wire("retab_get_completed_consensus.json"), content_type=json
    )
    router.post(f"{path}/cancel", name="cancel").respond(
        content=_wire("retab_cancel_response.json"), content_type=json
    )
    router.delete(path, name="delete").respond(204)
    router.route(name="other").respond(404, content=_wire("retab_error_404_detail_string.json"))
    return router


@pytest.fixture
def old_extend() -> respx.MockRouter:
    """The old vendor, Extend, which holds run OLD_EXTEND."""
    router = respx.MockRouter(base_url=EXTEND_URL, assert_all_called=False)
    router.get(f"/classify_runs/{OLD_EXTEND}", name="get").respond(
        content=_wire("extend_classify_runs_get_processed.json"), content_type="application/json"
    )
    router.route(name="other").respond(404, content=_wire("extend_error_404_not_found.json"))
    return router


def _settings(tmp_path: Path, *, new: str, extend_url: str, retab_url: str) -> Settings:
    """Both vendors configured, each with its key; new runs go to `new`."""
    backends = {
        "extend": vendor_backend("extend", extend_url, api_key_env="EXTEND_KEY"),
        "retab": vendor_backend("retab", retab_url, api_key_env="RETAB_KEY"),
    }
    return vendor_settings(
        tmp_path,
        backends,
        default=new,
        api_keys=(GATEWAY_KEY,),
        upstream_keys={"extend": EXTEND_KEY, "retab": RETAB_KEY},
        db="migrated.db",
    )


@pytest.fixture(scope="module")
def new_vendor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The new vendor: a local gateway, reached over its vendor surfaces by real HTTP. One for
    the module: only the create tests make runs there, each under its own vendor's key, and
    a key lists only its own runs."""
    with ServedGateway(local_settings(tmp_path_factory.mktemp("new_vendor"))) as gateway:
        yield gateway


@pytest.fixture
def to_extend(
    make_gateway: MakeGateway,
    tmp_path: Path,
    old_retab: respx.MockRouter,
    new_vendor: Gateway,
) -> Gateway:
    """Migrated from Retab to Extend: `default` is `extend` (the new vendor's Extend surface)."""
    settings = _settings(tmp_path, new="extend", extend_url=new_vendor.url, retab_url=RETAB_URL)
    transport = httpx.MockTransport(old_retab.async_handler)
    return make_gateway(settings, transports={"retab": transport})


@pytest.fixture
def to_retab(
    make_gateway: MakeGateway,
    tmp_path: Path,
    old_extend: respx.MockRouter,
    new_vendor: Gateway,
) -> Gateway:
    """Migrated from Extend to Retab: `default` is `retab` (the new vendor's Retab surface)."""
    settings = _settings(tmp_path, new="retab", extend_url=EXTEND_URL, retab_url=new_vendor.url)
    transport = httpx.MockTransport(old_extend.async_handler)
    return make_gateway(settings, transports={"extend": transport})


def _only_call(route: respx.Route) -> httpx.Request:
    assert route.call_count == 1
    request: httpx.Request = route.calls.last.request
    assert request.headers["authorization"] == f"Bearer {RETAB_KEY}"
    return request


def test_old_retab_id_is_got_from_retab_unchanged(
    to_extend: Gateway, old_retab: respx.MockRouter
) -> None:
    """`get` of a run made on Retab before the migration reaches the `retab` backend, and
    the answer comes back byte for byte under its native id."""
    run = to_extend.retab(GATEWAY_KEY).classifications.get(OLD_RETAB)
    assert run.id == OLD_RETAB
    assert run.output is not None
    assert run.output.category == "invoice"
    request = _only_call(old_retab["get"])
    assert request.url.params["include_output"] == "true"
    raw = to_extend.http(GATEWAY_KEY).get(f"/v1/classifications/{OLD_RETAB}")
    assert raw.status_code == 200
    assert raw.content == _wire("retab_get_completed_consensus.json")
    assert raw.headers["crosswalk-backend"] == "retab"


def test_old_retab_id_is_cancelled_at_retab(
    to_extend: Gateway, old_retab: respx.MockRouter
) -> None:
    """`cancel` of an old id is sent to Retab, and Retab's answer is the client's."""
    sdk = to_extend.retab(GATEWAY_KEY)
    cancelled = sdk.classifications.create_classification_cancel(OLD_RETAB)
    assert cancelled.id == OLD_RETAB
    expected = msgspec.json.decode(_wire("retab_cancel_response.json"))["status"]
    assert cancelled.status is not None
    assert cancelled.status.value == expected
    assert _only_call(old_retab["cancel"]).content == b""


def test_old_retab_id_is_deleted_at_retab(to_extend: Gateway, old_retab: respx.MockRouter) -> None:
    """`delete` of an old id is sent to Retab: a 204 with no body."""
    assert to_extend.retab(GATEWAY_KEY).classifications.delete(OLD_RETAB) is None
    _only_call(old_retab["delete"])


def test_old_retab_id_unknown_to_retab_is_its_404(
    to_extend: Gateway, old_retab: respx.MockRouter
) -> None:
    """A native id Retab does not know is Retab's own 404, relayed unchanged."""
    unknown = "cls_01JNQ8W3T5V7X9Z1B3D5F7H9K2"
    with pytest.raises(NotFoundError):
        to_extend.retab(GATEWAY_KEY).classifications.get(unknown)
    assert old_retab["other"].calls.last.request.url.path == f"/v1/classifications/{unknown}"
    raw = to_extend.http(GATEWAY_KEY).get(f"/v1/classifications/{unknown}")
    assert raw.content == _wire("retab_error_404_detail_string.json")


def test_new_create_goes_to_extend_and_both_ids_resolve(
    to_extend: Gateway, old_retab: respx.MockRouter, new_vendor: Gateway
) -> None:
    """A new create goes to the `extend` default and gets a crosswalk id; afterwards the new
    id resolves through Extend and the old one through Retab."""
    sdk = to_extend.retab(GATEWAY_KEY)
    new = sdk.classifications.create(document=corpus(INVOICE), categories=categories())
    assert new.id.startswith("cls_xw1-")
    decoded = ids.decode("retab", new.id)
    assert decoded.backend == "extend"
    at_extend = new_vendor.extend(EXTEND_KEY).classify_runs.list(request_options=NO_RETRIES)
    assert [r.id for r in at_extend.data] == [decoded.upstream_id]
    assert not old_retab["other"].called  # nothing of the create went to Retab
    assert sdk.classifications.get(new.id).output == new.output
    assert sdk.classifications.get(OLD_RETAB).id == OLD_RETAB
    assert old_retab["get"].call_count == 1


def test_old_extend_id_is_retrieved_from_extend_unchanged(
    to_retab: Gateway, old_extend: respx.MockRouter
) -> None:
    """The same migration the other way: an old Extend id reaches the `extend` backend, with
    the current API version, and Extend's answer comes back byte for byte."""
    sdk = to_retab.extend(GATEWAY_KEY)
    run = sdk.classify_runs.retrieve(OLD_EXTEND, request_options=NO_RETRIES)
    assert run.id == OLD_EXTEND
    assert run.status == "PROCESSED"
    request = old_extend["get"].calls.last.request
    assert request.headers["authorization"] == f"Bearer {EXTEND_KEY}"
    assert request.headers[extend.VERSION_HEADER] == extend.API_VERSION
    raw = to_retab.http(GATEWAY_KEY).get(
        f"/classify_runs/{OLD_EXTEND}", headers={extend.VERSION_HEADER: extend.API_VERSION}
    )
    assert raw.content == _wire("extend_classify_runs_get_processed.json")


def test_new_extend_create_goes_to_retab_and_both_ids_resolve(
    to_retab: Gateway, old_extend: respx.MockRouter, new_vendor: Gateway
) -> None:
    """A new Extend create goes to the `retab` default under a crosswalk id; both resolve."""
    sdk = to_retab.extend(GATEWAY_KEY)
    text = {"text": corpus(INVOICE).read_text(encoding="utf-8"), "name": INVOICE}
    new = sdk.classify(file=text, config={"classifications": classifications()})
    assert new.id.startswith("clr_xw1-")
    decoded = ids.decode("extend", new.id)
    assert decoded.backend == "retab"
    at_retab = new_vendor.retab(RETAB_KEY).classifications.list()
    assert [c.id for c in at_retab.data] == [decoded.upstream_id]
    assert not old_extend["other"].called
    assert sdk.classify_runs.retrieve(new.id, request_options=NO_RETRIES).output == new.output
    assert sdk.classify_runs.retrieve(OLD_EXTEND, request_options=NO_RETRIES).id == OLD_EXTEND
