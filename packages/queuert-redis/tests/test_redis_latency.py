"""Enqueue -> handler-start latency of an idle worker: woken through Redis, versus polling.

Each sample starts one chain while the worker sleeps (its poll interval a minute away when
notified; at a random point of its cycle when polling) and measures from just before the
starting transaction to the first line of the handler. The state adapter is the in-process
one, so the numbers are the wake-up path itself. p50/p99 are printed in the terminal
summary; `QUEUERT_LATENCY_SAMPLES` raises the sample count for a real measurement (the
default keeps the test quick).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from typing import TYPE_CHECKING, TypedDict

import pytest
from redis.asyncio import Redis

from queuert import (
    AttemptContext,
    AttemptResult,
    CompleteContext,
    EntryJobType,
    InProcessTx,
    Processor,
    create_client,
    create_in_process_state_adapter,
    create_in_process_worker,
    create_processors,
    define_job_types,
    transaction_hooks,
)
from queuert.adapters import NotifyAdapter, Unsubscribe
from queuert_redis import RedisPubSubProvider, create_redis_notify_adapter

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

pytestmark = pytest.mark.redis

SAMPLES = int(os.environ.get("QUEUERT_LATENCY_SAMPLES", "30"))
POLL_INTERVAL_MS = 200


class Ping(TypedDict):
    n: int


ping = EntryJobType[Ping, Ping]("latency.ping")
JOB_TYPES = define_job_types(ping)


class ListeningSignal(NotifyAdapter):
    """Delegates to an adapter and signals while the worker listens for scheduled jobs (it is asleep)."""

    def __init__(self, inner: NotifyAdapter) -> None:
        self.inner = inner
        self.listening = asyncio.Event()

    async def notify_job_scheduled(self, type_name: str) -> None:
        await self.inner.notify_job_scheduled(type_name)

    async def listen_job_scheduled(
        self, type_names: Sequence[str], on_notification: Callable[[str], None]
    ) -> Unsubscribe:
        unsubscribe = await self.inner.listen_job_scheduled(type_names, on_notification)
        self.listening.set()

        async def stop() -> None:
            self.listening.clear()
            await unsubscribe()

        return stop

    async def provide_wake_hint(self, type_name: str, count: int) -> None:
        await self.inner.provide_wake_hint(type_name, count)

    async def consume_wake_hint(self, type_name: str) -> bool:
        return await self.inner.consume_wake_hint(type_name)

    async def notify_chain_completed(self, chain_id: str) -> None:
        await self.inner.notify_chain_completed(chain_id)

    async def listen_chain_completed(self, chain_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        return await self.inner.listen_chain_completed(chain_id, on_notification)

    async def notify_job_ownership_lost(self, job_id: str) -> None:
        await self.inner.notify_job_ownership_lost(job_id)

    async def listen_job_ownership_lost(self, job_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        return await self.inner.listen_job_ownership_lost(job_id, on_notification)

    async def close(self) -> None:
        await self.inner.close()


async def measure(notify: NotifyAdapter | None, *, poll_interval_ms: float, samples: int) -> list[float]:
    """Latencies in milliseconds of `samples` chains, each started while the worker is idle."""
    state = await create_in_process_state_adapter()
    client = await create_client(state_adapter=state, job_types=JOB_TYPES, notify_adapter=notify)
    signal = ListeningSignal(notify) if notify is not None else None
    worker_client = await create_client(state_adapter=state, job_types=JOB_TYPES, notify_adapter=signal)
    started: dict[int, float] = {}

    async def handler(ctx: AttemptContext[InProcessTx, Ping, Ping]) -> AttemptResult[Ping, Ping]:
        started[ctx.job.input["n"]] = time.perf_counter()

        async def finish(_: CompleteContext[InProcessTx]) -> Ping:
            return ctx.job.input

        return await ctx.complete(finish)

    processors = create_processors(client=worker_client, processors=[Processor(job_type=ping, attempt_handler=handler)])
    worker = await create_in_process_worker(
        client=worker_client, processors=processors, poll_interval_ms=poll_interval_ms
    )
    await worker.start()
    latencies: list[float] = []
    try:
        for n in range(samples):
            if signal is not None:
                await asyncio.wait_for(signal.listening.wait(), timeout=5)
            else:
                # Jobs arrive at any point of the polling cycle, not just after a poll.
                await asyncio.sleep(random.uniform(0, poll_interval_ms / 1000))
            job_input = Ping(n=n)
            enqueued = time.perf_counter()
            async with transaction_hooks() as hooks:
                chain = await state.with_transaction(
                    lambda tx: client.start_chain(
                        tx_ctx=tx,
                        transaction_hooks=hooks,
                        job_type=ping,
                        input=job_input,  # noqa: B023 - awaited within this iteration
                    )
                )
            await client.await_chain(chain, timeout_ms=5_000, poll_interval_ms=20)
            latencies.append((started[n] - enqueued) * 1000)
    finally:
        await worker.stop()
        await state.close()
    return latencies


def percentiles(latencies: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49], cuts[98]


async def test_notified_workers_start_jobs_far_sooner_than_polling_ones(
    redis_url: str, prefix: str, latency_report: list[str]
) -> None:
    client = Redis.from_url(redis_url)
    notify = await create_redis_notify_adapter(notify_provider=RedisPubSubProvider(client), channel_prefix=prefix)
    try:
        notified = await measure(notify, poll_interval_ms=60_000, samples=SAMPLES)
    finally:
        await notify.close()
        await client.aclose()
    polled = await measure(None, poll_interval_ms=POLL_INTERVAL_MS, samples=SAMPLES)

    notified_p50, notified_p99 = percentiles(notified)
    polled_p50, polled_p99 = percentiles(polled)
    latency_report.append(f"redis notify: p50 {notified_p50:.2f} ms, p99 {notified_p99:.2f} ms ({SAMPLES} samples)")
    latency_report.append(
        f"polling every {POLL_INTERVAL_MS} ms: p50 {polled_p50:.2f} ms, p99 {polled_p99:.2f} ms ({SAMPLES} samples)"
    )
    # A worker whose next poll is a minute away was woken by the notification, every time.
    assert notified_p99 < 1_000
    assert notified_p50 < polled_p50 / 2
