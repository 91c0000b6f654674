"""Suite "process": the handler contract, attempt information, retries and backoff."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypedDict

import pytest

from ..._entities import ScheduleAfter
from ..._job_types import EntryJobType, JobType, NoOutput, define_job_types
from ..._worker._config import BackoffConfig, WorkerDefaults
from ..._worker._processors import Processor, create_processors
from ...errors import AttemptUsageError
from .._process import process_one
from ._base import IntegrationSuite, SuiteContext

if TYPE_CHECKING:
    from ..._completion import CompleteContext, ContinuationJob
    from ..._worker._context import AttemptContext, AttemptResult

__all__ = ("ProcessSuite",)


class CountIn(TypedDict):
    value: int


class CountOut(TypedDict):
    doubled: int


double = EntryJobType[CountIn, CountOut]("process.double")
misuse = EntryJobType[CountIn, NoOutput, CountOut]("process.misuse", continue_with="process.double_next")
double_next = JobType[CountIn, CountOut]("process.double_next")
JOB_TYPES = define_job_types(double, misuse, double_next)


async def _double(ctx: AttemptContext[object, CountIn, CountOut]) -> AttemptResult[CountIn, CountOut]:
    async def finish(_: CompleteContext[object]) -> CountOut:
        return CountOut(doubled=ctx.job.input["value"] * 2)

    return await ctx.complete(finish)


class ProcessSuite(IntegrationSuite):
    """Processing basics: running handlers, misuse errors, attempt data and retries."""

    async def test_executes_jobs(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        await s.start_worker(client, [Processor(job_type=double, attempt_handler=_double)])
        chains = [await s.start_chain(client, double, CountIn(value=n)) for n in range(3)]
        outputs = [(await s.await_chain(client, chain)).output for chain in chains]
        assert outputs == [{"doubled": 0}, {"doubled": 2}, {"doubled": 4}]
        assert len(s.entries("job_attempt_completed")) == 3

    async def test_throws_when_prepare_complete_or_continue_with_are_misused(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        messages: list[str] = []

        async def handle(ctx: AttemptContext[object, CountIn, NoOutput]) -> AttemptResult[CountIn, NoOutput]:
            await ctx.prepare("staged")
            with pytest.raises(AttemptUsageError) as prepare_twice:
                await ctx.prepare("staged")
            messages.append(str(prepare_twice.value))

            async def hand_off(complete: CompleteContext[object]) -> ContinuationJob[CountIn]:
                first = await complete.continue_with(double_next, input=CountIn(value=1))
                with pytest.raises(AttemptUsageError) as continue_twice:
                    await complete.continue_with(double_next, input=CountIn(value=2))
                messages.append(str(continue_twice.value))
                return first

            result = await ctx.complete(hand_off)
            with pytest.raises(AttemptUsageError) as complete_twice:
                await ctx.complete(hand_off)
            messages.append(str(complete_twice.value))
            return result

        async def auto(ctx: AttemptContext[object, CountIn, CountOut]) -> AttemptResult[CountIn, CountOut]:
            await s.state_adapter.get_job(ctx.job.id)  # a real await: the worker prepares staged
            with pytest.raises(AttemptUsageError) as after_auto:
                _ = ctx.prepare
            messages.append(str(after_auto.value))
            return await _double(ctx)

        await s.start_worker(
            client,
            [Processor(job_type=misuse, attempt_handler=handle), Processor(job_type=double_next, attempt_handler=auto)],
        )
        chain = await s.start_chain(client, misuse, CountIn(value=1))
        done = await s.await_chain(client, chain)
        assert done.output == {"doubled": 2}
        assert messages == [
            "Prepare can only be called once",
            "continue_with can only be called once",
            "Complete can only be called once",
            "Prepare cannot be accessed after auto-setup",
        ]

    async def test_a_handler_returning_without_complete_fails_the_attempt(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        attempts: list[int] = []

        async def handle(ctx: AttemptContext[object, CountIn, CountOut]) -> AttemptResult[CountIn, CountOut]:
            attempts.append(ctx.job.attempt)
            if ctx.job.attempt == 1:
                return None  # type: ignore[return-value]  # the misuse under test
            return await _double(ctx)

        await s.start_worker(client, [Processor(job_type=double, attempt_handler=handle)])
        chain = await s.start_chain(client, double, CountIn(value=4))
        assert (await s.await_chain(client, chain)).output == {"doubled": 8}
        assert attempts == [1, 2]
        [failed] = s.entries("job_attempt_failed")
        assert "returned without completing the job" in str(failed.get("error"))

    async def test_provides_attempt_information_to_the_job(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        seen: list[dict[str, Any]] = []

        async def handle(ctx: AttemptContext[object, CountIn, CountOut]) -> AttemptResult[CountIn, CountOut]:
            job = ctx.job
            seen.append(
                {
                    "id": job.id,
                    "chain_id": job.chain_id,
                    "status": job.status,
                    "attempt": job.attempt,
                    "input": job.input,
                    "error": job.last_attempt_error,
                    "type_name": job.type_name,
                    "chain_type_name": job.chain_type_name,
                    "worker_id": ctx.worker_id,
                }
            )
            if job.attempt == 1:
                raise RuntimeError("first attempt fails")
            return await _double(ctx)

        worker = await s.start_worker(client, [Processor(job_type=double, attempt_handler=handle)])
        chain = await s.start_chain(client, double, CountIn(value=2))
        await s.await_chain(client, chain)
        assert [entry["attempt"] for entry in seen] == [1, 2]
        assert {entry["status"] for entry in seen} == {"running"}
        assert all(entry["id"] == chain.id == entry["chain_id"] for entry in seen)
        assert seen[0]["input"] == {"value": 2}
        assert seen[0]["error"] is None
        assert "first attempt fails" in seen[1]["error"]
        assert seen[0]["type_name"] == seen[0]["chain_type_name"] == "process.double"
        assert seen[0]["worker_id"] == worker.worker_id

    async def test_clears_the_last_error_after_a_successful_attempt(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)

        async def handle(ctx: AttemptContext[object, CountIn, CountOut]) -> AttemptResult[CountIn, CountOut]:
            if ctx.job.attempt < 3:
                raise ValueError(f"failure {ctx.job.attempt}")
            return await _double(ctx)

        await s.start_worker(client, [Processor(job_type=double, attempt_handler=handle)])
        chain = await s.start_chain(client, double, CountIn(value=1))
        await s.await_chain(client, chain)
        job = await client.get_job(chain.id)
        assert job is not None
        assert job.status == "completed"
        assert job.attempt == 3
        assert job.last_attempt_error is None
        assert job.last_attempt_at is not None

    async def test_uses_an_exponential_backoff_progression(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)

        async def handle(ctx: AttemptContext[object, CountIn, CountOut]) -> AttemptResult[CountIn, CountOut]:
            raise RuntimeError("always fails")

        processors = create_processors(client=client, processors=[Processor(job_type=double, attempt_handler=handle)])
        defaults = WorkerDefaults(
            backoff_config=BackoffConfig(initial_delay_ms=1_000, max_delay_ms=4_000, multiplier=2)
        )
        chain = await s.start_chain(client, double, CountIn(value=1))
        delays: list[float] = []
        for _ in range(4):
            outcome = await process_one(client, processors, defaults=defaults)
            assert outcome is not None
            assert outcome.status == "rescheduled"
            job = await client.get_job(chain.id)
            assert job is not None
            assert job.status == "pending"
            assert job.last_attempt_at is not None
            delays.append((job.scheduled_at - job.last_attempt_at) / timedelta(milliseconds=1))
            # Make the retry due now instead of waiting for it.
            await s.tx(lambda tx_ctx, hooks: client.trigger_job(tx_ctx=tx_ctx, transaction_hooks=hooks, id=chain.id))
        for delay, expected in zip(delays, [1_000, 2_000, 4_000, 4_000], strict=True):
            assert expected - 50 <= delay <= expected + 250, delays
        failed = s.entries("job_attempt_failed")
        assert [entry["data"]["rescheduled_after_ms"] for entry in failed] == [1_000, 2_000, 4_000, 4_000]
        assert [entry["data"]["attempt"] for entry in failed] == [1, 2, 3, 4]

    async def test_reschedule_job_overrides_the_backoff(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        from ...errors import reschedule_job

        async def handle(ctx: AttemptContext[object, CountIn, CountOut]) -> AttemptResult[CountIn, CountOut]:
            if ctx.job.attempt == 1:
                reschedule_job(ScheduleAfter(0), cause=LookupError("not ready yet"))
            return await _double(ctx)

        await s.start_worker(
            client, [Processor(job_type=double, attempt_handler=handle)], backoff_config=BackoffConfig(60_000, 60_000)
        )
        chain = await s.start_chain(client, double, CountIn(value=3))
        assert (await s.await_chain(client, chain)).output == {"doubled": 6}
        [failed] = s.entries("job_attempt_failed")
        assert failed["data"]["rescheduled_after_ms"] == 0
