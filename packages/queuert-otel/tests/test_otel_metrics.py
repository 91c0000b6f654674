"""Metrics: every instrument of the spec with its name, unit and attributes, recorded only after commit."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict

import pytest
from opentelemetry.sdk.metrics.export import Histogram, Sum

from queuert import (
    AttemptContext,
    AttemptResult,
    BackoffConfig,
    CompleteContext,
    ContinuationJob,
    EntryJobType,
    InProcessTx,
    JobType,
    NoOutput,
    Processor,
    WorkerDefaults,
    create_client,
    create_in_process_state_adapter,
    create_in_process_worker,
    create_processors,
    define_job_types,
    transaction_hooks,
)
from queuert.adapters import ChainData, JobData, JobProcessingData
from queuert.testing import process_until_idle, wait_until
from queuert_otel._metrics import DURATION_BUCKETS_S

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import Telemetry

    from queuert.adapters import StateAdapter
    from queuert_otel import OtelObservabilityAdapter

WORKER = "worker-1"
JOB = JobProcessingData(
    id="j-1", type_name="mail.send", chain_id="c-1", chain_type_name="mail.flow", status="running", attempt=2
)
CHAIN = ChainData(id="c-1", type_name="mail.flow")
NEXT = JobData(id="j-2", type_name="mail.log", chain_id="c-1", chain_type_name="mail.flow")
AT = datetime(2030, 1, 1, tzinfo=UTC)

J = {"queuert.job.type": "mail.send", "queuert.chain.type": "mail.flow"}
JW = {**J, "queuert.worker.id": WORKER}
W = {"queuert.worker.id": WORKER}
C = {"queuert.chain.type": "mail.flow"}
TW = {"queuert.job.type": "mail.send", "queuert.worker.id": WORKER}

# name -> (hook call, attributes, value)
COUNTERS: dict[str, tuple[Callable[[OtelObservabilityAdapter], None], dict[str, Any]]] = {
    "queuert.worker.started": (lambda a: a.worker_started(worker_id=WORKER, job_type_names=["mail.send"]), W),
    "queuert.worker.error": (lambda a: a.worker_error(worker_id=WORKER, error=RuntimeError("x")), W),
    "queuert.worker.stopping": (lambda a: a.worker_stopping(worker_id=WORKER), W),
    "queuert.worker.stopped": (lambda a: a.worker_stopped(worker_id=WORKER), W),
    "queuert.job.created": (lambda a: a.job_created(JOB, input={}, blockers=[CHAIN], scheduled_at=AT), J),
    "queuert.job.attempt.started": (lambda a: a.job_attempt_started(JOB, worker_id=WORKER), JW),
    "queuert.job.attempt.taken_by_another_worker": (
        lambda a: a.job_attempt_taken_by_another_worker(JOB, worker_id=WORKER, leased_by="w2", leased_until=AT),
        JW,
    ),
    "queuert.job.attempt.already_completed": (
        lambda a: a.job_attempt_already_completed(JOB, worker_id=WORKER, completed_by=None),
        JW,
    ),
    "queuert.job.attempt.lease_expired": (
        lambda a: a.job_attempt_lease_expired(JOB, worker_id=WORKER, leased_by=WORKER, leased_until=AT),
        JW,
    ),
    "queuert.job.attempt.lease_renewed": (
        lambda a: a.job_attempt_lease_renewed(JOB, worker_id=WORKER, leased_by=WORKER, leased_until=AT),
        JW,
    ),
    "queuert.job.attempt.failed": (
        lambda a: a.job_attempt_failed(JOB, worker_id=WORKER, error=ValueError("no"), rescheduled_after_ms=10),
        JW,
    ),
    "queuert.job.attempt.completed": (
        lambda a: a.job_attempt_completed(JOB, worker_id=WORKER, output=None, continued_with=NEXT),
        JW,
    ),
    "queuert.job.reaped": (lambda a: a.job_reaped(JOB, worker_id=WORKER, leased_by="w2", leased_until=AT), JW),
    "queuert.job.triggered": (lambda a: a.job_triggered(JOB), J),
    "queuert.job.blocked": (lambda a: a.job_blocked(JOB, blocked_by_chains=[CHAIN]), J),
    "queuert.job.unblocked": (lambda a: a.job_unblocked(JOB, unblocked_by_chain=CHAIN), J),
    "queuert.chain.created": (lambda a: a.chain_created(CHAIN, input={}), C),
    "queuert.chain.completed": (lambda a: a.chain_completed(CHAIN, output={}), C),
    "queuert.chain.deleted": (lambda a: a.chain_deleted(CHAIN), C),
    "queuert.notify_adapter.error": (
        lambda a: a.notify_adapter_error(operation="notify_job_scheduled", error=OSError()),
        {"queuert.adapter.operation": "notify_job_scheduled"},
    ),
    "queuert.state_adapter.error": (
        lambda a: a.state_adapter_error(operation="acquire_job", error=OSError()),
        {"queuert.adapter.operation": "acquire_job"},
    ),
}

HISTOGRAMS: dict[str, tuple[Callable[[OtelObservabilityAdapter], None], dict[str, Any], str]] = {
    "queuert.chain.duration": (
        lambda a: a.chain_duration(CHAIN, duration_ms=2_500),
        C,
        "Duration of chain from creation to completion",
    ),
    "queuert.job.duration": (
        lambda a: a.job_duration(JOB, duration_ms=2_500),
        J,
        "Duration of job from creation to completion",
    ),
    "queuert.job.attempt.duration": (
        lambda a: a.job_attempt_duration(JOB, duration_ms=2_500, worker_id=WORKER),
        JW,
        "Duration of job attempt processing",
    ),
}

GAUGES: dict[str, tuple[Callable[[OtelObservabilityAdapter], None], str]] = {
    "queuert.job_type.idle": (
        lambda a: a.job_type_idle_change(delta=3, type_name="mail.send", worker_id=WORKER),
        "Workers idle for this job type",
    ),
    "queuert.job_type.processing": (
        lambda a: a.job_type_processing_change(delta=3, type_name="mail.send", worker_id=WORKER),
        "Jobs of this type currently being processed",
    ),
}


def key(attributes: dict[str, Any]) -> frozenset[tuple[str, Any]]:
    return frozenset(attributes.items())


# --- the instrument catalogue -----------------------------------------------------------------


async def test_every_counter_has_its_name_and_attributes(telemetry: Telemetry) -> None:
    adapter = await telemetry.adapter()
    for call, _ in COUNTERS.values():
        call(adapter)

    metrics = telemetry.metrics()
    for name, (_, attributes) in COUNTERS.items():
        metric = metrics[name]
        assert isinstance(metric.data, Sum), name
        assert metric.data.is_monotonic, name
        assert metric.unit == "", name
        assert telemetry.values(name) == {key(attributes): 1}, name


async def test_job_completed_leaves_out_the_worker_of_a_workerless_completion(telemetry: Telemetry) -> None:
    adapter = await telemetry.adapter()
    adapter.job_completed(JOB, worker_id=WORKER, output=None, continued_with=NEXT)
    adapter.job_completed(JOB, worker_id=None, output={"sent": True})

    assert telemetry.values("queuert.job.completed") == {
        key({**JW, "queuert.job.continued": True}): 1,
        key({**J, "queuert.job.continued": False}): 1,
    }


async def test_histograms_record_seconds(telemetry: Telemetry) -> None:
    adapter = await telemetry.adapter()
    for call, _, _ in HISTOGRAMS.values():
        call(adapter)

    metrics = telemetry.metrics()
    for name, (_, attributes, description) in HISTOGRAMS.items():
        metric = metrics[name]
        assert isinstance(metric.data, Histogram), name
        assert (metric.unit, metric.description) == ("s", description), name
        [(attribute_set, point)] = telemetry.histogram(name).items()
        assert attribute_set == key(attributes), name
        assert (point.count, point.sum) == (1, 2.5), name
        # The SDK's default buckets are meant for milliseconds; ours are in seconds.
        assert tuple(point.explicit_bounds) == DURATION_BUCKETS_S, name


async def test_gauges_are_up_down_counters(telemetry: Telemetry) -> None:
    adapter = await telemetry.adapter()
    for call, _ in GAUGES.values():
        call(adapter)
    adapter.job_type_idle_change(delta=-1, type_name="mail.send", worker_id=WORKER)

    metrics = telemetry.metrics()
    for name, (_, description) in GAUGES.items():
        metric = metrics[name]
        assert isinstance(metric.data, Sum), name
        assert not metric.data.is_monotonic, name
        assert (metric.unit, metric.description) == ("", description), name
    assert telemetry.values("queuert.job_type.idle") == {key(TW): 2}
    assert telemetry.values("queuert.job_type.processing") == {key(TW): 3}


async def test_the_catalogue_is_complete(telemetry: Telemetry) -> None:
    adapter = await telemetry.adapter()
    for counter, _ in COUNTERS.values():
        counter(adapter)
    adapter.job_completed(JOB, worker_id=None, output=None)
    for histogram, _, _ in HISTOGRAMS.values():
        histogram(adapter)
    for gauge, _ in GAUGES.values():
        gauge(adapter)

    assert set(telemetry.metrics()) == {*COUNTERS, "queuert.job.completed", *HISTOGRAMS, *GAUGES}
    assert len(telemetry.metrics()) == 27


async def test_without_a_meter_nothing_is_measured(telemetry: Telemetry) -> None:
    adapter = await telemetry.adapter(meter=False)
    for call, _ in COUNTERS.values():
        call(adapter)
    for histogram, _, _ in HISTOGRAMS.values():
        histogram(adapter)

    assert telemetry.metrics() == {}


# --- through the client and a worker -------------------------------------------------------------


class MailIn(TypedDict):
    to: str


send = EntryJobType[MailIn, NoOutput, str]("mail.send", continue_with="mail.log")
log = JobType[MailIn, str]("mail.log")
job_types = define_job_types(send, log)


async def start(client: Any, state: StateAdapter[Any], *, to: str = "ann") -> str:
    async with transaction_hooks() as hooks:
        started = await state.with_transaction(
            lambda tx: client.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=send, input=MailIn(to=to))
        )
    return str(started.id)


async def test_creation_metrics_wait_for_the_commit_and_the_flush(
    telemetry: Telemetry, state_adapter: StateAdapter[Any]
) -> None:
    client = await create_client(
        state_adapter=state_adapter, job_types=job_types, observability_adapter=await telemetry.adapter()
    )
    async with transaction_hooks() as hooks:
        await state_adapter.with_transaction(
            lambda tx: client.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=send, input=MailIn(to="ann"))
        )
        assert telemetry.metrics() == {}, "committed, but the hooks have not flushed yet"

    assert telemetry.values("queuert.chain.created") == {key({"queuert.chain.type": "mail.send"}): 1}
    assert telemetry.values("queuert.job.created") == {
        key({"queuert.job.type": "mail.send", "queuert.chain.type": "mail.send"}): 1
    }


async def test_a_rolled_back_start_measures_nothing(telemetry: Telemetry, state_adapter: StateAdapter[Any]) -> None:
    client = await create_client(
        state_adapter=state_adapter, job_types=job_types, observability_adapter=await telemetry.adapter()
    )

    class Refused(Exception):
        pass

    async def start_then_fail(tx: Any, hooks: Any) -> None:
        await client.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=send, input=MailIn(to="bob"))
        raise Refused

    with pytest.raises(Refused):
        async with transaction_hooks() as hooks:
            await state_adapter.with_transaction(lambda tx: start_then_fail(tx, hooks))

    assert telemetry.metrics() == {}


async def test_a_processed_chain_with_a_retry(telemetry: Telemetry, state_adapter: StateAdapter[Any]) -> None:
    client = await create_client(
        state_adapter=state_adapter, job_types=job_types, observability_adapter=await telemetry.adapter()
    )

    async def handle_send(ctx: AttemptContext[object, MailIn, NoOutput]) -> AttemptResult[MailIn, NoOutput]:
        async def hand_off(complete: CompleteContext[object]) -> ContinuationJob[MailIn]:
            return await complete.continue_with(log, input=ctx.job.input)

        return await ctx.complete(hand_off)

    async def handle_log(ctx: AttemptContext[object, MailIn, str]) -> AttemptResult[MailIn, str]:
        if ctx.job.attempt == 1:
            raise ConnectionError("log service unavailable")

        async def done(complete: CompleteContext[object]) -> str:
            return f"sent to {ctx.job.input['to']}"

        return await ctx.complete(done)

    processors = create_processors(
        client=client,
        processors=[
            Processor(job_type=send, attempt_handler=handle_send),
            Processor(job_type=log, attempt_handler=handle_log),
        ],
    )
    began = time.monotonic()
    await start(client, state_adapter)
    summary = await process_until_idle(
        client,
        processors,
        worker_id=WORKER,
        defaults=WorkerDefaults(backoff_config=BackoffConfig(initial_delay_ms=0, max_delay_ms=0)),
    )
    elapsed_s = time.monotonic() - began
    assert (summary.attempts, len(summary.failed)) == (3, 1)

    send_job = {"queuert.job.type": "mail.send", "queuert.chain.type": "mail.send"}
    log_job = {"queuert.job.type": "mail.log", "queuert.chain.type": "mail.send"}
    by_worker = {"queuert.worker.id": WORKER}
    assert telemetry.values("queuert.chain.created") == {key({"queuert.chain.type": "mail.send"}): 1}
    assert telemetry.values("queuert.job.created") == {key(send_job): 1, key(log_job): 1}
    assert telemetry.values("queuert.job.attempt.started") == {
        key(send_job | by_worker): 1,
        key(log_job | by_worker): 2,
    }
    assert telemetry.values("queuert.job.attempt.failed") == {key(log_job | by_worker): 1}
    assert telemetry.values("queuert.job.attempt.completed") == {
        key(send_job | by_worker): 1,
        key(log_job | by_worker): 1,
    }
    assert telemetry.values("queuert.job.completed") == {
        key(send_job | by_worker | {"queuert.job.continued": True}): 1,
        key(log_job | by_worker | {"queuert.job.continued": False}): 1,
    }
    assert telemetry.values("queuert.chain.completed") == {key({"queuert.chain.type": "mail.send"}): 1}

    # Failed attempts record no duration; every duration is in seconds, within the test's run time.
    attempts = telemetry.histogram("queuert.job.attempt.duration")
    assert {k: p.count for k, p in attempts.items()} == {key(send_job | by_worker): 1, key(log_job | by_worker): 1}
    jobs = telemetry.histogram("queuert.job.duration")
    assert {k: p.count for k, p in jobs.items()} == {key(send_job): 1, key(log_job): 1}
    [(chain_key, chain_point)] = telemetry.histogram("queuert.chain.duration").items()
    assert (chain_key, chain_point.count) == (key({"queuert.chain.type": "mail.send"}), 1)
    for point in [*attempts.values(), *jobs.values(), chain_point]:
        assert 0 <= point.sum <= elapsed_s
    assert chain_point.sum >= max(p.sum for p in jobs.values())


async def test_worker_lifecycle_and_slot_gauges(telemetry: Telemetry) -> None:
    state = await create_in_process_state_adapter()
    client = await create_client(
        state_adapter=state, job_types=job_types, observability_adapter=await telemetry.adapter()
    )
    release = asyncio.Event()
    running = asyncio.Event()

    async def handle_send(ctx: AttemptContext[InProcessTx, MailIn, NoOutput]) -> AttemptResult[MailIn, NoOutput]:
        await ctx.prepare("staged")
        running.set()
        await release.wait()

        async def hand_off(complete: CompleteContext[InProcessTx]) -> ContinuationJob[MailIn]:
            return await complete.continue_with(log, input=ctx.job.input)

        return await ctx.complete(hand_off)

    async def handle_log(ctx: AttemptContext[InProcessTx, MailIn, str]) -> AttemptResult[MailIn, str]:
        async def done(complete: CompleteContext[InProcessTx]) -> str:
            return "ok"

        return await ctx.complete(done)

    processors = create_processors(
        client=client,
        processors=[
            Processor(job_type=send, attempt_handler=handle_send),
            Processor(job_type=log, attempt_handler=handle_log),
        ],
    )
    worker = await create_in_process_worker(client=client, processors=processors, concurrency=3, poll_interval_ms=50)
    worker_id = worker.worker_id
    as_worker = {"queuert.worker.id": worker_id}
    send_slot = key({"queuert.job.type": "mail.send"} | as_worker)
    log_slot = key({"queuert.job.type": "mail.log"} | as_worker)

    await worker.start()
    try:
        chain_id = await start(client, state)
        await asyncio.wait_for(running.wait(), 5)
        # One of three slots is busy with a mail.send job: idle counts drop for every handled type.
        assert telemetry.values("queuert.job_type.processing") == {send_slot: 1}
        assert telemetry.values("queuert.job_type.idle") == {send_slot: 2, log_slot: 2}
        release.set()
        await client.await_chain(chain_id, timeout_ms=5_000, poll_interval_ms=20)
        await wait_until(lambda: telemetry.values("queuert.job_type.idle") == {send_slot: 3, log_slot: 3})
    finally:
        release.set()
        await worker.stop()

    assert telemetry.values("queuert.worker.started") == {key(as_worker): 1}
    assert telemetry.values("queuert.worker.stopping") == {key(as_worker): 1}
    assert telemetry.values("queuert.worker.stopped") == {key(as_worker): 1}
    assert telemetry.values("queuert.job_type.idle") == {send_slot: 0, log_slot: 0}
    assert telemetry.values("queuert.job_type.processing") == {send_slot: 0, log_slot: 0}
    await state.close()
