"""What a replay is given: its options, and what they name on disk (the documents of a
folder, the category file, the expected labels) read and checked before any backend is
opened. Every problem is a `ReplayError` whose message is one line naming the file
(and the line, for labels) at fault.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec

from gateway.config import Settings
from gateway.files.sniff import HEAD_BYTES, sniff
from mappings import canonical
from mappings.category_sets import CategorySet, category_keys, category_set_from_json
from mappings.errors import InvalidInput

_HEADER = ("filename", "label")
# the owner of a replay run without --key: `GET /crosswalk/report` with this key shows it
REPLAY_KEY = "crosswalk-replay"


class ReplayOptions(msgspec.Struct, frozen=True, kw_only=True):
    """The command line of `crosswalk replay`."""

    docs: Path
    categories: Path
    backends: tuple[str, ...]
    expected: Path | None = None
    concurrency: int = 8
    out: Path | None = None
    key: str = REPLAY_KEY


class ReplayError(Exception):
    """The replay cannot start or go on; the message is one line saying why."""


class DocumentFile(msgspec.Struct, frozen=True, kw_only=True):
    """One document of the folder: its path, and its name relative to the folder (with `/`),
    which names it in the report and in the labels file."""

    path: Path
    name: str


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """The inputs, read and checked before any backend is opened."""

    documents: tuple[DocumentFile, ...]
    categories: CategorySet
    labels: dict[str, str]
    backends: tuple[str, ...]


def plan(settings: Settings, options: ReplayOptions) -> Plan:
    """Read and check the inputs; raises ReplayError naming the first problem."""
    backends = _backends(settings, options.backends)
    if options.concurrency < 1:
        raise ReplayError(f"--concurrency: at least 1, got {options.concurrency}")
    documents = find_documents(options.docs)
    categories = load_categories(options.categories)
    labels = {}
    if options.expected is not None:
        labels = load_labels(options.expected, documents, categories)
    return Plan(documents=documents, categories=categories, labels=labels, backends=backends)


def _backends(settings: Settings, names: Sequence[str]) -> tuple[str, ...]:
    known = ", ".join(sorted(settings.backends))
    for name in names:
        if name not in settings.backends:
            raise ReplayError(f"--backends: unknown backend {name!r}; configured: {known}")
        if settings.backends[name].kind != "local" and name not in settings.upstream_keys:
            # a pure proxy spends its client's own vendor key; the replay's key is crosswalk's
            raise ReplayError(
                f"--backends: {name} has no vendor key of its own (backends.{name}.api_key_env)"
                ", and a replay never sends its key to a vendor"
            )
    if len(set(names)) != len(names):
        raise ReplayError("--backends: a backend is named twice")
    if len(names) < 2:
        raise ReplayError(f"--backends: name two backends or more (configured: {known})")
    return tuple(names)


def find_documents(root: Path) -> tuple[DocumentFile, ...]:
    """Every regular file under `root`, recursively, sorted by name; hidden files and folders
    (a name starting with `.`) are skipped."""
    if not root.is_dir():
        raise ReplayError(f"{root}: not a folder")
    found: list[DocumentFile] = []
    for folder, dirs, files in os.walk(root, onerror=_unreadable_folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for file in files:
            path = Path(folder) / file
            if not file.startswith(".") and path.is_file():
                found.append(DocumentFile(path=path, name=path.relative_to(root).as_posix()))
    if not found:
        raise ReplayError(f"{root}: no documents (the folder has no regular, non-hidden file)")
    return tuple(sorted(found, key=lambda d: d.name))


def _unreadable_folder(error: OSError) -> None:
    raise ReplayError(f"{error.filename}: cannot read the folder: {error.strerror}")


def read_document(document: DocumentFile, max_bytes: int) -> canonical.InlineDocument:
    """The file as an inline document, its MIME type sniffed from its content as the gateway
    does for uploads; raises ReplayError if it cannot be read or is larger than `max_bytes`."""
    try:
        size = document.path.stat().st_size
        if size > max_bytes:
            raise ReplayError(f"{document.name}: {size} bytes, over the limit of {max_bytes}")
        data = document.path.read_bytes()
    except OSError as exc:
        raise ReplayError(f"{document.name}: cannot read: {exc.strerror}") from None
    mime = sniff(data[:HEAD_BYTES], name=document.path.name, complete=len(data) <= HEAD_BYTES)
    return canonical.InlineDocument(data=data, filename=document.path.name, mime_type=mime)


def load_categories(path: Path) -> CategorySet:
    """The categories of a JSON file in either vendor's format."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReplayError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return category_set_from_json(data)
    except InvalidInput as exc:
        where = f" at {exc.field}" if exc.field else ""
        raise ReplayError(f"{path}: not a category set{where}: {exc.reason}") from None


def load_labels(
    path: Path, documents: Sequence[DocumentFile], categories: CategorySet
) -> dict[str, str]:
    """`filename,label` rows (a header row is optional) as each document's expected label,
    in the categories' keys (a category's name is read as its key)."""
    try:
        # utf-8-sig: a spreadsheet saving CSV as UTF-8 starts it with a byte-order mark
        with path.open(encoding="utf-8-sig", newline="") as file:
            rows = list(csv.reader(file))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise ReplayError(f"{path}: cannot read: {reason}") from None
    keys = _keys_by_label(categories.categories)
    names = {document.name for document in documents}
    labels: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or (number == 1 and tuple(c.lower() for c in cells) == _HEADER):
            continue
        name, label = _label(path, number, cells, names, keys, labels)
        labels[name] = label
    return labels


def _label(
    path: Path,
    number: int,
    cells: Sequence[str],
    names: set[str],
    keys: Mapping[str, str],
    seen: Mapping[str, str],
) -> tuple[str, str]:
    where = f"{path}, line {number}"
    if len(cells) != 2:
        raise ReplayError(f"{where}: expected `filename,label`, got {len(cells)} columns")
    name, label = cells
    if name not in names:
        raise ReplayError(f"{where}: {name!r} is not a document of the folder")
    if name in seen:
        raise ReplayError(f"{where}: {name!r} is labelled twice")
    if label not in keys:
        known = ", ".join(sorted(set(keys.values())))
        raise ReplayError(f"{where}: unknown label {label!r} (the categories are: {known})")
    return name, keys[label]


def _keys_by_label(categories: Sequence[canonical.Category]) -> dict[str, str]:
    """Each category's key, by itself and by its name."""
    keys = category_keys(categories)
    by_label = {key: key for key in keys}
    for category, key in zip(categories, keys, strict=True):
        by_label.setdefault(category.name, key)
    return by_label
