"""A/B comparisons between two backends (issue 12).

Holds, for now, the pure figures of the comparison report: `records` (one document's answers
from both backends), `figures` (the `Report` built from them) and its helpers `intervals`,
`agreement` and `accuracy`. These import only the stdlib and msgspec and do no I/O
(tests/test_pure_imports.py). Later this package also holds the ledger's comparisons, the
report's renderers (table, JSON, HTML) and corpus replay, which build on the figures.
"""
