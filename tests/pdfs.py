"""Small, valid PDFs with a real text layer, built in memory for tests."""

from __future__ import annotations

import zlib
from collections.abc import Callable


def make_pdf(pages: list[str]) -> bytes:
    """A PDF with one page per string, each drawn in Helvetica so text extraction finds it."""
    objects = _document(len(pages))
    for i, text in enumerate(pages):
        lines = "".join(
            f"BT /F1 12 Tf 72 {720 - 16 * n} Td ({_escape(line)}) Tj ET\n"
            for n, line in enumerate(text.splitlines())
        ).encode()
        objects.append(_page(5 + 2 * i))
        objects.append(b"<< /Length %d >>\nstream\n" % len(lines) + lines + b"endstream")
    return _serialized(objects)


def make_shared_stream_pdf(pages: int, lines: int) -> bytes:
    """A PDF whose `pages` pages all draw one compressed stream of `lines` lines of text: a
    few KB on disk that a reader parses again for every page, so reading it is slow."""
    content = b"BT /F1 12 Tf 72 700 Td (Invoice total due) Tj ET\n" * lines
    stream = zlib.compress(content, 9)
    objects = _document(pages, kid=lambda i: 5 + i)
    objects.append(
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"endstream"
    )
    objects += [_page(4) for _ in range(pages)]
    return _serialized(objects)


def _document(pages: int, kid: Callable[[int], int] = lambda i: 4 + 2 * i) -> list[bytes]:
    """The catalog, the page tree (page `i` is object `kid(i)`) and the font, objects 1-3."""
    kids = " ".join(f"{kid(i)} 0 R" for i in range(pages))
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]


def _page(contents: int) -> bytes:
    return (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % contents
    )


def _serialized(objects: list[bytes]) -> bytes:
    """Numbered objects (from 1), the cross-reference table and the trailer."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
