"""The local backend's offline classifier: pure functions of text and categories.

No I/O of any kind: text normalisation (text.py), the built-in lexicon (lexicon.py), the
per-category profiles (profiles.py) and the scoring that decides (scoring.py). It imports
only the stdlib modules that do no I/O, msgspec and `mappings`; tests/test_pure_imports.py
enforces that. Extraction and fetching, which read bytes and the network, live beside it.
"""

from gateway.backends.local.classifier.scoring import Classified, Scored, classify, score

__all__ = ["Classified", "Scored", "classify", "score"]
