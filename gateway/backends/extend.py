"""The `extend` backend: runs on Extend's API, for clients of either dialect.

Documents Extend cannot take inline are uploaded to its Files API first (hazard 11); the
answer is put back in the caller's own categories (hazard 3). Requests always carry the
current `x-extend-api-version` and the client's workspace header when it sent one.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec

from gateway.backends.base import CallContext, FileResolver
from gateway.backends.upstream import Upstream
from gateway.config import ExtendBackendConfig
from gateway.errors import UpstreamRejected
from gateway.store.records import RunRecord
from mappings import canonical, extend
from mappings.answers import in_request_terms
from mappings.errors import InvalidInput, UnsupportedFeature
from mappings.extend.common import category_ids
from mappings.extend.config import given
from mappings.notes import Notes


def extend_headers(call: CallContext) -> dict[str, str]:
    """What every Extend call carries: the current API version and the client's workspace
    (hazards 28, 29)."""
    return {extend.VERSION_HEADER: extend.API_VERSION, **call.forward}


class ExtendBackend:
    """Implements `Backend` over Extend's classify and Files APIs."""

    dialect: str | None = "extend"

    def __init__(
        self,
        name: str,
        *,
        config: ExtendBackendConfig,
        upstream: Upstream,
        retab_files: FileResolver | None = None,
    ) -> None:
        self.name = name
        self._config = config
        self._upstream = upstream
        self._retab_files = retab_files

    @property
    def upstream(self) -> Upstream:
        return self._upstream

    async def create(
        self, request: canonical.ClassifyRequest, *, call: CallContext
    ) -> canonical.ClassificationRun:
        sync = not request.background and self._config.sync_mode == "classify"
        if _needs_upload(request.document):
            # translate first: a request Extend cannot take must not leave a file behind there
            _body(msgspec.structs.replace(request, document=_UPLOADED_STAND_IN), sync=sync)
        sendable = msgspec.structs.replace(
            request, document=await self._document(request.document, call)
        )
        body, notes = _body(sendable, sync=sync)
        path = "/classify" if sync else "/classify_runs"
        run = await self._run_call("POST", path, call, json=msgspec.to_builtins(body))
        if not sync and not request.background:
            run = await self._until_done(run, call)
        call.notes.add(notes)
        answer = self._answer(run, request)
        if request.background and answer.status is canonical.Status.running:
            # Extend answers every accepted run PROCESSING; for the caller it is only queued yet
            # (Retab's background create answers `queued`, contracts.md §2)
            answer = msgspec.structs.replace(answer, status=canonical.Status.queued)
        return answer

    async def refresh(self, record: RunRecord, *, call: CallContext) -> canonical.ClassificationRun:
        run = await self._run_call("GET", f"/classify_runs/{record.upstream_id}", call)
        return self._answer(run, record.request)

    async def cancel(self, record: RunRecord, *, call: CallContext) -> canonical.ClassificationRun:
        try:
            run = await self._run_call("POST", f"/classify_runs/{record.upstream_id}/cancel", call)
        except UpstreamRejected as exc:
            if exc.status not in (400, 409, 422):
                raise
            # it finished meanwhile: Extend refuses, Retab's idempotent cancel returns it
            return await self.refresh(record, call=call)
        return self._answer(run, record.request)

    async def delete(self, record: RunRecord, *, call: CallContext) -> None:
        await self._upstream.send(
            self._build("DELETE", f"/classify_runs/{record.upstream_id}", call)
        )

    async def resolve_file(self, file_id: str, *, call: CallContext) -> canonical.UrlDocument:
        """An Extend file id as the short-lived URL Extend serves it from (hazard 12)."""
        response = await self._upstream.send(self._build("GET", f"/files/{file_id}", call))
        file = self._upstream.decode(response, extend.file_decoder)
        url = given(file.presigned_url)
        if not url:
            raise UpstreamRejected(f"Extend file {file_id} has no download URL.", status=404)
        return canonical.UrlDocument(url=url, filename=file.name)

    async def saved_version(
        self, ref: canonical.ClassifierRef, *, call: CallContext
    ) -> extend.ClassifierVersion:
        """The saved classifier version a `classifier: {id, version}` reference runs."""
        found = await self._upstream.send(self._build("GET", f"/classifiers/{ref.id}", call))
        classifier = self._upstream.decode(found, extend.classifier_decoder)
        versions: tuple[extend.ClassifierVersion, ...] = ()
        if ref.version != "draft":
            listed = await self._upstream.send(
                self._build("GET", f"/classifiers/{ref.id}/versions", call)
            )
            versions = self._upstream.decode(listed, extend.classifier_versions_decoder).data
        version = extend.pick_version(classifier, versions, ref.version)
        if version is None:
            error = UpstreamRejected(
                f"Classifier {ref.id} has no version {ref.version!r}.", status=404
            )
            error.code = "NOT_FOUND"
            raise error
        return version

    async def _document(
        self, document: canonical.Document, call: CallContext
    ) -> canonical.Document:
        """Inline bytes Extend cannot take as `file.text` become an uploaded file id; a Retab
        file id is first resolved through a Retab backend (hazards 11, 13)."""
        if isinstance(document, canonical.FileRefDocument) and document.vendor == "retab":
            if self._retab_files is None:
                raise UnsupportedFeature(
                    "document.id",
                    "a Retab file id can reach Extend only through a configured Retab backend",
                )
            document = await self._retab_files(document.file_id, call=call)
        if not isinstance(document, canonical.InlineDocument) or _is_text(document):
            return document
        files = {"file": (document.filename, document.data, document.mime_type)}
        response = await self._upstream.send(
            self._build("POST", "/files/upload", call, files=files)
        )
        uploaded = self._upstream.decode(response, extend.file_decoder)
        return canonical.FileRefDocument(vendor="extend", file_id=uploaded.id)

    async def _until_done(self, run: extend.ClassifyRun, call: CallContext) -> extend.ClassifyRun:
        # the caller's own deadline (RunService's sync timeout) bounds this loop
        # as Extend's own poller: any status but these ends the wait, even one unknown yet
        while run.status in _UNFINISHED:
            await asyncio.sleep(self._config.poll_interval)
            run = await self._run_call("GET", f"/classify_runs/{run.id}", call)
        return run

    async def _run_call(
        self, method: str, path: str, call: CallContext, **kwargs: Any
    ) -> extend.ClassifyRun:
        response = await self._upstream.send(self._build(method, path, call, **kwargs))
        return self._upstream.decode(response, extend.run_decoder)

    def _build(self, method: str, path: str, call: CallContext, **kwargs: Any) -> httpx.Request:
        return self._upstream.build(method, path, call=call, **kwargs)

    def _answer(
        self, wire: extend.ClassifyRun, request: canonical.ClassifyRequest | None
    ) -> canonical.ClassificationRun:
        try:
            run, _ = extend.response_to_canonical(wire, received_at=datetime.now(UTC))
        except (UnsupportedFeature, InvalidInput) as exc:
            raise self._upstream.untranslatable(exc) from None
        if request is None:
            return run
        return in_request_terms(run, request, category_ids(request.config.categories), by="key")


# Extend's wire statuses its own poller waits on (contracts.md §6); compared with `run.status`
_UNFINISHED = frozenset({"PENDING", "PROCESSING", "CANCELLING"})


# what an uploaded document becomes, for checking a request before anything is uploaded
_UPLOADED_STAND_IN = canonical.FileRefDocument(vendor="extend", file_id="file_upload_pending")


def _body(
    request: canonical.ClassifyRequest, *, sync: bool
) -> tuple[extend.ClassifyRequest, Notes]:
    """The body of Extend's sync `/classify` or async `/classify_runs` for `request`."""
    if sync:
        return extend.classify_body_from_canonical(request)
    return extend.request_from_canonical(request)


def _needs_upload(document: canonical.Document) -> bool:
    """Inline bytes other than UTF-8 plain text go through Extend's Files API (hazard 11), and
    a Retab file may resolve to such bytes."""
    if isinstance(document, canonical.FileRefDocument):
        return document.vendor == "retab"
    return isinstance(document, canonical.InlineDocument) and not _is_text(document)


def _is_text(document: canonical.InlineDocument) -> bool:
    if document.mime_type.split(";", 1)[0].strip().lower() != "text/plain":
        return False
    try:
        document.data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
