"""A bad batch is refused whole, in Extend's 400 shape naming what is wrong (the input, by its
index), and nothing of it is recorded; a batch is its owner's alone, and Extend's missing
batch cancel and delete answer as Extend would."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from gateway.config import ExtendBackendConfig, LocalBackendConfig
from tests.batch_support import HEADERS, KEY, batch_body, saved_classifiers
from tests.harness import (
    URLS,
    Gateway,
    MakeGateway,
    extend_error,
    local_settings,
    vendor_settings,
    wait_until,
)

OTHER = {**HEADERS, "authorization": "Bearer gw-other"}


@pytest.fixture
def gateway(make_gateway: MakeGateway, tmp_path: Path) -> Gateway:
    return make_gateway(
        local_settings(
            tmp_path,
            LocalBackendConfig(),
            api_keys=(KEY, "gw-other"),
            classifiers=saved_classifiers(),
        )
    )


def _recorded(tmp_path: Path) -> list[int]:
    """How many batches, batch inputs and runs the ledger holds."""
    with closing(sqlite3.connect(tmp_path / "crosswalk.db")) as conn:
        tables = ("batches", "batch_inputs", "runs")
        return [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables]


def _bad_file(body: dict[str, Any], index: int, file: dict[str, Any]) -> dict[str, Any]:
    body["inputs"][index]["file"] = file
    return body


STORED = "file_xw1-AAAAAAAAAAAAAAAAAAAAAA"  # crosswalk's form, naming no file


@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param({"inputs": batch_body(2)["inputs"]}, "classifier", id="no-classifier"),
        pytest.param(batch_body(2, config={"classifications": []}), "config", id="inline-config"),
        pytest.param(batch_body(0), "inputs", id="no-inputs"),
        pytest.param(batch_body(1001), "inputs", id="1001-inputs"),
        pytest.param(
            _bad_file(batch_body(10), 7, {"url": "https://a.test/x.pdf", "text": "x"}),
            "inputs[7].file",
            id="two-forms-of-file-in-input-7",
        ),
        pytest.param(
            _bad_file(batch_body(10), 7, {"name": "x.txt"}), "inputs[7].file", id="no-file-7"
        ),
        pytest.param(
            _bad_file(batch_body(10), 7, {"text": "x", "colour": "red"}),
            "inputs[7].file.colour",
            id="unknown-key-in-input-7",
        ),
        pytest.param(
            _bad_file(batch_body(10), 7, {"id": STORED}), "inputs[7]", id="unknown-file-in-7"
        ),
        pytest.param(batch_body(3, priority=0), "priority", id="priority-out-of-range"),
    ],
)
def test_a_bad_batch_is_refused_whole_naming_the_input(
    gateway: Gateway, tmp_path: Path, body: dict[str, Any], named: str
) -> None:
    """Extend's 400 INVALID_REQUEST, naming the field (the input by its index); no batch,
    no input and no run is recorded."""
    http = gateway.http(None)

    answer = http.post("/classify_runs/batch", json=body, headers=HEADERS)

    error = extend_error(answer, 400)
    assert error["code"] == "INVALID_REQUEST"
    assert named in error["message"], error["message"]
    assert _recorded(tmp_path) == [0, 0, 0]


def test_an_unknown_classifier_is_refused_before_anything_is_recorded(
    gateway: Gateway, tmp_path: Path
) -> None:
    """A classifier neither the config nor any backend knows: Extend's 404, nothing kept."""
    body = batch_body(3)
    body["classifier"] = {"id": "cl_unknown"}

    answer = gateway.http(None).post("/classify_runs/batch", json=body, headers=HEADERS)

    assert extend_error(answer, 404)["code"] == "NOT_FOUND"
    assert _recorded(tmp_path) == [0, 0, 0]


def test_a_batch_is_its_owner_s_alone(gateway: Gateway) -> None:
    """Once the batch's runs exist, another key reads neither the batch nor any of its runs:
    Extend's 404s, and empty listings (by batch and in all)."""
    http = gateway.http(None)
    batch = http.post("/classify_runs/batch", json=batch_body(3), headers=HEADERS).json()
    query = {"batchId": batch["id"]}
    wait_until(
        lambda: len(http.get("/classify_runs", params=query, headers=HEADERS).json()["data"]) == 3
    )
    runs = http.get("/classify_runs", params=query, headers=HEADERS).json()["data"]

    error = extend_error(http.get(f"/batch_runs/{batch['id']}", headers=OTHER), 404)
    assert error == error | {"code": "NOT_FOUND", "message": f"Batch run {batch['id']} not found."}
    assert http.get("/classify_runs", params=query, headers=OTHER).json()["data"] == []
    assert http.get("/classify_runs", headers=OTHER).json()["data"] == []
    for run in runs:
        assert extend_error(http.get(f"/classify_runs/{run['id']}", headers=OTHER), 404)
    assert http.get(f"/classify_runs/{runs[0]['id']}", headers=HEADERS).status_code == 200
    unknown = http.get("/batch_runs/bpr_doesNotExist0000000000", headers=HEADERS)
    assert extend_error(unknown, 404)["code"] == "NOT_FOUND"


def test_batches_cannot_be_cancelled_or_deleted_as_in_extend(gateway: Gateway) -> None:
    """Extend has no batch cancel or delete: an unknown route (404) and a method the path does
    not allow (405), both in Extend's error shape; the batch goes on."""
    http = gateway.http(None)
    batch = http.post("/classify_runs/batch", json=batch_body(2), headers=HEADERS).json()

    cancel = http.post(f"/batch_runs/{batch['id']}/cancel", headers=HEADERS)
    delete = http.delete(f"/batch_runs/{batch['id']}", headers=HEADERS)

    assert extend_error(cancel, 404)["code"] == "NOT_FOUND"
    assert extend_error(delete, 405)["code"] == "NOT_FOUND"
    assert "GET" in delete.headers["allow"]
    wait_until(
        lambda: (
            http.get(f"/batch_runs/{batch['id']}", headers=HEADERS).json()["status"] == "PROCESSED"
        )
    )


def test_a_backend_forwarding_client_keys_refuses_a_batch_it_cannot_relay(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """A pure-proxy Extend backend and a classifier of crosswalk's config: the batch cannot
    be relayed (Extend does not know the classifier) nor fanned out later (no client key to
    forward), so it is refused clearly, before anything is recorded."""
    settings = vendor_settings(
        tmp_path,
        {"extend": ExtendBackendConfig(base_url=URLS["extend"])},
        default="extend",
        classifiers=saved_classifiers(),
    )
    http = make_gateway(settings).http(None)

    answer = http.post("/classify_runs/batch", json=batch_body(2), headers=HEADERS)

    assert "forwards each client's own key" in extend_error(answer, 400)["message"]
    assert _recorded(tmp_path) == [0, 0, 0]
