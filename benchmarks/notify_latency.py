"""Enqueue -> handler-start latency of an idle worker, per notify adapter, versus polling.

Each sample starts one chain while the worker is idle and measures from just before the
starting transaction to the first line of the handler. With a notify adapter the worker's
next poll is a minute away, so only the notification can wake it; with polling the chain is
started at a random point of the poll cycle. The state adapter is always the in-process one,
so the numbers are the wake-up path itself, not a database's write latency.

    uv run python benchmarks/notify_latency.py [--samples 200] [--poll-interval-ms 200]

Servers come from the same variables as the adapters' tests (`QUEUERT_REDIS_URL`,
`QUEUERT_NATS_URL`, `QUEUERT_POSTGRES_DSN`, with local defaults); an adapter whose server
does not answer is reported as skipped, and the others still run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from secrets import token_hex
from typing import TYPE_CHECKING, TypedDict

import asyncpg
import nats
from redis.asyncio import Redis

from queuert import (
    AttemptContext,
    AttemptResult,
    CompleteContext,
    EntryJobType,
    InProcessTx,
    Processor,
    create_client,
    create_in_process_notify_adapter,
    create_in_process_state_adapter,
    create_in_process_worker,
    create_processors,
    define_job_types,
    transaction_hooks,
)
from queuert.testing import ListeningNotifyAdapter
from queuert_nats import create_nats_notify_adapter
from queuert_postgres import AsyncpgNotifyProvider, create_pg_notify_adapter
from queuert_redis import RedisPubSubProvider, create_redis_notify_adapter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from contextlib import AbstractAsyncContextManager

    from queuert.adapters import NotifyAdapter

NOTIFIED_POLL_INTERVAL_MS = 60_000
"""A poll a minute away: a job started within seconds was started by the notification."""


class Ping(TypedDict):
    n: int


ping = EntryJobType[Ping, Ping]("latency.ping")
JOB_TYPES = define_job_types(ping)


async def measure(notify: NotifyAdapter | None, *, poll_interval_ms: float, samples: int) -> list[float]:
    """Latencies in milliseconds of `samples` chains, each started while the worker is idle.

    Args:
        notify: The adapter shared by the starting client and the worker; `None` to measure polling.
        poll_interval_ms: The worker's poll interval.
        samples: How many chains to start, one at a time.
    """
    state = await create_in_process_state_adapter()
    client = await create_client(state_adapter=state, job_types=JOB_TYPES, notify_adapter=notify)
    # Signals while the worker listens for scheduled jobs, that is while it is idle.
    signal = ListeningNotifyAdapter(notify) if notify is not None else None
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


@asynccontextmanager
async def in_process() -> AsyncIterator[NotifyAdapter]:
    notify = await create_in_process_notify_adapter()
    try:
        yield notify
    finally:
        await notify.close()


@asynccontextmanager
async def redis_pubsub(url: str) -> AsyncIterator[NotifyAdapter]:
    client = Redis.from_url(url, socket_connect_timeout=3)
    try:
        await client.ping()
        notify = await create_redis_notify_adapter(
            notify_provider=RedisPubSubProvider(client), channel_prefix=f"queuert:bench:{token_hex(4)}"
        )
        try:
            yield notify
        finally:
            await notify.close()
    finally:
        await client.aclose()


async def _quiet(_error: Exception) -> None:
    return None


@asynccontextmanager
async def nats_with_hints(url: str) -> AsyncIterator[NotifyAdapter]:
    # nats-py keeps retrying a refused first connection, whatever the reconnect options.
    async with asyncio.timeout(5):
        nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False, error_cb=_quiet)
    try:
        bucket = f"queuert_bench_{token_hex(4)}"
        kv = await nc.jetstream().create_key_value(bucket=bucket, ttl=60)
        try:
            notify = await create_nats_notify_adapter(nc=nc, kv=kv, subject_prefix=f"queuert.bench.{token_hex(4)}")
            try:
                yield notify
            finally:
                await notify.close()
        finally:
            await nc.jetstream().delete_key_value(bucket)
    finally:
        await nc.close()


@asynccontextmanager
async def postgres_listen_notify(dsn: str) -> AsyncIterator[NotifyAdapter]:
    # Fail fast on an unreachable server instead of at the first notification.
    conn = await asyncpg.connect(dsn, timeout=5)
    await conn.close()
    notify = await create_pg_notify_adapter(
        notify_provider=AsyncpgNotifyProvider(dsn), channel_prefix=f"queuert_bench_{token_hex(4)}"
    )
    try:
        yield notify
    finally:
        await notify.close()


@dataclass
class Row:
    wake_up: str
    latencies: list[float] | None = None
    skipped: str | None = None


def percentiles(latencies: list[float]) -> tuple[float, float]:
    """p50 and p99 of the samples (inclusive method: no extrapolation past the extremes)."""
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49], cuts[98]


async def run(args: argparse.Namespace) -> list[Row]:
    notified: list[tuple[str, Callable[[], AbstractAsyncContextManager[NotifyAdapter]]]] = [
        ("in-process notify", in_process),
        ("Redis pub/sub", lambda: redis_pubsub(args.redis_url)),
        ("NATS (with key-value hints)", lambda: nats_with_hints(args.nats_url)),
        ("PostgreSQL LISTEN/NOTIFY", lambda: postgres_listen_notify(args.postgres_dsn)),
    ]
    rows: list[Row] = []
    for wake_up, open_adapter in notified:
        try:
            async with open_adapter() as notify:
                latencies = await measure(notify, poll_interval_ms=NOTIFIED_POLL_INTERVAL_MS, samples=args.samples)
        except Exception as exc:
            rows.append(Row(wake_up, skipped=f"{type(exc).__name__}: {exc}"))
        else:
            rows.append(Row(wake_up, latencies))
    polled = await measure(None, poll_interval_ms=args.poll_interval_ms, samples=args.samples)
    rows.append(Row(f"polling every {args.poll_interval_ms} ms", polled))
    return rows


def render(rows: list[Row], *, samples: int) -> str:
    lines = [
        f"enqueue -> handler start, idle worker, in-process state, {samples} samples",
        f"machine: {platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "",
        "| wake-up | p50 | p99 |",
        "| --- | --- | --- |",
    ]
    for row in rows:
        if row.latencies is None:
            lines.append(f"| {row.wake_up} | skipped: {row.skipped} | |")
        else:
            p50, p99 = percentiles(row.latencies)
            lines.append(f"| {row.wake_up} | {p50:.2f} ms | {p99:.2f} ms |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200, help="chains started per wake-up kind (default 200)")
    parser.add_argument("--poll-interval-ms", type=int, default=200, help="poll interval of the polling row")
    parser.add_argument("--redis-url", default=os.environ.get("QUEUERT_REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--nats-url", default=os.environ.get("QUEUERT_NATS_URL") or "nats://127.0.0.1:4222")
    parser.add_argument(
        "--postgres-dsn",
        default=os.environ.get("QUEUERT_POSTGRES_DSN") or "postgresql://postgres@127.0.0.1:5432/test",
    )
    args = parser.parse_args()
    if args.samples < 2:
        parser.error("--samples must be at least 2 (percentiles need two points)")
    sys.stdout.write(render(asyncio.run(run(args)), samples=args.samples) + "\n")


if __name__ == "__main__":
    main()
