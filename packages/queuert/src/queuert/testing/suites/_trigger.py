"""Suite "trigger job": making scheduled jobs due now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

import pytest

from ..._client import StartChainItem
from ..._entities import ScheduleAfter
from ..._job_types import EntryJobType, Slot, define_job_types
from ..._worker._processors import Processor
from ...errors import JobNotFoundError, JobNotTriggerableError, TransactionContextRequiredError
from ._base import IntegrationSuite, SuiteContext, finish_with

if TYPE_CHECKING:
    from ..._client import Client
    from ..._worker._context import AttemptContext, AttemptResult

__all__ = ("TriggerSuite",)

HOUR_MS = 3_600_000


class Ping(TypedDict):
    n: int


later = EntryJobType[Ping, Ping]("trigger.later")
waiting = EntryJobType[Ping, Ping]("trigger.waiting", blockers=[Slot("trigger.later")])
JOB_TYPES = define_job_types(later, waiting)


async def _echo(ctx: AttemptContext[object, Ping, Ping]) -> AttemptResult[Ping, Ping]:
    return await finish_with(ctx, ctx.job.input)


class TriggerSuite(IntegrationSuite):
    """`trigger_job` / `trigger_jobs`."""

    async def _trigger(self, s: SuiteContext, client: Client[Any], ids: list[str]) -> list[Any]:
        return await s.tx(lambda tx_ctx, hooks: client.trigger_jobs(tx_ctx=tx_ctx, transaction_hooks=hooks, ids=ids))

    async def test_triggers_a_future_job_to_run_now(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, later, Ping(n=1), schedule=ScheduleAfter(HOUR_MS))
        before = datetime.now(UTC)
        job = await s.tx(lambda tx_ctx, hooks: client.trigger_job(tx_ctx=tx_ctx, transaction_hooks=hooks, id=chain.id))
        assert job.status == "pending"
        assert abs(job.scheduled_at - before) < timedelta(seconds=5)
        assert len(s.entries("job_triggered")) == 1

    async def test_the_triggered_job_is_picked_up_by_a_worker(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        await s.start_worker(client, [Processor(job_type=later, attempt_handler=_echo)])
        chain = await s.start_chain(client, later, Ping(n=7), schedule=ScheduleAfter(HOUR_MS))
        await self._trigger(s, client, [chain.id])
        assert (await s.await_chain(client, chain)).output == {"n": 7}

    async def test_raises_job_not_found_for_an_unknown_job(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        missing = s.generate_id()
        with pytest.raises(JobNotFoundError) as caught:
            await self._trigger(s, client, [missing])
        assert caught.value.job_id == missing

    async def test_raises_not_triggerable_for_a_completed_job(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        await s.start_worker(client, [Processor(job_type=later, attempt_handler=_echo)])
        chain = await s.start_chain(client, later, Ping(n=1))
        await s.await_chain(client, chain)
        with pytest.raises(JobNotTriggerableError) as caught:
            await self._trigger(s, client, [chain.id])
        assert caught.value.status == "completed"

    async def test_raises_not_triggerable_for_a_blocked_job(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        blocker = await s.start_chain(client, later, Ping(n=1), schedule=ScheduleAfter(HOUR_MS))
        blocked = await s.start_chain(client, waiting, Ping(n=2), blockers=[blocker])
        with pytest.raises(JobNotTriggerableError) as caught:
            await self._trigger(s, client, [blocked.id])
        assert caught.value.job_id == blocked.id
        assert caught.value.status == "blocked"

    async def test_trigger_jobs_returns_jobs_in_input_order(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chains = await s.start_chains(
            client, [StartChainItem(job_type=later, input=Ping(n=n), schedule=ScheduleAfter(HOUR_MS)) for n in range(3)]
        )
        ids = [chains[2].id, chains[0].id, chains[2].id, chains[1].id]
        jobs = await self._trigger(s, client, ids)
        assert [job.id for job in jobs] == [chains[2].id, chains[0].id, chains[1].id]
        assert await self._trigger(s, client, []) == []

    async def test_fails_atomically_when_any_job_is_missing(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, later, Ping(n=1), schedule=ScheduleAfter(HOUR_MS))
        with pytest.raises(JobNotFoundError):
            await self._trigger(s, client, [chain.id, s.generate_id()])
        job = await client.get_job(chain.id)
        assert job is not None
        assert job.scheduled_at - job.created_at > timedelta(minutes=30)

    async def test_fails_atomically_when_any_job_is_not_pending(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, later, Ping(n=1), schedule=ScheduleAfter(HOUR_MS))
        blocked = await s.start_chain(client, waiting, Ping(n=2), blockers=[chain])
        with pytest.raises(JobNotTriggerableError):
            await self._trigger(s, client, [chain.id, blocked.id])
        job = await client.get_job(chain.id)
        assert job is not None
        assert job.scheduled_at - job.created_at > timedelta(minutes=30)

    async def test_raises_without_a_transaction_context(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, later, Ping(n=1), schedule=ScheduleAfter(HOUR_MS))
        with pytest.raises(TransactionContextRequiredError):
            await client.trigger_job(tx_ctx=None, transaction_hooks=None, id=chain.id)  # type: ignore[arg-type]
        with pytest.raises(TransactionContextRequiredError):
            await client.trigger_jobs(tx_ctx=None, transaction_hooks=None, ids=[])  # type: ignore[arg-type]
