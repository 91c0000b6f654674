"""Suite "notify": workers woken by notifications rather than by polling."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict

import pytest

from ..._client import StartChainItem
from ..._job_types import EntryJobType, JobType, NoOutput, Slot, define_job_types
from ..._worker._config import LeaseConfig
from ..._worker._processors import Processor
from ._base import IntegrationSuite, SuiteContext, continue_to, finish_with

if TYPE_CHECKING:
    from ..._client import WorkerlessCompletion
    from ..._completion import CompleteContext
    from ..._worker._context import AttemptContext, AttemptResult

__all__ = ("NotifySuite",)

SLEEPY_MS = 60_000
"""A poll interval no test waits out: anything that happens sooner was a notification."""


class Ping(TypedDict):
    n: int


class By(TypedDict):
    by: str


work = EntryJobType[Ping, By]("notify.work")
blocker = EntryJobType[Ping, By]("notify.blocker")
waiting = EntryJobType[Ping, By]("notify.waiting", blockers=[Slot("notify.blocker")])
start = EntryJobType[Ping, NoOutput, By]("notify.start", continue_with="notify.next")
next_ = JobType[Ping, By]("notify.next")
JOB_TYPES = define_job_types(work, blocker, waiting, start, next_)


async def _by(ctx: AttemptContext[object, Ping, By]) -> AttemptResult[Ping, By]:
    return await finish_with(ctx, By(by=ctx.worker_id))


class NotifySuite(IntegrationSuite):
    """Needs a notify adapter; skipped without one."""

    def _require_notify(self, s: SuiteContext) -> None:
        if s.notify_adapter is None:
            pytest.skip("no notify adapter under test")

    async def test_schedules_processing_immediately(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        self._require_notify(s)
        client = await s.create_client(JOB_TYPES)
        await s.start_worker(client, [Processor(job_type=work, attempt_handler=_by)], poll_interval_ms=SLEEPY_MS)
        # Let the worker settle into its long sleep before the job appears.
        await s.wait_for_log("worker_started")
        chain = await s.start_chain(client, work, Ping(n=1))
        await s.await_chain(client, chain, timeout_ms=2_000)

    async def test_distributes_processing_to_several_workers(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        self._require_notify(s)
        self.require_concurrency()
        client = await s.create_client(JOB_TYPES)
        arrived: set[str] = set()
        both = asyncio.Event()

        async def meet(ctx: AttemptContext[object, Ping, By]) -> AttemptResult[Ping, By]:
            arrived.add(ctx.worker_id)
            if len(arrived) == 2:
                both.set()
            # Each job waits for the other worker: only two workers working at once get through.
            async with asyncio.timeout(s.timeout_ms / 1000):
                await both.wait()
            return await _by(ctx)

        for name in ("one", "two"):
            await s.start_worker(
                client, [Processor(job_type=work, attempt_handler=meet)], worker_name=name, poll_interval_ms=SLEEPY_MS
            )
        chains = await s.start_chains(client, [StartChainItem(job_type=work, input=Ping(n=n)) for n in range(2)])
        outputs = {(await s.await_chain(client, chain)).output["by"] for chain in chains}
        assert len(outputs) == 2

    async def test_wakes_the_worker_of_an_unblocked_job(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        self._require_notify(s)
        self.require_concurrency()
        client = await s.create_client(JOB_TYPES)
        await s.start_worker(
            client, [Processor(job_type=blocker, attempt_handler=_by)], worker_name="b", poll_interval_ms=SLEEPY_MS
        )
        await s.start_worker(
            client, [Processor(job_type=waiting, attempt_handler=_by)], worker_name="w", poll_interval_ms=SLEEPY_MS
        )
        first = await s.start_chain(client, blocker, Ping(n=1))
        second = await s.start_chain(client, waiting, Ping(n=2), blockers=[first])
        assert (await s.await_chain(client, second, timeout_ms=2_000)).output["by"].startswith("w-")

    async def test_wakes_the_worker_of_a_continuation(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        self._require_notify(s)
        self.require_concurrency()
        client = await s.create_client(JOB_TYPES)

        async def hand_off(ctx: AttemptContext[object, Ping, NoOutput]) -> AttemptResult[Ping, NoOutput]:
            return await continue_to(ctx, next_, ctx.job.input)

        await s.start_worker(
            client, [Processor(job_type=start, attempt_handler=hand_off)], worker_name="s", poll_interval_ms=SLEEPY_MS
        )
        await s.start_worker(
            client, [Processor(job_type=next_, attempt_handler=_by)], worker_name="n", poll_interval_ms=SLEEPY_MS
        )
        chain = await s.start_chain(client, start, Ping(n=1))
        assert (await s.await_chain(client, chain, timeout_ms=2_000)).output["by"].startswith("n-")

    async def test_tells_a_worker_its_job_was_completed_without_a_worker(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        self._require_notify(s)
        client = await s.create_client(JOB_TYPES)
        running = asyncio.Event()
        reasons: list[Any] = []

        async def slow(ctx: AttemptContext[object, Ping, By]) -> AttemptResult[Ping, By]:
            await ctx.prepare("staged")
            running.set()
            async with asyncio.timeout(s.timeout_ms / 1000):
                reasons.append(await ctx.signal.wait())
            return await _by(ctx)

        # Renewals are too rare to notice in time: only the notification can.
        await s.start_worker(
            client,
            [Processor(job_type=work, attempt_handler=slow)],
            poll_interval_ms=SLEEPY_MS,
            lease_config=LeaseConfig(lease_ms=SLEEPY_MS, renew_interval_ms=SLEEPY_MS / 2),
        )
        chain = await s.start_chain(client, work, Ping(n=1))
        async with asyncio.timeout(s.timeout_ms / 1000):
            await running.wait()

        async def complete(completion: WorkerlessCompletion[Any]) -> None:
            async def produce(_: CompleteContext[Any]) -> By:
                return By(by="application")

            await completion.complete(completion.job, produce)

        await s.tx(
            lambda tx_ctx, hooks: client.complete_chain(
                tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=work, id=chain.id, complete=complete
            )
        )
        await s.wait_until(lambda: reasons, timeout_ms=2_000)
        assert reasons == ["already_completed"]

    async def test_tells_a_worker_when_the_reaper_took_its_job(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        self._require_notify(s)
        self.require_concurrency()
        client = await s.create_client(JOB_TYPES)
        reasons: list[Any] = []
        done = asyncio.Event()

        async def handle(ctx: AttemptContext[object, Ping, By]) -> AttemptResult[Ping, By]:
            await ctx.prepare("staged")
            if ctx.job.attempt > 1:
                result = await _by(ctx)
                done.set()
                return result
            async with asyncio.timeout(s.timeout_ms / 1000):
                reasons.append(await ctx.signal.wait())
            # Hold the slot until the job is done elsewhere, then give up.
            async with asyncio.timeout(s.timeout_ms / 1000):
                await done.wait()
            return await _by(ctx)

        await s.start_worker(
            client,
            [Processor(job_type=work, attempt_handler=handle)],
            worker_name="zombie",
            poll_interval_ms=SLEEPY_MS,
            lease_config=LeaseConfig(lease_ms=40, renew_interval_ms=SLEEPY_MS),
        )
        chain = await s.start_chain(client, work, Ping(n=1))
        await s.wait_until(lambda: _lease_expired(s, chain.id))
        await s.start_worker(client, [Processor(job_type=work, attempt_handler=handle)], worker_name="reaper")
        result = await s.await_chain(client, chain)
        assert result.output["by"].startswith("reaper-")
        await s.wait_until(lambda: reasons, timeout_ms=2_000)
        assert reasons in (["taken_by_another_worker"], ["already_completed"])


async def _lease_expired(s: SuiteContext, job_id: str) -> bool:
    row = await s.state_adapter.get_job(job_id)
    return row is not None and row.leased_until is not None and row.leased_until < datetime.now(UTC)
