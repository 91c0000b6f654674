"""The integration suites of `queuert.testing.suites` over the in-process state adapter.

Every suite runs twice: with the in-process notify adapter, and with no notify adapter
(workers and waiters poll).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from queuert import create_in_process_notify_adapter
from queuert.testing.suites import NotifyAdapterUnderTest, define_suite_tests

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from queuert.adapters import NotifyAdapter


@pytest.fixture(params=["in_process_notify", "no_notify"])
async def queuert_notify_adapter(request: pytest.FixtureRequest) -> AsyncIterator[NotifyAdapter | None]:
    if request.param == "no_notify":
        yield None
        return
    notify = await create_in_process_notify_adapter()
    yield notify
    await notify.close()


define_suite_tests(globals(), NotifyAdapterUnderTest)
