"""triggerJobs: making pending jobs due now, all or nothing."""

from __future__ import annotations

from ...._entities import ScheduleAfter
from .._support import assert_near, clock_passes, now
from ._common import Context, StateGroup, acquire, add_blockers, complete, create_job, get, other_id, root

group = StateGroup("triggerJobs")

_LATER = ScheduleAfter(after_ms=60_000)


@group.case("sets scheduledAt to now on a pending job")
async def _sets_now(t: Context) -> None:
    job = await create_job(t.adapter, root("trig", schedule=_LATER))
    result = await t.adapter.with_transaction(lambda tx: t.adapter.trigger_jobs([job.id], tx_ctx=tx))
    assert result.not_found == ()
    assert result.not_triggerable == ()
    [triggered] = result.jobs
    assert_near(triggered.scheduled_at, now())
    assert triggered.status == "pending"
    assert_near((await get(t.adapter, job.id)).scheduled_at, now())


@group.case("makes a future-scheduled job acquirable")
async def _acquirable(t: Context) -> None:
    job = await create_job(t.adapter, root("trig", schedule=_LATER))
    assert (await acquire(t.adapter, "trig")).job is None
    await t.adapter.trigger_jobs([job.id])
    acquired = await acquire(t.adapter, "trig")
    assert acquired.job is not None
    assert acquired.job.id == job.id


@group.case("preserves other job fields")
async def _preserves(t: Context) -> None:
    job = await create_job(t.adapter, root("trig", input={"x": 1}, schedule=_LATER))
    [triggered] = (await t.adapter.trigger_jobs([job.id])).jobs
    assert (triggered.id, triggered.type_name, triggered.input, triggered.chain_id, triggered.attempt) == (
        job.id,
        job.type_name,
        job.input,
        job.chain_id,
        job.attempt,
    )


@group.case("triggers multiple jobs in input order")
async def _input_order(t: Context) -> None:
    job_a = await create_job(t.adapter, root("trig", schedule=_LATER))
    job_b = await create_job(t.adapter, root("trig", schedule=_LATER))
    forward = await t.adapter.trigger_jobs([job_a.id, job_b.id])
    assert [job.id for job in forward.jobs] == [job_a.id, job_b.id]
    backward = await t.adapter.trigger_jobs([job_b.id, job_a.id])
    assert [job.id for job in backward.jobs] == [job_b.id, job_a.id]
    assert backward.not_found == ()
    assert backward.not_triggerable == ()


@group.case("returns empty buckets for empty jobIds")
async def _empty(t: Context) -> None:
    result = await t.adapter.trigger_jobs([])
    assert (result.jobs, result.not_found, result.not_triggerable) == ((), (), ())


@group.case("reports missing ids in notFound and does not trigger eligible jobs")
async def _missing(t: Context) -> None:
    job = await create_job(t.adapter, root("trig", schedule=_LATER))
    missing = other_id(job.id)
    result = await t.adapter.trigger_jobs([job.id, missing])
    assert result.jobs == ()
    assert result.not_found == (missing,)
    assert (await get(t.adapter, job.id)).scheduled_at == job.scheduled_at


@group.case("reports non-pending jobs in notTriggerable and does not trigger eligible jobs")
async def _non_pending(t: Context) -> None:
    job = await create_job(t.adapter, root("trig", schedule=_LATER))
    done = await create_job(t.adapter, root("done"))
    await complete(t.adapter, done)
    result = await t.adapter.trigger_jobs([job.id, done.id])
    assert result.jobs == ()
    assert result.not_found == ()
    assert result.not_triggerable == ((done.id, "completed"),)
    assert (await get(t.adapter, job.id)).scheduled_at == job.scheduled_at


# --- additions of this port -------------------------------------------------------------


@group.case("collapses repeated ids into one result, in first-occurrence order", upstream=False)
async def _repeated(t: Context) -> None:
    job_a = await create_job(t.adapter, root("trig", schedule=_LATER))
    job_b = await create_job(t.adapter, root("trig", schedule=_LATER))
    result = await t.adapter.trigger_jobs([job_b.id, job_a.id, job_b.id])
    assert [job.id for job in result.jobs] == [job_b.id, job_a.id]
    missing = other_id(job_a.id)
    assert (await t.adapter.trigger_jobs([missing, missing])).not_found == (missing,)


@group.case("reports blocked jobs in notTriggerable", upstream=False)
async def _blocked(t: Context) -> None:
    blocker = await create_job(t.adapter, root("blocker"))
    blocked = await create_job(t.adapter, root("blocked"))
    await add_blockers(t.adapter, blocked, blocker.id)
    result = await t.adapter.trigger_jobs([blocked.id])
    assert result.jobs == ()
    assert result.not_triggerable == ((blocked.id, "blocked"),)
    assert (await get(t.adapter, blocked.id)).status == "blocked"


@group.case("moves a job that is already due forward to now", upstream=False)
async def _past_due(t: Context) -> None:
    job = await create_job(t.adapter, root("trig"))
    await clock_passes(job.scheduled_at, margin_ms=2)
    [triggered] = (await t.adapter.trigger_jobs([job.id])).jobs
    assert triggered.scheduled_at > job.scheduled_at
