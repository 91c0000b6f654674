"""unblockJobs: releasing jobs once all their blocker chains are complete."""

from __future__ import annotations

from datetime import timedelta

from ...._entities import ScheduleAt
from .._support import assert_near, clock_passes, now
from ._common import Context, StateGroup, acquire, add_blockers, complete, continuation, create_job, get, root

group = StateGroup("unblockJobs")


@group.case("schedules blocked jobs when all blockers complete")
async def _schedules(t: Context) -> None:
    a = t.adapter
    blocker = await create_job(a, root("blocker"))
    main = await create_job(a, root("main"))
    await add_blockers(a, main, blocker.id)
    await complete(a, blocker)
    result = await a.with_transaction(lambda tx: a.unblock_jobs(blocker.id, tx_ctx=tx))
    assert [job.id for job in result.unblocked_jobs] == [main.id]
    assert result.unblocked_jobs[0].status == "pending"
    assert (await get(a, main.id)).status == "pending"
    assert (await acquire(a, "main")).job is not None


@group.case("does not schedule job when not all blockers are complete")
async def _not_all_complete(t: Context) -> None:
    a = t.adapter
    b1 = await create_job(a, root("b1"))
    b2 = await create_job(a, root("b2"))
    main = await create_job(a, root("main"))
    await add_blockers(a, main, b1.id, b2.id)
    await complete(a, b1)
    result = await a.unblock_jobs(b1.id)
    assert result.unblocked_jobs == ()
    assert (await get(a, main.id)).status == "blocked"
    assert (await acquire(a, "main")).job is None
    await complete(a, b2)
    result = await a.unblock_jobs(b2.id)
    assert [job.id for job in result.unblocked_jobs] == [main.id]


@group.case("returns empty array when no blocked jobs exist for chain ID")
async def _no_blocked(t: Context) -> None:
    job = await create_job(t.adapter)
    result = await t.adapter.unblock_jobs(job.id)
    assert result.unblocked_jobs == ()


@group.case("returns stored blocker trace contexts for a blocker chain")
async def _stored_trace_contexts(t: Context) -> None:
    a = t.adapter
    blocker = await create_job(a, root("blocker"))
    main1 = await create_job(a, root("main"))
    main2 = await create_job(a, root("main"))
    await add_blockers(a, main1, blocker.id, trace_contexts=["await-1"])
    await add_blockers(a, main2, blocker.id, trace_contexts=["await-2"])
    await complete(a, blocker)
    result = await a.unblock_jobs(blocker.id)
    assert sorted(job.id for job in result.unblocked_jobs) == sorted([main1.id, main2.id])
    assert sorted(result.blocker_trace_contexts) == ["await-1", "await-2"]


@group.case("returns empty blocker trace contexts when no blockers exist")
async def _no_blockers(t: Context) -> None:
    job = await create_job(t.adapter)
    result = await t.adapter.unblock_jobs(job.id)
    assert result.blocker_trace_contexts == ()


@group.case("raises stale past scheduledAt to current time when unblocking")
async def _raises_stale(t: Context) -> None:
    a = t.adapter
    blocker = await create_job(a, root("blocker"))
    main = await create_job(a, root("main", schedule=ScheduleAt(at=now() - timedelta(hours=1))))
    await add_blockers(a, main, blocker.id)
    await clock_passes(main.scheduled_at, margin_ms=5)
    await complete(a, blocker)
    [unblocked] = (await a.unblock_jobs(blocker.id)).unblocked_jobs
    assert unblocked.scheduled_at > main.scheduled_at
    assert_near(unblocked.scheduled_at, now())


@group.case("preserves future scheduledAt when unblocking")
async def _preserves_future(t: Context) -> None:
    a = t.adapter
    future = now() + timedelta(minutes=10)
    blocker = await create_job(a, root("blocker"))
    main = await create_job(a, root("main", schedule=ScheduleAt(at=future)))
    await add_blockers(a, main, blocker.id)
    await complete(a, blocker)
    [unblocked] = (await a.unblock_jobs(blocker.id)).unblocked_jobs
    assert unblocked.scheduled_at == main.scheduled_at
    assert abs(unblocked.scheduled_at - future) < timedelta(milliseconds=1)


@group.case("unblocked job with stale past scheduledAt does not jump ahead of already-ready jobs")
async def _no_queue_jumping(t: Context) -> None:
    a = t.adapter
    blocker = await create_job(a, root("blocker"))
    stale = await create_job(a, root("work", schedule=ScheduleAt(at=now() - timedelta(hours=1))))
    await add_blockers(a, stale, blocker.id)
    ready = await create_job(a, root("work", schedule=ScheduleAt(at=now() - timedelta(minutes=1))))
    await clock_passes(ready.scheduled_at, margin_ms=2)
    await complete(a, blocker)
    await a.unblock_jobs(blocker.id)
    first = await acquire(a, "work")
    second = await acquire(a, "work")
    assert first.job is not None
    assert second.job is not None
    assert [first.job.id, second.job.id] == [ready.id, stale.id]


@group.case("returns empty blocker trace contexts when blockers have no trace contexts")
async def _null_trace_contexts(t: Context) -> None:
    a = t.adapter
    blocker = await create_job(a, root("blocker"))
    main1 = await create_job(a, root("main"))
    main2 = await create_job(a, root("main"))
    await add_blockers(a, main1, blocker.id)
    await add_blockers(a, main2, blocker.id, trace_contexts=[None])
    await complete(a, blocker)
    result = await a.unblock_jobs(blocker.id)
    assert len(result.unblocked_jobs) == 2
    assert result.blocker_trace_contexts == ()


# --- additions of this port -------------------------------------------------------------


@group.case("a blocker chain counts as complete only when its newest job is completed", upstream=False)
async def _newest_job_decides(t: Context) -> None:
    a = t.adapter
    blocker = await create_job(a, root("blocker"))
    main = await create_job(a, root("main"))
    await add_blockers(a, main, blocker.id)
    await create_job(a, continuation(blocker))
    await complete(a, blocker)  # the first job continued; the chain is still open
    assert (await a.unblock_jobs(blocker.id)).unblocked_jobs == ()
    assert (await get(a, main.id)).status == "blocked"


@group.case("reports trace contexts of every blocker row even when nothing is unblocked", upstream=False)
async def _trace_contexts_without_unblock(t: Context) -> None:
    a = t.adapter
    blocker = await create_job(a, root("blocker"))
    main1 = await create_job(a, root("main"))
    main2 = await create_job(a, root("main"))
    main3 = await create_job(a, root("main"))
    await add_blockers(a, main1, blocker.id, trace_contexts=["await-1"])
    await add_blockers(a, main2, blocker.id, trace_contexts=[None])
    await add_blockers(a, main3, blocker.id, trace_contexts=["await-3"])
    result = await a.unblock_jobs(blocker.id)  # the blocker is not complete
    assert result.unblocked_jobs == ()
    assert sorted(result.blocker_trace_contexts) == ["await-1", "await-3"]


@group.case("leaves dependents that are not blocked alone", upstream=False)
async def _non_blocked_dependents(t: Context) -> None:
    a = t.adapter
    done = await create_job(a, root("done"))
    await complete(a, done)
    main = await create_job(a, root("main"))
    await add_blockers(a, main, done.id)  # stays pending
    assert (await a.unblock_jobs(done.id)).unblocked_jobs == ()
