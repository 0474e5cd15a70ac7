"""Every way the upstream vendor can fail reaches the client in the client's own dialect.

Both directions: a Retab-surface client served by an Extend backend, and an Extend-surface
client served by a Retab backend (contracts.md §7, §10 hazard 26). Rejections keep their
status and the vendor's message; vendor failures are 502, a vendor too slow is 504. No key,
of the client or of the gateway, ever reaches a log line, an error body or a header.
"""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path

import httpx
import pytest

from mappings import ids
from mappings.dialects import Dialect
from tests.cross_vendor_app import (
    GATEWAY_KEY,
    RUNS,
    UPSTREAM_KEY,
    Leg,
    assert_sent_with_upstream_key,
    error_of,
    serve,
)
from tests.harness import extend_error, retab_error, wire, wire_json

JSON = "application/json"
NOT_FOUND = {
    "extend": "extend_error_404_not_found.json",
    "retab": "retab_error_404_detail_string.json",
}
SURFACES = [pytest.param("retab", id="retab-client"), pytest.param("extend", id="extend-client")]


def _reply(status: int, fixture: str, **headers: str) -> httpx.Response:
    media = JSON if fixture.endswith(".json") else "text/html"
    return httpx.Response(status, content=wire(fixture), headers={"content-type": media, **headers})


def _rate_limited(vendor: str, **headers: str) -> httpx.Response:
    if vendor == "extend":
        return _reply(429, "extend_error_429_rate_limited.json", **headers)
    # Retab's rate limiter answers before its FastAPI app: plain text (contracts.md §7.1)
    return httpx.Response(429, text="Rate limit exceeded", headers=headers)


def _created(vendor: str) -> httpx.Response:
    if vendor == "extend":
        return _reply(200, "extend_classify_response.json")
    return _reply(201, "retab_create_response_201.json")


@pytest.mark.parametrize(
    ("status", "fixture"),
    [
        (400, "extend_error_400_invalid_request.json"),
        (404, "extend_error_404_not_found.json"),
        (422, "extend_error_422_invalid_request_docurl.json"),
    ],
)
def test_extend_rejection_reaches_a_retab_client_with_its_status_and_message(
    tmp_path: Path, status: int, fixture: str
) -> None:
    """Extend's 4xx keeps its status and message, inside Retab's `{"detail": …}`."""
    upstream = wire_json(fixture)
    with serve("retab", tmp_path) as leg:
        route = leg.upstream.post("/classify").mock(return_value=_reply(status, fixture))
        detail = retab_error(leg.create(), status)
        assert_sent_with_upstream_key(leg, route)
    if status == 404:  # FastAPI's own not-found is a bare string
        assert detail == upstream["message"]
    else:
        assert detail["code"] == upstream["code"]
        assert detail["message"] == upstream["message"]


@pytest.mark.parametrize(
    ("status", "fixture", "code", "message"),
    [
        (400, "retab_error_400_detail_object.json", "INVALID_REQUEST", "document.url must be"),
        (404, "retab_error_404_detail_string.json", "NOT_FOUND", "Not found"),
        (422, "retab_error_422_validation.json", "INVALID_REQUEST", "categories: Field required"),
    ],
)
def test_retab_rejection_reaches_an_extend_client_with_its_status_and_message(
    tmp_path: Path, status: int, fixture: str, code: str, message: str
) -> None:
    """Retab's 4xx keeps its status and message, in Extend's `{code, message, retryable,
    requestId}` with one of Extend's own codes."""
    with serve("extend", tmp_path) as leg:
        route = leg.upstream.post("/v1/classifications").mock(return_value=_reply(status, fixture))
        body = extend_error(leg.create(), status)
        assert_sent_with_upstream_key(leg, route)
    assert body["code"] == code
    assert message in body["message"]
    assert body["retryable"] is False


@pytest.mark.parametrize("surface", SURFACES)
def test_a_rejection_of_a_get_is_rendered_like_one_of_a_create(
    tmp_path: Path, surface: Dialect
) -> None:
    """The vendor's 404 for a run the gateway recorded is the client's 404, in its dialect."""
    with serve(surface, tmp_path) as leg:
        leg.upstream.post(leg.create_path).mock(return_value=_created(leg.vendor))
        created = leg.create()
        assert created.is_success, created.text
        public_id = created.json()["id"]
        upstream_id = ids.decode(surface, public_id).upstream_id
        route = leg.upstream.get(leg.vendor_run(upstream_id)).mock(
            return_value=_reply(404, NOT_FOUND[leg.vendor])
        )
        code, message, _ = error_of(leg, leg.get(public_id), 404)
        assert_sent_with_upstream_key(leg, route)
    if surface == "retab":
        assert (code, message) == ("", wire_json(NOT_FOUND["extend"])["message"])
    else:
        assert (code, message) == ("NOT_FOUND", wire_json(NOT_FOUND["retab"])["detail"])


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize(
    ("hint", "retry_after"),
    [
        pytest.param({"retry-after": "7"}, "7", id="retry-after"),
        pytest.param({"retry-after-ms": "2500"}, "3", id="retry-after-ms"),
    ],
)
def test_rate_limit_stays_429_with_retry_after(
    tmp_path: Path, surface: Dialect, hint: dict[str, str], retry_after: str
) -> None:
    """The vendor's 429 stays a 429, with `Retry-After` in whole seconds (from either header)."""
    with serve(surface, tmp_path) as leg:
        route = leg.upstream.post(leg.create_path).mock(
            return_value=_rate_limited(leg.vendor, **hint)
        )
        response = leg.create()
        code, _, retryable = error_of(leg, response, 429)
        assert_sent_with_upstream_key(leg, route)
    assert response.headers["retry-after"] == retry_after
    assert code == "RATE_LIMIT_EXCEEDED"
    assert retryable is (True if surface == "extend" else None)


@pytest.mark.parametrize(
    ("surface", "status", "fixture"),
    [
        pytest.param("retab", 500, "extend_error_500_internal.json", id="retab-client-500"),
        pytest.param("retab", 502, "extend_case_error_502_text.txt", id="retab-client-502-text"),
        pytest.param("extend", 503, "retab_case_error_502_proxy.html", id="extend-client-503"),
    ],
)
def test_upstream_5xx_is_a_502(tmp_path: Path, surface: Dialect, status: int, fixture: str) -> None:
    """A vendor's 5xx, JSON or a proxy's HTML, is a 502 naming the vendor's status."""
    with serve(surface, tmp_path) as leg:
        route = leg.upstream.post(leg.create_path).mock(return_value=_reply(status, fixture))
        code, message, retryable = error_of(leg, leg.create(), 502)
        assert_sent_with_upstream_key(leg, route)
    assert f"HTTP {status}" in message
    assert code == ("UPSTREAM_ERROR" if surface == "retab" else "INTERNAL_ERROR")
    assert retryable is (True if surface == "extend" else None)


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize(
    ("failure", "status", "message", "retab_code"),
    [
        pytest.param(httpx.ReadTimeout, 504, "did not answer in time", "TIMEOUT", id="timeout"),
        pytest.param(
            httpx.ConnectError,
            502,
            "could not be reached (ConnectError)",
            "UPSTREAM_ERROR",
            id="unreachable",
        ),
    ],
)
def test_transport_failure_is_a_retryable_5xx(
    tmp_path: Path,
    surface: Dialect,
    failure: type[httpx.TransportError],
    status: int,
    message: str,
    retab_code: str,
) -> None:
    """A vendor that does not answer in time is a 504, one that cannot be reached a 502;
    Extend clients are told to retry."""
    with serve(surface, tmp_path) as leg:
        route = leg.upstream.post(leg.create_path).mock(side_effect=failure)
        code, said, retryable = error_of(leg, leg.create(), status)
        assert_sent_with_upstream_key(leg, route)
    assert message in said
    assert code == (retab_code if surface == "retab" else "INTERNAL_ERROR")
    assert retryable is (True if surface == "extend" else None)


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize(
    "fixture",
    [
        pytest.param("retab_case_error_502_proxy.html", id="not-json"),
        pytest.param("extend_classify_runs_delete_response.json", id="json-of-another-shape"),
    ],
)
def test_unreadable_2xx_body_is_a_502(tmp_path: Path, surface: Dialect, fixture: str) -> None:
    """A 2xx whose body is not the vendor's run is the vendor's failure: a 502, not a 500."""
    with serve(surface, tmp_path) as leg:
        status = 200 if leg.vendor == "extend" else 201
        route = leg.upstream.post(leg.create_path).mock(return_value=_reply(status, fixture))
        code, message, _ = error_of(leg, leg.create(), 502)
        assert_sent_with_upstream_key(leg, route)
    assert "cannot read" in message
    assert code == ("UPSTREAM_ERROR" if surface == "retab" else "INTERNAL_ERROR")


WRONG_KEY = "gw-key-wrong-5d1b"


def _calls(leg: Leg) -> list[httpx.Response]:
    """A run of successful and failing calls through `leg`, upstream and gateway failures."""
    leg.upstream.post(leg.create_path).mock(
        side_effect=[
            _created(leg.vendor),
            _rate_limited(leg.vendor, **{"retry-after": "1"}),
            httpx.Response(500, text="boom"),
            httpx.ReadTimeout("slow"),
            httpx.ConnectError("refused"),
            httpx.Response(200, text="garbage"),
        ]
    )
    responses = [leg.create() for _ in range(6)]
    public_id = responses[0].json()["id"]
    upstream_id = ids.decode(leg.surface, public_id).upstream_id
    leg.upstream.get(leg.vendor_run(upstream_id)).mock(
        return_value=_reply(404, NOT_FOUND[leg.vendor])
    )
    responses.append(leg.get(public_id))
    wrong = {**leg.headers, "authorization": f"Bearer {WRONG_KEY}"}
    responses.append(leg.client.get(RUNS[leg.surface], headers=wrong))
    return responses


def test_no_key_in_any_log_line_error_body_or_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Across successes, rejections, failures and a wrong key in both dialects, neither the
    gateway key, the upstream key nor a rejected key appears in logs or in any response."""
    caplog.set_level(logging.DEBUG)
    stderr = io.StringIO()  # the JSON log lines; configure_logging binds sys.stderr
    monkeypatch.setattr(sys, "stderr", stderr)
    responses: list[httpx.Response] = []
    statuses = {}
    for surface in ("retab", "extend"):
        with serve(surface, tmp_path) as leg:
            calls = _calls(leg)
        statuses[surface] = [r.status_code for r in calls]
        responses += calls
    assert statuses == {
        "retab": [201, 429, 502, 504, 502, 502, 404, 401],
        "extend": [200, 429, 502, 504, 502, 502, 404, 401],
    }
    logs = stderr.getvalue() + caplog.text
    # at DEBUG since issue 14: the request's own line names its backend and upstream status
    assert logs.count('"event":"upstream.call"') == 0
    assert logs.count('"event":"request.completed"') == 16
    for key in (GATEWAY_KEY, UPSTREAM_KEY, WRONG_KEY):
        assert key not in logs
        for response in responses:
            assert key not in response.text
            assert key not in str(response.headers.raw)
