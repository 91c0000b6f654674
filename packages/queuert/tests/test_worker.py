"""The worker's configuration, its handling of faulty handlers and adapters, and its building blocks."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

import pytest

from queuert import (
    AttemptContext,
    AttemptMiddleware,
    AttemptResult,
    BackoffConfig,
    Client,
    CompleteContext,
    DuplicateJobTypeError,
    EntryJobType,
    InProcessStateAdapter,
    InProcessTx,
    LeaseConfig,
    LogEntry,
    Next,
    ObservabilityAdapter,
    Processor,
    Processors,
    RunningJob,
    UnknownJobTypeError,
    WorkerDefaults,
    create_client,
    create_in_process_notify_adapter,
    create_in_process_state_adapter,
    create_in_process_worker,
    create_processors,
    define_job_types,
    transaction_hooks,
)
from queuert._worker._config import DEFAULT_BACKOFF, backoff_ms, make_worker_id
from queuert._worker._retry import serialize_error
from queuert.adapters import (
    AttemptCompleted,
    AttemptFailed,
    AttemptSpanHandle,
    SpanHandle,
)
from queuert.testing import (
    FlakyNotifyAdapter,
    FlakyStateAdapter,
    fail_operations,
    process_one,
    process_until_idle,
    wait_until,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from queuert.adapters import (
        AttemptSpanData,
        AttemptSpanResult,
        JobData,
        JobProcessingData,
    )

T = TypeVar("T")


class Ping(TypedDict):
    n: int


ping = EntryJobType[Ping, Ping]("worker_test.ping")
pong = EntryJobType[Ping, Ping]("worker_test.pong")
JOB_TYPES = define_job_types(ping, pong)


async def echo(ctx: AttemptContext[InProcessTx, Ping, Ping]) -> AttemptResult[Ping, Ping]:
    async def finish(_: CompleteContext[InProcessTx]) -> Ping:
        return ctx.job.input

    return await ctx.complete(finish)


class Harness:
    def __init__(self, state: InProcessStateAdapter, client: Client[InProcessTx], logs: list[LogEntry]) -> None:
        self.state = state
        self.client = client
        self.logs = logs

    def entries(self, type_name: str) -> list[LogEntry]:
        return [e for e in self.logs if e["type"] == type_name]

    async def start(self, job_type: Any = ping, n: int = 1, client: Client[InProcessTx] | None = None) -> str:
        chosen = client or self.client
        async with transaction_hooks() as hooks:
            started = await self.state.with_transaction(
                lambda tx: chosen.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=job_type, input=Ping(n=n))
            )
        return started.id

    def processors(self, handler: Any = echo, **options: Any) -> Processors[InProcessTx]:
        return create_processors(
            client=self.client, processors=[Processor(job_type=ping, attempt_handler=handler)], **options
        )


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    state = await create_in_process_state_adapter()
    logs: list[LogEntry] = []
    client = await create_client(state_adapter=state, job_types=JOB_TYPES, log=logs.append)
    yield Harness(state, client, logs)
    await state.close()


# --- configuration ------------------------------------------------------------------------


async def test_create_processors_rejects_unknown_and_duplicate_types(harness: Harness) -> None:
    other = EntryJobType[Ping, Ping]("worker_test.unknown")
    with pytest.raises(UnknownJobTypeError) as unknown:
        create_processors(client=harness.client, processors=[Processor(job_type=other, attempt_handler=echo)])
    assert unknown.value.type_name == "worker_test.unknown"
    with pytest.raises(DuplicateJobTypeError) as duplicate:
        create_processors(
            client=harness.client,
            processors=[Processor(job_type=ping, attempt_handler=echo), Processor(job_type=ping, attempt_handler=echo)],
        )
    assert duplicate.value.duplicate_type_names == ("worker_test.ping",)


async def test_create_processors_checks_its_arguments(harness: Harness) -> None:
    with pytest.raises(ValueError, match="key must be the job type name"):
        create_processors(
            client=harness.client, processors={"worker_test.pong": Processor(job_type=ping, attempt_handler=echo)}
        )
    with pytest.raises(ValueError, match="needs job_type"):
        create_processors(client=harness.client, processors=[Processor(attempt_handler=echo)])
    with pytest.raises(TypeError):
        create_processors(client=harness.client, processors=[echo])  # type: ignore[list-item]
    not_middleware: Any = object()
    with pytest.raises(TypeError):
        create_processors(
            client=harness.client,
            processors=[Processor(job_type=ping, attempt_handler=echo)],
            attempt_middleware=[not_middleware],
        )
    keyed = create_processors(client=harness.client, processors={"worker_test.ping": Processor(attempt_handler=echo)})
    assert keyed.type_names == ("worker_test.ping",)


async def test_worker_rejects_overlapping_slices_and_foreign_processors(harness: Harness) -> None:
    with pytest.raises(DuplicateJobTypeError):
        await create_in_process_worker(client=harness.client, processors=[harness.processors(), harness.processors()])
    other_client = await create_client(
        state_adapter=harness.state, job_types=define_job_types(EntryJobType[Ping, Ping]("worker_test.elsewhere"))
    )
    with pytest.raises(UnknownJobTypeError):
        await create_in_process_worker(client=other_client, processors=harness.processors())
    with pytest.raises(ValueError, match="at least one processor"):
        await create_in_process_worker(client=harness.client, processors=[])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"worker_name": ""}, "worker_name"),
        ({"worker_name": "has space"}, "worker_name"),
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": 1.5}, "concurrency"),
        ({"poll_interval_ms": 0}, "poll_interval_ms"),
    ],
)
async def test_worker_options_are_validated(harness: Harness, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        await create_in_process_worker(client=harness.client, processors=harness.processors(), **options)


def test_worker_ids() -> None:
    assert make_worker_id("billing.v2_a-1").startswith("billing.v2_a-1-")
    assert len(make_worker_id(None)) == 36


class _Layer(AttemptMiddleware[InProcessTx]):
    async def wrap_handler(self, *, job: RunningJob[Any], worker_id: str, next: Next[T]) -> T:
        return await next()


async def test_required_attempt_middleware_is_checked_by_identity_and_order(harness: Harness) -> None:
    first, second, extra = _Layer(), _Layer(), _Layer()
    good = harness.processors(attempt_middleware=[first, extra, second])
    await create_in_process_worker(client=harness.client, processors=good, required_attempt_middleware=[first, second])
    for middleware in ([second, first], [first], [_Layer(), second]):
        with pytest.raises(ValueError, match=r"worker_test\.ping") as caught:
            await create_in_process_worker(
                client=harness.client,
                processors=harness.processors(attempt_middleware=middleware),
                required_attempt_middleware=[first, second],
            )
        assert "lacks required attempt middleware" in str(caught.value)


def test_backoff_defaults_and_progression() -> None:
    delays = [backoff_ms(DEFAULT_BACKOFF, attempt) for attempt in range(1, 9)]
    assert delays == [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]
    assert backoff_ms(BackoffConfig(100, 1_000, 3), 3) == 900
    assert backoff_ms(BackoffConfig(100, 1_000, 3), 10_000) == 1_000  # no overflow
    with pytest.raises(ValueError, match="max_delay_ms"):
        BackoffConfig(100, 50)
    with pytest.raises(ValueError, match="multiplier"):
        BackoffConfig(100, 500, 0.5)
    with pytest.raises(ValueError, match="lease_ms"):
        LeaseConfig(lease_ms=0, renew_interval_ms=10)


class _Detailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.status = 429
        self.retry_after = 3


class _Opaque:
    def __init__(self) -> None:
        self.a, self.b, self.c, self.d, self.e, self.f = 1, 2, 3, 4, 5, 6


def test_error_serialization() -> None:
    assert serialize_error("plain text") == "plain text"
    assert serialize_error(None) == "None"
    assert serialize_error({"code": 1}) == '{"code": 1}'
    assert serialize_error(_Opaque()) == "{a: 1, b: 2, c: 3, d: 4, e: 5}"
    try:
        raise _Detailed("too many requests")
    except _Detailed as error:
        text = serialize_error(error)
    lines = text.splitlines()
    assert lines[0].startswith("Traceback")
    assert "_Detailed: too many requests" in text
    assert json.loads(lines[-1]) == {"status": 429, "retry_after": 3}
    long = serialize_error("x" * 20_000)
    assert long == "x" * 10_000 + "… [truncated]"


# --- faults ----------------------------------------------------------------------------------


class Fatal(BaseException):
    """A BaseException that is neither cancellation nor an interpreter exit."""


async def test_a_base_exception_from_a_handler_propagates_after_rolling_back(harness: Harness) -> None:
    async def fatal(ctx: AttemptContext[InProcessTx, Ping, Ping]) -> AttemptResult[Ping, Ping]:
        raise Fatal("stop everything")

    job_id = await harness.start()
    with pytest.raises(Fatal):
        await process_one(harness.client, harness.processors(fatal))
    job = await harness.client.get_job(job_id)
    assert job is not None
    # An atomic attempt rolled back entirely: the job is as if never picked up.
    assert job.status == "pending"
    assert job.attempt == 0
    assert not harness.entries("job_attempt_failed")


async def test_a_base_exception_from_a_staged_handler_leaves_the_job_to_its_lease(harness: Harness) -> None:
    async def fatal(ctx: AttemptContext[InProcessTx, Ping, Ping]) -> AttemptResult[Ping, Ping]:
        await ctx.prepare("staged")
        raise Fatal("stop everything")

    job_id = await harness.start()
    with pytest.raises(Fatal):
        await process_one(harness.client, harness.processors(fatal))
    job = await harness.client.get_job(job_id)
    assert job is not None
    assert job.status == "running"
    assert job.leased_until is not None


@pytest.mark.parametrize("mode", ["atomic", "staged"])
async def test_a_cancelled_error_raised_by_a_handler_propagates_and_is_retried_later(
    harness: Harness, mode: str
) -> None:
    async def cancelled(ctx: AttemptContext[InProcessTx, Ping, Ping]) -> AttemptResult[Ping, Ping]:
        await ctx.prepare("atomic" if mode == "atomic" else "staged")
        raise asyncio.CancelledError

    job_id = await harness.start()
    with pytest.raises(asyncio.CancelledError):
        await process_one(
            harness.client,
            harness.processors(cancelled),
            defaults=WorkerDefaults(backoff_config=BackoffConfig(60_000, 60_000)),
        )
    job = await harness.client.get_job(job_id)
    assert job is not None
    # Recorded as a failed attempt with backoff: no hot loop of instant retries.
    assert job.status == "pending"
    assert job.attempt == 1
    assert job.last_attempt_error is not None
    assert "CancelledError" in job.last_attempt_error
    assert (job.scheduled_at - job.created_at).total_seconds() > 30


async def test_cancelling_an_attempt_rolls_it_back(harness: Harness) -> None:
    entered = asyncio.Event()

    async def stuck(ctx: AttemptContext[InProcessTx, Ping, Ping]) -> AttemptResult[Ping, Ping]:
        await ctx.prepare("atomic")
        entered.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    job_id = await harness.start()
    task = asyncio.create_task(process_one(harness.client, harness.processors(stuck)))
    async with asyncio.timeout(5):
        await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    job = await harness.client.get_job(job_id)
    assert job is not None
    assert job.status == "pending"
    assert job.attempt == 0


async def test_a_state_adapter_failing_mid_attempt_fails_only_that_attempt(harness: Harness) -> None:
    flaky = FlakyStateAdapter(harness.state, plan=fail_operations("complete_job", times=1))
    client = await create_client(state_adapter=flaky, job_types=JOB_TYPES, log=harness.logs.append)
    processors = create_processors(client=client, processors=[Processor(job_type=ping, attempt_handler=echo)])
    job_id = await harness.start()
    first = await process_one(client, processors)
    assert first is not None
    assert first.status == "rescheduled"
    assert isinstance(first.error, ConnectionResetError)
    [adapter_error] = harness.entries("state_adapter_error")
    assert adapter_error["data"]["operation"] == "complete_job"
    async with transaction_hooks() as hooks:
        await harness.state.with_transaction(
            lambda tx: client.trigger_job(tx_ctx=tx, transaction_hooks=hooks, id=job_id)
        )
    second = await process_one(client, processors)
    assert second is not None
    assert second.status == "completed"


async def test_a_staged_attempt_that_cannot_record_its_failure_is_reaped_later(harness: Harness) -> None:
    flaky = FlakyStateAdapter(harness.state, plan=fail_operations("reschedule_job", times=1))
    client = await create_client(state_adapter=flaky, job_types=JOB_TYPES, log=harness.logs.append)

    async def failing_once(ctx: AttemptContext[InProcessTx, Ping, Ping]) -> AttemptResult[Ping, Ping]:
        await ctx.prepare("staged")
        if ctx.job.attempt == 1:
            raise RuntimeError("boom")
        return await echo(ctx)

    processors = create_processors(client=client, processors=[Processor(job_type=ping, attempt_handler=failing_once)])
    job_id = await harness.start()
    worker = await create_in_process_worker(
        client=client,
        processors=processors,
        poll_interval_ms=5_000,
        defaults=WorkerDefaults(lease_config=LeaseConfig(lease_ms=30, renew_interval_ms=10_000)),
    )
    async with worker:
        done = await client.await_chain(job_id, timeout_ms=5_000, poll_interval_ms=10)
    assert done.output == {"n": 1}
    assert len(harness.entries("job_reaped")) == 1
    assert not harness.entries("job_attempt_failed")


async def test_the_loop_recovers_from_state_adapter_errors(harness: Harness) -> None:
    flaky = FlakyStateAdapter(harness.state, plan=fail_operations("acquire_job", times=3))
    client = await create_client(state_adapter=flaky, job_types=JOB_TYPES, log=harness.logs.append)
    processors = create_processors(client=client, processors=[Processor(job_type=ping, attempt_handler=echo)])
    job_id = await harness.start()
    worker = await create_in_process_worker(
        client=client, processors=processors, poll_interval_ms=5_000, recovery_backoff_config=BackoffConfig(5, 20)
    )
    async with worker:
        done = await client.await_chain(job_id, timeout_ms=5_000, poll_interval_ms=10)
    assert done.status == "completed"
    assert len(harness.entries("worker_error")) == 3


async def test_a_failing_notify_adapter_costs_only_latency(harness: Harness) -> None:
    notify = await create_in_process_notify_adapter()
    broken = FlakyNotifyAdapter(notify, plan=lambda _operation: True)
    client = await create_client(
        state_adapter=harness.state, notify_adapter=broken, job_types=JOB_TYPES, log=harness.logs.append
    )
    processors = create_processors(client=client, processors=[Processor(job_type=ping, attempt_handler=echo)])
    async with await create_in_process_worker(client=client, processors=processors, poll_interval_ms=20):
        job_id = await harness.start(client=client)  # publishing fails after commit: not the caller's problem
        done = await client.await_chain(job_id, timeout_ms=5_000, poll_interval_ms=10)
    assert done.status == "completed"
    operations = {e["data"]["operation"] for e in harness.entries("notify_adapter_error")}
    assert {"notify_job_scheduled", "listen_chain_completed"} <= operations
    await notify.close()


class _Exploding(ObservabilityAdapter):
    def job_attempt_started(self, job: JobProcessingData, *, worker_id: str) -> None:
        raise RuntimeError("metrics backend down")

    def job_completed(
        self, job: JobProcessingData, *, worker_id: str | None, output: object, continued_with: JobData | None = None
    ) -> None:
        raise RuntimeError("metrics backend down")


async def test_a_failing_observability_adapter_does_not_disturb_processing(harness: Harness) -> None:
    client = await create_client(state_adapter=harness.state, job_types=JOB_TYPES, observability_adapter=_Exploding())
    processors = create_processors(client=client, processors=[Processor(job_type=ping, attempt_handler=echo)])
    job_id = await harness.start(client=client)
    outcome = await process_one(client, processors)
    assert outcome is not None
    assert outcome.status == "completed"
    job = await client.get_job(job_id)
    assert job is not None
    assert job.status == "completed"


async def test_a_slow_notification_does_not_stop_the_worker_from_polling(harness: Harness) -> None:
    worker = await create_in_process_worker(client=harness.client, processors=harness.processors(), poll_interval_ms=20)
    async with worker:
        job_ids = [await harness.start(n=n) for n in range(3)]
        for job_id in job_ids:
            await harness.client.await_chain(job_id, timeout_ms=5_000, poll_interval_ms=10)
        await wait_until(lambda: len(harness.entries("job_completed")) == 3)


class _FailsBeforeNext(AttemptMiddleware[InProcessTx]):
    async def wrap_handler(self, *, job: RunningJob[Any], worker_id: str, next: Next[T]) -> T:
        raise RuntimeError("middleware is broken")


async def test_middleware_failing_before_the_handler_undoes_the_acquisition(harness: Harness) -> None:
    job_id = await harness.start()
    processors = harness.processors(attempt_middleware=[_FailsBeforeNext()])
    with pytest.raises(RuntimeError, match="middleware is broken"):
        await process_one(harness.client, processors)
    job = await harness.client.get_job(job_id)
    assert job is not None
    assert (job.status, job.attempt) == ("pending", 0)
    assert not harness.entries("job_attempt_started")
    # In a worker the same failure is a worker_error, and the loop carries on after its
    # recovery backoff rather than re-acquiring the job in a tight loop.
    worker = await create_in_process_worker(
        client=harness.client,
        processors=processors,
        poll_interval_ms=10,
        recovery_backoff_config=BackoffConfig(100, 100),
    )
    async with worker:
        await wait_until(lambda: len(harness.entries("worker_error")) >= 2)
    errors = harness.entries("worker_error")
    assert len(errors) <= 3
    assert "middleware is broken" in str(errors[0].get("error"))


class _AttemptSpan(AttemptSpanHandle):
    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.results: list[AttemptSpanResult] = []

    def get_chain_trace_context(self) -> str:
        return "00-" + "1" * 32 + "-" + "2" * 16 + "-01"

    def get_trace_context(self) -> str:
        return "00-" + "1" * 32 + "-" + "3" * 16 + "-01"

    def start_prepare(self) -> SpanHandle:
        self.events.append("prepare start")
        return _SubSpan(self.events, "prepare")

    def start_complete(self) -> SpanHandle:
        self.events.append("complete start")
        return _SubSpan(self.events, "complete")

    def end(self, result: AttemptSpanResult) -> None:
        self.events.append(f"attempt end {type(result).__name__}")
        self.results.append(result)


class _SubSpan(SpanHandle):
    def __init__(self, events: list[str], name: str) -> None:
        self.events = events
        self.name = name

    def end(self) -> None:
        self.events.append(f"{self.name} end")


class _Tracing(ObservabilityAdapter):
    def __init__(self) -> None:
        self.events: list[str] = []
        self.spans: list[_AttemptSpan] = []
        self.durations: list[float] = []

    def start_attempt_span(self, data: AttemptSpanData) -> AttemptSpanHandle | None:
        self.events.append(f"attempt start #{data.attempt}")
        span = _AttemptSpan(self.events)
        self.spans.append(span)
        return span

    def job_attempt_duration(self, job: JobProcessingData, *, duration_ms: float, worker_id: str) -> None:
        self.durations.append(duration_ms)


async def test_attempt_spans_and_durations(harness: Harness) -> None:
    tracing = _Tracing()
    client = await create_client(state_adapter=harness.state, job_types=JOB_TYPES, observability_adapter=tracing)

    async def handle(ctx: AttemptContext[InProcessTx, Ping, Ping]) -> AttemptResult[Ping, Ping]:
        await ctx.prepare("staged")
        if ctx.job.attempt == 1:
            raise RuntimeError("first attempt fails")
        return await echo(ctx)

    processors = create_processors(client=client, processors=[Processor(job_type=ping, attempt_handler=handle)])
    defaults = WorkerDefaults(backoff_config=BackoffConfig(0, 0))
    await harness.start(client=client)
    summary = await process_until_idle(client, processors, defaults=defaults)
    assert [o.status for o in summary.outcomes] == ["rescheduled", "completed"]
    assert tracing.events == [
        "attempt start #1",
        "prepare start",
        "prepare end",
        "attempt end AttemptFailed",
        "attempt start #2",
        "prepare start",
        "prepare end",
        "complete start",
        "complete end",
        "attempt end AttemptCompleted",
    ]
    failed = tracing.spans[0].results[0]
    assert isinstance(failed, AttemptFailed)
    assert failed.rescheduled_after_ms == 0
    completed = tracing.spans[1].results[0]
    assert isinstance(completed, AttemptCompleted)
    assert completed.chain_completed
    assert completed.chain_output == {"n": 1}
    # Only the successful attempt is timed.
    assert len(tracing.durations) == 1
