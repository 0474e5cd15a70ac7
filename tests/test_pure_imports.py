"""Pure packages do no I/O: `mappings/` and the local classifier import only what is allowed.

Each module's source is parsed with `ast` (nothing is imported, so a module cannot cheat by
doing I/O at import time) and every `import` and `from ... import`, at any depth, is checked
against an explicit allow-list: stdlib modules that do no I/O, msgspec, and the package's own
pure neighbours. Calls of the I/O builtins (`open`, `print`, ...) are refused as well
(design.md §1, §10).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# stdlib modules that compute and never touch files, sockets, processes, the clock's
# side effects or the environment; a submodule of an entry is allowed with it
PURE_STDLIB = frozenset(
    {
        "__future__",
        "abc",
        "base64",
        "binascii",
        "bisect",
        "collections",
        "copy",
        "dataclasses",
        "datetime",
        "decimal",
        "enum",
        "fractions",
        "functools",
        "hashlib",
        "heapq",
        "hmac",
        "html",
        "ipaddress",
        "itertools",
        "json",
        "math",
        "numbers",
        "operator",
        "re",
        "statistics",
        "string",
        "textwrap",
        "types",
        "typing",
        "unicodedata",
        "urllib.parse",  # only the parser: urllib.request opens connections
    }
)
THIRD_PARTY = frozenset({"msgspec"})
# builtins that read or write the outside world, or import by name past this check
IO_BUILTINS = frozenset({"open", "print", "input", "breakpoint", "__import__", "exec", "eval"})

# what a renderer of the report may read: the figures and how to write them
REPORT_MODULES = frozenset(
    {
        "gateway.compare.records",
        "gateway.compare.intervals",
        "gateway.compare.agreement",
        "gateway.compare.accuracy",
        "gateway.compare.figures",
        "gateway.compare.formats",
        "gateway.compare.rows",
    }
)

# each pure package (or single module), and the first-party modules it may import besides
# the list above
PURE_PACKAGES: dict[str, frozenset[str]] = {
    "mappings": frozenset({"mappings"}),
    "gateway.backends.local.classifier": frozenset(
        {"mappings", "gateway.backends.local.classifier"}
    ),
    # the report's figures and renderers; the rest of gateway/compare (ledger, replay) does I/O
    "gateway.compare.records": frozenset({"gateway.compare.records"}),
    "gateway.compare.intervals": frozenset({"gateway.compare.intervals"}),
    "gateway.compare.agreement": frozenset({"gateway.compare.records"}),
    "gateway.compare.accuracy": frozenset({"gateway.compare.intervals"}),
    "gateway.compare.figures": frozenset(
        {
            "gateway.compare.records",
            "gateway.compare.intervals",
            "gateway.compare.agreement",
            "gateway.compare.accuracy",
        }
    ),
    # the report's renderers: text, JSON and HTML built from a Report, the caller does the I/O
    "gateway.compare.formats": frozenset({"gateway.compare.intervals"}),
    "gateway.compare.charts": frozenset({"gateway.compare.charts"}),
    "gateway.compare.rows": REPORT_MODULES,
    "gateway.compare.render_json": REPORT_MODULES,
    "gateway.compare.render_table": REPORT_MODULES,
    "gateway.compare.render_html": REPORT_MODULES | {"gateway.compare.charts"},
    # the ledger's comparisons read as the report's inputs, and as the endpoint lists them
    "gateway.compare.from_ledger": frozenset(
        {"gateway.compare.records", "gateway.store.comparison_records", "mappings"}
    ),
    "gateway.compare.listing": frozenset(
        {"gateway.compare.from_ledger", "gateway.store.comparison_records", "mappings"}
    ),
    # what a report is asked for, read from an option's or a query parameter's text
    "gateway.compare.params": frozenset({"mappings"}),
    "gateway.store.comparison_records": frozenset({"mappings"}),
}


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PURE_PACKAGES:
        folder = ROOT.joinpath(*package.split("."))
        single = folder.with_suffix(".py")
        for path in [single] if single.is_file() else sorted(folder.rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _package_of(module: str) -> str:
    return next(p for p in PURE_PACKAGES if module == p or module.startswith(p + "."))


def _within(name: str, allowed: frozenset[str]) -> bool:
    return any(name == a or name.startswith(a + ".") for a in allowed)


def _imported(node: ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The modules a `from` import may load, relative ones resolved against `module`."""
    base = node.module or ""
    if node.level:
        anchor = module.split(".")
        anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
        base = ".".join([*anchor, base] if base else anchor)
    # `from urllib import request` loads urllib.request: check each name as a submodule too
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def violations(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """Every forbidden import or I/O builtin call in `source`, as a readable line."""
    allowed = PURE_STDLIB | THIRD_PARTY | PURE_PACKAGES[_package_of(module)]
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
            found += [f"line {node.lineno}: import {n}" for n in names if not _within(n, allowed)]
        elif isinstance(node, ast.ImportFrom):
            base, *submodules = _imported(node, module, is_package)
            if not (_within(base, allowed) or all(_within(s, allowed) for s in submodules)):
                found.append(f"line {node.lineno}: from {base} import ...")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in IO_BUILTINS
        ):
            found.append(f"line {node.lineno}: calls {node.func.id}()")
    return found


@pytest.mark.parametrize(("module", "path"), [pytest.param(m, p, id=m) for m, p in _modules()])
def test_pure_module_imports_nothing_that_does_io(module: str, path: Path) -> None:
    """Every module of a pure package imports only the stdlib's pure modules, msgspec and
    its allowed first-party packages, and calls no I/O builtin."""
    found = violations(path.read_text(encoding="utf-8"), module, is_package=path.stem == "__init__")
    assert not found, f"{module} ({path.relative_to(ROOT)}) is pure but has: " + "; ".join(found)


def test_both_pure_packages_are_checked() -> None:
    """The walk finds modules in every pure package, so a move cannot silently skip one."""
    checked = {_package_of(module) for module, _ in _modules()}
    assert checked == set(PURE_PACKAGES)


@pytest.mark.parametrize(
    "source",
    [
        "import os",
        "import logging",
        "import urllib.request",
        "from urllib import request",
        "from pathlib import Path",
        "import structlog",
        "from litestar import get",
        "import httpx",
        "from gateway.config import Settings",
        "from gateway.backends.local import extract",
        "def f():\n    import sqlite3",
        "open('x')",
        "print('x')",
        "from .. import runner",
    ],
)
def test_the_check_catches_io(source: str) -> None:
    """Forbidden imports (nested, relative or from a non-pure gateway module) are reported."""
    assert violations(source, "gateway.backends.local.classifier.scoring")


@pytest.mark.parametrize(
    "source",
    [
        "from collections.abc import Sequence",
        "from urllib.parse import urlsplit",
        "import msgspec",
        "from mappings import canonical",
        "from gateway.backends.local.classifier.text import terms",
        "from . import text",
    ],
)
def test_the_check_allows_pure_imports(source: str) -> None:
    """Pure stdlib modules, msgspec, mappings and the classifier's own modules pass."""
    assert violations(source, "gateway.backends.local.classifier.scoring") == []


@pytest.mark.parametrize(
    ("source", "pure"),
    [
        ("from gateway.compare.records import Comparison", True),
        ("from gateway.compare import agreement", True),
        ("from gateway.config import Settings", False),
        ("from gateway.compare import ledger", False),
        ("from mappings import canonical", False),
    ],
)
def test_the_figures_may_import_only_their_pure_neighbours(source: str, pure: bool) -> None:
    """The report's figures import each other, never the rest of gateway/ (not even mappings)."""
    assert (violations(source, "gateway.compare.figures") == []) is pure


@pytest.mark.parametrize(
    ("source", "pure"),
    [
        ("from gateway.compare import formats", True),
        ("from gateway.compare.figures import Report", True),
        ("from gateway.compare.charts import bar_chart", True),
        ("from gateway.compare import ledger", False),
        ("from datetime import datetime", True),
        ("import time", False),
    ],
)
def test_the_renderers_may_import_only_the_figures(source: str, pure: bool) -> None:
    """A renderer reads the report's pure modules and formats, never the ledger or the clock."""
    assert (violations(source, "gateway.compare.render_html") == []) is pure
