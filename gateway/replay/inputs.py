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
from gateway.replay.kept_out import KeptOut
from gateway.replay.names import shown
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
    name: str  # shown escaped (gateway/replay/names.py): what the report and labels name
    raw: bytes  # the name's own bytes, which its comparison id is made from


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """The inputs, read and checked before any backend is opened."""

    documents: tuple[DocumentFile, ...]
    categories: CategorySet
    labels: dict[str, str]
    labelled: bool  # --expected given: its labels replace what a rerun finds recorded
    backends: tuple[str, ...]
    notes: tuple[str, ...] = ()  # files left out, sub-folders that could not be read
    unread: int = 0  # how many sub-folders could not be read


def plan(settings: Settings, options: ReplayOptions) -> Plan:
    """Read and check the inputs; raises ReplayError naming the first problem."""
    backends = _backends(settings, options.backends)
    if options.concurrency < 1:
        raise ReplayError(f"--concurrency: at least 1, got {options.concurrency}")
    _check_key(settings, options.key)
    if options.out is not None:
        _check_page(options.out)
    inputs: dict[Path | None, str] = {
        options.out: "the report page (--out)",
        options.categories: "the category file (--categories)",
        options.expected: "the expected labels (--expected)",
    }
    folder = find_documents(options.docs, KeptOut(settings, inputs))
    categories = load_categories(options.categories)
    labels = {}
    if options.expected is not None:
        labels = load_labels(options.expected, folder.documents, categories)
    return Plan(
        documents=folder.documents,
        categories=categories,
        labels=labels,
        labelled=options.expected is not None,
        backends=backends,
        notes=folder.notes,
        unread=folder.unread,
    )


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


def _check_key(settings: Settings, key: str) -> None:
    """Where the gateway accepts only its configured keys, the comparisons must belong to
    one of them: another key's are seen by no client."""
    keys = {secret.reveal() for secret in settings.api_keys}
    if keys and key not in keys:
        raise ReplayError(
            "--key: not one of the gateway's keys (auth.api_keys_env), so no client could see"
            " the comparisons; give one of them with --key or $CROSSWALK_KEY"
        )


def _check_page(page: Path) -> None:
    """The report page can be written where it is asked for, checked before anything is
    sent rather than found out once every document has been."""
    if page.is_dir():
        raise ReplayError(f"--out: {page}: is a folder")
    folder = page.parent
    if not folder.is_dir():
        raise ReplayError(f"--out: {folder}: no such folder")
    if page.exists() and not os.access(page, os.W_OK):
        raise ReplayError(f"--out: {page}: not writable")
    if not page.exists() and not os.access(folder, os.W_OK | os.X_OK):
        raise ReplayError(f"--out: {folder}: cannot write in this folder")


class Folder(msgspec.Struct, frozen=True, kw_only=True):
    """The documents found, one line for each file left out or sub-folder that could not be
    read, and how many of those sub-folders there were."""

    documents: tuple[DocumentFile, ...]
    notes: tuple[str, ...] = ()
    unread: int = 0


def find_documents(root: Path, kept_out: KeptOut | None = None) -> Folder:
    """Every regular file under `root`, recursively, sorted by name; hidden files and folders
    (a name starting with `.`) are skipped, and so is what `kept_out` names (said in a note),
    and a sub-folder that cannot be read (said too)."""
    if not root.is_dir():
        raise ReplayError(f"{root}: not a folder")
    found: list[DocumentFile] = []
    notes: list[str] = []
    unread = 0

    def unreadable(error: OSError) -> None:
        nonlocal unread
        where = Path(str(error.filename))
        if where == root:
            raise ReplayError(f"{root}: cannot read the folder: {error.strerror}")
        unread += 1
        notes.append(f"skipped: {_name(where, root)}/: cannot read the folder: {error.strerror}")

    for folder, dirs, files in os.walk(root, onerror=unreadable):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for file in files:
            path = Path(folder) / file
            if file.startswith(".") or not path.is_file():
                continue
            reason = kept_out.reason(path) if kept_out is not None else None
            if reason is not None:
                notes.append(f"left out: {_name(path, root)} ({reason})")
                continue
            raw = os.fsencode(path.relative_to(root).as_posix())
            found.append(DocumentFile(path=path, name=_name(path, root), raw=raw))
    if not found:
        raise ReplayError(f"{root}: no documents (the folder has no regular, non-hidden file)")
    return Folder(
        documents=tuple(sorted(found, key=lambda d: d.raw)), notes=tuple(notes), unread=unread
    )


def _name(path: Path, root: Path) -> str:
    return shown(path.relative_to(root).as_posix())


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
    filename = document.name.rpartition("/")[2]  # a vendor is sent the name as shown
    mime = sniff(data[:HEAD_BYTES], name=filename, complete=len(data) <= HEAD_BYTES)
    return canonical.InlineDocument(data=data, filename=filename, mime_type=mime)


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
