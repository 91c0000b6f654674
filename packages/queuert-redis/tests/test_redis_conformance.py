"""The notify conformance suite against real Redis: standalone (several client setups) and Redis Cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from queuert.conformance import NotifyConformanceFixture
from queuert.conformance.pytest import NotifyAdapterConformance
from queuert_redis import RedisClusterPubSubProvider, RedisPubSubProvider, create_redis_notify_adapter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

pytestmark = pytest.mark.redis

SETUPS = ("default_prefix", "custom_prefix", "separate_subscriber_decoded", "cluster")


class TestRedisNotifyAdapter(NotifyAdapterConformance):
    @pytest.fixture(params=SETUPS)
    async def notify_conformance_fixture(
        self, request: pytest.FixtureRequest, redis_url: str, prefix: str
    ) -> AsyncIterator[NotifyConformanceFixture]:
        clients: list[Redis | RedisCluster] = []
        if request.param == "cluster":
            cluster = RedisCluster.from_url(request.getfixturevalue("redis_cluster_url"))
            clients.append(cluster)
            adapter = await create_redis_notify_adapter(
                notify_provider=RedisClusterPubSubProvider(cluster), channel_prefix=prefix
            )
        elif request.param == "separate_subscriber_decoded":
            client = Redis.from_url(redis_url, decode_responses=True)
            subscriber = Redis.from_url(redis_url, decode_responses=True)
            clients += [client, subscriber]
            adapter = await create_redis_notify_adapter(
                notify_provider=RedisPubSubProvider(client, subscriber), channel_prefix=prefix
            )
        else:
            client = Redis.from_url(redis_url)
            clients.append(client)
            provider = RedisPubSubProvider(client)
            if request.param == "default_prefix":
                adapter = await create_redis_notify_adapter(notify_provider=provider)
            else:
                adapter = await create_redis_notify_adapter(notify_provider=provider, channel_prefix=prefix)
        yield NotifyConformanceFixture(notify_adapter=adapter)
        await adapter.close()
        for each in clients:
            await each.aclose()
