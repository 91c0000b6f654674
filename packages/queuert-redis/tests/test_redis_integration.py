"""Every integration suite of `queuert.testing.suites` with the Redis notify adapter.

Each suite runs over the in-process state adapter and over SQLite, with a Redis notify
adapter on its own client and a random channel prefix per test. With SQLite the cases
that run several workers against one store at once are skipped, as in the SQLite package:
one writer at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import pytest
from redis.asyncio import Redis

from queuert import create_in_process_state_adapter
from queuert.adapters import StateAdapter, validate_uuid
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
    ValidationSuite,
    WaitChainCompletionSuite,
    WorkerlessCompletionSuite,
    WorkerSuite,
)
from queuert_redis import RedisPubSubProvider, create_redis_notify_adapter
from queuert_sqlite import create_aiosqlite_provider, create_sqlite_state_adapter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path
    from typing import Any

pytestmark = pytest.mark.redis


async def _with_redis(state: StateAdapter[Any], redis_url: str, prefix: str) -> AsyncIterator[SuiteAdapters]:
    client = Redis.from_url(redis_url)
    notify = await create_redis_notify_adapter(notify_provider=RedisPubSubProvider(client), channel_prefix=prefix)
    yield SuiteAdapters(state_adapter=state, notify_adapter=notify, invalid_id="not-a-uuid")
    await notify.close()
    await state.close()
    await client.aclose()


class InProcessStateRedisNotify:
    @pytest.fixture
    async def queuert_adapters(self, redis_url: str, prefix: str) -> AsyncIterator[SuiteAdapters]:
        state = await create_in_process_state_adapter(validate_id=validate_uuid)
        async for adapters in _with_redis(state, redis_url, prefix):
            yield adapters


class SqliteStateRedisNotify:
    skip_concurrency_tests: ClassVar[bool] = True

    @pytest.fixture
    async def queuert_adapters(self, redis_url: str, prefix: str, tmp_path: Path) -> AsyncIterator[SuiteAdapters]:
        provider = await create_aiosqlite_provider(tmp_path / "queuert.db")
        state = await create_sqlite_state_adapter(state_provider=provider, validate_id=validate_uuid)
        await state.migrate_to_latest()
        async for adapters in _with_redis(state, redis_url, prefix):
            yield adapters


class TestInProcessProcess(InProcessStateRedisNotify, ProcessSuite):
    pass


class TestInProcessProcessModes(InProcessStateRedisNotify, ProcessModesSuite):
    pass


class TestInProcessProcessErrorHandling(InProcessStateRedisNotify, ProcessErrorHandlingSuite):
    pass


class TestInProcessChains(InProcessStateRedisNotify, ChainsSuite):
    pass


class TestInProcessBlockerChains(InProcessStateRedisNotify, BlockerChainsSuite):
    pass


class TestInProcessScheduling(InProcessStateRedisNotify, SchedulingSuite):
    pass


class TestInProcessDeduplication(InProcessStateRedisNotify, DeduplicationSuite):
    pass


class TestInProcessDeletion(InProcessStateRedisNotify, DeletionSuite):
    pass


class TestInProcessTrigger(InProcessStateRedisNotify, TriggerSuite):
    pass


class TestInProcessWaitChainCompletion(InProcessStateRedisNotify, WaitChainCompletionSuite):
    pass


class TestInProcessWorkerlessCompletion(InProcessStateRedisNotify, WorkerlessCompletionSuite):
    pass


class TestInProcessReaper(InProcessStateRedisNotify, ReaperSuite):
    pass


class TestInProcessValidation(InProcessStateRedisNotify, ValidationSuite):
    pass


class TestInProcessWorker(InProcessStateRedisNotify, WorkerSuite):
    pass


class TestInProcessNotify(InProcessStateRedisNotify, NotifySuite):
    pass


class TestInProcessStateResilience(InProcessStateRedisNotify, StateResilienceSuite):
    pass


class TestInProcessNotifyResilience(InProcessStateRedisNotify, NotifyResilienceSuite):
    pass


class TestInProcessClientQueries(InProcessStateRedisNotify, ClientQueriesSuite):
    pass


class TestInProcessStartChains(InProcessStateRedisNotify, StartChainsSuite):
    pass


class TestSqliteProcess(SqliteStateRedisNotify, ProcessSuite):
    pass


class TestSqliteProcessModes(SqliteStateRedisNotify, ProcessModesSuite):
    pass


class TestSqliteProcessErrorHandling(SqliteStateRedisNotify, ProcessErrorHandlingSuite):
    pass


class TestSqliteChains(SqliteStateRedisNotify, ChainsSuite):
    pass


class TestSqliteBlockerChains(SqliteStateRedisNotify, BlockerChainsSuite):
    pass


class TestSqliteScheduling(SqliteStateRedisNotify, SchedulingSuite):
    pass


class TestSqliteDeduplication(SqliteStateRedisNotify, DeduplicationSuite):
    pass


class TestSqliteDeletion(SqliteStateRedisNotify, DeletionSuite):
    pass


class TestSqliteTrigger(SqliteStateRedisNotify, TriggerSuite):
    pass


class TestSqliteWaitChainCompletion(SqliteStateRedisNotify, WaitChainCompletionSuite):
    pass


class TestSqliteWorkerlessCompletion(SqliteStateRedisNotify, WorkerlessCompletionSuite):
    pass


class TestSqliteReaper(SqliteStateRedisNotify, ReaperSuite):
    pass


class TestSqliteValidation(SqliteStateRedisNotify, ValidationSuite):
    pass


class TestSqliteWorker(SqliteStateRedisNotify, WorkerSuite):
    pass


class TestSqliteNotify(SqliteStateRedisNotify, NotifySuite):
    pass


class TestSqliteStateResilience(SqliteStateRedisNotify, StateResilienceSuite):
    pass


class TestSqliteNotifyResilience(SqliteStateRedisNotify, NotifyResilienceSuite):
    pass


class TestSqliteClientQueries(SqliteStateRedisNotify, ClientQueriesSuite):
    pass


class TestSqliteStartChains(SqliteStateRedisNotify, StartChainsSuite):
    pass
