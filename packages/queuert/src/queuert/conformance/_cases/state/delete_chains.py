"""deleteChains: whole chains or nothing, with cascading to their blockers."""

from __future__ import annotations

from ....errors import BlockerReference
from ._common import Context, StateGroup, add_blockers, continuation, create_job, other_id, root

group = StateGroup("deleteChains")


@group.case("deletes all jobs in the given chains")
async def _deletes(t: Context) -> None:
    a = t.adapter
    job = await create_job(a)
    deleted = await a.with_transaction(lambda tx: a.delete_chains([job.id], tx_ctx=tx))
    assert deleted.blocker_references == ()
    assert [(chain.root.id, chain.last) for chain in deleted.deleted] == [(job.id, None)]
    assert await a.get_job(job.id) is None

    multi = await create_job(a)
    nxt = await create_job(a, continuation(multi))
    deleted = await a.delete_chains([multi.id])
    assert [(chain.root.id, chain.last.id if chain.last else None) for chain in deleted.deleted] == [(multi.id, nxt.id)]
    assert await a.get_job(nxt.id) is None
    assert await a.get_chain(multi.id) is None


@group.case("does not delete jobs from other chains")
async def _others_kept(t: Context) -> None:
    first = await create_job(t.adapter)
    second = await create_job(t.adapter)
    await t.adapter.delete_chains([first.id])
    assert await t.adapter.get_job(second.id) is not None


@group.case("returns empty deleted + blockerRefs when a chain is referenced as blocker")
async def _referenced(t: Context) -> None:
    a = t.adapter
    blocker = await create_job(a, root("blocker"))
    main = await create_job(a, root("main"))
    await add_blockers(a, main, blocker.id)
    refused = await a.delete_chains([blocker.id])
    assert refused.deleted == ()
    assert refused.blocker_references == (BlockerReference(chain_id=blocker.id, referenced_by_job_id=main.id),)
    assert await a.get_job(blocker.id) is not None
    together = await a.delete_chains([main.id, blocker.id])
    assert len(together.deleted) == 2
    assert together.blocker_references == ()
    assert await a.get_job(main.id) is None
    assert await a.get_job(blocker.id) is None


@group.case("cascade deletes chain and its dependencies")
async def _cascade(t: Context) -> None:
    a = t.adapter
    blocker = await create_job(a, root("blocker"))
    main = await create_job(a, root("main"))
    await add_blockers(a, main, blocker.id)
    deleted = await a.delete_chains([main.id], cascade=True)
    assert sorted(chain.root.id for chain in deleted.deleted) == sorted([main.id, blocker.id])
    assert deleted.blocker_references == ()
    assert await a.get_job(blocker.id) is None


@group.case("cascade returns empty deleted + blockerRefs when deleting chain referenced as blocker")
async def _cascade_referenced(t: Context) -> None:
    a = t.adapter
    blocker = await create_job(a, root("blocker"))
    main = await create_job(a, root("main"))
    await add_blockers(a, main, blocker.id)
    refused = await a.delete_chains([blocker.id], cascade=True)
    assert refused.deleted == ()
    assert refused.blocker_references == (BlockerReference(chain_id=blocker.id, referenced_by_job_id=main.id),)
    assert await a.get_job(blocker.id) is not None


@group.case("cascade resolves transitive dependencies")
async def _transitive(t: Context) -> None:
    a = t.adapter
    job_a = await create_job(a, root("a"))
    job_b = await create_job(a, root("b"))
    job_c = await create_job(a, root("c"))
    await add_blockers(a, job_b, job_a.id)
    await add_blockers(a, job_c, job_b.id)
    deleted = await a.delete_chains([job_c.id], cascade=True)
    assert sorted(chain.root.id for chain in deleted.deleted) == sorted([job_a.id, job_b.id, job_c.id])


@group.case("cascade deduplicates diamond dependencies")
async def _diamond(t: Context) -> None:
    a = t.adapter
    job_a = await create_job(a, root("a"))
    job_b = await create_job(a, root("b"))
    job_c = await create_job(a, root("c"))
    job_d = await create_job(a, root("d"))
    await add_blockers(a, job_b, job_a.id)
    await add_blockers(a, job_c, job_a.id)
    await add_blockers(a, job_d, job_b.id, job_c.id)
    deleted = await a.delete_chains([job_d.id], cascade=True)
    assert sorted(chain.root.id for chain in deleted.deleted) == sorted([job_a.id, job_b.id, job_c.id, job_d.id])


@group.case("cascade with no blocker relationships deletes only specified chains")
async def _cascade_plain(t: Context) -> None:
    first = await create_job(t.adapter)
    second = await create_job(t.adapter)
    deleted = await t.adapter.delete_chains([first.id], cascade=True)
    assert [chain.root.id for chain in deleted.deleted] == [first.id]
    assert await t.adapter.get_job(second.id) is not None


# --- additions of this port -------------------------------------------------------------


@group.case("skips missing ids and deletes each chain once", upstream=False)
async def _missing_and_repeated(t: Context) -> None:
    a = t.adapter
    job = await create_job(a)
    empty = await a.delete_chains([])
    assert (empty.deleted, empty.blocker_references) == ((), ())
    deleted = await a.delete_chains([other_id(job.id), job.id, job.id])
    assert [chain.root.id for chain in deleted.deleted] == [job.id]
    again = await a.delete_chains([job.id])
    assert again.deleted == ()
    assert again.blocker_references == ()


@group.case("the id of a chain's later job does not name a chain", upstream=False)
async def _continuation_id(t: Context) -> None:
    first = await create_job(t.adapter)
    nxt = await create_job(t.adapter, continuation(first))
    assert (await t.adapter.delete_chains([nxt.id])).deleted == ()
    assert await t.adapter.get_job(nxt.id) is not None


@group.case("cascade follows only the blockers of the chains' first jobs", upstream=False)
async def _cascade_first_jobs_only(t: Context) -> None:
    a = t.adapter
    blocker = await create_job(a, root("blocker"))
    first = await create_job(a, root("main"))
    nxt = await create_job(a, continuation(first))
    await add_blockers(a, nxt, blocker.id)
    refused = await a.delete_chains([blocker.id])
    assert refused.blocker_references == (BlockerReference(chain_id=blocker.id, referenced_by_job_id=nxt.id),)
    deleted = await a.delete_chains([first.id], cascade=True)
    assert [chain.root.id for chain in deleted.deleted] == [first.id]
    assert await a.get_job(blocker.id) is not None
    assert (await a.list_blocked_jobs(blocker.id)).items == []
