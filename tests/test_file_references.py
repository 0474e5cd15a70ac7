"""Durable references to stored files (`LinkSigner.reference`): unsigned and unexpiring,
recognised among document URLs as the file they name, and nothing else is taken for one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.files.signing import LinkSigner
from mappings.files import new_file_id

FILE = new_file_id(bytes(range(16)))
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_reference_names_its_file_for_good() -> None:
    now = [T0]
    links = LinkSigner(
        b"s" * 32, public_url="https://gw.test/prefix/", ttl=900, clock=lambda: now[0]
    )
    reference = links.reference(FILE)
    assert reference == f"https://gw.test/prefix/crosswalk/files/{FILE}"
    assert links.file_id_of(reference) == FILE
    now[0] = T0 + timedelta(days=365)
    assert links.file_id_of(reference) == FILE


def test_only_a_reference_itself_is_taken_for_one() -> None:
    """Another host or prefix, a query or fragment, or a download link's path without its
    signature name no file."""
    links = LinkSigner(b"s" * 32, public_url="https://gw.test/prefix", ttl=900)
    reference = links.reference(FILE)
    for other in (
        reference.replace("gw.test", "evil.test"),
        reference.replace("/prefix/", "/"),
        reference + "?expires=1",
        reference + "#top",
        reference + "/content",
        reference + "/",
        "https://gw.test/prefix/crosswalk/files/",
    ):
        assert links.file_id_of(other) is None, other
