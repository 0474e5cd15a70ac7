"""A classification's decision read back into the categories the caller sent: the key the
caller knows a category by (its key, else its name). Used wherever two backends' answers are
compared (the comparisons store, the report, replay). Pure: canonical types only.
"""

from __future__ import annotations

from collections.abc import Sequence

from mappings import canonical


def label_of(decision: canonical.Decision, categories: Sequence[canonical.Category]) -> str:
    """The caller's key for the category `decision` names."""
    if decision.category_key is not None:
        for category in categories:
            if category.key is not None and category.key == decision.category_key:
                return category.key
    for category in categories:
        if category.name == decision.category_name:
            return category.key if category.key is not None else category.name
    return decision.category_key if decision.category_key is not None else decision.category_name
