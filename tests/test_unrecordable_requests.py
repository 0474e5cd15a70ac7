"""A create whose run the ledger could not keep (its categories and metadata echoed past the
per-run bound) is refused with a 413 before any backend makes the run: never a vendor run
that crosswalk then fails to record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import respx

from gateway.store.records import MAX_RUN_BYTES
from mappings import extend
from tests.harness import (
    GATEWAY_KEY,
    URLS,
    MakeGateway,
    extend_error,
    local_settings,
    retab_error,
)

BIG = "x" * MAX_RUN_BYTES  # under the 32 MiB body limit, over what one run may keep
EXTEND = {"authorization": f"Bearer {GATEWAY_KEY}", extend.VERSION_HEADER: extend.API_VERSION}
RETAB = {"authorization": f"Bearer {GATEWAY_KEY}"}
EXTEND_CREATE: dict[str, Any] = {
    "file": {"text": "Invoice due", "name": "a.txt"},
    "config": {"classifications": [{"id": "i", "type": "invoice", "description": "bill"}]},
}


def test_an_extend_create_with_metadata_too_large_to_record_is_a_413(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    client = make_gateway.client(local_settings(tmp_path, api_keys=(GATEWAY_KEY,)))
    for path in ("/classify", "/classify_runs"):
        answer = client.post(path, json=EXTEND_CREATE | {"metadata": {"k": BIG}}, headers=EXTEND)
        assert "metadata" in extend_error(answer, 413)["message"]
    assert client.get("/classify_runs", headers=EXTEND).json()["data"] == []


def test_a_retab_create_with_categories_too_large_to_record_is_a_413(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    client = make_gateway.client(local_settings(tmp_path, api_keys=(GATEWAY_KEY,)))
    create = {
        "document": {"filename": "a.txt", "url": "data:text/plain;base64,SW52b2ljZSBkdWU="},
        "categories": [{"name": "invoice", "description": BIG}, {"name": "letter"}],
    }
    answer = client.post("/v1/classifications", json=create, headers=RETAB)
    assert "categories" in str(retab_error(answer, 413))
    assert client.get("/v1/classifications", headers=RETAB).json()["data"] == []


def test_a_relayed_create_too_large_to_record_never_reaches_the_vendor(
    make_gateway: MakeGateway,
) -> None:
    vendor = respx.mock(base_url=URLS["extend"], assert_all_called=False)
    created = vendor.post("/classify_runs").mock(return_value=httpx.Response(200, json={}))
    client = make_gateway.mocked_client({"extend": vendor}, default="extend")
    answer = client.post(
        "/classify_runs", json=EXTEND_CREATE | {"metadata": {"k": BIG}}, headers=EXTEND
    )
    extend_error(answer, 413)
    assert not created.called
