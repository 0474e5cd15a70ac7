"""`GET /classifiers` and `GET /classifiers/{id}` on the Extend surface, from the config: the
shapes Extend's SDK reads, paging, sorting, bounded query parameters and 404s."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from extend_ai.classifiers.types.classifiers_list_response import ClassifiersListResponse
from extend_ai.types.classifier import Classifier as SdkClassifier
from litestar.testing import TestClient

from gateway.config import load_settings
from mappings import extend
from tests.harness import MakeGateway, extend_error, local_settings

CONFIG = Path(__file__).parent.parent / "fixtures" / "config" / "classifiers.toml"
HEADERS = {"authorization": "Bearer key-a", extend.VERSION_HEADER: extend.API_VERSION}


@pytest.fixture
def client(make_gateway: MakeGateway, tmp_path: Path) -> TestClient[Any]:
    """The local backend with the fixture's three classifiers."""
    saved = load_settings(CONFIG, {}).classifiers
    return make_gateway.client(local_settings(tmp_path, classifiers=saved))


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


def test_the_list_is_extends_envelope(client: TestClient[Any]) -> None:
    """`{"object": "list", "data": [summaries], "nextPageToken": null}`, as the SDK reads it;
    newest first by creation by default."""
    response = client.get("/classifiers", headers=HEADERS)
    body = response.json()
    assert body["object"] == "list"
    assert body["nextPageToken"] is None
    assert _ids(response) == ["cl_mail", "cl_freight", "cl_contracts"]
    assert set(body["data"][0]) == {"object", "id", "name", "createdAt", "updatedAt"}
    listed = ClassifiersListResponse.model_validate(body)
    assert listed.data[1].name == "Inbound freight"


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("sortDir=asc", ["cl_contracts", "cl_freight", "cl_mail"]),
        ("sortBy=createdAt&sortDir=desc", ["cl_mail", "cl_freight", "cl_contracts"]),
        ("sortBy=updatedAt", ["cl_contracts", "cl_freight", "cl_mail"]),
        ("sortBy=updatedAt&sortDir=asc", ["cl_mail", "cl_freight", "cl_contracts"]),
    ],
)
def test_sorting(client: TestClient[Any], query: str, ids: list[str]) -> None:
    """`sortBy` createdAt or updatedAt, `sortDir` asc or desc."""
    assert _ids(client.get(f"/classifiers?{query}", headers=HEADERS)) == ids


def test_paging_follows_the_token(client: TestClient[Any]) -> None:
    """`maxPageSize` bounds a page; `nextPageToken` resumes it, null on the last page."""
    seen: list[str] = []
    token = None
    for _ in range(3):
        params = {"maxPageSize": "2", "sortDir": "asc"} | (
            {"nextPageToken": token} if token else {}
        )
        response = client.get("/classifiers", params=params, headers=HEADERS)
        seen += _ids(response)
        token = response.json()["nextPageToken"]
        if token is None:
            break
    assert seen == ["cl_contracts", "cl_freight", "cl_mail"]
    assert token is None


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("maxPageSize=0", "maxPageSize"),
        ("maxPageSize=1001", "maxPageSize"),
        ("maxPageSize=%D9%A3", "maxPageSize"),  # an Arabic-Indic 3: not an ASCII number
        ("maxPageSize=" + "9" * 4000, "maxPageSize"),
        ("sortBy=name", "sortBy"),
        ("sortDir=up", "sortDir"),
        ("nextPageToken=xw1.classifiers.-1", "nextPageToken"),
        ("nextPageToken=someone-elses", "nextPageToken"),  # no vendor here to have made it
    ],
)
def test_bad_parameters_are_named(client: TestClient[Any], query: str, named: str) -> None:
    """A bad query parameter: Extend's 400 INVALID_REQUEST naming it."""
    error = extend_error(client.get(f"/classifiers?{query}", headers=HEADERS), 400)
    assert error["code"] == "INVALID_REQUEST"
    assert error["message"].startswith(named)


def test_one_classifier_with_its_draft(client: TestClient[Any]) -> None:
    """`GET /classifiers/{id}`: the `Classifier` with `draftVersion` and its config."""
    response = client.get("/classifiers/cl_freight", headers=HEADERS)
    assert response.status_code == 200, response.text
    classifier = SdkClassifier.model_validate(response.json())
    draft = classifier.draft_version
    assert (draft.version, draft.classifier_id) == ("draft", "cl_freight")
    assert draft.config.classification_rules == "Anything mentioning 'pro-forma' is an invoice."
    assert [c.id for c in draft.config.classifications] == ["invoice", "receipt", "bill_of_lading"]
    assert draft.config.advanced_options is not None
    assert draft.config.advanced_options.page_ranges is not None


@pytest.mark.parametrize("classifier_id", ["cl_unknown", "cl%3Fx", "x" * 300])
def test_an_unknown_classifier_is_not_found(client: TestClient[Any], classifier_id: str) -> None:
    """Extend's 404 envelope, naming the id."""
    error = extend_error(client.get(f"/classifiers/{classifier_id}", headers=HEADERS), 404)
    assert error["code"] == "NOT_FOUND"
    assert error["message"].startswith("Classifier ")


def test_every_key_sees_them_but_a_key_is_needed(make_gateway: MakeGateway, tmp_path: Path) -> None:
    """The config's classifiers are the deployment's: any gateway key lists the same ones;
    no key, or an unknown one, is a 401."""
    saved = load_settings(CONFIG, {}).classifiers
    settings = local_settings(tmp_path, api_keys=("gw-1", "gw-2"), classifiers=saved)
    client = make_gateway.client(settings)
    for key in ("gw-1", "gw-2"):
        headers = HEADERS | {"authorization": f"Bearer {key}"}
        assert len(_ids(client.get("/classifiers", headers=headers))) == 3
    unknown = HEADERS | {"authorization": "Bearer gw-3"}
    assert extend_error(client.get("/classifiers", headers=unknown), 401)["code"] == "UNAUTHORIZED"
    no_key = {extend.VERSION_HEADER: extend.API_VERSION}
    assert client.get("/classifiers/cl_mail", headers=no_key).status_code == 401


def test_without_classifiers_the_list_is_empty(make_gateway: MakeGateway) -> None:
    """The embedded default has none: an empty page, not an error (Extend's MCP server
    lists classifiers first)."""
    client = make_gateway().http()
    response = client.get("/classifiers", headers={extend.VERSION_HEADER: extend.API_VERSION})
    assert response.json() == {"object": "list", "data": [], "nextPageToken": None}
