"""Spans: names, kinds, parents, links and attributes, and how trace contexts travel in the job rows."""

from __future__ import annotations

import gc
import logging
import uuid
import weakref
from typing import TYPE_CHECKING, Any, TypedDict, cast

import pytest
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.trace import NoOpTracer, SpanKind, StatusCode

from queuert import (
    AttemptContext,
    AttemptResult,
    BackoffConfig,
    Client,
    CompleteContext,
    ContinuationJob,
    DeduplicationOptions,
    EntryJobType,
    JobType,
    NoOutput,
    ObservabilityAdapter,
    Processor,
    Processors,
    Rest,
    Slot,
    WorkerDefaults,
    WorkerlessCompletion,
    create_client,
    create_processors,
    define_job_types,
    transaction_hooks,
)
from queuert.adapters import JobSpanHandle
from queuert.errors import DuplicateJobIdError
from queuert.testing import process_until_idle
from queuert_otel import OtelObservabilityAdapter, create_otel_observability_adapter

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from conftest import Telemetry
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import ReadableSpan, Span
    from opentelemetry.trace import Tracer

    from queuert.adapters import JobSpanData, JobSpanResult, StateAdapter, StateJob
    from queuert_otel import RolledBackSpans

    StoredJobs = Callable[[str], Awaitable[list[StateJob]]]

ZERO_BACKOFF = WorkerDefaults(backoff_config=BackoffConfig(initial_delay_ms=0, max_delay_ms=0))


class OrderIn(TypedDict):
    order_id: str


class Verdict(TypedDict):
    fraud: bool


class Shipped(TypedDict):
    tracking: str


# A three-job chain (place -> charge -> ship). Charge waits on a fraud-check chain that the
# place job starts in its own completion transaction.
fraud_check = EntryJobType[OrderIn, Verdict]("shop.fraud_check")
place = EntryJobType[OrderIn, NoOutput, Shipped]("shop.place", continue_with="shop.charge")
charge = JobType[OrderIn, NoOutput]("shop.charge", continue_with="shop.ship", blockers=[Slot(fraud_check)])
ship = JobType[OrderIn, Shipped]("shop.ship")
# A one-job chain that waits on fraud checks from the start.
audit = EntryJobType[OrderIn, Verdict]("shop.audit", blockers=[Rest(fraud_check)])
shop = define_job_types(fraud_check, place, charge, ship, audit)
ORDER_TYPES = ("shop.place", "shop.fraud_check", "shop.charge", "shop.ship")


class HandOffFailed(Exception):
    pass


def shop_processors(
    client: Client[Any], *names: str, fail_charge_once: bool = False, fail_hand_off_once: bool = False
) -> Processors[Any]:
    """Processors for the named shop job types, bound to `client` (one "process").

    `fail_charge_once` fails the first charge attempt before it completes;
    `fail_hand_off_once` makes the first place attempt's completion callback raise after
    it started the fraud check and called `continue_with`.
    """

    async def handle_place(ctx: AttemptContext[object, OrderIn, NoOutput]) -> AttemptResult[OrderIn, NoOutput]:
        async def hand_off(complete: CompleteContext[object]) -> ContinuationJob[OrderIn]:
            check = await client.start_chain(
                tx_ctx=complete.tx_ctx,
                transaction_hooks=complete.transaction_hooks,
                job_type=fraud_check,
                input=ctx.job.input,
            )
            continued = await complete.continue_with(charge, input=ctx.job.input, blockers=[check])
            if fail_hand_off_once and ctx.job.attempt == 1:
                raise HandOffFailed("the hand-off failed after continue_with")
            return continued

        return await ctx.complete(hand_off)

    async def handle_fraud_check(ctx: AttemptContext[object, OrderIn, Verdict]) -> AttemptResult[OrderIn, Verdict]:
        async def verdict(complete: CompleteContext[object]) -> Verdict:
            return Verdict(fraud=False)

        return await ctx.complete(verdict)

    async def handle_charge(ctx: AttemptContext[object, OrderIn, NoOutput]) -> AttemptResult[OrderIn, NoOutput]:
        if fail_charge_once and ctx.job.attempt == 1:
            raise ConnectionError("payment gateway timed out")

        async def hand_off(complete: CompleteContext[object]) -> ContinuationJob[OrderIn]:
            return await complete.continue_with(ship, input=ctx.job.input)

        return await ctx.complete(hand_off)

    async def handle_ship(ctx: AttemptContext[object, OrderIn, Shipped]) -> AttemptResult[OrderIn, Shipped]:
        await ctx.prepare("staged")

        async def shipped(complete: CompleteContext[object]) -> Shipped:
            return Shipped(tracking=f"T-{ctx.job.input['order_id']}")

        return await ctx.complete(shipped)

    every: dict[str, Processor[Any, Any, Any]] = {
        "shop.place": Processor(job_type=place, attempt_handler=handle_place),
        "shop.fraud_check": Processor(job_type=fraud_check, attempt_handler=handle_fraud_check),
        "shop.charge": Processor(job_type=charge, attempt_handler=handle_charge),
        "shop.ship": Processor(job_type=ship, attempt_handler=handle_ship),
    }
    return create_processors(client=client, processors=[every[name] for name in names])


async def new_client(state: StateAdapter[Any], telemetry: Telemetry | None = None, **options: Any) -> Client[Any]:
    adapter = await telemetry.adapter(**options) if telemetry is not None else None
    return await create_client(state_adapter=state, job_types=shop, observability_adapter=adapter)


async def start_order(client: Client[Any], state: StateAdapter[Any], order_id: str = "o-1", **options: Any) -> str:
    async with transaction_hooks() as hooks:
        started = await state.with_transaction(
            lambda tx: client.start_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=place, input=OrderIn(order_id=order_id), **options
            )
        )
    return started.id


def is_child(child: ReadableSpan, parent: ReadableSpan) -> bool:
    assert child.parent is not None, f"{child.name} has no parent"
    assert parent.context is not None
    return bool(child.parent.span_id == parent.context.span_id and child.parent.trace_id == parent.context.trace_id)


def linked(span: ReadableSpan) -> list[int]:
    """The span ids `span` links to."""
    return [int(link.context.span_id) for link in span.links]


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.trace_id)


# --- creating chains ----------------------------------------------------------------------------


async def test_a_chain_start_makes_producer_spans_under_the_callers_span(
    telemetry: Telemetry, state_adapter: StateAdapter[Any], stored_jobs: StoredJobs
) -> None:
    client = await new_client(state_adapter, telemetry)
    with telemetry.tracer.start_as_current_span("POST /orders", kind=SpanKind.SERVER):
        async with transaction_hooks() as hooks:
            started = await state_adapter.with_transaction(
                lambda tx: client.start_chain(
                    tx_ctx=tx, transaction_hooks=hooks, job_type=place, input={"order_id": "1"}
                )
            )
            assert telemetry.names() == [], "creation spans end only once the transaction committed"

    request = telemetry.span("POST /orders")
    chain_span = telemetry.span("create chain.shop.place")
    job_span = telemetry.span("create job.shop.place")
    assert (chain_span.kind, job_span.kind) == (SpanKind.PRODUCER, SpanKind.PRODUCER)
    assert is_child(chain_span, request)
    assert is_child(job_span, chain_span)
    assert dict(chain_span.attributes or {}) == {"queuert.chain.type": "shop.place", "queuert.chain.id": started.id}
    assert dict(job_span.attributes or {}) == {
        "queuert.chain.type": "shop.place",
        "queuert.job.type": "shop.place",
        "queuert.chain.id": started.id,
        "queuert.job.id": started.id,
    }
    assert (chain_span.status.status_code, job_span.status.status_code) == (StatusCode.UNSET, StatusCode.UNSET)
    assert (chain_span.links, job_span.links) == ((), ())

    [row] = await stored_jobs(started.id)
    assert row.chain_trace_context == telemetry.traceparent(chain_span)
    assert row.trace_context == telemetry.traceparent(job_span)


class _Refused(Exception):
    """Raised to roll a transaction back."""


async def roll_back_two_starts(client: Client[Any], state_adapter: StateAdapter[Any], check_id: str) -> None:
    """Start an order and an audit blocked on `check_id` in one transaction, then roll it back."""

    async def start_then_fail(tx: Any, hooks: Any) -> None:
        check = await client.get_chain(check_id, tx_ctx=tx)
        assert check is not None
        await client.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=place, input=OrderIn(order_id="2"))
        await client.start_chain(
            tx_ctx=tx, transaction_hooks=hooks, job_type=audit, input=OrderIn(order_id="2"), blockers=[check]
        )
        raise _Refused

    with pytest.raises(_Refused):
        async with transaction_hooks() as hooks:
            await state_adapter.with_transaction(lambda tx: start_then_fail(tx, hooks))


async def test_a_rolled_back_start_measures_nothing_and_ends_its_spans_in_error(
    telemetry: Telemetry, state_adapter: StateAdapter[Any]
) -> None:
    client = await new_client(state_adapter, telemetry)
    check_id = await start_fraud_check(client, state_adapter)
    telemetry.exporter.clear()
    before = {name: telemetry.values(name) for name in telemetry.metrics()}

    await roll_back_two_starts(client, state_adapter, check_id)

    # Not one metric moved. The creation spans had to start (their contexts went into the
    # INSERTs), so they end in error rather than staying open; the blocker's "await chain"
    # span ends too, without a link to a chain that never got a dependent.
    assert {name: telemetry.values(name) for name in telemetry.metrics()} == before
    awaits = [span for span in telemetry.spans() if span.name.startswith("await chain.")]
    assert len(awaits) == 1
    assert list(awaits[0].links) == []
    spans = [span for span in telemetry.spans() if not span.name.startswith("await chain.")]
    assert sorted(span.name for span in spans) == [
        "create chain.shop.audit",
        "create chain.shop.place",
        "create job.shop.audit",
        "create job.shop.place",
    ]
    for span in spans:
        assert span.status.status_code is StatusCode.ERROR, span.name
        [event] = span.events
        assert event.name == "exception"
        assert dict(event.attributes or {})["exception.message"] == "savepoint rolled back"
        assert "queuert.chain.id" not in (span.attributes or {})


async def start_fraud_check(client: Client[Any], state: StateAdapter[Any], order_id: str = "o-1") -> str:
    async with transaction_hooks() as hooks:
        started = await state.with_transaction(
            lambda tx: client.start_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=fraud_check, input=OrderIn(order_id=order_id)
            )
        )
    return started.id


# --- rolled-back starts with rolled_back_spans="discard" ------------------------------------


class StartedSpans(SpanProcessor):
    """Every span the SDK started, held weakly: shows which spans were started but never ended."""

    def __init__(self) -> None:
        self.started: list[tuple[str, weakref.ref[Any]]] = []

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.started.append((span.name, weakref.ref(span)))

    def names(self) -> list[str]:
        return sorted(name for name, _ in self.started)

    def alive(self) -> list[str]:
        gc.collect()
        return sorted(name for name, ref in self.started if ref() is not None)


def metric_values(telemetry: Telemetry) -> dict[str, dict[frozenset[tuple[str, Any]], float]]:
    return {name: telemetry.values(name) for name in telemetry.metrics()}


async def test_discard_exports_no_span_of_a_rolled_back_start(
    telemetry: Telemetry, state_adapter: StateAdapter[Any]
) -> None:
    client = await new_client(state_adapter, telemetry, rolled_back_spans="discard")
    check_id = await start_fraud_check(client, state_adapter)
    assert telemetry.names() == ["create job.shop.fraud_check", "create chain.shop.fraud_check"]
    check_chain = telemetry.span("create chain.shop.fraud_check")
    telemetry.exporter.clear()
    before = metric_values(telemetry)
    started = StartedSpans()
    telemetry.tracer_provider.add_span_processor(started)

    await roll_back_two_starts(client, state_adapter, check_id)

    # The spans had to start (their contexts went into the INSERTs) but none ended, so none
    # was exported; nothing holds on to them either. Not one metric moved.
    assert telemetry.spans() == []
    assert metric_values(telemetry) == before
    assert started.names() == [
        "await chain.shop.fraud_check",
        "create chain.shop.audit",
        "create chain.shop.place",
        "create job.shop.audit",
        "create job.shop.place",
    ]
    assert started.alive() == []

    # A start that commits right after is traced as usual, blocker span included.
    async def start_audit(tx: Any, hooks: Any) -> str:
        check = await client.get_chain(check_id, tx_ctx=tx)
        assert check is not None
        started = await client.start_chain(
            tx_ctx=tx, transaction_hooks=hooks, job_type=audit, input=OrderIn(order_id="3"), blockers=[check]
        )
        return started.id

    async with transaction_hooks() as hooks:
        audit_id = await state_adapter.with_transaction(lambda tx: start_audit(tx, hooks))

    assert telemetry.names() == ["create job.shop.audit", "create chain.shop.audit", "await chain.shop.fraud_check"]
    audit_chain = telemetry.span("create chain.shop.audit")
    audit_job = telemetry.span("create job.shop.audit")
    awaiting = telemetry.span("await chain.shop.fraud_check")
    assert is_child(audit_job, audit_chain)
    assert is_child(awaiting, audit_job)
    assert linked(awaiting) == [span_id(check_chain)]
    for span in (audit_chain, audit_job, awaiting):
        assert span.status.status_code is StatusCode.UNSET, span.name
        assert span.events == (), span.name
    assert dict(audit_job.attributes or {})["queuert.job.id"] == audit_id
    assert telemetry.values("queuert.chain.created") == {
        frozenset({("queuert.chain.type", "shop.fraud_check")}): 1,
        frozenset({("queuert.chain.type", "shop.audit")}): 1,
    }


@pytest.mark.parametrize("mode", ["error", "discard"])
async def test_a_rolled_back_savepoint_drops_only_its_own_spans(
    mode: RolledBackSpans, telemetry: Telemetry, state_adapter: StateAdapter[Any]
) -> None:
    client = await new_client(state_adapter, telemetry, rolled_back_spans=mode)
    check_id = await start_fraud_check(client, state_adapter)
    telemetry.exporter.clear()

    class Refused(Exception):
        pass

    async with transaction_hooks() as hooks:

        async def batch(tx: Any) -> tuple[str, str]:
            kept = await client.start_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=place, input=OrderIn(order_id="1")
            )

            async def optional_part(savepoint_tx: Any) -> None:
                async with hooks.savepoint():
                    check = await client.get_chain(check_id, tx_ctx=savepoint_tx)
                    assert check is not None
                    await client.start_chain(
                        tx_ctx=savepoint_tx,
                        transaction_hooks=hooks,
                        job_type=audit,
                        input=OrderIn(order_id="2"),
                        blockers=[check],
                    )
                    await client.start_chain(
                        tx_ctx=savepoint_tx, transaction_hooks=hooks, job_type=place, input=OrderIn(order_id="2")
                    )
                    raise Refused

            with pytest.raises(Refused):
                await state_adapter.with_savepoint(tx, optional_part)
            after = await client.start_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=fraud_check, input=OrderIn(order_id="3")
            )
            return kept.id, after.id

        kept_id, after_id = await state_adapter.with_transaction(batch)

    # The savepoint's spans end as it rolls back (mode "error") or never (mode "discard");
    # the starts around it end when the transaction commits.
    rolled_back = [
        "create job.shop.audit",
        "create chain.shop.audit",
        "await chain.shop.fraud_check",
        "create job.shop.place",
        "create chain.shop.place",
    ]
    committed = [
        "create job.shop.place",
        "create chain.shop.place",
        "create job.shop.fraud_check",
        "create chain.shop.fraud_check",
    ]
    spans = telemetry.spans()
    assert [span.name for span in spans] == (rolled_back if mode == "error" else []) + committed
    kept = spans[-len(committed) :]
    assert [dict(span.attributes or {})["queuert.chain.id"] for span in kept] == [kept_id] * 2 + [after_id] * 2
    for span in kept:
        assert span.status.status_code is StatusCode.UNSET, span.name
    for span in spans[: -len(committed)]:
        if span.name.startswith("await chain."):
            assert (span.status.status_code, list(span.links)) == (StatusCode.UNSET, [])
        else:
            assert span.status.status_code is StatusCode.ERROR, span.name
            assert span.status.description == "SpanRolledBackError: savepoint rolled back"
            assert "queuert.chain.id" not in dict(span.attributes or {})
    assert telemetry.values("queuert.chain.created") == {
        frozenset({("queuert.chain.type", "shop.fraud_check")}): 2,
        frozenset({("queuert.chain.type", "shop.place")}): 1,
    }


@pytest.mark.parametrize("mode", ["error", "discard"])
async def test_a_continuation_rolled_back_with_its_callback(
    mode: RolledBackSpans, telemetry: Telemetry, state_adapter: StateAdapter[Any]
) -> None:
    client = await new_client(state_adapter, telemetry, rolled_back_spans=mode)
    await start_order(client, state_adapter)
    telemetry.exporter.clear()
    processors = shop_processors(client, *ORDER_TYPES, fail_hand_off_once=True)
    summary = await process_until_idle(client, processors, worker_id="w-1", defaults=ZERO_BACKOFF)
    assert [o.status for o in summary.outcomes] == ["rescheduled", "continued", "completed", "continued", "completed"]

    # The first place attempt started a fraud check and continued with charge (waiting on
    # it), then its callback raised: all of that rolled back with the completion.
    rolled_back = [
        "create job.shop.fraud_check",
        "create chain.shop.fraud_check",
        "create job.shop.charge",
        "await chain.shop.fraud_check",
    ]
    names = telemetry.names()
    first_attempt = names[: names.index("start job-attempt.shop.place") + 1]
    # Mode "error" ends their spans as the callback's savepoint rolls back, before the
    # `complete` phase ends; mode "discard" never ends them.
    assert first_attempt == [*(rolled_back if mode == "error" else []), "complete", "start job-attempt.shop.place"]
    assert names[len(first_attempt) :] == [
        "complete",
        "create job.shop.fraud_check",
        "create chain.shop.fraud_check",
        "create job.shop.charge",
        "await chain.shop.fraud_check",
        "start job-attempt.shop.place",
        "complete",
        "resolve chain.shop.fraud_check",
        "complete chain.shop.fraud_check",
        "start job-attempt.shop.fraud_check",
        "complete",
        "create job.shop.ship",
        "start job-attempt.shop.charge",
        "prepare",
        "complete",
        "complete chain.shop.place",
        "start job-attempt.shop.ship",
    ]
    failed = telemetry.spans()[len(first_attempt) - 1]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "HandOffFailed: the hand-off failed after continue_with"
    for span in telemetry.spans()[: len(first_attempt) - 2]:
        if not span.name.startswith("await chain."):
            assert span.status.status_code is StatusCode.ERROR, span.name
            assert span.status.description == "SpanRolledBackError: savepoint rolled back"
    for span in telemetry.spans()[len(first_attempt) :]:
        assert span.status.status_code is not StatusCode.ERROR, span.name


@pytest.mark.parametrize("mode", ["error", "discard"])
async def test_a_start_whose_write_failed_ends_in_error_in_either_mode(
    mode: RolledBackSpans, telemetry: Telemetry, state_adapter: StateAdapter[Any]
) -> None:
    client = await new_client(state_adapter, telemetry, rolled_back_spans=mode)
    order_id = await start_order(client, state_adapter, id=str(uuid.uuid4()))
    telemetry.exporter.clear()

    with pytest.raises(DuplicateJobIdError):
        await start_order(client, state_adapter, "o-2", id=order_id)

    # Not a rollback of a successful write: the creation itself failed, which the trace shows.
    assert telemetry.names() == ["create job.shop.place", "create chain.shop.place"]
    for span in telemetry.spans():
        assert span.status.status_code is StatusCode.ERROR, span.name
        assert (span.status.description or "").startswith("DuplicateJobIdError: "), span.status.description
        [event] = span.events
        assert dict(event.attributes or {})["exception.type"] == "queuert.errors.DuplicateJobIdError"


async def test_discard_still_ends_a_deduplicated_start_at_once(
    telemetry: Telemetry, state_adapter: StateAdapter[Any]
) -> None:
    client = await new_client(state_adapter, telemetry, rolled_back_spans="discard")
    key = DeduplicationOptions(key="order-7")
    first_id = await start_order(client, state_adapter, deduplication=key)
    telemetry.exporter.clear()

    class Refused(Exception):
        pass

    async def start_twice_then_fail(tx: Any, hooks: Any) -> None:
        again = await client.start_chain(
            tx_ctx=tx, transaction_hooks=hooks, job_type=place, input=OrderIn(order_id="7"), deduplication=key
        )
        assert again.deduplicated
        await client.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=place, input=OrderIn(order_id="8"))
        raise Refused

    with pytest.raises(Refused):
        async with transaction_hooks() as hooks:
            await state_adapter.with_transaction(lambda tx: start_twice_then_fail(tx, hooks))

    # The deduplicated start wrote nothing and ended its spans at once, as in the default
    # mode; the other start rolled back and left nothing.
    assert telemetry.names() == ["create job.shop.place", "create chain.shop.place"]
    for span in telemetry.spans():
        attributes = dict(span.attributes or {})
        assert (attributes["queuert.chain.id"], attributes["queuert.chain.deduplicated"]) == (first_id, True)
        assert span.status.status_code is StatusCode.UNSET


async def test_rolled_back_spans_takes_error_or_discard(telemetry: Telemetry) -> None:
    assert (await telemetry.adapter()).rolled_back_spans == "error"
    assert (await telemetry.adapter(rolled_back_spans="discard")).rolled_back_spans == "discard"
    with pytest.raises(ValueError, match="rolled_back_spans must be 'error' or 'discard', not 'drop'"):
        await create_otel_observability_adapter(tracer=telemetry.tracer, rolled_back_spans=cast("Any", "drop"))
    with pytest.raises(ValueError, match="rolled_back_spans"):
        OtelObservabilityAdapter(rolled_back_spans=cast("Any", None))


async def test_a_deduplicated_start_ends_its_spans_at_once_linked_to_the_existing_chain(
    telemetry: Telemetry, state_adapter: StateAdapter[Any]
) -> None:
    client = await new_client(state_adapter, telemetry)
    key = DeduplicationOptions(key="order-7")
    first_id = await start_order(client, state_adapter, deduplication=key)
    first_chain = telemetry.span("create chain.shop.place")
    telemetry.exporter.clear()

    async with transaction_hooks() as hooks:
        again = await state_adapter.with_transaction(
            lambda tx: client.start_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=place, input=OrderIn(order_id="7"), deduplication=key
            )
        )
        assert again.deduplicated
        # Nothing was written, so nothing waits for the commit.
        assert sorted(telemetry.names()) == ["create chain.shop.place", "create job.shop.place"]

    chain_span = telemetry.span("create chain.shop.place")
    job_span = telemetry.span("create job.shop.place")
    assert dict(chain_span.attributes or {}) == {
        "queuert.chain.type": "shop.place",
        "queuert.chain.id": first_id,
        "queuert.chain.deduplicated": True,
    }
    assert dict(job_span.attributes or {}) == {
        "queuert.chain.type": "shop.place",
        "queuert.job.type": "shop.place",
        "queuert.chain.id": first_id,
        "queuert.job.id": first_id,
        "queuert.chain.deduplicated": True,
    }
    assert linked(job_span) == [span_id(first_chain)]
    assert telemetry.values("queuert.chain.created") == {frozenset({("queuert.chain.type", "shop.place")}): 1}


async def test_blocker_spans(telemetry: Telemetry, state_adapter: StateAdapter[Any]) -> None:
    client = await new_client(state_adapter, telemetry)
    done_id = await start_fraud_check(client, state_adapter)
    await process_until_idle(client, shop_processors(client, "shop.fraud_check"), worker_id="w-1")
    pending_id = await start_fraud_check(client, state_adapter, "o-2")
    done_chain, pending_chain = [s for s in telemetry.spans() if s.name == "create chain.shop.fraud_check"]
    telemetry.exporter.clear()

    async def start_audit(tx: Any, hooks: Any) -> str:
        blockers = [await client.get_chain(done_id, tx_ctx=tx), await client.get_chain(pending_id, tx_ctx=tx)]
        started = await client.start_chain(
            tx_ctx=tx,
            transaction_hooks=hooks,
            job_type=audit,
            input=OrderIn(order_id="1"),
            blockers=[b for b in blockers if b is not None],
        )
        return started.id

    async with transaction_hooks() as hooks:
        audit_id = await state_adapter.with_transaction(lambda tx: start_audit(tx, hooks))

    audit_job = telemetry.span("create job.shop.audit")
    awaiting = sorted(
        (s for s in telemetry.spans() if s.name == "await chain.shop.fraud_check"),
        key=lambda s: str(dict(s.attributes or {})["queuert.blocker.index"]),
    )
    assert [linked(span) for span in awaiting] == [[span_id(done_chain)], [span_id(pending_chain)]]
    for index, span in enumerate(awaiting):
        assert span.kind is SpanKind.PRODUCER
        assert is_child(span, audit_job)
        assert dict(span.attributes or {}) == {
            "queuert.chain.id": audit_id,
            "queuert.chain.type": "shop.audit",
            "queuert.job.id": audit_id,
            "queuert.job.type": "shop.audit",
            "queuert.blocker.chain.id": [done_id, pending_id][index],
            "queuert.blocker.chain.type": "shop.fraud_check",
            "queuert.blocker.index": index,
        }
    # The blocker that had already completed resolves at once; the other when it completes.
    [resolved] = [s for s in telemetry.spans() if s.name == "resolve chain.shop.fraud_check"]
    assert is_child(resolved, awaiting[0])
    assert resolved.kind is SpanKind.CONSUMER
    assert dict(resolved.attributes or {}) == {}

    await process_until_idle(client, shop_processors(client, "shop.fraud_check"), worker_id="w-1")
    [_, resolved_later] = [s for s in telemetry.spans() if s.name == "resolve chain.shop.fraud_check"]
    assert is_child(resolved_later, awaiting[1])
    assert trace_id(resolved_later) == trace_id(audit_job) != trace_id(pending_chain)


# --- completing without a worker -----------------------------------------------------------------


async def test_workerless_completion_spans(
    telemetry: Telemetry, state_adapter: StateAdapter[Any], stored_jobs: StoredJobs
) -> None:
    client = await new_client(state_adapter, telemetry)
    check_id = await start_fraud_check(client, state_adapter)

    async def finish(completion: WorkerlessCompletion[Any]) -> None:
        async def verdict(complete: CompleteContext[object]) -> Verdict:
            return Verdict(fraud=True)

        await completion.complete(completion.job, verdict)

    async with transaction_hooks() as hooks:
        await state_adapter.with_transaction(
            lambda tx: client.complete_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=fraud_check, id=check_id, complete=finish
            )
        )

    chain_span = telemetry.span("create chain.shop.fraud_check")
    job_span = telemetry.span("create job.shop.fraud_check")
    completed_job = telemetry.span("complete job.shop.fraud_check")
    completed_chain = telemetry.span("complete chain.shop.fraud_check")
    assert completed_job.kind is SpanKind.CONSUMER
    assert is_child(completed_job, job_span)
    assert dict(completed_job.attributes or {}) == {
        "queuert.chain.id": check_id,
        "queuert.chain.type": "shop.fraud_check",
        "queuert.job.id": check_id,
        "queuert.job.type": "shop.fraud_check",
    }
    assert completed_chain.kind is SpanKind.CONSUMER
    assert is_child(completed_chain, completed_job)
    assert linked(completed_chain) == [span_id(chain_span)]
    assert dict(completed_chain.attributes or {}) == {
        "queuert.chain.id": check_id,
        "queuert.chain.type": "shop.fraud_check",
    }
    assert {trace_id(span) for span in telemetry.spans()} == {trace_id(chain_span)}
    assert telemetry.values("queuert.job.completed") == {
        frozenset(
            {
                ("queuert.job.type", "shop.fraud_check"),
                ("queuert.chain.type", "shop.fraud_check"),
                ("queuert.job.continued", False),
            }
        ): 1
    }


async def test_a_workerless_continuation_links_to_the_job_it_continues(
    telemetry: Telemetry, state_adapter: StateAdapter[Any], stored_jobs: StoredJobs
) -> None:
    client = await new_client(state_adapter, telemetry)
    order_id = await start_order(client, state_adapter)

    async def hand_off(completion: WorkerlessCompletion[Any]) -> None:
        async def to_charge(complete: CompleteContext[object]) -> ContinuationJob[OrderIn]:
            check = await client.start_chain(
                tx_ctx=complete.tx_ctx,
                transaction_hooks=complete.transaction_hooks,
                job_type=fraud_check,
                input=OrderIn(order_id="1"),
            )
            return await complete.continue_with(charge, input=OrderIn(order_id="1"), blockers=[check])

        await completion.complete(completion.job, to_charge)

    async with transaction_hooks() as hooks:
        await state_adapter.with_transaction(
            lambda tx: client.complete_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=place, id=order_id, complete=hand_off
            )
        )

    place_chain = telemetry.span("create chain.shop.place")
    place_job = telemetry.span("create job.shop.place")
    charge_job = telemetry.span("create job.shop.charge")
    completed = telemetry.span("complete job.shop.place")
    jobs = await stored_jobs(order_id)
    assert is_child(charge_job, place_chain)
    assert linked(charge_job) == [span_id(place_job)]
    assert is_child(completed, place_job)
    assert dict(completed.attributes or {})["queuert.continued_with.job_id"] == jobs[1].id
    assert dict(completed.attributes or {})["queuert.continued_with.job_type"] == "shop.charge"
    assert "complete chain.shop.place" not in telemetry.names()
    # Every job of the chain stores the chain's producer span.
    assert [job.chain_trace_context for job in jobs] == [telemetry.traceparent(place_chain)] * 2
    assert jobs[1].trace_context == telemetry.traceparent(charge_job)
    # A chain started while completing is a trace of its own, awaited through a link.
    awaiting = telemetry.span("await chain.shop.fraud_check")
    check_chain = telemetry.span("create chain.shop.fraud_check")
    assert is_child(awaiting, charge_job)
    assert linked(awaiting) == [span_id(check_chain)]
    assert check_chain.parent is None
    assert trace_id(check_chain) != trace_id(place_chain)


# --- workers ----------------------------------------------------------------------------------


async def test_one_trace_follows_a_three_job_chain_with_a_blocker_across_processes(
    make_telemetry: Callable[[], Telemetry], state_adapter: StateAdapter[Any], stored_jobs: StoredJobs
) -> None:
    # Three "processes" that share nothing but the database: the web app starting the
    # chain, a worker for place and fraud checks, another for charge and ship.
    web, first, second = make_telemetry(), make_telemetry(), make_telemetry()
    web_client = await new_client(state_adapter, web)
    first_client = await new_client(state_adapter, first)
    second_client = await new_client(state_adapter, second)

    with web.tracer.start_as_current_span("POST /orders", kind=SpanKind.SERVER):
        order_id = await start_order(web_client, state_adapter)
    first_run = await process_until_idle(
        first_client, shop_processors(first_client, "shop.place", "shop.fraud_check"), worker_id="w-1"
    )
    second_run = await process_until_idle(
        second_client, shop_processors(second_client, "shop.charge", "shop.ship"), worker_id="w-2"
    )
    assert (first_run.attempts, second_run.attempts) == (2, 2)

    request = web.span("POST /orders")
    place_chain = web.span("create chain.shop.place")
    place_job = web.span("create job.shop.place")
    assert web.names() == ["create job.shop.place", "create chain.shop.place", "POST /orders"]
    # In the order they ended: each attempt's creations and completion spans end when its
    # transaction commits, just before the attempt span itself.
    assert first.names() == [
        "complete",
        "create job.shop.fraud_check",
        "create chain.shop.fraud_check",
        "create job.shop.charge",
        "await chain.shop.fraud_check",
        "start job-attempt.shop.place",
        "complete",
        "resolve chain.shop.fraud_check",
        "complete chain.shop.fraud_check",
        "start job-attempt.shop.fraud_check",
    ]
    assert second.names() == [
        "complete",
        "create job.shop.ship",
        "start job-attempt.shop.charge",
        "prepare",
        "complete",
        "complete chain.shop.place",
        "start job-attempt.shop.ship",
    ]

    place_attempt = first.span("start job-attempt.shop.place")
    charge_job = first.span("create job.shop.charge")
    awaiting = first.span("await chain.shop.fraud_check")
    check_chain = first.span("create chain.shop.fraud_check")
    check_job = first.span("create job.shop.fraud_check")
    check_attempt = first.span("start job-attempt.shop.fraud_check")
    resolved = first.span("resolve chain.shop.fraud_check")
    check_completed = first.span("complete chain.shop.fraud_check")

    charge_attempt = second.span("start job-attempt.shop.charge")
    ship_job = second.span("create job.shop.ship")
    ship_attempt = second.span("start job-attempt.shop.ship")
    order_completed = second.span("complete chain.shop.place")

    # Parents: the order's trace runs from the request through every job and attempt.
    assert is_child(place_chain, request)
    assert is_child(place_job, place_chain)
    assert is_child(place_attempt, place_job)
    assert is_child(charge_job, place_chain)
    assert is_child(awaiting, charge_job)
    assert is_child(resolved, awaiting)
    assert is_child(charge_attempt, charge_job)
    assert is_child(ship_job, place_chain)
    assert is_child(ship_attempt, ship_job)
    assert is_child(order_completed, ship_attempt)
    # The fraud check, started by a handler, is a trace of its own.
    assert check_chain.parent is None
    assert is_child(check_job, check_chain)
    assert is_child(check_attempt, check_job)
    assert is_child(check_completed, check_attempt)
    order_spans = [
        request,
        place_chain,
        place_job,
        place_attempt,
        charge_job,
        awaiting,
        resolved,
        charge_attempt,
        ship_job,
        ship_attempt,
        order_completed,
    ]
    assert {trace_id(span) for span in order_spans} == {trace_id(request)}
    check_spans = [check_chain, check_job, check_attempt, check_completed]
    assert {trace_id(span) for span in check_spans} == {trace_id(check_chain)} != {trace_id(request)}

    # Links: a continuation to the attempt that created it, the wait to the awaited chain,
    # a chain's completion to its creation.
    assert linked(charge_job) == [span_id(place_attempt)]
    assert linked(ship_job) == [span_id(charge_attempt)]
    assert linked(awaiting) == [span_id(check_chain)]
    assert linked(check_completed) == [span_id(check_chain)]
    assert linked(order_completed) == [span_id(place_chain)]
    for span in [place_attempt, charge_attempt, ship_attempt, place_job, resolved]:
        assert linked(span) == [], span.name

    # Sub-spans of the attempts (ship prepares staged; the others complete at once).
    for telemetry in (first, second):
        for span in telemetry.spans():
            if span.name in ("prepare", "complete"):
                assert span.kind is SpanKind.INTERNAL
    ship_children = sorted(s.name for s in second.spans() if s.parent and s.parent.span_id == span_id(ship_attempt))
    assert ship_children == ["complete", "complete chain.shop.place", "prepare"]
    place_children = sorted(s.name for s in first.spans() if s.parent and s.parent.span_id == span_id(place_attempt))
    assert place_children == ["complete"]

    # Attributes.
    jobs = await stored_jobs(order_id)
    place_row, charge_row, ship_row = jobs
    assert dict(place_attempt.attributes or {}) == {
        "queuert.chain.id": order_id,
        "queuert.chain.type": "shop.place",
        "queuert.job.id": place_row.id,
        "queuert.job.type": "shop.place",
        "queuert.job.attempt": 1,
        "queuert.worker.id": "w-1",
        "queuert.attempt.result": "completed",
        "queuert.continued_with.job_id": charge_row.id,
        "queuert.continued_with.job_type": "shop.charge",
    }
    assert dict(ship_attempt.attributes or {}) == {
        "queuert.chain.id": order_id,
        "queuert.chain.type": "shop.place",
        "queuert.job.id": ship_row.id,
        "queuert.job.type": "shop.ship",
        "queuert.job.attempt": 1,
        "queuert.worker.id": "w-2",
        "queuert.attempt.result": "completed",
    }
    assert dict(awaiting.attributes or {}) == {
        "queuert.chain.id": order_id,
        "queuert.chain.type": "shop.place",
        "queuert.job.id": charge_row.id,
        "queuert.job.type": "shop.charge",
        "queuert.blocker.chain.id": dict(check_chain.attributes or {})["queuert.chain.id"],
        "queuert.blocker.chain.type": "shop.fraud_check",
        "queuert.blocker.index": 0,
    }
    assert dict(order_completed.attributes or {}) == {"queuert.chain.id": order_id, "queuert.chain.type": "shop.place"}
    for span in [place_attempt, check_attempt, charge_attempt, ship_attempt]:
        assert span.kind is SpanKind.CONSUMER
        assert span.status.status_code is StatusCode.OK
    for span in [awaiting, charge_job, ship_job, check_chain, check_job]:
        assert span.kind is SpanKind.PRODUCER

    # The rows carry the contexts from process to process.
    assert [job.chain_trace_context for job in jobs] == [web.traceparent(place_chain)] * 3
    assert [job.trace_context for job in jobs] == [
        web.traceparent(place_job),
        first.traceparent(charge_job),
        second.traceparent(ship_job),
    ]


async def test_a_failed_attempt_records_its_error(telemetry: Telemetry, state_adapter: StateAdapter[Any]) -> None:
    client = await new_client(state_adapter, telemetry)
    await start_order(client, state_adapter)
    processors = shop_processors(client, *ORDER_TYPES, fail_charge_once=True)
    summary = await process_until_idle(client, processors, worker_id="w-1", defaults=ZERO_BACKOFF)
    assert [o.status for o in summary.outcomes] == ["continued", "completed", "rescheduled", "continued", "completed"]

    failed, retried = [span for span in telemetry.spans() if span.name == "start job-attempt.shop.charge"]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "ConnectionError: payment gateway timed out"
    [event] = failed.events
    assert event.name == "exception"
    event_attributes = dict(event.attributes or {})
    assert event_attributes["exception.type"] == "ConnectionError"
    assert event_attributes["exception.message"] == "payment gateway timed out"
    attributes = dict(failed.attributes or {})
    assert (attributes["queuert.job.attempt"], attributes["queuert.attempt.result"]) == (1, "failed")
    assert attributes["queuert.rescheduled_after_ms"] == 0
    assert "queuert.continued_with.job_id" not in attributes
    # The retry runs under the same job span, as attempt 2.
    assert failed.parent == retried.parent
    assert retried.status.status_code is StatusCode.OK
    assert dict(retried.attributes or {})["queuert.job.attempt"] == 2
    assert telemetry.values("queuert.job.attempt.failed") == {
        frozenset(
            {("queuert.job.type", "shop.charge"), ("queuert.chain.type", "shop.place"), ("queuert.worker.id", "w-1")}
        ): 1
    }


# --- contexts this adapter did not write ------------------------------------------------------


class _ForeignSpan(JobSpanHandle):
    def get_chain_trace_context(self) -> str:
        return "foreign:chain"

    def get_trace_context(self) -> str:
        return "foreign:job"

    def end(self, result: JobSpanResult) -> None:
        pass


class ForeignTracing(ObservabilityAdapter):
    """Another observability adapter, storing contexts in a format of its own."""

    def start_job_span(self, data: JobSpanData) -> JobSpanHandle | None:
        return _ForeignSpan()


async def test_contexts_of_another_adapter_are_skipped(
    telemetry: Telemetry, state_adapter: StateAdapter[Any], stored_jobs: StoredJobs
) -> None:
    producer = await create_client(state_adapter=state_adapter, job_types=shop, observability_adapter=ForeignTracing())
    order_id = await start_order(producer, state_adapter)
    client = await new_client(state_adapter, telemetry)
    summary = await process_until_idle(client, shop_processors(client, *ORDER_TYPES), worker_id="w-1")
    summary.raise_errors()

    # No attempt, continuation or completion span can attach to a foreign context; the
    # fraud check, started by this adapter's client, is traced as usual.
    names = telemetry.names()
    assert not [name for name in names if "shop.place" in name or "shop.charge" in name or "shop.ship" in name]
    assert "start job-attempt.shop.fraud_check" in names
    jobs = await stored_jobs(order_id)
    assert [job.chain_trace_context for job in jobs] == ["foreign:chain"] * 3
    assert [job.trace_context for job in jobs] == ["foreign:job", None, None]
    # Metrics do not depend on trace contexts.
    assert sum(telemetry.values("queuert.job.attempt.completed").values()) == 4


async def test_without_a_tracer_nothing_is_stored(
    telemetry: Telemetry, state_adapter: StateAdapter[Any], stored_jobs: StoredJobs
) -> None:
    client = await new_client(state_adapter, telemetry, tracer=False)
    order_id = await start_order(client, state_adapter)
    await process_until_idle(client, shop_processors(client, *ORDER_TYPES))

    assert telemetry.spans() == []
    assert [(job.chain_trace_context, job.trace_context) for job in await stored_jobs(order_id)] == [(None, None)] * 3
    assert sum(telemetry.values("queuert.job.completed").values()) == 4


async def test_a_no_op_tracer_stores_nothing(state_adapter: StateAdapter[Any], stored_jobs: StoredJobs) -> None:
    # The API's tracer without an SDK hands out invalid span contexts: nothing to store.
    adapter = OtelObservabilityAdapter(tracer=NoOpTracer())
    client = await create_client(state_adapter=state_adapter, job_types=shop, observability_adapter=adapter)
    order_id = await start_order(client, state_adapter)
    summary = await process_until_idle(client, shop_processors(client, *ORDER_TYPES))
    summary.raise_errors()

    assert [(job.chain_trace_context, job.trace_context) for job in await stored_jobs(order_id)] == [(None, None)] * 3


async def test_a_broken_tracer_never_breaks_the_caller(
    state_adapter: StateAdapter[Any], caplog: pytest.LogCaptureFixture
) -> None:
    adapter = OtelObservabilityAdapter(tracer=cast("Tracer", object()))
    client = await create_client(state_adapter=state_adapter, job_types=shop, observability_adapter=adapter)
    with caplog.at_level(logging.DEBUG, logger="queuert.otel"):
        await start_order(client, state_adapter)

    assert [r.levelno for r in caplog.records if r.name == "queuert.otel"] == [logging.DEBUG]
    # Swallowed by the adapter itself, so the core has nothing to report at error level.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
