"""What the Retab and Extend backends share: a vendor's runs reached through one `Upstream`.

A subclass names its vendor's run path, wire decoder and translations; this base sends the
calls, checks that each answer is a run crosswalk can address (the one asked for, on a read or
a cancel), reads the answers back into the caller's terms (hazard 3, and crosswalk's id for a
stored file), and resolves the other vendor's file ids through a `FileSource` (hazards 11, 12).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import msgspec

from gateway.backends import answers
from gateway.backends.base import FileSource, Relay
from gateway.backends.circuit import CircuitState
from gateway.backends.stored import with_stored_file
from gateway.backends.upstream import Upstream
from gateway.clock import Clock, system_clock
from gateway.context import CallContext
from gateway.errors import UpstreamFailed
from gateway.files.store import FileStore
from gateway.store.records import RunRecord
from mappings import canonical
from mappings.dialects import Dialect
from mappings.errors import TranslationError, UnsupportedFeature
from mappings.nesting import JsonDecoder
from mappings.notes import Notes


class WireRun(Protocol):
    """What crosswalk reads of any vendor's run before translating it: its id."""

    @property
    def id(self) -> str: ...


W = TypeVar("W", bound=WireRun)
ToCanonical = Callable[..., tuple[canonical.ClassificationRun, Notes]]
_encoder = msgspec.json.Encoder()
_JSON_BODY = {"content-type": "application/json"}
InRequestTerms = Callable[
    [canonical.ClassificationRun, canonical.ClassifyRequest, Sequence[str] | None],
    canonical.ClassificationRun,
]


class VendorBackend(Generic[W]):
    """Implements the shared part of `Backend` over one vendor's API; `W` is its wire run."""

    dialect: ClassVar[Dialect]
    runs_path: ClassVar[str]  # the vendor's collection of runs, e.g. `/v1/classifications`
    file_field: ClassVar[str]  # the request field naming a document, for errors
    decoder: ClassVar[JsonDecoder[Any]]  # of `W`
    to_canonical: ClassVar[ToCanonical]  # the vendor's `response_to_canonical`
    in_request_terms: ClassVar[InRequestTerms]  # the vendor's read-back (hazard 3)

    def __init__(
        self,
        name: str,
        *,
        upstream: Upstream,
        files: FileSource | None = None,
        stored: FileStore,
        clock: Clock = system_clock,
    ) -> None:
        self.name = name
        self._upstream = upstream
        self._files = files
        self._stored = stored  # crosswalk's own files, which this backend hands to its vendor
        self._clock = clock

    @property
    def relay(self) -> Relay:
        return self._upstream

    def circuit_state(self) -> CircuitState:
        return self._upstream.circuit_state()

    async def refresh(self, record: RunRecord, *, call: CallContext) -> canonical.ClassificationRun:
        path = self._one(record.upstream_id)
        wire = await self._run_call("GET", path, call, asked=record.upstream_id)
        return self._answer(wire, record.request, first_seen=record.run.created_at)

    async def delete(self, record: RunRecord, *, call: CallContext) -> None:
        request = self._upstream.build("DELETE", self._one(record.upstream_id), call=call)
        await self._upstream.send(request)

    def _one(self, upstream_id: str) -> str:
        if not answers.addressable(self.name, upstream_id):
            # a row an older version recorded from a bad answer: asking would reach another path
            raise UpstreamFailed(f"A run of backend {self.name} was recorded without a usable id.")
        return f"{self.runs_path}/{upstream_id}"

    async def _run_call(
        self, method: str, path: str, call: CallContext, *, asked: str | None, **kwargs: Any
    ) -> W:
        """The vendor's run; `asked` is the id of the run the call is about, None for a create.
        Raises UpstreamFailed for a run crosswalk cannot address or one not asked for."""
        response = await self._upstream.send(
            self._upstream.build(method, path, call=call, **kwargs)
        )
        wire: W = self._upstream.decode(response, self.decoder)
        if asked is None:
            answers.check_new_run(self.name, wire.id)
        else:
            answers.check_same_run(self.name, asked, wire.id)
        return wire

    async def _create_call(self, path: str, call: CallContext, body: msgspec.Struct) -> W:
        """POST a create's wire `body` and return the new run (`_run_call`). Encoded by msgspec
        straight from the Struct: no dicts built to hand httpx's stdlib JSON encoder."""
        content = _encoder.encode(body)
        return await self._run_call(
            "POST", path, call, asked=None, content=content, headers=_JSON_BODY
        )

    def _answer(
        self,
        wire: W,
        request: canonical.ClassifyRequest | None,
        sent: Sequence[str] | None = None,
        *,
        first_seen: datetime | None = None,
    ) -> canonical.ClassificationRun:
        """The vendor's run as canonical, in the terms of the request that made it; `sent` are
        the identifiers its categories went upstream under, when the caller has them.
        `first_seen`, for a recorded run, stands in for a creation time the vendor left out,
        as it did when the run was recorded: a read of an unchanged run is the same run."""
        try:
            run, _ = type(self).to_canonical(wire, received_at=first_seen or self._now())
        except TranslationError as exc:
            raise self._upstream.untranslatable(exc) from None
        if request is None:
            return run
        return with_stored_file(type(self).in_request_terms(run, request, sent), request)

    async def _foreign_document(
        self, document: canonical.Document, call: CallContext
    ) -> canonical.Document:
        """A file id of the other vendor as a document this one can take (hazards 11, 12)."""
        if not isinstance(document, canonical.FileRefDocument) or document.vendor == self.dialect:
            return document
        if self._files is None:
            vendor = document.vendor.title()
            raise UnsupportedFeature(
                self.file_field,
                f"{_article(vendor)} {vendor} file id can reach {self.dialect.title()} only "
                f"through a configured {vendor} backend",
            )
        return await self._files.resolve_file(document.file_id, call=call)

    def _now(self) -> datetime:
        return self._clock()


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"
