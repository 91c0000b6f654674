"""Fixtures for the PostgreSQL tests: a reachable server, migrated schemas, and adapters per driver.

The server comes from `QUEUERT_POSTGRES_DSN` (default
`postgresql://postgres@127.0.0.1:5432/test`). When it cannot be reached, a throwaway
container is started if `testcontainers` is installed and a Docker engine answers;
otherwise the tests are skipped with a reason, and with `CI=true` they fail instead (the
rule lives in `queuert.testing.services`).

Isolation: every test session works in schemas of its own (`qt_<random>_...`), dropped at
the end. Tests share one migrated schema per configuration and start from an empty store
(the adapter's `truncate()`); tests about the schema itself create and drop fresh schemas.
"""

from __future__ import annotations

import asyncio
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from queuert.adapters import validate_uuid
from queuert.testing.services import TcpRelay
from queuert_postgres import AsyncpgPoolProvider, PgStateAdapter, create_pg_state_adapter
from queuert_postgres.testing import resolve_postgres

POISON_SQL = "SELECT 1 FROM nonexistent_table_queuert_poison_xyz"
SESSION_TAG = uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A DSN of a reachable server, or a skip that names why there is none."""
    with resolve_postgres() as dsn:
        yield dsn


async def _execute(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class SchemaFactory:
    """Creates uniquely named schemas for this session and drops them all at the end."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.created: list[str] = []
        self._migrated: dict[tuple[str, str], str] = {}

    def create(self, label: str = "s") -> str:
        name = f"qt_{SESSION_TAG}_{label}_{uuid.uuid4().hex[:6]}"
        asyncio.run(_execute(self.dsn, f"CREATE SCHEMA {name}"))
        self.created.append(name)
        return name

    def drop(self, name: str) -> None:
        asyncio.run(_execute(self.dsn, f"DROP SCHEMA IF EXISTS {name} CASCADE"))

    def migrated(self, *, table_prefix: str = "queuert_", id_type: str = "uuid") -> str:
        """A schema with the latest queuert tables, shared by every test that asks for this configuration."""
        key = (table_prefix, id_type)
        if key not in self._migrated:
            schema = self.create("m")

            async def migrate() -> None:
                pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=2)
                adapter = await create_pg_state_adapter(
                    state_provider=AsyncpgPoolProvider(pool, close_pool=True),
                    schema=schema,
                    table_prefix=table_prefix,
                    id_type=id_type,
                )
                await adapter.migrate_to_latest()
                await adapter.close()

            asyncio.run(migrate())
            self._migrated[key] = schema
        return self._migrated[key]


@pytest.fixture(scope="session")
def schemas(postgres_dsn: str) -> Iterator[SchemaFactory]:
    factory = SchemaFactory(postgres_dsn)
    yield factory
    for name in factory.created:
        factory.drop(name)


@pytest.fixture(scope="session")
def migrated_schema(schemas: SchemaFactory) -> str:
    """The shared schema with the default table prefix and UUID ids."""
    return schemas.migrated()


class OutageProxy(TcpRelay):
    """A `TcpRelay` in front of the test server, with the DSN that reaches the server through it.

    It works against any `QUEUERT_POSTGRES_DSN`; `go_down()` plays a server restart for the
    clients behind it while the server itself keeps serving the other tests.
    """

    def __init__(self, dsn: str) -> None:
        self._dsn = urllib.parse.urlsplit(dsn)
        super().__init__(self._dsn.hostname or "127.0.0.1", self._dsn.port or 5432)

    @property
    def dsn(self) -> str:
        netloc = self._dsn.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{self.port}"
        return self._dsn._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host).geturl()


@pytest_asyncio.fixture
async def outage_proxy(postgres_dsn: str) -> AsyncIterator[OutageProxy]:
    """An `OutageProxy` in front of the test server, up at the start and shut down afterwards."""
    async with OutageProxy(postgres_dsn) as proxy:
        yield proxy


NewPool = Callable[..., Awaitable["asyncpg.Pool[Any]"]]


@pytest_asyncio.fixture
async def new_pool() -> AsyncIterator[NewPool]:
    """A factory of pools for one test, each closed at teardown even when the test fails first.

    A pool left open would be collected during a later test, whose checks for unclosed
    resources would then fail in its place. Call it as `await new_pool(dsn, **kwargs)`.
    """
    created: list[asyncpg.Pool[Any]] = []

    async def create(dsn: str, **kwargs: Any) -> asyncpg.Pool[Any]:
        pool: asyncpg.Pool[Any] = await asyncpg.create_pool(dsn, **kwargs)
        created.append(pool)
        return pool

    yield create
    for pool in created:
        if pool.is_closing():
            continue
        try:
            await asyncio.wait_for(pool.close(), timeout=5)
        except (TimeoutError, asyncpg.InterfaceError):
            pool.terminate()


@pytest_asyncio.fixture
async def pool(postgres_dsn: str) -> AsyncIterator[asyncpg.Pool[Any]]:
    pool = await asyncpg.create_pool(postgres_dsn, min_size=1, max_size=10)
    try:
        yield pool
    finally:
        await pool.close()


@pytest_asyncio.fixture
async def adapter(pool: asyncpg.Pool[Any], migrated_schema: str) -> AsyncIterator[PgStateAdapter[Any]]:
    """An asyncpg-pool adapter on an empty store in the shared schema."""
    state = await create_pg_state_adapter(
        state_provider=AsyncpgPoolProvider(pool), schema=migrated_schema, validate_id=validate_uuid
    )
    await state.truncate()
    yield state
    await state.close()


PoisonFactory = Callable[[PgStateAdapter[Any]], Callable[[Any], Awaitable[None]]]
WaitUntil = Callable[..., Awaitable[None]]


def _poison_with(adapter: PgStateAdapter[Any]) -> Callable[[Any], Awaitable[None]]:
    async def poison(tx_ctx: Any) -> None:
        await adapter.state_provider.execute_sql(
            tx_ctx=tx_ctx, sql=POISON_SQL, params=(), param_types={}, column_types={}, read_only=True
        )

    return poison


@pytest.fixture
def poison_with() -> PoisonFactory:
    """Builds the conformance `poison_transaction` hook: a failing statement that aborts the transaction."""
    return _poison_with


async def _wait_until(predicate: Callable[[], Awaitable[bool]], *, timeout_s: float = 5.0, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def wait_until() -> WaitUntil:
    """Polls an async predicate until it holds, failing after a bounded time."""
    return _wait_until


@pytest_asyncio.fixture
async def fresh_schema(pool: asyncpg.Pool[Any]) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """A factory of empty schemas for this test; all of them are dropped afterwards."""
    created: list[str] = []

    async def create() -> str:
        name = f"qt_{SESSION_TAG}_f_{uuid.uuid4().hex[:6]}"
        await pool.execute(f"CREATE SCHEMA {name}")
        created.append(name)
        return name

    yield create
    for name in created:
        await pool.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
