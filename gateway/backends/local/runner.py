"""Turns a canonical request into a finished run with the offline engine.

Loading (inline bytes, text, a fetched URL, or a file of crosswalk's store read from disk),
extraction and classification. Extraction of anything that may be slow runs in the extraction
pool, where a deadline can stop it; classification, linear in the text, runs in a worker
thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import anyio
import httpx
import msgspec

from gateway.backends.local.classifier import classify
from gateway.backends.local.extract import Extracted, UndecodableDocument, reads_linearly
from gateway.backends.local.extract_process import Job, extract_job
from gateway.backends.local.fetch import FetchFailed, FetchRefused, fetch_document
from gateway.backends.local.pool import ExtractionPool
from gateway.clock import Clock, system_clock
from gateway.config import LocalBackendConfig
from gateway.files.records import FileRecord
from gateway.files.store import FileStore
from mappings import canonical

USAGE_UNIT = "local_credits"
# documents up to this size whose readers are linear (text, JSON, CSV) are read on the event
# loop: JSON and CSV take ~5 ms per 64 KiB, so ~10 ms at worst, and no extractor is started for
# them; PDFs, HTML and anything larger go to the pool, where the deadline applies
INLINE_MAX_BYTES = 128 * 1024


class DocumentProblem(Exception):
    """The document cannot be read; `code` says why in Retab's UPPER_SNAKE style."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Loaded(msgspec.Struct, frozen=True, kw_only=True):
    """Document bytes with the name and type they came with.

    A large file of crosswalk's store is not read here: `path` names it, and the extraction
    pool reads it (`data` is then empty). `stored` is that file's record, `password` what
    unlocks the document.
    """

    data: bytes
    filename: str
    mime_type: str
    path: str | None = None
    password: str | None = None
    stored: FileRecord | None = None


def file_id(data: bytes) -> str:
    """Retab-style content id: `file_` + 16 hex of blake2b (contracts.md §2.2)."""
    return "file_" + hashlib.blake2b(data, digest_size=8).hexdigest()


def guess_mime(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


class LocalEngine:
    """Runs classifications for one local backend."""

    def __init__(
        self,
        config: LocalBackendConfig,
        client: httpx.AsyncClient,
        pool: ExtractionPool,
        *,
        files: FileStore | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self._config = config
        self._client = client
        self._pool = pool
        self._files = files
        self._clock = clock

    @asynccontextmanager
    async def paced(self) -> AsyncIterator[None]:
        """Take at least `min_run_seconds`, to emulate a vendor's latency when asked to."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        yield
        left = self._config.min_run_seconds - (loop.time() - started)
        if left > 0:
            await asyncio.sleep(left)

    async def load(self, document: canonical.Document) -> Loaded:
        """The document's bytes; URLs are fetched within the configured limits, files of
        crosswalk's store read from disk (never over the network)."""
        match document:
            case canonical.InlineDocument(data=data, filename=name, mime_type=mime):
                return Loaded(data=data, filename=name, mime_type=mime)
            case canonical.TextDocument(text=text, filename=name):
                return Loaded(
                    data=text.encode(), filename=name or "document.txt", mime_type="text/plain"
                )
            case canonical.UrlDocument(url=url, filename=name, password=password):
                return msgspec.structs.replace(await self._fetch(url, name), password=password)
            case canonical.StoredFileDocument():
                return await self._stored(document)
            case canonical.FileRefDocument():
                raise DocumentProblem("FILE_NOT_FOUND", "the local backend stores no vendor files")

    async def _stored(self, document: canonical.StoredFileDocument) -> Loaded:
        """A file of crosswalk's store: its owner was checked when the run was created."""
        files = self._files
        record = None if files is None else await files.find(document.file_id)
        if files is None or record is None:
            raise DocumentProblem("FILE_NOT_FOUND", f"File {document.file_id} no longer exists.")
        loaded = Loaded(
            data=b"",
            filename=document.filename or record.file.name,
            mime_type=record.file.mime_type,  # sniffed from the content when it was uploaded
            path=str(files.path_of(record.id)) if files.on_disk else None,
            password=document.password or record.password,
            stored=record,
        )
        if loaded.path is not None and record.file.size > INLINE_MAX_BYTES:
            return loaded  # read by the extractor process, never whole in this one
        try:
            data = await files.read_bytes(record)
        except FileNotFoundError:  # deleted since it was found
            raise DocumentProblem("FILE_NOT_FOUND", f"File {record.id} no longer exists.") from None
        return msgspec.structs.replace(loaded, data=data, path=None)

    async def _fetch(self, url: str, name: str | None) -> Loaded:
        try:
            fetched = await fetch_document(
                url,
                client=self._client,
                max_bytes=self._config.fetch_max_bytes,
                timeout=self._config.fetch_timeout,
                allow_private=self._config.allow_private_urls,
            )
        except FetchRefused as exc:
            raise DocumentProblem("DOCUMENT_URL_REFUSED", f"Document URL refused: {exc}") from None
        except FetchFailed as exc:
            raise DocumentProblem("DOCUMENT_FETCH_FAILED", f"Could not download: {exc}") from None
        filename = name or fetched.filename
        return Loaded(data=fetched.data, filename=filename, mime_type=fetched.mime_type)

    async def extract(self, loaded: Loaded, pages: tuple[canonical.PageRange, ...]) -> Extracted:
        """Text of the document, or DocumentProblem when it cannot be decoded in time."""
        job = Job(
            data=loaded.data,
            path=loaded.path,
            mime_type=loaded.mime_type,
            filename=loaded.filename,
            pages=pages,
            password=loaded.password,
            max_pages=self._config.max_pages,
            deadline=self._config.extract_timeout,
        )
        try:
            small = job.path is None and len(job.data) <= INLINE_MAX_BYTES
            if small and reads_linearly(job.data, job.mime_type, job.filename):
                return extract_job(job)
            return await self._pool.extract(job)
        except UndecodableDocument as exc:
            raise DocumentProblem(
                "INVALID_DOCUMENT", f"The document could not be read: {exc}"
            ) from None

    async def process(
        self, request: canonical.ClassifyRequest, run: canonical.ClassificationRun
    ) -> canonical.ClassificationRun:
        """Classify the request's document; the run comes back completed."""
        loaded = await self.load(request.document)
        extracted = await self.extract(loaded, request.config.pages)
        await self._count_pages(loaded, extracted)
        config = request.config
        result = await anyio.to_thread.run_sync(
            lambda: classify(
                extracted.text,
                config.categories,
                instructions=config.instructions,
                votes=config.consensus,
            )
        )
        return msgspec.structs.replace(
            run,
            status=canonical.Status.completed,
            file=canonical.FileInfo(
                id=file_id(loaded.data) if loaded.stored is None else loaded.stored.id,
                filename=loaded.filename,
                mime_type=extracted.mime_type,
                page_count=extracted.page_count,
                created_at=run.created_at,
            ),
            decision=result.decision,
            votes=result.votes,
            agreement=result.agreement,
            usage=canonical.Usage(credits=0.0, unit=USAGE_UNIT),
            updated_at=self._clock(),
        )

    async def _count_pages(self, loaded: Loaded, extracted: Extracted) -> None:
        """Remember a stored file's page count, once it is first known (its `pageCount`)."""
        stored = loaded.stored
        if self._files is not None and stored is not None and stored.file.page_count is None:
            await self._files.record_page_count(stored.id, extracted.page_count)


def failed(
    run: canonical.ClassificationRun, problem: DocumentProblem, *, now: datetime
) -> canonical.ClassificationRun:
    """The run, failed visibly at `now` with the problem's code and message."""
    return msgspec.structs.replace(
        run,
        status=canonical.Status.failed,
        error=canonical.RunError(code=problem.code, message=problem.message, details={}),
        updated_at=now,
    )
