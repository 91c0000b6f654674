"""Suite "wait chain completion": `await_chain` returning, timing out, aborting and failing."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, TypedDict

import pytest

from ..._abort import AbortController
from ..._job_types import EntryJobType, define_job_types
from ..._worker._processors import Processor
from ...errors import ChainNotFoundError, WaitChainTimeoutError
from ._base import IntegrationSuite, SuiteContext, finish_with

if TYPE_CHECKING:
    from ..._worker._context import AttemptContext, AttemptResult

__all__ = ("WaitChainCompletionSuite",)


class Ping(TypedDict):
    n: int


echo = EntryJobType[Ping, Ping]("wait.echo")
JOB_TYPES = define_job_types(echo)


async def _echo(ctx: AttemptContext[object, Ping, Ping]) -> AttemptResult[Ping, Ping]:
    return await finish_with(ctx, ctx.job.input)


class WaitChainCompletionSuite(IntegrationSuite):
    """`client.await_chain`."""

    async def test_returns_an_already_completed_chain_at_once(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        await s.start_worker(client, [Processor(job_type=echo, attempt_handler=_echo)])
        chain = await s.start_chain(client, echo, Ping(n=1))
        await s.await_chain(client, chain)
        loop = asyncio.get_running_loop()
        started = loop.time()
        # A poll interval far longer than the bound: only the immediate check can succeed.
        done = await client.await_chain(chain, timeout_ms=1_000, poll_interval_ms=60_000)
        assert done.output == {"n": 1}
        assert loop.time() - started < 0.5

    async def test_returns_when_the_chain_completes_before_the_timeout(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, echo, Ping(n=2))
        waiter = asyncio.create_task(s.await_chain(client, chain, timeout_ms=30_000))
        await s.start_worker(client, [Processor(job_type=echo, attempt_handler=_echo)])
        async with asyncio.timeout(s.timeout_ms / 1000):
            done = await waiter
        assert done.output == {"n": 2}
        # The suite fixture fails the test if the wait left a timer task behind.

    async def test_raises_a_timeout_error_when_its_signal_aborts(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, echo, Ping(n=3))
        controller: AbortController[str] = AbortController()
        waiter = asyncio.create_task(client.await_chain(chain, timeout_ms=30_000, signal=controller.signal))
        controller.abort("user cancelled")
        with pytest.raises(WaitChainTimeoutError) as caught:
            async with asyncio.timeout(s.timeout_ms / 1000):
                await waiter
        assert "abort" in str(caught.value)
        assert caught.value.chain_id == chain.id

    async def test_raises_a_timeout_error(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, echo, Ping(n=4))
        with pytest.raises(WaitChainTimeoutError) as caught:
            await client.await_chain(chain, timeout_ms=50, poll_interval_ms=10)
        assert caught.value.timeout_ms == 50
        assert caught.value.chain_id == chain.id

    async def test_raises_for_a_chain_that_does_not_exist(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        with pytest.raises(ChainNotFoundError):
            await client.await_chain(s.generate_id(), timeout_ms=1_000)
