"""The ledger in one PostgreSQL database, shared by every replica (design.md §9).

The ledger's SQL is the same as SQLite's (the job functions in `gateway/store/sqlite/`, run on
any `gateway.store.sql.Connection`); this package holds only what differs: `connection`
adapts a psycopg connection to that interface, `runner` runs the jobs on a connection pool,
`migrations` and `schema` keep the database's tables, and `ledger` opens it all.
`urls` shows a database URL without its password.
"""
