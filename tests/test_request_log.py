"""One `request.completed` line per request, 404s and unknown paths included: its id (the
caller's `x-request-id` when sane), method, route, surface, backend, status, upstream status,
attempts, overhead, duration and translation notes — never a key, a query or a document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.cross_vendor_app import GATEWAY_KEY, UPSTREAM_KEY, serve
from tests.harness import local_settings, running, wire
from tests.test_run_semantics import CREATE, RETAB

MAX_LINE_BYTES = 300  # issue 14 counts the bytes of every line


def request_lines(capsys: pytest.CaptureFixture[str]) -> list[tuple[bytes, dict[str, Any]]]:
    """Each summary line logged so far, raw and decoded."""
    raw = [line.encode() for line in capsys.readouterr().err.splitlines() if line]
    found = [(line, msgspec.json.decode(line)) for line in raw]
    return [(line, entry) for line, entry in found if entry["event"] == "request.completed"]


def test_every_request_is_logged_once_with_its_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running(local_settings(tmp_path)) as client:
        capsys.readouterr()
        created = client.post("/v1/classifications", json=CREATE, headers=RETAB)
    [(line, entry)] = request_lines(capsys)
    assert entry["request_id"] == created.headers["x-request-id"]
    assert entry["method"] == "POST"
    assert entry["route"] == "/v1/classifications"
    assert (entry["surface"], entry["backend"], entry["status"]) == ("retab", "local", 201)
    # the fields the translation noted are counted; their names are in the answer's header
    noted = created.headers["crosswalk-translation"]
    assert entry["noted"] == sum(len(part.split("=")[1].split(",")) for part in noted.split("; "))
    assert entry["noted"] > 0
    assert entry["duration_ms"] >= entry["overhead_ms"] > 0
    assert len(line) <= MAX_LINE_BYTES
    assert b"Invoice" not in line  # the document's text
    assert b"SW52b2ljZSBkdWU" not in line  # nor its bytes


def test_a_run_is_logged_by_its_route_template_without_its_query(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running(local_settings(tmp_path)) as client:
        run = client.post("/v1/classifications", json=CREATE, headers=RETAB).json()["id"]
        capsys.readouterr()
        client.get(f"/v1/classifications/{run}?token=s3cret-query", headers=RETAB)
    [(line, entry)] = request_lines(capsys)
    assert "{" in entry["route"]
    assert run not in entry["route"]
    assert b"s3cret-query" not in line


def test_unknown_paths_and_wrong_methods_are_logged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running(local_settings(tmp_path)) as client:
        capsys.readouterr()
        assert client.get("/no/such/place?api_key=s3cret").status_code == 404
        assert client.delete("/healthz").status_code == 405
    entries = [entry for _, entry in request_lines(capsys)]
    assert [(e["route"], e["surface"], e["status"]) for e in entries] == [
        ("/no/such/place", "none", 404),
        ("/healthz", "none", 405),
    ]
    assert all(e["request_id"].startswith("req_") for e in entries)


def test_a_sane_incoming_request_id_is_kept_and_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = "lb-7f3a:trace.01_X-2"
    with running(local_settings(tmp_path)) as client:
        capsys.readouterr()
        answers = [
            client.get("/healthz", headers={"x-request-id": given}),
            client.get("/nowhere", headers={"x-request-id": given}),
        ]
    assert [a.headers["x-request-id"] for a in answers] == [given, given]
    assert [entry["request_id"] for _, entry in request_lines(capsys)] == [given, given]


@pytest.mark.parametrize(
    "bad",
    ["", "x" * 129, "has space", 'quote"d', "new\\nline", "ünïcode", "semi;colon"],
    ids=["empty", "too-long", "space", "quote", "escape", "unicode", "semicolon"],
)
def test_an_insane_request_id_is_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    with running(local_settings(tmp_path)) as client:
        capsys.readouterr()
        answer = client.get("/healthz", headers=[(b"x-request-id", bad.encode())])
    [(_, entry)] = request_lines(capsys)
    assert answer.headers["x-request-id"] == entry["request_id"] != bad
    assert entry["request_id"].startswith("req_")


def test_an_upstream_call_is_summarised_without_any_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve("retab", tmp_path) as leg:
        leg.upstream.post("/classify").respond(
            200, content=wire("extend_classify_response.json"), headers={"content-type": "json"}
        )
        capsys.readouterr()
        assert leg.create().status_code == 201
    err = capsys.readouterr().err
    [entry] = [
        e
        for e in (msgspec.json.decode(line) for line in err.splitlines() if line)
        if e["event"] == "request.completed"
    ]
    assert (entry["surface"], entry["backend"], entry["upstream_status"]) == (
        "retab",
        "extend",
        200,
    )
    assert entry["duration_ms"] >= entry["overhead_ms"]
    assert GATEWAY_KEY not in err
    assert UPSTREAM_KEY not in err
