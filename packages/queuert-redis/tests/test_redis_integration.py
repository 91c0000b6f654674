"""Every integration suite of `queuert.testing.suites` with the Redis notify adapter.

Each suite runs over the in-process state adapter and over SQLite, with a Redis notify
adapter on a client and a random channel prefix per test. With SQLite the cases
that run several workers against one store at once are skipped, as in the SQLite package:
one writer at a time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from queuert.testing.suites import NotifyAdapterUnderTest, define_suite_tests
from queuert_redis import RedisNotifyAdapter, RedisPubSubProvider, create_redis_notify_adapter
from queuert_sqlite.testing import SqliteStateUnderTest

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis.asyncio import Redis

pytestmark = pytest.mark.redis


@pytest.fixture
async def queuert_notify_adapter(redis_client: Redis, prefix: str) -> AsyncIterator[RedisNotifyAdapter]:
    notify = await create_redis_notify_adapter(notify_provider=RedisPubSubProvider(redis_client), channel_prefix=prefix)
    yield notify
    await notify.close()


define_suite_tests(globals(), NotifyAdapterUnderTest, prefix="InProcess")
define_suite_tests(globals(), SqliteStateUnderTest, prefix="Sqlite", skip_concurrency_tests=True)
