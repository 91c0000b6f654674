"""The integration suites of `queuert.testing.suites` over the PostgreSQL state adapter.

The matrix of the specification: PostgreSQL state with LISTEN/NOTIFY, with no notify
adapter (workers poll) and with the in-process notify adapter, on asyncpg; and one row on
psycopg (state and LISTEN/NOTIFY).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest
from psycopg_pool import AsyncConnectionPool

from queuert import create_in_process_notify_adapter
from queuert.adapters import NotifyAdapter, validate_uuid
from queuert.testing.suites import (
    BlockerChainsSuite,
    ChainsSuite,
    ClientQueriesSuite,
    DeduplicationSuite,
    DeletionSuite,
    NotifyResilienceSuite,
    NotifySuite,
    ProcessErrorHandlingSuite,
    ProcessModesSuite,
    ProcessSuite,
    ReaperSuite,
    SchedulingSuite,
    StartChainsSuite,
    StateResilienceSuite,
    SuiteAdapters,
    TriggerSuite,
    WaitChainCompletionSuite,
    WorkerlessCompletionSuite,
    WorkerSuite,
)
from queuert_postgres import (
    AsyncpgNotifyProvider,
    AsyncpgPoolProvider,
    PgStateAdapter,
    PsycopgNotifyProvider,
    PsycopgPoolProvider,
    create_pg_notify_adapter,
    create_pg_state_adapter,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

pytestmark = pytest.mark.postgres

POISON_SQL = "SELECT 1 FROM nonexistent_table_queuert_poison_xyz"


def _poison(adapter: PgStateAdapter[Any]) -> Any:
    async def poison(tx_ctx: Any) -> None:
        await adapter.state_provider.execute_sql(
            tx_ctx=tx_ctx, sql=POISON_SQL, params=(), param_types={}, column_types={}, read_only=True
        )

    return poison


async def _adapters(notify: str, postgres_dsn: str, schema: str) -> AsyncIterator[SuiteAdapters]:
    closers: list[Any] = []
    notify_adapter: NotifyAdapter | None = None
    state: PgStateAdapter[Any]
    if notify.startswith("psycopg"):
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(postgres_dsn, min_size=1, max_size=20, open=False)
        await pool.open(wait=True)
        state = await create_pg_state_adapter(
            state_provider=PsycopgPoolProvider(pool, close_pool=True), schema=schema, validate_id=validate_uuid
        )
        notify_adapter = await create_pg_notify_adapter(
            notify_provider=PsycopgNotifyProvider(postgres_dsn), channel_prefix=f"qt_{uuid.uuid4().hex[:8]}"
        )
    else:
        apool = await asyncpg.create_pool(postgres_dsn, min_size=1, max_size=20)
        state = await create_pg_state_adapter(
            state_provider=AsyncpgPoolProvider(apool, close_pool=True), schema=schema, validate_id=validate_uuid
        )
        if notify == "listen_notify":
            notify_pool = await asyncpg.create_pool(postgres_dsn, min_size=1, max_size=4)
            closers.append(notify_pool.close)
            notify_adapter = await create_pg_notify_adapter(
                notify_provider=AsyncpgNotifyProvider(notify_pool), channel_prefix=f"qt_{uuid.uuid4().hex[:8]}"
            )
        elif notify == "in_process_notify":
            notify_adapter = await create_in_process_notify_adapter()
    await state.truncate()
    yield SuiteAdapters(
        state_adapter=state, notify_adapter=notify_adapter, poison_transaction=_poison(state), invalid_id="not-a-uuid"
    )
    if notify_adapter is not None:
        await notify_adapter.close()
    await state.close()
    for close in closers:
        await close()


class AnyNotify:
    @pytest.fixture(params=["listen_notify", "no_notify", "in_process_notify"])
    async def queuert_adapters(
        self, request: pytest.FixtureRequest, postgres_dsn: str, migrated_schema: str
    ) -> AsyncIterator[SuiteAdapters]:
        async for adapters in _adapters(request.param, postgres_dsn, migrated_schema):
            yield adapters


class WithNotify:
    @pytest.fixture(params=["listen_notify", "in_process_notify", "psycopg_listen_notify"])
    async def queuert_adapters(
        self, request: pytest.FixtureRequest, postgres_dsn: str, migrated_schema: str
    ) -> AsyncIterator[SuiteAdapters]:
        async for adapters in _adapters(request.param, postgres_dsn, migrated_schema):
            yield adapters


class ListenNotify:
    @pytest.fixture(params=["listen_notify", "psycopg_listen_notify"])
    async def queuert_adapters(
        self, request: pytest.FixtureRequest, postgres_dsn: str, migrated_schema: str
    ) -> AsyncIterator[SuiteAdapters]:
        async for adapters in _adapters(request.param, postgres_dsn, migrated_schema):
            yield adapters


class InProcessNotify:
    @pytest.fixture
    async def queuert_adapters(self, postgres_dsn: str, migrated_schema: str) -> AsyncIterator[SuiteAdapters]:
        async for adapters in _adapters("in_process_notify", postgres_dsn, migrated_schema):
            yield adapters


class Psycopg:
    @pytest.fixture
    async def queuert_adapters(self, postgres_dsn: str, migrated_schema: str) -> AsyncIterator[SuiteAdapters]:
        async for adapters in _adapters("psycopg_listen_notify", postgres_dsn, migrated_schema):
            yield adapters


# Data suites (D) and processing suites (P): every notify configuration on asyncpg.
class TestChains(AnyNotify, ChainsSuite): ...


class TestStartChains(AnyNotify, StartChainsSuite): ...


class TestBlockerChains(AnyNotify, BlockerChainsSuite): ...


class TestDeduplication(AnyNotify, DeduplicationSuite): ...


class TestDeletion(AnyNotify, DeletionSuite): ...


class TestWaitChainCompletion(AnyNotify, WaitChainCompletionSuite): ...


class TestStateResilience(AnyNotify, StateResilienceSuite): ...


class TestWorkerlessCompletion(AnyNotify, WorkerlessCompletionSuite): ...


class TestTrigger(AnyNotify, TriggerSuite): ...


class TestScheduling(AnyNotify, SchedulingSuite): ...


class TestProcessErrorHandling(AnyNotify, ProcessErrorHandlingSuite): ...


class TestProcessModes(AnyNotify, ProcessModesSuite): ...


class TestProcess(AnyNotify, ProcessSuite): ...


class TestWorker(AnyNotify, WorkerSuite): ...


class TestReaper(AnyNotify, ReaperSuite): ...


# Notification suites: with a notify adapter only.
class TestNotify(WithNotify, NotifySuite): ...


class TestNotifyResilience(ListenNotify, NotifyResilienceSuite): ...


class TestClientQueries(InProcessNotify, ClientQueriesSuite): ...


# The psycopg row: state and LISTEN/NOTIFY both on psycopg.
class TestPsycopgProcess(Psycopg, ProcessSuite): ...


class TestPsycopgProcessModes(Psycopg, ProcessModesSuite): ...


class TestPsycopgChains(Psycopg, ChainsSuite): ...


class TestPsycopgBlockerChains(Psycopg, BlockerChainsSuite): ...


class TestPsycopgStateResilience(Psycopg, StateResilienceSuite): ...
