"""Crosswalk's own files (gateway/files) as the vendor backends hand them on: found again by
id, named in errors as the client named them, read back under crosswalk's id, and whether a
vendor can fetch crosswalk's signed download links at all.

A run naming a stored file was checked against the caller's key when it was created
(gateway/service), so a backend finds the file whoever owns it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import msgspec

from gateway.backends.local.addresses import is_local_name, is_public, literal_address
from gateway.context import CallContext
from gateway.files.errors import FileNotFound
from gateway.files.records import FileRecord
from gateway.files.store import FileStore
from mappings import canonical

# names that never reach the internet: mDNS (RFC 6762), home networks (RFC 8375), and the
# private-use TLD ICANN reserved in 2024
_PRIVATE_SUFFIXES = (".local", ".home.arpa", ".internal")


def links_reach_vendors(public_url: str) -> bool:
    """Whether a vendor could fetch a download link under `public_url`: an https URL (Retab
    takes no other, contracts.md §4.1) whose host is neither this machine, a private network,
    nor a single-label or private-use name. Judged from the URL alone, with no DNS lookup:
    `[server] public_url` is the operator's statement of where clients reach the gateway."""
    parts = urlsplit(public_url)
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme != "https" or not host or is_local_name(host):
        return False
    address = literal_address(host)
    if address is not None:
        return is_public(address)
    return "." in host and not host.endswith(_PRIVATE_SUFFIXES)


async def stored_record(store: FileStore, document: canonical.StoredFileDocument) -> FileRecord:
    """The stored file `document` names; FileNotFound once it is deleted."""
    record = await store.find(document.file_id)
    if record is None:
        raise FileNotFound(f"File {document.file_id} not found.")
    return record


def stored_field(call: CallContext) -> str:
    """The request field that names a stored file, in the client's dialect."""
    return "file.id" if call.surface == "extend" else "document.id"


def with_stored_file(
    run: canonical.ClassificationRun, request: canonical.ClassifyRequest | None
) -> canonical.ClassificationRun:
    """`run` with crosswalk's id for the file it read, when its request named a stored file:
    the vendor knows only its own copy (hazard 13), the client only crosswalk's id."""
    document = None if request is None else request.document
    if not isinstance(document, canonical.StoredFileDocument) or run.file is None:
        return run
    return msgspec.structs.replace(run, file=msgspec.structs.replace(run.file, id=document.file_id))
