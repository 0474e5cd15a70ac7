"""What `bench.overhead` sends: each operation as crosswalk's client sends it, and as the
upstream call crosswalk makes for it, which the direct calls and the byte-forwarding proxies
(the minimal proxy, LiteLLM) send instead.

crosswalk gets one vendor backend pointing at the mock (`--backend retab` or `extend`) with a
dummy key: that vendor's own surface is pass-through, the other surface is translated. Every
body is a fixture of `fixtures/wire/`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from bench.load import Request

WIRE = Path(__file__).resolve().parent.parent / "fixtures" / "wire"
GATEWAY_KEY = "bench-gateway-key"
VENDOR_KEY = "bench-dummy-vendor-key"
KEYS_ENV = "BENCH_GATEWAY_KEYS"
VENDOR_KEY_ENV = "BENCH_VENDOR_KEY"
JSON = {"content-type": "application/json"}
RETAB = {"authorization": f"Bearer {GATEWAY_KEY}"}
EXTEND = {"authorization": f"Bearer {GATEWAY_KEY}", "x-extend-api-version": "2026-02-09"}
BACKENDS = ("retab", "extend")


@dataclass(frozen=True)
class Operation:
    """One measured operation: `gateway` is sent to crosswalk (its `{id}` the seeded run's),
    `upstream` to the direct mock and to the byte-forwarding proxies."""

    name: str
    translated: bool
    gateway: Request
    upstream: Request
    seed: Request | None = None  # the create whose run a get reads

    def seeded(self, run_id: str) -> Operation:
        return replace(
            self, gateway=replace(self.gateway, path=self.gateway.path.format(id=run_id))
        )


def _body(name: str) -> bytes:
    return (WIRE / name).read_bytes()


def _retab_create(body: bytes) -> Request:
    return Request("POST", "/v1/classifications", {**RETAB, **JSON}, body)


def _retab_url_body() -> bytes:
    """A Retab create naming its document by URL, as Extend takes it in one call (Retab's
    surface asks for https; the mock never fetches it)."""
    return _body("retab_case_request_http_url.json").replace(b'"http://', b'"https://')


def _extend_classify() -> Request:
    return Request("POST", "/classify", {**EXTEND, **JSON}, _body("extend_classify_request.json"))


def operations(backend: str) -> tuple[Operation, ...]:
    """Pass-through get, translated get and translated create over a `backend` backend."""
    if backend == "retab":
        create = _retab_create(_body("retab_create_request.json"))
        return (
            Operation(
                "pass-through get",
                False,
                Request("GET", "/v1/classifications/{id}", RETAB),
                Request("GET", "/v1/classifications/cls_bench", RETAB),
                seed=create,
            ),
            Operation(
                "translated get",
                True,
                Request("GET", "/classify_runs/{id}", EXTEND),
                Request("GET", "/v1/classifications/cls_bench?include_output=true", RETAB),
                seed=_extend_classify(),
            ),
            Operation("translated create", True, _extend_classify(), create),
        )
    create = _retab_create(_retab_url_body())
    return (
        Operation(
            "pass-through get",
            False,
            Request("GET", "/classify_runs/{id}", EXTEND),
            Request("GET", "/classify_runs/clr_bench", EXTEND),
            seed=_extend_classify(),
        ),
        Operation(
            "translated get",
            True,
            Request("GET", "/v1/classifications/{id}", RETAB),
            Request("GET", "/classify_runs/clr_bench", EXTEND),
            seed=create,
        ),
        Operation("translated create", True, create, _extend_classify()),
    )


def seed(base_url: str, operation: Operation) -> Operation:
    """The operation with its run created through the gateway at `base_url` first."""
    if operation.seed is None:
        return operation
    sent = operation.seed
    answer = httpx.request(
        sent.method, base_url + sent.path, headers=dict(sent.headers), content=sent.body, timeout=30
    )
    if answer.status_code >= 300:
        raise RuntimeError(f"seeding {operation.name}: {answer.status_code} {answer.text[:300]}")
    return operation.seeded(answer.json()["id"])


def crosswalk_config(backend: str, mock_url: str, directory: Path) -> str:
    """A crosswalk config: one `backend` backend on the mock, gateway keys required (it
    spends a vendor key), its ledger in `directory`."""
    return f"""\
[auth]
api_keys_env = "{KEYS_ENV}"

[backends.vendor]
kind = "{backend}"
base_url = "{mock_url}"
api_key_env = "{VENDOR_KEY_ENV}"

[routing]
default = "vendor"

[store]
url = "sqlite:///{directory}/crosswalk.db"
"""


def crosswalk_env() -> dict[str, str]:
    return {KEYS_ENV: GATEWAY_KEY, VENDOR_KEY_ENV: VENDOR_KEY}
