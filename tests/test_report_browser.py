"""The comparison report opened in a real headless browser (issue 12): Debian's chromium,
installed by the test command when missing (tests/browser.py).

A gateway served on loopback holds the comparisons of tests/report_case.py (extend against
retab over 40 documents, 6 disagreements, agreement 32/38) in its ledger, under one gateway
key. Chromium loads `GET /crosswalk/report` over http://127.0.0.1 through a loopback server
that adds the key and records every path the browser asks for, and dumps the DOM it rendered,
which is parsed and walked: the confusion matrix's heat-map cells and their counts, the
disagreement list with both backends' labels, and the agreement figure. The page must load
nothing but itself: chromium resolves only loopback, the loopback server sees no request but
the page's (and the favicon every browser asks for), and no element of the rendered DOM points
at anything but a data: URL or a fragment. Then a 1280x2000 screenshot, checked as a PNG of
that size showing the heat map's darkest blue, is kept in `test-artifacts/report.png`; with
CROSSWALK_UPDATE_SCREENSHOT=1 it also becomes the README's `docs/report.png`.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from gateway.compare.reports import TITLE
from gateway.config import LocalBackendConfig, Settings
from gateway.store.base import owner_of
from tests.browser import INSTALL_TIMEOUT, chromium_command
from tests.harness import MakeGateway, secret_keys, vendor_backend
from tests.page_server import NOT_FOUND, Page, PageServer, serving_pages
from tests.report_case import BACKENDS, DISAGREEING, PRICES, comparisons, seed
from tests.test_compare_render import Node, parse

REPORT_PATH = "/crosswalk/report"
FAVICON = "/favicon.ico"  # asked for by the browser itself, whatever the page holds
ROOT = Path(__file__).parent.parent
ARTIFACT = ROOT / "test-artifacts" / "report.png"
README_SCREENSHOT = ROOT / "docs" / "report.png"
WIDTH, HEIGHT = 1280, 2000
HEAT = (37, 99, 235)  # the darkest heat-map cell: rgba(37, 99, 235, 1.00), render_html
CHROMIUM_SECONDS = 90

KEY = "gw-key"


def _settings(tmp_path: Path) -> Settings:
    """A gateway whose ledger holds the case under KEY's owner; extend and retab priced as the
    case is, never called (no vendor key, no refresher)."""
    settings = Settings(
        backends={
            "local": LocalBackendConfig(),
            "extend": vendor_backend("extend", usd_per_credit=PRICES["extend"], refresh_interval=0),
            "retab": vendor_backend("retab", usd_per_credit=PRICES["retab"], refresh_interval=0),
        },
        default_backend="local",
        api_keys=secret_keys(KEY),
        store_path=str(tmp_path / "crosswalk.db"),
    )
    asyncio.run(seed(settings.store_path, owner_of(KEY)))
    return settings


def _no_upstream(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no upstream call expected, got {request.method} {request.url}")


@pytest.fixture
def report_server(make_gateway: MakeGateway, tmp_path: Path) -> Iterator[PageServer]:
    """`GET /crosswalk/report` of a gateway served on loopback, through a recording loopback
    server that adds the gateway key (a browser's address bar cannot send one)."""
    transports = {name: httpx.MockTransport(_no_upstream) for name in BACKENDS}
    gateway = make_gateway(_settings(tmp_path), transports, served=True)
    client = gateway.http(KEY)

    def forward(path: str) -> Page:
        answer = client.get(path)
        return Page(answer.status_code, answer.headers["content-type"], answer.content)

    with serving_pages(forward) as server:
        yield server


def _chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        chromium_command(binary, profile, *args),
        capture_output=True,
        text=True,
        timeout=CHROMIUM_SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"chromium exited {done.returncode}:\n{done.stderr[-2000:]}"
    return done


def _dump_dom(binary: str, url: str, tmp_path: Path) -> Node:
    return parse(_chromium(binary, tmp_path / "profile", "--dump-dom", url).stdout)


URL_ATTRIBUTES = ("src", "href", "xlink:href", "srcset", "action", "formaction", "poster", "data")
FETCHING_TAGS = frozenset({"script", "iframe", "frame", "object", "embed", "link", "base"})
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")\s]*)|@import", re.IGNORECASE)


def external_references(root: Node) -> list[str]:
    """Every element or style of the DOM that could make the browser fetch something: a URL
    that is neither a data: URL nor a fragment, an @import, or a fetching element."""
    found = []
    for node in root.walk():
        if node.tag in FETCHING_TAGS:
            found.append(f"<{node.tag}>")
        for name in URL_ATTRIBUTES:
            value = node.attrs.get(name, "").strip()
            if value and not value.startswith(("data:", "#")):
                found.append(f"{node.tag}[{name}={value}]")
        styles = [node.attrs.get("style", "")] + (node.texts if node.tag == "style" else [])
        for style in styles:
            for match in CSS_URL.finditer(style):
                target = match.group(1)
                if target is None or not target.startswith(("data:", "#")):
                    found.append(f"{node.tag} style: {match.group(0)}")
    return found


def _cells(root: Node) -> dict[tuple[str, str], int]:
    """The confusion matrix as rendered: (row label, column label) -> the count shown."""
    matrix = root.by_id("confusion-matrix")
    (head,) = matrix.find_all("thead")
    columns = [th.text for th in head.find_all("th")][1:]
    (body,) = matrix.find_all("tbody")
    cells = {}
    for row in body.find_all("tr"):
        (label,) = row.find_all("th")
        counts = row.find_all("td")
        assert [c.attrs["data-count"] for c in counts] == [c.text for c in counts]
        assert all("cell" in c.attrs["class"].split() for c in counts)
        for column, cell in zip(columns, counts, strict=True):
            cells[label.text, column] = int(cell.text)
    return cells


def _expected_cells() -> dict[tuple[str, str], int]:
    pairs = Counter((c.a.label, c.b.label) for c in comparisons() if c.a.answered and c.b.answered)
    labels = sorted({label for pair in pairs for label in pair if label is not None})
    return {(a, b): pairs[a, b] for a in labels for b in labels}


@INSTALL_TIMEOUT
def test_the_report_renders_its_figures_in_a_real_browser(
    chromium: str, report_server: PageServer, tmp_path: Path
) -> None:
    """The heat map's counts, the disagreements with both labels and the agreement figure are
    in chromium's rendered DOM, and the page fetched nothing but itself."""
    dom = _dump_dom(chromium, report_server.url + REPORT_PATH, tmp_path)
    assert [h1.text for h1 in dom.find_all("h1")] == [TITLE]  # the gateway's own page

    cells = _cells(dom)
    assert cells == _expected_cells()
    assert cells["invoice", "invoice"] == 12
    assert cells["invoice", "receipt"] == 2
    assert sum(cells.values()) == 38
    heat = {
        cell.text: cell.attrs["style"] for cell in dom.by_id("confusion-matrix").with_class("cell")
    }
    assert "rgba(37, 99, 235, 1.00)" in heat["12"]  # the largest count, the darkest cell
    assert "rgba(37, 99, 235, 0.00)" in heat["0"]

    listed = dom.by_id("disagreements").with_class("disagreement")
    shown = {
        (
            item.attrs["data-document"],
            *(
                side.with_class("label")[0].text
                for side in (item.with_class("side-a")[0], item.with_class("side-b")[0])
            ),
        )
        for item in listed
    }
    assert shown == {(doc, a, b) for doc, a, b, *_ in DISAGREEING}
    names = [item.with_class("document")[0].text for item in listed]
    assert names == sorted(doc for doc, *_ in DISAGREEING)
    assert "Dear Ms Smith" in dom.by_id("disagreements").text

    terms = dom.by_id("headline").find_all("dt")
    values = dom.by_id("headline").find_all("dd")
    headline = {dt.text: dd.text for dt, dd in zip(terms, values, strict=True)}
    assert headline["Agreement"].startswith("84.2 % (32/38, 95 % CI ")
    assert headline["Documents"] == "40"

    assert external_references(dom) == []
    assert report_server.requested().count(REPORT_PATH) == 1
    assert set(report_server.requested()) <= {REPORT_PATH, FAVICON}


@INSTALL_TIMEOUT
def test_the_checks_see_a_page_that_fetches_something(chromium: str, tmp_path: Path) -> None:
    """The control: a page with a same-origin image and an external stylesheet is caught, by
    the loopback server's record and by the DOM walk."""
    page = Page(
        200,
        "text/html",
        b'<!DOCTYPE html><html><head><link rel="stylesheet" href="https://cdn.example/x.css">'
        b'</head><body><img src="/pixel.png"><div style="background: url(\'https://cdn.example'
        b"/bg.png')\">x</div></body></html>",
    )
    with serving_pages(lambda path: page if path == "/page" else NOT_FOUND) as server:
        dom = _dump_dom(chromium, server.url + "/page", tmp_path)
        assert "/pixel.png" in server.requested()
    found = external_references(dom)
    assert "<link>" in found
    assert "img[src=/pixel.png]" in found
    assert any("cdn.example/bg.png" in item for item in found)


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's signature and IHDR chunk (checked, not trusted)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    ihdr = data[8 + 8 : 8 + 8 + 13]
    assert zlib.crc32(data[12 : 12 + 4 + 13]) == int.from_bytes(data[29:33], "big")
    return int.from_bytes(ihdr[:4], "big"), int.from_bytes(ihdr[4:8], "big")


@INSTALL_TIMEOUT
def test_a_screenshot_of_the_report_is_kept(
    chromium: str, report_server: PageServer, tmp_path: Path
) -> None:
    """A 1280x2000 PNG of the rendered report, with many colours and the heat map's darkest
    blue in it, saved as test-artifacts/report.png (and docs/report.png when asked)."""
    shot = tmp_path / "report.png"
    _chromium(
        chromium,
        tmp_path / "profile",
        f"--screenshot={shot}",
        f"--window-size={WIDTH},{HEIGHT}",
        "--hide-scrollbars",
        report_server.url + REPORT_PATH,
    )
    data = shot.read_bytes()
    assert _png_size(data) == (WIDTH, HEIGHT)
    assert len(data) > 20_000, "a screenshot this small shows next to nothing"
    with Image.open(shot) as image:
        assert image.size == (WIDTH, HEIGHT)
        colours = image.convert("RGB").getcolors(maxcolors=WIDTH * HEIGHT) or []
    painted = {colour for _, colour in colours}
    assert len(painted) > 50, "the screenshot is (nearly) one colour"
    assert HEAT in painted, "the heat map's darkest cell is not in the screenshot"

    ARTIFACT.parent.mkdir(exist_ok=True)
    shutil.copyfile(shot, ARTIFACT)
    print(f"screenshot of the report: {ARTIFACT}")
    if os.environ.get("CROSSWALK_UPDATE_SCREENSHOT") == "1":
        README_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, README_SCREENSHOT)
        print(f"README screenshot updated: {README_SCREENSHOT}")
