"""Suite "client queries": reading chains and jobs, with filters, ordering and pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

import pytest

from ..._client import StartChainItem
from ..._entities import ChainFilter, JobFilter
from ..._job_types import EntryJobType, JobType, NoOutput, Rest, define_job_types
from ...errors import JobTypeMismatchError
from .._wait import next_moment
from ._base import IntegrationSuite, SuiteContext

if TYPE_CHECKING:
    from ..._client import Client, WorkerlessCompletion
    from ..._completion import CompleteContext, ContinuationJob
    from ..._entities import StartedChain

__all__ = ("ClientQueriesSuite",)


class Item(TypedDict):
    name: str


source = EntryJobType[Item, Item]("queries.source")
report = EntryJobType[Item, Item]("queries.report", blockers=[Rest("queries.source")])
flow = EntryJobType[Item, NoOutput, Item]("queries.flow", continue_with="queries.flow_end")
flow_end = JobType[Item, Item]("queries.flow_end")
JOB_TYPES = define_job_types(source, report, flow, flow_end)


async def _start(
    s: SuiteContext, client: Client[Any], job_type: Any, input: Item, **options: Any
) -> StartedChain[Any, Any]:
    # Listings must follow creation order here.
    await next_moment()
    return await s.start_chain(client, job_type, input, **options)


async def _finish(s: SuiteContext, client: Client[Any], job_type: Any, chain_id: str, output: Item) -> None:
    async def complete(completion: WorkerlessCompletion[Any]) -> None:
        async def produce(_: CompleteContext[Any]) -> Item:
            return output

        await completion.complete(completion.job, produce)

    await s.tx(
        lambda tx_ctx, hooks: client.complete_chain(
            tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=job_type, id=chain_id, complete=complete
        )
    )


async def _advance(s: SuiteContext, client: Client[Any], chain_id: str) -> None:
    await next_moment()

    async def complete(completion: WorkerlessCompletion[Any]) -> None:
        async def hand_off(ctx: CompleteContext[Any]) -> ContinuationJob[Item]:
            return await ctx.continue_with(flow_end, input=Item(name="end"))

        await completion.complete(completion.job, hand_off)

    await s.tx(
        lambda tx_ctx, hooks: client.complete_chain(
            tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=flow, id=chain_id, complete=complete
        )
    )


async def _all_pages(fetch: Any, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = await fetch(cursor=cursor, limit=limit)
        pages.append([item.id for item in page.items])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


class ClientQueriesSuite(IntegrationSuite):
    """The read methods of the client, with their filters, ordering, pagination and type narrowing."""

    async def test_get_chain(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        assert await client.get_chain(s.generate_id()) is None
        chain = await _start(s, client, source, Item(name="a"))
        found = await client.get_chain(chain.id)
        assert found is not None
        assert (found.id, found.type_name, found.status, found.input) == (
            chain.id,
            source.name,
            "pending",
            {"name": "a"},
        )
        narrowed = await client.get_chain(chain.id, job_type=source)
        assert narrowed is not None
        assert narrowed.id == chain.id
        with pytest.raises(JobTypeMismatchError):
            await client.get_chain(chain.id, job_type=report)
        # An unknown chain is not a mismatch.
        assert await client.get_chain(s.generate_id(), job_type=report) is None

    async def test_get_job(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        assert await client.get_job(s.generate_id()) is None
        chain = await _start(s, client, flow, Item(name="f"))
        await _advance(s, client, chain.id)
        jobs = (await client.list_chain_jobs(chain.id)).items
        second = await client.get_job(jobs[1].id)
        assert second is not None
        assert (second.type_name, second.chain_id, second.chain_index) == (flow_end.name, chain.id, 1)
        assert await client.get_job(jobs[1].id, job_type=flow_end) is not None
        with pytest.raises(JobTypeMismatchError):
            await client.get_job(jobs[1].id, job_type=flow)

    async def test_list_chains(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        assert (await client.list_chains()).items == []
        sources = [await _start(s, client, source, Item(name=f"s{n}")) for n in range(3)]
        rep = await _start(s, client, report, Item(name="r"), blockers=sources[:2])
        flowing = await _start(s, client, flow, Item(name="f"))
        await _advance(s, client, flowing.id)
        await _finish(s, client, source, sources[2].id, Item(name="done"))
        newest_first = [c.id for c in (await client.list_chains()).items]
        assert newest_first == [flowing.id, rep.id, *(c.id for c in reversed(sources))]
        oldest_first = [c.id for c in (await client.list_chains(order_direction="asc")).items]
        assert oldest_first == list(reversed(newest_first))
        by_type = await client.list_chains(filter=ChainFilter(type_name=[source.name]))
        assert {c.id for c in by_type.items} == {c.id for c in sources}
        by_id = await client.list_chains(filter=ChainFilter(chain_id=[rep.id, sources[0].id]))
        assert {c.id for c in by_id.items} == {rep.id, sources[0].id}
        roots = await client.list_chains(filter=ChainFilter(root_only=True))
        assert {c.id for c in roots.items} == {rep.id, flowing.id, sources[2].id}
        done = await client.list_chains(filter=ChainFilter(status=["completed"]))
        assert [c.id for c in done.items] == [sources[2].id]
        blocked = await client.list_chains(filter=ChainFilter(status=["blocked"]))
        assert [c.id for c in blocked.items] == [rep.id]
        continuation = (await client.list_chain_jobs(flowing.id)).items[1]
        by_job = await client.list_chains(filter=ChainFilter(job_id=[continuation.id]))
        assert [c.id for c in by_job.items] == [flowing.id]
        pages = await _all_pages(lambda **kw: client.list_chains(order_direction="asc", **kw), 2)
        assert pages == [oldest_first[0:2], oldest_first[2:4], oldest_first[4:5]]
        first = await client.get_chain(sources[0].id)
        assert first is not None
        window = await client.list_chains(filter=ChainFilter(from_=first.created_at, to=first.created_at))
        assert [c.id for c in window.items] == [sources[0].id]
        future = datetime.now(UTC) + timedelta(days=1)
        assert (await client.list_chains(filter=ChainFilter(from_=future))).items == []
        shape = next(c for c in (await client.list_chains()).items if c.id == sources[2].id)
        assert (shape.status, getattr(shape, "output", None)) == ("completed", {"name": "done"})

    async def test_list_jobs(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        assert (await client.list_jobs()).items == []
        one = await _start(s, client, flow, Item(name="one"))
        two = await _start(s, client, source, Item(name="two"))
        await _advance(s, client, one.id)
        all_jobs = (await client.list_jobs()).items
        assert len(all_jobs) == 3
        assert next(j.type_name for j in all_jobs) == flow_end.name  # newest first
        assert [j.id for j in (await client.list_jobs(filter=JobFilter(type_name=[source.name]))).items] == [two.id]
        by_chain_type = await client.list_jobs(filter=JobFilter(chain_type_name=[flow.name]))
        assert {j.type_name for j in by_chain_type.items} == {flow.name, flow_end.name}
        by_chain = await client.list_jobs(filter=JobFilter(chain_id=[one.id]))
        assert len(by_chain.items) == 2
        pending = await client.list_jobs(filter=JobFilter(status=["pending"]))
        assert {j.type_name for j in pending.items} == {source.name, flow_end.name}
        ascending = [j.id for j in (await client.list_jobs(order_direction="asc")).items]
        assert ascending == list(reversed([j.id for j in all_jobs]))
        pages = await _all_pages(lambda **kw: client.list_jobs(order_direction="asc", **kw), 2)
        assert pages == [ascending[0:2], ascending[2:3]]
        first = all_jobs[-1]
        window = await client.list_jobs(filter=JobFilter(from_=first.created_at, to=first.created_at))
        assert [j.id for j in window.items] == [first.id]
        shape = next(j for j in all_jobs if j.id == one.id)
        assert (shape.status, shape.chain_index, shape.attempt, getattr(shape, "completed_by", "?")) == (
            "completed",
            0,
            0,
            None,
        )

    async def test_list_chain_jobs(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        assert (await client.list_chain_jobs(s.generate_id())).items == []
        chain = await _start(s, client, flow, Item(name="f"))
        other = await _start(s, client, flow, Item(name="other"))
        await _advance(s, client, chain.id)
        await _advance(s, client, other.id)
        jobs = (await client.list_chain_jobs(chain.id)).items
        assert [j.chain_index for j in jobs] == [0, 1]
        assert {j.chain_id for j in jobs} == {chain.id}
        descending = (await client.list_chain_jobs(chain.id, order_direction="desc")).items
        assert [j.chain_index for j in descending] == [1, 0]
        assert await _all_pages(lambda **kw: client.list_chain_jobs(chain.id, **kw), 1) == [
            [jobs[0].id],
            [jobs[1].id],
        ]
        assert len((await client.list_chain_jobs(chain.id, job_type=flow)).items) == 2
        with pytest.raises(JobTypeMismatchError):
            await client.list_chain_jobs(chain.id, job_type=source)

    async def test_get_job_blockers(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        lonely = await _start(s, client, source, Item(name="alone"))
        assert await client.get_job_blockers(lonely.id) == []
        blockers = [await _start(s, client, source, Item(name=f"b{n}")) for n in range(2)]
        rep = await _start(s, client, report, Item(name="r"), blockers=blockers)
        found = await client.get_job_blockers(rep.id)
        assert [c.id for c in found] == [b.id for b in blockers]
        assert [c.status for c in found] == ["pending", "pending"]
        assert len(await client.get_job_blockers(rep.id, job_type=report)) == 2
        with pytest.raises(JobTypeMismatchError):
            await client.get_job_blockers(rep.id, job_type=source)
        await _finish(s, client, source, blockers[0].id, Item(name="done"))
        assert [c.status for c in await client.get_job_blockers(rep.id)] == ["completed", "pending"]

    async def test_list_blocked_jobs(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        blocker = await _start(s, client, source, Item(name="b"))
        assert (await client.list_blocked_jobs(blocker.id)).items == []
        dependents = [await _start(s, client, report, Item(name=f"r{n}"), blockers=[blocker]) for n in range(3)]
        newest_first = [j.id for j in (await client.list_blocked_jobs(blocker.id)).items]
        assert newest_first == [d.id for d in reversed(dependents)]
        ascending = [j.id for j in (await client.list_blocked_jobs(blocker.id, order_direction="asc")).items]
        assert ascending == [d.id for d in dependents]
        assert await _all_pages(lambda **kw: client.list_blocked_jobs(blocker.id, **kw), 2) == [
            newest_first[:2],
            newest_first[2:],
        ]
        assert len((await client.list_blocked_jobs(blocker.id, job_type=source)).items) == 3
        with pytest.raises(JobTypeMismatchError):
            await client.list_blocked_jobs(blocker.id, job_type=report)
        # The links outlive the blocking: dependents stay listed once released.
        await _finish(s, client, source, blocker.id, Item(name="done"))
        released = (await client.list_blocked_jobs(blocker.id)).items
        assert {j.status for j in released} == {"pending"}

    async def test_the_methods_agree_and_the_default_limit_applies(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        blocker = await _start(s, client, source, Item(name="b"))
        rep = await _start(s, client, report, Item(name="r"), blockers=[blocker])
        await _finish(s, client, source, blocker.id, Item(name="b done"))
        await _finish(s, client, report, rep.id, Item(name="r done"))
        chain = await client.get_chain(rep.id)
        job = await client.get_job(rep.id)
        listed = (await client.list_chains(filter=ChainFilter(chain_id=[rep.id]))).items
        assert chain is not None
        assert job is not None
        assert chain.status == job.status == listed[0].status == "completed"
        assert getattr(chain, "output", None) == getattr(job, "output", None) == {"name": "r done"}
        assert [c.id for c in await client.get_job_blockers(rep.id)] == [blocker.id]
        assert [j.id for j in (await client.list_blocked_jobs(blocker.id)).items] == [rep.id]
        many = await s.start_chains(
            client, [StartChainItem(job_type=source, input=Item(name=f"bulk{n}")) for n in range(55)]
        )
        assert len(many) == 55
        first_page = await client.list_chains(filter=ChainFilter(type_name=[source.name]))
        assert len(first_page.items) == 50
        assert first_page.next_cursor is not None
