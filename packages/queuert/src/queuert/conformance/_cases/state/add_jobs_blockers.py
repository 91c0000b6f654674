"""addJobsBlockers: attaching blocker chains and blocking jobs whose blockers are incomplete."""

from __future__ import annotations

from ...._state_adapter import JobBlockersParams
from ....errors import JobNotFoundError
from .._support import raises
from ._common import Context, StateGroup, add_blockers, complete, create_job, get, root

group = StateGroup("addJobsBlockers")


@group.case("adds blockers and returns incomplete blocker chain IDs")
async def _adds(t: Context) -> None:
    blocker = await create_job(t.adapter, root("blocker"))
    main = await create_job(t.adapter, root("main"))
    result = await add_blockers(t.adapter, main, blocker.chain_id)
    assert result.job.id == main.id
    assert result.job.status == "blocked"
    assert result.incomplete_blocker_chain_ids == (blocker.chain_id,)
    assert result.blocker_chain_trace_contexts == (None,)
    assert (await get(t.adapter, main.id)).status == "blocked"


@group.case("returns empty incompleteBlockerChainIds when all blockers are completed")
async def _all_completed(t: Context) -> None:
    blocker = await create_job(t.adapter, root("blocker"))
    await complete(t.adapter, blocker)
    main = await create_job(t.adapter, root("main"))
    result = await add_blockers(t.adapter, main, blocker.chain_id)
    assert result.job.status == "pending"
    assert result.incomplete_blocker_chain_ids == ()
    assert result.blocker_chain_trace_contexts == (None,)


@group.case("adds blockers to multiple jobs in a single batch")
async def _batch(t: Context) -> None:
    a = t.adapter
    b1 = await create_job(a, root("b1"))
    b2 = await create_job(a, root("b2"))
    main1 = await create_job(a, root("main1"))
    main2 = await create_job(a, root("main2"))
    results = await a.with_transaction(
        lambda tx: a.add_jobs_blockers(
            [
                JobBlockersParams(job_id=main1.id, blocked_by_chain_ids=[b1.id]),
                JobBlockersParams(job_id=main2.id, blocked_by_chain_ids=[b1.id, b2.id]),
            ],
            tx_ctx=tx,
        )
    )
    assert [r.job.id for r in results] == [main1.id, main2.id]
    assert [r.job.status for r in results] == ["blocked", "blocked"]
    assert results[0].incomplete_blocker_chain_ids == (b1.id,)
    assert results[1].incomplete_blocker_chain_ids == (b1.id, b2.id)


@group.case("batch handles mix of blocked and unblocked jobs")
async def _batch_mixed(t: Context) -> None:
    a = t.adapter
    done = await create_job(a, root("done"))
    await complete(a, done)
    open_blocker = await create_job(a, root("open"))
    main1 = await create_job(a, root("main1"))
    main2 = await create_job(a, root("main2"))
    results = await a.with_transaction(
        lambda tx: a.add_jobs_blockers(
            [
                JobBlockersParams(job_id=main1.id, blocked_by_chain_ids=[done.id]),
                JobBlockersParams(job_id=main2.id, blocked_by_chain_ids=[open_blocker.id]),
            ],
            tx_ctx=tx,
        )
    )
    assert [(r.job.id, r.job.status) for r in results] == [(main1.id, "pending"), (main2.id, "blocked")]
    assert results[0].incomplete_blocker_chain_ids == ()
    assert results[1].incomplete_blocker_chain_ids == (open_blocker.id,)


# --- additions of this port -------------------------------------------------------------


@group.case("raises JobNotFoundError for a missing job and attaches nothing", upstream=False)
async def _missing_job(t: Context) -> None:
    a = t.adapter
    blocker = await create_job(a)
    main = await create_job(a)
    with raises(JobNotFoundError):
        await a.add_jobs_blockers(
            [
                JobBlockersParams(job_id=main.id, blocked_by_chain_ids=[blocker.id]),
                JobBlockersParams(job_id=t.generate_id(), blocked_by_chain_ids=[blocker.id]),
            ]
        )
    assert await a.get_job_blockers(main.id) == []
    assert (await get(a, main.id)).status == "pending"


@group.case("returns an empty list for an empty batch", upstream=False)
async def _empty(t: Context) -> None:
    assert await t.adapter.add_jobs_blockers([]) == []
