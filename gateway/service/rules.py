"""Each dialect's rules as a dialect service needs them, composed from its pure mappings:
how a create body reads (strictly, or leniently for a relayed call; with crosswalk's own
download links known for stored files), how a vendor's run reads, its run paths, list query,
not-found wording and cancel semantics."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from gateway.service.decoding import decode_body, peek_body, translation_error
from mappings import canonical, extend, nesting, retab
from mappings.dialects import Dialect
from mappings.errors import TranslationError
from mappings.extend import files as extend_files
from mappings.files import LinkReader, is_crosswalk_file_id
from mappings.nesting import JsonDecoder
from mappings.notes import Notes

RequestReader = Callable[[Any, LinkReader | None], tuple[canonical.ClassifyRequest, Notes]]
RunReader = Callable[..., tuple[canonical.ClassificationRun, Notes]]


class _Named(msgspec.Struct, frozen=True):
    """A create's document reduced to what names a stored file: its id or its URL, of any
    type, beside whatever else it holds."""

    id: Any = None
    url: Any = None

    def stored(self, own_link: LinkReader | None) -> bool:
        if isinstance(self.id, str) and is_crosswalk_file_id(self.id):
            return True
        return isinstance(self.url, str) and own_link is not None and own_link(self.url) is not None


class _ExtendNamed(msgspec.Struct, frozen=True):
    file: _Named | None = None

    @property
    def named(self) -> _Named | None:
        return self.file


class _RetabNamed(msgspec.Struct, frozen=True):
    document: _Named | None = None

    @property
    def named(self) -> _Named | None:
        return self.document


@dataclass(frozen=True, kw_only=True)
class Create:
    """One create endpoint: the wire type of its body and how that reads as canonical."""

    wire: type[Any]
    to_canonical: RequestReader


@dataclass(frozen=True, kw_only=True)
class DialectRules:
    """What a dialect service asks of its dialect."""

    dialect: Dialect
    runs_path: str  # the vendor's collection of runs; one run is `<runs_path>/<id>`
    # the refusal to cancel a finished run, where that is an error (Extend) and not a no-op
    # (Retab): hazard 25
    cancel_refused: Callable[[str, canonical.Status], str] | None
    creates: Mapping[str, Create]  # by path
    run_decoder: JsonDecoder[Any]
    run_to_canonical: RunReader
    list_to_canonical: Callable[[Mapping[str, str]], canonical.ListQuery]
    not_found: Callable[[str], str]  # the vendor's 404 message for an unknown run id
    file_not_found: Callable[[str], str]  # and for a file the caller does not have
    document: type[_ExtendNamed] | type[_RetabNamed]  # where a create body names its document

    def read_create(
        self, body: bytes, path: str, own_link: LinkReader | None = None
    ) -> tuple[canonical.ClassifyRequest, Notes]:
        """A create body sent to `path`, as canonical; raises InvalidRequest. `own_link`
        knows crosswalk's own download links among document URLs."""
        create = self.creates[path]
        wire = decode_body(body, create.wire, dialect=self.dialect)
        try:
            return create.to_canonical(wire, own_link)
        except TranslationError as exc:
            raise translation_error(exc, self.dialect) from None

    def peek_create(
        self, body: bytes, path: str, own_link: LinkReader | None = None
    ) -> canonical.ClassifyRequest | None:
        """The create body for the ledger, if it can be read; the vendor judges it (but one
        nested too deeply to record is refused: InvalidRequest)."""
        create = self.creates[path]
        wire = peek_body(body, create.wire, dialect=self.dialect)
        try:
            return None if wire is None else create.to_canonical(wire, own_link)[0]
        except TranslationError:
            return None

    def names_stored_file(self, body: bytes, own_link: LinkReader | None = None) -> bool:
        """Whether a create body names a file of crosswalk's store, read as leniently as can
        be: a body that does not read as a create (which the vendor would judge) still never
        takes crosswalk's file id, or one of its own links, to a vendor (hazard 13)."""
        try:
            named = nesting.decode(body, self.document).named
        except msgspec.DecodeError:
            return False
        return named is not None and named.stored(own_link)

    def read_run(self, content: bytes, received_at: datetime) -> canonical.ClassificationRun | None:
        """The run in a vendor's answer, for the ledger; None when it holds none readable."""
        try:
            return self.run_to_canonical(self.run_decoder.decode(content), received_at=received_at)[
                0
            ]
        except (msgspec.DecodeError, TranslationError):
            return None

    def list_query(self, params: Mapping[str, str]) -> canonical.ListQuery:
        """A listing's query string as canonical; raises InvalidRequest."""
        try:
            return self.list_to_canonical(params)
        except TranslationError as exc:
            raise translation_error(exc, self.dialect) from None


def _retab_create(
    body: retab.ClassificationRequest, own_link: LinkReader | None
) -> tuple[canonical.ClassifyRequest, Notes]:
    return retab.request_to_canonical(body, own_link=own_link)


RETAB_RULES = DialectRules(
    dialect="retab",
    runs_path=retab.RUNS_PATH,
    cancel_refused=None,
    creates={retab.RUNS_PATH: Create(wire=retab.ClassificationRequest, to_canonical=_retab_create)},
    run_decoder=retab.classification_decoder,
    run_to_canonical=retab.response_to_canonical,
    list_to_canonical=retab.list_query_to_canonical,
    not_found=retab.not_found_message,
    file_not_found=retab.file_not_found_message,
    document=_RetabNamed,
)


def _extend_create(wire: type[extend.ClassifyRequest], *, background: bool) -> Create:
    def to_canonical(
        body: extend.ClassifyRequest, own_link: LinkReader | None
    ) -> tuple[canonical.ClassifyRequest, Notes]:
        return extend.request_to_canonical(body, background=background, own_link=own_link)

    return Create(wire=wire, to_canonical=to_canonical)


EXTEND_RULES = DialectRules(
    dialect="extend",
    runs_path=extend.RUNS_PATH,
    cancel_refused=extend.cancel_refused_message,
    creates={  # the sync create, and the background one
        extend.CLASSIFY_PATH: _extend_create(extend.ClassifyRequest, background=False),
        extend.RUNS_PATH: _extend_create(extend.ClassifyRunCreateRequest, background=True),
    },
    run_decoder=extend.run_decoder,
    run_to_canonical=extend.response_to_canonical,
    list_to_canonical=extend.list_params_to_canonical,
    not_found=extend.not_found_message,
    file_not_found=extend_files.file_not_found_message,
    document=_ExtendNamed,
)
