"""Suite "blocker chains": jobs that wait for other chains to complete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from ..._client import StartChainItem
from ..._job_types import EntryJobType, JobType, NoOutput, Rest, Slot, define_job_types
from ..._worker._processors import Processor
from ._base import IntegrationSuite, SuiteContext, continue_to, finish_with

if TYPE_CHECKING:
    from ..._completion import CompleteContext, ContinuationJob
    from ..._worker._context import AttemptContext, AttemptResult

__all__ = ("BlockerChainsSuite",)


class Value(TypedDict):
    value: int


class Total(TypedDict):
    total: int


# A blocker chain of several jobs: counts up to `value` through continuations.
counter = EntryJobType[Value, Total]("blockers.counter", continue_with="blockers.counter_step")
counter_step = JobType[Value, Total]("blockers.counter_step", continue_with="blockers.counter_step")
# Waits for exactly one counter chain.
one = EntryJobType[Value, Total]("blockers.one", blockers=[Slot(counter)])
# Waits for any number of counter chains.
many = EntryJobType[Value, Total]("blockers.many", blockers=[Rest(counter)])
# Continues with a job that has blockers.
router = EntryJobType[Value, NoOutput, Total]("blockers.router", continue_with="blockers.gathered")
gathered = JobType[Value, Total]("blockers.gathered", blockers=[Rest(counter)])
# Spawns an independent chain while it runs.
spawner = EntryJobType[Value, Total]("blockers.spawner", blockers=[Slot(counter)])
free = EntryJobType[Value, Total]("blockers.free")
JOB_TYPES = define_job_types(counter, counter_step, one, many, router, gathered, spawner, free)


async def _count(ctx: AttemptContext[object, Value, Total]) -> AttemptResult[Value, Total]:
    value = ctx.job.input["value"]
    if value > 0:
        return await continue_to(ctx, counter_step, Value(value=value - 1))
    return await finish_with(ctx, Total(total=ctx.job.chain_index))


async def _sum_blockers(ctx: AttemptContext[object, Value, Total]) -> AttemptResult[Value, Total]:
    total = sum(chain.output["total"] for chain in ctx.job.blockers) + ctx.job.input["value"]
    return await finish_with(ctx, Total(total=total))


def _counter_processors() -> list[Processor[object, Value, Total]]:
    return [
        Processor(job_type=counter, attempt_handler=_count),
        Processor(job_type=counter_step, attempt_handler=_count),
    ]


class BlockerChainsSuite(IntegrationSuite):
    """Blockers: waiting, ordering, batches, continuations and several workers."""

    async def test_handles_long_blocker_chains(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        await s.start_worker(client, [*_counter_processors(), Processor(job_type=one, attempt_handler=_sum_blockers)])
        blocker = await s.start_chain(client, counter, Value(value=6))
        main = await s.start_chain(client, one, Value(value=100), blockers=[blocker])
        assert main.status == "blocked"
        assert (await s.await_chain(client, main)).output == {"total": 106}
        assert len((await client.list_chain_jobs(blocker.id)).items) == 7

    async def test_handles_completed_blocker_chains(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        await s.start_worker(client, [*_counter_processors(), Processor(job_type=one, attempt_handler=_sum_blockers)])
        blocker = await s.start_chain(client, counter, Value(value=0))
        await s.await_chain(client, blocker)
        main = await s.start_chain(client, one, Value(value=1), blockers=[blocker])
        assert main.status == "pending"
        assert (await s.await_chain(client, main)).output == {"total": 1}
        assert not s.entries("job_blocked")

    async def test_independent_chains_spawned_while_processing_do_not_inherit_blockers(
        self, queuert_suite: SuiteContext
    ) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        spawned: list[str] = []

        async def spawn(ctx: AttemptContext[object, Value, Total]) -> AttemptResult[Value, Total]:
            async def finish(complete: CompleteContext[object]) -> Total:
                started = await client.start_chain(
                    tx_ctx=complete.tx_ctx,
                    transaction_hooks=complete.transaction_hooks,
                    job_type=free,
                    input=Value(value=5),
                )
                spawned.append(started.id)
                return Total(total=0)

            return await ctx.complete(finish)

        await s.start_worker(
            client,
            [
                *_counter_processors(),
                Processor(job_type=spawner, attempt_handler=spawn),
                Processor(job_type=free, attempt_handler=_sum_blockers),
            ],
        )
        blocker = await s.start_chain(client, counter, Value(value=1))
        parent = await s.start_chain(client, spawner, Value(value=0), blockers=[blocker])
        await s.await_chain(client, parent)
        [child] = spawned
        assert (await s.await_chain(client, child)).output == {"total": 5}
        assert await client.get_job_blockers(child) == []
        assert [c.id for c in await client.get_job_blockers(parent.id)] == [blocker.id]

    async def test_handles_chains_distributed_across_workers(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        self.require_concurrency()
        client = await s.create_client(JOB_TYPES)
        counting = await s.start_worker(client, _counter_processors(), worker_name="counting")
        summing = await s.start_worker(
            client, [Processor(job_type=one, attempt_handler=_sum_blockers)], worker_name="summing"
        )
        blocker = await s.start_chain(client, counter, Value(value=2))
        main = await s.start_chain(client, one, Value(value=10), blockers=[blocker])
        assert (await s.await_chain(client, main)).output == {"total": 12}
        blocker_jobs = (await client.list_chain_jobs(blocker.id)).items
        assert {getattr(job, "completed_by", None) for job in blocker_jobs} == {counting.worker_id}
        main_job = await client.get_job(main.id)
        assert main_job is not None
        assert getattr(main_job, "completed_by", None) == summing.worker_id

    async def test_handles_multiple_blocker_chains(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        order: list[list[int]] = []

        async def gather(ctx: AttemptContext[object, Value, Total]) -> AttemptResult[Value, Total]:
            order.append([chain.input["value"] for chain in ctx.job.blockers])
            return await _sum_blockers(ctx)

        await s.start_worker(client, [*_counter_processors(), Processor(job_type=many, attempt_handler=gather)])
        blockers = [await s.start_chain(client, counter, Value(value=n)) for n in (3, 1, 2)]
        main = await s.start_chain(client, many, Value(value=0), blockers=blockers)
        assert (await s.await_chain(client, main)).output == {"total": 6}
        assert order == [[3, 1, 2]]
        assert [c.id for c in await client.get_job_blockers(main.id)] == [b.id for b in blockers]

    async def test_continue_with_supports_blockers(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        blocker_ids: list[str] = []

        async def route(ctx: AttemptContext[object, Value, NoOutput]) -> AttemptResult[Value, NoOutput]:
            async def hand_off(complete: CompleteContext[object]) -> ContinuationJob[Value]:
                blocker = await client.start_chain(
                    tx_ctx=complete.tx_ctx,
                    transaction_hooks=complete.transaction_hooks,
                    job_type=counter,
                    input=Value(value=2),
                )
                blocker_ids.append(blocker.id)
                continuation = await complete.continue_with(gathered, input=Value(value=1), blockers=[blocker])
                assert continuation.job.status == "blocked"
                return continuation

            return await ctx.complete(hand_off)

        await s.start_worker(
            client,
            [
                *_counter_processors(),
                Processor(job_type=router, attempt_handler=route),
                Processor(job_type=gathered, attempt_handler=_sum_blockers),
            ],
        )
        main = await s.start_chain(client, router, Value(value=0))
        assert (await s.await_chain(client, main)).output == {"total": 3}
        jobs = (await client.list_chain_jobs(main.id)).items
        assert [c.id for c in await client.get_job_blockers(jobs[1].id)] == blocker_ids
        assert len(s.entries("job_blocked")) == 1
        assert len(s.entries("job_unblocked")) == 1

    async def test_batch_creates_multiple_blocker_chains(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        await s.start_worker(client, [*_counter_processors(), Processor(job_type=many, attempt_handler=_sum_blockers)])

        async def start(tx_ctx: Any, hooks: Any) -> Any:
            blockers = await client.start_chains(
                tx_ctx=tx_ctx,
                transaction_hooks=hooks,
                items=[StartChainItem(job_type=counter, input=Value(value=n)) for n in (1, 2, 3)],
            )
            return await client.start_chain(
                tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=many, input=Value(value=4), blockers=blockers
            )

        main = await s.tx(start)
        assert main.status == "blocked"
        assert (await s.await_chain(client, main)).output == {"total": 10}

    async def test_batch_creates_chains_with_a_shared_blocker(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        blocker = await s.start_chain(client, counter, Value(value=2))
        mains = await s.start_chains(
            client,
            [StartChainItem(job_type=one, input=Value(value=n), blockers=[blocker]) for n in (10, 20)],
        )
        assert [m.status for m in mains] == ["blocked", "blocked"]
        # Only now: a worker running earlier could finish the blocker before the dependents exist.
        await s.start_worker(client, [*_counter_processors(), Processor(job_type=one, attempt_handler=_sum_blockers)])
        outputs = [(await s.await_chain(client, m)).output for m in mains]
        assert outputs == [{"total": 12}, {"total": 22}]
        assert len((await client.list_blocked_jobs(blocker.id)).items) == 2

    async def test_raises_scheduled_at_to_the_unblock_time(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        blocker = await s.start_chain(client, counter, Value(value=0))
        main = await s.start_chain(client, one, Value(value=0), blockers=[blocker])
        created = await client.get_job(main.id)
        assert created is not None
        # Let the clock move on, so that the unblock time is measurably later than creation.
        await s.wait_until(lambda: _later_than(created.created_at))
        await s.start_worker(client, [*_counter_processors(), Processor(job_type=one, attempt_handler=_sum_blockers)])
        await s.await_chain(client, main)
        blocker_job = await client.get_job(blocker.id)
        main_job = await client.get_job(main.id)
        assert blocker_job is not None
        assert main_job is not None
        completed_at = getattr(blocker_job, "completed_at", None)
        assert completed_at is not None
        # A job blocked since creation queues from when it was released, not from its creation.
        assert main_job.scheduled_at >= completed_at
        assert main_job.scheduled_at > main_job.created_at


def _later_than(moment: datetime) -> bool:
    return datetime.now(UTC) - moment > timedelta(milliseconds=20)
