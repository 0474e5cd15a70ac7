"""How a create names a file of crosswalk's own store (mappings), and when a vendor can be
handed a signed link to one instead of its bytes (gateway/backends/stored.py)."""

from __future__ import annotations

import msgspec
import pytest

from gateway.backends.stored import links_reach_vendors
from mappings import canonical, extend, retab
from mappings.errors import InvalidInput, UnsupportedFeature
from mappings.extend.requests import file_from_canonical
from mappings.notes import NoteTaker

FILE_ID = "file_xw1-AAAAAAAAAAAAAAAAAAAAAA"
CONFIG = {"classifications": [{"id": "a", "type": "A", "description": "A"}]}
LINK = f"http://127.0.0.1:8000/crosswalk/files/{FILE_ID}/content?expires=1&signature=s"


def own_link(url: str) -> str | None:
    """Crosswalk's link reader, as the gateway's `LinkSigner.file_id_of` answers for LINK."""
    return FILE_ID if url == LINK else None


def _retab(document: dict[str, str]) -> canonical.Document:
    body = {"document": document, "categories": [{"name": "invoice"}]}
    wire = msgspec.convert(body, retab.ClassificationRequest)
    return retab.request_to_canonical(wire, own_link=own_link)[0].document


def _extend(file: dict[str, object]) -> canonical.Document:
    body = {"file": file, "config": CONFIG}
    wire = msgspec.convert(body, extend.ClassifyRequest)
    return extend.request_to_canonical(wire, background=False, own_link=own_link)[0].document


def test_a_retab_file_ref_with_crosswalks_id_is_a_stored_file() -> None:
    ref = {"id": FILE_ID, "filename": "a.pdf", "mime_type": "application/pdf"}
    assert _retab(ref) == canonical.StoredFileDocument(
        file_id=FILE_ID, filename="a.pdf", mime_type="application/pdf"
    )


def test_a_retab_file_ref_with_a_vendor_id_stays_retabs() -> None:
    ref = {"id": "file_3c0a9f1e77b2d564", "filename": "a.pdf", "mime_type": "application/pdf"}
    assert isinstance(_retab(ref), canonical.FileRefDocument)


def test_crosswalks_own_plain_http_link_is_a_stored_file_for_retab_clients() -> None:
    """Retab refuses http:// document URLs, but not one of crosswalk's own links: what its
    SDK sends for a FileRef it resolved through crosswalk's download link."""
    assert _retab({"filename": "b.pdf", "url": LINK}) == canonical.StoredFileDocument(
        file_id=FILE_ID, filename="b.pdf"
    )
    with pytest.raises(UnsupportedFeature, match="https"):
        _retab({"filename": "b.pdf", "url": LINK.replace("signature=s", "signature=t")})


def test_extend_ids_and_links_of_crosswalk_are_stored_files() -> None:
    assert _extend({"id": FILE_ID}) == canonical.StoredFileDocument(file_id=FILE_ID)
    linked = _extend({"url": LINK, "name": "c.pdf", "settings": {"password": "pw"}})
    assert linked == canonical.StoredFileDocument(file_id=FILE_ID, filename="c.pdf", password="pw")
    assert _extend({"id": "file_xQ4nT8vB2mK6pR9sW3yZ7c"}) == canonical.FileRefDocument(
        vendor="extend", file_id="file_xQ4nT8vB2mK6pR9sW3yZ7c"
    )


def test_a_malformed_crosswalk_id_is_still_crosswalks() -> None:
    """A marked id never goes to a vendor as its own: the store answers it (a 404)."""
    assert _extend({"id": "file_xw1-short"}) == canonical.StoredFileDocument(
        file_id="file_xw1-short"
    )


def test_without_a_link_reader_a_link_is_an_ordinary_url() -> None:
    body = {"file": {"url": LINK}, "config": CONFIG}
    wire = msgspec.convert(body, extend.ClassifyRequest)
    document = extend.request_to_canonical(wire, background=False)[0].document
    assert document == canonical.UrlDocument(url=LINK)


def test_no_vendor_request_names_a_stored_file_by_crosswalks_id() -> None:
    """A backend hands a vendor its copy's id, a link or the bytes, never crosswalk's id."""
    stored = canonical.StoredFileDocument(file_id=FILE_ID)
    with pytest.raises(UnsupportedFeature):
        file_from_canonical(stored, notes=NoteTaker())
    request = canonical.ClassifyRequest(
        document=stored,
        config=canonical.RunConfig(categories=(canonical.Category(key=None, name="a"),)),
    )
    with pytest.raises(UnsupportedFeature):
        retab.request_from_canonical(request)


def test_a_password_goes_only_with_a_url() -> None:
    with pytest.raises(InvalidInput):
        _extend({"id": FILE_ID, "settings": {"password": "pw"}})


@pytest.mark.parametrize(
    ("public_url", "reachable"),
    [
        ("https://crosswalk.example.com", True),
        ("https://crosswalk.example.com/base/", True),
        ("https://93.184.215.14:8443", True),
        ("http://crosswalk.example.com", False),  # Retab takes https only
        ("http://127.0.0.1:8000", False),  # the default
        ("https://127.0.0.1", False),
        ("https://localhost", False),
        ("https://api.localhost", False),
        ("https://10.1.2.3", False),
        ("https://[::1]", False),
        ("https://gateway", False),  # a single label: an internal name
        ("https://crosswalk.local", False),
        ("https://crosswalk.corp.internal", False),
        ("https://nas.home.arpa", False),
    ],
)
def test_links_reach_vendors_only_from_a_public_https_url(public_url: str, reachable: bool) -> None:
    assert links_reach_vendors(public_url) is reachable
