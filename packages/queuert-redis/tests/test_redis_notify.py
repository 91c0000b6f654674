"""Redis specifics: channel and key formats, wake-hint budgets, the herd, one connection, and surviving outages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from secrets import token_hex
from typing import TYPE_CHECKING, Any, TypedDict

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError

from queuert import (
    AttemptContext,
    AttemptResult,
    CompleteContext,
    EntryJobType,
    InProcessTx,
    LogEntry,
    Processor,
    create_client,
    create_in_process_state_adapter,
    create_in_process_worker,
    create_processors,
    define_job_types,
    transaction_hooks,
)
from queuert.testing import ReceivedNotifications, wait_until, wake_idle_listeners
from queuert_redis import (
    RedisClusterPubSubProvider,
    RedisNotifyAdapter,
    RedisPubSubProvider,
    create_redis_notify_adapter,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from conftest import LocalCluster, RedisServerProcess

pytestmark = pytest.mark.redis


@contextlib.asynccontextmanager
async def redis_adapter(url: str, prefix: str, **client_kwargs: Any) -> AsyncIterator[RedisNotifyAdapter]:
    """An adapter on a client of its own (its own subscription connection); both closed on exit."""
    client = Redis.from_url(url, **client_kwargs)
    adapter = await create_redis_notify_adapter(notify_provider=RedisPubSubProvider(client), channel_prefix=prefix)
    try:
        yield adapter
    finally:
        await adapter.close()
        await client.aclose()


# --- formats ---------------------------------------------------------------------------------


async def test_channels_and_payloads_are_bare_strings(redis_url: str, redis_client: Redis, prefix: str) -> None:
    raw = redis_client.pubsub()
    await raw.subscribe(f"{prefix}:sched", f"{prefix}:chainc", f"{prefix}:owls")
    try:
        async with redis_adapter(redis_url, prefix) as adapter:
            await adapter.notify_job_scheduled("orders.place v2:ünï")
            await adapter.notify_chain_completed("chain-1")
            await adapter.notify_job_ownership_lost("job-1")
            seen: list[tuple[bytes, bytes]] = []
            async with asyncio.timeout(5):
                while len(seen) < 3:
                    message = await raw.get_message(ignore_subscribe_messages=True, timeout=1)
                    if message is not None:
                        seen.append((message["channel"], message["data"]))
    finally:
        await raw.aclose()  # type: ignore[no-untyped-call]
    assert seen == [
        (f"{prefix}:sched".encode(), "orders.place v2:ünï".encode()),
        (f"{prefix}:chainc".encode(), b"chain-1"),
        (f"{prefix}:owls".encode(), b"job-1"),
    ]


async def test_messages_published_by_another_implementation_reach_listeners(
    redis_url: str, redis_client: Redis, prefix: str
) -> None:
    async with redis_adapter(redis_url, prefix) as adapter:
        scheduled, completed, lost = ReceivedNotifications(), ReceivedNotifications(), ReceivedNotifications()
        await adapter.listen_job_scheduled(["a:b c"], scheduled.typed)
        await adapter.listen_chain_completed("c1", completed.bare)
        await adapter.listen_job_ownership_lost("j1", lost.bare)
        # What a TypeScript queuert app on the same prefix sends: plain PUBLISH of the bare string.
        await redis_client.publish(f"{prefix}:sched", "a:b c")
        await redis_client.publish(f"{prefix}:chainc", "c1")
        await redis_client.publish(f"{prefix}:owls", "j1")
        await wait_until(lambda: scheduled.items and completed.items and lost.items)
        assert (scheduled.items, completed.items, lost.items) == (["a:b c"], ["*"], ["*"])


async def test_wake_hint_budget_is_an_integer_key_with_a_60_s_lifetime(
    redis_url: str, redis_client: Redis, prefix: str
) -> None:
    async with redis_adapter(redis_url, prefix) as adapter:
        key = f"{prefix}:hint:process-order"
        assert adapter.hint_key("process-order") == key
        await adapter.provide_wake_hint("process-order", 0)
        assert await redis_client.exists(key) == 0, "a count below 1 must not create a budget"

        await adapter.provide_wake_hint("process-order", 3)
        assert await redis_client.get(key) == b"3"
        assert 55 <= await redis_client.ttl(key) <= 60

        await redis_client.expire(key, 10)
        await adapter.provide_wake_hint("process-order", 2)
        assert await redis_client.get(key) == b"5"
        assert await redis_client.ttl(key) > 10, "providing again restarts the lifetime"

        await redis_client.expire(key, 10)
        assert await adapter.consume_wake_hint("process-order") is True
        assert await redis_client.get(key) == b"4"
        assert await redis_client.ttl(key) <= 10, "consuming keeps the remaining lifetime"

        assert [await adapter.consume_wake_hint("process-order") for _ in range(5)] == [True] * 4 + [False]
        assert await redis_client.get(key) == b"0"

        await redis_client.delete(key)
        assert await adapter.consume_wake_hint("process-order") is True, "no budget tracked: wake"


async def test_one_subscription_connection_per_adapter(redis_url: str, redis_client: Redis, prefix: str) -> None:
    name = f"qt-{token_hex(6)}"
    async with redis_adapter(redis_url, prefix, client_name=name) as adapter:
        unsubscribes = [
            await adapter.listen_job_scheduled(["t1", "t2", "t3"], lambda _: None),
            await adapter.listen_job_scheduled(["t1"], lambda _: None),
            *[await adapter.listen_chain_completed(f"c{i}", lambda: None) for i in range(5)],
            *[await adapter.listen_job_ownership_lost(f"j{i}", lambda: None) for i in range(5)],
        ]
        clients = [c for c in await redis_client.client_list(_type="pubsub") if c.get("name") == name]
        assert len(clients) == 1, clients
        assert clients[0]["sub"] == "3"
        counts = await redis_client.pubsub_numsub(f"{prefix}:sched", f"{prefix}:chainc", f"{prefix}:owls")
        assert [count for _, count in counts] == [1, 1, 1]

        for unsubscribe in unsubscribes:
            await unsubscribe()
        # The last listener out unsubscribes the channel.
        await wait_until(
            lambda: _numsub_total(redis_client, prefix), message="channels still subscribed after the last unsubscribe"
        )


async def _numsub_total(client: Redis, prefix: str) -> bool:
    counts = await client.pubsub_numsub(f"{prefix}:sched", f"{prefix}:chainc", f"{prefix}:owls")
    return sum(count for _, count in counts) == 0


# --- the herd ----------------------------------------------------------------------------------


@pytest.mark.parametrize("budget", [1, 3])
async def test_one_scheduled_job_wakes_one_of_several_idle_listeners(redis_url: str, prefix: str, budget: int) -> None:
    async with contextlib.AsyncExitStack() as stack:
        adapters = [await stack.enter_async_context(redis_adapter(redis_url, prefix)) for _ in range(7)]
        claims = await wake_idle_listeners(adapters[0], adapters[1:], "herd.job", budget)
    assert claims.count(True) == budget, claims


# --- connection loss -----------------------------------------------------------------------------


async def test_killed_subscription_connection_is_re_established_without_duplicates(
    redis_url: str, redis_client: Redis, prefix: str
) -> None:
    name = f"qt-{token_hex(6)}"
    async with redis_adapter(redis_url, prefix, client_name=name) as adapter:
        scheduled, completed, lost = ReceivedNotifications(), ReceivedNotifications(), ReceivedNotifications()
        await adapter.listen_job_scheduled(["t"], scheduled.typed)
        await adapter.listen_job_scheduled(["t"], scheduled.typed)
        await adapter.listen_chain_completed("c", completed.bare)
        await adapter.listen_job_ownership_lost("j", lost.bare)
        (before,) = [c["id"] for c in await redis_client.client_list(_type="pubsub") if c.get("name") == name]

        # Only our adapter's subscription connection: other pub/sub clients of a shared server are spared.
        assert await redis_client.execute_command("CLIENT", "KILL", "TYPE", "pubsub", "ID", before) == 1  # type: ignore[no-untyped-call]

        await completed.publish_until_received(lambda: adapter.notify_chain_completed("c"), what="chain completion")
        (after,) = [c["id"] for c in await redis_client.client_list(_type="pubsub") if c.get("name") == name]
        assert after != before
        for received in (scheduled, completed, lost):
            received.items.clear()
        await adapter.notify_job_scheduled("t")
        await adapter.notify_chain_completed("c")
        await adapter.notify_job_ownership_lost("j")
        await wait_until(lambda: len(scheduled.items) == 2 and completed.items and lost.items)
        # Every channel came back, each exactly once: no listener registered twice.
        await scheduled.expect_no_more(2)
        assert (completed.items, lost.items) == (["*"], ["*"])


async def test_server_outage_degrades_to_polling_and_listeners_return_with_the_server(
    redis_server: RedisServerProcess,
    prefix: str,
    outage_client_kwargs: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="queuert.redis")
    async with redis_adapter(redis_server.url, prefix, **outage_client_kwargs) as adapter:
        completed, scheduled = ReceivedNotifications(), ReceivedNotifications()
        await adapter.listen_chain_completed("c", completed.bare)
        await adapter.listen_job_scheduled(["t"], scheduled.typed)
        await adapter.provide_wake_hint("t", 1)
        assert await adapter.consume_wake_hint("t") is True
        assert await adapter.consume_wake_hint("t") is False

        await redis_server.akill()
        started = time.monotonic()
        assert await adapter.consume_wake_hint("t") is True, "an unreachable server must degrade to waking"
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the driver raises for a refused connection
            await adapter.notify_job_scheduled("t")
        assert time.monotonic() - started < 5, "calls during an outage must fail fast"
        assert "cannot reach Redis to claim a wake hint" in caplog.text
        await wait_until(lambda: "subscription connection lost" in caplog.text, timeout_ms=10_000)
        started = time.monotonic()
        with pytest.raises(Exception):  # noqa: B017, PT011
            await adapter.listen_job_ownership_lost("j", lambda: None)
        assert time.monotonic() - started < 1, "a new subscription during an outage must fail at once"

        await redis_server.astart()
        await completed.publish_until_received(lambda: adapter.notify_chain_completed("c"), what="chain completion")
        await wait_until(lambda: "re-established" in caplog.text, timeout_ms=10_000)
        completed.items.clear()
        await adapter.notify_job_scheduled("t")
        await adapter.notify_chain_completed("c")
        await wait_until(lambda: scheduled.items and completed.items)
        await scheduled.expect_no_more(1)
        assert completed.items == ["*"]
        # New subscriptions work again too.
        lost = ReceivedNotifications()
        await adapter.listen_job_ownership_lost("j", lost.bare)
        await adapter.notify_job_ownership_lost("j")
        await wait_until(lambda: lost.items)


async def test_with_default_client_settings_calls_during_an_outage_fail_fast(
    redis_server: RedisServerProcess, prefix: str
) -> None:
    async with redis_adapter(redis_server.url, prefix) as adapter:
        await adapter.notify_job_scheduled("t")
        await redis_server.akill()
        started = time.monotonic()
        # The first call waits for redis-py's retries, up to the provider's 2 s bound...
        assert await adapter.consume_wake_hint("t") is True
        assert time.monotonic() - started < 3
        # ...the next ones, for a second, fail at once.
        started = time.monotonic()
        for _ in range(5):
            with pytest.raises(RedisConnectionError):
                await adapter.notify_job_scheduled("t")
            with pytest.raises(RedisConnectionError):
                await adapter.provide_wake_hint("t", 1)
            assert await adapter.consume_wake_hint("t") is True
        assert time.monotonic() - started < 0.5

        await redis_server.astart()
        await wait_until(lambda: _publishes(adapter), timeout_ms=10_000, message="commands did not recover")


async def _publishes(adapter: RedisNotifyAdapter) -> bool:
    try:
        await adapter.notify_job_scheduled("t")
    except Exception:
        return False
    return True


class Ping(TypedDict):
    n: int


ping = EntryJobType[Ping, Ping]("redis.ping")
JOB_TYPES = define_job_types(ping)


async def _echo(ctx: AttemptContext[InProcessTx, Ping, Ping]) -> AttemptResult[Ping, Ping]:
    async def finish(_: CompleteContext[InProcessTx]) -> Ping:
        return ctx.job.input

    return await ctx.complete(finish)


async def test_a_dead_redis_never_fails_the_committed_transaction_and_workers_keep_polling(
    redis_server: RedisServerProcess, prefix: str, outage_client_kwargs: dict[str, Any]
) -> None:
    logs: list[LogEntry] = []
    state = await create_in_process_state_adapter()
    async with redis_adapter(redis_server.url, prefix, **outage_client_kwargs) as notify:
        client = await create_client(state_adapter=state, job_types=JOB_TYPES, notify_adapter=notify, log=logs.append)
        await redis_server.akill()

        async with transaction_hooks() as hooks:
            chain = await state.with_transaction(
                lambda tx: client.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=ping, input=Ping(n=1))
            )
        # Committed: the chain exists although every notification failed.
        assert await client.get_chain(chain.id) is not None
        errors = [entry for entry in logs if entry["type"] == "notify_adapter_error"]
        assert {entry["data"]["operation"] for entry in errors} >= {"notify_job_scheduled", "provide_wake_hint"}

        worker = await create_in_process_worker(
            client=client,
            processors=create_processors(client=client, processors=[Processor(job_type=ping, attempt_handler=_echo)]),
            poll_interval_ms=100,
        )
        await worker.start()
        try:
            done = await client.await_chain(chain, timeout_ms=10_000, poll_interval_ms=50)
            assert done.output == Ping(n=1), "the worker must find the job by polling while Redis is down"

            # Back up: the next job is found through a notification, well before the next poll.
            await redis_server.astart()
            slow = await create_in_process_worker(
                client=client,
                processors=create_processors(
                    client=client, processors=[Processor(job_type=ping, attempt_handler=_echo)]
                ),
                poll_interval_ms=60_000,
            )
            await worker.stop()
            await slow.start()
            try:
                # The worker's listener may still be connecting: retry until one start wakes it.
                deadline = time.monotonic() + 15
                while True:
                    async with transaction_hooks() as hooks:
                        again = await state.with_transaction(
                            lambda tx: client.start_chain(
                                tx_ctx=tx, transaction_hooks=hooks, job_type=ping, input=Ping(n=2)
                            )
                        )
                    try:
                        await client.await_chain(again, timeout_ms=1_000, poll_interval_ms=50)
                        break
                    except Exception:
                        assert time.monotonic() < deadline, "no notification woke the worker after Redis came back"
            finally:
                await slow.stop()
        finally:
            await worker.stop()
    await state.close()


async def test_every_chain_completes_while_the_subscription_connection_keeps_being_killed(
    redis_url: str, redis_client: Redis, prefix: str
) -> None:
    name = f"qt-{token_hex(6)}"
    state = await create_in_process_state_adapter()
    async with redis_adapter(redis_url, prefix, client_name=name) as notify:
        client = await create_client(state_adapter=state, job_types=JOB_TYPES, notify_adapter=notify)
        processors = create_processors(client=client, processors=[Processor(job_type=ping, attempt_handler=_echo)])
        workers = [
            await create_in_process_worker(client=client, processors=processors, concurrency=2, poll_interval_ms=300)
            for _ in range(2)
        ]
        for worker in workers:
            await worker.start()
        kills = 0

        async def kill_subscription_connections() -> None:
            nonlocal kills
            for _ in range(10):
                for info in await redis_client.client_list(_type="pubsub"):
                    if info.get("name") == name:
                        kills += await redis_client.execute_command(  # type: ignore[no-untyped-call]
                            "CLIENT", "KILL", "TYPE", "pubsub", "ID", info["id"]
                        )
                await asyncio.sleep(0.05)

        async def start(n: int) -> str:
            async with transaction_hooks() as hooks:
                chain = await state.with_transaction(
                    lambda tx: client.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=ping, input=Ping(n=n))
                )
            return chain.id

        try:
            killer = asyncio.create_task(kill_subscription_connections())
            chain_ids = []
            for n in range(30):
                chain_ids.append(await start(n))
                await asyncio.sleep(0.01)  # spread the chains over the killing
            await killer
            done = await asyncio.gather(
                *(client.await_chain(chain_id, timeout_ms=15_000, poll_interval_ms=100) for chain_id in chain_ids)
            )
            # And the adapter came out of it working: a new listener hears the next message.
            after = ReceivedNotifications()
            await wait_until(lambda: _listens(notify, after), timeout_ms=10_000)
            await after.publish_until_received(lambda: notify.notify_chain_completed("after"), what="notification")
        finally:
            for worker in workers:
                await worker.stop()
    await state.close()
    assert [chain.output for chain in done] == [Ping(n=n) for n in range(30)]
    assert kills > 0, "the test never managed to kill a subscription connection"


async def _listens(adapter: RedisNotifyAdapter, received: ReceivedNotifications) -> bool:
    try:
        await adapter.listen_chain_completed("after", received.bare)
    except Exception:
        return False
    return True


# --- close -----------------------------------------------------------------------------------------


async def test_close_leaves_the_applications_clients_open(redis_url: str, prefix: str) -> None:
    client = Redis.from_url(redis_url)
    provider = RedisPubSubProvider(client)
    adapter = await create_redis_notify_adapter(notify_provider=provider, channel_prefix=prefix)
    await adapter.listen_chain_completed("c", lambda: None)
    await adapter.close()
    await adapter.close()
    await provider.close()
    assert await client.ping() is True
    with pytest.raises(RuntimeError, match="closed"):
        await provider.publish("x", "y")
    with pytest.raises(RuntimeError, match="closed"):
        await provider.subscribe("x", lambda _: None)
    await client.aclose()


async def test_rejects_an_empty_prefix(redis_client: Redis) -> None:
    with pytest.raises(ValueError, match="channel_prefix"):
        await create_redis_notify_adapter(notify_provider=RedisPubSubProvider(redis_client), channel_prefix="")
    with pytest.raises(ValueError, match="timeout_ms"):
        RedisPubSubProvider(redis_client, timeout_ms=0)


# --- a handler left behind by a failed teardown ------------------------------------------------


class _LeakyTeardown:
    """Wraps a provider so that unsubscribing fails and leaves the broker subscription in place."""

    def __init__(self, inner: RedisPubSubProvider) -> None:
        self.inner = inner

    async def publish(self, channel: str, message: str) -> None:
        await self.inner.publish(channel, message)

    async def eval(self, script: str, keys: list[str], args: list[str]) -> object:
        return await self.inner.eval(script, keys, args)

    async def subscribe(self, channel: str, on_message: Callable[[str], None]) -> Callable[[], Awaitable[None]]:
        await self.inner.subscribe(channel, on_message)

        async def broken_unsubscribe() -> None:
            raise ConnectionResetError("teardown failed (on purpose)")

        return broken_unsubscribe


async def test_a_failed_teardown_does_not_lead_to_double_delivery(redis_client: Redis, prefix: str) -> None:
    provider = RedisPubSubProvider(redis_client)
    adapter = await create_redis_notify_adapter(notify_provider=_LeakyTeardown(provider), channel_prefix=prefix)
    first = ReceivedNotifications()
    unsubscribe = await adapter.listen_chain_completed("c", first.bare)
    with pytest.raises(ConnectionResetError):
        await unsubscribe()
    second = ReceivedNotifications()
    await adapter.listen_chain_completed("c", second.bare)
    await adapter.notify_chain_completed("c")
    await wait_until(lambda: second.items)
    await second.expect_no_more(1)
    assert first.items == []
    await adapter.close()
    await provider.close()


# --- Redis Cluster -------------------------------------------------------------------------------


async def test_cluster_messages_published_on_any_node_reach_the_subscriber(
    cluster_client: RedisCluster, prefix: str
) -> None:
    provider = RedisClusterPubSubProvider(cluster_client)
    adapter = await create_redis_notify_adapter(notify_provider=provider, channel_prefix=prefix)
    try:
        completed = ReceivedNotifications()
        await adapter.listen_chain_completed("c", completed.bare)
        assert provider.node is not None
        nodes = cluster_client.get_nodes()
        assert len(nodes) >= 3
        for node in nodes:
            direct = Redis(host=node.host, port=int(node.port))
            try:
                await direct.publish(f"{prefix}:chainc", "c")
            finally:
                await direct.aclose()
        await wait_until(lambda: len(completed.items) == len(nodes))
        # Hint keys land on whichever node owns their slot; the scripts run there.
        type_names = [f"type-{i}" for i in range(12)]
        owners = {cluster_client.get_node_from_key(adapter.hint_key(name)) for name in type_names}
        assert len(owners) > 1, "the hint keys should spread over several nodes"
        for name in type_names:
            await adapter.provide_wake_hint(name, 1)
            assert [await adapter.consume_wake_hint(name) for _ in range(2)] == [True, False]
    finally:
        await adapter.close()


async def test_cluster_subscription_moves_to_another_node_when_its_node_dies(
    local_cluster: LocalCluster, prefix: str, outage_client_kwargs: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="queuert.redis")
    cluster = RedisCluster.from_url(local_cluster.url, **outage_client_kwargs)
    provider = RedisClusterPubSubProvider(cluster)
    adapter = await create_redis_notify_adapter(notify_provider=provider, channel_prefix=prefix)
    try:
        completed, scheduled = ReceivedNotifications(), ReceivedNotifications()
        await adapter.listen_chain_completed("c", completed.bare)
        await adapter.listen_job_scheduled(["t"], scheduled.typed)
        subscribed = provider.node
        (victim,) = [node for node in local_cluster.nodes if f"127.0.0.1:{node.port}" == subscribed]
        survivor = next(node for node in local_cluster.nodes if node is not victim)
        await victim.akill()

        direct = Redis(port=survivor.port)
        try:
            await completed.publish_until_received(
                lambda: direct.publish(f"{prefix}:chainc", "c"), what="chain completion via another node"
            )
            assert provider.node != subscribed
            assert "moving the subscription connection to cluster node" in caplog.text
            completed.items.clear()
            await direct.publish(f"{prefix}:sched", "t")
            await direct.publish(f"{prefix}:chainc", "c")
            await wait_until(lambda: scheduled.items and completed.items)
            await scheduled.expect_no_more(1)
            assert completed.items == ["*"]
        finally:
            await direct.aclose()
    finally:
        await adapter.close()
        await cluster.aclose()
