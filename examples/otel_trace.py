"""OpenTelemetry traces and metrics for a three-job chain with a blocker, rendered as a tree.

A web request places an order. The order chain runs `shop.place` -> `shop.charge` ->
`shop.ship`; the place job also starts a `shop.fraud_check` chain that the charge job waits
on. Two workers (think two processes) run the jobs, and the first charge attempt fails.
Spans and metrics are collected in memory with the OpenTelemetry SDK and printed at the end.
Everything runs in memory (the in-process adapters), so nothing needs to be running:

    uv run python examples/otel_trace.py
"""

import asyncio
import re
from collections import defaultdict
from typing import TypedDict

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import queuert
from queuert import (
    AttemptContext,
    AttemptResult,
    BackoffConfig,
    Client,
    CompleteContext,
    ContinuationJob,
    EntryJobType,
    InProcessNotifyAdapter,
    InProcessStateAdapter,
    InProcessTx,
    JobType,
    NoOutput,
    Processor,
    Slot,
    create_client,
    create_in_process_notify_adapter,
    create_in_process_state_adapter,
    create_in_process_worker,
    create_processors,
    define_job_types,
    transaction_hooks,
)
from queuert_otel import create_otel_observability_adapter


class OrderIn(TypedDict):
    order_id: str


class Verdict(TypedDict):
    fraud: bool


class Shipped(TypedDict):
    tracking: str


fraud_check = EntryJobType[OrderIn, Verdict]("shop.fraud_check")
place = EntryJobType[OrderIn, NoOutput, Shipped]("shop.place", continue_with="shop.charge")
charge = JobType[OrderIn, NoOutput]("shop.charge", continue_with="shop.ship", blockers=[Slot(fraud_check)])
ship = JobType[OrderIn, Shipped]("shop.ship")
job_types = define_job_types(fraud_check, place, charge, ship)


def make_order_processors(client: Client[InProcessTx]) -> list[Processor[InProcessTx, OrderIn, NoOutput]]:
    async def handle_place(ctx: AttemptContext[InProcessTx, OrderIn, NoOutput]) -> AttemptResult[OrderIn, NoOutput]:
        async def hand_off(complete: CompleteContext[InProcessTx]) -> ContinuationJob[OrderIn]:
            # A chain started by a handler is a trace of its own; the charge job's
            # `await chain` span links to it.
            check = await client.start_chain(
                tx_ctx=complete.tx_ctx,
                transaction_hooks=complete.transaction_hooks,
                job_type=fraud_check,
                input=ctx.job.input,
            )
            return await complete.continue_with(charge, input=ctx.job.input, blockers=[check])

        return await ctx.complete(hand_off)

    return [Processor(job_type=place, attempt_handler=handle_place)]


async def handle_fraud_check(ctx: AttemptContext[InProcessTx, OrderIn, Verdict]) -> AttemptResult[OrderIn, Verdict]:
    async def verdict(complete: CompleteContext[InProcessTx]) -> Verdict:
        return Verdict(fraud=False)

    return await ctx.complete(verdict)


async def handle_charge(ctx: AttemptContext[InProcessTx, OrderIn, NoOutput]) -> AttemptResult[OrderIn, NoOutput]:
    if ctx.job.attempt == 1:
        raise ConnectionError("payment gateway timed out")

    async def hand_off(complete: CompleteContext[InProcessTx]) -> ContinuationJob[OrderIn]:
        return await complete.continue_with(ship, input=ctx.job.input)

    return await ctx.complete(hand_off)


async def handle_ship(ctx: AttemptContext[InProcessTx, OrderIn, Shipped]) -> AttemptResult[OrderIn, Shipped]:
    await ctx.prepare("staged")  # commit the acquisition, then work outside a transaction

    async def shipped(complete: CompleteContext[InProcessTx]) -> Shipped:
        return Shipped(tracking=f"TRK-{ctx.job.input['order_id']}")

    return await ctx.complete(shipped)


async def run(
    state: InProcessStateAdapter,
    notify: InProcessNotifyAdapter,
    tracer_provider: TracerProvider,
    meter_provider: MeterProvider,
) -> None:
    # --8<-- [start:adapter]
    tracer = tracer_provider.get_tracer("queuert", queuert.__version__)
    meter = meter_provider.get_meter("queuert", queuert.__version__)
    observability = await create_otel_observability_adapter(meter=meter, tracer=tracer)
    client = await create_client(
        state_adapter=state, notify_adapter=notify, job_types=job_types, observability_adapter=observability
    )
    # --8<-- [end:adapter]

    # Two workers with clients of their own, as two processes would have. They share
    # nothing with the web request but the database: the trace context is in the job rows.
    orders_client = await create_client(
        state_adapter=state, notify_adapter=notify, job_types=job_types, observability_adapter=observability
    )
    payments_client = await create_client(
        state_adapter=state, notify_adapter=notify, job_types=job_types, observability_adapter=observability
    )
    orders = await create_in_process_worker(
        client=orders_client,
        worker_name="orders",
        processors=create_processors(
            client=orders_client,
            processors=[
                *make_order_processors(orders_client),
                Processor(job_type=fraud_check, attempt_handler=handle_fraud_check),
            ],
        ),
    )
    payments = await create_in_process_worker(
        client=payments_client,
        worker_name="payments",
        processors=create_processors(
            client=payments_client,
            processors=[
                Processor(job_type=charge, attempt_handler=handle_charge),
                Processor(job_type=ship, attempt_handler=handle_ship),
            ],
            backoff_config=BackoffConfig(initial_delay_ms=20, max_delay_ms=20),
        ),
    )

    # --8<-- [start:request]
    with tracer.start_as_current_span("POST /orders", kind=SpanKind.SERVER):
        async with transaction_hooks() as hooks:
            order = await state.with_transaction(
                lambda tx: client.start_chain(
                    tx_ctx=tx, transaction_hooks=hooks, job_type=place, input=OrderIn(order_id="1042")
                )
            )
    # --8<-- [end:request]

    async with orders, payments:
        done = await client.await_chain(order, timeout_ms=10_000)
    print(f"order chain completed: {done.output}")


# --- rendering ------------------------------------------------------------------------------

_WORKER_ID = re.compile(r"^(?P<name>[A-Za-z0-9._]+)-[0-9a-f]{8}-[0-9a-f-]{27}$")


def _short(value: object) -> str:
    """A worker id without its random suffix ("orders-3f2a..." -> "orders"), anything else as is."""
    match = _WORKER_ID.match(str(value))
    return match["name"] if match else str(value)


def _label(span: ReadableSpan) -> str:
    attempt = (span.attributes or {}).get("queuert.job.attempt")
    return span.name if attempt is None else f"{span.name} (attempt {attempt})"


def describe(span: ReadableSpan, names: dict[int, str]) -> str:
    attributes = dict(span.attributes or {})
    parts = [span.name, f"({span.kind.name.lower()})"]
    if "queuert.job.attempt" in attributes:
        parts.append(f"attempt {attributes['queuert.job.attempt']} on {_short(attributes['queuert.worker.id'])}:")
        parts.append(str(attributes.get("queuert.attempt.result")))
    if span.status.status_code is StatusCode.ERROR:
        parts.append(f"[{span.status.description}]")
    if "queuert.continued_with.job_type" in attributes:
        parts.append(f"-> {attributes['queuert.continued_with.job_type']}")
    for link in span.links:
        parts.append(f"~> link to {names.get(link.context.span_id, 'a span not exported here')}")
    return " ".join(parts)


def print_tree(spans: list[ReadableSpan]) -> None:
    """Print every trace as a tree of spans (children in start order), with their links."""
    names = {span.context.span_id: _label(span) for span in spans if span.context is not None}
    children: dict[int | None, list[ReadableSpan]] = defaultdict(list)
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        parent = span.parent.span_id if span.parent is not None and span.parent.span_id in names else None
        children[parent].append(span)

    def walk(span: ReadableSpan, prefix: str, last: bool, root: bool) -> None:
        branch = "" if root else ("└── " if last else "├── ")
        print(f"{prefix}{branch}{describe(span, names)}")
        below = prefix if root else prefix + ("    " if last else "│   ")
        kids = children[span.context.span_id if span.context is not None else None]
        for index, child in enumerate(kids):
            walk(child, below, index == len(kids) - 1, False)

    for root in children[None]:
        walk(root, "", True, True)
        print()


def print_metrics(reader: InMemoryMetricReader) -> None:
    """Print each metric's data points: counters' totals, histograms' counts (durations vary)."""
    data = reader.get_metrics_data()
    metrics = [m for rm in (data.resource_metrics if data else []) for sm in rm.scope_metrics for m in sm.metrics]
    lines = []
    for metric in metrics:
        for point in metric.data.data_points:
            attributes = sorted((point.attributes or {}).items())
            labels = ", ".join(f"{key.removeprefix('queuert.')}={_short(value)}" for key, value in attributes)
            if isinstance(point, HistogramDataPoint):
                lines.append(f"{metric.name}{{{labels}}} count={point.count} [{metric.unit}]")
            elif isinstance(point, NumberDataPoint):
                lines.append(f"{metric.name}{{{labels}}} {point.value}")
    print("\n".join(sorted(lines)))


async def main() -> None:
    # --8<-- [start:sdk]
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    # --8<-- [end:sdk]

    state = await create_in_process_state_adapter()
    notify = await create_in_process_notify_adapter()
    await run(state, notify, tracer_provider, meter_provider)
    await notify.close()
    await state.close()

    print("\n--- traces\n")
    print_tree(list(exporter.get_finished_spans()))
    print("--- metrics\n")
    print_metrics(reader)
    tracer_provider.shutdown()
    meter_provider.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
