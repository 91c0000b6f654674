"""withTransaction: commit, rollback, and isolation of writes made outside the transaction."""

from __future__ import annotations

import asyncio
from typing import Any

from ...._entities import JobFilter
from ...._state_adapter import JobBlockersParams, StateJob
from .._support import LOCK_OBSERVATION_S, Rollback, raises, wait_for
from ._common import Context, StateGroup, acquire, continuation, create, create_job, dedup, get, root

group = StateGroup("withTransaction")


@group.case("maintains transaction isolation")
async def _isolation(t: Context) -> None:
    a = t.adapter
    kept = await create_job(a)
    created: list[StateJob] = []

    async def body(tx: Any) -> None:
        created.append((await a.create_jobs([root("rolled-back")], tx_ctx=tx))[0].job)
        raise Rollback

    with raises(Rollback):
        await a.with_transaction(body)
    assert await a.get_job(kept.id) is not None
    assert await a.get_job(created[0].id) is None
    assert (await a.list_jobs(filter=JobFilter(type_name=["rolled-back"]))).items == []


@group.case("restores updated job state when rolled back")
async def _restores_updates(t: Context) -> None:
    a = t.adapter
    job = await create_job(a, root("update-rollback"))

    async def body(tx: Any) -> None:
        await a.acquire_job(["update-rollback"], tx_ctx=tx)
        await a.renew_job_lease(job.id, worker_id="w", lease_duration_ms=30_000, tx_ctx=tx)
        raise Rollback

    with raises(Rollback):
        await a.with_transaction(body)
    after = await get(a, job.id)
    assert after.status == "pending"
    assert after.attempt == 0
    assert after.leased_until is None
    again = await acquire(a, "update-rollback")
    assert again.job is not None
    assert again.job.id == job.id
    assert again.job.attempt == 1


@group.case("revives deleted chains when rolled back")
async def _revives_deleted(t: Context) -> None:
    a = t.adapter
    job = await create_job(a, root("delete-rollback", deduplication=dedup("d")))
    nxt = await create_job(a, continuation(job, "delete-rollback"))

    async def body(tx: Any) -> None:
        deleted = await a.delete_chains([job.chain_id], tx_ctx=tx)
        assert len(deleted.deleted) == 1
        raise Rollback

    with raises(Rollback):
        await a.with_transaction(body)
    assert (await get(a, job.id)).id == job.id
    chain = await a.get_chain(job.id)
    assert chain is not None
    assert chain.last is not None
    assert chain.last.id == nxt.id
    [again] = await create(a, root("delete-rollback", deduplication=dedup("d")))
    assert again.deduplicated, "the revived chain must deduplicate again"
    acquired = await acquire(a, "delete-rollback")
    assert acquired.job is not None
    assert acquired.job.id in (job.id, nxt.id)


@group.case("restores blocker state when rolled back")
async def _restores_blockers(t: Context) -> None:
    a = t.adapter
    blocker = await create_job(a, root("blocker"))
    target = await create_job(a, root("target"))

    async def body(tx: Any) -> None:
        params = JobBlockersParams(job_id=target.id, blocked_by_chain_ids=[blocker.chain_id])
        [result] = await a.add_jobs_blockers([params], tx_ctx=tx)
        assert result.job.status == "blocked"
        raise Rollback

    with raises(Rollback):
        await a.with_transaction(body)
    assert (await get(a, target.id)).status == "pending"
    assert await a.get_job_blockers(target.id) == []
    assert (await a.list_blocked_jobs(blocker.chain_id, order_direction="asc", limit=10)).items == []
    assert (await acquire(a, "target")).job is not None


@group.case("non-transactional writes are not swept into a concurrent transaction's rollback")
async def _non_tx_write_survives(t: Context) -> None:
    a = t.adapter
    tx_ready = asyncio.Event()
    gate = t.gate()

    async def body(tx: Any) -> None:
        await a.create_jobs([root("nontx-vs-tx", input={"side": "tx"})], tx_ctx=tx)
        tx_ready.set()
        await gate.wait()
        raise Rollback

    holder = t.start(a.with_transaction(body))
    await wait_for(tx_ready.wait(), "the transaction to write")
    outside = t.start(a.create_jobs([root("nontx-vs-tx", input={"side": "non-tx"})]))
    # The write may wait for the transaction (a store-wide lock) or finish at once; give it
    # the chance to finish while the transaction is still open.
    await asyncio.wait({outside}, timeout=LOCK_OBSERVATION_S)
    gate.set()
    with raises(Rollback):
        await wait_for(holder, "the transaction to roll back")
    [created] = await wait_for(outside, "the non-transactional write")
    survived = await get(a, created.job.id)
    assert survived.input == {"side": "non-tx"}
    listed = await a.list_jobs(filter=JobFilter(type_name=["nontx-vs-tx"]))
    assert [job.input for job in listed.items] == [{"side": "non-tx"}]


@group.case("rolls back mixed mutations atomically with consistent indexes")
async def _mixed_rollback(t: Context) -> None:
    a = t.adapter
    job_a = await create_job(a, root("mixed"))
    job_b = await create_job(a, root("mixed"))

    async def body(tx: Any) -> None:
        acquired = await a.acquire_job(["mixed"], tx_ctx=tx)
        assert acquired.job is not None
        await a.complete_job(job_a.id, output={"ok": True}, worker_id="w1", tx_ctx=tx)
        await a.delete_chains([job_b.chain_id], tx_ctx=tx)
        raise Rollback

    with raises(Rollback):
        await a.with_transaction(body)
    a_after = await get(a, job_a.id)
    b_after = await get(a, job_b.id)
    assert a_after.status == "pending"
    assert a_after.completed_at is None
    assert a_after.leased_until is None
    assert b_after.status == "pending"
    assert b_after.completed_at is None
    assert await a.get_next_job_available_in_ms(["mixed"]) == 0
    first = await acquire(a, "mixed")
    second = await acquire(a, "mixed")
    assert {first.job.id if first.job else None, second.job.id if second.job else None} == {job_a.id, job_b.id}
    assert (await acquire(a, "mixed")).job is None


# --- additions of this port -------------------------------------------------------------


@group.case("returns the callback's result and re-raises its exception unchanged", upstream=False)
async def _result_and_error(t: Context) -> None:
    async def ok(tx: Any) -> str:
        return "result"

    assert await t.adapter.with_transaction(ok) == "result"
    error = Rollback("the original")

    async def failing(tx: Any) -> None:
        raise error

    with raises(Rollback) as caught:
        await t.adapter.with_transaction(failing)
    assert caught.value is error


@group.case("a cancelled transaction rolls back and releases what it held", upstream=False)
async def _cancelled_rolls_back(t: Context) -> None:
    a = t.adapter
    inside = asyncio.Event()

    async def body(tx: Any) -> None:
        await a.create_jobs([root("cancelled")], tx_ctx=tx)
        inside.set()
        await asyncio.Event().wait()

    task = t.start(a.with_transaction(body))
    await wait_for(inside.wait(), "the transaction to write")
    task.cancel()
    with raises(asyncio.CancelledError):
        await task
    assert (await a.list_jobs(filter=JobFilter(type_name=["cancelled"]))).items == []
    assert (await wait_for(create_job(a), "a write after the cancelled transaction")).status == "pending"
