"""Text out of a document's bytes: plain text, Markdown, HTML, JSON, CSV and PDF.

The real type is sniffed from the bytes first (a PDF says `%PDF-`), then the declared MIME
type, then the file extension, so a generic `application/octet-stream` upload still reads.
Anything that cannot be read raises `UndecodableDocument`, never a parser's own exception.
Nothing here bounds time: the runner reads whatever may be slow in an extractor process that
is killed at a deadline (pool.py).
"""

from __future__ import annotations

import csv
import io
import math
import mimetypes
import warnings
from html.parser import HTMLParser
from typing import Any

import msgspec
import pypdf

from mappings import canonical, nesting

CHARS_PER_PAGE = 3000  # a typed page, for counting pages of formats that have none
_KINDS_BY_MIME = {
    "application/pdf": "pdf",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/json": "json",
    "text/csv": "csv",
    "text/markdown": "text",
    "text/plain": "text",
}
_KINDS_BY_EXTENSION = {
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".csv": "csv",
    ".md": "text",
    ".markdown": "text",
    ".txt": "text",
}
_MIME_OF_KIND = {"pdf": "application/pdf", "html": "text/html", "json": "application/json"}
# readers whose time grows linearly with the bytes; html.parser can be quadratic (64 KiB of
# `<a ` takes it ~25 s) and pypdf's cost depends on the PDF's structure, not its size
_LINEAR_KINDS = frozenset({"text", "json", "csv"})


class UndecodableDocument(Exception):
    """The document's bytes are not something the local backend can read; says why."""


class Extracted(msgspec.Struct, frozen=True, kw_only=True):
    """A document's text, how many pages it has, and the type it was read as."""

    text: str
    page_count: int
    mime_type: str


def extract_text(
    data: bytes,
    *,
    mime_type: str,
    filename: str,
    pages: tuple[canonical.PageRange, ...] = (),
    password: str | None = None,
    max_pages: int | None = None,
) -> Extracted:
    """The text of `data`, limited to `pages` (1-based, inclusive; empty means all).

    A PDF with more than `max_pages` pages to read is refused rather than read in part.
    """
    if not data:
        raise UndecodableDocument("the document is empty")
    kind, declared = _kind(data, mime_type, filename)
    if kind == "pdf":
        return _pdf(data, pages, password, max_pages)
    text = _decode_text(data)
    match kind:
        case "html":
            body = _html(text)
        case "json":
            body = _json(text)
        case "csv":
            body = _csv(text)
        case _:
            body = text
    mime = _MIME_OF_KIND.get(kind, declared if declared.startswith("text/") else "text/plain")
    return _paged(body, pages, mime)


def reads_linearly(data: bytes, mime_type: str, filename: str) -> bool:
    """Whether reading `data` takes time in proportion to its size, whatever the bytes are;
    also true of what is refused at once, without parsing."""
    try:
        return _kind(data, mime_type, filename)[0] in _LINEAR_KINDS
    except UndecodableDocument:
        return True


def _kind(data: bytes, mime_type: str, filename: str) -> tuple[str, str]:
    declared = mime_type.split(";")[0].strip().lower()
    if data.startswith(b"%PDF-"):
        return "pdf", "application/pdf"
    if declared == "application/pdf":
        raise UndecodableDocument("declared application/pdf, but the bytes are not a PDF")
    if declared.startswith(("image/", "audio/", "video/")):
        raise UndecodableDocument(f"{declared} needs OCR or transcription, which it does not do")
    if declared in _KINDS_BY_MIME:
        return _KINDS_BY_MIME[declared], declared
    extension = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension in _KINDS_BY_EXTENSION:
        guessed = mimetypes.guess_type(filename)[0] or "text/plain"
        return _KINDS_BY_EXTENSION[extension], guessed
    if declared.startswith("text/") or declared in ("", "application/octet-stream"):
        return "text", "text/plain"
    raise UndecodableDocument(f"unsupported document type {declared}")


def _decode_text(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise UndecodableDocument("binary content, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    # a few stray bytes are a legacy encoding; many replacements mean it is not text at all
    if text.count("\ufffd") > len(text) // 100:
        raise UndecodableDocument("not valid text in UTF-8 or Windows-1252") from None
    return text


def _paged(text: str, pages: tuple[canonical.PageRange, ...], mime: str) -> Extracted:
    parts = text.split("\x0c") if "\x0c" in text else [text]
    count = len(parts) if len(parts) > 1 else max(1, math.ceil(len(text) / CHARS_PER_PAGE))
    if pages and len(parts) > 1:
        parts = [p for i, p in enumerate(parts, start=1) if _wanted(i, pages)]
    return Extracted(text="\n".join(parts), page_count=count, mime_type=mime)


def _wanted(page: int, pages: tuple[canonical.PageRange, ...]) -> bool:
    return any(r.start <= page <= r.end for r in pages)


def _pdf(
    data: bytes, pages: tuple[canonical.PageRange, ...], password: str | None, limit: int | None
) -> Extracted:
    # pypdf raises many exception types on hostile input; any of them means "undecodable"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = pypdf.PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(password or ""):
                raise UndecodableDocument("the PDF is encrypted and no valid password was given")
            count = len(reader.pages)
            wanted = _page_numbers(count, pages)
            _check_page_limit(count, wanted, limit)
            texts = [reader.pages[i - 1].extract_text() or "" for r in wanted for i in r]
    except UndecodableDocument:
        raise
    except Exception as exc:
        raise UndecodableDocument(f"the PDF could not be parsed ({type(exc).__name__})") from None
    text = "\n".join(texts).strip()
    if not text:
        raise UndecodableDocument("the PDF has no text layer (a scan?) and there is no OCR here")
    return Extracted(text=text, page_count=count, mime_type="application/pdf")


def _page_numbers(count: int, pages: tuple[canonical.PageRange, ...]) -> list[range]:
    """The pages of a `count`-page document that `pages` asks for, as disjoint ascending
    ranges: computed from the ranges, never by visiting a page count the file may inflate."""
    if not pages:
        return [range(1, count + 1)] if count else []
    merged: list[range] = []
    for r in sorted(pages, key=lambda r: r.start):
        start, end = max(1, r.start), min(count, r.end)
        if start > end:
            continue
        if merged and start <= merged[-1].stop:  # overlaps or touches the one before
            previous = merged.pop()
            start, end = previous.start, max(end, previous.stop - 1)
        merged.append(range(start, end + 1))
    return merged


def _check_page_limit(count: int, wanted: list[range], limit: int | None) -> None:
    # refused, not cut short: a run has nowhere to say which pages it left out, and the
    # caller can ask for a prefix itself (Retab `first_n_pages`, Extend `pageRanges`)
    reading = sum(len(r) for r in wanted)
    if limit is None or reading <= limit:
        return
    if reading == count:
        subject = f"the PDF has {count:,} pages"
    else:
        subject = f"{reading:,} of the PDF's {count:,} pages were asked for"
    raise UndecodableDocument(
        f"{subject}, more than the {limit:,} this backend reads (max_pages); "
        "ask for a page range within it"
    )


class _TextOfHtml(HTMLParser):
    """Visible text of an HTML page: scripts and styles dropped, blocks on their own lines."""

    _SKIP = frozenset({"script", "style", "noscript", "template"})
    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "title", "td"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _html(text: str) -> str:
    parser = _TextOfHtml()
    parser.feed(text)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _json(text: str) -> str:
    try:
        value = nesting.decode(text, object)
    except nesting.NestingTooDeep as exc:
        raise UndecodableDocument(f"the document is {exc}") from None
    except msgspec.DecodeError as exc:
        raise UndecodableDocument(f"declared JSON, but it does not parse: {exc}") from None
    lines: list[str] = []
    _walk(value, "", lines)
    return "\n".join(lines)


def _walk(value: Any, key: str, lines: list[str]) -> None:
    """Flatten JSON into `key: value` lines, so field names count as evidence too.

    Recursive, but no deeper than `nesting.MAX_NESTING`: the decoder refuses anything deeper."""
    if isinstance(value, dict):
        for k, v in value.items():
            _walk(v, str(k).replace("_", " "), lines)
    elif isinstance(value, list):
        for item in value:
            _walk(item, key, lines)
    elif value is not None:
        lines.append(f"{key}: {value}" if key else str(value))


def _csv(text: str) -> str:
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise UndecodableDocument(f"declared CSV, but it does not parse: {exc}") from None
    return "\n".join(" ".join(cell.strip() for cell in row if cell.strip()) for row in rows)
