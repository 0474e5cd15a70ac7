"""Saved classifiers (contracts.md §5.3, hazard 10): the deployment's own, from its config
(`[classifiers.<id>]`), and an Extend backend's, reached through it. The catalog serves
`GET /classifiers[/{id}]` on the Extend surface and resolves `classifier: {id}` references in
creates for whichever backend runs them.
"""

from gateway.classifiers.catalog import Catalog, ClassifierNotFound, provide_catalog

__all__ = ["Catalog", "ClassifierNotFound", "provide_catalog"]
