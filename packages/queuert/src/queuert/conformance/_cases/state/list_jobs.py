"""listJobs: filtered, keyset-paginated jobs."""

from __future__ import annotations

from ...._entities import ChainFilter, JobFilter, OrderDirection
from ....errors import InvalidCursorError
from .._support import clock_passes, now, raises
from ._common import Context, StateGroup, all_pages, by_created, complete, continuation, create, create_job, root
from .list_chains import spaced_roots

group = StateGroup("listJobs")


@group.case("listJobs returns empty page when no jobs exist")
async def _empty(t: Context) -> None:
    page = await t.adapter.list_jobs(filter=JobFilter(), limit=10)
    assert page.items == []
    assert page.next_cursor is None


@group.case("listJobs returns all jobs across chains")
async def _all(t: Context) -> None:
    first = await create_job(t.adapter)
    nxt = await create_job(t.adapter, continuation(first))
    other = await create_job(t.adapter)
    page = await t.adapter.list_jobs(filter=JobFilter(), limit=10)
    assert [job.id for job in page.items] == by_created([first, nxt, other], "desc")


@group.case("listJobs filters by chainId")
async def _chain_id(t: Context) -> None:
    first = await create_job(t.adapter)
    nxt = await create_job(t.adapter, continuation(first))
    await create_job(t.adapter)
    page = await t.adapter.list_jobs(filter=JobFilter(chain_id=[first.id]), limit=10)
    assert sorted(job.id for job in page.items) == sorted([first.id, nxt.id])


@group.case("listJobs filters by status")
async def _status(t: Context) -> None:
    done = await create_job(t.adapter)
    await complete(t.adapter, done)
    waiting = await create_job(t.adapter)
    completed = await t.adapter.list_jobs(filter=JobFilter(status=["completed"]), limit=10)
    assert [job.id for job in completed.items] == [done.id]
    pending = await t.adapter.list_jobs(filter=JobFilter(status=["pending"]), limit=10)
    assert [job.id for job in pending.items] == [waiting.id]


@group.case("listJobs filters by typeName")
async def _type_name(t: Context) -> None:
    first = await create_job(t.adapter, root("root-a"))
    step = await create_job(t.adapter, continuation(first, "step"))
    await create_job(t.adapter, root("root-b"))
    page = await t.adapter.list_jobs(filter=JobFilter(type_name=["step"]), limit=10)
    assert [job.id for job in page.items] == [step.id]


@group.case("listJobs filters by chainTypeName")
async def _chain_type_name(t: Context) -> None:
    chain_a = await create_job(t.adapter, root("root-a"))
    await create_job(t.adapter, continuation(chain_a, "step"))
    chain_b = await create_job(t.adapter, root("root-b"))
    b_next = await create_job(t.adapter, continuation(chain_b, "step"))
    page = await t.adapter.list_jobs(filter=JobFilter(chain_type_name=["root-b"]), limit=10)
    assert sorted(job.id for job in page.items) == sorted([chain_b.id, b_next.id])


@group.case("listJobs filters by id matching job ID")
async def _job_id(t: Context) -> None:
    first = await create_job(t.adapter)
    nxt = await create_job(t.adapter, continuation(first))
    page = await t.adapter.list_jobs(filter=JobFilter(job_id=[nxt.id]), limit=10)
    assert [job.id for job in page.items] == [nxt.id]


@group.case("listJobs paginates with cursor")
async def _paginates(t: Context) -> None:
    jobs = [await create_job(t.adapter) for _ in range(4)]
    pages = await all_pages(t.adapter.list_jobs, filter=JobFilter(), limit=2)
    assert [len(page) for page in pages] == [2, 2]
    assert [job.id for page in pages for job in page] == by_created(jobs, "desc")


@group.case("listJobs sorts asc when orderDirection is asc")
async def _asc(t: Context) -> None:
    jobs = await spaced_roots(t.adapter)
    page = await t.adapter.list_jobs(filter=JobFilter(), order_direction="asc", limit=10)
    assert [job.id for job in page.items] == [job.id for job in jobs]


@group.case("listJobs filters by from/to date range")
async def _date_range(t: Context) -> None:
    early = await create_job(t.adapter)
    await clock_passes(early.created_at, margin_ms=50)
    midpoint = now()
    await clock_passes(midpoint, margin_ms=50)
    late = await create_job(t.adapter)
    after = await t.adapter.list_jobs(filter=JobFilter(from_=midpoint), limit=10)
    assert [job.id for job in after.items] == [late.id]
    before = await t.adapter.list_jobs(filter=JobFilter(to=midpoint), limit=10)
    assert [job.id for job in before.items] == [early.id]


# --- additions of this port -------------------------------------------------------------


@group.case("listJobs combines filters", upstream=False)
async def _combined(t: Context) -> None:
    a = t.adapter
    chain_a = await create_job(a, root("root-a"))
    a_next = await create_job(a, continuation(chain_a, "step"))
    chain_b = await create_job(a, root("root-b"))
    b_next = await create_job(a, continuation(chain_b, "step"))
    await complete(a, chain_a)

    async def found(job_filter: JobFilter) -> set[str]:
        return {job.id for job in (await a.list_jobs(filter=job_filter, limit=10)).items}

    assert await found(JobFilter(status=["pending"])) == {a_next.id, chain_b.id, b_next.id}
    assert await found(JobFilter(job_id=[chain_a.id, chain_b.id], chain_id=[chain_b.id])) == {chain_b.id}
    assert await found(JobFilter(type_name=["step"], chain_type_name=["root-a"])) == {a_next.id}
    assert await found(JobFilter(type_name=["step"], status=["pending"], chain_id=[chain_b.id])) == {b_next.id}


@group.case("listJobs pages through jobs sharing a created_at without skipping or repeating", upstream=False)
async def _shared_created_at(t: Context) -> None:
    created = await create(t.adapter, *(root("same-time") for _ in range(10)))
    more = await create(t.adapter, *(root("other-time") for _ in range(3)))
    jobs = [c.job for c in created + more]
    order: OrderDirection
    for order in ("asc", "desc"):
        for limit in (1, 4):
            pages = await all_pages(t.adapter.list_jobs, filter=JobFilter(), order_direction=order, limit=limit)
            assert [job.id for page in pages for job in page] == by_created(jobs, order)
        filtered = await all_pages(
            t.adapter.list_jobs, filter=JobFilter(type_name=["same-time"]), order_direction=order, limit=3
        )
        assert [job.id for page in filtered for job in page] == by_created([c.job for c in created], order)


@group.case("listings reject a cursor of another listing kind and garbage with InvalidCursorError", upstream=False)
async def _bad_cursors(t: Context) -> None:
    a = t.adapter
    first = await create_job(a)
    await create_job(a, continuation(first))
    await create_job(a, continuation(first, chain_index=2))
    chain_cursor = (await a.list_chain_jobs(first.id, limit=1)).next_cursor
    assert chain_cursor is not None
    jobs_cursor = (await a.list_jobs(filter=JobFilter(), limit=1)).next_cursor
    assert jobs_cursor is not None
    with raises(InvalidCursorError):
        await a.list_jobs(filter=JobFilter(), cursor=chain_cursor)
    with raises(InvalidCursorError):
        await a.list_chains(filter=ChainFilter(), cursor=chain_cursor)
    with raises(InvalidCursorError):
        await a.list_blocked_jobs(first.id, cursor=chain_cursor)
    with raises(InvalidCursorError):
        await a.list_chain_jobs(first.id, cursor=jobs_cursor)
    with raises(InvalidCursorError):
        await a.list_jobs(filter=JobFilter(), cursor="garbage!")
