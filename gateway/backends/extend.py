"""The `extend` backend: runs on Extend's API, for clients of either dialect.

Documents Extend cannot take inline are uploaded to its Files API first (hazard 11), once the
request is known to translate; the answer is put back in the caller's own categories
(hazard 3). Requests always carry the current `x-extend-api-version` and the client's
workspace header when it sent one.
"""

from __future__ import annotations

import asyncio

import httpx
import msgspec

from gateway.backends.base import Accepted, FileSource
from gateway.backends.upstream import Upstream
from gateway.backends.vendor import VendorBackend
from gateway.clock import Clock, system_clock
from gateway.config import ExtendBackendConfig
from gateway.context import CallContext
from gateway.errors import UpstreamRejected
from gateway.store.records import RunRecord
from mappings import canonical, extend
from mappings.shared import Outbound, given


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
        clock: Clock = system_clock,
    ) -> None:
        super().__init__(name, upstream=upstream, files=files, clock=clock)
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
        body = msgspec.to_builtins(outbound.body)
        run = await self._run_call("POST", path, call, asked=None, json=body)
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
        return self._answer(run, record.request)

    async def resolve_file(self, file_id: str, *, call: CallContext) -> canonical.UrlDocument:
        """An Extend file id as the short-lived URL Extend serves it from (hazard 12)."""
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
        document = request.document
        foreign = isinstance(document, canonical.FileRefDocument) and document.vendor != "extend"
        if not foreign and not extend.needs_upload(document):
            return _translated(request, sync=sync)
        pending = msgspec.structs.replace(request, document=extend.UPLOAD_PENDING)
        outbound = _translated(pending, sync=sync)
        document = await self._foreign_document(document, call)
        if extend.needs_upload(document):
            document = canonical.FileRefDocument(
                vendor="extend", file_id=await self._upload(document, call)
            )
        return extend.with_document(outbound, document)

    async def _upload(self, document: canonical.InlineDocument, call: CallContext) -> str:
        files = {"file": (document.filename, document.data, document.mime_type)}
        response = await self._upstream.send(
            self._upstream.build("POST", "/files/upload", call=call, files=files)
        )
        return self._upstream.decode(response, extend.file_decoder).id

    async def _until_done(self, run: extend.ClassifyRun, call: CallContext) -> extend.ClassifyRun:
        # the caller's own deadline (the run service's sync timeout) bounds this loop
        while run.status in extend.UNFINISHED_STATUSES:
            await asyncio.sleep(self._config.poll_interval)
            run = await self._run_call("GET", self._one(run.id), call, asked=run.id)
        return run

    async def _get(self, path: str, call: CallContext) -> httpx.Response:
        return await self._upstream.send(self._upstream.build("GET", path, call=call))


def _translated(
    request: canonical.ClassifyRequest, *, sync: bool
) -> Outbound[extend.ClassifyRequest]:
    """The body of Extend's sync `/classify` or async `/classify_runs` for `request`."""
    if sync:
        return extend.classify_body_from_canonical(request)
    return extend.request_from_canonical(request)
