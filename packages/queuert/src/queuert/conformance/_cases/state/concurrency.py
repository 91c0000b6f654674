"""concurrency: parallel transactions, reads and acquires; races that must not strand or duplicate work."""

from __future__ import annotations

import asyncio
from typing import Any

from ...._state_adapter import CreatedJob, JobBlockersParams, StateJob
from .._support import LOCK_OBSERVATION_S, wait_for
from ._common import Adapter, Context, StateGroup, acquire, create, create_job, dedup, get, root

group = StateGroup("concurrency")


@group.case("parallel withTransaction calls all commit successfully")
async def _parallel_transactions(t: Context) -> None:
    results = await wait_for(
        asyncio.gather(*(create(t.adapter, root("parallel", input=i)) for i in range(5))), "5 parallel transactions"
    )
    job_ids = {result[0].job.id for result in results}
    assert len(job_ids) == 5
    for job_id in job_ids:
        assert await t.adapter.get_job(job_id) is not None


@group.case("parallel non-transactional reads all return correct results")
async def _parallel_reads(t: Context) -> None:
    jobs = [c.job for c in await create(t.adapter, *(root(input=i) for i in range(10)))]
    found = await wait_for(asyncio.gather(*(t.adapter.get_job(job.id) for job in jobs)), "10 parallel reads")
    assert [job.id if job else None for job in found] == [job.id for job in jobs]
    assert [job.input if job else None for job in found] == list(range(10))


@group.case("parallel withTransaction and non-transactional reads do not deadlock")
async def _no_deadlock(t: Context) -> None:
    existing = await create_job(t.adapter)
    writes = [create(t.adapter, root(input=i)) for i in range(3)]
    reads = [t.adapter.get_job(existing.id) for _ in range(5)]
    results = await wait_for(asyncio.gather(*writes, *reads), "3 transactions and 5 reads")
    assert len(results) == 8
    assert all(read is not None and read.id == existing.id for read in results[3:])


@group.case("parallel acquireJob calls return distinct jobs (no double-dispatch)")
async def _no_double_dispatch(t: Context) -> None:
    await create(t.adapter, *(root("race") for _ in range(5)))
    results = await wait_for(asyncio.gather(*(acquire(t.adapter, "race") for _ in range(5))), "5 parallel acquires")
    acquired = [result.job.id for result in results if result.job is not None]
    assert len(set(acquired)) == len(acquired), "a job was handed to two acquirers"
    assert len(acquired) == 5


async def _race_blocker_against_completion(adapter: Adapter) -> StateJob:
    blocker = await create_job(adapter, root("race-blocker"))

    async def start_main(tx: Any) -> StateJob:
        [main] = await adapter.create_jobs([root("race-main")], tx_ctx=tx)
        params = JobBlockersParams(job_id=main.job.id, blocked_by_chain_ids=[blocker.id])
        await adapter.add_jobs_blockers([params], tx_ctx=tx)
        return main.job

    async def finish_blocker(tx: Any) -> None:
        await adapter.complete_job(blocker.id, output=None, worker_id=None, tx_ctx=tx)
        await adapter.unblock_jobs(blocker.id, tx_ctx=tx)

    main, _ = await asyncio.gather(adapter.with_transaction(start_main), adapter.with_transaction(finish_blocker))
    return main


@group.case("starting a chain blocked by a concurrently-completing chain does not strand it as blocked")
async def _no_stranding(t: Context) -> None:
    for _ in range(20):
        main = await wait_for(_race_blocker_against_completion(t.adapter), "one blocker/completion race")
        assert (await get(t.adapter, main.id)).status != "blocked", "the job was left blocked by a completed chain"


# --- additions of this port -------------------------------------------------------------


@group.case("two concurrent transactions deduplicating on the same key insert one chain", upstream=False)
async def _race_free_dedup(t: Context) -> None:
    a = t.adapter
    first_created = asyncio.Event()
    gate = t.gate()

    async def first(tx: Any) -> CreatedJob:
        [created] = await a.create_jobs([root("dedup-race", deduplication=dedup("race"))], tx_ctx=tx)
        first_created.set()
        await gate.wait()
        return created

    async def second(tx: Any) -> CreatedJob:
        [created] = await a.create_jobs([root("dedup-race", deduplication=dedup("race"))], tx_ctx=tx)
        return created

    first_task = t.start(a.with_transaction(first))
    await wait_for(first_created.wait(), "the first transaction to insert")
    second_task = t.start(a.with_transaction(second))
    # The second transaction now looks for a match while the first has not committed; it
    # must wait for the first (and then match it), never insert a second chain.
    await asyncio.wait({second_task}, timeout=LOCK_OBSERVATION_S)
    gate.set()
    one = await wait_for(first_task, "the first transaction")
    two = await wait_for(second_task, "the second transaction")
    assert not one.deduplicated
    assert two.deduplicated, "the second transaction inserted a duplicate chain"
    assert two.job.id == one.job.id


@group.case("parallel non-transactional acquires never hand out a job twice", upstream=False)
async def _parallel_plain_acquires(t: Context) -> None:
    await create(t.adapter, *(root("race") for _ in range(20)))
    results = await wait_for(
        asyncio.gather(*(t.adapter.acquire_job(["race"]) for _ in range(25))), "25 parallel acquires"
    )
    acquired = [result.job.id for result in results if result.job is not None]
    assert len(set(acquired)) == len(acquired), "a job was handed to two acquirers"
    assert len(acquired) == 20
