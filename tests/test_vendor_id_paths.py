"""A vendor id a client names (a saved classifier, another vendor's file) is checked before
it goes into a vendor URL: an id that would climb out of its path (`..`), start a query
(`?`) or a fragment never reaches the vendor under crosswalk's key; it is simply not found."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from mappings import extend
from tests.harness import URLS, MakeGateway, extend_error, retab_error

EXTEND = {"authorization": "Bearer gw-key", extend.VERSION_HEADER: extend.API_VERSION}
RETAB = {"authorization": "Bearer gw-key"}
CLIMBING = ["../classify_runs/exr_other?x=", "../files", "a/../../batch_runs/br_1#", "cl_x?y=1"]


def _vendors() -> dict[str, respx.MockRouter]:
    """Both vendors, answering anything with a 404 and counting what reached them."""
    routers = {}
    for name in ("retab", "extend"):
        router = respx.mock(base_url=URLS[name], assert_all_called=False)
        router.route().mock(return_value=httpx.Response(404, json={"detail": "Not Found"}))
        routers[name] = router
    return routers


def _reached(routers: dict[str, respx.MockRouter]) -> list[str]:
    return [str(call.request.url) for r in routers.values() for call in r.calls]


@pytest.mark.parametrize("classifier_id", CLIMBING)
def test_a_classifier_id_that_would_reach_another_path_is_not_found(
    make_gateway: MakeGateway, classifier_id: str
) -> None:
    routers = _vendors()
    client = make_gateway.mocked_client(routers, default="retab")
    body: dict[str, Any] = {"file": {"text": "hi"}, "classifier": {"id": classifier_id}}
    answer = client.post("/classify", json=body, headers=EXTEND)
    assert extend_error(answer, 404)["code"] == "NOT_FOUND"
    assert _reached(routers) == []


@pytest.mark.parametrize("file_id", CLIMBING)
def test_a_retab_file_id_that_would_reach_another_path_is_not_found(
    make_gateway: MakeGateway, file_id: str
) -> None:
    routers = _vendors()
    client = make_gateway.mocked_client(routers, default="extend")
    document = {"id": file_id, "filename": "a.pdf", "mime_type": "application/pdf"}
    body = {"document": document, "categories": [{"name": "a"}, {"name": "b"}]}
    answer = client.post("/v1/classifications", json=body, headers=RETAB)
    retab_error(answer, 404)
    assert _reached(routers) == []


@pytest.mark.parametrize("file_id", CLIMBING)
def test_an_extend_file_id_that_would_reach_another_path_is_not_found(
    make_gateway: MakeGateway, file_id: str
) -> None:
    routers = _vendors()
    client = make_gateway.mocked_client(routers, default="retab")
    config = {"classifications": [{"id": "a", "type": "a", "description": "d"}]}
    answer = client.post(
        "/classify", json={"file": {"id": file_id}, "config": config}, headers=EXTEND
    )
    assert extend_error(answer, 404)["code"] == "NOT_FOUND"
    assert _reached(routers) == []
