"""A/B comparisons between two backends (design.md §5, §8).

Holds the pure figures of the comparison report: `records` (one document's answers from both
backends), `figures` (the `Report` built from them) and its helpers `intervals`, `agreement`
and `accuracy`; and the report's renderers: `render_table` (the terminal), `render_json` and
`render_html` (one self-contained page, its charts drawn by `charts`), sharing `formats` and
`rows`. All import only the stdlib and msgspec and do no I/O (tests/test_pure_imports.py).
The ledger's comparisons and corpus replay, which feed the figures, come later.
"""
