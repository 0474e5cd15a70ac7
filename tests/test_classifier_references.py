"""`classifier: {id, version?, overrideConfig?}` naming a classifier of the config, in
`/classify` and `/classify_runs`: inlined as its config on every backend (local, Retab, and
Extend, which does not know it), the override merged as Extend merges it; what goes upstream
is asserted on respx-mocked vendors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from litestar.testing import TestClient

from gateway.config import load_settings
from mappings import extend
from tests.harness import (
    URLS,
    MakeGateway,
    extend_error,
    local_settings,
    wait_until,
    wire,
    wire_json,
)

CONFIG = Path(__file__).parent.parent / "fixtures" / "config" / "classifiers.toml"
SAVED = load_settings(CONFIG, {}).classifiers
HEADERS = {"authorization": "Bearer gw-key", extend.VERSION_HEADER: extend.API_VERSION}
FILE = {"text": "FREIGHT INVOICE No. 88213\nShipper: Northwind Logistics\nTotal due: USD 4,210.00"}
FREIGHT_IDS = ["invoice", "receipt", "bill_of_lading"]
PATHS = ["/classify", "/classify_runs"]


def _body(**classifier: Any) -> dict[str, Any]:
    return {"file": FILE, "classifier": {"id": "cl_freight", **classifier}}


@pytest.fixture
def local(make_gateway: MakeGateway, tmp_path: Path) -> TestClient[Any]:
    return make_gateway.client(local_settings(tmp_path, classifiers=SAVED))


def _finished(client: TestClient[Any], response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    run_id = response.json()["id"]

    def done() -> bool:
        status: str = client.get(f"/classify_runs/{run_id}", headers=HEADERS).json()["status"]
        return status == "PROCESSED"

    wait_until(done)
    return client.get(f"/classify_runs/{run_id}", headers=HEADERS).json()


@pytest.mark.parametrize("path", PATHS)
def test_the_local_backend_runs_a_config_classifier(local: TestClient[Any], path: str) -> None:
    """The local backend classifies with the classifier's categories, the override's rules."""
    override = {"classificationRules": "Pro-forma is an invoice."}
    run = _finished(local, local.post(path, json=_body(overrideConfig=override), headers=HEADERS))
    assert run["output"]["id"] == "invoice"
    assert [c["id"] for c in run["config"]["classifications"]] == FREIGHT_IDS
    assert run["config"]["classificationRules"] == "Pro-forma is an invoice."


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("classifier", "message"),
    [
        ({"id": "cl_nowhere"}, "Classifier cl_nowhere not found."),
        ({"id": "cl_freight", "version": "2.0"}, "Classifier cl_freight has no version '2.0'."),
    ],
)
def test_an_unknown_id_or_version_is_not_found(
    local: TestClient[Any], path: str, classifier: dict[str, str], message: str
) -> None:
    """Extend's 404 envelope, naming the id or the version; no run is made."""
    response = local.post(path, json={"file": FILE, "classifier": classifier}, headers=HEADERS)
    assert extend_error(response, 404) | {"message": message} == response.json()
    assert local.get("/classify_runs", headers=HEADERS).json()["data"] == []


def _retab_answer(request: httpx.Request) -> httpx.Response:
    sent = json.loads(request.content)
    answer = wire_json("retab_create_response_201.json")
    answer["categories"] = sent["categories"]
    answer["output"]["category"] = sent["categories"][0]["name"]
    return httpx.Response(201, json=answer)


def test_a_retab_backend_gets_the_config_inline(make_gateway: MakeGateway) -> None:
    """To Retab: the override's classifications replace the saved ones whole; the saved
    rules, processor (as a Retab model) and page range stay."""
    retab = respx.MockRouter(base_url=URLS["retab"])
    retab.post("/v1/classifications").mock(side_effect=_retab_answer)
    client = make_gateway.mocked_client({"retab": retab}, default="retab", classifiers=SAVED)
    memo = {"id": "memo", "type": "memo", "description": "An internal memo"}
    body = _body(version="1", overrideConfig={"classifications": [memo]})
    response = client.post("/classify", json=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    sent = json.loads(retab.calls.last.request.content)
    assert sent["categories"] == [
        {"name": "memo", "handle_key": "memo", "description": "An internal memo"}
    ]
    assert sent["instructions"] == "Anything mentioning 'pro-forma' is an invoice."
    assert sent["model"] == "retab-large"
    assert sent["first_n_pages"] == 5
    assert response.json()["output"]["id"] == "memo"


@pytest.fixture
def upstream() -> respx.MockRouter:
    router = respx.MockRouter(base_url=URLS["extend"], assert_all_called=False)
    router.post("/classify").respond(200, content=wire("extend_classify_response.json"))
    router.post("/classify_runs").respond(
        200, content=wire("extend_classify_runs_create_response.json")
    )
    return router


@pytest.fixture
def on_extend(make_gateway: MakeGateway, upstream: respx.MockRouter) -> TestClient[Any]:
    """Extend clients on an Extend backend: relayed as they came, unless they name a
    classifier of the config."""
    return make_gateway.mocked_client({"extend": upstream}, default="extend", classifiers=SAVED)


@pytest.mark.parametrize("path", PATHS)
def test_an_extend_backend_gets_the_config_inline(
    on_extend: TestClient[Any], upstream: respx.MockRouter, path: str
) -> None:
    """Extend does not know the config's classifier: it gets `config`, never `classifier`;
    `advancedOptions` merge key by key, the override's `context` beside the saved pages."""
    override = {
        "classificationRules": "Pro-forma is an invoice.",
        "advancedOptions": {"context": "max"},
    }
    body = _body(version="draft", overrideConfig=override) | {"metadata": {"po": "88213"}}
    response = on_extend.post(path, json=body, headers=HEADERS | {extend.WORKSPACE_HEADER: "ws_1"})
    assert response.status_code == 200, response.text
    request = upstream.calls.last.request
    assert request.url.path == path
    assert request.headers[extend.WORKSPACE_HEADER] == "ws_1"
    sent = json.loads(request.content)
    assert "classifier" not in sent
    assert sent["metadata"] == {"po": "88213"}
    config = sent["config"]
    assert [c["id"] for c in config["classifications"]] == FREIGHT_IDS
    assert config["classificationRules"] == "Pro-forma is an invoice."
    assert config["baseProcessor"] == "classification_performance"
    assert config["advancedOptions"] == {"context": "max", "pageRanges": [{"start": 1, "end": 5}]}
    if path == "/classify":
        assert response.json()["output"]["id"] == "invoice"


def test_an_extend_classifier_still_goes_to_extend_as_it_came(
    on_extend: TestClient[Any], upstream: respx.MockRouter
) -> None:
    """An id the config lacks is Extend's own: the body is relayed byte for byte."""
    raw = wire("extend_classify_runs_create_request_classifier.json")
    response = on_extend.post("/classify_runs", content=raw, headers=HEADERS)
    assert response.status_code == 200, response.text
    assert upstream.calls.last.request.content == raw


def test_a_bad_version_never_reaches_extend(
    on_extend: TestClient[Any], upstream: respx.MockRouter
) -> None:
    """The config's classifier with a version it lacks: the 404 is crosswalk's."""
    response = on_extend.post("/classify", json=_body(version="0.1"), headers=HEADERS)
    assert extend_error(response, 404)["code"] == "NOT_FOUND"
    assert not upstream.calls


def test_a_config_classifier_is_read_by_the_strict_rules(
    on_extend: TestClient[Any], upstream: respx.MockRouter
) -> None:
    """Translated, not relayed: a mistake in the body is crosswalk's 400 naming it."""
    body = _body(overrideConfig={"classificationRules": "x", "rulesz": 1})
    response = on_extend.post("/classify", json=body, headers=HEADERS)
    assert "rulesz" in extend_error(response, 400)["message"]
    assert not upstream.calls
