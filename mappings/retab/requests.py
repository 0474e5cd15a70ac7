"""Retab create bodies to and from the canonical ClassifyRequest (contracts.md §2.1, §4.1, §10).

Pure: no I/O. Each function returns the value and the `Notes` of what it invented or dropped.
Errors name the wire path in the dialect of the client that sent the request: Retab paths for
`request_to_canonical`, Extend paths for `request_from_canonical` (only Extend requests carry
what Retab cannot express). Imports only the stdlib, msgspec and `mappings`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import assert_never
from urllib.parse import unquote, urlsplit

from msgspec import UNSET, UnsetType

from mappings import canonical
from mappings.errors import InvalidInput, UnsupportedFeature
from mappings.files import LinkReader, is_crosswalk_file_id
from mappings.models import DEFAULT_MODELS, ModelTable
from mappings.notes import Notes, NoteTaker
from mappings.numbers import MAX_PAGE
from mappings.retab.common import DEFAULT_MODEL, data_url, parse_data_url, retab_names
from mappings.retab.wire import CategoryInput, ClassificationRequest, FileLink, RequestDocument
from mappings.shared import Outbound, given

MAX_CONSENSUS = 16  # docs and CLI bound n_consensus to 1-16 (contracts.md §2.1)
TEXT_FILENAME = "document.txt"  # Extend names a text file `.txt` (hazard 31)
TEXT_MIME = "text/plain"


def request_to_canonical(
    req: ClassificationRequest, *, own_link: LinkReader | None = None
) -> tuple[canonical.ClassifyRequest, Notes]:
    """A Retab create body as canonical; invalid content raises InvalidInput naming the field.

    A FileRef with crosswalk's id, or a URL that `own_link` knows for one of crosswalk's own
    download links (what Retab's SDK sends for a FileRef it resolved), is a stored file.
    """
    config = canonical.RunConfig(
        categories=categories_to_canonical(req.categories),
        model=given(req.model),
        instructions=given(req.instructions),
        pages=_pages_to_canonical(given(req.first_n_pages)),
        consensus=_consensus_to_canonical(given(req.n_consensus)),
    )
    request = canonical.ClassifyRequest(
        document=_document_to_canonical(req.document, own_link),
        config=config,
        background=given(req.background) or False,
        bust_cache=given(req.bust_cache) or False,
    )
    return request, Notes()


def _document_to_canonical(doc: RequestDocument, own_link: LinkReader | None) -> canonical.Document:
    if isinstance(doc.url, str) and isinstance(doc.id, UnsetType):
        file_id = None if own_link is None else own_link(doc.url)
        if file_id is not None:  # read from the store: never fetched, whatever its scheme
            return canonical.StoredFileDocument(file_id=file_id, filename=doc.filename)
        return _url_to_canonical(doc.url, doc.filename)
    if isinstance(doc.id, str) and isinstance(doc.url, UnsetType):
        mime = given(doc.mime_type)
        if is_crosswalk_file_id(doc.id):
            return canonical.StoredFileDocument(
                file_id=doc.id, filename=doc.filename, mime_type=mime
            )
        return canonical.FileRefDocument(
            vendor="retab", file_id=doc.id, filename=doc.filename, mime_type=mime
        )
    raise InvalidInput("document", "give exactly one of `url` (MIMEData) and `id` (FileRef)")


def document_from_file_link(link: FileLink) -> canonical.Document:
    """A resolved Retab FileRef as a document, as Retab's SDK sends it: `mime_data.url` when
    given, else the download URL (contracts.md §4.1, hazard 11)."""
    mime_data = given(link.mime_data)
    url = mime_data.url if mime_data is not None else link.download_url
    return _url_to_canonical(url, link.filename)


def _url_to_canonical(url: str, filename: str) -> canonical.Document:
    scheme = url.partition(":")[0].lower()
    if scheme == "data":
        data, mime = parse_data_url(url, field="document.url")
        return canonical.InlineDocument(data=data, filename=filename, mime_type=mime)
    if scheme == "https":
        return canonical.UrlDocument(url=url, filename=filename)
    if scheme == "http":
        # Retab's SDK has no pass-through for http:// (contracts.md §4.1)
        raise UnsupportedFeature("document.url", "use an https:// URL or a data: URL")
    raise InvalidInput("document.url", "must be a data: URL or an https:// URL")


def categories_to_canonical(cats: Sequence[CategoryInput]) -> tuple[canonical.Category, ...]:
    """Retab categories as canonical; raises InvalidInput for none, or a repeated name or key."""
    if not cats:
        raise InvalidInput("categories", "give at least one category")
    names: set[str] = set()
    keys: set[str] = set()
    for index, cat in enumerate(cats):
        _check_unique(cat.name, names, f"categories[{index}].name")
        if isinstance(cat.handle_key, str):
            _check_unique(cat.handle_key, keys, f"categories[{index}].handle_key")
    return tuple(_category_to_canonical(cat) for cat in cats)


def _check_unique(value: str, seen: set[str], field: str) -> None:
    # Retab's answer is a category NAME; a repeat could not be told apart (hazard 3)
    if not value:
        raise InvalidInput(field, "must not be empty")
    if value in seen:
        raise InvalidInput(field, f"{value!r} is used by another category")
    seen.add(value)


def _category_to_canonical(cat: CategoryInput) -> canonical.Category:
    return canonical.Category(
        key=given(cat.handle_key), name=cat.name, description=given(cat.description) or ""
    )


def _pages_to_canonical(first_n_pages: int | None) -> tuple[canonical.PageRange, ...]:
    if first_n_pages is None:
        return ()
    if not 1 <= first_n_pages <= MAX_PAGE:
        raise InvalidInput("first_n_pages", f"must be a positive integer, at most {MAX_PAGE}")
    return (canonical.PageRange(start=1, end=first_n_pages),)


def _consensus_to_canonical(n_consensus: int | None) -> int:
    if n_consensus is None:
        return 1
    if not 1 <= n_consensus <= MAX_CONSENSUS:
        raise InvalidInput("n_consensus", f"must be from 1 to {MAX_CONSENSUS}")
    return n_consensus


def request_from_canonical(
    req: canonical.ClassifyRequest, *, models: ModelTable = DEFAULT_MODELS
) -> Outbound[ClassificationRequest]:
    """A Retab create body for an upstream Retab; what Retab cannot express is rejected
    (UnsupportedFeature) or, if harmless, dropped and noted."""
    if req.classifier is not None:
        # resolving a saved classifier needs Extend credentials: the gateway's job (hazard 10)
        raise UnsupportedFeature("classifier", "a saved classifier cannot run on Retab")
    notes = NoteTaker()
    config = req.config
    _note_dropped(req, notes)
    body = ClassificationRequest(
        document=_document_from_canonical(req.document, notes),
        categories=_categories_from_canonical(config.categories, notes),
        model=_model_from_canonical(config.model, models, notes),
        first_n_pages=_pages_from_canonical(config.pages),
        instructions=UNSET if config.instructions is None else config.instructions,
        n_consensus=_consensus_from_canonical(config.consensus),
        bust_cache=req.bust_cache,
        background=req.background,
    )
    return Outbound(body, notes.notes, retab_names(config.categories)[0])


def _note_dropped(req: canonical.ClassifyRequest, notes: NoteTaker) -> None:
    # Extend-only inputs with no Retab field (hazard 10); the gateway's ledger echoes metadata
    config = req.config
    extend_only = {
        "config.baseVersion": config.model_version,
        "config.advancedOptions.context": config.context,
        "config.advancedOptions.advancedMultimodalEnabled": config.multimodal,
        "config.advancedOptions.memoryEnabled": config.memory,
        "config.parseConfig": config.parse_config,
        "priority": req.priority,
        "metadata": req.metadata,
    }
    for path, value in extend_only.items():
        if value is not None:
            notes.dropped(path)


def _document_from_canonical(doc: canonical.Document, notes: NoteTaker) -> RequestDocument:
    match doc:
        case canonical.InlineDocument(data=data, filename=filename, mime_type=mime):
            return RequestDocument(filename=filename, url=data_url(data, mime))
        case canonical.UrlDocument():
            return _url_from_canonical(doc, notes)
        case canonical.TextDocument(text=text, filename=filename):
            return RequestDocument(
                filename=_text_filename(filename, notes),
                url=data_url(text.encode("utf-8"), TEXT_MIME),
            )
        case canonical.FileRefDocument():
            return _file_ref_from_canonical(doc, notes)
        case canonical.StoredFileDocument():
            # the backend hands Retab a link or the bytes instead: a crosswalk id means
            # nothing there (hazard 13)
            raise UnsupportedFeature("file.id", "a crosswalk file id means nothing to Retab")
        case _:
            assert_never(doc)


def _url_from_canonical(doc: canonical.UrlDocument, notes: NoteTaker) -> RequestDocument:
    if doc.password is not None:
        raise UnsupportedFeature("file.settings.password", "Retab cannot open encrypted PDFs")
    parts = urlsplit(doc.url)
    if parts.scheme.lower() != "https":
        raise UnsupportedFeature("file.url", "Retab accepts only https:// document URLs")
    if doc.filename is not None:
        return RequestDocument(filename=doc.filename, url=doc.url)
    # the Retab SDK names a URL document by its last path segment (contracts.md §4.1)
    notes.synthesized("document.filename")
    basename = unquote(parts.path.rsplit("/", 1)[-1])
    return RequestDocument(filename=basename or "document", url=doc.url)


def _text_filename(filename: str | None, notes: NoteTaker) -> str:
    if filename is None:
        notes.synthesized("document.filename")
        return TEXT_FILENAME
    if not filename.lower().endswith(".txt"):
        # Extend stores inline text as a .txt file; Retab infers the type from the name
        notes.synthesized("document.filename")
        return f"{filename}.txt"
    return filename


def _file_ref_from_canonical(doc: canonical.FileRefDocument, notes: NoteTaker) -> RequestDocument:
    if doc.vendor != "retab":
        # file ids share the `file_` prefix but are not portable (hazard 13)
        raise UnsupportedFeature("file.id", f"a {doc.vendor} file id means nothing to Retab")
    filename, mime = doc.filename, doc.mime_type
    if filename is None:
        notes.synthesized("document.filename")
        filename = doc.file_id
    if mime is None:
        notes.synthesized("document.mime_type")
        mime = "application/octet-stream"
    return RequestDocument(filename=filename, id=doc.file_id, mime_type=mime)


def _categories_from_canonical(
    categories: Sequence[canonical.Category], notes: NoteTaker
) -> tuple[CategoryInput, ...]:
    names, renamed = retab_names(categories)
    for index in renamed:
        notes.synthesized(f"categories[{index}].name")
    return tuple(
        CategoryInput(
            name=name,
            handle_key=UNSET if cat.key is None else cat.key,
            description=cat.description,  # the SDK always sends it, "" by default
        )
        for cat, name in zip(categories, names, strict=True)
    )


def _model_from_canonical(model: str | None, models: ModelTable, notes: NoteTaker) -> str:
    if model is None:
        notes.synthesized("model")
        return DEFAULT_MODEL
    return models.retab_model(model)  # Extend processor names through the table (hazard 6)


def _pages_from_canonical(pages: Sequence[canonical.PageRange]) -> int | UnsetType:
    if not pages:
        return UNSET
    if len(pages) == 1 and pages[0].start == 1 and pages[0].end >= 1:
        return pages[0].end
    # only a single range from page 1 is a `first_n_pages` (hazard 8)
    raise UnsupportedFeature(
        "config.advancedOptions.pageRanges", "Retab reads only the first N pages: one range from 1"
    )


def _consensus_from_canonical(consensus: int) -> int:
    if not 1 <= consensus <= MAX_CONSENSUS:
        raise UnsupportedFeature("n_consensus", f"Retab runs 1 to {MAX_CONSENSUS} votes")
    return consensus
