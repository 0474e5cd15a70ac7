"""Hypothesis strategies for bad requests to either surface, and what every answer must be.

Bodies are the real create bodies of fixtures/wire, mutated field by field (dropped, retyped,
huge, odd unicode with lone surrogates escaped in JSON, NUL, invalid base64 and data URLs,
deep nesting), or random JSON or bytes; methods, paths, query strings and headers go wrong too.
Shared by tests/test_fuzz_surfaces.py and bench/fuzz.py. Every URL a body carries is a data URL
or a loopback one, so nothing generated here can make a backend dial the internet.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import httpx
from hypothesis import strategies as st

from tests.harness import wire_json

Surface = Literal["retab", "extend"]
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
KEY = "key-a"  # the one key the fuzzed gateways accept
EXTEND_VERSION = "2026-02-09"
SAFE_URL = "data:text/plain;base64,SW52b2ljZSB0b3RhbCBkdWU="


@dataclass(frozen=True)
class FuzzRequest:
    """One request to send: its surface says which dialect the answer must speak."""

    surface: Surface
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def send(self, client: httpx.Client) -> httpx.Response:
        return client.request(self.method, self.path, headers=self.headers, content=self.body)


def _safe_urls(value: Any) -> Any:
    """The seed with every http(s) URL made a data URL: a fuzzed body never leaves the host."""
    if isinstance(value, dict):
        return {k: _safe_urls(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_safe_urls(v) for v in value]
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return SAFE_URL
    return value


SEEDS: dict[Surface, tuple[Any, ...]] = {
    "retab": tuple(
        _safe_urls(wire_json(name))
        for name in (
            "retab_create_request.json",
            "retab_create_request_background.json",
            "retab_case_request_file_ref.json",
            "retab_case_request_duplicate_names.json",
        )
    ),
    "extend": tuple(
        _safe_urls(wire_json(name))
        for name in (
            "extend_classify_request.json",
            "extend_classify_runs_create_request.json",
            "extend_classify_runs_create_request_classifier.json",
            "extend_classify_runs_batch_request.json",
            "extend_case_request_full_config.json",
        )
    ),
}

# (method, path template); `{id}` is filled with a drawn id
ROUTES: dict[Surface, tuple[tuple[str, str], ...]] = {
    "retab": (
        ("POST", "/v1/classifications"),
        ("GET", "/v1/classifications"),
        ("GET", "/v1/classifications/{id}"),
        ("DELETE", "/v1/classifications/{id}"),
        ("POST", "/v1/classifications/{id}/cancel"),
        ("GET", "/v1/files"),
        ("GET", "/v1/files/{id}"),
        ("GET", "/v1/files/{id}/download-link"),
        ("POST", "/v1/files/upload"),
        ("POST", "/v1/files/upload/{id}/complete"),
        ("GET", "/v1/{id}"),
    ),
    "extend": (
        ("POST", "/classify"),
        ("POST", "/classify_runs"),
        ("GET", "/classify_runs"),
        ("GET", "/classify_runs/{id}"),
        ("DELETE", "/classify_runs/{id}"),
        ("POST", "/classify_runs/{id}/cancel"),
        ("POST", "/classify_runs/batch"),
        ("GET", "/batch_runs/{id}"),
        ("GET", "/files"),
        ("GET", "/files/{id}"),
        ("DELETE", "/files/{id}"),
        ("GET", "/classifiers"),
        ("GET", "/classifiers/{id}"),
        ("GET", "/classify_runs/{id}/{id}"),
    ),
}
CREATES: dict[Surface, tuple[str, ...]] = {
    "retab": ("/v1/classifications",),
    "extend": ("/classify", "/classify_runs", "/classify_runs/batch"),
}
QUERY_NAMES = (
    "limit", "before", "after", "order", "include_output", "fields", "pageSize",
    "nextPageToken", "status", "sortBy", "sortDir", "batchId", "classifierId", "x",
)  # fmt: skip

LONE_SURROGATES = st.sampled_from(["\ud800", "\udfff", "a\udc00b", "\ud83d"])
ODD_TEXT = st.one_of(
    st.text(st.characters(codec=None, exclude_categories=()), max_size=40),
    st.text(st.characters(categories=("Cc", "Cf", "Mn", "Zs", "So")), max_size=40),
    LONE_SURROGATES,
    st.just("\x00"),
    st.just("a\x00b"),
)
BAD_DATA_URLS = st.sampled_from(
    [
        "data:",
        "data:,",
        "data:text/plain;base64,@@@@",
        "data:text/plain;base64,SW5",
        "data:application/pdf;base64,JVBERi0x!",
        "data:;base64,",
        "data:text/plain;base64",
        "data:application/pdf;base64," + "A" * 4097,
        "data:image/png;base64,iVBORw0KGgo=",
        "ftp://127.0.0.1/a.pdf",
        "http://127.0.0.1:1/a.pdf",
        "http://[::1]:1/a.pdf",
        "file:///etc/passwd",
        "",
        "://",
    ]
)
IDS = st.one_of(
    st.sampled_from(["file_x", "cl_x", "run_x", "clr_x", "bpr_x", "..", "%2e%2e", "a" * 300]),
    st.text(max_size=30).map(lambda s: quote(s, safe="")),
)


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value, strings including the odd ones."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
        ODD_TEXT,
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def _deep(depth: int, leaf: Any) -> Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


def replacements() -> st.SearchStrategy[Any]:
    """What a mutated field becomes."""
    return st.one_of(
        json_values(6),
        ODD_TEXT,
        BAD_DATA_URLS,
        st.integers(min_value=1, max_value=20).map(lambda n: "x" * (n * 50_000)),
        st.integers(min_value=10, max_value=400).map(lambda d: _deep(d, 1)),
        st.sampled_from([[], {}, "", 0, -1, 1e308, True, None, [None], {"": None}]),
    )


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location inside a JSON value, the root first."""
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


def _set(value: Any, path: tuple[Any, ...], new: Any, *, drop: bool) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    if drop and not rest:
        del copy[head]
    else:
        copy[head] = _set(copy[head], rest, new, drop=drop)
    return copy


@st.composite
def mutated(draw: st.DrawFn, seed: Any) -> Any:
    """`seed` with one to three fields dropped, retyped or replaced by something hostile."""
    value = seed
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(_paths(value)))
        drop = bool(path) and draw(st.booleans())
        new = None if drop else draw(replacements())
        value = _set(value, path, new, drop=drop)
    return value


def encode(value: Any) -> bytes:
    """JSON text; lone surrogates go out escaped (`\\ud800`), as a hostile client sends them."""
    return json.dumps(value, ensure_ascii=True).encode()


def bodies(surface: Surface) -> st.SearchStrategy[bytes | None]:
    seeds = st.sampled_from(SEEDS[surface])
    return st.one_of(
        seeds.flatmap(mutated).map(encode),
        seeds.flatmap(mutated).map(encode),
        json_values().map(encode),
        st.binary(max_size=200),
        st.sampled_from([b"", b"{", b"[]", b"null", b'{"a":1}{', b"\xff\xfe", b"1e999999"]),
        st.none(),
    )


def auth_headers() -> st.SearchStrategy[dict[str, str]]:
    good = {"authorization": f"Bearer {KEY}"}
    bad = [
        {"api-key": KEY},
        {},
        {"authorization": "Bearer"},
        {"authorization": "Bearer "},
        {"authorization": f"Basic {KEY}"},
        {"authorization": "Bearer wrong-key"},
        {"authorization": f"bearer {KEY}"},
        {"authorization": f"Bearer {KEY}", "api-key": "other"},
        {"api-key": ""},
    ]
    return st.sampled_from([good] * 2 * len(bad) + bad)  # mostly past the door, to go deeper


def content_types() -> st.SearchStrategy[dict[str, str]]:
    return st.sampled_from(
        [
            {"content-type": "application/json"},
            {"content-type": "application/json"},
            {},
            {"content-type": "text/plain"},
            {"content-type": "application/json; charset=latin-1"},
            {"content-type": "multipart/form-data; boundary=x"},
            {"content-type": "multipart/form-data"},
            {"content-type": "application/x-www-form-urlencoded"},
            {"content-type": "\x7f"},
            {"content-type": ""},
        ]
    )


def version_headers(surface: Surface) -> st.SearchStrategy[dict[str, str]]:
    if surface == "retab":
        return st.just({})
    return st.sampled_from(
        [{"x-extend-api-version": EXTEND_VERSION}] * 9
        + [{}, {"x-extend-api-version": "2020-01-01"}, {"x-extend-api-version": "x\x01"}]
    )


def query_strings() -> st.SearchStrategy[str]:
    pair = st.tuples(
        st.sampled_from(QUERY_NAMES),
        st.one_of(
            st.sampled_from(["", "-1", "0", "1", "10", "1e3", "nan", "true", "99999999999999999"]),
            st.text(max_size=12),
        ),
    )
    return st.lists(pair, max_size=4).map(
        lambda pairs: "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in pairs)
    )


@st.composite
def requests(draw: st.DrawFn, surface: Surface) -> FuzzRequest:
    """One bad (or, now and then, good) request to `surface`."""
    method, template = draw(st.sampled_from(ROUTES[surface]))
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        method = draw(st.sampled_from(METHODS))
    path = template.replace("{id}", draw(IDS) or "x")
    if path in CREATES[surface] and draw(st.booleans()):
        method = "POST"
    query = draw(query_strings()) if method == "GET" else ""
    headers = {
        **draw(auth_headers()),
        **draw(content_types()),
        **draw(version_headers(surface)),
    }
    body = draw(bodies(surface)) if method in ("POST", "PUT", "PATCH") else None
    return FuzzRequest(surface, method, path + (f"?{query}" if query else ""), headers, body)


def _retab_envelope(body: Any) -> bool:
    return isinstance(body, dict) and set(body) == {"detail"}


def _extend_envelope(body: Any) -> bool:
    keys = {"code", "message", "retryable", "requestId"}
    return isinstance(body, dict) and keys <= set(body)


def _neutral_envelope(body: Any) -> bool:
    return isinstance(body, dict) and set(body) == {"code", "message"}


ENVELOPES: dict[Surface | None, Callable[[Any], bool]] = {
    "retab": _retab_envelope,
    "extend": _extend_envelope,
    None: _neutral_envelope,
}
EXTEND_PREFIXES = ("/classify", "/classify_runs", "/files", "/classifiers", "/batch_runs")


def _surface_of(path: str) -> Surface | None:
    """Whose path the server saw: a client resolves `..`, so it may not be the drawn one."""
    if path.startswith("/v1/"):
        return "retab"
    if any(path == p or path.startswith(p + "/") for p in EXTEND_PREFIXES):
        return "extend"
    return None


def problem(request: FuzzRequest, response: httpx.Response) -> str | None:
    """Why `response` is a wrong answer to `request`, or None when it is a fine one."""
    if response.status_code >= 500:
        return f"status {response.status_code}"
    if "Traceback" in response.text:
        return "a traceback in the body"
    if response.status_code < 400 or request.method == "HEAD":
        return None
    if not response.headers.get("x-request-id"):
        return "an error without x-request-id"
    try:
        body = response.json()
    except ValueError:
        return "an error body that is not JSON"
    surface = _surface_of(response.request.url.path)
    if not ENVELOPES[surface](body):
        return f"not the error envelope of {surface or 'the gateway'}"
    return None
