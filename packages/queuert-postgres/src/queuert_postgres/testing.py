"""PostgreSQL for tests: the server to run against, and a migrated schema of a test's own.

```python
import pytest
from queuert_postgres.testing import migrated_state_adapter, resolve_postgres


@pytest.fixture(scope="session")
def postgres_dsn():
    with resolve_postgres() as dsn:
        yield dsn


async def test_something(postgres_dsn):
    async with migrated_state_adapter(postgres_dsn) as state:
        ...
```

`resolve_postgres` follows `queuert.testing.services`: `QUEUERT_POSTGRES_DSN` (default
`postgresql://postgres@127.0.0.1:5432/test`), else a throwaway `postgres:15` container when
testcontainers and a Docker engine are there, else a skip (a failure with `CI=true`).
"""

from __future__ import annotations

import contextlib
import importlib
import uuid
from typing import TYPE_CHECKING, Any

import asyncpg

from queuert.adapters import validate_uuid
from queuert.testing.services import resolve_service

from ._asyncpg import AsyncpgPoolProvider
from ._state_adapter import PgStateAdapter, create_pg_state_adapter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

__all__ = ("DEFAULT_DSN", "migrated_state_adapter", "resolve_postgres")

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
"""The server tests use when `QUEUERT_POSTGRES_DSN` is not set."""


async def _probe(dsn: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=5)
    await conn.close()


def _start_container() -> tuple[str, Callable[[], None]]:
    module = importlib.import_module("testcontainers.postgres")
    container = module.PostgresContainer("postgres:15", driver=None).start()
    return str(container.get_connection_url()), container.stop


@contextlib.contextmanager
def resolve_postgres() -> Iterator[str]:
    """Yield the DSN of a reachable server (see the module docstring), or skip the tests that need one."""
    with resolve_service(
        "PostgreSQL",
        env_var="QUEUERT_POSTGRES_DSN",
        default_url=DEFAULT_DSN,
        probe=_probe,
        container_factory=_start_container,
    ) as dsn:
        yield dsn


@contextlib.asynccontextmanager
async def migrated_state_adapter(dsn: str, **options: Any) -> AsyncIterator[PgStateAdapter[Any]]:
    """An adapter over an asyncpg pool on a new, migrated schema with UUID ids, dropped on exit.

    `options` go to `create_pg_state_adapter` (the schema and the provider are set here).
    """
    schema = f"qt_{uuid.uuid4().hex[:12]}"
    pool: asyncpg.Pool[Any] = await asyncpg.create_pool(dsn, min_size=1, max_size=5)
    try:
        await pool.execute(f"CREATE SCHEMA {schema}")
        options.setdefault("validate_id", validate_uuid)
        state = await create_pg_state_adapter(state_provider=AsyncpgPoolProvider(pool), schema=schema, **options)
        try:
            await state.migrate_to_latest()
            yield state
        finally:
            await state.close()
            await pool.execute(f"DROP SCHEMA {schema} CASCADE")
    finally:
        await pool.close()
