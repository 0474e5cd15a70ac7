"""`GET /crosswalk/comparisons` and `GET /crosswalk/report` (issue 12, "Report"), through the
in-process app over a real ledger whose comparisons were recorded as a shadow records them.

The constructed case, `extend` (side a, priced $0.01 a credit) against `local` (side b):

    doc     extend                   local
    d1.pdf  inv  (0.9, 2 cr, 100 ms) inv  (50 ms)
    d2.pdf  rec  (2 cr, 300 ms)      rec  (150 ms)
    d3.pdf  inv  (2 cr, 200 ms)      rec  (0.4, 250 ms)   <- the one disagreement
    d4.pdf  con  (2 cr, 400 ms)      failed (60 ms)

Compared 3, agreeing 2: 66.7 %. Marginals a: inv 2, rec 1; b: inv 1, rec 2, so
p_e = (2·1 + 1·2) / 9 = 4/9 and kappa = (6/9 - 4/9) / (5/9) = 0.400. Confusion (rows extend,
columns local; labels inv, rec): [1, 1] / [0, 1]. extend: p50 200 ms, p95 400 ms (nearest
rank over 4), $0.02 a document = $20.00 per 1,000; local is free; 1 of 4 failed: 25.0 %.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.config import ExtendBackendConfig, LocalBackendConfig, Settings
from gateway.store.base import owner_of
from gateway.store.comparison_records import ComparisonRecord
from gateway.store.sqlite import SqliteLedger
from tests.comparison_support import START, comparison, run, side, store
from tests.harness import GATEWAY_KEY, URLS, Gateway, MakeGateway, local_settings, secret_keys
from tests.test_compare_render import parse

KEY_A, KEY_B = GATEWAY_KEY, "gw-key-b"
OWNER_A = owner_of(KEY_A)


def case(owner: str = OWNER_A, prefix: str = "") -> list[ComparisonRecord]:
    """The four documents of the constructed case, one minute apart; `prefix` starts every
    id (a second copy of the case needs ids of its own)."""
    rows = [
        ("d1.pdf", ("inv", 0.9, 100.0), ("inv", None, 50.0)),
        ("d2.pdf", ("rec", None, 300.0), ("rec", None, 150.0)),
        ("d3.pdf", ("inv", None, 200.0), ("rec", 0.4, 250.0)),
        ("d4.pdf", ("con", None, 400.0), None),
    ]
    records = []
    for i, (filename, (a_key, a_conf, a_ms), local) in enumerate(rows):
        at = START + timedelta(minutes=i)
        primary = side(
            "extend",
            run(f"{prefix}e{i}", key=a_key, confidence=a_conf, credits=2.0),
            latency_ms=a_ms,
            started_at=at,
        )
        if local is None:
            other = side("local", None, latency_ms=60.0, error="upstream 503", started_at=at)
        else:
            l_key, l_conf, l_ms = local
            other = side(
                "local",
                run(f"{prefix}l{i}", key=l_key, confidence=l_conf),
                latency_ms=l_ms,
                started_at=at,
            )
        records.append(
            comparison(
                f"{prefix}cmp_{i}", primary, other, owner=owner, filename=filename, created_at=at
            )
        )
    return records


def settings_of(tmp_path: Path, *records: ComparisonRecord, keys: tuple[str, ...] = ()) -> Settings:
    """A gateway whose ledger already holds `records`: `extend` priced (never called: it
    has no key and no refresher), `local` free."""
    settings = local_settings(tmp_path, api_keys=keys)
    extend = ExtendBackendConfig(base_url=URLS["extend"], usd_per_credit=0.01, refresh_interval=0)
    settings = Settings(
        backends={"local": LocalBackendConfig(), "extend": extend},
        default_backend="local",
        api_keys=secret_keys(*keys),
        store_path=settings.store_path,
    )
    asyncio.run(seed(settings.store_path, records))
    return settings


async def seed(path: str, records: tuple[ComparisonRecord, ...]) -> None:
    async with await SqliteLedger.open(path) as ledger:
        for record in records:
            await store(ledger, record)


def no_upstream(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no upstream call expected, got {request.method} {request.url}")


def gateway(make_gateway: MakeGateway, settings: Settings) -> Gateway:
    return make_gateway(settings, {"extend": httpx.MockTransport(no_upstream)})


def crosswalk_error(response: httpx.Response, status: int, code: str) -> str:
    """crosswalk's own JSON error: exactly `code` and `message`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == code
    return str(body["message"])


@pytest.mark.parametrize("path", ["/crosswalk/comparisons", "/crosswalk/report"])
def test_both_endpoints_need_a_gateway_key(
    tmp_path: Path, make_gateway: MakeGateway, path: str
) -> None:
    """No key or a key not among `[auth]`'s is a 401 in crosswalk's JSON error; a configured
    key works as a Bearer token or as Retab's `Api-Key` header."""
    gw = gateway(make_gateway, settings_of(tmp_path, *case(), keys=(KEY_A, KEY_B)))
    assert "Not authenticated" in crosswalk_error(gw.http(None).get(path), 401, "UNAUTHORIZED")
    crosswalk_error(gw.http("not-a-key").get(path), 401, "UNAUTHORIZED")
    assert gw.http(KEY_A).get(path).status_code == 200
    assert gw.http(None).get(path, headers={"api-key": KEY_A}).status_code == 200


def test_without_configured_keys_any_key_sees_only_its_own(
    tmp_path: Path, make_gateway: MakeGateway
) -> None:
    """Open auth: any non-empty key is accepted, but scoped: another key's comparisons are
    not listed or reported to it, and its report says there are none yet."""
    gw = gateway(make_gateway, settings_of(tmp_path, *case(owner_of("someone"))))
    crosswalk_error(gw.http(None).get("/crosswalk/comparisons"), 401, "UNAUTHORIZED")
    mine = gw.http("someone").get("/crosswalk/comparisons").json()
    assert [c["id"] for c in mine["data"]] == ["cmp_0", "cmp_1", "cmp_2", "cmp_3"]
    other = gw.http("someone-else")
    assert other.get("/crosswalk/comparisons").json() == {
        "object": "list",
        "data": [],
        "has_more": False,
        "next": None,
    }
    page = parse(other.get("/crosswalk/report").text)
    assert "No comparisons yet" in page.by_id("no-comparisons").text
    assert page.by_id("disagreements").with_class("disagreement") == []


def test_a_comparison_is_listed_with_its_sides(tmp_path: Path, make_gateway: MakeGateway) -> None:
    """Each side: backend, status, the label in the caller's keys, confidence, latency,
    credits, error; and a link to the report of the comparison's backends."""
    gw = gateway(make_gateway, settings_of(tmp_path, *case(), keys=(KEY_A,)))
    listed = gw.http(KEY_A).get("/crosswalk/comparisons").json()["data"]
    first, last = listed[0], listed[3]
    assert (first["object"], first["status"], first["filename"]) == (
        "comparison",
        "completed",
        "d1.pdf",
    )
    assert first["report"] == "/crosswalk/report?backends=extend,local"
    assert first["sides"][0] == {
        "backend": "extend",
        "status": "completed",
        "label": "inv",
        "confidence": 0.9,
        "latency_ms": 100.0,
        "credits": 2.0,
        "error": None,
    }
    assert last["sides"][1] == {
        "backend": "local",
        "status": "failed",
        "label": None,
        "confidence": None,
        "latency_ms": 60.0,
        "credits": None,
        "error": "upstream 503",
    }


def test_comparisons_are_paged_and_filtered_by_date(
    tmp_path: Path, make_gateway: MakeGateway
) -> None:
    """`limit` pages oldest first, `next` is the following page's `after`; `since` keeps
    the comparisons created from that moment on."""
    http = gateway(make_gateway, settings_of(tmp_path, *case(), keys=(KEY_A,))).http(KEY_A)
    seen: list[str] = []
    pages = 0
    params: dict[str, str] = {"limit": "3"}
    while True:
        page = http.get("/crosswalk/comparisons", params=params).json()
        pages += 1
        seen += [c["id"] for c in page["data"]]
        assert page["has_more"] is (page["next"] is not None)
        if not page["has_more"]:
            break
        params = {"limit": "3", "after": page["next"]}
    assert (pages, seen) == (2, ["cmp_0", "cmp_1", "cmp_2", "cmp_3"])
    since = (START + timedelta(minutes=2)).isoformat()
    later = http.get("/crosswalk/comparisons", params={"since": since}).json()
    assert [c["id"] for c in later["data"]] == ["cmp_2", "cmp_3"]
    assert http.get("/crosswalk/comparisons", params={"since": "2027-01-01"}).json()["data"] == []


@pytest.mark.parametrize(
    ("path", "query", "message"),
    [
        ("/crosswalk/comparisons", "limit=0", "limit: expected a whole number from 1 to 1000"),
        ("/crosswalk/comparisons", "limit=1001", "limit: expected a whole number"),
        ("/crosswalk/comparisons", "after=x", "after: expected the `next` of a listing"),
        ("/crosswalk/comparisons", "since=tomorrow", "since: expected a date"),
        ("/crosswalk/comparisons", "limit=1&limit=2", "limit: given more than once"),
        ("/crosswalk/comparisons", "backends=a,b", "backends: unknown parameter"),
        ("/crosswalk/report", "backends=extend", "backends: expected two backend names"),
        ("/crosswalk/report", "since=2026-02-30", "since: expected a date"),
        ("/crosswalk/report", "limit=5", "limit: unknown parameter"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(
    tmp_path: Path, make_gateway: MakeGateway, path: str, query: str, message: str
) -> None:
    """A malformed, repeated or unknown parameter: 400 and crosswalk's JSON error."""
    http = gateway(make_gateway, settings_of(tmp_path, keys=(KEY_A,))).http(KEY_A)
    assert crosswalk_error(http.get(f"{path}?{query}"), 400, "INVALID_REQUEST").startswith(message)


def test_the_report_page_shows_the_constructed_case(
    tmp_path: Path, make_gateway: MakeGateway
) -> None:
    """The self-contained page: agreement, kappa, the heat map, latency and cost, and the
    one disagreement with both answers side by side."""
    http = gateway(make_gateway, settings_of(tmp_path, *case(), keys=(KEY_A,))).http(KEY_A)
    response = http.get("/crosswalk/report")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<script" not in response.text
    page = parse(response.text)
    headline = page.by_id("headline").text
    assert "extend (a) vs local (b)" in headline
    assert "66.7 % (2/3" in headline
    assert "0.400" in headline
    cells = [int(td.attrs["data-count"]) for td in page.by_id("confusion-matrix").find_all("td")]
    assert cells == [1, 1, 0, 1]
    rows = {
        r.find_all("td")[0].text: [td.text for td in r.find_all("td")]
        for r in page.by_id("backends").find_all("tr")
        if r.find_all("td")
    }
    assert rows["extend"] == ["extend", "4", "0", "0.0 %", "200 ms", "400 ms", "$20.00"]
    assert rows["local"] == ["local", "4", "1", "25.0 %", "150 ms", "250 ms", "$0.00"]
    (entry,) = page.by_id("disagreements").with_class("disagreement")
    assert entry.attrs["data-document"] == "d3.pdf"
    labels = [node.text for node in entry.with_class("label")]
    assert labels == ["inv", "rec"]


def test_the_report_compares_the_asked_backends_and_dates(
    tmp_path: Path, make_gateway: MakeGateway
) -> None:
    """`backends=b,a` swaps the sides; `since` leaves out older documents; a pair never
    compared is an empty report, not an error."""
    http = gateway(make_gateway, settings_of(tmp_path, *case(), keys=(KEY_A,))).http(KEY_A)
    swapped = parse(http.get("/crosswalk/report?backends=local,extend").text)
    assert "local (a) vs extend (b)" in swapped.by_id("headline").text
    since = (START + timedelta(minutes=2)).isoformat()
    later = parse(http.get("/crosswalk/report", params={"since": since}).text)
    assert "Documents2" in later.by_id("headline").text.replace(" ", "")
    never = parse(http.get("/crosswalk/report?backends=retab,local").text)
    assert "No comparisons yet" in never.by_id("no-comparisons").text
