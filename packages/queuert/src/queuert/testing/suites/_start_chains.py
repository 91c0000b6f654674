"""Suite "start chains": `start_chain` and `start_chains` with every option."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypedDict

import pytest

from ..._client import StartChainItem
from ..._entities import DeduplicationOptions, ScheduleAfter
from ..._job_types import EntryJobType, Rest, define_job_types
from ..._worker._processors import Processor
from ...errors import TransactionContextRequiredError
from ._base import IntegrationSuite, SuiteContext, finish_with

if TYPE_CHECKING:
    from ..._worker._context import AttemptContext, AttemptResult

__all__ = ("StartChainsSuite",)


class Order(TypedDict):
    order: str


class Total(TypedDict):
    total: int


place = EntryJobType[Order, Total]("starts.place")
refund = EntryJobType[Order, Total]("starts.refund")
summary = EntryJobType[Order, Total]("starts.summary", blockers=[Rest("starts.place")])
JOB_TYPES = define_job_types(place, refund, summary)


async def _one(ctx: AttemptContext[object, Order, Total]) -> AttemptResult[Order, Total]:
    return await finish_with(ctx, Total(total=1))


async def _sum(ctx: AttemptContext[object, Order, Total]) -> AttemptResult[Order, Total]:
    return await finish_with(ctx, Total(total=sum(chain.output["total"] for chain in ctx.job.blockers)))


class StartChainsSuite(IntegrationSuite):
    """Starting chains, one or many at once."""

    async def test_start_chain_creates_a_chain(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        started = await s.start_chain(client, place, Order(order="o-1"))
        assert not started.deduplicated
        assert (started.type_name, started.status, started.input) == (place.name, "pending", {"order": "o-1"})
        job = await client.get_job(started.id)
        assert job is not None
        assert (job.chain_id, job.chain_index, job.attempt, job.chain_type_name) == (started.id, 0, 0, place.name)
        assert [e["type"] for e in s.logs] == ["chain_created", "job_created"]

    async def test_start_chain_with_deduplication_blockers_schedule_and_id(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        key = DeduplicationOptions(key="o-2")
        first = await s.start_chain(client, place, Order(order="o-2"), deduplication=key)
        again = await s.start_chain(client, place, Order(order="o-2"), deduplication=key)
        assert again.deduplicated
        assert again.id == first.id
        blocked = await s.start_chain(client, summary, Order(order="sum"), blockers=[first])
        assert blocked.status == "blocked"
        later = await s.start_chain(client, refund, Order(order="r"), schedule=ScheduleAfter(60_000))
        job = await client.get_job(later.id)
        assert job is not None
        assert job.scheduled_at - job.created_at >= timedelta(seconds=59)
        chosen = s.generate_id()
        own_id = await s.start_chain(client, refund, Order(order="mine"), id=chosen)
        assert own_id.id == chosen

    async def test_start_chain_requires_a_transaction(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        with pytest.raises(TransactionContextRequiredError):
            await client.start_chain(tx_ctx=None, transaction_hooks=None, job_type=place, input=Order(order="x"))  # type: ignore[call-overload]
        with pytest.raises(TransactionContextRequiredError):
            await client.start_chains(tx_ctx=None, transaction_hooks=None, items=[])  # type: ignore[arg-type]
        assert (await client.list_chains()).items == []

    async def test_start_chains_in_one_batch(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        assert await s.start_chains(client, []) == []
        ids = [s.generate_id(), s.generate_id()]
        started = await s.start_chains(
            client,
            [
                StartChainItem(job_type=place, input=Order(order="a"), id=ids[0]),
                StartChainItem(job_type=refund, input=Order(order="b"), id=ids[1]),
                StartChainItem(job_type=place, input=Order(order="c"), deduplication=DeduplicationOptions(key="k")),
                StartChainItem(job_type=place, input=Order(order="d"), deduplication=DeduplicationOptions(key="k")),
                StartChainItem(job_type=refund, input=Order(order="e"), schedule=ScheduleAfter(60_000)),
            ],
        )
        assert [c.id for c in started[:2]] == ids
        assert [c.type_name for c in started] == [place.name, refund.name, place.name, place.name, refund.name]
        assert [c.deduplicated for c in started] == [False, False, False, True, False]
        assert started[3].id == started[2].id
        scheduled = await client.get_job(started[4].id)
        assert scheduled is not None
        assert scheduled.scheduled_at - scheduled.created_at >= timedelta(seconds=59)
        assert len(s.entries("chain_created")) == 4

    async def test_start_chains_mixes_blocked_and_unblocked_chains(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        done = await s.start_chain(client, place, Order(order="done"))
        open_ = await s.start_chain(client, place, Order(order="open"))
        await s.start_worker(client, [Processor(job_type=place, attempt_handler=_one)])
        await s.await_chain(client, done)
        await s.await_chain(client, open_)
        await s.stop_workers()
        fresh = await s.start_chain(client, place, Order(order="fresh"))
        started = await s.start_chains(
            client,
            [
                StartChainItem(job_type=summary, input=Order(order="ready"), blockers=[done, open_]),
                StartChainItem(job_type=summary, input=Order(order="waiting"), blockers=[done, fresh]),
            ],
        )
        assert [c.status for c in started] == ["pending", "blocked"]
        assert len(s.entries("job_blocked")) == 1

    async def test_workers_process_every_batch_created_chain(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)

        async def start(tx_ctx: Any, hooks: Any) -> Any:
            blockers = await client.start_chains(
                tx_ctx=tx_ctx,
                transaction_hooks=hooks,
                items=[StartChainItem(job_type=place, input=Order(order=str(n))) for n in range(4)],
            )
            totals = await client.start_chains(
                tx_ctx=tx_ctx,
                transaction_hooks=hooks,
                items=[
                    StartChainItem(job_type=summary, input=Order(order="first"), blockers=blockers[:2]),
                    StartChainItem(job_type=summary, input=Order(order="all"), blockers=blockers),
                ],
            )
            return blockers, totals

        blockers, totals = await s.tx(start)
        await s.start_worker(
            client,
            [Processor(job_type=place, attempt_handler=_one), Processor(job_type=summary, attempt_handler=_sum)],
            concurrency=2,
        )
        assert [(await s.await_chain(client, c)).output for c in totals] == [{"total": 2}, {"total": 4}]
        assert [(await s.await_chain(client, c)).status for c in blockers] == ["completed"] * 4
