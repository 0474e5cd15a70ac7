"""Extend classify request bodies to and from the canonical `ClassifyRequest`.

`request_to_canonical` reads a client's `/classify` or `/classify_runs` body;
`request_from_canonical` builds the body sent to an Extend upstream (contracts.md §5.1).
Pure: imports only the stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeGuard, TypeVar, assert_never

import msgspec
from msgspec import UNSET, UnsetType

from mappings import canonical
from mappings.errors import InvalidInput, UnsupportedFeature
from mappings.extend.common import category_ids
from mappings.extend.config import (
    config_from_canonical,
    config_to_canonical,
    override_from_canonical,
)
from mappings.extend.wire import (
    Classification,
    ClassifierReference,
    ClassifyConfigInput,
    ClassifyRequest,
    ClassifyRunCreateRequest,
    FileInput,
    FileSettings,
    OverrideConfig,
    PageRange,
)
from mappings.files import LinkReader, is_crosswalk_file_id
from mappings.models import DEFAULT_MODELS, ModelTable
from mappings.notes import Notes, NoteTaker
from mappings.numbers import MAX_PAGE
from mappings.shared import Outbound, given

NEEDS_CLASSIFIER_OR_CONFIG = "One of `classifier` or `config` must be provided."
# Extend documents a run's priority as an integer from 1 to 100, 50 by default, lower first
# (docs.extend.app, Run Workflow); its SDK types a classify run's `priority` as that same
# `RunPriority` (contracts.md §5.1 gives no range)
MIN_PRIORITY, MAX_PRIORITY = 1, 100


def request_to_canonical(
    req: ClassifyRequest | ClassifyRunCreateRequest,
    *,
    background: bool,
    own_link: LinkReader | None = None,
) -> tuple[canonical.ClassifyRequest, Notes]:
    """A client's Extend body as canonical; `background` is True for `/classify_runs`;
    `own_link` knows crosswalk's own download links (`document_to_canonical`)."""
    classifier, config = _source_to_canonical(req)
    request = canonical.ClassifyRequest(
        document=document_to_canonical(req.file, own_link),
        config=config,
        background=background,
        metadata=given(req.metadata),
        priority=_priority(req),
        classifier=classifier,
    )
    return request, Notes()


def document_to_canonical(
    file: FileInput, own_link: LinkReader | None = None
) -> canonical.Document:
    """The `file` union as a canonical document; exactly one of url, id or text (§4.2).

    A crosswalk file id, or a URL that `own_link` knows for one of crosswalk's own download
    links (a `presignedUrl` crosswalk gave), is a stored file; any other id is Extend's.
    """
    forms = [v for v in (file.url, file.id, file.text) if not isinstance(v, UnsetType)]
    if len(forms) != 1:
        raise InvalidInput("file", "Give exactly one of `file.url`, `file.id` or `file.text`.")
    settings = given(file.settings)
    password = given(settings.password) if settings is not None else None
    if password is not None and isinstance(file.url, UnsetType):
        raise InvalidInput("file.settings.password", "Only a file given by `url` takes one.")
    name = given(file.name)
    if not isinstance(file.url, UnsetType):
        file_id = None if own_link is None else own_link(file.url)
        if file_id is not None:  # read from the store, never fetched
            return canonical.StoredFileDocument(file_id=file_id, filename=name, password=password)
        return canonical.UrlDocument(url=file.url, filename=name, password=password)
    if not isinstance(file.id, UnsetType):
        if is_crosswalk_file_id(file.id):
            return canonical.StoredFileDocument(file_id=file.id, filename=name)
        return canonical.FileRefDocument(vendor="extend", file_id=file.id, filename=name)
    return canonical.TextDocument(text=forms[0], filename=name)


def _source_to_canonical(
    req: ClassifyRequest,
) -> tuple[canonical.ClassifierRef | None, canonical.RunConfig]:
    classifier, config = given(req.classifier), given(req.config)
    if classifier is None and config is None:
        raise InvalidInput("config", NEEDS_CLASSIFIER_OR_CONFIG)
    if classifier is not None and config is not None:
        raise InvalidInput("config", "Give either `classifier` or `config`, not both.")
    if config is not None:
        check_config(config, "config")
        return None, config_to_canonical(config)
    assert classifier is not None
    override = given(classifier.override_config) or OverrideConfig()
    check_config(override, "classifier.overrideConfig")
    ref = canonical.ClassifierRef(id=classifier.id, version=given(classifier.version))
    return ref, config_to_canonical(override)


def check_config(config: ClassifyConfigInput | OverrideConfig, path: str) -> None:
    """Raise InvalidInput naming the key under `path` of a config that decodes but cannot
    run: no classifications, a repeated classification id, a page range out of bounds."""
    classifications = given(config.classifications)
    if classifications is not None:
        _check_classifications(classifications, f"{path}.classifications")
    options = given(config.advanced_options)
    if options is not None:
        _check_pages(given(options.page_ranges) or (), f"{path}.advancedOptions.pageRanges")


def _check_classifications(items: Sequence[Classification], path: str) -> None:
    if not items:
        raise InvalidInput(path, "At least one classification is required.")
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.id in seen:
            raise InvalidInput(f"{path}[{i}].id", "must be unique")
        seen.add(item.id)


def _check_pages(ranges: Sequence[PageRange], path: str) -> None:
    for i, page_range in enumerate(ranges):
        if not 1 <= page_range.start <= MAX_PAGE:
            raise InvalidInput(f"{path}[{i}].start", f"must be from 1 to {MAX_PAGE}")
        if not page_range.start <= page_range.end <= MAX_PAGE:
            raise InvalidInput(f"{path}[{i}].end", f"must be from `start` to {MAX_PAGE}")


def _priority(req: ClassifyRequest) -> int | None:
    priority = given(req.priority) if isinstance(req, ClassifyRunCreateRequest) else None
    if priority is not None and not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise InvalidInput("priority", f"must be from {MIN_PRIORITY} to {MAX_PRIORITY}")
    return priority


def request_from_canonical(
    req: canonical.ClassifyRequest, *, models: ModelTable = DEFAULT_MODELS
) -> Outbound[ClassifyRunCreateRequest]:
    """A canonical request as the body of Extend's `POST /classify_runs`.

    Inline bytes other than plain text raise UnsupportedFeature: the backend uploads them
    first and passes an Extend `FileRefDocument` instead (hazard 11).
    """
    notes = NoteTaker()
    file, classifier, config = _body_parts(req, models=models, notes=notes)
    body = ClassifyRunCreateRequest(
        file=file,
        classifier=classifier,
        config=config,
        metadata=UNSET if req.metadata is None else req.metadata,
        priority=UNSET if req.priority is None else req.priority,
    )
    return Outbound(body, notes.notes, category_ids(req.config.categories))


def classify_body_from_canonical(
    req: canonical.ClassifyRequest, *, models: ModelTable = DEFAULT_MODELS
) -> Outbound[ClassifyRequest]:
    """A canonical request as the body of Extend's sync `POST /classify` (no `priority`)."""
    notes = NoteTaker()
    file, classifier, config = _body_parts(req, models=models, notes=notes)
    if req.priority is not None:
        notes.dropped("priority")  # only /classify_runs takes it (contracts.md §5.1)
    body = ClassifyRequest(
        file=file,
        classifier=classifier,
        config=config,
        metadata=UNSET if req.metadata is None else req.metadata,
    )
    return Outbound(body, notes.notes, category_ids(req.config.categories))


def _body_parts(
    req: canonical.ClassifyRequest, *, models: ModelTable, notes: NoteTaker
) -> tuple[FileInput, ClassifierReference | UnsetType, ClassifyConfigInput | UnsetType]:
    if req.config.consensus > 1:  # hazard 7: no Extend equivalent; a fan-out is not done here
        raise UnsupportedFeature("n_consensus", "Extend runs one classification per request.")
    if req.bust_cache:
        notes.dropped("bust_cache")  # hazard 7
    file = file_from_canonical(req.document, notes=notes)
    if req.classifier is None:
        return file, UNSET, config_from_canonical(req.config, models=models, notes=notes)
    reference = ClassifierReference(
        id=req.classifier.id,
        version=UNSET if req.classifier.version is None else req.classifier.version,
        override_config=override_from_canonical(req.config, models=models, notes=notes),
    )
    return file, reference, UNSET


def file_from_canonical(document: canonical.Document, *, notes: NoteTaker) -> FileInput:
    """A canonical document as Extend's request `file` (hazards 11, 13, 31)."""
    match document:
        case canonical.UrlDocument(url=url, filename=filename, password=password):
            settings = UNSET if password is None else FileSettings(password=password)
            return FileInput(url=url, name=_name(filename), settings=settings)
        case canonical.TextDocument(text=text, filename=filename):
            return FileInput(text=text, name=_name(filename))
        case canonical.FileRefDocument(vendor="extend", file_id=file_id, filename=filename):
            if filename is not None:
                notes.dropped("file.name")  # `{id}` carries nothing else (contracts.md §4.2)
            return FileInput(id=file_id)
        case canonical.FileRefDocument(vendor=vendor):
            raise UnsupportedFeature("document", f"A {vendor} file id means nothing to Extend.")
        case canonical.StoredFileDocument():
            # the backend uploads the file to Extend once and names it by Extend's id
            raise UnsupportedFeature(
                "file.id", "A crosswalk file must be uploaded to Extend first."
            )
        case canonical.InlineDocument():
            return _inline_file(document)
        case _:
            assert_never(document)


def _inline_file(document: canonical.InlineDocument) -> FileInput:
    # hazard 31: inline plain text travels as `file.text`; other bytes need an upload first
    text = _plain_text(document)
    if text is None:
        raise UnsupportedFeature(
            "document.url", "Inline bytes must first be uploaded to Extend's Files API (hazard 11)."
        )
    return FileInput(text=text, name=document.filename)


def needs_upload(document: canonical.Document) -> TypeGuard[canonical.InlineDocument]:
    """Whether Extend can take `document` only as an uploaded file id: inline bytes other than
    UTF-8 plain text (hazard 11)."""
    return isinstance(document, canonical.InlineDocument) and _plain_text(document) is None


# what a document stands as while a request is translated, before it is uploaded or resolved
UPLOAD_PENDING = canonical.FileRefDocument(vendor="extend", file_id="file_upload_pending")

Body = TypeVar("Body", ClassifyRunCreateRequest, ClassifyRequest)


def with_document(outbound: Outbound[Body], document: canonical.Document) -> Outbound[Body]:
    """A body translated with `UPLOAD_PENDING` as its document, now with the document itself
    (an uploaded file's id, or what another vendor's file id resolved to)."""
    notes = NoteTaker()
    file = file_from_canonical(document, notes=notes)
    body = msgspec.structs.replace(outbound.body, file=file)
    return Outbound(body, outbound.notes + notes.notes, outbound.sent)


def _plain_text(document: canonical.InlineDocument) -> str | None:
    if document.mime_type.split(";", 1)[0].strip().lower() != "text/plain":
        return None
    try:
        return document.data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _name(filename: str | None) -> str | UnsetType:
    return UNSET if filename is None else filename
