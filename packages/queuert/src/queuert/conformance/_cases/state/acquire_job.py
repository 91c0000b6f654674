"""acquireJob: taking the earliest due job."""

from __future__ import annotations

from datetime import timedelta

from ...._entities import ScheduleAfter, ScheduleAt
from ...._state_adapter import AcquiredJob
from .._support import clock_passes, now
from ._common import Context, StateGroup, acquire, add_blockers, complete, create_job, get, root

group = StateGroup("acquireJob")


@group.case("acquires oldest eligible pending job")
async def _oldest(t: Context) -> None:
    first = await create_job(t.adapter, root("acq"))
    await clock_passes(first.created_at)
    await create_job(t.adapter, root("acq"))
    acquired = await acquire(t.adapter, "acq")
    assert acquired.job is not None
    assert acquired.job.id == first.id
    assert acquired.job.status == "running"
    assert acquired.job.attempt == 1


@group.case("returns hasMore when additional eligible jobs exist")
async def _has_more(t: Context) -> None:
    await create_job(t.adapter, root("acq"))
    await create_job(t.adapter, root("acq"))
    first = await acquire(t.adapter, "acq")
    assert first.has_more
    second = await acquire(t.adapter, "acq")
    assert second.job is not None
    assert not second.has_more


@group.case("returns undefined when no eligible jobs exist")
async def _none(t: Context) -> None:
    assert await acquire(t.adapter, "empty") == AcquiredJob(None, False)


@group.case("does not acquire jobs scheduled in the future")
async def _future(t: Context) -> None:
    await create_job(t.adapter, root("future", schedule=ScheduleAfter(after_ms=60_000)))
    assert (await acquire(t.adapter, "future")).job is None


# --- additions of this port -------------------------------------------------------------


@group.case("hasMore does not count jobs scheduled in the future", upstream=False)
async def _has_more_ignores_future(t: Context) -> None:
    await create_job(t.adapter, root("acq"))
    await create_job(t.adapter, root("acq", schedule=ScheduleAfter(after_ms=60_000)))
    acquired = await acquire(t.adapter, "acq")
    assert acquired.job is not None
    assert not acquired.has_more


@group.case("takes the earliest due job across the requested types only", upstream=False)
async def _across_types(t: Context) -> None:
    a = t.adapter
    job_a = await create_job(a, root("type-a", schedule=ScheduleAt(at=now() - timedelta(seconds=1))))
    await clock_passes(job_a.scheduled_at, margin_ms=2)
    job_b = await create_job(a, root("type-b"))
    await create_job(a, root("type-c", schedule=ScheduleAt(at=now() - timedelta(seconds=5))))
    first = await acquire(a, "type-b", "type-a")
    second = await acquire(a, "type-b", "type-a")
    assert first.job is not None
    assert second.job is not None
    assert [first.job.id, second.job.id] == [job_a.id, job_b.id]
    assert (await acquire(a, "type-a", "type-b")).job is None


@group.case("never takes blocked, running or completed jobs", upstream=False)
async def _only_pending(t: Context) -> None:
    a = t.adapter
    blocker = await create_job(a, root("blocker"))
    blocked = await create_job(a, root("kind"))
    await add_blockers(a, blocked, blocker.id)
    running = await create_job(a, root("kind"))
    taken = await acquire(a, "kind")
    assert taken.job is not None
    assert taken.job.id == running.id
    assert (await acquire(a, "kind")).job is None
    await complete(a, running)
    assert (await acquire(a, "kind")).job is None


@group.case("works without a transaction and leaves the lease fields alone", upstream=False)
async def _without_tx(t: Context) -> None:
    job = await create_job(t.adapter, root("plain"))
    acquired = await t.adapter.acquire_job(["plain"])
    assert acquired.job is not None
    assert acquired.job.id == job.id
    assert acquired.job.leased_by is None
    assert acquired.job.leased_until is None
    assert (await get(t.adapter, job.id)).status == "running"
