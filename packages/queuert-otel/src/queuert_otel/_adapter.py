"""`OtelObservabilityAdapter`: queuert's observability hooks as OpenTelemetry metrics and spans."""

from __future__ import annotations

import functools
import logging
import weakref
from typing import TYPE_CHECKING, Literal, ParamSpec, TypeAlias, TypeVar, get_args

from opentelemetry.trace import Link, SpanKind, Status, StatusCode, set_span_in_context

from queuert.adapters import (
    AttemptFailed,
    AttemptSpanData,
    AttemptSpanHandle,
    AttemptSpanResult,
    BlockerSpanData,
    BlockerSpanHandle,
    ChainData,
    CompleteBlockerSpanData,
    CompleteJobSpanData,
    JobData,
    JobProcessingData,
    JobSpanCreated,
    JobSpanData,
    JobSpanDeduplicated,
    JobSpanError,
    JobSpanHandle,
    JobSpanResult,
    ObservabilityAdapter,
    SpanHandle,
)

from . import _attributes as attr
from ._metrics import Instruments
from ._trace_context import as_parent, format_traceparent, parse_traceparent

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from opentelemetry.metrics import Meter
    from opentelemetry.trace import Span, SpanContext, Tracer
    from opentelemetry.util.types import AttributeValue

__all__ = ("OtelObservabilityAdapter", "RolledBackSpans", "create_otel_observability_adapter")

RolledBackSpans: TypeAlias = Literal["error", "discard"]
"""What becomes of the spans a creation started when its transaction (or savepoint) rolls back.

* `"error"` (the default, as the spec and upstream do): `create chain`, `create job` and
  `await chain` end, the first two with status ERROR and the exception "savepoint rolled back".
* `"discard"`: none of them is ever ended, so none is exported.
"""

_logger = logging.getLogger("queuert.otel")

P = ParamSpec("P")
R = TypeVar("R")


def _never_raises(fn: Callable[P, R]) -> Callable[P, R | None]:
    """Turn an exception in `fn` into a debug log entry and a `None` result.

    Telemetry must never break job processing. The core already shields itself from a
    raising hook, but it logs those at error level; a broken exporter setup should not
    flood the application's error log, so the adapter swallows its own failures first.
    """

    @functools.wraps(fn)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R | None:
        try:
            return fn(*args, **kwargs)
        except Exception:
            _logger.debug("queuert-otel: %s raised; the telemetry was dropped", fn.__qualname__, exc_info=True)
            return None

    return guarded


def _as_exception(error: object) -> BaseException:
    return error if isinstance(error, BaseException) else Exception(str(error))


def _error_status(error: BaseException) -> Status:
    return Status(StatusCode.ERROR, f"{type(error).__name__}: {error}")


def _job_attributes(job: JobData) -> dict[str, AttributeValue]:
    return {attr.JOB_TYPE: job.type_name, attr.CHAIN_TYPE: job.chain_type_name}


def _worker_job_attributes(job: JobData, worker_id: str) -> dict[str, AttributeValue]:
    return {attr.JOB_TYPE: job.type_name, attr.CHAIN_TYPE: job.chain_type_name, attr.WORKER_ID: worker_id}


def _emit_complete_chain_span(
    tracer: Tracer, *, parent: Span, chain_context: SpanContext, chain_id: str, chain_type_name: str
) -> None:
    """The `complete chain.X` span: a child of whatever completed the last job, linked to the chain's producer span."""
    tracer.start_span(
        f"complete chain.{chain_type_name}",
        context=set_span_in_context(parent),
        kind=SpanKind.CONSUMER,
        links=[Link(chain_context)],
        attributes={attr.CHAIN_ID: chain_id, attr.CHAIN_TYPE: chain_type_name},
    ).end()


# --- span handles -------------------------------------------------------------------------


class _SubSpan(SpanHandle):
    __slots__ = ("_span",)

    def __init__(self, span: Span) -> None:
        self._span = span

    @_never_raises
    def end(self) -> None:
        self._span.end()


class _JobSpan(JobSpanHandle):
    """`create job.X`, plus `create chain.X` when the job starts a chain; both end together.

    With `open_spans` (the `"discard"` mode) the handle is listed there by its trace context
    until it ends, so that the blocker spans of its job can find it; a rolled-back creation
    then leaves its spans unended (an SDK span that never ends is never exported) and marks
    itself `discarded` for those blocker spans.
    """

    __slots__ = (
        "_chain_span",
        "_chain_trace_context",
        "_job_span",
        "_open_spans",
        "_trace_context",
        "discarded",
    )

    def __init__(
        self,
        *,
        chain_span: Span | None,
        job_span: Span,
        chain_trace_context: str,
        trace_context: str,
        open_spans: weakref.WeakValueDictionary[str, _JobSpan] | None,
    ) -> None:
        self._chain_span = chain_span
        self._job_span = job_span
        self._chain_trace_context = chain_trace_context
        self._trace_context = trace_context
        self._open_spans = open_spans
        self.discarded = False
        if open_spans is not None:
            open_spans[trace_context] = self

    def get_chain_trace_context(self) -> str:
        return self._chain_trace_context

    def get_trace_context(self) -> str:
        return self._trace_context

    @_never_raises
    def end(self, result: JobSpanResult) -> None:
        open_spans, self._open_spans = self._open_spans, None
        if open_spans is not None:
            open_spans.pop(self._trace_context, None)
            if isinstance(result, JobSpanError) and result.rolled_back:
                # Left unended on purpose: the SDK hands a span to its processors (and so to
                # the exporters) only when it ends. Nothing of the adapter keeps it.
                self.discarded = True
                return
        job_span, chain_span = self._job_span, self._chain_span
        spans = [job_span] if chain_span is None else [job_span, chain_span]
        if isinstance(result, JobSpanCreated | JobSpanDeduplicated):
            for span in spans:
                span.set_attribute(attr.CHAIN_ID, result.chain_id)
            job_span.set_attribute(attr.JOB_ID, result.job_id)
            if isinstance(result, JobSpanDeduplicated):
                for span in spans:
                    span.set_attribute(attr.CHAIN_DEDUPLICATED, True)
                existing = parse_traceparent(result.existing_chain_trace_context)
                if existing is not None:
                    job_span.add_link(existing)
        else:
            error = _as_exception(result.error)
            for span in spans:
                span.record_exception(error)
                span.set_status(_error_status(error))
        # The child first, so that exporters see a finished subtree when its root arrives.
        for span in spans:
            span.end()


class _BlockerSpan(BlockerSpanHandle):
    """`await chain.X`: a new job starts waiting on one blocker chain.

    `job` is the blocked job's open span handle in the `"discard"` mode. The core ends a
    rolled-back job span before the blocker spans of that job (buffered callbacks run in
    registration order), so by then `job.discarded` says whether this span goes too.
    """

    __slots__ = ("_job", "_span", "_trace_context")

    def __init__(self, span: Span, trace_context: str, job: _JobSpan | None = None) -> None:
        self._span = span
        self._trace_context = trace_context
        self._job = job

    def get_trace_context(self) -> str:
        return self._trace_context

    @_never_raises
    def end(self, blocker_chain_trace_context: str | None) -> None:
        job, self._job = self._job, None
        if job is not None and job.discarded:
            return
        blocker_chain = parse_traceparent(blocker_chain_trace_context)
        if blocker_chain is not None:
            self._span.add_link(blocker_chain)
        self._span.end()


class _AttemptSpan(AttemptSpanHandle):
    """`start job-attempt.X`, with its `prepare` and `complete` children."""

    __slots__ = ("_chain_context", "_chain_trace_context", "_data", "_span", "_trace_context", "_tracer")

    def __init__(
        self,
        tracer: Tracer,
        span: Span,
        data: AttemptSpanData,
        *,
        chain_context: SpanContext,
        chain_trace_context: str,
        trace_context: str,
    ) -> None:
        self._tracer = tracer
        self._span = span
        self._data = data
        self._chain_context = chain_context
        self._chain_trace_context = chain_trace_context
        self._trace_context = trace_context

    def get_chain_trace_context(self) -> str:
        return self._chain_trace_context

    def get_trace_context(self) -> str:
        return self._trace_context

    def _child(self, name: str) -> SpanHandle:
        return _SubSpan(self._tracer.start_span(name, context=set_span_in_context(self._span), kind=SpanKind.INTERNAL))

    def start_prepare(self) -> SpanHandle:
        return self._child("prepare")

    def start_complete(self) -> SpanHandle:
        return self._child("complete")

    @_never_raises
    def end(self, result: AttemptSpanResult) -> None:
        span = self._span
        if isinstance(result, AttemptFailed):
            error = _as_exception(result.error)
            span.record_exception(error)
            span.set_status(_error_status(error))
            span.set_attribute(attr.ATTEMPT_RESULT, "failed")
            if result.rescheduled_at is not None:
                span.set_attribute(attr.RESCHEDULED_AT, result.rescheduled_at.isoformat())
            if result.rescheduled_after_ms is not None:
                span.set_attribute(attr.RESCHEDULED_AFTER_MS, round(result.rescheduled_after_ms))
        else:
            span.set_status(Status(StatusCode.OK))
            span.set_attribute(attr.ATTEMPT_RESULT, "completed")
            if result.continued is not None:
                span.set_attribute(attr.CONTINUED_WITH_JOB_ID, result.continued.id)
                span.set_attribute(attr.CONTINUED_WITH_JOB_TYPE, result.continued.type_name)
            if result.chain_completed:
                _emit_complete_chain_span(
                    self._tracer,
                    parent=span,
                    chain_context=self._chain_context,
                    chain_id=self._data.chain_id,
                    chain_type_name=self._data.chain_type_name,
                )
        span.end()


# --- the adapter ----------------------------------------------------------------------------


class OtelObservabilityAdapter(ObservabilityAdapter):
    """Records queuert's events as OpenTelemetry metrics (through `meter`) and spans (through `tracer`).

    Leave out `meter` to record no metrics and `tracer` to record no spans. The adapter
    never configures providers or exporters; the application does. It depends only on
    `opentelemetry-api`, so without an SDK everything it records is dropped cheaply.

    Trace contexts travel in the job rows as W3C `traceparent` strings: the chain's
    `create chain.X` span on every job of the chain, and each job's `create job.X` span
    on that job. A worker in another process (or hours later) parents its attempt span on
    them, so one trace follows a chain across its jobs, continuations and blockers.
    Contexts it cannot parse (written by some other adapter, or missing) make it skip the
    spans that would depend on them.

    Args:
        meter: Where the metric instruments are created, e.g. `metrics.get_meter("queuert")`.
        tracer: Where spans are started, e.g. `trace.get_tracer("queuert")`.
        rolled_back_spans: What becomes of the creation spans of a start whose transaction
            (or savepoint) rolls back: `"error"` ends them with status ERROR, `"discard"`
            exports none of them. See `RolledBackSpans`.

    Raises:
        ValueError: `rolled_back_spans` is neither `"error"` nor `"discard"`.
    """

    def __init__(
        self,
        *,
        meter: Meter | None = None,
        tracer: Tracer | None = None,
        rolled_back_spans: RolledBackSpans = "error",
    ) -> None:
        if rolled_back_spans not in get_args(RolledBackSpans):
            raise ValueError(f"rolled_back_spans must be 'error' or 'discard', not {rolled_back_spans!r}")
        self._metrics = Instruments(meter) if meter is not None else None
        self._tracer = tracer
        self._rolled_back_spans: RolledBackSpans = rolled_back_spans
        # The "discard" mode's job spans that have not ended yet, by trace context. Weak, so
        # a handle the core drops without ending it cannot pile up here.
        self._open_job_spans: weakref.WeakValueDictionary[str, _JobSpan] | None = (
            weakref.WeakValueDictionary() if rolled_back_spans == "discard" else None
        )

    @property
    def rolled_back_spans(self) -> RolledBackSpans:
        """What becomes of the creation spans of a rolled-back start (see `RolledBackSpans`)."""
        return self._rolled_back_spans

    # --- worker lifecycle

    @_never_raises
    def worker_started(self, *, worker_id: str, job_type_names: Sequence[str]) -> None:
        if (m := self._metrics) is not None:
            m.worker_started.add(1, {attr.WORKER_ID: worker_id})

    @_never_raises
    def worker_error(self, *, worker_id: str, error: BaseException) -> None:
        if (m := self._metrics) is not None:
            m.worker_error.add(1, {attr.WORKER_ID: worker_id})

    @_never_raises
    def worker_stopping(self, *, worker_id: str) -> None:
        if (m := self._metrics) is not None:
            m.worker_stopping.add(1, {attr.WORKER_ID: worker_id})

    @_never_raises
    def worker_stopped(self, *, worker_id: str) -> None:
        if (m := self._metrics) is not None:
            m.worker_stopped.add(1, {attr.WORKER_ID: worker_id})

    # --- jobs

    @_never_raises
    def job_created(
        self,
        job: JobData,
        *,
        input: object,
        blockers: Sequence[ChainData],
        scheduled_at: datetime | None = None,
        schedule_after_ms: float | None = None,
    ) -> None:
        if (m := self._metrics) is not None:
            m.job_created.add(1, _job_attributes(job))

    @_never_raises
    def job_attempt_started(self, job: JobProcessingData, *, worker_id: str) -> None:
        if (m := self._metrics) is not None:
            m.job_attempt_started.add(1, _worker_job_attributes(job, worker_id))

    @_never_raises
    def job_attempt_taken_by_another_worker(
        self, job: JobProcessingData, *, worker_id: str, leased_by: str | None, leased_until: datetime | None
    ) -> None:
        if (m := self._metrics) is not None:
            m.job_attempt_taken_by_another_worker.add(1, _worker_job_attributes(job, worker_id))

    @_never_raises
    def job_attempt_already_completed(
        self, job: JobProcessingData, *, worker_id: str, completed_by: str | None
    ) -> None:
        if (m := self._metrics) is not None:
            m.job_attempt_already_completed.add(1, _worker_job_attributes(job, worker_id))

    @_never_raises
    def job_attempt_lease_expired(
        self, job: JobProcessingData, *, worker_id: str, leased_by: str | None, leased_until: datetime | None
    ) -> None:
        if (m := self._metrics) is not None:
            m.job_attempt_lease_expired.add(1, _worker_job_attributes(job, worker_id))

    @_never_raises
    def job_attempt_lease_renewed(
        self, job: JobProcessingData, *, worker_id: str, leased_by: str | None, leased_until: datetime | None
    ) -> None:
        if (m := self._metrics) is not None:
            m.job_attempt_lease_renewed.add(1, _worker_job_attributes(job, worker_id))

    @_never_raises
    def job_attempt_failed(
        self,
        job: JobProcessingData,
        *,
        worker_id: str,
        error: BaseException,
        rescheduled_at: datetime | None = None,
        rescheduled_after_ms: float | None = None,
    ) -> None:
        if (m := self._metrics) is not None:
            m.job_attempt_failed.add(1, _worker_job_attributes(job, worker_id))

    @_never_raises
    def job_attempt_completed(
        self, job: JobProcessingData, *, worker_id: str, output: object, continued_with: JobData | None = None
    ) -> None:
        if (m := self._metrics) is not None:
            m.job_attempt_completed.add(1, _worker_job_attributes(job, worker_id))

    @_never_raises
    def job_completed(
        self, job: JobProcessingData, *, worker_id: str | None, output: object, continued_with: JobData | None = None
    ) -> None:
        if (m := self._metrics) is not None:
            attributes = _job_attributes(job)
            if worker_id is not None:
                attributes[attr.WORKER_ID] = worker_id
            attributes[attr.JOB_CONTINUED] = continued_with is not None
            m.job_completed.add(1, attributes)

    @_never_raises
    def job_reaped(self, job: JobData, *, worker_id: str, leased_by: str | None, leased_until: datetime | None) -> None:
        if (m := self._metrics) is not None:
            m.job_reaped.add(1, _worker_job_attributes(job, worker_id))

    @_never_raises
    def job_triggered(self, job: JobData) -> None:
        if (m := self._metrics) is not None:
            m.job_triggered.add(1, _job_attributes(job))

    @_never_raises
    def job_blocked(self, job: JobData, *, blocked_by_chains: Sequence[ChainData]) -> None:
        if (m := self._metrics) is not None:
            m.job_blocked.add(1, _job_attributes(job))

    @_never_raises
    def job_unblocked(self, job: JobData, *, unblocked_by_chain: ChainData) -> None:
        if (m := self._metrics) is not None:
            m.job_unblocked.add(1, _job_attributes(job))

    # --- chains

    @_never_raises
    def chain_created(self, chain: ChainData, *, input: object) -> None:
        if (m := self._metrics) is not None:
            m.chain_created.add(1, {attr.CHAIN_TYPE: chain.type_name})

    @_never_raises
    def chain_completed(self, chain: ChainData, *, output: object) -> None:
        if (m := self._metrics) is not None:
            m.chain_completed.add(1, {attr.CHAIN_TYPE: chain.type_name})

    @_never_raises
    def chain_deleted(self, chain: ChainData) -> None:
        if (m := self._metrics) is not None:
            m.chain_deleted.add(1, {attr.CHAIN_TYPE: chain.type_name})

    # --- adapter errors

    @_never_raises
    def notify_adapter_error(self, *, operation: str, error: BaseException) -> None:
        if (m := self._metrics) is not None:
            m.notify_adapter_error.add(1, {attr.ADAPTER_OPERATION: operation})

    @_never_raises
    def state_adapter_error(self, *, operation: str, error: BaseException) -> None:
        if (m := self._metrics) is not None:
            m.state_adapter_error.add(1, {attr.ADAPTER_OPERATION: operation})

    # --- histograms (queuert reports milliseconds; OpenTelemetry convention is seconds)

    @_never_raises
    def chain_duration(self, chain: ChainData, *, duration_ms: float) -> None:
        if (m := self._metrics) is not None:
            m.chain_duration.record(duration_ms / 1000, {attr.CHAIN_TYPE: chain.type_name})

    @_never_raises
    def job_duration(self, job: JobProcessingData, *, duration_ms: float) -> None:
        if (m := self._metrics) is not None:
            m.job_duration.record(duration_ms / 1000, _job_attributes(job))

    @_never_raises
    def job_attempt_duration(self, job: JobProcessingData, *, duration_ms: float, worker_id: str) -> None:
        if (m := self._metrics) is not None:
            m.job_attempt_duration.record(duration_ms / 1000, _worker_job_attributes(job, worker_id))

    # --- gauges

    @_never_raises
    def job_type_idle_change(self, *, delta: int, type_name: str, worker_id: str) -> None:
        if (m := self._metrics) is not None:
            m.job_type_idle.add(delta, {attr.JOB_TYPE: type_name, attr.WORKER_ID: worker_id})

    @_never_raises
    def job_type_processing_change(self, *, delta: int, type_name: str, worker_id: str) -> None:
        if (m := self._metrics) is not None:
            m.job_type_processing.add(delta, {attr.JOB_TYPE: type_name, attr.WORKER_ID: worker_id})

    # --- tracing

    @_never_raises
    def start_job_span(self, data: JobSpanData) -> JobSpanHandle | None:
        tracer = self._tracer
        if tracer is None:
            return None
        chain_span: Span | None = None
        if data.is_chain_start:
            # A new chain parents on whatever is current in the caller (an HTTP request span,
            # say), never on an attempt: chains started by a handler are traces of their own.
            chain_span = tracer.start_span(
                f"create chain.{data.chain_type_name}",
                kind=SpanKind.PRODUCER,
                attributes={attr.CHAIN_TYPE: data.chain_type_name},
            )
            chain_context = chain_span.get_span_context()
            parent = set_span_in_context(chain_span)
        else:
            origin_chain = parse_traceparent(data.origin_chain_trace_context)
            if origin_chain is None:
                return None
            chain_context = origin_chain
            parent = as_parent(origin_chain)
        chain_trace_context = format_traceparent(chain_context)
        if chain_trace_context is None:
            # A no-op tracer with nothing current: there is no trace to join.
            if chain_span is not None:
                chain_span.end()
            return None
        origin = parse_traceparent(data.origin_trace_context)
        job_span = tracer.start_span(
            f"create job.{data.job_type_name}",
            context=parent,
            kind=SpanKind.PRODUCER,
            links=[Link(origin)] if origin is not None else None,
            attributes={attr.CHAIN_TYPE: data.chain_type_name, attr.JOB_TYPE: data.job_type_name},
        )
        trace_context = format_traceparent(job_span.get_span_context())
        if trace_context is None:
            for span in (job_span, chain_span):
                if span is not None:
                    span.end()
            return None
        return _JobSpan(
            chain_span=chain_span,
            job_span=job_span,
            chain_trace_context=chain_trace_context,
            trace_context=trace_context,
            open_spans=self._open_job_spans,
        )

    @_never_raises
    def start_blocker_span(self, data: BlockerSpanData) -> BlockerSpanHandle | None:
        tracer = self._tracer
        job = parse_traceparent(data.job_trace_context)
        if tracer is None or job is None:
            return None
        span = tracer.start_span(
            f"await chain.{data.blocker_chain_type_name}",
            context=as_parent(job),
            kind=SpanKind.PRODUCER,
            attributes={
                attr.CHAIN_ID: data.chain_id,
                attr.CHAIN_TYPE: data.chain_type_name,
                attr.JOB_ID: data.job_id,
                attr.JOB_TYPE: data.job_type_name,
                attr.BLOCKER_CHAIN_ID: data.blocker_chain_id,
                attr.BLOCKER_CHAIN_TYPE: data.blocker_chain_type_name,
                attr.BLOCKER_INDEX: data.blocker_index,
            },
        )
        trace_context = format_traceparent(span.get_span_context())
        if trace_context is None:
            span.end()
            return None
        open_spans = self._open_job_spans
        job_span = open_spans.get(data.job_trace_context) if open_spans is not None else None
        return _BlockerSpan(span, trace_context, job_span)

    @_never_raises
    def complete_blocker_span(self, data: CompleteBlockerSpanData) -> None:
        tracer = self._tracer
        awaiting = parse_traceparent(data.trace_context)
        if tracer is None or awaiting is None:
            return
        tracer.start_span(
            f"resolve chain.{data.blocker_chain_type_name}", context=as_parent(awaiting), kind=SpanKind.CONSUMER
        ).end()

    @_never_raises
    def start_attempt_span(self, data: AttemptSpanData) -> AttemptSpanHandle | None:
        tracer = self._tracer
        chain = parse_traceparent(data.chain_trace_context)
        job = parse_traceparent(data.trace_context)
        # A job always belongs to a chain: without both contexts the spans would not connect.
        if tracer is None or chain is None or job is None:
            return None
        span = tracer.start_span(
            f"start job-attempt.{data.job_type_name}",
            context=as_parent(job),
            kind=SpanKind.CONSUMER,
            attributes={
                attr.CHAIN_ID: data.chain_id,
                attr.CHAIN_TYPE: data.chain_type_name,
                attr.JOB_ID: data.job_id,
                attr.JOB_TYPE: data.job_type_name,
                attr.JOB_ATTEMPT: data.attempt,
                attr.WORKER_ID: data.worker_id,
            },
        )
        chain_trace_context = format_traceparent(chain)
        trace_context = format_traceparent(span.get_span_context())
        if chain_trace_context is None or trace_context is None:
            span.end()
            return None
        return _AttemptSpan(
            tracer,
            span,
            data,
            chain_context=chain,
            chain_trace_context=chain_trace_context,
            trace_context=trace_context,
        )

    @_never_raises
    def complete_job_span(self, data: CompleteJobSpanData) -> None:
        tracer = self._tracer
        chain = parse_traceparent(data.chain_trace_context)
        job = parse_traceparent(data.trace_context)
        if tracer is None or chain is None or job is None:
            return
        attributes: dict[str, AttributeValue] = {
            attr.CHAIN_ID: data.chain_id,
            attr.CHAIN_TYPE: data.chain_type_name,
            attr.JOB_ID: data.job_id,
            attr.JOB_TYPE: data.job_type_name,
        }
        if data.continued is not None:
            attributes[attr.CONTINUED_WITH_JOB_ID] = data.continued.id
            attributes[attr.CONTINUED_WITH_JOB_TYPE] = data.continued.type_name
        span = tracer.start_span(
            f"complete job.{data.job_type_name}", context=as_parent(job), kind=SpanKind.CONSUMER, attributes=attributes
        )
        if data.chain_completed:
            _emit_complete_chain_span(
                tracer, parent=span, chain_context=chain, chain_id=data.chain_id, chain_type_name=data.chain_type_name
            )
        span.end()


async def create_otel_observability_adapter(
    *, meter: Meter | None = None, tracer: Tracer | None = None, rolled_back_spans: RolledBackSpans = "error"
) -> OtelObservabilityAdapter:
    """Build the OpenTelemetry observability adapter; pass it to `create_client(observability_adapter=...)`.

    All metric instruments are created here, once.

    Args:
        meter: Records metrics; `None` records none. Recommended:
            `metrics.get_meter("queuert", queuert.__version__)`.
        tracer: Records spans; `None` records none. Recommended:
            `trace.get_tracer("queuert", queuert.__version__)`.
        rolled_back_spans: The spans of a start whose transaction (or savepoint) rolls back.
            `"error"` (the default, as upstream): `create chain`, `create job` and `await
            chain` still end, the creation spans with status ERROR and the exception
            "savepoint rolled back", so a failed request's trace shows what it tried to
            start. `"discard"`: none of them is exported. Metrics are never recorded for a
            rolled-back start, and a start that failed to write ends in ERROR either way.

    Raises:
        ValueError: `rolled_back_spans` is neither `"error"` nor `"discard"`.
    """
    return OtelObservabilityAdapter(meter=meter, tracer=tracer, rolled_back_spans=rolled_back_spans)
