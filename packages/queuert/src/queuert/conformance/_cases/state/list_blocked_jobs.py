"""listBlockedJobs: the jobs that wait (or waited) on a chain."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._support import clock_passes
from ._common import Context, StateGroup, add_blockers, all_pages, complete, create_job, root

if TYPE_CHECKING:
    from ...._state_adapter import StateJob

group = StateGroup("listBlockedJobs")


@group.case("listBlockedJobs returns jobs blocked by a chain")
async def _returns(t: Context) -> None:
    blocker = await create_job(t.adapter, root("blocker"))
    main = await create_job(t.adapter, root("main"))
    await create_job(t.adapter, root("bystander"))
    await add_blockers(t.adapter, main, blocker.id)
    page = await t.adapter.list_blocked_jobs(blocker.id)
    assert [job.id for job in page.items] == [main.id]


@group.case("listBlockedJobs returns empty page when no jobs are blocked")
async def _empty(t: Context) -> None:
    job = await create_job(t.adapter)
    page = await t.adapter.list_blocked_jobs(job.id)
    assert page.items == []
    assert page.next_cursor is None


async def _dependents(t: Context, blocker: StateJob, count: int) -> list[StateJob]:
    dependents: list[StateJob] = []
    for _ in range(count):
        if dependents:
            await clock_passes(dependents[-1].created_at, margin_ms=5)
        dependents.append(await create_job(t.adapter, root("dep")))
        await add_blockers(t.adapter, dependents[-1], blocker.id)
    return dependents


@group.case("listBlockedJobs sorts asc when orderDirection is asc")
async def _asc(t: Context) -> None:
    blocker = await create_job(t.adapter, root("blocker"))
    dependents = await _dependents(t, blocker, 2)
    desc = await t.adapter.list_blocked_jobs(blocker.id)
    assert [job.id for job in desc.items] == [job.id for job in reversed(dependents)]
    asc = await t.adapter.list_blocked_jobs(blocker.id, order_direction="asc")
    assert [job.id for job in asc.items] == [job.id for job in dependents]


@group.case("listBlockedJobs paginates with cursor")
async def _paginates(t: Context) -> None:
    blocker = await create_job(t.adapter, root("blocker"))
    await _dependents(t, blocker, 4)
    pages = await all_pages(t.adapter.list_blocked_jobs, blocker.id, limit=2)
    assert [len(page) for page in pages] == [2, 2]
    assert len({job.id for page in pages for job in page}) == 4


# --- additions of this port -------------------------------------------------------------


@group.case("listBlockedJobs keeps listing dependents after they were unblocked and completed", upstream=False)
async def _any_status(t: Context) -> None:
    a = t.adapter
    blocker = await create_job(a, root("blocker"))
    main = await create_job(a, root("main"))
    await add_blockers(a, main, blocker.id)
    await complete(a, blocker)
    await a.unblock_jobs(blocker.id)
    await complete(a, main)
    page = await a.list_blocked_jobs(blocker.id)
    assert [(job.id, job.status) for job in page.items] == [(main.id, "completed")]
