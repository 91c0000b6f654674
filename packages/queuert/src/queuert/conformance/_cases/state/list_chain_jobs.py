"""listChainJobs: one chain's jobs by chain index."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._common import Adapter, Context, StateGroup, all_pages, continuation, create_job, root

if TYPE_CHECKING:
    from ...._state_adapter import StateJob

group = StateGroup("listChainJobs")


async def chain_of(adapter: Adapter, length: int) -> list[StateJob]:
    jobs = [await create_job(adapter, root("chain"))]
    for _ in range(length - 1):
        jobs.append(await create_job(adapter, continuation(jobs[-1])))
    return jobs


@group.case("returns empty page for nonexistent chain")
async def _missing(t: Context) -> None:
    page = await t.adapter.list_chain_jobs(t.generate_id())
    assert page.items == []
    assert page.next_cursor is None


@group.case("returns jobs ordered by chainIndex asc by default")
async def _asc(t: Context) -> None:
    jobs = await chain_of(t.adapter, 3)
    page = await t.adapter.list_chain_jobs(jobs[0].id)
    assert [job.chain_index for job in page.items] == [0, 1, 2]


@group.case("respects orderDirection desc")
async def _desc(t: Context) -> None:
    jobs = await chain_of(t.adapter, 2)
    page = await t.adapter.list_chain_jobs(jobs[0].id, order_direction="desc")
    assert [job.chain_index for job in page.items] == [1, 0]


@group.case("paginates with cursor")
async def _paginates(t: Context) -> None:
    jobs = await chain_of(t.adapter, 5)
    pages = await all_pages(t.adapter.list_chain_jobs, jobs[0].id, limit=2)
    assert [[job.chain_index for job in page] for page in pages] == [[0, 1], [2, 3], [4]]


@group.case("only returns jobs from specified chain")
async def _only_that_chain(t: Context) -> None:
    first = await chain_of(t.adapter, 2)
    await chain_of(t.adapter, 3)
    page = await t.adapter.list_chain_jobs(first[0].id)
    assert [job.id for job in page.items] == [job.id for job in first]


# --- additions of this port -------------------------------------------------------------


@group.case("paginates in desc order", upstream=False)
async def _desc_pages(t: Context) -> None:
    jobs = await chain_of(t.adapter, 5)
    pages = await all_pages(t.adapter.list_chain_jobs, jobs[0].id, order_direction="desc", limit=2)
    assert [[job.chain_index for job in page] for page in pages] == [[4, 3], [2, 1], [0]]
