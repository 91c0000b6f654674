"""A lease left by an abandoned staged attempt is reaped when it expires, even if the worker that left it is busy."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, TypedDict

from queuert import (
    AttemptContext,
    AttemptResult,
    CompleteContext,
    EntryJobType,
    InProcessTx,
    LeaseConfig,
    LogEntry,
    Processor,
    WorkerDefaults,
    create_client,
    create_in_process_notify_adapter,
    create_in_process_state_adapter,
    create_in_process_worker,
    create_processors,
    define_job_types,
    transaction_hooks,
)
from queuert.testing import FlakyStateAdapter, fail_operations, wait_until

if TYPE_CHECKING:
    from queuert import Client, InProcessStateAdapter

# Long enough that the idle worker is asleep well before the lease ends; the poll interval
# is far beyond the test's bounds, so only a wake-up can get the job processed in time.
LEASE = LeaseConfig(lease_ms=400, renew_interval_ms=60_000)
POLL_MS = 60_000


class Ping(TypedDict):
    n: int


staged = EntryJobType[Ping, Ping]("lease_handoff.staged")
blocking = EntryJobType[Ping, Ping]("lease_handoff.blocking")
JOB_TYPES = define_job_types(staged, blocking)


async def _finish(ctx: AttemptContext[InProcessTx, Ping, Ping]) -> AttemptResult[Ping, Ping]:
    async def output(_: CompleteContext[InProcessTx]) -> Ping:
        return ctx.job.input

    return await ctx.complete(output)


async def _fails_first(ctx: AttemptContext[InProcessTx, Ping, Ping]) -> AttemptResult[Ping, Ping]:
    await ctx.prepare("staged")
    if ctx.job.attempt == 1:
        raise RuntimeError("boom")
    return await _finish(ctx)


async def _start(state: InProcessStateAdapter, client: Client[InProcessTx], job_type: EntryJobType[Ping, Ping]) -> str:
    async with transaction_hooks() as hooks:
        started = await state.with_transaction(
            lambda tx: client.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=job_type, input=Ping(n=1))
        )
    return started.id


async def test_an_idle_worker_reaps_a_lease_dropped_by_a_busy_worker() -> None:
    state = await create_in_process_state_adapter()
    notify = await create_in_process_notify_adapter()
    logs: list[LogEntry] = []
    client = await create_client(state_adapter=state, notify_adapter=notify, job_types=JOB_TYPES, log=logs.append)
    # The busy worker cannot record the staged failure: its attempt is abandoned with the lease left on the job.
    flaky = FlakyStateAdapter(state, plan=fail_operations("reschedule_job", times=1))
    busy_client = await create_client(state_adapter=flaky, notify_adapter=notify, job_types=JOB_TYPES, log=logs.append)
    release = asyncio.Event()

    async def blocks(ctx: AttemptContext[InProcessTx, Ping, Ping]) -> AttemptResult[Ping, Ping]:
        await release.wait()
        return await _finish(ctx)

    def started(job_id: str) -> list[LogEntry]:
        return [e for e in logs if e["type"] == "job_attempt_started" and e["data"]["id"] == job_id]

    dropped = await _start(state, client, staged)
    long_job = await _start(state, client, blocking)
    busy = await create_in_process_worker(
        client=busy_client,
        processors=create_processors(
            client=busy_client,
            processors=[
                Processor(job_type=staged, attempt_handler=_fails_first),
                Processor(job_type=blocking, attempt_handler=blocks),
            ],
        ),
        worker_name="busy",
        poll_interval_ms=POLL_MS,
        defaults=WorkerDefaults(lease_config=LEASE),
    )
    idle = await create_in_process_worker(
        client=client,
        processors=create_processors(
            client=client, processors=[Processor(job_type=staged, attempt_handler=_fails_first)]
        ),
        worker_name="idle",
        poll_interval_ms=POLL_MS,
        defaults=WorkerDefaults(lease_config=LEASE),
    )
    try:
        async with busy:
            try:
                # One slot: the staged attempt has ended (abandoned) once the blocking job started.
                await wait_until(lambda: started(long_job), timeout_ms=2_000)
                job = await client.get_job(dropped)
                assert job is not None
                assert job.status == "running"
                assert job.leased_by == busy.worker_id
                async with idle:
                    done = await client.await_chain(dropped, timeout_ms=3_000, poll_interval_ms=10)
                assert done.output == {"n": 1}
                reaped = [e for e in logs if e["type"] == "job_reaped"]
                assert [e["data"]["worker_id"] for e in reaped] == [idle.worker_id]
                assert [e["data"]["worker_id"] for e in started(dropped)] == [busy.worker_id, idle.worker_id]
                # The busy worker was busy all along.
                still = await client.get_job(long_job)
                assert still is not None
                assert still.status == "running"
            finally:
                release.set()
    finally:
        await notify.close()
        await state.close()
