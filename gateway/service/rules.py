"""Each dialect's rules as a dialect service needs them, composed from its pure mappings:
how a create body reads (strictly, or leniently for a relayed call), how a vendor's run reads,
its run paths, list query, not-found wording and cancel semantics."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

import msgspec

from gateway.service.decoding import decode_body, translation_error
from mappings import canonical, extend, retab
from mappings.dialects import Dialect
from mappings.errors import TranslationError
from mappings.notes import Notes


class DialectRules(Protocol):
    """What a dialect service asks of its dialect."""

    @property
    def dialect(self) -> Dialect: ...

    @property
    def runs_path(self) -> str:
        """The vendor's collection of runs; one run is `<runs_path>/<id>`."""
        ...

    @property
    def cancel_rejects_finished(self) -> bool:
        """True when cancelling a finished run is an error (Extend), not a no-op (Retab)."""
        ...

    def read_create(self, body: bytes, path: str) -> tuple[canonical.ClassifyRequest, Notes]:
        """A create body sent to `path`, as canonical; raises InvalidRequest."""
        ...

    def peek_create(self, body: bytes, path: str) -> canonical.ClassifyRequest | None:
        """The create body for the ledger, if it can be read; the vendor judges it."""
        ...

    def read_run(self, content: bytes, received_at: datetime) -> canonical.ClassificationRun | None:
        """The run in a vendor's answer, for the ledger; None when it holds none readable."""
        ...

    def list_query(self, params: Mapping[str, str]) -> canonical.ListQuery:
        """A listing's query string as canonical; raises InvalidRequest."""
        ...

    def not_found(self, public_id: str) -> str:
        """The vendor's 404 message for an unknown run."""
        ...


class RetabRules:
    """Retab's `/v1/classifications` (contracts.md §2)."""

    dialect: Dialect = "retab"
    runs_path = "/v1/classifications"
    cancel_rejects_finished = False  # idempotent on finished runs (hazard 25)

    def read_create(self, body: bytes, path: str) -> tuple[canonical.ClassifyRequest, Notes]:
        wire = decode_body(body, retab.ClassificationRequest, dialect="retab")
        try:
            return retab.request_to_canonical(wire)
        except TranslationError as exc:
            raise translation_error(exc, "retab") from None

    def peek_create(self, body: bytes, path: str) -> canonical.ClassifyRequest | None:
        try:
            return retab.request_to_canonical(retab.request_decoder.decode(body))[0]
        except (msgspec.DecodeError, TranslationError):
            return None

    def read_run(self, content: bytes, received_at: datetime) -> canonical.ClassificationRun | None:
        try:
            wire = retab.classification_decoder.decode(content)
            return retab.response_to_canonical(wire, received_at=received_at)[0]
        except (msgspec.DecodeError, TranslationError):
            return None

    def list_query(self, params: Mapping[str, str]) -> canonical.ListQuery:
        try:
            return retab.list_query_to_canonical(params)
        except TranslationError as exc:
            raise translation_error(exc, "retab") from None

    def not_found(self, public_id: str) -> str:
        return retab.not_found_message(public_id)


SYNC_CLASSIFY = "/classify"
# each create path's body, and whether it starts a background run
_EXTEND_CREATES: dict[str, tuple[type[extend.ClassifyRequest], bool]] = {
    SYNC_CLASSIFY: (extend.ClassifyRequest, False),
    "/classify_runs": (extend.ClassifyRunCreateRequest, True),
}


class ExtendRules:
    """Extend's `/classify` and `/classify_runs` (contracts.md §3, §5)."""

    dialect: Dialect = "extend"
    runs_path = "/classify_runs"
    cancel_rejects_finished = True  # only runs still processing can be cancelled (hazard 25)

    def read_create(self, body: bytes, path: str) -> tuple[canonical.ClassifyRequest, Notes]:
        wire_type, background = _EXTEND_CREATES[path]
        wire = decode_body(body, wire_type, dialect="extend")
        try:
            return extend.request_to_canonical(wire, background=background)
        except TranslationError as exc:
            raise translation_error(exc, "extend") from None

    def peek_create(self, body: bytes, path: str) -> canonical.ClassifyRequest | None:
        wire_type, background = _EXTEND_CREATES[path]
        try:
            wire = msgspec.json.decode(body, type=wire_type)
            return extend.request_to_canonical(wire, background=background)[0]
        except (msgspec.DecodeError, TranslationError):
            return None

    def read_run(self, content: bytes, received_at: datetime) -> canonical.ClassificationRun | None:
        try:
            wire = extend.run_decoder.decode(content)
            return extend.response_to_canonical(wire, received_at=received_at)[0]
        except (msgspec.DecodeError, TranslationError):
            return None

    def list_query(self, params: Mapping[str, str]) -> canonical.ListQuery:
        try:
            return extend.list_params_to_canonical(params)
        except TranslationError as exc:
            raise translation_error(exc, "extend") from None

    def not_found(self, public_id: str) -> str:
        return extend.not_found_message(public_id)


RETAB_RULES = RetabRules()
EXTEND_RULES = ExtendRules()
