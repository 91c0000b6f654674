"""Suite "worker": picking up work, order, gauges, middleware, and graceful shutdown."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

import pytest

from ..._extras import ContextKey, Extras
from ..._job_types import EntryJobType, define_job_types
from ..._observability_adapter import ObservabilityAdapter
from ..._worker._middleware import AttemptMiddleware
from ..._worker._processors import Processor, create_processors
from ..._worker._worker import InProcessWorker, create_in_process_worker
from ._base import IntegrationSuite, SuiteContext, finish_with

if TYPE_CHECKING:
    from ..._client import Client
    from ..._completion import CompleteContext
    from ..._entities import RunningJob
    from ..._worker._context import AttemptContext, AttemptResult, PrepareContext
    from ..._worker._middleware import Next

__all__ = ("WorkerSuite",)

T = TypeVar("T")


class Ping(TypedDict):
    n: int


class Seen(TypedDict):
    seen: list[str]


alpha = EntryJobType[Ping, Ping]("worker.alpha")
beta = EntryJobType[Ping, Ping]("worker.beta")
noted = EntryJobType[Ping, Seen]("worker.noted")
hanging = EntryJobType[Ping, Ping]("worker.hanging")
JOB_TYPES = define_job_types(alpha, beta, noted, hanging)

TENANT = ContextKey[str]("tenant")
TRACE = ContextKey[str]("trace")


async def _echo(ctx: AttemptContext[object, Ping, Ping]) -> AttemptResult[Ping, Ping]:
    return await finish_with(ctx, ctx.job.input)


class _Gauges(ObservabilityAdapter):
    def __init__(self) -> None:
        self.idle: dict[str, int] = {}
        self.processing: dict[str, int] = {}
        self.processing_peaks: dict[str, int] = {}

    def job_type_idle_change(self, *, delta: int, type_name: str, worker_id: str) -> None:
        self.idle[type_name] = self.idle.get(type_name, 0) + delta

    def job_type_processing_change(self, *, delta: int, type_name: str, worker_id: str) -> None:
        value = self.processing[type_name] = self.processing.get(type_name, 0) + delta
        self.processing_peaks[type_name] = max(self.processing_peaks.get(type_name, 0), value)


class _Recorder(AttemptMiddleware[object]):
    """Records when each hook runs and adds one extra for the layers inside."""

    def __init__(self, name: str, events: list[str], key: ContextKey[str], value: str) -> None:
        self.name = name
        self.events = events
        self.key = key
        self.value = value

    async def wrap_handler(self, *, job: RunningJob[Any], worker_id: str, next: Next[T]) -> T:
        self.events.append(f"{self.name}:handler:before")
        try:
            return await next(Extras().set(self.key, self.value))
        finally:
            self.events.append(f"{self.name}:handler:after")

    async def wrap_prepare(self, *, job: RunningJob[Any], tx_ctx: object, next: Next[T]) -> T:
        self.events.append(f"{self.name}:prepare:before")
        try:
            return await next(Extras().set(self.key, self.value + "+prepare"))
        finally:
            self.events.append(f"{self.name}:prepare:after")

    async def wrap_complete(self, *, job: RunningJob[Any], tx_ctx: object, transaction_hooks: Any, next: Next[T]) -> T:
        self.events.append(f"{self.name}:complete:before")
        try:
            return await next(Extras().set(self.key, self.value + "+complete"))
        finally:
            self.events.append(f"{self.name}:complete:after")


async def _job_status(client: Client[Any], job_id: str) -> str | None:
    job = await client.get_job(job_id)
    return job.status if job is not None else None


class WorkerSuite(IntegrationSuite):
    """The worker loop and its lifecycle."""

    async def test_picks_up_a_job_added_while_the_worker_was_offline(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, alpha, Ping(n=1))
        await s.start_worker(client, [Processor(job_type=alpha, attempt_handler=_echo)])
        assert (await s.await_chain(client, chain)).output == {"n": 1}

    async def test_picks_up_a_job_added_while_the_worker_is_online(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        await s.start_worker(client, [Processor(job_type=alpha, attempt_handler=_echo)])
        chain = await s.start_chain(client, alpha, Ping(n=2))
        assert (await s.await_chain(client, chain)).output == {"n": 2}

    async def test_processes_several_job_types_with_per_type_gauges(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        gauges = _Gauges()
        client = await s.create_client(JOB_TYPES, observability_adapter=gauges)
        worker = await s.start_worker(
            client,
            [Processor(job_type=alpha, attempt_handler=_echo), Processor(job_type=beta, attempt_handler=_echo)],
            concurrency=3,
        )
        assert gauges.idle == {alpha.name: 3, beta.name: 3}
        chains = [await s.start_chain(client, t, Ping(n=n)) for n, t in enumerate((alpha, beta, beta))]
        for chain in chains:
            await s.await_chain(client, chain)
        await worker.stop()
        assert gauges.idle == {alpha.name: 0, beta.name: 0}
        assert gauges.processing == {alpha.name: 0, beta.name: 0}
        assert set(gauges.processing_peaks) == {alpha.name, beta.name}
        started = s.entries("worker_started")
        assert started[0]["data"]["job_type_names"] == [alpha.name, beta.name]
        assert [e["type"] for e in s.logs if e["type"].startswith("worker_")][-2:] == [
            "worker_stopping",
            "worker_stopped",
        ]

    async def test_processes_jobs_in_order(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        order: list[int] = []

        async def record(ctx: AttemptContext[object, Ping, Ping]) -> AttemptResult[Ping, Ping]:
            order.append(ctx.job.input["n"])
            return await _echo(ctx)

        chains = [await s.start_chain(client, alpha, Ping(n=n)) for n in range(5)]
        await s.start_worker(client, [Processor(job_type=alpha, attempt_handler=record)])
        for chain in chains:
            await s.await_chain(client, chain)
        assert order == [0, 1, 2, 3, 4]

    async def test_composes_wrap_handler_layers_with_typed_extras(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        events: list[str] = []

        async def handle(ctx: AttemptContext[object, Ping, Seen]) -> AttemptResult[Ping, Seen]:
            events.append("handler")
            return await finish_with(ctx, Seen(seen=[ctx.extras[TENANT], ctx.extras[TRACE]]))

        await s.start_worker(
            client,
            [Processor(job_type=noted, attempt_handler=handle)],
            attempt_middleware=[_Recorder("outer", events, TENANT, "acme"), _Recorder("inner", events, TRACE, "t-1")],
        )
        chain = await s.start_chain(client, noted, Ping(n=1))
        assert (await s.await_chain(client, chain)).output == {"seen": ["acme", "t-1"]}
        # The outer layers return after the commit that let await_chain return.
        await s.wait_until(lambda: "outer:handler:after" in events)
        handler_events = [e for e in events if ":prepare:" not in e and ":complete:" not in e]
        assert handler_events == [
            "outer:handler:before",
            "inner:handler:before",
            "handler",
            "inner:handler:after",
            "outer:handler:after",
        ]

    async def test_calls_wrap_prepare_around_the_prepare_callback(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        events: list[str] = []

        async def handle(ctx: AttemptContext[object, Ping, Seen]) -> AttemptResult[Ping, Seen]:
            async def load(prepare: PrepareContext[object]) -> str:
                events.append("callback")
                return prepare.extras[TENANT]

            tenant = await ctx.prepare("staged", load)
            return await finish_with(ctx, Seen(seen=[tenant]))

        await s.start_worker(
            client,
            [Processor(job_type=noted, attempt_handler=handle)],
            attempt_middleware=[_Recorder("mw", events, TENANT, "acme")],
        )
        chain = await s.start_chain(client, noted, Ping(n=1))
        assert (await s.await_chain(client, chain)).output == {"seen": ["acme+prepare"]}
        assert [e for e in events if ":handler:" not in e and ":complete:" not in e] == [
            "mw:prepare:before",
            "callback",
            "mw:prepare:after",
        ]

    async def test_calls_wrap_complete_around_the_complete_callback(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        events: list[str] = []

        async def handle(ctx: AttemptContext[object, Ping, Seen]) -> AttemptResult[Ping, Seen]:
            await ctx.prepare("atomic")  # no callback: wrap_prepare is not called

            async def finish(complete: CompleteContext[object]) -> Seen:
                events.append("callback")
                return Seen(seen=[complete.extras[TENANT]])

            return await ctx.complete(finish)

        await s.start_worker(
            client,
            [Processor(job_type=noted, attempt_handler=handle)],
            attempt_middleware=[_Recorder("mw", events, TENANT, "acme")],
        )
        chain = await s.start_chain(client, noted, Ping(n=1))
        assert (await s.await_chain(client, chain)).output == {"seen": ["acme+complete"]}
        assert [e for e in events if ":handler:" not in e] == [
            "mw:complete:before",
            "callback",
            "mw:complete:after",
        ]

    async def test_stop_waits_for_attempts_that_finish_within_the_grace_period(
        self, queuert_suite: SuiteContext
    ) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        running = asyncio.Event()
        release = asyncio.Event()

        async def handle(ctx: AttemptContext[object, Ping, Ping]) -> AttemptResult[Ping, Ping]:
            await ctx.prepare("staged")
            running.set()
            async with asyncio.timeout(s.timeout_ms / 1000):
                await release.wait()
            return await _echo(ctx)

        worker = await s.start_worker(client, [Processor(job_type=hanging, attempt_handler=handle)])
        chain = await s.start_chain(client, hanging, Ping(n=1))
        async with asyncio.timeout(s.timeout_ms / 1000):
            await running.wait()
        stopping = asyncio.create_task(worker.stop(grace_period_ms=s.timeout_ms))
        await s.wait_for_log("worker_stopping")
        assert not stopping.done()
        release.set()
        async with asyncio.timeout(s.timeout_ms / 1000):
            await stopping
        assert not worker.running
        done = await client.get_chain(chain.id)
        assert done is not None
        assert done.status == "completed"

    @pytest.mark.parametrize("mode", ["atomic", "staged"])
    async def test_stop_cancels_attempts_after_the_grace_period_without_losing_jobs(
        self, queuert_suite: SuiteContext, mode: str
    ) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        running = asyncio.Event()
        reasons: list[Any] = []

        async def stuck(ctx: AttemptContext[object, Ping, Ping]) -> AttemptResult[Ping, Ping]:
            await ctx.prepare("atomic" if mode == "atomic" else "staged")
            running.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                reasons.append(ctx.signal.reason)
                raise
            raise AssertionError("unreachable")

        worker = await s.start_worker(client, [Processor(job_type=hanging, attempt_handler=stuck)])
        chain = await s.start_chain(client, hanging, Ping(n=1))
        async with asyncio.timeout(s.timeout_ms / 1000):
            await running.wait()
        async with asyncio.timeout(s.timeout_ms / 1000):
            await worker.stop(grace_period_ms=50)
        assert reasons == ["worker_stopping"]
        job = await client.get_job(chain.id)
        assert job is not None
        # Nothing half-done: the job is pending again, ready for the next worker at once.
        assert job.status == "pending"
        if mode == "atomic":
            assert job.attempt == 0  # the whole attempt rolled back
        else:
            assert job.attempt == 1
            assert job.last_attempt_error is not None
            assert "CancelledError" in job.last_attempt_error
        await s.start_worker(client, [Processor(job_type=hanging, attempt_handler=_echo)], worker_name="next")
        assert (await s.await_chain(client, chain)).output == {"n": 1}

    async def test_lifecycle(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        worker = await s.start_worker(client, [Processor(job_type=alpha, attempt_handler=_echo)])
        assert worker.running
        assert worker.worker_id.startswith("suite-")
        with pytest.raises(RuntimeError):
            await worker.start()
        await worker.stop()
        await worker.stop()  # idempotent
        assert not worker.running
        chain = await s.start_chain(client, alpha, Ping(n=3))
        assert await _job_status(client, chain.id) == "pending"
        async with await _new_worker(s, client) as other:
            assert other.running
            assert (await s.await_chain(client, chain)).output == {"n": 3}
        assert not other.running


async def _new_worker(s: SuiteContext, client: Client[Any]) -> InProcessWorker[Any]:
    return await create_in_process_worker(
        client=client,
        processors=create_processors(client=client, processors=[Processor(job_type=alpha, attempt_handler=_echo)]),
        poll_interval_ms=s.poll_interval_ms,
    )
