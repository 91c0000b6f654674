"""Reusable integration suites: the client and the worker end to end over a given pair of adapters.

Each suite is a pytest class whose name does not start with `Test`, so importing it does
not collect it. Subclass the ones you want in your adapter's test module and override the
`queuert_adapters` fixture:

```python
import pytest
from queuert.testing.suites import ChainsSuite, ProcessSuite


class MyAdapters:
    @pytest.fixture
    async def queuert_adapters(self):
        state = await create_my_state_adapter(...)
        notify = await create_my_notify_adapter(...)   # or None: workers poll
        yield state, notify
        await notify.close()
        await state.close()


class TestChains(MyAdapters, ChainsSuite): ...
class TestProcess(MyAdapters, ProcessSuite): ...
```

`define_suite_tests(globals(), MyAdapters)` defines such a class for every suite of
`ALL_SUITES`; a notify adapter's tests can use `NotifyAdapterUnderTest` as the mixin
and define only a `queuert_notify_adapter` fixture.

Needs `queuert[testing]` (pytest, pytest-asyncio). The cases mark themselves with
`pytest.mark.asyncio`, so asyncio auto mode is not required.
"""

from ._base import IntegrationSuite as IntegrationSuite
from ._base import SuiteAdapters as SuiteAdapters
from ._base import SuiteContext as SuiteContext
from ._blocker_chains import BlockerChainsSuite as BlockerChainsSuite
from ._chains import ChainsSuite as ChainsSuite
from ._client_queries import ClientQueriesSuite as ClientQueriesSuite
from ._deduplication import DeduplicationSuite as DeduplicationSuite
from ._deletion import DeletionSuite as DeletionSuite
from ._notify import NotifySuite as NotifySuite
from ._process import ProcessSuite as ProcessSuite
from ._process_error_handling import ProcessErrorHandlingSuite as ProcessErrorHandlingSuite
from ._process_modes import ProcessModesSuite as ProcessModesSuite
from ._reaper import ReaperSuite as ReaperSuite
from ._resilience import NotifyResilienceSuite as NotifyResilienceSuite
from ._resilience import StateResilienceSuite as StateResilienceSuite
from ._scheduling import SchedulingSuite as SchedulingSuite
from ._start_chains import StartChainsSuite as StartChainsSuite
from ._trigger import TriggerSuite as TriggerSuite
from ._validation import ValidationSuite as ValidationSuite
from ._wait_chain_completion import WaitChainCompletionSuite as WaitChainCompletionSuite
from ._wiring import ALL_SUITES as ALL_SUITES
from ._wiring import NotifyAdapterUnderTest as NotifyAdapterUnderTest
from ._wiring import define_suite_tests as define_suite_tests
from ._worker import WorkerSuite as WorkerSuite
from ._workerless_completion import WorkerlessCompletionSuite as WorkerlessCompletionSuite

__all__ = (
    "ALL_SUITES",
    "BlockerChainsSuite",
    "ChainsSuite",
    "ClientQueriesSuite",
    "DeduplicationSuite",
    "DeletionSuite",
    "IntegrationSuite",
    "NotifyAdapterUnderTest",
    "NotifyResilienceSuite",
    "NotifySuite",
    "ProcessErrorHandlingSuite",
    "ProcessModesSuite",
    "ProcessSuite",
    "ReaperSuite",
    "SchedulingSuite",
    "StartChainsSuite",
    "StateResilienceSuite",
    "SuiteAdapters",
    "SuiteContext",
    "TriggerSuite",
    "ValidationSuite",
    "WaitChainCompletionSuite",
    "WorkerSuite",
    "WorkerlessCompletionSuite",
    "define_suite_tests",
)
