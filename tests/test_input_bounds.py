"""Numbers from clients are read strictly and bounded as the vendors bound them, on both
surfaces (issue 9 items 5 and 10): query parameters, and the integers of create bodies.

A refusal is the vendor's own invalid-input error in the caller's dialect, naming the field;
never a 500, and nothing out of bounds reaches a backend or the ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from mappings.dialects import Dialect
from mappings.numbers import MAX_PAGE, OutOfRange, query_integer
from tests.harness import MakeGateway, extend_error, local_settings, retab_error

HEADERS: dict[Dialect, dict[str, str]] = {
    "retab": {"authorization": "Bearer key-a"},
    "extend": {"authorization": "Bearer key-a", "x-extend-api-version": "2026-02-09"},
}


@pytest.fixture
def client(make_gateway: MakeGateway, tmp_path: Path) -> TestClient[Any]:
    return make_gateway.client(local_settings(tmp_path))


def refused(surface: Dialect, response: httpx.Response, field: str) -> str:
    """The vendor's validation error in the caller's dialect, naming `field`: Retab's 422
    with the field's `loc`, Extend's 400 INVALID_REQUEST with it in the message."""
    if surface == "retab":
        detail = retab_error(response, 422)
        assert detail[0]["loc"][-1] == field.rsplit(".", 1)[-1]
        return str(detail[0]["msg"])
    body = extend_error(response, 400)
    assert body["code"] == "INVALID_REQUEST"
    assert str(body["message"]).startswith(f"{field}:")
    return str(body["message"])


# each surface's numeric list parameter and its largest value
LIST_NUMBERS = [
    pytest.param("retab", "/v1/classifications", "limit", 100, id="retab-limit"),
    pytest.param("extend", "/classify_runs", "maxPageSize", 1000, id="extend-maxPageSize"),
]
NOT_INTEGERS = ["²", "٣", "1e3", " 5", "5 ", "+5", "5.0", "0x10", "--5", "five"]


@pytest.mark.parametrize(("surface", "path", "name", "most"), LIST_NUMBERS)
@pytest.mark.parametrize("raw", NOT_INTEGERS)
def test_a_query_number_is_ascii_digits_only(
    client: TestClient[Any], surface: Dialect, path: str, name: str, most: int, raw: str
) -> None:
    """Superscripts, other scripts' digits, exponents, signs and spaces are not integers,
    though `str.isdigit()` or `int()` take some of them."""
    response = client.get(path, params={name: raw}, headers=HEADERS[surface])
    assert "integer" in refused(surface, response, name)


@pytest.mark.parametrize(("surface", "path", "name", "most"), LIST_NUMBERS)
@pytest.mark.parametrize(
    ("raw", "low"),
    [
        ("0", True),
        ("-1", True),
        ("-0", True),
        ("-" + "9" * 5000, True),
        ("{most}1", False),
        ("9" * 5000, False),
    ],
)
def test_a_query_number_out_of_range_is_refused(
    client: TestClient[Any],
    surface: Dialect,
    path: str,
    name: str,
    most: int,
    raw: str,
    low: bool,
) -> None:
    """Below 1, past the vendor's bound, or thousands of digits long: an integer out of
    range, refused naming the bound it missed; never a 500."""
    response = client.get(path, params={name: raw.format(most=most)}, headers=HEADERS[surface])
    message = refused(surface, response, name)
    assert "integer" not in message
    assert (" 1" if low or surface == "extend" else str(most)) in message
    assert surface == "retab" or str(most) in message


@pytest.mark.parametrize(("surface", "path", "name", "most"), LIST_NUMBERS)
@pytest.mark.parametrize("raw", ["1", "007", "{most}"])
def test_a_query_number_in_range_is_served(
    client: TestClient[Any], surface: Dialect, path: str, name: str, most: int, raw: str
) -> None:
    """Digits from 1 to the bound list the caller's runs; leading zeros are still digits."""
    response = client.get(path, params={name: raw.format(most=most)}, headers=HEADERS[surface])
    assert response.status_code == 200, response.text
    assert response.json()["data"] == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", 1),
        ("0042", 42),
        ("100", 100),
        ("0", OutOfRange),
        ("-7", OutOfRange),
        ("101", OutOfRange),
        ("1" * 4301, OutOfRange),  # past int()'s own limit on digits: never converted
        ("0" * 4301 + "5", 5),
        ("", ValueError),
        ("²", ValueError),
        ("1_0", ValueError),
        ("5\n", ValueError),
    ],
)
def test_query_integer(raw: str, expected: int | type[ValueError]) -> None:
    """ASCII digits with an optional minus, within the bounds; which bound says OutOfRange."""
    if isinstance(expected, int):
        assert query_integer(raw, low=1, high=100) == expected
        return
    with pytest.raises(expected) as excinfo:
        query_integer(raw, low=1, high=100)
    if isinstance(excinfo.value, OutOfRange):
        assert excinfo.value.low is raw.startswith(("0", "-"))


DOCUMENT = {"filename": "a.txt", "url": "data:text/plain;base64,SW52b2ljZSB0b3RhbA=="}
CLASSIFICATIONS = [{"id": "invoice", "type": "invoice", "description": "A bill"}]


def _retab(**fields: Any) -> dict[str, Any]:
    return {"document": DOCUMENT, "categories": [{"name": "invoice"}], **fields}


def _extend(pages: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"classifications": CLASSIFICATIONS}
    if pages is not None:
        config["advancedOptions"] = {"pageRanges": pages}
    return {"file": {"text": "Invoice total"}, "config": config, **fields}


def _override(pages: list[dict[str, Any]]) -> dict[str, Any]:
    override = {"advancedOptions": {"pageRanges": pages}}
    return {
        "file": {"text": "Invoice total"},
        "classifier": {"id": "cl_1", "overrideConfig": override},
    }


RANGES = "config.advancedOptions.pageRanges[0]"
# (surface, path, the body with `n` in one integer field, the field as the dialect names it)
REQUEST_NUMBERS = [
    pytest.param(
        "retab",
        "/v1/classifications",
        lambda n: _retab(first_n_pages=n),
        "first_n_pages",
        id="retab-first_n_pages",
    ),
    pytest.param(
        "retab",
        "/v1/classifications",
        lambda n: _retab(n_consensus=n),
        "n_consensus",
        id="retab-n_consensus",
    ),
    pytest.param(
        "extend",
        "/classify_runs",
        lambda n: _extend([{"start": 1, "end": n}]),
        f"{RANGES}.end",
        id="extend-end",
    ),
    pytest.param(
        "extend",
        "/classify",
        lambda n: _extend([{"start": n, "end": n}]),
        f"{RANGES}.start",
        id="extend-start",
    ),
    pytest.param(
        "extend",
        "/classify_runs",
        lambda n: _override([{"start": 1, "end": n}]),
        "classifier.overrideConfig.advancedOptions.pageRanges[0].end",
        id="extend-override-end",
    ),
    pytest.param(
        "extend", "/classify_runs", lambda n: _extend(priority=n), "priority", id="extend-priority"
    ),
]
OUT_OF_BOUNDS = [10**30, 10**19, 2**63, MAX_PAGE + 1, 0, -1]


@pytest.mark.parametrize(("surface", "path", "body", "field"), REQUEST_NUMBERS)
@pytest.mark.parametrize("number", OUT_OF_BOUNDS)
def test_a_request_number_out_of_bounds_is_refused(
    client: TestClient[Any],
    surface: Dialect,
    path: str,
    body: Callable[[int], dict[str, Any]],
    field: str,
    number: int,
) -> None:
    """10^30 pages, a page range ending at 10^19, a priority of 2^63: the vendor's validation
    error naming the field, and no run is created or recorded."""
    response = client.post(path, json=body(number), headers=HEADERS[surface])
    refused(surface, response, field)
    runs_path = "/v1/classifications" if surface == "retab" else "/classify_runs"
    assert client.get(runs_path, headers=HEADERS[surface]).json()["data"] == []


@pytest.mark.parametrize(
    ("surface", "path", "body"),
    [
        pytest.param("retab", "/v1/classifications", _retab(first_n_pages=MAX_PAGE), id="pages"),
        pytest.param("extend", "/classify", _extend([{"start": 1, "end": MAX_PAGE}]), id="end"),
        pytest.param("extend", "/classify_runs", _extend(priority=1), id="priority-1"),
        pytest.param("extend", "/classify_runs", _extend(priority=100), id="priority-100"),
    ],
)
def test_a_request_number_at_its_bound_is_served(
    client: TestClient[Any], surface: Dialect, path: str, body: dict[str, Any]
) -> None:
    """The bounds themselves are accepted: the last page, Extend's priorities 1 and 100."""
    response = client.post(path, json=body, headers=HEADERS[surface])
    assert response.status_code == (201 if surface == "retab" else 200), response.text
