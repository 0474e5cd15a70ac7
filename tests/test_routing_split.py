"""`[routing] split`: new runs weighed between backends, sticky per document (design.md §5).

Two local backends (`local`, `local_b`) stand for two vendors, so no vendor is needed: the
`crosswalk-backend` header names the one a create went to. The weights are checked on the pure
picker over thousands of seeded documents, the stickiness through both surfaces and across a
restart of the app.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
import pytest
import respx

from gateway.cli import describe, main
from gateway.config import ConfigError, LocalBackendConfig, Settings, resolve
from gateway.routing import document_key, pick
from mappings import canonical
from tests.batch_support import (
    CLASSIFIER,
    KEY,
    batch_runs,
    saved_classifiers,
    statuses_until_settled,
)
from tests.batch_support import HEADERS as BATCH_HEADERS
from tests.harness import (
    GATEWAY_KEY,
    URLS,
    MakeGateway,
    free_port,
    local_settings,
    mocked,
    mocked_vendors_settings,
    running,
    wire,
)

HEADERS = {"authorization": "Bearer key-a"}
EXTEND_HEADERS = {**HEADERS, "x-extend-api-version": "2026-02-09"}
SPLIT = {"local": 1, "local_b": 1}
LOCAL = LocalBackendConfig(allow_private_urls=True)  # document URLs name loopback only


def _inline(data: bytes) -> canonical.InlineDocument:
    return canonical.InlineDocument(data=data, filename="a.txt", mime_type="text/plain")


def _seeded_documents(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [document_key(_inline(rng.randbytes(64))) for _ in range(count)]


@pytest.mark.parametrize(
    "weights", [{"extend": 90, "retab": 10}, {"a": 1, "b": 1}, {"a": 5, "b": 3, "c": 2}]
)
def test_weights_hold_within_a_binomial_tolerance(weights: dict[str, int]) -> None:
    """Over 4,000 seeded documents each backend gets its share to within 4 sigma."""
    count = 4000
    seen = Counter(pick(weights, key) for key in _seeded_documents(count, seed=12))
    total = sum(weights.values())
    for name, weight in weights.items():
        p = weight / total
        sigma = math.sqrt(count * p * (1 - p))
        assert abs(seen[name] - count * p) <= 4 * sigma, (name, seen)


def test_a_weight_of_zero_is_never_picked() -> None:
    weights = {"a": 3, "off": 0, "b": 1}
    seen = Counter(pick(weights, key) for key in _seeded_documents(2000, seed=7))
    assert "off" not in seen
    assert set(seen) == {"a", "b"}


def test_the_order_the_weights_are_written_in_moves_no_document() -> None:
    keys = _seeded_documents(500, seed=3)
    forward = [pick({"a": 2, "b": 1, "c": 1}, k) for k in keys]
    assert forward == [pick({"c": 1, "b": 1, "a": 2}, k) for k in keys]


def test_the_document_key_is_a_stable_domain_separated_hash() -> None:
    """Not Python's hash() (salted per process): pinned values hold in every process, and a
    URL and the bytes that spell it are different documents, and a text is the bytes it
    encodes to (Extend's `file.text` and Retab's text/plain data URL of the same words)."""
    url = "https://docs.example.com/invoice.pdf"
    key = document_key(canonical.UrlDocument(url=url))
    assert key == document_key(canonical.UrlDocument(url=url, filename="other-name.pdf"))
    assert (
        key.hex()
        == hashlib.sha256(b"crosswalk/split/document/v1\x00url\x00" + url.encode()).hexdigest()
    )
    text = document_key(canonical.TextDocument(text=url))
    inline = document_key(_inline(url.encode()))
    assert text == inline
    assert key != inline
    assert len({pick({"a": 1, "b": 1}, k) for k in _seeded_documents(64, seed=1)}) == 2


def _resolve(routing: dict[str, Any], **backends: dict[str, Any]) -> Any:
    tables = backends or {"local": {"kind": "local"}, "local_b": {"kind": "local"}}
    return resolve({"backends": tables, "routing": routing}, {})


@pytest.mark.parametrize(
    ("split", "message"),
    [
        ({"local": 1, "nowhere": 1}, "routing.split.nowhere: unknown backend 'nowhere'"),
        ({"local": 1, "local_b": -1}, "routing.split.local_b: a weight is an integer from 0"),
        ({"local": 1, "local_b": 10**7}, "routing.split.local_b: a weight is an integer from 0"),
        ({"local": 0, "local_b": 0}, "routing.split: at least one backend needs a positive"),
        ({}, "routing.split: at least one backend needs a positive"),
        ({"local": 1.5}, "routing.split"),
        ({"local": "ten"}, "routing.split"),
    ],
)
def test_a_bad_split_is_a_config_error_naming_it(split: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        _resolve({"default": "local", "split": split})


def test_every_backend_a_split_can_pick_must_hold_its_key_for_foreign_clients() -> None:
    """A split on the Extend surface that can pick a Retab backend needs that backend's own
    key, as a default route there would; a surface with its own route is not split."""
    backends = {
        "local": {"kind": "local"},
        "retab": {"kind": "retab", "base_url": "https://api.retab.test"},
    }
    with pytest.raises(ConfigError, match=r"backends\.retab\.api_key_env: required"):
        _resolve({"default": "local", "split": {"local": 9, "retab": 1}}, **backends)
    # nor may Retab clients be split onto a pure proxy: its listings and batches would be
    # the vendor's, blind to the runs the split sent elsewhere
    routes = {"default": "local", "extend": "local", "split": {"local": 9, "retab": 1}}
    with pytest.raises(ConfigError, match="a pure proxy cannot be one of them"):
        _resolve(routes, **backends)
    keyed = {**backends, "retab": {**backends["retab"], "api_key_env": "RETAB_KEY"}}
    environ = {"RETAB_KEY": "sk-retab", "GW_KEYS": "gw"}
    raw = {"backends": keyed, "routing": routes, "auth": {"api_keys_env": "GW_KEYS"}}
    settings = resolve(raw, environ)
    assert settings.backends_for("extend") == ("local",)
    assert settings.backends_for("retab") == ("local", "retab")
    # a weight of 0 is never picked, so it needs no key
    _resolve({"default": "local", "split": {"local": 1, "retab": 0}}, **backends)


def test_a_split_that_never_applies_is_refused() -> None:
    """Both surfaces with routes of their own leave a split nothing to do: a mistake."""
    routes = {"default": "local", "retab": "local", "extend": "local_b"}
    with pytest.raises(ConfigError, match=r"routing\.split: never applies"):
        _resolve({**routes, "split": {"local": 1, "local_b": 1}})


def test_check_config_prints_the_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "crosswalk.toml"
    config.write_text(
        '[backends.local]\nkind = "local"\n[backends.local_b]\nkind = "local"\n'
        '[routing]\ndefault = "local"\nretab = "local_b"\nsplit = { local = 90, local_b = 10 }\n'
    )
    assert main(["check-config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "split (sticky per document): local=90 (90%), local_b=10 (10%)" in out
    assert "extend surface -> split (local translated, local_b translated)" in out
    assert "retab surface -> local_b (translated)" in out  # its own route wins
    assert "split" not in describe(_resolve({"default": "local"}))


def _retab(document: dict[str, str]) -> dict[str, Any]:
    categories = [{"name": "invoice"}, {"name": "letter"}]
    # in the background, as the Extend surface's creates are: a URL's fetch is not awaited
    return {"document": document, "categories": categories, "background": True}


def _extend(file: dict[str, str]) -> dict[str, Any]:
    classifications = [{"id": "invoice", "type": "invoice", "description": "A bill"}]
    return {"file": file, "config": {"classifications": classifications}}


def _data_url(data: bytes) -> str:
    return f"data:text/plain;base64,{base64.b64encode(data).decode()}"


def _two_locals(settings: Settings, config: LocalBackendConfig) -> Settings:
    return msgspec.structs.replace(settings, backends={"local": config, "local_b": config})


def _routed(http: Any, path: str, body: dict[str, Any], headers: dict[str, str]) -> str:
    response = http.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return str(response.headers["crosswalk-backend"])


def test_the_same_document_goes_to_the_same_backend_on_both_surfaces_and_after_a_restart(
    tmp_path: Path,
) -> None:
    """Inline bytes, URLs and texts: each always reaches the backend its hash picks, whichever
    surface sends it and after the app restarts; and both backends get some."""
    settings = _two_locals(local_settings(tmp_path, LOCAL, split=SPLIT), LOCAL)
    # a loopback port nothing listens on: routing never fetches, and a run's fetch fails at once
    urls = [f"https://127.0.0.1:{free_port()}/doc-{i}.txt" for i in range(12)]
    texts = [f"Invoice number {i}, total due" for i in range(12)]
    blobs = [f"Letter {i}: dear reader".encode() for i in range(12)]

    def route_all(http: Any) -> dict[str, list[str]]:
        retab_runs, extend_runs = "/v1/classifications", "/classify_runs"
        return {
            "url_retab": [
                _routed(http, retab_runs, _retab({"filename": "a.txt", "url": u}), HEADERS)
                for u in urls
            ],
            "url_extend": [
                _routed(http, extend_runs, _extend({"url": u}), EXTEND_HEADERS) for u in urls
            ],
            "text": [
                _routed(http, extend_runs, _extend({"text": t}), EXTEND_HEADERS) for t in texts
            ],
            "inline": [
                _routed(
                    http, retab_runs, _retab({"filename": "a.txt", "url": _data_url(b)}), HEADERS
                )
                for b in blobs
            ],
        }

    with running(settings) as client:
        first = route_all(client)
    with running(settings) as client:  # a restart over the same ledger
        again = route_all(client)

    assert first == again
    assert first["url_retab"] == first["url_extend"]
    expected = {
        "url_retab": [pick(SPLIT, document_key(canonical.UrlDocument(url=u))) for u in urls],
        "text": [pick(SPLIT, document_key(canonical.TextDocument(text=t))) for t in texts],
        "inline": [pick(SPLIT, document_key(_inline(b))) for b in blobs],
    }
    for kind, names in expected.items():
        assert first[kind] == names, kind
    assert set(first["url_retab"] + first["text"] + first["inline"]) == {"local", "local_b"}


def test_a_surface_with_its_own_route_is_not_split(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    settings = local_settings(tmp_path, split=SPLIT, surface_backends={"extend": "local"})
    settings = _two_locals(settings, LocalBackendConfig())
    http = make_gateway(settings).http()
    routed = {
        _routed(http, "/classify_runs", _extend({"text": f"memo {i}"}), EXTEND_HEADERS)
        for i in range(16)
    }
    assert routed == {"local"}


def test_a_relayed_create_is_split_by_the_document_it_names(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """On the Retab surface, split between a Retab backend and `local`: a document the split
    gives the Retab backend is relayed to it byte for byte (its body read only to pick), one
    it gives `local` is translated there, and a body crosswalk cannot read goes to the default
    for the vendor to judge."""
    split = {"local": 1, "retab": 1}
    upstream = respx.MockRouter(base_url=URLS["retab"], assert_all_called=False)
    created = wire("retab_create_response_201.json")
    upstream.post("/v1/classifications").respond(201, content=created)
    settings = mocked_vendors_settings(tmp_path, ["retab"], default="retab", split=split)
    backends = {**settings.backends, "local": LocalBackendConfig()}
    client = make_gateway.client(
        msgspec.structs.replace(settings, backends=backends), mocked({"retab": upstream})
    )
    headers = {"authorization": f"Bearer {GATEWAY_KEY}"}
    blobs = [f"Invoice {i}: total due".encode() for i in range(16)]
    relayed_bodies = []
    for blob in blobs:
        body = msgspec.json.encode(_retab({"filename": "a.txt", "url": _data_url(blob)}))
        response = client.post("/v1/classifications", content=body, headers=headers)
        picked = pick(split, document_key(_inline(blob)))
        assert response.headers["crosswalk-backend"] == picked
        if picked == "retab":
            assert response.content == created
            relayed_bodies.append(body)
    assert 0 < len(relayed_bodies) < len(blobs)
    assert [call.request.content for call in upstream.calls] == relayed_bodies

    odd = b'{"document": {"shape": "from a newer API"}, "categories": [{"name": "a"}]}'
    response = client.post("/v1/classifications", content=odd, headers=headers)
    assert response.headers["crosswalk-backend"] == "retab"
    assert upstream.calls.last.request.content == odd


def test_each_input_of_a_batch_goes_to_the_backend_its_document_picks(
    make_gateway: MakeGateway, tmp_path: Path
) -> None:
    """A batch under a split is fanned out input by input, each to the backend a single
    create of the same document goes to."""
    settings = local_settings(tmp_path, api_keys=(KEY,), classifiers=saved_classifiers())
    settings = msgspec.structs.replace(_two_locals(settings, LocalBackendConfig()), split=SPLIT)
    http = make_gateway(settings).http(None)
    texts = [f"Invoice number {i}, total due" for i in range(24)]
    inputs = [{"file": {"text": t}, "metadata": {"row": i}} for i, t in enumerate(texts)]
    body = {"classifier": {"id": CLASSIFIER}, "inputs": inputs}

    created = http.post("/classify_runs/batch", json=body, headers=BATCH_HEADERS)

    assert created.status_code == 200, created.text
    assert statuses_until_settled(http, created.json()["id"])[-1] == "PROCESSED"
    runs = batch_runs(http, created.json()["id"])
    assert len(runs) == len(texts)
    routed = {}
    for run in runs:
        got = http.get(f"/classify_runs/{run['id']}", headers=BATCH_HEADERS)
        routed[run["metadata"]["row"]] = got.headers["crosswalk-backend"]
    expected = [pick(SPLIT, document_key(canonical.TextDocument(text=t))) for t in texts]
    assert [routed[i] for i in range(len(texts))] == expected
    assert set(expected) == {"local", "local_b"}
    single = {"file": {"text": texts[0]}, "classifier": {"id": CLASSIFIER}}
    alone = http.post("/classify_runs", json=single, headers=BATCH_HEADERS)
    assert alone.headers["crosswalk-backend"] == expected[0]
