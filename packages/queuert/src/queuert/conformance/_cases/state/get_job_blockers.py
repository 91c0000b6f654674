"""getJobBlockers: a job's blocker chains as (first job, newest job) pairs."""

from __future__ import annotations

from ._common import Context, StateGroup, add_blockers, continuation, create_job, root

group = StateGroup("getJobBlockers")


@group.case("returns blocker chain pairs for a job")
async def _pairs(t: Context) -> None:
    a = t.adapter
    b1 = await create_job(a, root("b1"))
    b2 = await create_job(a, root("b2"))
    main = await create_job(a, root("main"))
    await add_blockers(a, main, b1.id, b2.id)
    chains = await a.get_job_blockers(main.id)
    assert sorted(chain.root.id for chain in chains) == sorted([b1.id, b2.id])
    for chain in chains:
        assert chain.last is None or chain.last.id == chain.root.id


@group.case("returns [rootJob, lastJob] for multi-job blocker chain")
async def _multi_job(t: Context) -> None:
    a = t.adapter
    blocker = await create_job(a, root("blocker"))
    blocker_next = await create_job(a, continuation(blocker))
    main = await create_job(a, root("main"))
    await add_blockers(a, main, blocker.id)
    [chain] = await a.get_job_blockers(main.id)
    assert chain.root.id == blocker.id
    assert chain.last is not None
    assert chain.last.id == blocker_next.id


@group.case("returns empty array for job with no blockers")
async def _none(t: Context) -> None:
    job = await create_job(t.adapter)
    assert await t.adapter.get_job_blockers(job.id) == []


# --- additions of this port -------------------------------------------------------------


@group.case("returns blocker chains in slot order", upstream=False)
async def _slot_order(t: Context) -> None:
    a = t.adapter
    first = await create_job(a, root("a"))
    second = await create_job(a, root("b"))
    main = await create_job(a, root("main"))
    await add_blockers(a, main, second.id, first.id)
    assert [chain.root.id for chain in await a.get_job_blockers(main.id)] == [second.id, first.id]
