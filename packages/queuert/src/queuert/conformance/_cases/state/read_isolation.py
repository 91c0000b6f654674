"""read isolation: a call without a transaction never sees another transaction's uncommitted writes."""

from __future__ import annotations

from ...._entities import ChainFilter, JobFilter
from ...._state_adapter import JobBlockersParams, StateChain
from ._common import Context, StateGroup, continuation, create_job, observe_during_uncommitted, root

group = StateGroup("read isolation")


@group.case("non-transactional getJob does not observe an uncommitted insert")
async def _get_job_insert(t: Context) -> None:
    job_id = t.generate_id()
    seen = await observe_during_uncommitted(
        t, lambda tx: t.adapter.create_jobs([root("iso", id=job_id)], tx_ctx=tx), lambda: t.adapter.get_job(job_id)
    )
    assert seen is None


@group.case("non-transactional getJob does not observe an uncommitted status update")
async def _get_job_update(t: Context) -> None:
    job = await create_job(t.adapter, root("iso"))
    seen = await observe_during_uncommitted(
        t, lambda tx: t.adapter.acquire_job(["iso"], tx_ctx=tx), lambda: t.adapter.get_job(job.id)
    )
    assert seen is not None
    assert seen.status == "pending"


@group.case("non-transactional listJobs does not observe an uncommitted insert")
async def _list_jobs_insert(t: Context) -> None:
    seen = await observe_during_uncommitted(
        t,
        lambda tx: t.adapter.create_jobs([root("iso")], tx_ctx=tx),
        lambda: t.adapter.list_jobs(filter=JobFilter(type_name=["iso"])),
    )
    assert seen.items == []


@group.case("non-transactional getJobBlockers does not observe an uncommitted blocker insert")
async def _get_job_blockers_insert(t: Context) -> None:
    blocker = await create_job(t.adapter, root("blocker"))
    main = await create_job(t.adapter, root("main"))
    params = JobBlockersParams(job_id=main.id, blocked_by_chain_ids=[blocker.id])
    seen = await observe_during_uncommitted(
        t, lambda tx: t.adapter.add_jobs_blockers([params], tx_ctx=tx), lambda: t.adapter.get_job_blockers(main.id)
    )
    assert seen == []


@group.case("non-transactional getJob does not observe an uncommitted delete")
async def _get_job_delete(t: Context) -> None:
    job = await create_job(t.adapter)
    seen = await observe_during_uncommitted(
        t, lambda tx: t.adapter.delete_chains([job.id], tx_ctx=tx), lambda: t.adapter.get_job(job.id)
    )
    assert seen is not None
    assert seen.id == job.id


@group.case("non-transactional getChain does not observe an uncommitted chain creation")
async def _get_chain_insert(t: Context) -> None:
    chain_id = t.generate_id()
    seen = await observe_during_uncommitted(
        t, lambda tx: t.adapter.create_jobs([root(id=chain_id)], tx_ctx=tx), lambda: t.adapter.get_chain(chain_id)
    )
    assert seen is None


@group.case("non-transactional getNextJobAvailableInMs does not observe an uncommitted insert")
async def _next_available_insert(t: Context) -> None:
    seen = await observe_during_uncommitted(
        t,
        lambda tx: t.adapter.create_jobs([root("iso")], tx_ctx=tx),
        lambda: t.adapter.get_next_job_available_in_ms(["iso"]),
    )
    assert seen is None


@group.case("non-transactional locked getJob does not observe an uncommitted status update")
async def _locked_get_job_update(t: Context) -> None:
    job = await create_job(t.adapter, root("iso"))
    seen = await observe_during_uncommitted(
        t, lambda tx: t.adapter.acquire_job(["iso"], tx_ctx=tx), lambda: t.adapter.get_job(job.id, lock="exclusive")
    )
    assert seen is not None
    assert (seen.status, seen.attempt) == ("pending", 0)


@group.case("non-transactional locked getChain does not observe an uncommitted continuation")
async def _locked_get_chain_continuation(t: Context) -> None:
    first = await create_job(t.adapter)
    seen = await observe_during_uncommitted(
        t,
        lambda tx: t.adapter.create_jobs([continuation(first)], tx_ctx=tx),
        lambda: t.adapter.get_chain(first.id, lock="exclusive"),
    )
    assert seen is not None
    assert seen == StateChain(first, None)


@group.case("non-transactional listChains does not observe an uncommitted chain creation")
async def _list_chains_insert(t: Context) -> None:
    seen = await observe_during_uncommitted(
        t,
        lambda tx: t.adapter.create_jobs([root("iso")], tx_ctx=tx),
        lambda: t.adapter.list_chains(filter=ChainFilter(type_name=["iso"])),
    )
    assert seen.items == []


@group.case("non-transactional listChainJobs does not observe an uncommitted continuation")
async def _list_chain_jobs_continuation(t: Context) -> None:
    first = await create_job(t.adapter)
    seen = await observe_during_uncommitted(
        t,
        lambda tx: t.adapter.create_jobs([continuation(first)], tx_ctx=tx),
        lambda: t.adapter.list_chain_jobs(first.id),
    )
    assert [job.id for job in seen.items] == [first.id]


@group.case("non-transactional listBlockedJobs does not observe an uncommitted blocker insert")
async def _list_blocked_jobs_insert(t: Context) -> None:
    blocker = await create_job(t.adapter, root("blocker"))
    main = await create_job(t.adapter, root("main"))
    params = JobBlockersParams(job_id=main.id, blocked_by_chain_ids=[blocker.id])
    seen = await observe_during_uncommitted(
        t,
        lambda tx: t.adapter.add_jobs_blockers([params], tx_ctx=tx),
        lambda: t.adapter.list_blocked_jobs(blocker.id),
    )
    assert seen.items == []
