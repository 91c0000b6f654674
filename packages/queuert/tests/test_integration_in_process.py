"""The integration suites of `queuert.testing.suites` over the in-process state adapter.

Every suite runs twice: with the in-process notify adapter, and with no notify adapter
(workers and waiters poll).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from queuert import create_in_process_notify_adapter, create_in_process_state_adapter
from queuert.adapters import validate_uuid
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

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class InProcessAdapters:
    @pytest.fixture(params=["in_process_notify", "no_notify"])
    async def queuert_adapters(self, request: pytest.FixtureRequest) -> AsyncIterator[SuiteAdapters]:
        state = await create_in_process_state_adapter(validate_id=validate_uuid)
        notify = await create_in_process_notify_adapter() if request.param == "in_process_notify" else None
        yield SuiteAdapters(state_adapter=state, notify_adapter=notify, invalid_id="not-a-uuid")
        if notify is not None:
            await notify.close()
        await state.close()


class TestProcess(InProcessAdapters, ProcessSuite):
    pass


class TestProcessModes(InProcessAdapters, ProcessModesSuite):
    pass


class TestProcessErrorHandling(InProcessAdapters, ProcessErrorHandlingSuite):
    pass


class TestChains(InProcessAdapters, ChainsSuite):
    pass


class TestBlockerChains(InProcessAdapters, BlockerChainsSuite):
    pass


class TestScheduling(InProcessAdapters, SchedulingSuite):
    pass


class TestDeduplication(InProcessAdapters, DeduplicationSuite):
    pass


class TestDeletion(InProcessAdapters, DeletionSuite):
    pass


class TestTrigger(InProcessAdapters, TriggerSuite):
    pass


class TestWaitChainCompletion(InProcessAdapters, WaitChainCompletionSuite):
    pass


class TestWorkerlessCompletion(InProcessAdapters, WorkerlessCompletionSuite):
    pass


class TestReaper(InProcessAdapters, ReaperSuite):
    pass


class TestValidation(InProcessAdapters, ValidationSuite):
    pass


class TestWorker(InProcessAdapters, WorkerSuite):
    pass


class TestNotify(InProcessAdapters, NotifySuite):
    pass


class TestStateResilience(InProcessAdapters, StateResilienceSuite):
    pass


class TestNotifyResilience(InProcessAdapters, NotifyResilienceSuite):
    pass


class TestClientQueries(InProcessAdapters, ClientQueriesSuite):
    pass


class TestStartChains(InProcessAdapters, StartChainsSuite):
    pass
