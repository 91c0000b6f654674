"""rescheduleJob: a failed attempt returns its job to pending."""

from __future__ import annotations

from datetime import timedelta

from ...._entities import ScheduleAfter, ScheduleAt
from .._support import assert_near, now
from ._common import Context, StateGroup, acquire, create_job, root

group = StateGroup("rescheduleJob")


@group.case("reschedules a running job to pending with afterMs")
async def _after_ms(t: Context) -> None:
    a = t.adapter
    job = await create_job(a, root("resched"))
    await acquire(a, "resched")
    await a.renew_job_lease(job.id, worker_id="w", lease_duration_ms=10_000)
    before = now()
    rescheduled = await a.reschedule_job(job.id, schedule=ScheduleAfter(after_ms=5000), error="transient failure")
    assert rescheduled.status == "pending"
    assert rescheduled.scheduled_at >= before + timedelta(seconds=4)
    assert rescheduled.last_attempt_error == "transient failure"
    assert_near(rescheduled.last_attempt_at, now())
    assert rescheduled.leased_by is None
    assert rescheduled.leased_until is None
    assert rescheduled.attempt == 1
    assert (await acquire(a, "resched")).job is None


@group.case("reschedules a running job to pending with absolute date")
async def _at(t: Context) -> None:
    job = await create_job(t.adapter, root("resched"))
    await acquire(t.adapter, "resched")
    at = now() + timedelta(seconds=30)
    rescheduled = await t.adapter.reschedule_job(job.id, schedule=ScheduleAt(at=at), error=None)
    assert rescheduled.status == "pending"
    assert_near(rescheduled.scheduled_at, at)


@group.case("clamps past schedule.at to now")
async def _clamps(t: Context) -> None:
    job = await create_job(t.adapter, root("resched"))
    await acquire(t.adapter, "resched")
    past = now() - timedelta(hours=1)
    rescheduled = await t.adapter.reschedule_job(job.id, schedule=ScheduleAt(at=past), error="e")
    assert rescheduled.scheduled_at - past > timedelta(minutes=30)
    assert_near(rescheduled.scheduled_at, now(), 60_000)
    assert (await acquire(t.adapter, "resched")).job is not None
