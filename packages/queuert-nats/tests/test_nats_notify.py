"""NATS specifics: subjects and payloads, key-value wake budgets (escaped keys, CAS), the herd, and outages."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
import urllib.parse
from typing import TYPE_CHECKING, Any, TypedDict

import nats
import pytest
from nats.js.errors import KeyNotFoundError

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
from queuert.testing import ListeningNotifyAdapter, ReceivedNotifications, wait_until, wake_idle_listeners
from queuert.testing.services import TcpRelay
from queuert_nats import NatsNotifyAdapter, create_nats_notify_adapter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from conftest import NatsServerProcess
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.js.kv import KeyValue

    from queuert.adapters import NotifyAdapter

pytestmark = pytest.mark.nats

AWKWARD_TYPE_NAMES = ("order:validate", "orders.place v2", "ünïcode", "ends.with.", "a..b", "*", "tab\there")


@contextlib.asynccontextmanager
async def nats_adapter(
    url: str, prefix: str, *, bucket: str | None = None, **options: Any
) -> AsyncIterator[NatsNotifyAdapter]:
    """An adapter on a connection of its own (and, with `bucket`, on that key-value bucket)."""
    nc = await nats.connect(url, **options)
    try:
        kv = None if bucket is None else await nc.jetstream().key_value(bucket)
        adapter = await create_nats_notify_adapter(nc=nc, kv=kv, subject_prefix=prefix)
        try:
            yield adapter
        finally:
            await adapter.close()
    finally:
        await nc.close()


def bucket_of(kv: KeyValue) -> str:
    name: str = kv._name  # nats-py keeps the bucket name private
    return name


# --- formats ---------------------------------------------------------------------------------


async def test_subjects_and_payloads_are_bare_strings(nats_url: str, nc: Client, prefix: str) -> None:
    seen: list[tuple[str, bytes]] = []

    async def record(msg: Msg) -> None:
        seen.append((msg.subject, msg.data))

    await nc.subscribe(f"{prefix}.>", cb=record)
    await nc.flush()
    async with nats_adapter(nats_url, prefix) as adapter:
        await adapter.notify_job_scheduled("orders.place v2:ünï")
        await adapter.notify_chain_completed("chain-1")
        await adapter.notify_job_ownership_lost("job-1")
        await wait_until(lambda: len(seen) == 3)
    assert seen == [
        (f"{prefix}.sched", "orders.place v2:ünï".encode()),
        (f"{prefix}.chainc", b"chain-1"),
        (f"{prefix}.owls", b"job-1"),
    ]


async def test_messages_published_by_another_implementation_reach_listeners(
    nats_url: str, nc: Client, prefix: str
) -> None:
    async with nats_adapter(nats_url, prefix) as adapter:
        scheduled, completed, lost = ReceivedNotifications(), ReceivedNotifications(), ReceivedNotifications()
        await adapter.listen_job_scheduled(["a:b c"], scheduled.typed)
        await adapter.listen_chain_completed("c1", completed.bare)
        await adapter.listen_job_ownership_lost("j1", lost.bare)
        # What a TypeScript queuert app on the same prefix sends: the bare string as the body.
        await nc.publish(f"{prefix}.sched", b"a:b c")
        await nc.publish(f"{prefix}.chainc", b"c1")
        await nc.publish(f"{prefix}.owls", b"j1")
        await nc.flush()
        try:
            await wait_until(lambda: scheduled.items and completed.items and lost.items)
        except TimeoutError:
            # Seen once in CI and never reproduced: say which of the three never arrived.
            arrived = {"sched": scheduled.items, "chainc": completed.items, "owls": lost.items}
            raise AssertionError(f"not every message reached its listener: {arrived}") from None
        assert (scheduled.items, completed.items, lost.items) == (["a:b c"], ["*"], ["*"])


async def test_one_subscription_per_subject(nats_url: str, prefix: str) -> None:
    async with nats_adapter(nats_url, prefix) as adapter:
        nc = adapter._nc
        baseline = len(nc._subs)
        for _ in range(3):
            await adapter.listen_job_scheduled(["t1", "t2"], lambda _: None)
            await adapter.listen_chain_completed("c", lambda: None)
            await adapter.listen_job_ownership_lost("j", lambda: None)
        assert len(nc._subs) - baseline == 3


# --- "done" means the server has it, even over a slow link ---------------------------------------


@contextlib.asynccontextmanager
async def slow_link(nats_url: str) -> AsyncIterator[str]:
    """The URL of a relay to the server that forwards each protocol line a client sends 200 ms after the last."""
    target = urllib.parse.urlsplit(nats_url)
    host, port = target.hostname or "127.0.0.1", target.port or 4222
    relay = TcpRelay(host, port, upstream_gap_s=0.2, upstream_delimiter=b"\r\n")
    async with relay:
        yield f"nats://127.0.0.1:{relay.port}"


async def test_a_listener_is_active_on_return_when_its_subscription_reaches_the_server_late(
    nats_url: str, nc: Client, prefix: str
) -> None:
    async with slow_link(nats_url) as url:
        # The relay does make nats-py's own flush return before the server has the SUB queued
        # ahead of it. If this stops holding (nats-py fixed), the adapter's barrier can go.
        bare = await nats.connect(url)
        try:
            seen: list[bytes] = []

            async def record(msg: Msg) -> None:
                seen.append(msg.data)

            await bare.subscribe(f"{prefix}.bare", cb=record)
            await bare.flush()
            await nc.publish(f"{prefix}.bare", b"lost")
            await nc.flush()
            await asyncio.sleep(0.5)
            assert seen == [], "nats-py's flush waited for its SUB: the relay no longer plays the race"
        finally:
            await bare.close()

        async with nats_adapter(url, prefix) as adapter:
            lost = ReceivedNotifications()
            await adapter.listen_job_ownership_lost("j1", lost.bare)
            await nc.publish(f"{prefix}.owls", b"j1")
            await nc.flush()
            await wait_until(lambda: lost.items, message="the listener missed a message sent after it was active")


async def test_a_notification_is_on_the_server_when_notify_returns(nats_url: str, nc: Client, prefix: str) -> None:
    seen: list[bytes] = []

    async def record(msg: Msg) -> None:
        seen.append(msg.data)

    await nc.subscribe(f"{prefix}.chainc", cb=record)
    await nc.flush()
    async with slow_link(nats_url) as url, nats_adapter(url, prefix) as adapter:
        await adapter.notify_chain_completed("first")
        # Sent straight to the server once notify returned: it must come second.
        await nc.publish(f"{prefix}.chainc", b"second")
        await nc.flush()
        await wait_until(lambda: len(seen) == 2)
    assert seen == [b"first", b"second"]


# --- wake hints ----------------------------------------------------------------------------------


async def test_budgets_live_in_the_bucket_under_compatible_keys(nats_url: str, kv: KeyValue, prefix: str) -> None:
    async with nats_adapter(nats_url, prefix, bucket=bucket_of(kv)) as adapter:
        assert adapter.hint_key("process-order") == f"{prefix}_hint_process-order"
        await adapter.provide_wake_hint("process-order", 0)
        with pytest.raises(KeyNotFoundError):
            await kv.get(f"{prefix}_hint_process-order")
        await adapter.provide_wake_hint("process-order", 2)
        await adapter.provide_wake_hint("process-order", 3)
        assert (await kv.get(f"{prefix}_hint_process-order")).value == b"5"
        claims = await asyncio.gather(*(adapter.consume_wake_hint("process-order") for _ in range(7)))
        assert claims.count(True) == 5
        assert (await kv.get(f"{prefix}_hint_process-order")).value == b"0"
        await kv.delete(f"{prefix}_hint_process-order")
        assert await adapter.consume_wake_hint("process-order") is True, "no budget tracked: wake"


@pytest.mark.parametrize("type_name", AWKWARD_TYPE_NAMES)
async def test_type_names_that_are_not_valid_keys_are_escaped(
    nats_url: str, kv: KeyValue, prefix: str, type_name: str
) -> None:
    async with nats_adapter(nats_url, prefix, bucket=bucket_of(kv)) as adapter:
        encoded = base64.urlsafe_b64encode(type_name.encode()).decode().rstrip("=")
        assert adapter.hint_key(type_name) == f"{prefix}_hint_b64_{encoded}"
        await adapter.provide_wake_hint(type_name, 2)
        assert (await kv.get(f"{prefix}_hint_b64_{encoded}")).value == b"2"
        assert [await adapter.consume_wake_hint(type_name) for _ in range(3)] == [True, True, False]


async def test_dots_inside_a_type_name_stay_unescaped(nats_url: str, kv: KeyValue, prefix: str) -> None:
    async with nats_adapter(nats_url, prefix, bucket=bucket_of(kv)) as adapter:
        assert adapter.hint_key("orders.place") == f"{prefix}_hint_orders.place"
        await adapter.provide_wake_hint("orders.place", 1)
        assert (await kv.get(f"{prefix}_hint_orders.place")).value == b"1"


async def test_concurrent_provides_add_up(nats_url: str, kv: KeyValue, prefix: str) -> None:
    async with contextlib.AsyncExitStack() as stack:
        adapters = [
            await stack.enter_async_context(nats_adapter(nats_url, prefix, bucket=bucket_of(kv))) for _ in range(4)
        ]
        # Four writers conflict at most three times each: below the five attempts, so nothing is lost.
        await asyncio.gather(*(adapter.provide_wake_hint("t", 3) for adapter in adapters))
        assert (await kv.get(adapters[0].hint_key("t"))).value == b"12"


async def test_without_a_bucket_hints_are_no_ops(nats_url: str, prefix: str) -> None:
    async with nats_adapter(nats_url, prefix) as adapter:
        assert adapter.kv is None
        await adapter.provide_wake_hint("t", 1)
        assert [await adapter.consume_wake_hint("t") for _ in range(3)] == [True, True, True]


@pytest.mark.parametrize("budget", [1, 3])
async def test_one_scheduled_job_wakes_one_of_several_idle_listeners(
    nats_url: str, kv: KeyValue, prefix: str, budget: int
) -> None:
    type_name = "herd:job v1"  # not a valid key as is: escaped, and still budgeted
    async with contextlib.AsyncExitStack() as stack:
        adapters = [
            await stack.enter_async_context(nats_adapter(nats_url, prefix, bucket=bucket_of(kv))) for _ in range(7)
        ]
        claims = await wake_idle_listeners(adapters[0], adapters[1:], type_name, budget)
    assert claims.count(True) == budget, claims


# --- end to end: awkward type names wake their workers --------------------------------------------


class Ping(TypedDict):
    n: int


awkward = EntryJobType[Ping, Ping]("orders:validate v2.0")
ping = EntryJobType[Ping, Ping]("nats.ping")
JOB_TYPES = define_job_types(awkward, ping)


async def _echo(ctx: AttemptContext[InProcessTx, Ping, Ping]) -> AttemptResult[Ping, Ping]:
    async def finish(_: CompleteContext[InProcessTx]) -> Ping:
        return ctx.job.input

    return await ctx.complete(finish)


class WatchedNotify(ListeningNotifyAdapter):
    """Signals when the worker listens (it is idle), and records its wake-hint claims."""

    def __init__(self, inner: NotifyAdapter) -> None:
        super().__init__(inner)
        self.claims: list[bool] = []

    async def consume_wake_hint(self, type_name: str) -> bool:
        claimed = await super().consume_wake_hint(type_name)
        self.claims.append(claimed)
        return claimed


async def test_a_type_name_with_colon_dot_and_space_wakes_its_worker(nats_url: str, kv: KeyValue, prefix: str) -> None:
    logs: list[LogEntry] = []
    state = await create_in_process_state_adapter()
    async with nats_adapter(nats_url, prefix, bucket=bucket_of(kv)) as notify:
        client = await create_client(state_adapter=state, job_types=JOB_TYPES, notify_adapter=notify, log=logs.append)
        watched = WatchedNotify(notify)
        worker_client = await create_client(
            state_adapter=state, job_types=JOB_TYPES, notify_adapter=watched, log=logs.append
        )
        worker = await create_in_process_worker(
            client=worker_client,
            processors=create_processors(
                client=worker_client, processors=[Processor(job_type=awkward, attempt_handler=_echo)]
            ),
            poll_interval_ms=60_000,  # longer than the test: only a notification can wake it
        )
        await worker.start()
        try:
            for n in range(3):
                # Start the job only once the worker is asleep, listening.
                await asyncio.wait_for(watched.listening.wait(), timeout=5)
                job_input = Ping(n=n)
                async with transaction_hooks() as hooks:
                    chain = await state.with_transaction(
                        lambda tx: client.start_chain(
                            tx_ctx=tx,
                            transaction_hooks=hooks,
                            job_type=awkward,
                            input=job_input,  # noqa: B023 - awaited within this iteration
                        )
                    )
                done = await client.await_chain(chain, timeout_ms=5_000, poll_interval_ms=60_000)
                assert done.output == Ping(n=n)
        finally:
            await worker.stop()
    await state.close()
    assert [entry for entry in logs if entry["type"] == "notify_adapter_error"] == []
    # Each job's notification reached the worker, which claimed the budget kept under the escaped key.
    assert watched.claims == [True, True, True]
    assert (await kv.get(notify.hint_key(awkward.name))).value == b"0"


# --- outages ---------------------------------------------------------------------------------------


async def test_server_outage_degrades_to_polling_and_subscriptions_return_with_the_server(
    nats_server: NatsServerProcess, reconnecting: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="queuert.nats")
    nc = await nats.connect(nats_server.url, **reconnecting)
    try:
        kv = await nc.jetstream().create_key_value(bucket="queuert_hints", ttl=60)
        adapter = await create_nats_notify_adapter(nc=nc, kv=kv, subject_prefix="app", timeout_ms=1_000)
        completed, scheduled = ReceivedNotifications(), ReceivedNotifications()
        await adapter.listen_chain_completed("c", completed.bare)
        await adapter.listen_job_scheduled(["t"], scheduled.typed)
        await adapter.provide_wake_hint("t", 1)
        assert [await adapter.consume_wake_hint("t") for _ in range(2)] == [True, False]

        await nats_server.akill()
        await wait_until(lambda: not nc.is_connected, message="the client did not notice the server was gone")
        started = time.monotonic()
        assert await adapter.consume_wake_hint("t") is True, "an unreachable server must degrade to waking"
        assert "cannot reach NATS to claim a wake hint" in caplog.text
        with pytest.raises(nats.errors.ConnectionReconnectingError):
            await adapter.notify_job_scheduled("t")
        with pytest.raises(nats.errors.ConnectionReconnectingError):
            await adapter.listen_job_ownership_lost("j", lambda: None)
        assert time.monotonic() - started < 5, "calls during an outage must fail within their bounds"

        await nats_server.astart()
        await wait_until(lambda: nc.is_connected, timeout_ms=15_000, message="the client did not reconnect")
        await completed.publish_until_received(lambda: adapter.notify_chain_completed("c"), what="chain completion")
        completed.items.clear()
        await adapter.notify_job_scheduled("t")
        await adapter.notify_chain_completed("c")
        await wait_until(lambda: scheduled.items and completed.items)
        await scheduled.expect_no_more(1)
        assert completed.items == ["*"]
        # The bucket survived (file storage) and budgets work again; new subscriptions too.
        await adapter.provide_wake_hint("t", 1)
        assert [await adapter.consume_wake_hint("t") for _ in range(2)] == [True, False]
        lost = ReceivedNotifications()
        await adapter.listen_job_ownership_lost("j", lost.bare)
        await adapter.notify_job_ownership_lost("j")
        await wait_until(lambda: lost.items)
        await adapter.close()
    finally:
        await nc.close()


async def test_a_dead_nats_never_fails_the_committed_transaction_and_workers_keep_polling(
    nats_server: NatsServerProcess, reconnecting: dict[str, Any]
) -> None:
    logs: list[LogEntry] = []
    state = await create_in_process_state_adapter()
    nc = await nats.connect(nats_server.url, **reconnecting)
    try:
        kv = await nc.jetstream().create_key_value(bucket="queuert_hints", ttl=60)
        notify = await create_nats_notify_adapter(nc=nc, kv=kv, timeout_ms=1_000)
        client = await create_client(state_adapter=state, job_types=JOB_TYPES, notify_adapter=notify, log=logs.append)
        await nats_server.akill()
        await wait_until(lambda: not nc.is_connected)

        started = time.monotonic()
        async with transaction_hooks() as hooks:
            chain = await state.with_transaction(
                lambda tx: client.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=ping, input=Ping(n=1))
            )
        assert time.monotonic() - started < 5, "the flush after commit must be bounded"
        assert await client.get_chain(chain.id) is not None
        errors = [entry for entry in logs if entry["type"] == "notify_adapter_error"]
        assert {entry["data"]["operation"] for entry in errors} >= {"notify_job_scheduled", "provide_wake_hint"}

        processors = create_processors(client=client, processors=[Processor(job_type=ping, attempt_handler=_echo)])
        worker = await create_in_process_worker(client=client, processors=processors, poll_interval_ms=100)
        await worker.start()
        try:
            done = await client.await_chain(chain, timeout_ms=10_000, poll_interval_ms=50)
            assert done.output == Ping(n=1), "the worker must find the job by polling while NATS is down"
        finally:
            await worker.stop()

        await nats_server.astart()
        await wait_until(lambda: nc.is_connected, timeout_ms=15_000)
        slow = await create_in_process_worker(client=client, processors=processors, poll_interval_ms=60_000)
        await slow.start()
        try:
            async with transaction_hooks() as hooks:
                again = await state.with_transaction(
                    lambda tx: client.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=ping, input=Ping(n=2))
                )
            await client.await_chain(again, timeout_ms=5_000, poll_interval_ms=50)
        finally:
            await slow.stop()
        await notify.close()
    finally:
        await nc.close()
        await state.close()


async def test_every_chain_completes_across_a_server_restart(
    nats_server: NatsServerProcess, reconnecting: dict[str, Any]
) -> None:
    state = await create_in_process_state_adapter()
    nc = await nats.connect(nats_server.url, **reconnecting)
    try:
        kv = await nc.jetstream().create_key_value(bucket="queuert_hints", ttl=60)
        notify = await create_nats_notify_adapter(nc=nc, kv=kv, timeout_ms=1_000)
        client = await create_client(state_adapter=state, job_types=JOB_TYPES, notify_adapter=notify)
        processors = create_processors(client=client, processors=[Processor(job_type=ping, attempt_handler=_echo)])
        workers = [
            await create_in_process_worker(client=client, processors=processors, concurrency=2, poll_interval_ms=300)
            for _ in range(2)
        ]
        for worker in workers:
            await worker.start()

        async def start(n: int) -> str:
            async with transaction_hooks() as hooks:
                chain = await state.with_transaction(
                    lambda tx: client.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=ping, input=Ping(n=n))
                )
            return chain.id

        try:
            chain_ids = [await start(n) for n in range(10)]
            await nats_server.akill()
            chain_ids += [await start(n) for n in range(10, 20)]
            await nats_server.astart()
            chain_ids += [await start(n) for n in range(20, 30)]
            done = await asyncio.gather(
                *(client.await_chain(chain_id, timeout_ms=15_000, poll_interval_ms=100) for chain_id in chain_ids)
            )
        finally:
            for worker in workers:
                await worker.stop()
        await notify.close()
    finally:
        await nc.close()
        await state.close()
    assert [chain.output for chain in done] == [Ping(n=n) for n in range(30)]


# --- lifecycle and validation ---------------------------------------------------------------------


async def test_close_leaves_the_connection_open(nc: Client, prefix: str) -> None:
    adapter = await create_nats_notify_adapter(nc=nc, subject_prefix=prefix)
    await adapter.listen_chain_completed("c", lambda: None)
    await adapter.close()
    await adapter.close()
    assert nc.is_connected
    await nc.flush()


async def test_a_connection_without_echo_is_refused(nats_url: str, prefix: str) -> None:
    nc = await nats.connect(nats_url, no_echo=True)
    try:
        with pytest.raises(ValueError, match="no_echo"):
            await create_nats_notify_adapter(nc=nc, subject_prefix=prefix)
    finally:
        await nc.close()


async def test_an_adapter_on_a_closed_connection_cannot_be_created(nats_url: str, prefix: str) -> None:
    nc = await nats.connect(nats_url)
    await nc.close()
    with pytest.raises(nats.errors.ConnectionClosedError):
        await create_nats_notify_adapter(nc=nc, subject_prefix=prefix)


async def test_listening_on_a_closed_connection_fails(nats_url: str, prefix: str) -> None:
    nc = await nats.connect(nats_url)
    adapter = await create_nats_notify_adapter(nc=nc, subject_prefix=prefix)
    unsubscribe = await adapter.listen_chain_completed("c", lambda: None)
    await nc.close()
    with pytest.raises(nats.errors.ConnectionClosedError):
        await adapter.listen_chain_completed("d", lambda: None)
    with pytest.raises(nats.errors.ConnectionClosedError):
        await adapter.notify_chain_completed("c")
    await unsubscribe()
    await adapter.close()


@pytest.mark.parametrize("bad", ["", "a b", "a.*", "a.>", "a..b", ".a", "a."])
async def test_rejects_a_prefix_that_is_not_subject_tokens(nc: Client, bad: str) -> None:
    with pytest.raises(ValueError, match="subject_prefix"):
        await create_nats_notify_adapter(nc=nc, subject_prefix=bad)


async def test_rejects_a_prefix_that_cannot_start_a_key_only_with_a_bucket(nc: Client, kv: KeyValue) -> None:
    assert (await create_nats_notify_adapter(nc=nc, subject_prefix="app:x")).subject_prefix == "app:x"
    with pytest.raises(ValueError, match="wake hints"):
        await create_nats_notify_adapter(nc=nc, kv=kv, subject_prefix="app:x")
    with pytest.raises(ValueError, match="timeout_ms"):
        await create_nats_notify_adapter(nc=nc, timeout_ms=0)
