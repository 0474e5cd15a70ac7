"""Documents past the local backend's reading limits are the usual invalid-document error on
both surfaces: a PDF with more pages to read than `max_pages`, and JSON nested too deep
(issue 9, items 4 and 9)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.document_server import serving
from tests.harness import (
    MakeGateway,
    categories,
    classifications,
    extend_error,
    retab_error,
)
from tests.pdfs import make_pdf

EXTEND_VERSION = "2026-02-09"
THREE_PAGES = make_pdf(["Invoice 7", "Total due: 120 EUR", "Terms: 30 days"])


def retab_create(data: bytes, mime: str, **fields: Any) -> dict[str, Any]:
    url = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    return {"document": {"filename": "doc", "url": url}, "categories": categories(), **fields}


def extend_classify(url: str, **config: Any) -> dict[str, Any]:
    return {
        "file": {"url": url, "name": "doc"},
        "config": {"classifications": classifications(), **config},
    }


def test_a_pdf_over_the_page_limit_is_refused_unless_a_range_within_it_is_asked(
    make_gateway: MakeGateway,
) -> None:
    """With `max_pages = 2` a three-page PDF is refused, naming the limit; asking for its
    first two pages (Retab `first_n_pages`, Extend `pageRanges`) reads them."""
    gateway = make_gateway(max_pages=2, allow_private_urls=True)
    retab = gateway.http()
    refused = retab_error(
        retab.post("/v1/classifications", json=retab_create(THREE_PAGES, "application/pdf")), 400
    )
    assert refused["code"] == "INVALID_DOCUMENT"
    assert "has 3 pages, more than the 2 this backend reads (max_pages)" in refused["message"]
    within = retab_create(THREE_PAGES, "application/pdf", first_n_pages=2)
    read = retab.post("/v1/classifications", json=within)
    assert read.status_code == 201, read.text
    assert read.json()["status"] == "completed"

    extend = gateway.http()
    extend.headers["x-extend-api-version"] = EXTEND_VERSION
    with serving({"/three.pdf": (THREE_PAGES, "application/pdf")}) as base:
        body = extend_classify(f"{base}/three.pdf")
        refused = extend_error(extend.post("/classify", json=body), 400)
        assert "(max_pages)" in refused["message"]
        options = {"advancedOptions": {"pageRanges": [{"start": 1, "end": 2}]}}
        read = extend.post("/classify", json=extend_classify(f"{base}/three.pdf", **options))
    assert read.status_code == 200, read.text
    assert read.json()["status"] == "PROCESSED"


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_json_is_an_invalid_document(make_gateway: MakeGateway, depth: int) -> None:
    """JSON nested 1,000 or 100,000 deep is refused as undecodable on both surfaces, never a
    500 (issue 9, item 4); at 100,000 it is read in an extractor process, at 1,000 inline."""
    deep = b"[" * depth + b'"invoice"' + b"]" * depth
    gateway = make_gateway(allow_private_urls=True)
    retab = gateway.http()
    detail = retab_error(
        retab.post("/v1/classifications", json=retab_create(deep, "application/json")), 400
    )
    assert detail["code"] == "INVALID_DOCUMENT"
    assert "nested more than 64 levels deep" in detail["message"]

    extend = gateway.http()
    extend.headers["x-extend-api-version"] = EXTEND_VERSION
    with serving({"/deep.json": (deep, "application/json")}) as base:
        refused = extend_error(
            extend.post("/classify", json=extend_classify(f"{base}/deep.json")), 400
        )
    assert "nested more than 64 levels deep" in refused["message"]
