"""An Extend client's saved classifier runs on a backend without saved classifiers: crosswalk
reads it from an Extend backend and sends its config inline (contracts.md §10 hazard 10)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import msgspec
import pytest
import respx
from litestar.testing import TestClient

from mappings import canonical, extend
from tests.harness import URLS, MakeGateway, extend_error, wire_json

RETAB, EXTEND = URLS["retab"], URLS["extend"]
HEADERS = {"authorization": "Bearer gw-key", extend.VERSION_HEADER: extend.API_VERSION}
CLASSIFIER = "cl_Rt5yU7iO9pA1sD3fG5hJ7k"
_IDS = itertools.count(1)
FILE = {"text": "FREIGHT INVOICE\nTotal due within 30 days", "name": "freight.txt"}


def _version(version: str, rules: str) -> dict[str, Any]:
    saved = wire_json("extend_classifiers_get_response.json")["draftVersion"]
    saved["config"]["classificationRules"] = rules
    answer: dict[str, Any] = saved | {"id": f"clv_{version.replace('.', '_')}", "version": version}
    return answer


def _created(request: httpx.Request) -> httpx.Response:
    """Retab's sync answer: completed, naming the first category it was sent."""
    sent = json.loads(request.content)
    answer = wire_json("retab_create_response_201.json")
    answer["id"] = f"cls_{next(_IDS):026d}"
    answer["categories"] = sent["categories"]
    answer["output"]["category"] = sent["categories"][0]["name"]
    return httpx.Response(201, json=answer)


@pytest.fixture
def routers() -> dict[str, respx.MockRouter]:
    retab = respx.MockRouter(base_url=RETAB, assert_all_called=False)
    retab.post("/v1/classifications").mock(side_effect=_created)
    upstream = respx.MockRouter(base_url=EXTEND, assert_all_called=False)
    upstream.get(f"/classifiers/{CLASSIFIER}").respond(
        200, json=wire_json("extend_classifiers_get_response.json")
    )
    versions = [_version("1.0", "v1 rules"), _version("1.2", "v1.2 rules")]
    upstream.get(f"/classifiers/{CLASSIFIER}/versions").respond(
        200, json={"object": "list", "data": versions, "nextPageToken": None}
    )
    return {"retab": retab, "extend": upstream}


@pytest.fixture
def client(make_gateway: MakeGateway, routers: dict[str, respx.MockRouter]) -> TestClient[Any]:
    return make_gateway.mocked_client(routers, default="retab")


def _sent_to_retab(routers: dict[str, respx.MockRouter]) -> Any:
    return json.loads(routers["retab"].calls.last.request.content)


def test_the_draft_is_inlined_with_its_overrides(
    client: TestClient[Any], routers: dict[str, respx.MockRouter]
) -> None:
    """`version: draft`: the draft's classifications go to Retab, the override's rules win."""
    body = {
        "file": FILE,
        "classifier": {
            "id": CLASSIFIER,
            "version": "draft",
            "overrideConfig": {"classificationRules": "Pro-forma is an invoice."},
        },
    }
    response = client.post("/classify", json=body, headers=HEADERS)
    assert response.status_code == 200, response.text
    sent = _sent_to_retab(routers)
    assert [c["handle_key"] for c in sent["categories"]] == ["invoice", "receipt", "bill_of_lading"]
    assert sent["instructions"] == "Pro-forma is an invoice."
    assert sent["model"] == "retab-large"  # the draft's classification_performance
    run = response.json()
    assert run["output"]["id"] == "invoice"
    assert run["config"]["classifications"][0]["id"] == "invoice"
    lookup = routers["extend"].calls[0].request
    assert lookup.headers["authorization"] == "Bearer sk-extend"
    assert lookup.headers[extend.VERSION_HEADER] == extend.API_VERSION


def test_a_named_version_and_the_newest_by_default(
    client: TestClient[Any], routers: dict[str, respx.MockRouter]
) -> None:
    """`version: "1.0"` runs that version; no version runs the newest published one."""
    named = {"file": FILE, "classifier": {"id": CLASSIFIER, "version": "1.0"}}
    assert client.post("/classify", json=named, headers=HEADERS).status_code == 200
    assert _sent_to_retab(routers)["instructions"] == "v1 rules"
    newest = {"file": FILE, "classifier": {"id": CLASSIFIER}}
    assert client.post("/classify", json=newest, headers=HEADERS).status_code == 200
    assert _sent_to_retab(routers)["instructions"] == "v1.2 rules"


def test_an_unknown_version_is_not_found(
    client: TestClient[Any], routers: dict[str, respx.MockRouter]
) -> None:
    """A version the classifier does not have: a 404 in Extend's envelope, nothing run."""
    body = {"file": FILE, "classifier": {"id": CLASSIFIER, "version": "9.9"}}
    response = client.post("/classify", json=body, headers=HEADERS)
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
    assert not routers["retab"].calls


def test_without_an_extend_backend_it_is_not_found(
    make_gateway: MakeGateway, routers: dict[str, respx.MockRouter]
) -> None:
    """Neither the config nor an Extend backend knows the id: Extend's 404, naming it."""
    body = {"file": FILE, "classifier": {"id": CLASSIFIER}}
    client = make_gateway.mocked_client({"retab": routers["retab"]}, default="retab")
    response = client.post("/classify", json=body, headers=HEADERS)
    assert extend_error(response, 404)["code"] == "NOT_FOUND"
    assert CLASSIFIER in response.json()["message"]
    assert not routers["retab"].calls


def test_merging_keeps_only_what_the_override_sets() -> None:
    """The pure merge: override fields replace saved ones; unset ones leave them."""
    saved = msgspec.convert(
        wire_json("extend_classifiers_get_response.json"), extend.Classifier
    ).draft_version
    assert isinstance(saved, extend.ClassifierVersion)
    request = canonical.ClassifyRequest(
        document=canonical.TextDocument(text="x"),
        config=canonical.RunConfig(categories=(), pages=(canonical.PageRange(start=1, end=2),)),
        classifier=canonical.ClassifierRef(id=CLASSIFIER),
    )
    merged = extend.with_saved_config(request, saved)
    assert merged.classifier is None
    assert merged.config.pages == (canonical.PageRange(start=1, end=2),)
    assert merged.config.model == "classification_performance"
    assert merged.config.context == "default"
    assert len(merged.config.categories) == 3
