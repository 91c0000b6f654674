"""completeJob: finishing a job, by a worker or without one."""

from __future__ import annotations

from ...._entities import ScheduleAfter
from ....errors import JobNotFoundError
from .._support import assert_near, now, raises
from ._common import Context, StateGroup, acquire, add_blockers, complete, create_job, root

group = StateGroup("completeJob")


@group.case("completes a job with output")
async def _with_output(t: Context) -> None:
    a = t.adapter
    job = await create_job(a, root("complete"))
    await acquire(a, "complete")
    await a.renew_job_lease(job.id, worker_id="worker-1", lease_duration_ms=10_000)
    completed = await complete(a, job, output={"result": 42}, worker_id="worker-1")
    assert completed.status == "completed"
    assert completed.output == {"result": 42}
    assert_near(completed.completed_at, now())
    assert completed.completed_by == "worker-1"
    assert completed.leased_by is None
    assert completed.leased_until is None


@group.case("clears lastAttemptError when completing a job that previously failed")
async def _clears_error(t: Context) -> None:
    a = t.adapter
    job = await create_job(a, root("complete"))
    await acquire(a, "complete")
    await a.reschedule_job(job.id, schedule=ScheduleAfter(after_ms=0), error="boom")
    again = await acquire(a, "complete")
    assert again.job is not None
    assert again.job.attempt == 2
    assert again.job.last_attempt_error == "boom"
    completed = await complete(a, job)
    assert completed.last_attempt_error is None


@group.case("completes a job with null workerId (workerless)")
async def _workerless(t: Context) -> None:
    job = await create_job(t.adapter)
    completed = await complete(t.adapter, job, worker_id=None)
    assert completed.status == "completed"
    assert completed.completed_by is None


# --- additions of this port -------------------------------------------------------------


@group.case("completes a blocked job (workerless completion of a blocked chain)", upstream=False)
async def _blocked(t: Context) -> None:
    blocker = await create_job(t.adapter, root("blocker"))
    main = await create_job(t.adapter, root("main"))
    await add_blockers(t.adapter, main, blocker.id)
    completed = await complete(t.adapter, main, output="manual", worker_id=None)
    assert completed.status == "completed"
    assert (await t.adapter.unblock_jobs(blocker.id)).unblocked_jobs == ()


@group.case("renew, reschedule and complete raise JobNotFoundError for a missing job", upstream=False)
async def _missing(t: Context) -> None:
    a = t.adapter
    missing = t.generate_id()
    with raises(JobNotFoundError):
        await a.renew_job_lease(missing, worker_id="w", lease_duration_ms=1000)
    with raises(JobNotFoundError):
        await a.reschedule_job(missing, schedule=ScheduleAfter(after_ms=0), error=None)
    with raises(JobNotFoundError):
        await a.complete_job(missing, output=None, worker_id=None)
