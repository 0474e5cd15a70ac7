"""A batch's classifier is resolved once, when the batch is created, with the client's own
call: a classifier of Extend's behind a pure proxy (which only the client's key can read) is
read once, and every input goes to Retab with its categories inlined, no worker resolving it
again; a vendor's 4xx for an input is a FAILED run whose failureReason fits the refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import respx

from gateway.config import Settings
from tests.batch_retab import FakeRetab
from tests.batch_support import (
    HEADERS,
    KEY,
    batch_body,
    batch_runs,
    saved_classifiers,
    statuses_until_settled,
)
from tests.harness import (
    URLS,
    MakeGateway,
    mocked,
    mocked_vendors_settings,
    vendor_backend,
    vendor_settings,
    wire_json,
)

CLIENT_EXTEND_KEY = "client-extend-key"


def test_an_extend_classifier_is_read_once_with_the_client_s_key(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """Retab runs the batch; its classifier is Extend's, behind a pure proxy (no key of
    crosswalk's): read once, at create, with the client's key, and each input's create at
    Retab carries that classifier's categories."""
    retab = FakeRetab()
    extend = respx.MockRouter(base_url=URLS["extend"], assert_all_called=False)
    classifier = wire_json("extend_classifiers_get_response.json")
    keys: list[str | None] = []

    def read_classifier(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers.get("authorization"))
        if request.headers.get("authorization") != f"Bearer {CLIENT_EXTEND_KEY}":
            return httpx.Response(401, json={"code": "UNAUTHORIZED", "message": "bad key"})
        return httpx.Response(200, json=classifier)

    extend.get(f"/classifiers/{classifier['id']}").mock(side_effect=read_classifier)
    versions: dict[str, Any] = {"object": "list", "data": [], "nextPageToken": None}
    extend.get(f"/classifiers/{classifier['id']}/versions").respond(200, json=versions)
    backends = {
        "retab": vendor_backend("retab", api_key_env="RETAB_API_KEY", refresh_interval=0.1),
        "extend": vendor_backend("extend"),
    }
    settings = vendor_settings(
        tmp_path, backends, default="retab", upstream_keys={"retab": "sk-retab"}
    )
    http = make_gateway(settings, mocked({"retab": retab.router, "extend": extend})).http(None)
    headers = {**HEADERS, "authorization": f"Bearer {CLIENT_EXTEND_KEY}"}
    body = batch_body(3) | {"classifier": {"id": classifier["id"]}}

    created = http.post("/classify_runs/batch", json=body, headers=headers)

    assert created.status_code == 200, created.text
    assert statuses_until_settled(http, created.json()["id"], headers)[-1] == "PROCESSED"
    assert keys == [f"Bearer {CLIENT_EXTEND_KEY}"]  # once, for the batch, not per input
    assert all(c.request.url.path.startswith("/classifiers/") for c in extend.calls)
    assert extend.calls.call_count <= 2  # the classifier, and perhaps its versions
    sent = [
        msgspec.json.decode(c.request.content)
        for c in retab.router.calls
        if c.request.method == "POST"
    ]
    wanted = {c["type"] for c in classifier["draftVersion"]["config"]["classifications"]}
    assert len(sent) == 3
    assert all({c["name"] for c in s["categories"]} == wanted for s in sent)


def _settings(tmp_path: Path) -> Settings:
    settings = mocked_vendors_settings(
        tmp_path, ["retab"], default="retab", api_keys=(KEY,), classifiers=saved_classifiers()
    )
    retab = msgspec.structs.replace(settings.backends["retab"], refresh_interval=0.1)
    return msgspec.structs.replace(settings, backends={"retab": retab})


@pytest.mark.parametrize(
    ("status", "reason", "said"),
    [
        pytest.param(422, "FAILED_TO_PROCESS_FILE", "could not be read", id="422-file"),
        pytest.param(402, "OUT_OF_CREDITS", "HTTP 402", id="402-credits"),
        pytest.param(409, "INTERNAL_ERROR", "HTTP 409", id="409-conflict"),
        pytest.param(403, "INTERNAL_ERROR", "refused the key", id="403-key"),
    ],
)
def test_a_vendor_refusal_is_a_failed_run_whose_reason_fits(
    make_gateway: MakeGateway, tmp_path: Path, status: int, reason: str, said: str
) -> None:
    """Retab refuses every create: each input is a FAILED run, sent once, whose reason is
    the file's fault only for a refusal about the file (a key refused, a conflict or no
    credits is not FAILED_TO_PROCESS_FILE), with the vendor's message."""
    retab = respx.MockRouter(base_url=URLS["retab"], assert_all_called=False)
    detail = {"code": "REFUSED", "message": "The file could not be read."}
    route = retab.post("/v1/classifications").respond(status, json={"detail": detail})
    http = make_gateway(_settings(tmp_path), mocked({"retab": retab})).http(None)
    batch_id = http.post("/classify_runs/batch", json=batch_body(2), headers=HEADERS).json()["id"]

    assert statuses_until_settled(http, batch_id)[-1] == "FAILED"
    runs = batch_runs(http, batch_id)
    assert [r["failureReason"] for r in runs] == [reason] * 2
    assert all(said in r["failureMessage"] for r in runs)
    assert route.call_count == 2
