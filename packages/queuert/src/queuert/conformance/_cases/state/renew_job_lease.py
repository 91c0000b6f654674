"""renewJobLease: a worker's time-boxed ownership of a running job."""

from __future__ import annotations

from datetime import timedelta

from .._support import now
from ._common import Context, StateGroup, acquire, create_job, get, root

group = StateGroup("renewJobLease")


@group.case("renews lease on a running job")
async def _renews(t: Context) -> None:
    job = await create_job(t.adapter, root("lease"))
    await acquire(t.adapter, "lease")
    before = now()
    renewed = await t.adapter.renew_job_lease(job.id, worker_id="worker-1", lease_duration_ms=10_000)
    assert renewed.leased_by == "worker-1"
    assert renewed.status == "running"
    assert renewed.leased_until is not None
    assert before + timedelta(seconds=9) <= renewed.leased_until < now() + timedelta(seconds=11)
    assert await get(t.adapter, job.id) == renewed


@group.case("updates leasedUntil on subsequent renewals")
async def _extends(t: Context) -> None:
    job = await create_job(t.adapter, root("lease"))
    await acquire(t.adapter, "lease")
    first = await t.adapter.renew_job_lease(job.id, worker_id="w", lease_duration_ms=5000)
    second = await t.adapter.renew_job_lease(job.id, worker_id="w", lease_duration_ms=20_000)
    assert first.leased_until is not None
    assert second.leased_until is not None
    assert second.leased_until > first.leased_until
