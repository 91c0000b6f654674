"""Every integration suite of `queuert.testing.suites` with the NATS notify adapter.

Each suite runs over the in-process state adapter and over SQLite, with a NATS notify
adapter on its own connection, a random subject prefix and a fresh key-value bucket (wake
hints on) per test. With SQLite the cases
that run several workers against one store at once are skipped, as in the SQLite package:
one writer at a time.
"""

from __future__ import annotations

import time
from secrets import token_hex
from typing import TYPE_CHECKING, ClassVar

import nats
import pytest

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
from queuert_nats import create_nats_notify_adapter
from queuert_sqlite import create_aiosqlite_provider, create_sqlite_state_adapter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path
    from typing import Any

pytestmark = pytest.mark.nats


async def _with_nats(state: StateAdapter[Any], nats_url: str, prefix: str) -> AsyncIterator[SuiteAdapters]:
    nc = await nats.connect(nats_url)
    bucket = f"queuert_hints_{time.time_ns()}_{token_hex(4)}"
    kv = await nc.jetstream().create_key_value(bucket=bucket, ttl=60)
    notify = await create_nats_notify_adapter(nc=nc, kv=kv, subject_prefix=prefix)
    yield SuiteAdapters(state_adapter=state, notify_adapter=notify, invalid_id="not-a-uuid")
    await notify.close()
    await state.close()
    await nc.jetstream().delete_key_value(bucket)
    await nc.close()


class InProcessStateNatsNotify:
    @pytest.fixture
    async def queuert_adapters(self, nats_url: str, prefix: str) -> AsyncIterator[SuiteAdapters]:
        state = await create_in_process_state_adapter(validate_id=validate_uuid)
        async for adapters in _with_nats(state, nats_url, prefix):
            yield adapters


class SqliteStateNatsNotify:
    skip_concurrency_tests: ClassVar[bool] = True

    @pytest.fixture
    async def queuert_adapters(self, nats_url: str, prefix: str, tmp_path: Path) -> AsyncIterator[SuiteAdapters]:
        provider = await create_aiosqlite_provider(tmp_path / "queuert.db")
        state = await create_sqlite_state_adapter(state_provider=provider, validate_id=validate_uuid)
        await state.migrate_to_latest()
        async for adapters in _with_nats(state, nats_url, prefix):
            yield adapters


class TestInProcessProcess(InProcessStateNatsNotify, ProcessSuite):
    pass


class TestInProcessProcessModes(InProcessStateNatsNotify, ProcessModesSuite):
    pass


class TestInProcessProcessErrorHandling(InProcessStateNatsNotify, ProcessErrorHandlingSuite):
    pass


class TestInProcessChains(InProcessStateNatsNotify, ChainsSuite):
    pass


class TestInProcessBlockerChains(InProcessStateNatsNotify, BlockerChainsSuite):
    pass


class TestInProcessScheduling(InProcessStateNatsNotify, SchedulingSuite):
    pass


class TestInProcessDeduplication(InProcessStateNatsNotify, DeduplicationSuite):
    pass


class TestInProcessDeletion(InProcessStateNatsNotify, DeletionSuite):
    pass


class TestInProcessTrigger(InProcessStateNatsNotify, TriggerSuite):
    pass


class TestInProcessWaitChainCompletion(InProcessStateNatsNotify, WaitChainCompletionSuite):
    pass


class TestInProcessWorkerlessCompletion(InProcessStateNatsNotify, WorkerlessCompletionSuite):
    pass


class TestInProcessReaper(InProcessStateNatsNotify, ReaperSuite):
    pass


class TestInProcessValidation(InProcessStateNatsNotify, ValidationSuite):
    pass


class TestInProcessWorker(InProcessStateNatsNotify, WorkerSuite):
    pass


class TestInProcessNotify(InProcessStateNatsNotify, NotifySuite):
    pass


class TestInProcessStateResilience(InProcessStateNatsNotify, StateResilienceSuite):
    pass


class TestInProcessNotifyResilience(InProcessStateNatsNotify, NotifyResilienceSuite):
    pass


class TestInProcessClientQueries(InProcessStateNatsNotify, ClientQueriesSuite):
    pass


class TestInProcessStartChains(InProcessStateNatsNotify, StartChainsSuite):
    pass


class TestSqliteProcess(SqliteStateNatsNotify, ProcessSuite):
    pass


class TestSqliteProcessModes(SqliteStateNatsNotify, ProcessModesSuite):
    pass


class TestSqliteProcessErrorHandling(SqliteStateNatsNotify, ProcessErrorHandlingSuite):
    pass


class TestSqliteChains(SqliteStateNatsNotify, ChainsSuite):
    pass


class TestSqliteBlockerChains(SqliteStateNatsNotify, BlockerChainsSuite):
    pass


class TestSqliteScheduling(SqliteStateNatsNotify, SchedulingSuite):
    pass


class TestSqliteDeduplication(SqliteStateNatsNotify, DeduplicationSuite):
    pass


class TestSqliteDeletion(SqliteStateNatsNotify, DeletionSuite):
    pass


class TestSqliteTrigger(SqliteStateNatsNotify, TriggerSuite):
    pass


class TestSqliteWaitChainCompletion(SqliteStateNatsNotify, WaitChainCompletionSuite):
    pass


class TestSqliteWorkerlessCompletion(SqliteStateNatsNotify, WorkerlessCompletionSuite):
    pass


class TestSqliteReaper(SqliteStateNatsNotify, ReaperSuite):
    pass


class TestSqliteValidation(SqliteStateNatsNotify, ValidationSuite):
    pass


class TestSqliteWorker(SqliteStateNatsNotify, WorkerSuite):
    pass


class TestSqliteNotify(SqliteStateNatsNotify, NotifySuite):
    pass


class TestSqliteStateResilience(SqliteStateNatsNotify, StateResilienceSuite):
    pass


class TestSqliteNotifyResilience(SqliteStateNatsNotify, NotifyResilienceSuite):
    pass


class TestSqliteClientQueries(SqliteStateNatsNotify, ClientQueriesSuite):
    pass


class TestSqliteStartChains(SqliteStateNatsNotify, StartChainsSuite):
    pass
