"""Suite "scheduling": delayed starts, delayed continuations, explicit reschedules, recurring chains."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from ..._entities import DeduplicationOptions, ScheduleAfter, ScheduleAt
from ..._job_types import EntryJobType, JobType, NoOutput, define_job_types
from ..._worker._processors import Processor
from ...errors import WaitChainTimeoutError, reschedule_job
from ._base import IntegrationSuite, SuiteContext, continue_to, finish_with

if TYPE_CHECKING:
    from ..._client import Client
    from ..._completion import CompleteContext
    from ..._entities import ScheduleOptions
    from ..._worker._context import AttemptContext, AttemptResult

__all__ = ("SchedulingSuite",)

DELAY_MS = 250
"""Long enough to observe that nothing ran early, short enough to keep the suite fast."""


class Tick(TypedDict):
    n: int


class Done(TypedDict):
    n: int


timed = EntryJobType[Tick, Done]("scheduling.timed")
first = EntryJobType[Tick, NoOutput, Done]("scheduling.first", continue_with="scheduling.later")
later = JobType[Tick, Done]("scheduling.later")
retried = EntryJobType[Tick, Done]("scheduling.retried")
recurring = EntryJobType[Tick, Done]("scheduling.recurring")
JOB_TYPES = define_job_types(timed, first, later, retried, recurring)


async def _done(ctx: AttemptContext[object, Tick, Done]) -> AttemptResult[Tick, Done]:
    return await finish_with(ctx, Done(n=ctx.job.input["n"]))


def _ms(delta: timedelta) -> float:
    return delta / timedelta(milliseconds=1)


def _schedule(kind: str, delay_ms: float) -> ScheduleOptions:
    if kind == "after_ms":
        return ScheduleAfter(delay_ms)
    return ScheduleAt(datetime.now(UTC) + timedelta(milliseconds=delay_ms))


class SchedulingSuite(IntegrationSuite):
    """`schedule=` on starts and continuations, `reschedule_job`, and the recurring-chain recipe."""

    async def _assert_not_done_yet(self, s: SuiteContext, client: Client[Any], chain_id: str) -> None:
        # A bounded wait that must time out: the chain may not complete before its time.
        try:
            await s.await_chain(client, chain_id, timeout_ms=DELAY_MS / 3)
        except WaitChainTimeoutError:
            return
        raise AssertionError("the chain completed before its scheduled time")

    async def _check_start_deferred(self, s: SuiteContext, kind: str) -> None:
        client = await s.create_client(JOB_TYPES)
        await s.start_worker(client, [Processor(job_type=timed, attempt_handler=_done)])
        chain = await s.start_chain(client, timed, Tick(n=1), schedule=_schedule(kind, DELAY_MS))
        job = await client.get_job(chain.id)
        assert job is not None
        assert DELAY_MS - 60 <= _ms(job.scheduled_at - job.created_at) <= DELAY_MS + 1_000
        await self._assert_not_done_yet(s, client, chain.id)
        done = await s.await_chain(client, chain)
        assert _ms(done.completed_at - done.created_at) >= DELAY_MS - 60

    async def test_start_chain_with_after_ms_defers_processing(self, queuert_suite: SuiteContext) -> None:
        await self._check_start_deferred(queuert_suite, "after_ms")

    async def test_start_chain_with_at_defers_processing(self, queuert_suite: SuiteContext) -> None:
        await self._check_start_deferred(queuert_suite, "at")

    async def _check_continuation_deferred(self, s: SuiteContext, kind: str) -> None:
        client = await s.create_client(JOB_TYPES)

        async def hand_off(ctx: AttemptContext[object, Tick, NoOutput]) -> AttemptResult[Tick, NoOutput]:
            return await continue_to(ctx, later, Tick(n=2), schedule=_schedule(kind, DELAY_MS))

        await s.start_worker(
            client,
            [Processor(job_type=first, attempt_handler=hand_off), Processor(job_type=later, attempt_handler=_done)],
        )
        chain = await s.start_chain(client, first, Tick(n=1))
        await s.wait_until(lambda: _has_continuation(client, chain.id))
        await self._assert_not_done_yet(s, client, chain.id)
        await s.await_chain(client, chain)
        jobs = (await client.list_chain_jobs(chain.id)).items
        assert _ms(jobs[1].scheduled_at - jobs[1].created_at) >= DELAY_MS - 60
        completed_at = getattr(jobs[1], "completed_at", None)
        assert completed_at is not None
        assert _ms(completed_at - jobs[1].created_at) >= DELAY_MS - 60

    async def test_continue_with_after_ms_defers_the_continuation(self, queuert_suite: SuiteContext) -> None:
        await self._check_continuation_deferred(queuert_suite, "after_ms")

    async def test_continue_with_at_defers_the_continuation(self, queuert_suite: SuiteContext) -> None:
        await self._check_continuation_deferred(queuert_suite, "at")

    async def _check_reschedule(self, s: SuiteContext, kind: str) -> None:
        client = await s.create_client(JOB_TYPES)
        attempt_times: list[datetime] = []

        async def handle(ctx: AttemptContext[object, Tick, Done]) -> AttemptResult[Tick, Done]:
            attempt_times.append(datetime.now(UTC))
            if ctx.job.attempt == 1:
                reschedule_job(_schedule(kind, DELAY_MS), cause=LookupError("not ready"))
            return await _done(ctx)

        await s.start_worker(client, [Processor(job_type=retried, attempt_handler=handle)])
        chain = await s.start_chain(client, retried, Tick(n=3))
        await s.wait_until(lambda: len(attempt_times) == 1)
        await self._assert_not_done_yet(s, client, chain.id)
        await s.await_chain(client, chain)
        assert len(attempt_times) == 2
        assert _ms(attempt_times[1] - attempt_times[0]) >= DELAY_MS - 60
        [failed] = s.entries("job_attempt_failed")
        if kind == "after_ms":
            assert failed["data"]["rescheduled_after_ms"] == DELAY_MS
        else:
            assert isinstance(failed["data"]["rescheduled_at"], datetime)
        error = failed.get("error")
        assert isinstance(error, BaseException)
        assert isinstance(error.__cause__, LookupError)

    async def test_reschedule_job_with_after_ms_defers_the_retry(self, queuert_suite: SuiteContext) -> None:
        await self._check_reschedule(queuert_suite, "after_ms")

    async def test_reschedule_job_with_at_defers_the_retry(self, queuert_suite: SuiteContext) -> None:
        await self._check_reschedule(queuert_suite, "at")

    async def test_a_recurring_job_schedules_itself_with_deduplication(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        runs: list[int] = []
        key = "scheduling.recurring"

        async def run_once(ctx: AttemptContext[object, Tick, Done]) -> AttemptResult[Tick, Done]:
            n = ctx.job.input["n"]
            runs.append(n)

            async def finish(complete: CompleteContext[object]) -> Done:
                if n < 3:
                    # The next run, started atomically with finishing this one. This chain is still
                    # open here, so it must be excluded or it would swallow the new run.
                    await client.start_chain(
                        tx_ctx=complete.tx_ctx,
                        transaction_hooks=complete.transaction_hooks,
                        job_type=recurring,
                        input=Tick(n=n + 1),
                        schedule=ScheduleAfter(10),
                        deduplication=DeduplicationOptions(key=key, exclude_chain_ids=[ctx.job.chain_id]),
                    )
                return Done(n=n)

            return await ctx.complete(finish)

        # Bootstrapping twice (two deploys) still gives one run.
        bootstrap = await s.start_chain(client, recurring, Tick(n=1), deduplication=DeduplicationOptions(key=key))
        again = await s.start_chain(client, recurring, Tick(n=1), deduplication=DeduplicationOptions(key=key))
        assert again.deduplicated
        assert again.id == bootstrap.id
        await s.start_worker(client, [Processor(job_type=recurring, attempt_handler=run_once)])
        await s.wait_until(lambda: runs == [1, 2, 3])
        chains = (await client.list_chains(order_direction="asc")).items
        recurring_chains = [c for c in chains if c.type_name == recurring.name]
        assert [c.input["n"] for c in recurring_chains] == [1, 2, 3]
        await s.wait_until(lambda: _all_completed(client, [c.id for c in recurring_chains]))

    async def _check_past_at_clamped(self, s: SuiteContext, where: str) -> None:
        client = await s.create_client(JOB_TYPES)
        past = datetime.now(UTC) - timedelta(hours=1)
        if where == "start":
            chain = await s.start_chain(client, timed, Tick(n=1), schedule=ScheduleAt(past))
            job = await client.get_job(chain.id)
        elif where == "continue_with":

            async def hand_off(ctx: AttemptContext[object, Tick, NoOutput]) -> AttemptResult[Tick, NoOutput]:
                return await continue_to(ctx, later, Tick(n=2), schedule=ScheduleAt(past))

            await s.start_worker(client, [Processor(job_type=first, attempt_handler=hand_off)])
            chain = await s.start_chain(client, first, Tick(n=1))
            await s.wait_until(lambda: _has_continuation(client, chain.id))
            job = (await client.list_chain_jobs(chain.id)).items[1]
        else:

            async def handle(ctx: AttemptContext[object, Tick, Done]) -> AttemptResult[Tick, Done]:
                reschedule_job(ScheduleAt(past))

            await s.start_worker(client, [Processor(job_type=retried, attempt_handler=handle)])
            chain = await s.start_chain(client, retried, Tick(n=1))
            await s.wait_for_log("job_attempt_failed")
            job = await client.get_job(chain.id)
        assert job is not None
        now = datetime.now(UTC)
        assert job.scheduled_at - past > timedelta(minutes=30)
        assert abs(job.scheduled_at - now) < timedelta(seconds=60)

    async def test_a_past_at_is_clamped_to_now_for_start_chain(self, queuert_suite: SuiteContext) -> None:
        await self._check_past_at_clamped(queuert_suite, "start")

    async def test_a_past_at_is_clamped_to_now_for_continue_with(self, queuert_suite: SuiteContext) -> None:
        await self._check_past_at_clamped(queuert_suite, "continue_with")

    async def test_a_past_at_is_clamped_to_now_for_reschedule_job(self, queuert_suite: SuiteContext) -> None:
        await self._check_past_at_clamped(queuert_suite, "reschedule")


async def _has_continuation(client: Client[Any], chain_id: str) -> bool:
    page = await client.list_chain_jobs(chain_id)
    return len(page.items) >= 2


async def _all_completed(client: Client[Any], chain_ids: list[str]) -> bool:
    for chain_id in chain_ids:
        chain = await client.get_chain(chain_id)
        if chain is None or chain.status != "completed":
            return False
    return True
