"""No secret crosswalk holds reaches a client: a vendor error that echoes the request's
`Authorization` header (or any of the gateway's keys) is scrubbed before it is relayed,
turned into an error in the client's dialect, or logged — on both surfaces, translated or
passed through, and for a pure proxy's client key too."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from litestar.testing import TestClient
from structlog.testing import capture_logs

from gateway.backends.scrub import REDACTED, Scrubber
from gateway.config import BackendConfig, Secret
from mappings import extend
from mappings.dialects import Dialect
from tests.harness import URLS, mocked, running, vendor_backend, vendor_settings
from tests.upstream_answers_app import CREATE_BODY, OTHER, RUNS, SAME, SURFACES

GATEWAY_KEYS = ("gw-key-scrub-5d1b", "gw-key-scrub-other-8e2c")
UPSTREAM_KEYS = {"retab": "sk-retab-scrub-31f0", "extend": "sk-extend-scrub/4a9+"}
CLIENT_OWN_KEY = "sk-client-own-scrub-77c1"
EVERY_SECRET = (*GATEWAY_KEYS, *UPSTREAM_KEYS.values(), CLIENT_OWN_KEY)
ROUTES = [pytest.param(OTHER, id="translated"), pytest.param(SAME, id="relayed")]


def client_headers(surface: Dialect, key: str) -> dict[str, str]:
    sent = {"authorization": f"Bearer {key}"}
    if surface == "extend":
        sent[extend.VERSION_HEADER] = extend.API_VERSION
    return sent


def echo(vendor: Dialect, status: int, secrets: tuple[str, ...]) -> httpx.Response:
    """A vendor error that echoes `secrets` as request headers, in its message and details;
    a 5xx as a proxy's plain text."""
    said = "; ".join(f"Authorization: Bearer {s}" for s in secrets)
    if status >= 500:
        return httpx.Response(status, text=f"upstream proxy error, request had {said}")
    message = f"Bad request headers: {said}"
    if vendor == "extend":
        body: dict[str, Any] = {"code": "INVALID_REQUEST", "message": message, "retryable": False}
    else:
        details = {"headers": [f"Bearer {s}" for s in secrets]}
        body = {"detail": {"code": "INVALID_REQUEST", "message": message, "details": details}}
    return httpx.Response(status, json=body)


@contextmanager
def serving(
    tmp_path: Path, routes: dict[Dialect, Dialect], *, own_keys: bool = True
) -> Iterator[tuple[TestClient[Any], dict[str, respx.MockRouter]]]:
    """Both vendors mocked, each surface served by the vendor `routes` names; with
    `own_keys` false, a pure proxy holding no key at all."""
    backends: dict[str, BackendConfig] = {
        vendor: vendor_backend(vendor, api_key_env=f"{vendor.upper()}_KEY" if own_keys else None)
        for vendor in SURFACES
    }
    settings = vendor_settings(
        tmp_path,
        backends,
        default="extend",
        surface_backends=dict(routes),
        api_keys=GATEWAY_KEYS if own_keys else (),
        upstream_keys=UPSTREAM_KEYS if own_keys else {},
    )
    vendors: dict[str, respx.MockRouter] = {
        v: respx.MockRouter(base_url=URLS[v], assert_all_called=False) for v in SURFACES
    }
    with running(settings, mocked(vendors)) as client:
        yield client, vendors


def assert_no_secret(response: httpx.Response, logs: list[MutableMapping[str, Any]]) -> None:
    """Nothing the client got, and no log line, holds a secret; the echo is marked."""
    assert REDACTED.decode() in response.text
    for secret in EVERY_SECRET:
        assert secret not in response.text
        assert secret.encode() not in response.content
        assert secret not in str(response.headers.raw)
        assert secret not in str(logs)
    if "content-length" in response.headers:
        assert int(response.headers["content-length"]) == len(response.content)


@pytest.mark.parametrize("routes", ROUTES)
@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("status", [400, 422, 502])
def test_a_vendor_echoing_the_keys_never_shows_them_to_the_client(
    tmp_path: Path, routes: dict[Dialect, Dialect], surface: Dialect, status: int
) -> None:
    """The backend's key, the other backend's and the gateway's keys echoed by the vendor:
    a client of either surface sees `[redacted]` in their place, relayed or translated."""
    with serving(tmp_path, routes) as (client, vendors), capture_logs() as logs:
        vendor = routes[surface]
        route = (
            vendors[vendor]
            .post(RUNS[vendor])
            .mock(return_value=echo(vendor, status, (*GATEWAY_KEYS, *UPSTREAM_KEYS.values())))
        )
        response = client.post(
            RUNS[surface],
            json=CREATE_BODY[surface],
            headers=client_headers(surface, GATEWAY_KEYS[0]),
        )
    assert route.calls.last.request.headers["authorization"] == f"Bearer {UPSTREAM_KEYS[vendor]}"
    assert response.status_code == (502 if status >= 500 else status)
    assert_no_secret(response, logs)


@pytest.mark.parametrize("surface", SURFACES)
def test_a_pure_proxy_never_relays_the_clients_own_key(tmp_path: Path, surface: Dialect) -> None:
    """A pure proxy forwards the client's key; the vendor's echo of it comes back redacted."""
    with serving(tmp_path, SAME, own_keys=False) as (client, vendors), capture_logs() as logs:
        vendors[surface].post(RUNS[surface]).mock(
            return_value=echo(surface, 400, (CLIENT_OWN_KEY,))
        )
        response = client.post(
            RUNS[surface],
            json=CREATE_BODY[surface],
            headers=client_headers(surface, CLIENT_OWN_KEY),
        )
    assert response.status_code == 400
    assert_no_secret(response, logs)


def answer_echoing(body: bytes, *, sent: str = "sk-sent-key-0042") -> httpx.Response:
    """A vendor's 400 with `body`, to a request that carried the key `sent`."""
    request = httpx.Request(
        "POST", "https://vendor.test/x", headers={"authorization": f"Bearer {sent}"}
    )
    return httpx.Response(
        400, content=body, headers={"content-length": str(len(body))}, request=request
    )


@pytest.mark.parametrize(
    "written",
    [
        pytest.param(b"sk-extend-scrub/4a9+", id="raw"),
        pytest.param(b"sk-extend-scrub\\/4a9+", id="json-escaped-slash"),
        pytest.param(b"sk-sent-key-0042", id="the-key-the-request-carried"),
    ],
)
def test_a_secret_is_scrubbed_in_the_forms_json_writes_it(written: bytes) -> None:
    """Raw, or with `/` escaped as some JSON encoders do; held or only sent: replaced, and
    the answer's Content-Length follows its new body."""
    scrubber = Scrubber(Secret(key) for key in UPSTREAM_KEYS.values())
    body = b'{"message": "echo: Bearer ' + written + b'"}'
    scrubbed = scrubber.response(answer_echoing(body))
    assert scrubbed.content == b'{"message": "echo: Bearer [redacted]"}'
    assert scrubbed.headers["content-length"] == str(len(scrubbed.content))
    assert scrubbed.request.headers["authorization"] == "Bearer sk-sent-key-0042"


def test_an_answer_without_a_secret_is_left_as_it_came() -> None:
    """Nothing to replace: the very same answer; a value too short to be a key (`k`) is not
    replaced anywhere."""
    answer = answer_echoing(b'{"ok": "kkk"}', sent="k")
    assert Scrubber().response(answer) is answer
