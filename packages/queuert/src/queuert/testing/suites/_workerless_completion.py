"""Suite "workerless completion": finishing or advancing chains from application code."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypedDict

import pytest

from ..._job_types import EntryJobType, JobType, NoOutput, define_job_types
from ..._worker._config import LeaseConfig
from ..._worker._processors import Processor
from ...errors import (
    JobAlreadyCompletedError,
    JobTypeMismatchError,
    JobTypeValidationError,
    TransactionContextRequiredError,
)
from ._base import IntegrationSuite, SuiteContext, finish_with

if TYPE_CHECKING:
    from ..._client import Client, WorkerlessCompletion
    from ..._completion import CompleteContext, ContinuationJob
    from ..._worker._context import AttemptContext, AttemptResult

__all__ = ("WorkerlessCompletionSuite",)


class Request(TypedDict):
    amount: int


class Decision(TypedDict):
    approved: bool


class Note(TypedDict):
    text: str


approval = EntryJobType[Request, Decision]("workerless.approval")
review = EntryJobType[Request, NoOutput, Decision]("workerless.review", continue_with="workerless.sign_off")
sign_off = JobType[Request, Decision]("workerless.sign_off", continue_with="workerless.archive")
archive = JobType[Note, Decision]("workerless.archive")
other = EntryJobType[Request, Decision]("workerless.other")
JOB_TYPES = define_job_types(approval, review, sign_off, archive, other)


class WorkerlessCompletionSuite(IntegrationSuite):
    """`client.complete_chain`."""

    async def _complete(
        self,
        s: SuiteContext,
        client: Client[Any],
        job_type: Any,
        chain_id: str,
        callback: Any,
    ) -> Any:
        async def complete(completion: WorkerlessCompletion[Any]) -> None:
            await completion.complete(completion.job, callback)

        return await s.tx(
            lambda tx_ctx, hooks: client.complete_chain(
                tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=job_type, id=chain_id, complete=complete
            )
        )

    async def test_completes_a_simple_chain_without_a_worker(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, approval, Request(amount=10))

        async def approve(_: CompleteContext[Any]) -> Decision:
            return Decision(approved=True)

        done = await self._complete(s, client, approval, chain.id, approve)
        assert done.status == "completed"
        assert done.output == {"approved": True}
        job = await client.get_job(chain.id)
        assert job is not None
        assert getattr(job, "completed_by", "?") is None
        [completed] = s.entries("job_completed")
        assert completed["data"]["worker_id"] is None
        assert (await s.await_chain(client, chain)).output == {"approved": True}

    async def test_completes_a_complex_chain(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, review, Request(amount=5))

        async def to_sign_off(complete: CompleteContext[Any]) -> ContinuationJob[Request]:
            return await complete.continue_with(sign_off, input=Request(amount=6))

        async def to_archive(complete: CompleteContext[Any]) -> ContinuationJob[Note]:
            return await complete.continue_with(archive, input=Note(text="signed"))

        async def finish(_: CompleteContext[Any]) -> Decision:
            return Decision(approved=False)

        advanced = await self._complete(s, client, review, chain.id, to_sign_off)
        assert advanced.status == "pending"
        advanced = await self._complete(s, client, review, chain.id, to_archive)
        assert advanced.status == "pending"
        done = await self._complete(s, client, review, chain.id, finish)
        assert done.output == {"approved": False}
        jobs = (await client.list_chain_jobs(chain.id)).items
        assert [j.type_name for j in jobs] == [review.name, sign_off.name, archive.name]
        assert {j.status for j in jobs} == {"completed"}

    async def test_rejects_a_continuation_to_a_type_that_is_not_allowed(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, review, Request(amount=5))

        async def wrong_type(complete: CompleteContext[Any]) -> Any:
            return await complete.continue_with(archive, input=Note(text="skipping a step"))

        with pytest.raises(JobTypeValidationError) as caught:
            await self._complete(s, client, review, chain.id, wrong_type)
        assert caught.value.code == "invalid_continuation"
        assert len((await client.list_chain_jobs(chain.id)).items) == 1

    async def test_partially_completes_a_chain_that_a_worker_then_finishes(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, review, Request(amount=1))

        async def to_sign_off(complete: CompleteContext[Any]) -> ContinuationJob[Request]:
            return await complete.continue_with(sign_off, input=Request(amount=2))

        await self._complete(s, client, review, chain.id, to_sign_off)

        async def sign(ctx: AttemptContext[object, Request, Decision]) -> AttemptResult[Request, Decision]:
            async def go(complete: CompleteContext[object]) -> ContinuationJob[Note]:
                return await complete.continue_with(archive, input=Note(text=str(ctx.job.input["amount"])))

            return await ctx.complete(go)

        async def file(ctx: AttemptContext[object, Note, Decision]) -> AttemptResult[Note, Decision]:
            return await finish_with(ctx, Decision(approved=ctx.job.input["text"] == "2"))

        await s.start_worker(
            client,
            [Processor(job_type=sign_off, attempt_handler=sign), Processor(job_type=archive, attempt_handler=file)],
        )
        assert (await s.await_chain(client, chain)).output == {"approved": True}

    async def test_raises_when_completing_an_already_completed_job(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, approval, Request(amount=1))

        async def approve(_: CompleteContext[Any]) -> Decision:
            return Decision(approved=True)

        await self._complete(s, client, approval, chain.id, approve)
        with pytest.raises(JobAlreadyCompletedError):
            await self._complete(s, client, approval, chain.id, approve)

    async def test_a_read_only_call_changes_nothing(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, approval, Request(amount=3))
        seen: list[Any] = []

        async def look(completion: WorkerlessCompletion[Any]) -> None:
            seen.append(completion.job)

        after = await s.tx(
            lambda tx_ctx, hooks: client.complete_chain(
                tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=approval, id=chain.id, complete=look
            )
        )
        assert after.status == "pending"
        assert seen[0].id == chain.id
        assert seen[0].input == {"amount": 3}
        assert not s.entries("job_completed")

    async def test_signals_a_running_job_completed_without_a_worker(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        reasons: list[Any] = []
        running = asyncio.Event()

        async def slow(ctx: AttemptContext[object, Request, Decision]) -> AttemptResult[Request, Decision]:
            await ctx.prepare("staged")
            running.set()
            async with asyncio.timeout(s.timeout_ms / 1000):
                reasons.append(await ctx.signal.wait())
            # Completing now must fail: the job was completed elsewhere.
            with pytest.raises(JobAlreadyCompletedError):
                await finish_with(ctx, Decision(approved=False))
            raise JobAlreadyCompletedError(job_id=ctx.job.id)

        # Without a notify adapter, the next lease renewal finds out instead.
        await s.start_worker(
            client,
            [Processor(job_type=approval, attempt_handler=slow)],
            lease_config=LeaseConfig(lease_ms=5_000, renew_interval_ms=50),
        )
        chain = await s.start_chain(client, approval, Request(amount=9))
        async with asyncio.timeout(s.timeout_ms / 1000):
            await running.wait()

        async def approve(_: CompleteContext[Any]) -> Decision:
            return Decision(approved=True)

        done = await self._complete(s, client, approval, chain.id, approve)
        assert done.output == {"approved": True}
        await s.wait_until(lambda: reasons)
        assert reasons == ["already_completed"]
        await s.wait_for_log("job_attempt_already_completed")
        await s.stop_workers()
        assert not s.entries("job_attempt_failed")
        final = await client.get_chain(chain.id)
        assert final is not None
        assert final.status == "completed"

    async def test_complete_chain_gives_the_current_job_with_its_chain_type(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, review, Request(amount=1))

        async def to_sign_off(complete: CompleteContext[Any]) -> ContinuationJob[Request]:
            return await complete.continue_with(sign_off, input=Request(amount=2))

        await self._complete(s, client, review, chain.id, to_sign_off)
        seen: list[Any] = []

        async def look(completion: WorkerlessCompletion[Any]) -> None:
            seen.append(completion.job)

        await s.tx(
            lambda tx_ctx, hooks: client.complete_chain(
                tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=review, id=chain.id, complete=look
            )
        )
        assert seen[0].type_name == sign_off.name
        assert seen[0].chain_type_name == review.name
        assert seen[0].chain_id == chain.id

    async def test_complete_chain_raises_without_a_transaction_context(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, approval, Request(amount=1))

        async def look(completion: WorkerlessCompletion[Any]) -> None:
            return None

        with pytest.raises(TransactionContextRequiredError):
            await client.complete_chain(
                tx_ctx=None,
                transaction_hooks=None,  # type: ignore[arg-type]
                job_type=approval,
                id=chain.id,
                complete=look,
            )

    async def test_complete_chain_raises_on_a_type_mismatch(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, approval, Request(amount=1))

        async def approve(_: CompleteContext[Any]) -> Decision:
            return Decision(approved=True)

        with pytest.raises(JobTypeMismatchError) as caught:
            await self._complete(s, client, other, chain.id, approve)
        assert caught.value.expected_type_name == other.name
        assert caught.value.actual_type_name == approval.name

    async def test_await_chain_raises_on_a_type_mismatch(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, approval, Request(amount=1))
        with pytest.raises(JobTypeMismatchError):
            await client.await_chain(chain, timeout_ms=1_000, job_type=other)
