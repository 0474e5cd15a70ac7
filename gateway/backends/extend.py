"""The `extend` backend: runs on Extend's API, for clients of either dialect.

Documents Extend cannot take inline are uploaded to its Files API first (hazard 11), once the
request is known to translate; a file of crosswalk's own store is uploaded once, streamed from
disk, and its Extend id reused by every later run. The answer is put back in the caller's own
categories (hazard 3) and names crosswalk's file id. Requests always carry the current
`x-extend-api-version` and the client's workspace header when it sent one.
"""

from __future__ import annotations

import asyncio
from typing import BinaryIO

import httpx
import msgspec

from gateway.backends.base import Accepted, FileSource
from gateway.backends.stored import stored_record
from gateway.backends.upstream import Upstream
from gateway.backends.vendor import VendorBackend
from gateway.clock import Clock, system_clock
from gateway.config import ExtendBackendConfig
from gateway.context import CallContext
from gateway.errors import UpstreamRejected
from gateway.files.errors import FileNotFound
from gateway.files.store import FileStore
from gateway.store.records import RunRecord
from mappings import canonical, extend
from mappings.shared import Outbound, given, is_vendor_id

FileUpload = tuple[str, bytes | BinaryIO, str]  # a multipart file: its name, content and type


def extend_headers(call: CallContext) -> dict[str, str]:
    """What every Extend call carries: the current API version and the client's workspace
    (hazards 28, 29)."""
    return {extend.VERSION_HEADER: extend.API_VERSION, **call.forward}


class ExtendBackend(VendorBackend[extend.ClassifyRun]):
    """Implements `Backend` over Extend's classify and Files APIs."""

    dialect = "extend"
    runs_path = extend.RUNS_PATH
    file_field = "document.id"
    decoder = extend.run_decoder
    to_canonical = extend.response_to_canonical
    in_request_terms = extend.in_request_terms

    def __init__(
        self,
        name: str,
        *,
        config: ExtendBackendConfig,
        upstream: Upstream,
        files: FileSource | None = None,
        stored: FileStore,
        clock: Clock = system_clock,
    ) -> None:
        super().__init__(name, upstream=upstream, files=files, stored=stored, clock=clock)
        self._config = config

    async def create(
        self,
        request: canonical.ClassifyRequest,
        *,
        call: CallContext,
        accepted: Accepted | None = None,
    ) -> canonical.ClassificationRun:
        sync = not request.background and self._config.sync_mode == "classify"
        outbound = await self._outbound(request, call, sync=sync)
        path = extend.CLASSIFY_PATH if sync else self.runs_path
        run = await self._create_call(path, call, outbound.body)
        if not sync and not request.background:
            if accepted is not None:  # Extend is working on it (and charging for it) from now
                await accepted(self._answer(run, request, outbound.sent))
            run = await self._until_done(run, call)
        call.notes.add(outbound.notes)
        answer = self._answer(run, request, outbound.sent)
        return extend.accepted_to_canonical(answer) if request.background else answer

    async def cancel(self, record: RunRecord, *, call: CallContext) -> canonical.ClassificationRun:
        try:
            asked = record.upstream_id
            run = await self._run_call("POST", self._one(asked) + "/cancel", call, asked=asked)
        except UpstreamRejected as exc:
            if exc.status not in (400, 409, 422):
                raise
            # it finished meanwhile: Extend refuses, Retab's idempotent cancel returns it
            return await self.refresh(record, call=call)
        return self._answer(run, record.request, first_seen=record.run.created_at)

    async def resolve_file(self, file_id: str, *, call: CallContext) -> canonical.UrlDocument:
        """An Extend file id as the short-lived URL Extend serves it from (hazard 12)."""
        if not is_vendor_id(file_id):  # never another path, under crosswalk's key
            raise UpstreamRejected(
                f"Extend file {file_id} not found.", status=404, code="NOT_FOUND"
            )
        response = await self._upstream.send(
            self._upstream.build("GET", f"/files/{file_id}", call=call)
        )
        file = self._upstream.decode(response, extend.file_decoder)
        url = given(file.presigned_url)
        if not url:
            raise UpstreamRejected(f"Extend file {file_id} has no download URL.", status=404)
        return canonical.UrlDocument(url=url, filename=file.name)

    async def saved_version(
        self, ref: canonical.ClassifierRef, *, call: CallContext
    ) -> extend.ClassifierVersion:
        """The saved classifier version a `classifier: {id, version}` reference runs."""
        if not is_vendor_id(ref.id):  # never another path, under crosswalk's key
            raise UpstreamRejected(f"Classifier {ref.id} not found.", status=404, code="NOT_FOUND")
        found = await self._get(f"/classifiers/{ref.id}", call)
        classifier = self._upstream.decode(found, extend.classifier_decoder)
        versions: tuple[extend.ClassifierVersion, ...] = ()
        if ref.version != "draft":
            listed = await self._get(f"/classifiers/{ref.id}/versions", call)
            versions = self._upstream.decode(listed, extend.classifier_versions_decoder).data
        version = extend.pick_version(classifier, versions, ref.version)
        if version is None:
            raise UpstreamRejected(
                f"Classifier {ref.id} has no version {ref.version!r}.", status=404, code="NOT_FOUND"
            )
        return version

    async def _outbound(
        self, request: canonical.ClassifyRequest, call: CallContext, *, sync: bool
    ) -> Outbound[extend.ClassifyRequest]:
        """The request's body, translated once; a document Extend cannot take inline is
        uploaded only after the rest is known to translate, so no file is left behind."""
        if not _resolved_first(request.document):
            return _translated(request, sync=sync)
        pending = msgspec.structs.replace(request, document=extend.UPLOAD_PENDING)
        outbound = _translated(pending, sync=sync)
        return extend.with_document(outbound, await self._extend_document(request.document, call))

    async def _extend_document(
        self, document: canonical.Document, call: CallContext
    ) -> canonical.Document:
        """The document as Extend takes it: a file of crosswalk's, or bytes, by the id of
        their upload; the other vendor's file id by what it resolves to."""
        if isinstance(document, canonical.StoredFileDocument):
            file_id = await self._copy_of(document, call)
            return canonical.FileRefDocument(vendor="extend", file_id=file_id)
        document = await self._foreign_document(document, call)
        if extend.needs_upload(document):
            upload = (document.filename, document.data, document.mime_type)
            file_id = await self._upload(upload, {}, call)
            document = canonical.FileRefDocument(vendor="extend", file_id=file_id)
        return document

    async def _copy_of(self, document: canonical.StoredFileDocument, call: CallContext) -> str:
        """The id of the stored file's copy at this backend: uploaded, streamed from disk, on
        its first use, and the same copy named by every run after it. Two first uses at once
        may both upload: the first copy recorded wins (`FileStore.add_copy`) and both runs
        name it; the other stays unused at Extend. A run that brings a password of its own
        (not the one the file was uploaded with) gets a copy of its own, never remembered:
        a wrong password once must not spoil the file's copy for every later run."""
        record = await stored_record(self._stored, document)
        own_password = document.password is not None and document.password != record.password
        copy = None if own_password else record.copies.get(self.name)
        if copy is not None:
            return copy
        password = document.password or record.password
        fields = {} if password is None else {"password": password}
        try:
            opened = await self._stored.open(record)
        except FileNotFoundError:  # deleted since it was found
            raise FileNotFound(f"File {record.id} not found.") from None
        with opened:
            # httpx streams an open file in 64 KiB reads, each quick from local disk
            upload = (record.file.name, opened, record.file.mime_type)
            uploaded = await self._upload(upload, fields, call)
        if own_password:
            return uploaded
        kept = await self._stored.add_copy(record.id, self.name, uploaded)
        return uploaded if kept is None else kept.copies.get(self.name, uploaded)

    async def _upload(self, file: FileUpload, fields: dict[str, str], call: CallContext) -> str:
        """Extend's id for a file uploaded to its Files API (multipart part `file`)."""
        request = self._upstream.build(
            "POST", "/files/upload", call=call, files={"file": file}, data=fields or None
        )
        response = await self._upstream.send(request)
        return self._upstream.decode(response, extend.file_decoder).id

    async def _until_done(self, run: extend.ClassifyRun, call: CallContext) -> extend.ClassifyRun:
        # the caller's own deadline (the run service's sync timeout) bounds this loop
        while run.status in extend.UNFINISHED_STATUSES:
            await asyncio.sleep(self._config.poll_interval)
            run = await self._run_call("GET", self._one(run.id), call, asked=run.id)
        return run

    async def _get(self, path: str, call: CallContext) -> httpx.Response:
        return await self._upstream.send(self._upstream.build("GET", path, call=call))


def _resolved_first(document: canonical.Document) -> bool:
    """Whether the document must be uploaded or resolved before Extend can be sent it."""
    if isinstance(document, canonical.StoredFileDocument):
        return True
    foreign = isinstance(document, canonical.FileRefDocument) and document.vendor != "extend"
    return foreign or extend.needs_upload(document)


def _translated(
    request: canonical.ClassifyRequest, *, sync: bool
) -> Outbound[extend.ClassifyRequest]:
    """The body of Extend's sync `/classify` or async `/classify_runs` for `request`."""
    if sync:
        return extend.classify_body_from_canonical(request)
    return extend.request_from_canonical(request)
