"""reapExpiredJobLease: returning jobs of vanished workers to pending."""

from __future__ import annotations

from .._support import clock_passes, now
from ._common import Context, StateGroup, acquire, create_job, root

group = StateGroup("reapExpiredJobLease")


@group.case("removes expired lease and resets job to pending")
async def _reaps(t: Context) -> None:
    a = t.adapter
    job = await create_job(a, root("reap"))
    await acquire(a, "reap")
    leased = await a.renew_job_lease(job.id, worker_id="worker-1", lease_duration_ms=1)
    assert leased.leased_until is not None
    await clock_passes(leased.leased_until, margin_ms=10)
    reaped = await a.with_transaction(lambda tx: a.reap_expired_job_lease(["reap"], tx_ctx=tx))
    assert reaped is not None
    assert reaped.job.id == job.id
    assert reaped.job.status == "pending"
    assert reaped.job.leased_by is None
    assert reaped.job.leased_until is None
    assert await a.reap_expired_job_lease(["reap"]) is None
    assert await a.get_next_job_available_in_ms(["reap"]) == 0


@group.case("returns undefined when no expired leases exist")
async def _unexpired(t: Context) -> None:
    job = await create_job(t.adapter, root("reap"))
    await acquire(t.adapter, "reap")
    await t.adapter.renew_job_lease(job.id, worker_id="w", lease_duration_ms=60_000)
    assert await t.adapter.reap_expired_job_lease(["reap"]) is None


@group.case("respects ignoredJobIds in reapExpiredJobLease")
async def _ignored(t: Context) -> None:
    a = t.adapter
    jobs = [await create_job(a, root("reap")) for _ in range(2)]
    for _ in jobs:
        await acquire(a, "reap")
    leases = [await a.renew_job_lease(job.id, worker_id="w", lease_duration_ms=1) for job in jobs]
    latest = max(lease.leased_until for lease in leases if lease.leased_until is not None)
    await clock_passes(latest, margin_ms=10)
    reaped = await a.reap_expired_job_lease(["reap"], ignored_job_ids=[jobs[0].id])
    assert reaped is not None
    assert reaped.job.id == jobs[1].id
    assert await a.reap_expired_job_lease(["reap"], ignored_job_ids=[jobs[0].id]) is None


# --- additions of this port -------------------------------------------------------------


@group.case("returns the lease the reaped job had", upstream=False)
async def _reports_expired_lease(t: Context) -> None:
    a = t.adapter
    job = await create_job(a, root("reap"))
    await acquire(a, "reap")
    leased = await a.renew_job_lease(job.id, worker_id="worker-1", lease_duration_ms=1)
    assert leased.leased_until is not None
    await clock_passes(leased.leased_until, margin_ms=10)
    reaped = await a.reap_expired_job_lease(["reap"])
    assert reaped is not None
    assert reaped.expired_leased_by == "worker-1"
    assert reaped.expired_leased_until == leased.leased_until
    assert reaped.job.attempt == 1, "reaping changes nothing but the status and the lease"


@group.case("reaps the job whose lease expired first", upstream=False)
async def _oldest_first(t: Context) -> None:
    a = t.adapter
    jobs = [await create_job(a, root("reap")) for _ in range(3)]
    for _ in jobs:
        await acquire(a, "reap")
    leases = []
    for job in jobs:
        leases.append(await a.renew_job_lease(job.id, worker_id="w", lease_duration_ms=1))
        await clock_passes(now(), margin_ms=2)
    last = leases[-1].leased_until
    assert last is not None
    await clock_passes(last, margin_ms=10)
    order = []
    for _ in jobs:
        reaped = await a.reap_expired_job_lease(["reap", "other"])
        assert reaped is not None
        order.append(reaped.job.id)
    assert order == [job.id for job in jobs]


@group.case("ignores running jobs without a lease and jobs of other types", upstream=False)
async def _scope(t: Context) -> None:
    a = t.adapter
    await create_job(a, root("no-lease"))
    await acquire(a, "no-lease")
    assert await a.reap_expired_job_lease(["no-lease"]) is None
    job = await create_job(a, root("reap"))
    await acquire(a, "reap")
    leased = await a.renew_job_lease(job.id, worker_id="w", lease_duration_ms=1)
    assert leased.leased_until is not None
    await clock_passes(leased.leased_until, margin_ms=5)
    assert await a.reap_expired_job_lease(["other"]) is None
    assert await a.reap_expired_job_lease(["reap"]) is not None
