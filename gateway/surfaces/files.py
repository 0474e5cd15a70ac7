"""What every file surface shares: the file store's provider, the body limit of an upload
route, and a stored file's bytes as a streamed download."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

from litestar.datastructures import State
from litestar.response import Stream

from gateway.config import FilesConfig
from gateway.files.records import FileRecord
from gateway.files.store import FileStore

# room in an upload's body for what surrounds the file: part headers, boundaries, small fields
FORM_OVERHEAD_BYTES = 64 * 1024


async def provide_file_store(state: State) -> FileStore:
    """The app's file store (opened in its lifespan)."""
    store: FileStore = state.files
    return store


def upload_body_limit(files: FilesConfig) -> int:
    """The most an upload route reads: the file limit and its form's overhead. The file's
    own limit is checked exactly as it streams in (`Upload.write`)."""
    return files.max_bytes + FORM_OVERHEAD_BYTES


def download(record: FileRecord, chunks: AsyncIterator[bytes]) -> Stream:
    """The file's bytes (`FileStore.stream`) as a streamed response, typed and named."""
    headers = {
        "content-length": str(record.file.size),
        "content-disposition": content_disposition(record.file.name),
        "cache-control": "private, no-store",
        "x-content-type-options": "nosniff",
    }
    return Stream(chunks, media_type=record.file.mime_type, headers=headers)


def content_disposition(name: str) -> str:
    """`attachment` with the name: an ASCII fallback, and the exact name per RFC 6266."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"attachment; filename=\"{fallback or 'file'}\"; filename*=UTF-8''{quote(name, safe='')}"
