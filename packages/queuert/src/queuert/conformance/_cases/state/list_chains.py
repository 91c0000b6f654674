"""listChains: filtered, keyset-paginated chains."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...._entities import ChainFilter, OrderDirection
from .._support import clock_passes, now
from ._common import (
    Adapter,
    Context,
    StateGroup,
    add_blockers,
    all_pages,
    by_created,
    complete,
    continuation,
    create,
    create_job,
    root,
)

if TYPE_CHECKING:
    from ...._state_adapter import StateJob

group = StateGroup("listChains")


async def spaced_roots(adapter: Adapter, count: int = 3, type_name: str = "spaced") -> list[StateJob]:
    """First jobs of new chains created 5 ms apart, so their `created_at` differ."""
    jobs: list[StateJob] = []
    for _ in range(count):
        if jobs:
            await clock_passes(jobs[-1].created_at, margin_ms=5)
        jobs.append(await create_job(adapter, root(type_name)))
    return jobs


@group.case("listChains returns empty page when no jobs exist")
async def _empty(t: Context) -> None:
    page = await t.adapter.list_chains(filter=ChainFilter(), limit=10)
    assert page.items == []
    assert page.next_cursor is None


@group.case("listChains filters rootOnly (excludes chains used as blockers)")
async def _root_only(t: Context) -> None:
    blocker = await create_job(t.adapter, root("blocker"))
    main = await create_job(t.adapter, root("main"))
    await add_blockers(t.adapter, main, blocker.id)
    root_only = await t.adapter.list_chains(filter=ChainFilter(root_only=True), limit=10)
    assert [chain.root.id for chain in root_only.items] == [main.id]
    everything = await t.adapter.list_chains(filter=ChainFilter(), limit=10)
    assert len(everything.items) == 2


@group.case("listChains returns chains as [rootJob, lastJob] pairs")
async def _pairs(t: Context) -> None:
    first = await create_job(t.adapter, root("multi"))
    nxt = await create_job(t.adapter, continuation(first))
    single = await create_job(t.adapter, root("single"))
    page = await t.adapter.list_chains(filter=ChainFilter(), limit=10)
    pairs = {chain.root.id: (chain.last.id if chain.last else None) for chain in page.items}
    assert pairs == {first.id: nxt.id, single.id: None}


@group.case("listChains filters by typeName")
async def _type_name(t: Context) -> None:
    chain_a = await create_job(t.adapter, root("type-a"))
    await create_job(t.adapter, continuation(chain_a, "type-x"))
    await create_job(t.adapter, root("type-b"))
    page = await t.adapter.list_chains(filter=ChainFilter(type_name=["type-a"]), limit=10)
    assert [chain.root.id for chain in page.items] == [chain_a.id]
    by_later_job_type = await t.adapter.list_chains(filter=ChainFilter(type_name=["type-x"]), limit=10)
    assert by_later_job_type.items == [], "the type of a chain is the type of its first job"


@group.case("listChains sorts by createdAt desc by default")
async def _desc(t: Context) -> None:
    jobs = await spaced_roots(t.adapter)
    page = await t.adapter.list_chains(filter=ChainFilter(), limit=10)
    assert [chain.root.id for chain in page.items] == [job.id for job in reversed(jobs)]


@group.case("listChains paginates with cursor")
async def _paginates(t: Context) -> None:
    jobs = [await create_job(t.adapter, root("page")) for _ in range(5)]
    pages = await all_pages(t.adapter.list_chains, filter=ChainFilter(), limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [chain.root.id for page in pages for chain in page] == by_created(jobs, "desc")


@group.case("listChains filters by id matching chain ID")
async def _chain_id(t: Context) -> None:
    first = await create_job(t.adapter)
    second = await create_job(t.adapter)
    await create_job(t.adapter)
    page = await t.adapter.list_chains(filter=ChainFilter(chain_id=[first.id, second.id]), limit=10)
    assert sorted(chain.root.id for chain in page.items) == sorted([first.id, second.id])


@group.case("listChains sorts asc when orderDirection is asc")
async def _asc(t: Context) -> None:
    jobs = await spaced_roots(t.adapter)
    page = await t.adapter.list_chains(filter=ChainFilter(), order_direction="asc", limit=10)
    assert [chain.root.id for chain in page.items] == [job.id for job in jobs]


@group.case("listChains paginates correctly in asc order")
async def _asc_pages(t: Context) -> None:
    jobs = [await create_job(t.adapter, root("page")) for _ in range(3)]
    pages = await all_pages(t.adapter.list_chains, filter=ChainFilter(), order_direction="asc", limit=2)
    assert [len(page) for page in pages] == [2, 1]
    assert [chain.root.id for page in pages for chain in page] == by_created(jobs, "asc")


@group.case("listChains filters by from/to date range")
async def _date_range(t: Context) -> None:
    early = await create_job(t.adapter, root("dated"))
    await clock_passes(early.created_at, margin_ms=50)
    midpoint = now()
    await clock_passes(midpoint, margin_ms=50)
    late = await create_job(t.adapter, root("dated"))
    after = await t.adapter.list_chains(filter=ChainFilter(from_=midpoint), limit=10)
    assert [chain.root.id for chain in after.items] == [late.id]
    before = await t.adapter.list_chains(filter=ChainFilter(to=midpoint), limit=10)
    assert [chain.root.id for chain in before.items] == [early.id]


@group.case("listChains filters by jobId")
async def _job_id(t: Context) -> None:
    first = await create_job(t.adapter)
    nxt = await create_job(t.adapter, continuation(first))
    await create_job(t.adapter)
    page = await t.adapter.list_chains(filter=ChainFilter(job_id=[nxt.id]), limit=10)
    assert [chain.root.id for chain in page.items] == [first.id]


@group.case("listChains filters by status")
async def _status(t: Context) -> None:
    a = t.adapter
    done_root = await create_job(a, root("s"))
    done_last = await create_job(a, continuation(done_root))
    await complete(a, done_root)
    await complete(a, done_last, output="end")
    open_root = await create_job(a, root("s"))
    completed = await a.list_chains(filter=ChainFilter(status=["completed"]), limit=10)
    assert [chain.root.id for chain in completed.items] == [done_root.id]
    pending = await a.list_chains(filter=ChainFilter(status=["pending"]), limit=10)
    assert [chain.root.id for chain in pending.items] == [open_root.id]


# --- additions of this port -------------------------------------------------------------


@group.case("listChains takes a chain's status from its newest job", upstream=False)
async def _status_of_newest(t: Context) -> None:
    a = t.adapter
    continued = await create_job(a, root("s"))
    await create_job(a, continuation(continued))
    await complete(a, continued)  # the first job is completed, the chain is not
    assert (await a.list_chains(filter=ChainFilter(status=["completed"]), limit=10)).items == []
    pending = await a.list_chains(filter=ChainFilter(status=["pending"]), limit=10)
    assert [chain.root.id for chain in pending.items] == [continued.id]


@group.case("listChains combines filters and includes the from/to bounds", upstream=False)
async def _combined(t: Context) -> None:
    chain_a = await create_job(t.adapter, root("type-a"))
    chain_b = await create_job(t.adapter, root("type-b"))
    page = await t.adapter.list_chains(filter=ChainFilter(type_name=["type-a"], chain_id=[chain_a.id, chain_b.id]))
    assert [chain.root.id for chain in page.items] == [chain_a.id]
    bounds = ChainFilter(
        from_=min(chain_a.created_at, chain_b.created_at), to=max(chain_a.created_at, chain_b.created_at)
    )
    assert len((await t.adapter.list_chains(filter=bounds)).items) == 2


@group.case("listChains pages through chains sharing a created_at without skipping or repeating", upstream=False)
async def _shared_created_at(t: Context) -> None:
    # One batch in one transaction: SQL stores give every row the transaction's timestamp.
    created = await create(t.adapter, *(root("same-time") for _ in range(12)))
    jobs = [c.job for c in created]
    order: OrderDirection
    for order in ("asc", "desc"):
        for limit in (1, 5):
            pages = await all_pages(t.adapter.list_chains, filter=ChainFilter(), order_direction=order, limit=limit)
            assert [chain.root.id for page in pages for chain in page] == by_created(jobs, order)
            assert all(len(page) == limit for page in pages[:-1])
