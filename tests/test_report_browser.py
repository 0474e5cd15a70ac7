"""The comparison report opened in a real headless browser (issue 12): Debian's chromium,
installed by the test command when missing (tests/browser.py).

The page is `render_html` of a constructed case, served over http://127.0.0.1 at
`/crosswalk/report` by a loopback server that records what the browser asked for. Chromium
dumps the DOM it rendered, which is parsed and walked: the confusion matrix's heat-map cells
and their counts, the disagreement list with both backends' labels, and the agreement figure.
The page must load nothing but itself: chromium resolves only loopback, the loopback server
sees no request but the page's (and the favicon every browser asks for), and no element of the
rendered DOM points at anything but a data: URL or a fragment. Then a 1280x2000 screenshot,
checked as a PNG of that size showing the heat map's darkest blue, is kept in
`test-artifacts/report.png`; with CROSSWALK_UPDATE_SCREENSHOT=1 it also becomes the README's
`docs/report.png`.

The case, extend (a) against retab (b) over 40 documents, each with an expected label:

    32 agree: 12 invoice, 8 receipt, 6 contract, 6 letter
     6 disagree (extend, retab): invoice/receipt twice, receipt/invoice, contract/letter,
       letter/contract, invoice/contract
     2 fail on one side: extend on receipt-010.pdf, retab on letter-008.pdf

Compared 38, agreeing 32: agreement 32/38 = 84.2 %.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zlib
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from gateway.compare.figures import build_report
from gateway.compare.records import Answer, Comparison
from gateway.compare.render_html import render_html
from tests.browser import INSTALL_TIMEOUT, chromium_command
from tests.page_server import NOT_FOUND, Page, PageServer, serving_pages
from tests.test_compare_render import Node, parse

REPORT_PATH = "/crosswalk/report"
FAVICON = "/favicon.ico"  # asked for by the browser itself, whatever the page holds
ROOT = Path(__file__).parent.parent
ARTIFACT = ROOT / "test-artifacts" / "report.png"
README_SCREENSHOT = ROOT / "docs" / "report.png"
WIDTH, HEIGHT = 1280, 2000
HEAT = (37, 99, 235)  # the darkest heat-map cell: rgba(37, 99, 235, 1.00), render_html
CHROMIUM_SECONDS = 90
GENERATED = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)

AGREEING = {"invoice": 12, "receipt": 8, "contract": 6, "letter": 6}
# document, extend's label, retab's label, expected, extend's reasoning, retab's reasoning
DISAGREEING = [
    (
        "invoice-013.pdf",
        "invoice",
        "receipt",
        "invoice",
        "Itemised amounts with 'Amount due' and payment terms of 30 days.",
        "States a total paid in EUR and a transaction reference.",
    ),
    (
        "invoice-014.pdf",
        "invoice",
        "receipt",
        "receipt",
        "Has an invoice number and a VAT breakdown.",
        "Marked 'PAID' with the card's last four digits.",
    ),
    (
        "receipt-009.pdf",
        "receipt",
        "invoice",
        "receipt",
        "Thanks the customer for a payment already made.",
        "Lists line items, quantities and unit prices.",
    ),
    (
        "contract-007.pdf",
        "contract",
        "letter",
        "contract",
        "Two parties, clauses and signature blocks.",
        "Opens with 'Dear Ms Smith' and closes 'Sincerely'.",
    ),
    (
        "letter-007.pdf",
        "letter",
        "contract",
        "letter",
        "A personal letter confirming a meeting.",
        "Mentions an agreement and the parties' obligations.",
    ),
    (
        "invoice-015.pdf",
        "invoice",
        "contract",
        "invoice",
        "Bill for services rendered under a framework agreement.",
        "Refers to the terms of a master services agreement.",
    ),
]
# document, extend's label, retab's label (None: that side failed), expected
ONE_SIDED = [
    ("receipt-010.pdf", None, "receipt", "receipt"),
    ("letter-008.pdf", "letter", None, "letter"),
]
PRICES = {"extend": 0.01, "retab": 0.04}


def _answer(
    label: str | None, i: int, *, base: float, spread: int, credits: float, reasoning: str = ""
) -> Answer:
    # latencies and confidences spread out, the same on every run
    latency = base + (i * 37) % spread
    if label is None:
        return Answer(label=None, latency_ms=latency, failed=True, error="upstream 503")
    confidence = 0.45 + ((i * spread // 100) % 55) / 100
    return Answer(
        label=label,
        latency_ms=latency,
        confidence=confidence,
        credits=credits,
        reasoning=reasoning or None,
    )


def _pair(
    i: int, document: str, a: str | None, b: str | None, expected: str, why: tuple[str, str]
) -> Comparison:
    return Comparison(
        document=document,
        a=_answer(a, i, base=900.0, spread=700, credits=1.0, reasoning=why[0]),
        b=_answer(b, i, base=1400.0, spread=1100, credits=0.5, reasoning=why[1]),
        expected=expected,
    )


def _comparisons() -> list[Comparison]:
    rows: list[tuple[str, str | None, str | None, str, tuple[str, str]]] = []
    for label, count in AGREEING.items():
        rows += [
            (f"{label}-{n:03d}.pdf", label, label, label, ("", "")) for n in range(1, count + 1)
        ]
    rows += [
        (doc, a, b, expected, (why_a, why_b)) for doc, a, b, expected, why_a, why_b in DISAGREEING
    ]
    rows += [(doc, a, b, expected, ("", "")) for doc, a, b, expected in ONE_SIDED]
    return [_pair(i, *row) for i, row in enumerate(rows)]


def _page() -> bytes:
    report = build_report(_comparisons(), a="extend", b="retab", usd_per_credit=PRICES)
    title = "extend vs retab: 40 documents"
    return render_html(report, title=title, generated_at=GENERATED).encode()


@pytest.fixture
def report_server() -> Iterator[PageServer]:
    """The report at REPORT_PATH on a recording loopback server; every other path a 404."""
    page = Page(200, "text/html; charset=utf-8", _page())
    with serving_pages(lambda path: page if path == REPORT_PATH else NOT_FOUND) as server:
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
    pairs = Counter((c.a.label, c.b.label) for c in _comparisons() if c.a.answered and c.b.answered)
    labels = sorted({label for pair in pairs for label in pair if label is not None})
    return {(a, b): pairs[a, b] for a in labels for b in labels}


@INSTALL_TIMEOUT
def test_the_report_renders_its_figures_in_a_real_browser(
    chromium: str, report_server: PageServer, tmp_path: Path
) -> None:
    """The heat map's counts, the disagreements with both labels and the agreement figure are
    in chromium's rendered DOM, and the page fetched nothing but itself."""
    dom = _dump_dom(chromium, report_server.url + REPORT_PATH, tmp_path)

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
