"""A batch behind an Extend backend: relayed as one call when the classifier is Extend's own,
recorded by owner, backend and Extend's id so that its reads relay for its owner only; a
classifier of crosswalk's config, which Extend does not know, is fanned out instead."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from litestar.testing import TestClient

from tests.batch_support import HEADERS, KEY, batch_body, saved_classifiers
from tests.harness import (
    URLS,
    MakeGateway,
    extend_error,
    mocked,
    mocked_vendors_settings,
    wait_until,
    wire,
    wire_json,
)

OTHER = {**HEADERS, "authorization": "Bearer gw-other"}
BATCH = wire_json("extend_classify_runs_batch_response.json")
EXTEND_CLASSIFIER = "cl_Rt5yU7iO9pA1sD3fG5hJ7k"
_IDS = itertools.count(1)


def _created(request: httpx.Request) -> httpx.Response:
    if b"REFUSE ME" in request.content:
        return httpx.Response(400, json=wire_json("extend_error_400_invalid_request.json"))
    run: dict[str, Any] = wire_json("extend_classify_runs_create_response.json")
    run["id"] = f"clr_relay{next(_IDS):017d}"
    return httpx.Response(200, json=run)


@pytest.fixture
def upstream() -> respx.MockRouter:
    router = respx.MockRouter(base_url=URLS["extend"], assert_all_called=False)
    router.post("/classify_runs/batch").respond(
        200, content=wire("extend_classify_runs_batch_response.json")
    )
    router.get(f"/batch_runs/{BATCH['id']}").respond(
        200, json=wire_json("extend_batch_runs_get_response.json")
    )
    router.get("/classify_runs").respond(
        200, json=wire_json("extend_classify_runs_list_response.json")
    )
    router.post("/classify_runs").mock(side_effect=_created)
    return router


@pytest.fixture
def client(
    make_gateway: MakeGateway, upstream: respx.MockRouter, tmp_path: Path
) -> TestClient[Any]:
    settings = mocked_vendors_settings(
        tmp_path,
        ["extend"],
        default="extend",
        api_keys=(KEY, "gw-other"),
        classifiers=saved_classifiers(),
    )
    return make_gateway.client(settings, mocked({"extend": upstream}))


def test_an_extend_classifier_s_batch_is_relayed_as_one_call(
    client: TestClient[Any], upstream: respx.MockRouter
) -> None:
    """One upstream batch call with the body as it came and crosswalk's key; Extend's answer
    byte for byte; then `GET /batch_runs/{id}` and its runs' listing relay for its owner,
    and another key gets Extend's 404 without a call upstream."""
    body = json.dumps(wire_json("extend_classify_runs_batch_request.json")).encode()

    created = client.post(
        "/classify_runs/batch",
        content=body,
        headers={**HEADERS, "content-type": "application/json"},
    )

    assert created.status_code == 200, created.text
    assert created.content == wire("extend_classify_runs_batch_response.json")
    calls = _posted(upstream, "/classify_runs/batch")
    assert len(calls) == 1
    assert calls[0].content == body
    assert calls[0].headers["authorization"] == "Bearer sk-extend"
    assert not _posted(upstream, "/classify_runs")

    read = client.get(f"/batch_runs/{BATCH['id']}", headers=HEADERS)
    assert read.status_code == 200
    assert read.json() == wire_json("extend_batch_runs_get_response.json")
    listed = client.get("/classify_runs", params={"batchId": BATCH["id"]}, headers=HEADERS)
    assert listed.json() == wire_json("extend_classify_runs_list_response.json")
    assert upstream.calls.last.request.url.params["batchId"] == BATCH["id"]

    before = upstream.calls.call_count
    assert extend_error(client.get(f"/batch_runs/{BATCH['id']}", headers=OTHER), 404)
    other = client.get("/classify_runs", params={"batchId": BATCH["id"]}, headers=OTHER)
    assert other.json()["data"] == []
    assert upstream.calls.call_count == before


def test_a_config_classifier_s_batch_is_fanned_out_to_extend(
    client: TestClient[Any], upstream: respx.MockRouter
) -> None:
    """Extend does not know a classifier of crosswalk's config: no batch call; each input is
    one `POST /classify_runs` with the classifier's config inline and the client's workspace
    header, recorded in the batch."""
    workspace = {"x-extend-workspace-id": "ws_batch"}
    created = client.post("/classify_runs/batch", json=batch_body(3), headers=HEADERS | workspace)

    assert created.status_code == 200, created.text
    assert created.json()["id"] != BATCH["id"]
    wait_until(lambda: len(_posted(upstream, "/classify_runs")) == 3)
    sent = [json.loads(r.content) for r in _posted(upstream, "/classify_runs")]
    assert all("config" in s and "classifier" not in s for s in sent)
    assert sorted(s["metadata"]["row"] for s in sent) == [0, 1, 2]
    assert {r.headers["x-extend-workspace-id"] for r in _posted(upstream, "/classify_runs")} == {
        "ws_batch"
    }
    assert not _posted(upstream, "/classify_runs/batch")
    query = {"batchId": created.json()["id"]}
    wait_until(
        lambda: len(client.get("/classify_runs", params=query, headers=HEADERS).json()["data"]) == 3
    )


def _posted(upstream: respx.MockRouter, path: str) -> list[httpx.Request]:
    return [
        c.request
        for c in upstream.calls
        if c.request.method == "POST" and c.request.url.path == path
    ]


def test_an_input_extend_refuses_is_read_without_asking_extend(
    client: TestClient[Any], upstream: respx.MockRouter
) -> None:
    """Fanned out to Extend, an input Extend refuses is a FAILED run of the batch; reading
    it is the ledger's answer (Extend never made it), not a relayed 404."""
    body = batch_body(2)
    body["inputs"][1]["file"] = {"text": "REFUSE ME", "name": "bad.txt"}
    batch_id = client.post("/classify_runs/batch", json=body, headers=HEADERS).json()["id"]
    wait_until(lambda: len(_listed(client, batch_id)) == 2)
    refused = next(r for r in _listed(client, batch_id) if r["metadata"]["row"] == 1)
    calls = upstream.calls.call_count

    read = client.get(f"/classify_runs/{refused['id']}", headers=HEADERS)

    assert (read.status_code, read.json()["status"]) == (200, "FAILED")
    assert (
        read.json()["failureMessage"]
        == wire_json("extend_error_400_invalid_request.json")["message"]
    )
    assert upstream.calls.call_count == calls


def _listed(client: TestClient[Any], batch_id: str) -> list[Any]:
    answer = client.get("/classify_runs", params={"batchId": batch_id}, headers=HEADERS)
    data: list[Any] = answer.json()["data"]
    return data


def test_the_runs_of_a_relayed_batch_are_its_owner_s_alone(
    client: TestClient[Any], upstream: respx.MockRouter
) -> None:
    """Extend makes a relayed batch's runs itself; once its owner has listed them, they are
    recorded as the owner's: another key gets a 404 reading or deleting one, with nothing
    sent to Extend, while the owner reads it and sees it in its plain listing."""
    listing = wire_json("extend_classify_runs_list_response.json")
    run_id = listing["data"][0]["id"]
    run = wire_json("extend_classify_runs_create_response.json") | {"id": run_id}
    upstream.get(f"/classify_runs/{run_id}").respond(200, json=run)
    upstream.delete(f"/classify_runs/{run_id}").respond(200, json={"id": run_id})
    body = json.dumps(wire_json("extend_classify_runs_batch_request.json")).encode()
    sent = {**HEADERS, "content-type": "application/json"}
    batch_id = client.post("/classify_runs/batch", content=body, headers=sent).json()["id"]
    listed = client.get("/classify_runs", params={"batchId": batch_id}, headers=HEADERS)
    assert listed.json()["data"][0]["id"] == run_id
    calls = upstream.calls.call_count

    assert extend_error(client.get(f"/classify_runs/{run_id}", headers=OTHER), 404)
    assert extend_error(client.delete(f"/classify_runs/{run_id}", headers=OTHER), 404)
    assert upstream.calls.call_count == calls

    assert client.get(f"/classify_runs/{run_id}", headers=HEADERS).json()["id"] == run_id
    mine = client.get("/classify_runs", headers=HEADERS).json()["data"]
    assert run_id in {r["id"] for r in mine}


def test_a_relayed_batch_listing_asks_for_the_caller_s_batch_only(
    client: TestClient[Any], upstream: respx.MockRouter
) -> None:
    """A second `batchId` in the query (perhaps another key's batch) is not sent on: Extend
    is asked for the runs of the caller's own batch alone."""
    body = json.dumps(wire_json("extend_classify_runs_batch_request.json")).encode()
    sent = {**HEADERS, "content-type": "application/json"}
    batch_id = client.post("/classify_runs/batch", content=body, headers=sent).json()["id"]

    query = [("batchId", batch_id), ("batchId", "bpr_AnotherKeysBatch00000")]
    assert client.get("/classify_runs", params=query, headers=HEADERS).status_code == 200

    assert upstream.calls.last.request.url.params.get_list("batchId") == [batch_id]


@pytest.mark.parametrize(
    ("source", "kept"),
    [
        pytest.param({"source": "BATCH_PROCESSOR_RUN"}, True, id="batch-source"),
        pytest.param({"sourceId": "<batch>"}, True, id="its-own-source-id"),
        pytest.param({"source": "API"}, False, id="api-source"),
        pytest.param({"sourceId": "bpr_SomeOtherBatch000000"}, False, id="another-source-id"),
    ],
)
def test_a_batch_listing_applies_source_and_source_id(
    client: TestClient[Any], upstream: respx.MockRouter, source: dict[str, str], kept: bool
) -> None:
    """A batch's runs have source BATCH_PROCESSOR_RUN and the batch's id as sourceId (as in
    Extend): a `batchId` listing keeps them under those filters, and lists none under others."""
    batch_id = client.post("/classify_runs/batch", json=batch_body(2), headers=HEADERS).json()["id"]
    wait_until(lambda: len(_listed(client, batch_id)) == 2)
    params = {k: batch_id if v == "<batch>" else v for k, v in source.items()}

    answer = client.get("/classify_runs", params={"batchId": batch_id, **params}, headers=HEADERS)

    assert answer.status_code == 200, answer.text
    assert len(answer.json()["data"]) == (2 if kept else 0)


def test_a_relayed_batch_is_recorded_even_if_its_answer_lacks_run_count(
    client: TestClient[Any], upstream: respx.MockRouter
) -> None:
    """Extend accepted the batch and named it, but its answer has no `runCount`: the batch
    is still recorded as the caller's, so the caller reads it (relayed) and another key
    does not."""
    answer = {k: v for k, v in BATCH.items() if k != "runCount"}
    upstream.post("/classify_runs/batch").respond(200, json=answer)
    body = json.dumps(wire_json("extend_classify_runs_batch_request.json")).encode()
    sent = {**HEADERS, "content-type": "application/json"}

    created = client.post("/classify_runs/batch", content=body, headers=sent)

    assert created.json() == answer
    read = client.get(f"/batch_runs/{BATCH['id']}", headers=HEADERS)
    assert read.status_code == 200
    assert read.json() == wire_json("extend_batch_runs_get_response.json")
    assert extend_error(client.get(f"/batch_runs/{BATCH['id']}", headers=OTHER), 404)
