"""PostgreSQL backend for queuert.

Provides a state adapter that keeps chains and jobs in PostgreSQL tables (with schema
migrations) and a notify adapter that wakes workers through LISTEN/NOTIFY. Both are
built from a provider wrapping the application's own driver: asyncpg out of the box,
psycopg 3 with the ``psycopg`` extra and SQLAlchemy's asyncio engine with the
``sqlalchemy`` extra.
"""

__all__: tuple[str, ...] = ()
