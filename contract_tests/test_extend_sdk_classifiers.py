"""The official Extend SDK's saved classifiers against a gateway: what Extend's MCP server asks
first (`GET /classifiers`, `classifiers.list()`), `classifiers.retrieve`, and a classify run
by `classifier: {id}`; from the config, and with an Extend backend's own after them."""

from __future__ import annotations

from pathlib import Path

import pytest
import respx
from extend_ai.errors import NotFoundError

from gateway.config import load_settings
from tests.harness import (
    GATEWAY_KEY,
    URLS,
    Gateway,
    MakeGateway,
    local_settings,
    mocked,
    mocked_vendors_settings,
    wire,
)

CONFIG = Path(__file__).parent.parent / "fixtures" / "config" / "classifiers.toml"
SAVED = load_settings(CONFIG, {}).classifiers
FREIGHT = {"text": "FREIGHT INVOICE No. 88213\nTotal due: USD 4,210.00", "name": "freight.txt"}


@pytest.fixture
def gateway(make_gateway: MakeGateway, tmp_path: Path) -> Gateway:
    """The local backend with the config's classifiers."""
    return make_gateway(local_settings(tmp_path, classifiers=SAVED))


def test_the_mcp_servers_first_call_lists_classifiers(gateway: Gateway) -> None:
    """`classifiers.list()`: Extend's list envelope, read by the SDK's own types, paged by
    its token."""
    sdk = gateway.extend()
    listed = sdk.classifiers.list()
    assert listed.object == "list"
    assert [c.id for c in listed.data] == ["cl_mail", "cl_freight", "cl_contracts"]
    assert listed.next_page_token is None
    first = sdk.classifiers.list(max_page_size=2, sort_by="updatedAt", sort_dir="asc")
    assert [c.id for c in first.data] == ["cl_mail", "cl_freight"]
    assert first.next_page_token is not None
    rest = sdk.classifiers.list(next_page_token=first.next_page_token, max_page_size=2)
    assert [c.name for c in rest.data] == ["Contracts"]


def test_retrieve_and_run_a_config_classifier(gateway: Gateway) -> None:
    """`classifiers.retrieve` shows the draft's config; `classify` runs the classifier by id
    with an override, and an unknown id is the SDK's NotFoundError."""
    sdk = gateway.extend()
    classifier = sdk.classifiers.retrieve("cl_freight")
    assert classifier.draft_version.config.base_processor == "classification_performance"
    run = sdk.classify(
        file=FREIGHT,
        classifier={
            "id": classifier.id,
            "version": "1.0",
            "override_config": {"classification_rules": "Pro-forma is an invoice."},
        },
    )
    assert run.status == "PROCESSED"
    assert run.output is not None
    assert run.output.id == "invoice"
    assert run.config.classification_rules == "Pro-forma is an invoice."
    with pytest.raises(NotFoundError):
        sdk.classifiers.retrieve("cl_nope")
    with pytest.raises(NotFoundError):
        sdk.classify_runs.create(file=FREIGHT, classifier={"id": "cl_nope"})


def test_an_extend_backends_own_follow(make_gateway: MakeGateway, tmp_path: Path) -> None:
    """With an Extend backend, its classifiers follow the config's in one listing, and one of
    its own is retrieved through it."""
    upstream = respx.MockRouter(base_url=URLS["extend"])
    upstream.get("/classifiers").respond(200, content=wire("extend_classifiers_list_response.json"))
    upstream.get("/classifiers/cl_Rt5yU7iO9pA1sD3fG5hJ7k").respond(
        200, content=wire("extend_classifiers_get_response.json")
    )
    settings = mocked_vendors_settings(tmp_path, ["extend"], default="extend", classifiers=SAVED)
    sdk = make_gateway(settings, mocked({"extend": upstream})).extend(GATEWAY_KEY)
    listed = sdk.classifiers.list(max_page_size=20)
    assert [c.id for c in listed.data][:3] == ["cl_mail", "cl_freight", "cl_contracts"]
    assert [c.id for c in listed.data][3:] == [
        "cl_Xj8mK2pL9nR4vT7qY5wZ",
        "cl_Rt5yU7iO9pA1sD3fG5hJ7k",
    ]
    assert listed.next_page_token is not None
    vendor = sdk.classifiers.retrieve("cl_Rt5yU7iO9pA1sD3fG5hJ7k")
    assert vendor.name == "Inbound Freight Doc Type"
    assert vendor.draft_version.config.classification_rules is not None
