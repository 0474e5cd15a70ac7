"""Signed webhook delivery in Extend's format, for runs on any backend (contracts.md §8).

`signing` signs and checks bodies as Extend does, `envelope` renders an outbox event as the
`{eventId, eventType, payload}` body, `guard` checks an endpoint's address with the document
URLs' policy, `retry` says when a failed delivery is tried again, `dispatcher` delivers the
ledger's outbox (started by `opening`), `relay` takes in the events Extend itself sends to
crosswalk, and `admin` is what `crosswalk webhooks list|retry` do.
"""
