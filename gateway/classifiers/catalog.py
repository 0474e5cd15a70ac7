"""The catalog of saved classifiers: the config's first, then an Extend backend's own.

The config's classifiers are the deployment's, so every key sees them, and they shadow a
vendor classifier of the same id. The vendor is the Extend surface's own backend when that is
an Extend one, else the first Extend backend by name (the one that inlined references before
the config had classifiers). Listing pages through the config's classifiers, then on into the
vendor's (mappings/extend/classifier_pages.py); with no config classifiers, listing and reading
are the vendor's answers byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import msgspec
from litestar.datastructures import MultiDict, State

from gateway.backends.base import Backend
from gateway.backends.extend import ExtendBackend
from gateway.classifiers.vendor import VendorClassifiers
from gateway.config import Settings
from gateway.context import CallContext
from gateway.errors import CrosswalkError, UpstreamFailed
from gateway.service.outcome import Relayed
from mappings import canonical, extend
from mappings.errors import InvalidInput
from mappings.shared import given

PATH = "/classifiers"


class ClassifierNotFound(CrosswalkError):
    """An unknown classifier, or a version it does not have."""

    status = 404
    code = "NOT_FOUND"


class Catalog:
    """Reads, lists and resolves saved classifiers for the Extend surface and for creates."""

    def __init__(
        self,
        saved: Mapping[str, extend.SavedClassifier],
        *,
        vendor: VendorClassifiers | None,
        started: datetime,
    ) -> None:
        self._saved = dict(saved)
        self._vendor = vendor
        self._started = started  # the timestamps of a classifier whose config gives none

    @classmethod
    def of(
        cls, settings: Settings, backends: Mapping[str, Backend], *, started: datetime
    ) -> Catalog:
        """The catalog of `settings`' classifiers over its Extend backend, if any."""
        routed = backends[settings.backend_for("extend")]
        extends = [b for _, b in sorted(backends.items()) if isinstance(b, ExtendBackend)]
        chosen = routed if isinstance(routed, ExtendBackend) else next(iter(extends), None)
        vendor = None if chosen is None else VendorClassifiers(chosen)
        return cls(settings.classifiers, vendor=vendor, started=started)

    def translates(self, body: bytes) -> bool:
        """Whether a create body names a classifier of the config. An Extend backend does
        not know it, so such a create is translated (its config inlined), never relayed."""
        return extend.referenced_classifier(body) in self._saved

    async def resolve(
        self, request: canonical.ClassifyRequest, backend: Backend, *, call: CallContext
    ) -> canonical.ClassifyRequest:
        """`request` as `backend` can run it: a classifier of the config inlined, whatever
        the backend; the vendor's own inlined for any backend but Extend, which knows it and
        gets the reference (hazard 10). The ledger keeps what this returns."""
        ref = request.classifier
        if ref is None:
            return request
        saved = self._saved.get(ref.id)
        if saved is not None:
            version = extend.saved_version(saved, ref.version, started=self._started)
            if version is None:
                message = extend.version_not_found_message(ref.id, ref.version or "")
                raise ClassifierNotFound(message)
            return extend.with_saved_config(request, version)
        if backend.dialect == "extend":
            return request
        if self._vendor is None:
            raise ClassifierNotFound(extend.classifier_not_found_message(ref.id))
        return extend.with_saved_config(request, await self._vendor.saved_version(ref, call=call))

    async def get(self, classifier_id: str, *, call: CallContext) -> extend.Classifier | Relayed:
        """One classifier with its draft version: the config's, else the vendor's answer."""
        saved = self._saved.get(classifier_id)
        if saved is not None:
            return extend.classifier_from_saved(saved, started=self._started)
        if self._vendor is None or not extend.CLASSIFIER_ID.fullmatch(classifier_id):
            # an id that is no path segment is never sent on: it would reach another path
            raise ClassifierNotFound(extend.classifier_not_found_message(classifier_id))
        answer = await self._vendor.forward(f"{PATH}/{classifier_id}", call=call)
        return Relayed(answer=answer, backend=self._vendor.name)

    async def list(
        self, params: MultiDict[str], *, call: CallContext
    ) -> extend.ClassifierList | Relayed:
        """A page of summaries: the config's classifiers, then the vendor's."""
        query = extend.classifier_query(params)
        if not self._saved and self._vendor is not None:
            answer = await self._vendor.forward(PATH, call=call, params=list(params.multi_items()))
            return Relayed(answer=answer, backend=self._vendor.name)
        offset = extend.config_offset(query.token)
        if offset is None:  # the vendor's part of the listing
            token = None if query.token == extend.VENDOR_START else query.token
            return await self._vendor_page(params, token, query.max_page_size, call=call)
        ordered = self._ordered(query)
        items = ordered[offset : offset + query.max_page_size]
        end, room = offset + len(items), query.max_page_size - len(items)
        if end < len(ordered):
            return extend.ClassifierList(data=items, next_page_token=extend.config_token(end))
        if self._vendor is None or room == 0:  # the vendor's listing, if any, comes next
            token = None if self._vendor is None else extend.VENDOR_START
            return extend.ClassifierList(data=items, next_page_token=token)
        # the config's last page is filled from the vendor's first
        vendor = await self._vendor_page(params, None, room, call=call)
        if isinstance(vendor, Relayed):
            return vendor
        return msgspec.structs.replace(vendor, data=items + vendor.data)

    def _ordered(self, query: extend.ClassifierQuery) -> tuple[extend.ClassifierSummary, ...]:
        started = self._started
        ordered = sorted(
            self._saved.values(),
            key=lambda s: extend.sort_key(s, query.sort_by, started=started),
            reverse=query.sort_dir == "desc",
        )
        return tuple(extend.summary_from_saved(s, started=started) for s in ordered)

    async def _vendor_page(
        self, params: MultiDict[str], token: str | None, size: int, *, call: CallContext
    ) -> extend.ClassifierList | Relayed:
        """A page of the vendor's classifiers, less those the config shadows; its error
        answer as it came."""
        if self._vendor is None:
            # a token of the vendor's listing, and no vendor to ask
            raise InvalidInput("nextPageToken", "is not a token this API gave", location="query")
        sent = [
            (k, v) for k, v in params.multi_items() if k not in ("nextPageToken", "maxPageSize")
        ]
        sent.append(("maxPageSize", str(size)))
        if token is not None:
            sent.append(("nextPageToken", token))
        answer = await self._vendor.forward(PATH, call=call, params=sent)
        if not answer.is_success:
            return Relayed(answer=answer, backend=self._vendor.name)
        try:
            page = extend.vendor_classifier_list_decoder.decode(answer.content)
        except msgspec.DecodeError as exc:
            raise UpstreamFailed(
                f"The upstream extend API (backend {self._vendor.name}) sent a classifier "
                f"list crosswalk cannot read: {exc}"
            ) from None
        data = tuple(item for item in page.data if extend.item_id(item) not in self._saved)
        return extend.ClassifierList(data=data, next_page_token=given(page.next_page_token))


async def provide_catalog(state: State) -> Catalog:
    """The app's catalog (made in its lifespan)."""
    catalog: Catalog = state.classifiers
    return catalog
