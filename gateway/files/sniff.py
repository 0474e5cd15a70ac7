"""The MIME type of a file, read from its first bytes, not from its name.

Pure: no I/O (the store hands it the head of an upload as it streams in). The content picks
the family: a format with a signature (PDF, PNG, JPEG, GIF, TIFF, WebP, BMP, ZIP, OLE2),
text, or unknown bytes. The name only refines within a family the content has already shown:
which Office format a ZIP or OLE2 container is when its first entries do not say, or CSV and
Markdown among plain text. A `.pdf` name on text is text; a `.txt` name on a PDF is a PDF.
Imports only the stdlib.
"""

from __future__ import annotations

import re

HEAD_BYTES = 8192  # what `sniff` is given: enough for every signature and a ZIP's first entries
UNKNOWN = "application/octet-stream"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"{\\rtf", "application/rtf"),
)
_PDF_WITHIN = 1024  # a PDF's header may follow a little junk (PDF 32000-1 §7.5.2, readers allow)
_ZIP = b"PK\x03\x04"
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# the part folders of Office Open XML packages, as their entries' names start
_OOXML_PARTS = ((b"word/", DOCX), (b"xl/", XLSX), (b"ppt/", PPTX))
_BY_EXTENSION = {
    "zip": {"docx": DOCX, "xlsx": XLSX, "pptx": PPTX},
    "ole2": {
        "doc": "application/msword",
        "xls": "application/vnd.ms-excel",
        "ppt": "application/vnd.ms-powerpoint",
    },
    "text": {
        "csv": "text/csv",
        "tsv": "text/tab-separated-values",
        "md": "text/markdown",
        "markdown": "text/markdown",
    },
}
_HTML = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)
# control characters that never occur in text (tab, newlines, form feed and escape do)
_BINARY_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
# the start of a JSON object or array: `[DRAFT] notes` is not one
_JSON_START = re.compile(r'\s*(\{\s*["}]|\[\s*[-0-9{\["tfn\]])')


def sniff(head: bytes, *, name: str = "", complete: bool = False) -> str:
    """The MIME type of a file whose first bytes are `head` (up to HEAD_BYTES; all of it
    when `complete`), named `name`."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    signed = _signature(head)
    if signed is not None:
        return signed
    if head.startswith(_ZIP):
        return _ooxml(head) or _BY_EXTENSION["zip"].get(extension, "application/zip")
    if head.startswith(_OLE2):
        return _BY_EXTENSION["ole2"].get(extension, "application/x-ole-storage")
    text = _as_text(head, complete=complete)
    if text is None:
        return UNKNOWN
    return _text_type(text, head, extension)


def _signature(head: bytes) -> str | None:
    if b"%PDF-" in head[:_PDF_WITHIN]:
        return PDF
    for magic, mime in _SIGNATURES:
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:2] == b"BM" and len(head) >= 14 and head[6:10] == b"\x00\x00\x00\x00":
        return "image/bmp"  # "BM" alone is too common a start of text; reserved bytes are 0
    return None


def _ooxml(head: bytes) -> str | None:
    """The Office Open XML format whose part folder comes first among the ZIP's entries."""
    found = [(at, mime) for part, mime in _OOXML_PARTS if (at := head.find(part)) >= 0]
    return min(found)[1] if found else None


def _as_text(head: bytes, *, complete: bool) -> str | None:
    """`head` as text, or None for binary: a BOM names UTF-16; otherwise UTF-8 (a character
    cut at the end of an incomplete head is not held against it) with no binary controls."""
    if head.startswith(_UTF16_BOMS):
        return head[: len(head) // 2 * 2].decode("utf-16", errors="replace")
    if _BINARY_CONTROL.search(head):
        return None
    try:
        return head.removeprefix(_UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        cut = not complete and exc.reason == "unexpected end of data"
        return head[: exc.start].decode("utf-8") if cut else None


def _text_type(text: str, head: bytes, extension: str) -> str:
    if _HTML.search(head):
        return "text/html"
    if text.lstrip().startswith("<?xml"):
        return "application/xml"
    if extension in _BY_EXTENSION["text"]:
        return _BY_EXTENSION["text"][extension]
    return "application/json" if _JSON_START.match(text) else "text/plain"
