"""Suites "state resilience" and "notify resilience": processing through flaky adapters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

import pytest

from ..._job_types import EntryJobType, define_job_types
from ..._worker._config import BackoffConfig, LeaseConfig
from ..._worker._processors import Processor
from .._flaky import FlakyNotifyAdapter, FlakyStateAdapter
from ._base import IntegrationSuite, SuiteContext, finish_with

if TYPE_CHECKING:
    from ..._client import Client
    from ..._worker._context import AttemptContext, AttemptResult

__all__ = ("NotifyResilienceSuite", "StateResilienceSuite")

CHAINS = 20


class Ping(TypedDict):
    n: int


flaky = EntryJobType[Ping, Ping]("resilience.flaky")
JOB_TYPES = define_job_types(flaky)


async def _alternating(ctx: AttemptContext[object, Ping, Ping]) -> AttemptResult[Ping, Ping]:
    # Even inputs complete atomically, odd ones staged.
    if ctx.job.input["n"] % 2:
        await ctx.prepare("staged")
    return await finish_with(ctx, ctx.job.input)


async def _all_completed(client: Client[Any], chain_ids: list[str]) -> bool:
    for chain_id in chain_ids:
        chain = await client.get_chain(chain_id)
        if chain is None or chain.status != "completed":
            return False
    return True


class StateResilienceSuite(IntegrationSuite):
    """Workers whose state adapter fails in bursts (connection resets) still finish every chain."""

    async def _run(self, s: SuiteContext, *, workers: int, concurrency: int) -> None:
        client = await s.create_client(JOB_TYPES)
        flaky_state = FlakyStateAdapter(s.state_adapter)
        worker_client = await s.create_client(JOB_TYPES, state_adapter=flaky_state)
        chains = [await s.start_chain(client, flaky, Ping(n=n)) for n in range(CHAINS)]
        for index in range(workers):
            await s.start_worker(
                worker_client,
                [Processor(job_type=flaky, attempt_handler=_alternating)],
                worker_name=f"flaky{index}",
                concurrency=concurrency,
                poll_interval_ms=10_000,
                recovery_backoff_config=BackoffConfig(1, 1),
                backoff_config=BackoffConfig(1, 1),
                # Short enough that a lease lost in a failure burst is reaped within the test,
                # long enough that a slow driver's staged attempt does not lose every lease.
                lease_config=LeaseConfig(lease_ms=50, renew_interval_ms=20),
            )
        ids = [chain.id for chain in chains]
        # 50 ms leases through an adapter that fails in bursts: every lost lease costs a reap and
        # a retry, and how many there are depends on scheduling jitter (a loaded CI machine
        # loses more). The bound is generous so the case tests recovery, not the machine's speed.
        await s.wait_until(
            lambda: _all_completed(client, ids),
            timeout_ms=max(s.timeout_ms, 45_000),
            message="not every chain completed",
        )
        await s.stop_workers()
        assert flaky_state.calls > 5
        assert flaky_state.failures > 0, "the flaky adapter injected no failure"
        # Workers reported the failures and kept going.
        assert s.entries("state_adapter_error")

    async def test_handles_transient_database_errors(self, queuert_suite: SuiteContext) -> None:
        await self._run(queuert_suite, workers=1, concurrency=1)

    async def test_handles_transient_database_errors_with_several_slots(self, queuert_suite: SuiteContext) -> None:
        self.require_concurrency()
        await self._run(queuert_suite, workers=1, concurrency=4)

    async def test_handles_transient_database_errors_with_several_workers(self, queuert_suite: SuiteContext) -> None:
        self.require_concurrency()
        await self._run(queuert_suite, workers=3, concurrency=2)


class NotifyResilienceSuite(IntegrationSuite):
    """Clients and workers whose notify adapter fails in bursts still finish every chain."""

    async def test_handles_transient_notify_errors(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        if s.notify_adapter is None:
            pytest.skip("no notify adapter under test")
        flaky_notify = FlakyNotifyAdapter(s.notify_adapter)
        client = await s.create_client(JOB_TYPES, notify_adapter=flaky_notify)
        await s.start_worker(
            client, [Processor(job_type=flaky, attempt_handler=_alternating)], concurrency=2, poll_interval_ms=200
        )
        chains = [await s.start_chain(client, flaky, Ping(n=n)) for n in range(CHAINS)]
        for chain in chains:
            done = await client.await_chain(chain, timeout_ms=s.timeout_ms, poll_interval_ms=100)
            assert done.output == chain.input
        assert flaky_notify.failures > 0, "the flaky adapter injected no failure"
        assert s.entries("notify_adapter_error")
