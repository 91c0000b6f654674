"""Every integration suite of `queuert.testing.suites` with the NATS notify adapter.

Each suite runs over the in-process state adapter and over SQLite, with a NATS notify
adapter on a connection, a random subject prefix and a fresh key-value bucket (wake hints
on) per test. With SQLite the cases that run several workers against one store at once are
skipped, as in the SQLite package: one writer at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from queuert.testing.suites import NotifyAdapterUnderTest, define_suite_tests
from queuert_nats import NatsNotifyAdapter, create_nats_notify_adapter
from queuert_sqlite.testing import SqliteStateUnderTest

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from nats.aio.client import Client
    from nats.js.kv import KeyValue

pytestmark = pytest.mark.nats


@pytest.fixture
async def queuert_notify_adapter(nc: Client, kv: KeyValue, prefix: str) -> AsyncIterator[NatsNotifyAdapter]:
    notify = await create_nats_notify_adapter(nc=nc, kv=kv, subject_prefix=prefix)
    yield notify
    await notify.close()


define_suite_tests(globals(), NotifyAdapterUnderTest, prefix="InProcess")
define_suite_tests(globals(), SqliteStateUnderTest, prefix="Sqlite", skip_concurrency_tests=True)
