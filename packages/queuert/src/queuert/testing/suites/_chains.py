"""Suite "chains": continuations, branches, loops, go-to, chain types and caller-supplied ids."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

import pytest

from ..._job_types import EntryJobType, JobType, NoOutput, define_job_types
from ..._worker._processors import Processor
from ._base import IntegrationSuite, SuiteContext, continue_to, finish_with

if TYPE_CHECKING:
    from ..._completion import CompleteContext
    from ..._worker._context import AttemptContext, AttemptResult

__all__ = ("ChainsSuite",)


class Step(TypedDict):
    value: int


class Text(TypedDict):
    text: str


class Result(TypedDict):
    trail: list[str]


# a -> b -> c
seq_a = EntryJobType[Step, NoOutput, Result]("chains.seq_a", continue_with="chains.seq_b")
seq_b = JobType[Step, NoOutput]("chains.seq_b", continue_with="chains.seq_c")
seq_c = JobType[Step, Result]("chains.seq_c")
# router -> even | odd (different inputs)
router = EntryJobType[Step, NoOutput, Result]("chains.router", continue_with=["chains.even", "chains.odd"])
even = JobType[Step, Result]("chains.even")
odd = JobType[Text, Result]("chains.odd")
# loop: a type that continues with itself
loop = EntryJobType[Step, Result]("chains.loop", continue_with="chains.loop")
# go-to: start -> work -> start ... -> done
goto_start = EntryJobType[Step, NoOutput, Result](
    "chains.goto_start", continue_with=["chains.goto_work", "chains.goto_done"]
)
goto_work = JobType[Step, NoOutput]("chains.goto_work", continue_with="chains.goto_start")
goto_done = JobType[Step, Result]("chains.goto_done")
# one shared type reachable from two entry types
entry_one = EntryJobType[Step, NoOutput, Result]("chains.entry_one", continue_with="chains.shared")
entry_two = EntryJobType[Step, NoOutput, Result]("chains.entry_two", continue_with="chains.shared")
shared = JobType[Step, Result]("chains.shared")
# spawning an independent chain while processing
spawner = EntryJobType[Step, Result]("chains.spawner")
spawned = EntryJobType[Step, Result]("chains.spawned")
# caller-supplied continuation ids
with_id = EntryJobType[Step, NoOutput, Result]("chains.with_id", continue_with="chains.with_id_next")
with_id_next = JobType[Step, Result]("chains.with_id_next")

JOB_TYPES = define_job_types(
    seq_a, seq_b, seq_c, router, even, odd, loop, goto_start, goto_work, goto_done,
    entry_one, entry_two, shared, spawner, spawned, with_id, with_id_next,
)  # fmt: skip


async def _trail(ctx: AttemptContext[object, Any, Any], s: SuiteContext) -> list[str]:
    jobs = await s.state_adapter.list_chain_jobs(ctx.job.chain_id)
    return [job.type_name.removeprefix("chains.") for job in jobs.items]


class ChainsSuite(IntegrationSuite):
    """Multi-job chains built with `continue_with`."""

    async def test_handles_chained_jobs(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)

        async def a(ctx: AttemptContext[object, Step, NoOutput]) -> AttemptResult[Step, NoOutput]:
            return await continue_to(ctx, seq_b, Step(value=ctx.job.input["value"] + 1))

        async def b(ctx: AttemptContext[object, Step, NoOutput]) -> AttemptResult[Step, NoOutput]:
            return await continue_to(ctx, seq_c, Step(value=ctx.job.input["value"] + 1))

        async def c(ctx: AttemptContext[object, Step, Result]) -> AttemptResult[Step, Result]:
            trail = await _trail(ctx, s)
            return await finish_with(ctx, Result(trail=[*trail, str(ctx.job.input["value"])]))

        await s.start_worker(
            client,
            [
                Processor(job_type=seq_a, attempt_handler=a),
                Processor(job_type=seq_b, attempt_handler=b),
                Processor(job_type=seq_c, attempt_handler=c),
            ],
        )
        chain = await s.start_chain(client, seq_a, Step(value=1))
        done = await s.await_chain(client, chain)
        assert done.output == {"trail": ["seq_a", "seq_b", "seq_c", "3"]}
        jobs = (await client.list_chain_jobs(chain.id)).items
        assert [job.chain_index for job in jobs] == [0, 1, 2]
        assert {job.chain_id for job in jobs} == {chain.id}
        assert [job.status for job in jobs] == ["completed"] * 3
        assert [getattr(job, "output", "?") for job in jobs] == [
            None,
            None,
            {"trail": ["seq_a", "seq_b", "seq_c", "3"]},
        ]

    async def test_handles_branched_chains(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)

        async def route(ctx: AttemptContext[object, Step, NoOutput]) -> AttemptResult[Step, NoOutput]:
            value = ctx.job.input["value"]
            if value % 2 == 0:
                return await continue_to(ctx, even, Step(value=value))
            return await continue_to(ctx, odd, Text(text=f"odd {value}"))

        async def on_even(ctx: AttemptContext[object, Step, Result]) -> AttemptResult[Step, Result]:
            return await finish_with(ctx, Result(trail=[f"even {ctx.job.input['value']}"]))

        async def on_odd(ctx: AttemptContext[object, Text, Result]) -> AttemptResult[Text, Result]:
            return await finish_with(ctx, Result(trail=[ctx.job.input["text"]]))

        await s.start_worker(
            client,
            [
                Processor(job_type=router, attempt_handler=route),
                Processor(job_type=even, attempt_handler=on_even),
                Processor(job_type=odd, attempt_handler=on_odd),
            ],
        )
        two = await s.start_chain(client, router, Step(value=2))
        three = await s.start_chain(client, router, Step(value=3))
        assert (await s.await_chain(client, two)).output == {"trail": ["even 2"]}
        assert (await s.await_chain(client, three)).output == {"trail": ["odd 3"]}
        assert [j.type_name for j in (await client.list_chain_jobs(two.id)).items] == [router.name, even.name]
        odd_jobs = (await client.list_chain_jobs(three.id)).items
        assert [j.type_name for j in odd_jobs] == [router.name, odd.name]
        assert odd_jobs[1].input == {"text": "odd 3"}

    async def test_handles_loops(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)

        async def count(ctx: AttemptContext[object, Step, Result]) -> AttemptResult[Step, Result]:
            value = ctx.job.input["value"]
            if value < 4:
                return await continue_to(ctx, loop, Step(value=value + 1))
            return await finish_with(ctx, Result(trail=await _trail(ctx, s)))

        await s.start_worker(client, [Processor(job_type=loop, attempt_handler=count)])
        chain = await s.start_chain(client, loop, Step(value=0))
        done = await s.await_chain(client, chain)
        assert done.output == {"trail": ["loop"] * 5}

    async def test_handles_go_to(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)

        async def start(ctx: AttemptContext[object, Step, NoOutput]) -> AttemptResult[Step, NoOutput]:
            value = ctx.job.input["value"]
            target = goto_done if value >= 2 else goto_work
            return await continue_to(ctx, target, Step(value=value))

        async def work(ctx: AttemptContext[object, Step, NoOutput]) -> AttemptResult[Step, NoOutput]:
            return await continue_to(ctx, goto_start, Step(value=ctx.job.input["value"] + 1))

        async def done_(ctx: AttemptContext[object, Step, Result]) -> AttemptResult[Step, Result]:
            return await finish_with(ctx, Result(trail=await _trail(ctx, s)))

        await s.start_worker(
            client,
            [
                Processor(job_type=goto_start, attempt_handler=start),
                Processor(job_type=goto_work, attempt_handler=work),
                Processor(job_type=goto_done, attempt_handler=done_),
            ],
        )
        chain = await s.start_chain(client, goto_start, Step(value=0))
        done = await s.await_chain(client, chain)
        assert done.output == {
            "trail": ["goto_start", "goto_work", "goto_start", "goto_work", "goto_start", "goto_done"]
        }

    async def test_records_the_chain_type_of_jobs_reachable_from_several_chains(
        self, queuert_suite: SuiteContext
    ) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        seen: list[tuple[str, str]] = []

        async def enter(ctx: AttemptContext[object, Step, NoOutput]) -> AttemptResult[Step, NoOutput]:
            return await continue_to(ctx, shared, ctx.job.input)

        async def on_shared(ctx: AttemptContext[object, Step, Result]) -> AttemptResult[Step, Result]:
            seen.append((ctx.job.chain_type_name, ctx.job.chain_id))
            return await finish_with(ctx, Result(trail=[ctx.job.chain_type_name]))

        await s.start_worker(
            client,
            [
                Processor(job_type=entry_one, attempt_handler=enter),
                Processor(job_type=entry_two, attempt_handler=enter),
                Processor(job_type=shared, attempt_handler=on_shared),
            ],
        )
        one = await s.start_chain(client, entry_one, Step(value=1))
        two = await s.start_chain(client, entry_two, Step(value=2))
        assert (await s.await_chain(client, one)).output == {"trail": [entry_one.name]}
        assert (await s.await_chain(client, two)).output == {"trail": [entry_two.name]}
        assert sorted(seen) == sorted([(entry_one.name, one.id), (entry_two.name, two.id)])
        shared_jobs = (await client.list_jobs()).items
        assert {(j.type_name, j.chain_type_name) for j in shared_jobs if j.type_name == shared.name} == {
            (shared.name, entry_one.name),
            (shared.name, entry_two.name),
        }

    async def test_independent_chains_created_while_processing_do_not_inherit_context(
        self, queuert_suite: SuiteContext
    ) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        spawned_ids: list[str] = []

        async def spawn(ctx: AttemptContext[object, Step, Result]) -> AttemptResult[Step, Result]:
            async def finish(complete: CompleteContext[object]) -> Result:
                started = await client.start_chain(
                    tx_ctx=complete.tx_ctx,
                    transaction_hooks=complete.transaction_hooks,
                    job_type=spawned,
                    input=Step(value=ctx.job.input["value"] * 10),
                )
                spawned_ids.append(started.id)
                return Result(trail=["spawner"])

            return await ctx.complete(finish)

        async def on_spawned(ctx: AttemptContext[object, Step, Result]) -> AttemptResult[Step, Result]:
            return await finish_with(ctx, Result(trail=[str(ctx.job.input["value"])]))

        await s.start_worker(
            client,
            [
                Processor(job_type=spawner, attempt_handler=spawn),
                Processor(job_type=spawned, attempt_handler=on_spawned),
            ],
        )
        parent = await s.start_chain(client, spawner, Step(value=7))
        await s.await_chain(client, parent)
        [child_id] = spawned_ids
        child = await s.await_chain(client, child_id)
        assert child.output == {"trail": ["70"]}
        child_row = await s.state_adapter.get_job(child_id)
        assert child_row is not None
        assert child_row.chain_id == child_id
        assert child_row.chain_index == 0
        assert child_row.chain_type_name == spawned.name
        assert await client.get_job_blockers(child_id) == []
        assert [j.id for j in (await client.list_chain_jobs(parent.id)).items] == [parent.id]

    async def test_continue_with_accepts_a_caller_supplied_id(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        next_id = s.generate_id()

        async def start(ctx: AttemptContext[object, Step, NoOutput]) -> AttemptResult[Step, NoOutput]:
            return await continue_to(ctx, with_id_next, ctx.job.input, id=next_id)

        async def end(ctx: AttemptContext[object, Step, Result]) -> AttemptResult[Step, Result]:
            return await finish_with(ctx, Result(trail=[ctx.job.id]))

        await s.start_worker(
            client,
            [Processor(job_type=with_id, attempt_handler=start), Processor(job_type=with_id_next, attempt_handler=end)],
        )
        chain = await s.start_chain(client, with_id, Step(value=1))
        assert (await s.await_chain(client, chain)).output == {"trail": [next_id]}
        job = await client.get_job(next_id)
        assert job is not None
        assert job.chain_id == chain.id

    async def test_continue_with_rejects_a_caller_supplied_id_that_fails_validation(
        self, queuert_suite: SuiteContext
    ) -> None:
        s = queuert_suite
        invalid = s.invalid_id
        if invalid is None:
            pytest.skip("the adapters under test declare no invalid_id")
        client = await s.create_client(JOB_TYPES)
        valid_id = s.generate_id()

        async def start(ctx: AttemptContext[object, Step, NoOutput]) -> AttemptResult[Step, NoOutput]:
            chosen = invalid if ctx.job.attempt == 1 else valid_id
            return await continue_to(ctx, with_id_next, ctx.job.input, id=chosen)

        async def end(ctx: AttemptContext[object, Step, Result]) -> AttemptResult[Step, Result]:
            return await finish_with(ctx, Result(trail=[ctx.job.id]))

        await s.start_worker(
            client,
            [Processor(job_type=with_id, attempt_handler=start), Processor(job_type=with_id_next, attempt_handler=end)],
        )
        chain = await s.start_chain(client, with_id, Step(value=1))
        assert (await s.await_chain(client, chain)).output == {"trail": [valid_id]}
        [failed] = s.entries("job_attempt_failed")
        assert "InvalidJobIdError" in repr(failed.get("error"))
        assert len((await client.list_chain_jobs(chain.id)).items) == 2
