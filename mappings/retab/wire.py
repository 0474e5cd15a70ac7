"""Retab wire types: the create body, the Classification resource, list pages and error bodies.

Mirrors Retab's snake_case JSON exactly (contracts.md §2, §4.1, §7.1); absent and null stay
apart through `UNSET`, so decode then encode returns the same JSON. Response types decode
leniently (Retab adds fields such as `updated_at`); the inbound request types reject unknown
fields. Imports only the stdlib, msgspec and `mappings.nesting`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from mappings.nesting import JsonDecoder


class RetabWire(msgspec.Struct, kw_only=True):
    """Base for Retab types: names are the wire names already, so no `rename`."""


class MIMEData(RetabWire, kw_only=True):
    """A document by URL: `data:<mime>;base64,…` or `https://…` (contracts.md §4.1)."""

    filename: str
    url: str


class FileRef(RetabWire, kw_only=True):
    """A file stored at Retab; also the `file` every Classification reports (all required)."""

    id: str
    filename: str
    mime_type: str


class FileLink(RetabWire, kw_only=True):
    """`GET /v1/files/{id}/download-link`: how a FileRef is resolved to a URL (§4.1)."""

    download_url: str
    expires_in: str
    filename: str
    mime_data: MIMEData | UnsetType | None = UNSET


class RequestDocument(RetabWire, forbid_unknown_fields=True, kw_only=True):
    """The create body's `document`: MIMEData `{filename, url}` or FileRef `{id, filename,
    mime_type}` as one Struct (style.md §3); the mapping checks exactly one of `url` and `id`
    is set. Unknown keys are rejected."""

    filename: str
    url: str | UnsetType = UNSET
    id: str | UnsetType = UNSET
    mime_type: str | UnsetType = UNSET


class Category(RetabWire, kw_only=True):
    """One label: `{name, handle_key?, description?}`; the SDK sends `description: ""`."""

    name: str
    handle_key: str | UnsetType | None = UNSET
    description: str | UnsetType | None = UNSET


class CategoryInput(Category, forbid_unknown_fields=True, kw_only=True):
    """A category in a client's create body; unknown keys are rejected."""


class ClassificationRequest(RetabWire, forbid_unknown_fields=True, kw_only=True):
    """Body of `POST /v1/classifications` (contracts.md §2.1). Unknown keys are rejected, so a
    misspelt option is a 422 rather than silently ignored."""

    document: RequestDocument
    categories: tuple[CategoryInput, ...]
    model: str | UnsetType | None = UNSET
    first_n_pages: int | UnsetType | None = UNSET
    instructions: str | UnsetType | None = UNSET
    n_consensus: int | UnsetType | None = UNSET
    bust_cache: bool | UnsetType | None = UNSET
    background: bool | UnsetType | None = UNSET


class ClassificationDecision(RetabWire, kw_only=True):
    """`output` and each consensus vote: the category NAME chosen and why."""

    reasoning: str
    category: str


class ClassificationConsensus(RetabWire, kw_only=True):
    """Consensus votes and the winner's share. The SDK reads `likelihoods`; the seed and docs
    spell it `likelihood` (contracts.md §12 #1), so both decode; only `likelihoods` is emitted."""

    choices: tuple[ClassificationDecision, ...] | UnsetType | None = UNSET
    likelihoods: float | UnsetType | None = UNSET
    likelihood: float | UnsetType | None = UNSET


class PrimitiveError(RetabWire, kw_only=True):
    """Why a background run failed: `{code, message, details}`."""

    code: str
    message: str
    details: dict[str, Any] | UnsetType | None = UNSET


class RetabUsage(RetabWire, kw_only=True):
    """What a run cost, in Retab credits; `credits` is required by the SDK (hazard 18)."""

    credits: float


class Classification(RetabWire, kw_only=True):
    """The classification resource (contracts.md §2.2), answered by create, get, cancel and
    list. Decoded leniently: unknown keys (`updated_at`, `organization_id`) are ignored.
    `categories` is required by the SDK but absent from legacy rows, hence `UNSET`."""

    id: str
    file: FileRef
    model: str
    categories: tuple[Category, ...] | UnsetType = UNSET
    n_consensus: int | UnsetType | None = UNSET
    instructions: str | UnsetType | None = UNSET
    output: ClassificationDecision | UnsetType | None = UNSET
    status: str | UnsetType | None = UNSET
    error: PrimitiveError | UnsetType | None = UNSET
    consensus: ClassificationConsensus | UnsetType | None = UNSET
    usage: RetabUsage | UnsetType | None = UNSET
    created_at: datetime | UnsetType | None = UNSET


class ListMetadata(RetabWire, kw_only=True):
    """Cursors of the adjacent pages: resource ids, null at either end (contracts.md §2.3)."""

    before: str | None
    after: str | None


class ClassificationList(RetabWire, kw_only=True):
    """`GET /v1/classifications`: full Classifications (hazard 23) and their cursors."""

    data: tuple[Classification, ...]
    list_metadata: ListMetadata


class ErrorDetail(RetabWire, kw_only=True):
    """A structured application error: `detail` of `{"detail": {code, message, details}}`."""

    code: str
    message: str
    details: dict[str, Any] | UnsetType | None = UNSET


class ValidationIssue(RetabWire, kw_only=True):
    """One entry of a FastAPI 422 `detail` list."""

    loc: tuple[str | int, ...]
    msg: str
    type: str
    input: Any | UnsetType = UNSET
    ctx: dict[str, Any] | UnsetType | None = UNSET


class ErrorBody(RetabWire, kw_only=True):
    """Every Retab error body (contracts.md §7.1). The three shapes differ only in the JSON type
    of `detail`, which msgspec tells apart: an object (`ErrorDetail`), a string (framework
    errors such as "Not authenticated"), or a list (422 validation issues)."""

    detail: ErrorDetail | str | tuple[ValidationIssue, ...]


request_decoder = JsonDecoder(ClassificationRequest)
classification_decoder = JsonDecoder(Classification)
classification_list_decoder = JsonDecoder(ClassificationList)
file_link_decoder = JsonDecoder(FileLink)
error_body_decoder = JsonDecoder(ErrorBody)
