"""What tests/ and contract_tests/ share: the harness's fixtures (and the headless browser's,
tests/browser.py) and a Hypothesis profile.

Hypothesis runs without deadlines: under CPU load one example can take longer than the default
200 ms without anything being wrong (tests/test_ids.py).
"""

from __future__ import annotations

from hypothesis import settings

from tests.browser import chromium
from tests.harness import make_gateway

__all__ = ["chromium", "make_gateway"]
# tests.secret_watch fails the session if any test key is logged; tests.postgres is the
# session's throwaway PostgreSQL server (registered once here so every module shares it);
# tests.stores runs the store suites over SQLite and PostgreSQL
pytest_plugins = ["tests.secret_watch", "tests.postgres", "tests.stores"]

settings.register_profile("crosswalk", deadline=None)
settings.load_profile("crosswalk")
