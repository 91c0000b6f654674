"""Suite "process error handling": where an attempt fails, what is rolled back, what is stored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

import pytest

from ..._entities import ScheduleAfter
from ..._job_types import EntryJobType, JobType, NoOutput, Slot, define_job_types
from ..._worker._processors import Processor, create_processors
from ...errors import QueuertError, reschedule_job
from .._process import process_one
from ._base import IntegrationSuite, SuiteContext, continue_to, finish_with

if TYPE_CHECKING:
    from ..._completion import CompleteContext
    from ..._worker._context import AttemptContext, AttemptResult, PrepareContext, PrepareMode

__all__ = ("ProcessErrorHandlingSuite",)


class StepIn(TypedDict):
    name: str


class StepOut(TypedDict):
    done: bool


step = EntryJobType[StepIn, StepOut]("errors.step")
side = EntryJobType[StepIn, StepOut]("errors.side")
first = EntryJobType[StepIn, NoOutput, StepOut]("errors.first", continue_with="errors.second")
second = JobType[StepIn, StepOut]("errors.second")
blocker = EntryJobType[StepIn, StepOut]("errors.blocker")
dependent = EntryJobType[StepIn, StepOut]("errors.dependent", blockers=[Slot("errors.blocker")])
JOB_TYPES = define_job_types(step, side, first, second, blocker, dependent)

MODES = pytest.mark.parametrize("mode", ["atomic", "staged"])


class _Boom(Exception):
    pass


class _DetailedError(QueuertError):
    """A failure with attributes."""

    def __init__(self, *, code: int, hint: str) -> None:
        super().__init__(f"detailed failure {code}", code=code, hint=hint)


class ProcessErrorHandlingSuite(IntegrationSuite):
    """Failures at every point of an attempt, in both modes."""

    async def _side_chain(self, client: Any, prepare_or_complete: Any, name: str) -> None:
        await client.start_chain(
            tx_ctx=prepare_or_complete.tx_ctx,
            transaction_hooks=prepare_or_complete.transaction_hooks,
            job_type=side,
            input=StepIn(name=name),
        )

    async def _side_chains(self, client: Any) -> list[str]:
        page = await client.list_chains()
        return sorted(chain.input["name"] for chain in page.items if chain.type_name == side.name)

    async def _run_until_done(self, s: SuiteContext, client: Any, handler: Any) -> Any:
        await s.start_worker(client, [Processor(job_type=step, attempt_handler=handler)])
        chain = await s.start_chain(client, step, StepIn(name="main"))
        return await s.await_chain(client, chain)

    @MODES
    async def test_reschedules_when_the_prepare_callback_throws(
        self, queuert_suite: SuiteContext, mode: PrepareMode
    ) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)

        async def handle(ctx: AttemptContext[object, StepIn, StepOut]) -> AttemptResult[StepIn, StepOut]:
            attempt = ctx.job.attempt

            async def load(prepare: PrepareContext[object]) -> None:
                await self._side_chain(client, prepare, f"prepare {attempt}")
                if attempt == 1:
                    raise _Boom("prepare failed")

            await ctx.prepare(mode, load)
            return await finish_with(ctx, StepOut(done=True))

        done = await self._run_until_done(s, client, handle)
        assert done.output == {"done": True}
        # The failing callback's writes were rolled back with its savepoint, in both modes.
        assert await self._side_chains(client) == ["prepare 2"]
        assert len(s.entries("job_attempt_failed")) == 1

    @MODES
    async def test_reschedules_when_the_handler_throws_between_prepare_and_complete(
        self, queuert_suite: SuiteContext, mode: PrepareMode
    ) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)

        async def handle(ctx: AttemptContext[object, StepIn, StepOut]) -> AttemptResult[StepIn, StepOut]:
            attempt = ctx.job.attempt

            async def load(prepare: PrepareContext[object]) -> None:
                await self._side_chain(client, prepare, f"prepare {attempt}")

            await ctx.prepare(mode, load)
            if attempt == 1:
                raise _Boom("between prepare and complete")
            return await finish_with(ctx, StepOut(done=True))

        await self._run_until_done(s, client, handle)
        # Atomic: everything the failed attempt wrote is rolled back (binding decision 6).
        # Staged: prepare committed before the failure, so its writes stay.
        expected = ["prepare 1", "prepare 2"] if mode == "staged" else ["prepare 2"]
        assert await self._side_chains(client) == expected

    @MODES
    async def test_reschedules_when_the_complete_callback_throws(
        self, queuert_suite: SuiteContext, mode: PrepareMode
    ) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)

        async def handle(ctx: AttemptContext[object, StepIn, StepOut]) -> AttemptResult[StepIn, StepOut]:
            attempt = ctx.job.attempt
            await ctx.prepare(mode)

            async def finish(complete: CompleteContext[object]) -> StepOut:
                await self._side_chain(client, complete, f"complete {attempt}")
                if attempt == 1:
                    raise _Boom("complete failed")
                return StepOut(done=True)

            return await ctx.complete(finish)

        await self._run_until_done(s, client, handle)
        assert await self._side_chains(client) == ["complete 2"]
        job_completed = s.entries("job_completed")
        assert len([e for e in job_completed if e["data"]["type_name"] == step.name]) == 1

    @MODES
    async def test_reschedules_when_the_handler_throws_after_complete(
        self, queuert_suite: SuiteContext, mode: PrepareMode
    ) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        states_after_complete: list[str] = []

        async def handle(ctx: AttemptContext[object, StepIn, StepOut]) -> AttemptResult[StepIn, StepOut]:
            attempt = ctx.job.attempt
            await ctx.prepare(mode)

            async def finish(complete: CompleteContext[object]) -> StepOut:
                await self._side_chain(client, complete, f"complete {attempt}")
                return StepOut(done=True)

            result = await ctx.complete(finish)
            states_after_complete.append(result.status)
            if attempt == 1:
                raise _Boom("after complete")
            return result

        done = await self._run_until_done(s, client, handle)
        assert done.output == {"done": True}
        assert states_after_complete == ["completed", "completed"]
        # The first completion and everything in it was rolled back, events included.
        assert await self._side_chains(client) == ["complete 2"]
        completed_events = [e for e in s.entries("job_completed") if e["data"]["type_name"] == step.name]
        assert len(completed_events) == 1
        assert len([e for e in s.entries("chain_completed") if e["data"]["type_name"] == step.name]) == 1
        job = await client.get_job(done.id)
        assert job is not None
        assert job.attempt == 2

    @MODES
    async def test_recovers_when_user_code_poisons_the_transaction_in_prepare(
        self, queuert_suite: SuiteContext, mode: PrepareMode
    ) -> None:
        s = queuert_suite
        poison = s.poison_transaction
        if poison is None:
            pytest.skip("the adapters under test have no poison_transaction")
        client = await s.create_client(JOB_TYPES)

        async def handle(ctx: AttemptContext[object, StepIn, StepOut]) -> AttemptResult[StepIn, StepOut]:
            attempt = ctx.job.attempt

            async def load(prepare: PrepareContext[object]) -> None:
                if attempt == 1:
                    await poison(prepare.tx_ctx)

            await ctx.prepare(mode, load)
            return await finish_with(ctx, StepOut(done=True))

        done = await self._run_until_done(s, client, handle)
        assert done.output == {"done": True}

    @MODES
    async def test_recovers_when_user_code_poisons_the_transaction_in_complete(
        self, queuert_suite: SuiteContext, mode: PrepareMode
    ) -> None:
        s = queuert_suite
        poison = s.poison_transaction
        if poison is None:
            pytest.skip("the adapters under test have no poison_transaction")
        client = await s.create_client(JOB_TYPES)

        async def handle(ctx: AttemptContext[object, StepIn, StepOut]) -> AttemptResult[StepIn, StepOut]:
            attempt = ctx.job.attempt
            await ctx.prepare(mode)

            async def finish(complete: CompleteContext[object]) -> StepOut:
                if attempt == 1:
                    await poison(complete.tx_ctx)
                return StepOut(done=True)

            return await ctx.complete(finish)

        done = await self._run_until_done(s, client, handle)
        assert done.output == {"done": True}

    @MODES
    async def test_rolls_back_the_continuation_when_the_handler_throws_after_complete(
        self, queuert_suite: SuiteContext, mode: PrepareMode
    ) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain_lengths: list[int] = []

        async def handle_first(ctx: AttemptContext[object, StepIn, NoOutput]) -> AttemptResult[StepIn, NoOutput]:
            await ctx.prepare(mode)
            result = await continue_to(ctx, second, StepIn(name="next"))
            if ctx.job.attempt == 1:
                raise _Boom("after continue_with")
            return result

        async def handle_second(ctx: AttemptContext[object, StepIn, StepOut]) -> AttemptResult[StepIn, StepOut]:
            page = await client.list_chain_jobs(ctx.job.chain_id)
            chain_lengths.append(len(page.items))
            return await finish_with(ctx, StepOut(done=True))

        await s.start_worker(
            client,
            [
                Processor(job_type=first, attempt_handler=handle_first),
                Processor(job_type=second, attempt_handler=handle_second),
            ],
        )
        chain = await s.start_chain(client, first, StepIn(name="start"))
        await s.await_chain(client, chain)
        jobs = (await client.list_chain_jobs(chain.id)).items
        assert [job.type_name for job in jobs] == [first.name, second.name]
        assert jobs[0].attempt == 2
        assert jobs[1].attempt == 1
        assert chain_lengths == [2]

    async def test_a_blocked_job_stays_blocked_when_the_blockers_handler_throws_after_complete(
        self, queuert_suite: SuiteContext
    ) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)

        async def handle_blocker(ctx: AttemptContext[object, StepIn, StepOut]) -> AttemptResult[StepIn, StepOut]:
            result = await finish_with(ctx, StepOut(done=True))
            if ctx.job.attempt == 1:
                raise _Boom("after completing the blocker")
            return result

        async def handle_dependent(ctx: AttemptContext[object, StepIn, StepOut]) -> AttemptResult[StepIn, StepOut]:
            return await finish_with(ctx, StepOut(done=ctx.job.blockers[0].output["done"]))

        processors = create_processors(
            client=client,
            processors=[
                Processor(job_type=blocker, attempt_handler=handle_blocker),
                Processor(job_type=dependent, attempt_handler=handle_dependent),
            ],
        )
        blocking = await s.start_chain(client, blocker, StepIn(name="blocker"))
        waiting = await s.start_chain(client, dependent, StepIn(name="dependent"), blockers=[blocking])
        assert waiting.status == "blocked"
        outcome = await process_one(client, processors)
        assert outcome is not None
        assert outcome.status == "rescheduled"
        still = await client.get_chain(waiting.id)
        assert still is not None
        assert still.status == "blocked"
        assert not list(s.entries("job_unblocked"))
        # Now let the blocker succeed.
        await s.tx(lambda tx_ctx, hooks: client.trigger_job(tx_ctx=tx_ctx, transaction_hooks=hooks, id=blocking.id))
        await s.start_worker(client, slices=[processors])
        done = await s.await_chain(client, waiting)
        assert done.output == {"done": True}

    async def test_serializes_various_error_types_into_last_attempt_error(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        failures: list[BaseException | None] = [
            ValueError("plain message"),
            _DetailedError(code=42, hint="retry later"),
            None,  # reschedule_job without a cause
            RuntimeError("x" * 20_000),
        ]

        async def handle(ctx: AttemptContext[object, StepIn, StepOut]) -> AttemptResult[StepIn, StepOut]:
            failure = failures[ctx.job.attempt - 1]
            if failure is None:
                reschedule_job(ScheduleAfter(0))
            raise failure

        processors = create_processors(client=client, processors=[Processor(job_type=step, attempt_handler=handle)])
        chain = await s.start_chain(client, step, StepIn(name="failing"))
        stored: list[str] = []
        for _ in failures:
            outcome = await process_one(client, processors)
            assert outcome is not None
            assert outcome.status == "rescheduled"
            job = await client.get_job(chain.id)
            assert job is not None
            assert job.last_attempt_error is not None
            stored.append(job.last_attempt_error)
            await s.tx(lambda tx_ctx, hooks: client.trigger_job(tx_ctx=tx_ctx, transaction_hooks=hooks, id=chain.id))
        assert "ValueError: plain message" in stored[0]
        assert "Traceback" in stored[0]
        assert "detailed failure 42" in stored[1]
        assert '"code": 42' in stored[1]
        assert '"hint": "retry later"' in stored[1]
        assert stored[2] == "None"
        assert stored[3].endswith("… [truncated]")
        assert len(stored[3]) == 10_000 + len("… [truncated]")
