"""Wiring every suite into an adapter's test module: the list of suites, the test classes, a notify-adapter mixin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import pytest_asyncio

from ..._ids import validate_uuid
from ..._in_process._state import create_in_process_state_adapter
from ._base import IntegrationSuite, SuiteAdapters
from ._blocker_chains import BlockerChainsSuite
from ._chains import ChainsSuite
from ._client_queries import ClientQueriesSuite
from ._deduplication import DeduplicationSuite
from ._deletion import DeletionSuite
from ._notify import NotifySuite
from ._process import ProcessSuite
from ._process_error_handling import ProcessErrorHandlingSuite
from ._process_modes import ProcessModesSuite
from ._reaper import ReaperSuite
from ._resilience import NotifyResilienceSuite, StateResilienceSuite
from ._scheduling import SchedulingSuite
from ._start_chains import StartChainsSuite
from ._trigger import TriggerSuite
from ._validation import ValidationSuite
from ._wait_chain_completion import WaitChainCompletionSuite
from ._worker import WorkerSuite
from ._workerless_completion import WorkerlessCompletionSuite

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, MutableMapping, Sequence
    from pathlib import Path

    from ..._notify_adapter import NotifyAdapter
    from ..._state_adapter import StateAdapter

__all__ = ("ALL_SUITES", "NotifyAdapterUnderTest", "define_suite_tests")

ALL_SUITES: tuple[type[IntegrationSuite], ...] = (
    ProcessSuite,
    ProcessModesSuite,
    ProcessErrorHandlingSuite,
    ChainsSuite,
    BlockerChainsSuite,
    SchedulingSuite,
    DeduplicationSuite,
    DeletionSuite,
    TriggerSuite,
    WaitChainCompletionSuite,
    WorkerlessCompletionSuite,
    ReaperSuite,
    ValidationSuite,
    WorkerSuite,
    NotifySuite,
    StateResilienceSuite,
    NotifyResilienceSuite,
    ClientQueriesSuite,
    StartChainsSuite,
)
"""Every integration suite, in the order queuert's own adapters run them."""


def define_suite_tests(
    namespace: MutableMapping[str, Any],
    adapters: type,
    *,
    prefix: str = "",
    suites: Sequence[type[IntegrationSuite]] = ALL_SUITES,
    **attributes: Any,
) -> None:
    """Add one test class per suite to a test module: `Test{prefix}{suite name without "Suite"}`.

    Each class subclasses `adapters` (the mixin with your `queuert_adapters` fixture) and the
    suite, in that order, with `attributes` as class attributes (`skip_concurrency_tests=True`,
    say). Pass the module's `globals()`, where pytest collects them:

    ```python
    define_suite_tests(globals(), MyAdapters)  # TestProcess, TestChains, ...
    ```

    Raises:
        ValueError: A class of that name is already defined in `namespace`.
    """
    for suite in suites:
        name = f"Test{prefix}{suite.__name__.removesuffix('Suite')}"
        if name in namespace:
            raise ValueError(f"{name} is already defined in this module")
        body = {"__module__": namespace.get("__name__", adapters.__module__), "__qualname__": name, **attributes}
        namespace[name] = type(name, (adapters, suite), body)


class NotifyAdapterUnderTest:
    """A suite mixin for testing a notify adapter: it comes from your `queuert_notify_adapter` fixture.

    The state adapter comes from `create_state_adapter(directory)` (`directory` is the test's
    `tmp_path`): a fresh in-process one validating UUID ids, so `invalid_id` is
    `"not-a-uuid"`. Subclass and override both to run the suites over another store
    (`queuert_sqlite.testing.SqliteStateUnderTest` does, for SQLite).
    """

    invalid_id: ClassVar[str | None] = "not-a-uuid"

    @staticmethod
    async def create_state_adapter(directory: Path) -> StateAdapter[Any]:
        """A state adapter over an empty store for one test."""
        return await create_in_process_state_adapter(validate_id=validate_uuid)

    @pytest_asyncio.fixture
    async def queuert_adapters(
        self, queuert_notify_adapter: NotifyAdapter | None, tmp_path: Path
    ) -> AsyncIterator[SuiteAdapters]:
        """A fresh state adapter with the notify adapter under test."""
        state = await self.create_state_adapter(tmp_path)
        yield SuiteAdapters(state_adapter=state, notify_adapter=queuert_notify_adapter, invalid_id=self.invalid_id)
        await state.close()
