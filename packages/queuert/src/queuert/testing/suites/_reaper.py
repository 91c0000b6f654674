"""Suite "reaper": expired leases, jobs taken over by other workers, and a worker's own jobs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict

from ..._job_types import EntryJobType, define_job_types
from ..._worker._config import LeaseConfig
from ..._worker._processors import Processor
from ...errors import JobAlreadyCompletedError, JobNotFoundError, JobTakenByAnotherWorkerError
from .._flaky import FlakyStateAdapter
from ._base import IntegrationSuite, SuiteContext, finish_with

if TYPE_CHECKING:
    from ..._client import Client
    from ..._worker._context import AttemptContext, AttemptResult

__all__ = ("ReaperSuite",)

OWNERSHIP_ERRORS = (JobTakenByAnotherWorkerError, JobAlreadyCompletedError, JobNotFoundError)


class Work(TypedDict):
    name: str


class Done(TypedDict):
    by: str


slow = EntryJobType[Work, Done]("reaper.slow")
quick = EntryJobType[Work, Done]("reaper.quick")
JOB_TYPES = define_job_types(slow, quick)


async def _lease_expired(client: Client[Any], s: SuiteContext, job_id: str) -> bool:
    row = await s.state_adapter.get_job(job_id)
    return row is not None and row.leased_until is not None and row.leased_until < datetime.now(UTC)


async def _quick(ctx: AttemptContext[object, Work, Done]) -> AttemptResult[Work, Done]:
    return await finish_with(ctx, Done(by=ctx.worker_id))


class ReaperSuite(IntegrationSuite):
    """Lease expiry and reaping."""

    async def test_an_expired_lease_can_still_be_renewed_if_nobody_took_the_job(
        self, queuert_suite: SuiteContext
    ) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)

        async def handle(ctx: AttemptContext[object, Work, Done]) -> AttemptResult[Work, Done]:
            await ctx.prepare("staged")
            await s.wait_until(lambda: _lease_expired(client, s, ctx.job.id))
            # The next renewal finds its own, expired lease: a warning, and processing goes on.
            await s.wait_for_log("job_attempt_lease_renewed")
            return await finish_with(ctx, Done(by=ctx.worker_id))

        worker = await s.start_worker(
            client,
            [Processor(job_type=slow, attempt_handler=handle)],
            lease_config=LeaseConfig(lease_ms=30, renew_interval_ms=120),
        )
        chain = await s.start_chain(client, slow, Work(name="late"))
        done = await s.await_chain(client, chain)
        assert done.output == {"by": worker.worker_id}
        assert s.entries("job_attempt_lease_expired")
        renewed = s.entries("job_attempt_lease_renewed")[0]["data"]
        assert renewed["leased_by"] == worker.worker_id
        assert isinstance(renewed["leased_until"], datetime)
        assert not s.entries("job_reaped")
        job = await client.get_job(chain.id)
        assert job is not None
        assert job.attempt == 1

    async def _taken_over(self, s: SuiteContext, *, learn_on: str) -> None:
        client = await s.create_client(JOB_TYPES)
        first_attempt_errors: list[BaseException] = []
        reasons: list[Any] = []
        release = asyncio.Event()

        async def handle(ctx: AttemptContext[object, Work, Done]) -> AttemptResult[Work, Done]:
            await ctx.prepare("staged")
            if ctx.job.attempt > 1:
                result = await finish_with(ctx, Done(by=ctx.worker_id))
                release.set()
                return result
            if learn_on == "renewal":
                async with asyncio.timeout(s.timeout_ms / 1000):
                    reasons.append(await ctx.signal.wait())
            # Hold the slot until the rescuer is done, so this worker cannot take the job back.
            async with asyncio.timeout(s.timeout_ms / 1000):
                await release.wait()
            try:
                return await finish_with(ctx, Done(by=ctx.worker_id))
            except OWNERSHIP_ERRORS as error:
                first_attempt_errors.append(error)
                raise

        stalled = await s.start_worker(
            client,
            [Processor(job_type=slow, attempt_handler=handle)],
            worker_name="stalled",
            # The lease expires long before the first renewal.
            lease_config=LeaseConfig(lease_ms=40, renew_interval_ms=300 if learn_on == "renewal" else 60_000),
        )
        chain = await s.start_chain(client, slow, Work(name="contested"))
        await s.wait_until(lambda: _lease_expired(client, s, chain.id))
        rescuer = await s.start_worker(
            client, [Processor(job_type=slow, attempt_handler=handle)], worker_name="rescuer"
        )
        done = await s.await_chain(client, chain)
        assert done.output == {"by": rescuer.worker_id}
        await s.wait_until(lambda: first_attempt_errors)
        [reaped] = s.entries("job_reaped")
        assert reaped["data"]["worker_id"] == rescuer.worker_id
        assert reaped["data"]["leased_by"] == stalled.worker_id
        assert isinstance(reaped["data"]["leased_until"], datetime)
        if learn_on == "renewal":
            # Taken by the rescuer, or already completed by it when the renewal comes round.
            assert reasons in (["taken_by_another_worker"], ["already_completed"])
        await s.stop_workers()
        assert not s.entries("job_attempt_failed")
        job = await client.get_job(chain.id)
        assert job is not None
        assert job.attempt == 2
        assert getattr(job, "completed_by", None) == rescuer.worker_id

    async def test_reaps_an_abandoned_job_whose_worker_learns_on_renewal(self, queuert_suite: SuiteContext) -> None:
        await self._taken_over(queuert_suite, learn_on="renewal")

    async def test_reaps_an_abandoned_job_whose_worker_learns_on_complete(self, queuert_suite: SuiteContext) -> None:
        await self._taken_over(queuert_suite, learn_on="complete")

    async def test_does_not_reap_its_own_in_progress_jobs(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        # The worker's client records every state call, to see its reaper run.
        calls: list[str] = []

        def record(operation: str) -> bool:
            calls.append(operation)
            return False

        recording = FlakyStateAdapter(s.state_adapter, plan=record)
        worker_client = await s.create_client(JOB_TYPES, state_adapter=recording)
        release = asyncio.Event()

        async def handle(ctx: AttemptContext[object, Work, Done]) -> AttemptResult[Work, Done]:
            await ctx.prepare("staged")
            async with asyncio.timeout(s.timeout_ms / 1000):
                await release.wait()
            return await finish_with(ctx, Done(by=ctx.worker_id))

        worker = await s.start_worker(
            worker_client,
            [Processor(job_type=slow, attempt_handler=handle), Processor(job_type=quick, attempt_handler=_quick)],
            concurrency=2,
            lease_config=LeaseConfig(lease_ms=30, renew_interval_ms=60_000),
        )
        chain = await s.start_chain(client, slow, Work(name="mine"))
        await s.wait_until(lambda: _lease_expired(client, s, chain.id))
        # With its other slot idle, the worker runs its reaper on every loop iteration.
        reaps = calls.count("reap_expired_job_lease")
        await s.wait_until(lambda: calls.count("reap_expired_job_lease") >= reaps + 3)
        assert await _lease_expired(client, s, chain.id)
        release.set()
        done = await s.await_chain(client, chain)
        assert done.output == {"by": worker.worker_id}
        assert not s.entries("job_reaped")
        job = await client.get_job(chain.id)
        assert job is not None
        assert job.attempt == 1
