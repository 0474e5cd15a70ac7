"""The `local` backend: an offline classifier with its runs kept in the ledger (design.md §4).

`classifier/` is the pure engine (text, lexicon, profiles, scoring: no I/O, a test enforces
it); beside it is everything that touches the outside world: `extract` and `fetch` read a
document, `runner` turns a request into a finished run, `backend` serves the Backend
protocol, and `worker` processes queued runs under the gateway's Supervisor.
"""
