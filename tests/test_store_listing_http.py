"""Listing by filename through both surfaces, served from the ledger: Retab's exact,
case-sensitive `filename` and Extend's case-insensitive `fileNameContains`, literal whatever
the characters, scoped to the caller's key and paged (issue 9, item 13); on both stores."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.harness import MakeGateway, local_settings
from tests.postgres import PostgresServer
from tests.stores import KINDS
from tests.test_store_listing import TRICKY

RETAB = {"authorization": "Bearer key-a"}
EXTEND = {**RETAB, "x-extend-api-version": "2026-02-09"}
OTHER = {"authorization": "Bearer key-b"}
DUPLICATE = "dup.pdf"  # five runs of one name, between fillers, to page through
FILLERS = 80  # newer than the tricky names: a rare one is found by the trigram index
TEXT = "data:text/plain;base64," + base64.b64encode(b"Invoice due").decode()


def create(client: TestClient[Any], name: str, headers: dict[str, str]) -> str:
    body = {"document": {"filename": name, "url": TEXT}, "categories": [{"name": "invoice"}]}
    response = client.post("/v1/classifications", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: str = response.json()["id"]
    return created


@pytest.fixture(scope="module", params=KINDS)
def store_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """Where the module's gateway keeps its ledger: its SQLite default (None), or a
    PostgreSQL database of the module's own."""
    if request.param == "sqlite":
        yield None
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        server.drop_later(name)


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, store_url: str | None
) -> Iterator[TestClient[Any]]:
    """A local gateway where key-a has the tricky names, fillers and duplicates, in that
    order, and key-b the tricky names too; shared by this module's tests, which only read."""
    make = MakeGateway(tmp_path_factory.mktemp("listing-http"))
    try:
        served = make.client(local_settings(make.tmp_path, store_url=store_url))
        for name in TRICKY:
            create(served, name, RETAB)
            create(served, name, OTHER)
        for i in range(FILLERS):
            create(served, DUPLICATE if i % 16 == 0 else f"filler-{i:03}.bin", RETAB)
        yield served
    finally:
        make.stop_all()


def created_names() -> list[str]:
    """key-a's names, newest first."""
    fillers = [DUPLICATE if i % 16 == 0 else f"filler-{i:03}.bin" for i in range(FILLERS)]
    return [*TRICKY, *fillers][::-1]


def matching(match: Callable[[str], bool]) -> list[str]:
    return [name for name in created_names() if match(name)]


def retab_names(client: TestClient[Any], **params: str) -> list[str]:
    response = client.get("/v1/classifications", params={"limit": "100", **params}, headers=RETAB)
    assert response.status_code == 200, response.text
    return [item["file"]["filename"] for item in response.json()["data"]]


def extend_names(client: TestClient[Any], **params: str) -> list[str]:
    query = {"maxPageSize": "1000", **params}
    response = client.get("/classify_runs", params=query, headers=EXTEND)
    assert response.status_code == 200, response.text
    return [item["file"]["name"] for item in response.json()["data"]]


@pytest.mark.parametrize(
    "filename",
    [
        "Invoice-2024.pdf",
        "invoice-2024.pdf",
        "100%.pdf",
        "a_b.csv",
        "%",
        'say "hi".txt',
        "it's.txt",
        "nai\u0308ve.txt",
        "日本語の請求書.pdf",
        "📄📄📄.pdf",
        "nul\x00byte.txt",
        DUPLICATE,
    ],
)
def test_retab_filename_lists_runs_of_exactly_that_name(
    client: TestClient[Any], filename: str
) -> None:
    """`filename=` on the Retab surface: the caller's runs of exactly that name, case and
    every character counting, nothing a wildcard; newest first."""
    assert retab_names(client, filename=filename) == matching(lambda name: name == filename)


@pytest.mark.parametrize(
    ("needle", "count"),
    [
        ("invoice", 3),
        ("STRASSE", 2),
        ("ß", 2),
        ("%", 2),
        ("_", 2),
        ('"hi"', 1),
        ("it's", 1),
        ("near and", 1),
        ("請求", 1),
        ("の請求書", 1),
        ("📄📄📄", 1),
        (".pdf", 14),
        ("\there", 1),
        ("l\x00b", 1),
        ("nowhere", 0),
    ],
)
def test_extend_file_name_contains_is_a_case_insensitive_substring(
    client: TestClient[Any], needle: str, count: int
) -> None:
    """`fileNameContains` on the Extend surface: the caller's runs whose name holds it in
    any case (Unicode casefolding: ß is ss), literally, however short; newest first."""
    expected = matching(lambda name: needle.casefold() in name.casefold())
    assert len(expected) == count
    assert extend_names(client, fileNameContains=needle) == expected


def test_another_key_lists_only_its_own_runs_by_name(client: TestClient[Any]) -> None:
    """key-b's runs share the tricky names; a listing by name never reaches across keys."""
    response = client.get("/v1/classifications", params={"filename": DUPLICATE}, headers=OTHER)
    assert response.json()["data"] == []
    extend = {**OTHER, "x-extend-api-version": EXTEND["x-extend-api-version"]}
    names = client.get("/classify_runs", params={"fileNameContains": "invoice"}, headers=extend)
    assert len(names.json()["data"]) == 3


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_retab_pages_a_filename_both_ways(client: TestClient[Any], order: str) -> None:
    """Two at a time, `after` cursors reach every run of the name once, and `before` cursors
    from the last one read back to the first."""
    query = {"filename": DUPLICATE, "limit": "2", "order": order}
    everything = client.get(
        "/v1/classifications", params={**query, "limit": "100"}, headers=RETAB
    ).json()["data"]
    all_ids = [item["id"] for item in everything]
    assert len(all_ids) == 5
    forward: list[str] = []
    params = query
    while True:
        page = client.get("/v1/classifications", params=params, headers=RETAB).json()
        forward += [item["id"] for item in page["data"]]
        if page["list_metadata"]["after"] is None:
            break
        params = {**query, "after": page["list_metadata"]["after"]}
    assert forward == all_ids
    backward: list[str] = []
    params = {**query, "before": all_ids[-1]}
    while True:
        page = client.get("/v1/classifications", params=params, headers=RETAB).json()
        backward = [item["id"] for item in page["data"]] + backward
        if page["list_metadata"]["before"] is None:
            break
        params = {**query, "before": page["list_metadata"]["before"]}
    assert backward == all_ids[:-1]


@pytest.mark.parametrize("needle", ["DUP.", "du"])
def test_extend_pages_a_substring_with_next_page_tokens(
    client: TestClient[Any], needle: str
) -> None:
    """`maxPageSize=2` pages, followed by `nextPageToken`, list every matching run once
    (through the trigram index, or walked when the needle is under three characters)."""
    seen: list[str] = []
    params = {"fileNameContains": needle, "maxPageSize": "2"}
    while True:
        page = client.get("/classify_runs", params=params, headers=EXTEND).json()
        assert len(page["data"]) <= 2
        seen += [item["file"]["name"] for item in page["data"]]
        if page["nextPageToken"] is None:
            break
        params = {**params, "nextPageToken": page["nextPageToken"]}
    assert seen == [DUPLICATE] * 5
