"""The state and notify conformance suites, once per bundled provider and configuration."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import psycopg
import pytest
import pytest_asyncio
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import create_async_engine

from queuert.adapters import validate_uuid
from queuert.conformance import NotifyConformanceFixture, StateConformanceFixture
from queuert.conformance.pytest import NotifyAdapterConformance, StateAdapterConformance
from queuert_postgres import (
    AsyncpgConnectionProvider,
    AsyncpgNotifyProvider,
    AsyncpgPoolProvider,
    PgStateAdapter,
    PsycopgConnectionProvider,
    PsycopgNotifyProvider,
    PsycopgPoolProvider,
    SqlAlchemyAsyncProvider,
    create_pg_notify_adapter,
    create_pg_state_adapter,
)

pytestmark = pytest.mark.postgres

StateFixture = AsyncIterator[StateConformanceFixture[Any]]


def _fixture(adapter: PgStateAdapter[Any], poison_with: Any, **extra: Any) -> StateConformanceFixture[Any]:
    return StateConformanceFixture(
        state_adapter=adapter,
        generate_invalid_id=lambda: "not-a-uuid",
        poison_transaction=poison_with(adapter),
        reset=adapter.truncate,
        **extra,
    )


class TestAsyncpgPoolStateAdapter(StateAdapterConformance):
    keep_connections_s = 0.0

    @pytest_asyncio.fixture
    async def state_conformance_fixture(
        self, postgres_dsn: str, migrated_schema: str, poison_with: Any
    ) -> StateFixture:
        pool = await asyncpg.create_pool(postgres_dsn, min_size=1, max_size=20)
        adapter = await create_pg_state_adapter(
            state_provider=AsyncpgPoolProvider(pool, close_pool=True, keep_connections_s=self.keep_connections_s),
            schema=migrated_schema,
            validate_id=validate_uuid,
        )
        yield _fixture(adapter, poison_with)
        await adapter.close()


class TestAsyncpgPoolKeepingConnectionsStateAdapter(TestAsyncpgPoolStateAdapter):
    """The pool provider tuned for a dedicated worker pool: connections kept between uses."""

    keep_connections_s = 0.05


class TestAsyncpgConnectionStateAdapter(StateAdapterConformance):
    @pytest_asyncio.fixture
    async def state_conformance_fixture(
        self, postgres_dsn: str, migrated_schema: str, poison_with: Any
    ) -> StateFixture:
        conn = await asyncpg.connect(postgres_dsn)
        adapter = await create_pg_state_adapter(
            state_provider=AsyncpgConnectionProvider(conn, close_connection=True),
            schema=migrated_schema,
            validate_id=validate_uuid,
        )
        yield _fixture(adapter, poison_with)
        await adapter.close()


class TestPsycopgPoolStateAdapter(StateAdapterConformance):
    @pytest_asyncio.fixture
    async def state_conformance_fixture(
        self, postgres_dsn: str, migrated_schema: str, poison_with: Any
    ) -> StateFixture:
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(postgres_dsn, min_size=1, max_size=20, open=False)
        await pool.open(wait=True)
        adapter = await create_pg_state_adapter(
            state_provider=PsycopgPoolProvider(pool, close_pool=True), schema=migrated_schema, validate_id=validate_uuid
        )
        yield _fixture(adapter, poison_with)
        await adapter.close()


class TestPsycopgConnectionStateAdapter(StateAdapterConformance):
    @pytest_asyncio.fixture
    async def state_conformance_fixture(
        self, postgres_dsn: str, migrated_schema: str, poison_with: Any
    ) -> StateFixture:
        conn = await psycopg.AsyncConnection.connect(postgres_dsn)
        adapter = await create_pg_state_adapter(
            state_provider=PsycopgConnectionProvider(conn, close_connection=True),
            schema=migrated_schema,
            validate_id=validate_uuid,
        )
        yield _fixture(adapter, poison_with)
        await adapter.close()


class TestSqlAlchemyStateAdapter(StateAdapterConformance):
    @pytest_asyncio.fixture
    async def state_conformance_fixture(
        self, postgres_dsn: str, migrated_schema: str, poison_with: Any
    ) -> StateFixture:
        engine = create_async_engine(postgres_dsn.replace("postgresql://", "postgresql+asyncpg://", 1), pool_size=20)
        adapter = await create_pg_state_adapter(
            state_provider=SqlAlchemyAsyncProvider(engine, dispose_engine=True),
            schema=migrated_schema,
            validate_id=validate_uuid,
        )
        yield _fixture(adapter, poison_with)
        await adapter.close()


@pytest.fixture(scope="session")
def text_id_schema(schemas: Any) -> str:
    return str(schemas.migrated(table_prefix="myapp_", id_type="text"))


class TestCustomNamesTextIdStateAdapter(StateAdapterConformance):
    """Another schema and prefix, `text` ids shaped `job.<uuid>` and a custom id validator."""

    @pytest_asyncio.fixture
    async def state_conformance_fixture(self, postgres_dsn: str, text_id_schema: str, poison_with: Any) -> StateFixture:
        schema = text_id_schema
        pool = await asyncpg.create_pool(postgres_dsn, min_size=1, max_size=20)

        def generate_id() -> str:
            return f"job.{uuid.uuid4()}"

        adapter = await create_pg_state_adapter(
            state_provider=AsyncpgPoolProvider(pool, close_pool=True),
            schema=schema,
            table_prefix="myapp_",
            id_type="text",
            generate_id=generate_id,
            validate_id=lambda value: value.startswith("job."),
        )
        yield StateConformanceFixture(
            state_adapter=adapter,
            generate_id=generate_id,
            generate_invalid_id=lambda: str(uuid.uuid4()),
            poison_transaction=poison_with(adapter),
            reset=adapter.truncate,
        )
        await adapter.close()


class TestAsyncpgPoolNotifyAdapter(NotifyAdapterConformance):
    @pytest_asyncio.fixture
    async def notify_conformance_fixture(self, postgres_dsn: str) -> AsyncIterator[NotifyConformanceFixture]:
        pool = await asyncpg.create_pool(postgres_dsn, min_size=1, max_size=4)
        adapter = await create_pg_notify_adapter(
            notify_provider=AsyncpgNotifyProvider(pool), channel_prefix=f"qt_{uuid.uuid4().hex[:8]}"
        )
        yield NotifyConformanceFixture(notify_adapter=adapter)
        await adapter.close()
        await pool.close()


class TestAsyncpgDsnNotifyAdapter(NotifyAdapterConformance):
    @pytest_asyncio.fixture
    async def notify_conformance_fixture(self, postgres_dsn: str) -> AsyncIterator[NotifyConformanceFixture]:
        adapter = await create_pg_notify_adapter(notify_provider=AsyncpgNotifyProvider(postgres_dsn))
        yield NotifyConformanceFixture(notify_adapter=adapter)
        await adapter.close()


class TestPsycopgNotifyAdapter(NotifyAdapterConformance):
    @pytest_asyncio.fixture
    async def notify_conformance_fixture(self, postgres_dsn: str) -> AsyncIterator[NotifyConformanceFixture]:
        adapter = await create_pg_notify_adapter(
            notify_provider=PsycopgNotifyProvider(postgres_dsn), channel_prefix=f"QT_{uuid.uuid4().hex[:8]}"
        )
        yield NotifyConformanceFixture(notify_adapter=adapter)
        await adapter.close()
