"""The integration suites of `queuert.testing.suites` over the SQLite state adapter.

Every data and processing suite runs twice: with the in-process notify adapter, and with
no notify adapter (workers and waiters poll). The notify suite runs with the in-process
notify adapter only.

Upstream skips the cases that run several workers (or slots) against one store for SQLite.
Here they run: the workers share one provider, whose lock serializes their transactions,
which is exactly how several workers in one process use SQLite.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import pytest

from queuert import create_in_process_notify_adapter
from queuert.adapters import validate_uuid
from queuert.testing.suites import (
    BlockerChainsSuite,
    ChainsSuite,
    DeduplicationSuite,
    DeletionSuite,
    NotifySuite,
    ProcessErrorHandlingSuite,
    ProcessModesSuite,
    ProcessSuite,
    ReaperSuite,
    SchedulingSuite,
    StateResilienceSuite,
    SuiteAdapters,
    TriggerSuite,
    WaitChainCompletionSuite,
    WorkerlessCompletionSuite,
    WorkerSuite,
)
from queuert_sqlite import create_aiosqlite_provider, create_sqlite_state_adapter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path


class SqliteAdapters:
    skip_concurrency_tests: ClassVar[bool] = False

    @pytest.fixture(params=["in_process_notify", "no_notify"])
    async def queuert_adapters(
        self, request: pytest.FixtureRequest, tmp_path: Path, migrated_database: Callable[..., Path]
    ) -> AsyncIterator[SuiteAdapters]:
        provider = await create_aiosqlite_provider(migrated_database(tmp_path, validate_id=validate_uuid))
        state = await create_sqlite_state_adapter(state_provider=provider, validate_id=validate_uuid)
        notify = await create_in_process_notify_adapter() if request.param == "in_process_notify" else None
        yield SuiteAdapters(state_adapter=state, notify_adapter=notify, invalid_id="not-a-uuid")
        if notify is not None:
            await notify.close()
        await state.close()


class SqliteAdaptersWithNotify(SqliteAdapters):
    @pytest.fixture
    async def queuert_adapters(
        self, tmp_path: Path, migrated_database: Callable[..., Path]
    ) -> AsyncIterator[SuiteAdapters]:
        provider = await create_aiosqlite_provider(migrated_database(tmp_path))
        state = await create_sqlite_state_adapter(state_provider=provider)
        notify = await create_in_process_notify_adapter()
        yield SuiteAdapters(state_adapter=state, notify_adapter=notify)
        await notify.close()
        await state.close()


class TestProcess(SqliteAdapters, ProcessSuite):
    pass


class TestProcessModes(SqliteAdapters, ProcessModesSuite):
    pass


class TestProcessErrorHandling(SqliteAdapters, ProcessErrorHandlingSuite):
    pass


class TestWorker(SqliteAdapters, WorkerSuite):
    pass


class TestReaper(SqliteAdapters, ReaperSuite):
    pass


class TestChains(SqliteAdapters, ChainsSuite):
    pass


class TestBlockerChains(SqliteAdapters, BlockerChainsSuite):
    pass


class TestScheduling(SqliteAdapters, SchedulingSuite):
    pass


class TestDeduplication(SqliteAdapters, DeduplicationSuite):
    pass


class TestDeletion(SqliteAdapters, DeletionSuite):
    pass


class TestTrigger(SqliteAdapters, TriggerSuite):
    pass


class TestWaitChainCompletion(SqliteAdapters, WaitChainCompletionSuite):
    pass


class TestWorkerlessCompletion(SqliteAdapters, WorkerlessCompletionSuite):
    pass


class TestStateResilience(SqliteAdapters, StateResilienceSuite):
    pass


class TestNotify(SqliteAdaptersWithNotify, NotifySuite):
    pass
