"""PostgreSQL backend for queuert.

Provides a state adapter that keeps chains and jobs in PostgreSQL tables (with schema
migrations) and a notify adapter that wakes workers through LISTEN/NOTIFY. Both are
built from a provider wrapping the application's own driver: asyncpg out of the box,
psycopg 3 with the ``psycopg`` extra and SQLAlchemy's asyncio engine with the
``sqlalchemy`` extra.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._asyncpg import AsyncpgConnection as AsyncpgConnection
from ._asyncpg import AsyncpgConnectionProvider as AsyncpgConnectionProvider
from ._asyncpg import AsyncpgNotifyProvider as AsyncpgNotifyProvider
from ._asyncpg import AsyncpgPoolProvider as AsyncpgPoolProvider
from ._errors import PoolExhaustedError as PoolExhaustedError
from ._errors import PostgresConnectionError as PostgresConnectionError
from ._errors import SchemaNotFoundError as SchemaNotFoundError
from ._notify_adapter import PgNotifyAdapter as PgNotifyAdapter
from ._notify_adapter import PgNotifyProvider as PgNotifyProvider
from ._notify_adapter import create_pg_notify_adapter as create_pg_notify_adapter
from ._provider import PgStateProvider as PgStateProvider
from ._provider import RuntimeType as RuntimeType
from ._schema import MIGRATIONS as MIGRATIONS
from ._schema import get_migration_sql as get_migration_sql
from ._schema import get_schema_sql as get_schema_sql
from ._state_adapter import PgStateAdapter as PgStateAdapter
from ._state_adapter import create_pg_state_adapter as create_pg_state_adapter

if TYPE_CHECKING:
    from ._psycopg import PsycopgConnectionProvider as PsycopgConnectionProvider
    from ._psycopg import PsycopgNotifyProvider as PsycopgNotifyProvider
    from ._psycopg import PsycopgPoolProvider as PsycopgPoolProvider
    from ._sqlalchemy import SqlAlchemyAsyncProvider as SqlAlchemyAsyncProvider
    from ._sqlalchemy import SqlAlchemyTxCtx as SqlAlchemyTxCtx

# Providers for optional drivers load on first use, so `import queuert_postgres` works
# without the extras; using one without its extra raises an ImportError naming the extra.
_LAZY = {
    "PsycopgConnectionProvider": "._psycopg",
    "PsycopgNotifyProvider": "._psycopg",
    "PsycopgPoolProvider": "._psycopg",
    "SqlAlchemyAsyncProvider": "._sqlalchemy",
    "SqlAlchemyTxCtx": "._sqlalchemy",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = (
    # schema and migrations
    "MIGRATIONS",
    # asyncpg (always installed)
    "AsyncpgConnection",
    "AsyncpgConnectionProvider",
    "AsyncpgNotifyProvider",
    "AsyncpgPoolProvider",
    # notify adapter
    "PgNotifyAdapter",
    "PgNotifyProvider",
    # state adapter
    "PgStateAdapter",
    "PgStateProvider",
    # errors
    "PoolExhaustedError",
    "PostgresConnectionError",
    # psycopg 3 (extra "psycopg")
    "PsycopgConnectionProvider",
    "PsycopgNotifyProvider",
    "PsycopgPoolProvider",
    "RuntimeType",
    "SchemaNotFoundError",
    # SQLAlchemy asyncio (extra "sqlalchemy")
    "SqlAlchemyAsyncProvider",
    "SqlAlchemyTxCtx",
    "create_pg_notify_adapter",
    "create_pg_state_adapter",
    "get_migration_sql",
    "get_schema_sql",
)
