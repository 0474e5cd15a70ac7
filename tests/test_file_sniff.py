"""MIME types read from content (gateway/files/sniff.py): the bytes pick the family, a name
only refines within it, and the module stays pure."""

from __future__ import annotations

import ast
import io
import zipfile
from pathlib import Path

import pytest

from gateway.files.sniff import DOCX, PDF, PPTX, UNKNOWN, XLSX, sniff
from tests.pdfs import make_pdf
from tests.test_pure_imports import PURE_STDLIB

SNIFF = Path(__file__).resolve().parent.parent / "gateway" / "files" / "sniff.py"


def office(first_part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr(first_part, "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        (make_pdf(["x"]), "notes.txt", PDF),
        (b"\r\n%PDF-1.7\n", "", PDF),  # a little junk before the header, as readers allow
        (b"\x89PNG\r\n\x1a\n" + bytes(16), "a.pdf", "image/png"),
        (b"\xff\xd8\xff\xe0" + bytes(16), "", "image/jpeg"),
        (b"GIF89a" + bytes(8), "", "image/gif"),
        (b"II*\x00" + bytes(8), "", "image/tiff"),
        (b"MM\x00*" + bytes(8), "", "image/tiff"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "", "image/webp"),
        (office("word/document.xml"), "x.bin", DOCX),
        (office("xl/workbook.xml"), "", XLSX),
        (office("ppt/presentation.xml"), "", PPTX),
        (office("other/thing.xml"), "report.docx", DOCX),  # the name refines a ZIP
        (office("other/thing.xml"), "report.pdf", "application/zip"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "a.txt", "text/html"),
        (b"  <html lang=en><p>x", "", "text/html"),
        (b'<?xml version="1.0"?><invoice/>', "", "application/xml"),
        (b'{"total": 12}', "data.txt", "application/json"),
        (b"[1, 2, 3]", "", "application/json"),
        (b"[DRAFT] meeting notes", "notes", "text/plain"),
        (b"a,b\n1,2\n", "table.csv", "text/csv"),
        (b"# Title\n\ntext", "readme.md", "text/markdown"),
        (b"Invoice total: 12 EUR\n", "invoice.pdf", "text/plain"),
        ("Grüße, Straße".encode(), "", "text/plain"),
        (b"\xef\xbb\xbfbom text", "", "text/plain"),
        ("caf\u00e9".encode()[:-1], "", "text/plain"),  # a character cut at the head's end
        (b"\x00\x01\x02\x03binary", "a.txt", UNKNOWN),
        (b"abc\xfd\xfe not utf-8", "", UNKNOWN),
        (b"\xff\xfeh\x00i\x00", "", "text/plain"),  # UTF-16 with its BOM
    ],
)
def test_the_type_comes_from_the_content(head: bytes, name: str, expected: str) -> None:
    assert sniff(head, name=name) == expected


def test_a_cut_character_counts_against_a_complete_file() -> None:
    """When the head is the whole file, invalid UTF-8 at its end is not text."""
    assert sniff("caf\u00e9".encode()[:-1], complete=True) == UNKNOWN


def test_sniffing_is_pure() -> None:
    """The sniffer imports only pure stdlib modules (tests/test_pure_imports.py's list)."""
    imported = set()
    for node in ast.walk(ast.parse(SNIFF.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert imported <= PURE_STDLIB, imported - PURE_STDLIB
