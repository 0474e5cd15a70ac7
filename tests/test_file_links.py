"""Signed download links (gateway/files/signing.py): good until they expire, refused once
any part is changed, recognised among document URLs, and signed with one secret per
deployment that every process shares."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.files.signing import LinkSigner, SecretFileError, load_or_create_secret
from mappings.files import new_file_id

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FILE = new_file_id(bytes(range(16)))
OTHER = new_file_id(bytes(16))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def signer(clock: Clock, secret: bytes = b"s" * 32, base: str = "https://gw.test") -> LinkSigner:
    return LinkSigner(secret, public_url=base, ttl=900, clock=clock)


def parts(url: str) -> tuple[str, str]:
    query = parse_qs(urlsplit(url).query)
    return query["expires"][0], query["signature"][0]


def test_a_link_works_until_it_expires() -> None:
    """Fifteen minutes from when it was made, to the second; not one second after."""
    clock = Clock()
    links = signer(clock)
    link = links.link(FILE)
    expires, signature = parts(link.url)
    assert link.url.startswith(f"https://gw.test/crosswalk/files/{FILE}/content?")
    assert link.expires_at == T0 + timedelta(minutes=15)
    assert links.valid(FILE, expires, signature)
    clock.now = T0 + timedelta(minutes=15) - timedelta(seconds=1)
    assert links.valid(FILE, expires, signature)
    clock.now = T0 + timedelta(minutes=15)
    assert not links.valid(FILE, expires, signature)


def test_a_changed_link_is_refused() -> None:
    """Another file, a later expiry, an altered signature, another deployment's secret, or
    a missing part: all refused."""
    clock = Clock()
    links = signer(clock)
    expires, signature = parts(links.link(FILE).url)
    later = str(int(expires) + 3600)
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert not links.valid(OTHER, expires, signature)
    assert not links.valid(FILE, later, signature)
    assert not links.valid(FILE, expires, flipped)
    assert not signer(clock, secret=b"t" * 32).valid(FILE, expires, signature)
    for expires_given, signature_given in [(None, signature), (expires, None), ("1e9", signature)]:
        assert not links.valid(FILE, expires_given, signature_given)
    assert not links.valid(FILE, "9" * 12, signature)  # far future, not a crash


def test_own_links_are_recognised_among_document_urls() -> None:
    """A valid link of this deployment names its file; any other URL names none."""
    clock = Clock()
    links = signer(clock, base="https://gw.test/prefix/")
    url = links.link(FILE).url
    assert url.startswith("https://gw.test/prefix/crosswalk/files/")
    assert links.file_id_of(url) == FILE
    assert links.file_id_of(url.replace("https://gw.test", "https://evil.test")) is None
    assert links.file_id_of(url.replace("/prefix/", "/")) is None
    assert links.file_id_of(url.replace("signature=", "signature=x")) is None
    assert links.file_id_of(url + "&expires=1") is None
    assert links.file_id_of("https://gw.test/prefix/v1/files") is None
    clock.now = T0 + timedelta(hours=1)
    assert links.file_id_of(url) is None


def test_the_secret_is_made_once_private_and_shared(tmp_path: Path) -> None:
    """Made with mode 0600 on first use; every later call (another process, a restart)
    reads the same one, even when several start at once."""
    path = tmp_path / "ledger.db-files-key"
    with ThreadPoolExecutor(8) as pool:
        secrets = set(pool.map(lambda _: load_or_create_secret(path), range(16)))
    assert len(secrets) == 1
    assert len(secrets.pop()) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no candidates left


def test_a_corrupt_secret_file_is_an_error_not_a_new_secret(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text("not hex")
    with pytest.raises(SecretFileError, match="64 hex digits"):
        load_or_create_secret(path)
