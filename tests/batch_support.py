"""What the batch tests share: a saved classifier of the corpus's categories in the config,
batch bodies of corpus documents, and reading a batch and its runs through the Extend surface.
"""

from __future__ import annotations

from typing import Any

import httpx

from mappings import extend
from tests.harness import classifications, corpus, wait_until

CLASSIFIER = "cl_corpus"
KEY = "gw-key"
HEADERS = {"authorization": f"Bearer {KEY}", extend.VERSION_HEADER: extend.API_VERSION}
TEXT_DOCS = ("doc_001.txt", "doc_002.txt", "doc_003.txt", "doc_004.txt", "doc_005.txt")


def saved_classifiers() -> dict[str, extend.SavedClassifier]:
    """`[classifiers.cl_corpus]`: the corpus's categories."""
    table = {"name": "Corpus", "classifications": classifications()}
    return {CLASSIFIER: extend.saved_from_table(CLASSIFIER, table)}


def batch_body(count: int, **extra: Any) -> dict[str, Any]:
    """A batch of `count` corpus text documents, each with its row number as metadata."""
    inputs = [
        {
            "file": {"text": corpus(name).read_text(encoding="utf-8"), "name": f"{i:03d}-{name}"},
            "metadata": {"row": i},
        }
        for i, name in ((i, TEXT_DOCS[i % len(TEXT_DOCS)]) for i in range(count))
    ]
    return {"classifier": {"id": CLASSIFIER}, "inputs": inputs, **extra}


def batch_status(http: httpx.Client, batch_id: str, headers: dict[str, str] = HEADERS) -> Any:
    response = http.get(f"/batch_runs/{batch_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def statuses_until_settled(
    http: httpx.Client, batch_id: str, headers: dict[str, str] = HEADERS
) -> list[str]:
    """Every status the batch showed, in order, polled until it settled."""
    seen: list[str] = []

    def settled() -> bool:
        status = batch_status(http, batch_id, headers)["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        return status not in ("PENDING", "PROCESSING")

    wait_until(settled, timeout=60)
    return seen


def batch_runs(
    http: httpx.Client, batch_id: str, headers: dict[str, str] = HEADERS, page: int = 20
) -> list[Any]:
    """Every run `GET /classify_runs?batchId=` lists, paging through."""
    runs: list[Any] = []
    token: str | None = None
    while True:
        params = {"batchId": batch_id, "maxPageSize": str(page)}
        if token:
            params["nextPageToken"] = token
        response = http.get("/classify_runs", params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        runs += body["data"]
        token = body["nextPageToken"]
        if not token:
            return runs
