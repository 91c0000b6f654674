"""The thin adapter runs the notify conformance suite exactly as an outside author's test module would.

Both ways: through the pytest binding (one test per case) and through the framework-free
runner (one test for the whole suite).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest_asyncio

from queuert.conformance import NotifyConformanceFixture, notify_adapter_cases, run_notify_adapter_conformance
from queuert.conformance.pytest import NotifyAdapterConformance
from thin_notify_adapter import create_thin_notify_adapter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


# --8<-- [start:pytest]
class TestThinNotifyAdapter(NotifyAdapterConformance):
    @pytest_asyncio.fixture
    async def notify_conformance_fixture(self) -> AsyncIterator[NotifyConformanceFixture]:
        adapter = await create_thin_notify_adapter()
        yield NotifyConformanceFixture(notify_adapter=adapter)
        await adapter.close()


# --8<-- [end:pytest]


# --8<-- [start:runner]
async def test_thin_notify_adapter_passes_the_framework_free_runner() -> None:
    async def make_fixture() -> NotifyConformanceFixture:
        adapter = await create_thin_notify_adapter()
        return NotifyConformanceFixture(notify_adapter=adapter, dispose=adapter.close)

    report = await run_notify_adapter_conformance(make_fixture, case_timeout_ms=60_000)
    assert (report.passed, report.failed, report.skipped) == (report.total, 0, 0)
    # --8<-- [end:runner]
    assert report.total == len(notify_adapter_cases())
