"""Text extraction for the local backend, per format, and clean refusals."""

from __future__ import annotations

import pytest

from gateway.backends.local.extract import UndecodableDocument, extract_text, reads_linearly
from mappings.canonical import PageRange
from mappings.nesting import MAX_NESTING
from tests.pdfs import make_pdf, make_shared_stream_pdf


def test_plain_text_and_markdown_read_as_is() -> None:
    """Text and Markdown come back as written, as text/plain or text/markdown."""
    got = extract_text(b"# Invoice\nAmount due", mime_type="text/markdown", filename="a.md")
    assert got.text == "# Invoice\nAmount due"
    assert got.mime_type == "text/markdown"
    assert got.page_count == 1


def test_html_keeps_visible_text_only() -> None:
    """Scripts and styles are dropped, entities decoded, blocks on their own lines."""
    html = b"<html><head><style>p{}</style><script>var x=1</script></head>"
    html += b"<body><h1>Receipt</h1><p>Paid &amp; settled</p></body></html>"
    got = extract_text(html, mime_type="text/html", filename="r.html")
    assert got.text == "Receipt\nPaid & settled"


def test_json_flattens_keys_and_values() -> None:
    """JSON field names count as words, so `amount_due` reads as `amount due`."""
    got = extract_text(
        b'{"amount_due": 12, "lines": [{"item": "Bolts"}]}',
        mime_type="application/json",
        filename="x",
    )
    assert got.text == "amount due: 12\nitem: Bolts"


def test_csv_cells_become_lines() -> None:
    """Each CSV row becomes one line of its non-empty cells."""
    got = extract_text(
        b"Date,Description,Amount\n2026-01-02,Opening balance,100\n",
        mime_type="text/csv",
        filename="s.csv",
    )
    assert got.text.splitlines() == ["Date Description Amount", "2026-01-02 Opening balance 100"]


def test_pdf_pages_and_page_ranges() -> None:
    """PDF text is read page by page; page ranges limit what is read, not the page count."""
    pdf = make_pdf(["Purchase order 7", "Ship to: Dock 4", "Terms"])
    everything = extract_text(pdf, mime_type="application/pdf", filename="po.pdf")
    assert everything.page_count == 3
    assert "Purchase order 7" in everything.text
    assert "Terms" in everything.text
    first_two = extract_text(
        pdf, mime_type="application/pdf", filename="po.pdf", pages=(PageRange(start=1, end=2),)
    )
    assert "Ship to: Dock 4" in first_two.text
    assert "Terms" not in first_two.text


def test_type_is_sniffed_from_bytes_then_extension() -> None:
    """A PDF sent as octet-stream is still a PDF; an unknown MIME falls back to the extension."""
    pdf = extract_text(make_pdf(["Hello"]), mime_type="application/octet-stream", filename="blob")
    assert pdf.mime_type == "application/pdf"
    html = extract_text(b"<p>Hi</p>", mime_type="application/octet-stream", filename="page.html")
    assert html.text == "Hi"


def test_legacy_encoding_is_read() -> None:
    """Windows-1252 text (a café's receipt) is read rather than refused."""
    assert (
        "café"
        in extract_text("café".encode("cp1252"), mime_type="text/plain", filename="r.txt").text
    )


@pytest.mark.parametrize(
    ("data", "mime", "reason"),
    [
        pytest.param(b"", "text/plain", "empty", id="empty"),
        pytest.param(
            b"%PDF-1.4 garbage", "application/pdf", "could not be parsed", id="corrupt-pdf"
        ),
        pytest.param(b"hello", "application/pdf", "not a PDF", id="fake-pdf"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00", "image/png", "OCR", id="image"),
        pytest.param(b"\x00\x01\x02binary", "application/octet-stream", "binary", id="binary"),
        pytest.param(b"{not json", "application/json", "does not parse", id="bad-json"),
        pytest.param(b"PK\x03\x04", "application/zip", "unsupported", id="zip"),
        pytest.param(make_pdf([""]), "application/pdf", "no text layer", id="scan"),
    ],
)
def test_undecodable_documents_are_refused_cleanly(data: bytes, mime: str, reason: str) -> None:
    """Anything unreadable raises UndecodableDocument saying why, never a parser error."""
    with pytest.raises(UndecodableDocument, match=reason):
        extract_text(data, mime_type=mime, filename="doc")


FIVE_PAGES = make_pdf(["one", "two", "three", "four", "five"])


def test_a_pdf_with_more_pages_to_read_than_the_limit_is_refused() -> None:
    """`max_pages` counts the pages that would be read: all of them, or those asked for, and
    a refusal names the limit."""
    with pytest.raises(UndecodableDocument, match=r"has 5 pages, more than the 3 .*\(max_pages\)"):
        extract_text(FIVE_PAGES, mime_type="application/pdf", filename="a.pdf", max_pages=3)
    ranges = (PageRange(start=1, end=2), PageRange(start=4, end=9))
    with pytest.raises(UndecodableDocument, match="4 of the PDF's 5 pages were asked for"):
        extract_text(
            FIVE_PAGES, mime_type="application/pdf", filename="a.pdf", pages=ranges, max_pages=3
        )


def test_overlapping_and_outlying_ranges_count_each_page_once() -> None:
    """Ranges that overlap, touch or lie past the end add no pages to the count."""
    ranges = (
        PageRange(start=2, end=3),
        PageRange(start=1, end=2),
        PageRange(start=10**19, end=10**19 + 1),
    )
    got = extract_text(
        FIVE_PAGES, mime_type="application/pdf", filename="a.pdf", pages=ranges, max_pages=3
    )
    assert got.text.split() == ["one", "two", "three"]
    assert got.page_count == 5


def test_the_page_limit_is_checked_before_any_page_is_read() -> None:
    """A PDF over the limit is refused without reading a page, however slow its pages are."""
    slow = make_shared_stream_pdf(pages=40, lines=20_000)
    with pytest.raises(UndecodableDocument, match="max_pages"):
        extract_text(slow, mime_type="application/pdf", filename="a.pdf", max_pages=39)


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 1_000, 100_000])
def test_json_nested_too_deep_is_refused(depth: int) -> None:
    """Past MAX_NESTING levels JSON is undecodable, never a RecursionError (issue 9, item 4)."""
    for deep in (b"[" * depth + b"1" + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth):
        with pytest.raises(UndecodableDocument, match="nested more than 64 levels deep"):
            extract_text(deep, mime_type="application/json", filename="deep.json")


def test_json_as_deep_as_the_limit_is_read() -> None:
    """MAX_NESTING levels are flattened like any other JSON."""
    deep = b'{"a":' * MAX_NESTING + b'"x"' + b"}" * MAX_NESTING
    assert extract_text(deep, mime_type="application/json", filename="d.json").text == "a: x"


@pytest.mark.parametrize(
    ("data", "mime", "linear"),
    [
        pytest.param(b"plain", "text/plain", True, id="text"),
        pytest.param(b"[1]", "application/json", True, id="json"),
        pytest.param(b"a,b", "text/csv", True, id="csv"),
        pytest.param(b"\x89PNG", "image/png", True, id="refused-at-once"),
        pytest.param(b"<p>x</p>", "text/html", False, id="html"),
        pytest.param(make_pdf(["x"]), "application/octet-stream", False, id="pdf"),
    ],
)
def test_which_documents_read_in_linear_time(data: bytes, mime: str, linear: bool) -> None:
    """HTML and PDF can take far longer than their size suggests; the others cannot."""
    assert reads_linearly(data, mime, "doc") is linear
