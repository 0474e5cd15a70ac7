"""Numbers from clients are read strictly and bounded as the vendors bound them, on both
surfaces (issue 9 items 5 and 10): query parameters, and the integers of create bodies.

A refusal is the vendor's own invalid-input error in the caller's dialect, naming the field;
never a 500, and nothing out of bounds reaches a backend or the ledger.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from mappings.dialects import Dialect
from mappings.numbers import OutOfRange, query_integer
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
