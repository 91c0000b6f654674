"""Helpers shared by the state adapter cases. They use only the public `StateAdapter` contract."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from ...._entities import DeduplicationOptions, JsonValue, OrderDirection, Page, ScheduleOptions
from ...._state_adapter import (
    AcquiredJob,
    AddedJobBlockers,
    CreatedJob,
    CreateJobParams,
    JobBlockersParams,
    StateAdapter,
    StateJob,
)
from ..._fixtures import StateCaseContext
from .._support import LOCK_OBSERVATION_S, Group, Rollback, raises, wait_for

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

Adapter: TypeAlias = StateAdapter[Any]
Context: TypeAlias = StateCaseContext
StateGroup: TypeAlias = Group[StateCaseContext]
ResultT = TypeVar("ResultT")
ItemT = TypeVar("ItemT")


def root(
    type_name: str = "test-job",
    *,
    input: JsonValue = None,
    id: str | None = None,
    deduplication: DeduplicationOptions | None = None,
    schedule: ScheduleOptions | None = None,
    chain_trace_context: str | None = None,
    trace_context: str | None = None,
) -> CreateJobParams:
    """The first job of a new chain."""
    return CreateJobParams(
        type_name=type_name,
        chain_type_name=type_name,
        chain_index=0,
        input=input,
        id=id,
        deduplication=deduplication,
        schedule=schedule,
        chain_trace_context=chain_trace_context,
        trace_context=trace_context,
    )


def continuation(
    parent: StateJob,
    type_name: str = "test-next",
    *,
    chain_index: int | None = None,
    input: JsonValue = None,
    id: str | None = None,
) -> CreateJobParams:
    """The job that follows `parent` in its chain."""
    return CreateJobParams(
        type_name=type_name,
        chain_type_name=parent.chain_type_name,
        chain_id=parent.chain_id,
        chain_index=parent.chain_index + 1 if chain_index is None else chain_index,
        input=input,
        id=id,
    )


def dedup(key: str, **options: Any) -> DeduplicationOptions:
    return DeduplicationOptions(key=key, **options)


async def create(adapter: Adapter, *params: CreateJobParams) -> list[CreatedJob]:
    return await adapter.with_transaction(lambda tx: adapter.create_jobs(list(params), tx_ctx=tx))


async def create_job(adapter: Adapter, params: CreateJobParams | None = None) -> StateJob:
    return (await create(adapter, params or root()))[0].job


async def complete(adapter: Adapter, job: StateJob, output: JsonValue = None, worker_id: str | None = "w") -> StateJob:
    return await adapter.with_transaction(
        lambda tx: adapter.complete_job(job.id, output=output, worker_id=worker_id, tx_ctx=tx)
    )


async def acquire(adapter: Adapter, *type_names: str) -> AcquiredJob:
    return await adapter.with_transaction(lambda tx: adapter.acquire_job(list(type_names), tx_ctx=tx))


async def add_blockers(
    adapter: Adapter, job: StateJob, *chain_ids: str, trace_contexts: list[str | None] | None = None
) -> AddedJobBlockers:
    params = JobBlockersParams(
        job_id=job.id, blocked_by_chain_ids=list(chain_ids), blocker_trace_contexts=trace_contexts
    )
    return (await adapter.with_transaction(lambda tx: adapter.add_jobs_blockers([params], tx_ctx=tx)))[0]


async def get(adapter: Adapter, job_id: str) -> StateJob:
    job = await adapter.get_job(job_id)
    assert job is not None, f"job {job_id} does not exist"
    return job


def other_id(job_id: str) -> str:
    """An id of the same shape (it still parses as the id type) that no job has: the last character changed."""
    return job_id[:-1] + ("0" if job_id[-1] != "0" else "1")


def ids(jobs: list[StateJob]) -> list[str]:
    return [job.id for job in jobs]


def by_created(jobs: list[StateJob], order: OrderDirection = "asc") -> list[str]:
    """Job ids in listing order: by `(created_at, id)`."""
    ordered = sorted(jobs, key=lambda job: (job.created_at, job.id), reverse=order == "desc")
    return [job.id for job in ordered]


async def all_pages(fetch: Callable[..., Awaitable[Page[ItemT]]], *args: Any, **kwargs: Any) -> list[list[ItemT]]:
    """Call a listing method page by page (passing `cursor=`) and return every page's items."""
    pages: list[list[ItemT]] = []
    cursor: str | None = None
    while True:
        page = await fetch(*args, cursor=cursor, **kwargs)
        pages.append(page.items)
        if page.next_cursor is None:
            return pages
        assert len(pages) < 100, "pagination does not terminate"
        cursor = page.next_cursor


async def observe_during_uncommitted(
    t: Context,
    mutate: Callable[[Any], Awaitable[object]],
    observe: Callable[[], Coroutine[Any, Any, ResultT]],
) -> ResultT:
    """Run `observe()` without a transaction while another transaction holds an uncommitted change.

    The transaction makes the change, waits on a gate, then rolls back. The observer may
    block until the transaction ends (it is then released by the rollback) or answer at
    once; it gets `LOCK_OBSERVATION_S` to answer while the change is still uncommitted.
    """
    changed = asyncio.Event()
    gate = t.gate()

    async def hold(tx: Any) -> None:
        await mutate(tx)
        changed.set()
        await gate.wait()
        raise Rollback

    holder = t.start(t.adapter.with_transaction(hold))
    await wait_for(changed.wait(), "the transaction to make its change")
    observer = t.start(observe())
    await asyncio.wait({observer}, timeout=LOCK_OBSERVATION_S)
    gate.set()
    with raises(Rollback):
        await wait_for(holder, "the transaction to roll back")
    result: ResultT = await wait_for(observer, "the non-transactional read")
    return result
