"""The headers a download is served with: a name no header injection or odd character can
break, with the exact name kept for clients that read RFC 6266's `filename*`."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from gateway.surfaces.files import content_disposition


@pytest.mark.parametrize(
    ("name", "plain"),
    [
        ("invoice.pdf", "invoice.pdf"),
        ('Straße "Q1"\\x.pdf', "Stra_e _Q1__x.pdf"),
        ("a\r\nSet-Cookie: x=1", "a__Set-Cookie: x=1"),
        ("", "file"),
    ],
)
def test_the_name_is_quoted_safely_and_kept_exactly(name: str, plain: str) -> None:
    header = content_disposition(name)
    assert "\r" not in header
    assert "\n" not in header
    assert header.startswith(f"attachment; filename=\"{plain}\"; filename*=UTF-8''")
    assert unquote(header.split("filename*=UTF-8''", 1)[1]) == name
