"""The observability adapter contract: metrics and tracing hooks queuert calls as things happen."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from ._entities import JobStatus

__all__ = (
    "AttemptCompleted",
    "AttemptFailed",
    "AttemptSpanData",
    "AttemptSpanHandle",
    "AttemptSpanResult",
    "BlockerSpanData",
    "BlockerSpanHandle",
    "ChainData",
    "CompleteBlockerSpanData",
    "CompleteJobSpanData",
    "JobData",
    "JobProcessingData",
    "JobSpanCreated",
    "JobSpanData",
    "JobSpanDeduplicated",
    "JobSpanError",
    "JobSpanHandle",
    "JobSpanResult",
    "NoopObservabilityAdapter",
    "ObservabilityAdapter",
    "SpanHandle",
)


# --- event data -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class JobData:
    """Which job an event is about."""

    id: str
    type_name: str
    chain_id: str
    chain_type_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class JobProcessingData(JobData):
    """A job plus where it stands in processing."""

    status: JobStatus
    attempt: int
    """Attempts started so far (the current one included, during an attempt)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainData:
    """Which chain an event is about."""

    id: str
    type_name: str
    """The chain's type: the type name of its first job."""


# --- tracing: span inputs ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSpanData:
    """Input of `ObservabilityAdapter.start_job_span`: a job is about to be created."""

    chain_type_name: str
    job_type_name: str
    is_chain_start: bool
    """`True` for a chain's first job (a new chain span starts too), `False` for a continuation."""
    origin_chain_trace_context: str | None = None
    """For a continuation: the chain trace context of the job it continues."""
    origin_trace_context: str | None = None
    """For a continuation: the trace context of the job it continues."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockerSpanData:
    """Input of `ObservabilityAdapter.start_blocker_span`: a new job waits on a blocker chain."""

    chain_id: str
    chain_type_name: str
    job_id: str
    job_type_name: str
    job_trace_context: str
    """The trace context of the blocked job (the span to parent on)."""
    blocker_chain_id: str
    blocker_chain_type_name: str
    blocker_index: int
    """Position of the blocker in the job's blocker list."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CompleteBlockerSpanData:
    """Input of `ObservabilityAdapter.complete_blocker_span`: a blocker chain has completed."""

    trace_context: str | None
    """The blocker edge's stored trace context (from `BlockerSpanHandle.get_trace_context`)."""
    blocker_chain_type_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptSpanData:
    """Input of `ObservabilityAdapter.start_attempt_span`: a worker starts an attempt."""

    chain_trace_context: str | None
    trace_context: str | None
    chain_id: str
    chain_type_name: str
    job_id: str
    job_type_name: str
    attempt: int
    worker_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CompleteJobSpanData:
    """Input of `ObservabilityAdapter.complete_job_span`: a job was completed without a worker."""

    chain_trace_context: str | None
    trace_context: str | None
    chain_id: str
    chain_type_name: str
    job_id: str
    job_type_name: str
    continued: JobData | None = None
    """The continuation the completion created, if any."""
    chain_completed: bool = False
    """Whether this completion finished the chain."""


# --- tracing: span results --------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSpanCreated:
    """The job was created (reported after the transaction committed)."""

    job_id: str
    chain_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSpanDeduplicated:
    """No job was created: an existing chain matched the deduplication key."""

    job_id: str
    chain_id: str
    existing_chain_trace_context: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSpanError:
    """Creating the job failed, or the transaction (or savepoint) creating it rolled back."""

    error: BaseException
    rolled_back: bool = False
    """`True` when the write itself succeeded but the transaction (or hooks savepoint) that
    made it rolled back; `error` is then a "savepoint rolled back" error. `False` when the
    write raised `error`. An adapter may treat the two differently, e.g. drop the span of a
    rolled-back creation instead of ending it in error."""


JobSpanResult: TypeAlias = JobSpanCreated | JobSpanDeduplicated | JobSpanError
"""How a job span ends."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptCompleted:
    """The attempt completed its job."""

    continued: JobData | None = None
    """The continuation job it created, if any."""
    chain_completed: bool = False
    """Whether the completion finished the chain."""
    chain_output: object = None
    """The chain's output when `chain_completed`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptFailed:
    """The attempt failed and the job was rescheduled."""

    error: BaseException
    rescheduled_at: datetime | None = None
    rescheduled_after_ms: float | None = None


AttemptSpanResult: TypeAlias = AttemptCompleted | AttemptFailed
"""How an attempt span ends."""


# --- tracing: handles -------------------------------------------------------------------


class SpanHandle(abc.ABC):
    """An open sub-span (the `prepare` or `complete` phase of an attempt)."""

    @abc.abstractmethod
    def end(self) -> None:
        """End the span."""


class JobSpanHandle(abc.ABC):
    """An open "create job" span (and, for a chain start, its "create chain" span)."""

    @abc.abstractmethod
    def get_chain_trace_context(self) -> str:
        """The chain's trace context, stored on every job of the chain (W3C `traceparent` for OpenTelemetry)."""

    @abc.abstractmethod
    def get_trace_context(self) -> str:
        """This job's trace context, stored on the job row."""

    @abc.abstractmethod
    def end(self, result: JobSpanResult) -> None:
        """End the span(s) with the outcome of the creation.

        Called once: `JobSpanCreated` after commit, `JobSpanDeduplicated` at once,
        `JobSpanError(error)` at once when the job's write raised, and
        `JobSpanError(error, rolled_back=True)` when the transaction or hooks savepoint that
        wrote the job rolled back (for whatever reason, including a later step of the same
        start raising).
        """


class BlockerSpanHandle(abc.ABC):
    """An open "await chain" span for one blocker of a new job."""

    @abc.abstractmethod
    def get_trace_context(self) -> str:
        """The span's trace context, stored on the blocker row and passed back to `complete_blocker_span`."""

    @abc.abstractmethod
    def end(self, blocker_chain_trace_context: str | None) -> None:
        """End the span, linking it to the blocker chain's trace context when there is one.

        Buffered until commit. If the creation rolls back it is called with `None`, after
        the blocked job's `JobSpanHandle.end(JobSpanError(..., rolled_back=True))`.
        """


class AttemptSpanHandle(abc.ABC):
    """An open span for one processing attempt."""

    @abc.abstractmethod
    def get_chain_trace_context(self) -> str:
        """The chain trace context the attempt runs under."""

    @abc.abstractmethod
    def get_trace_context(self) -> str:
        """The attempt span's own trace context."""

    @abc.abstractmethod
    def start_prepare(self) -> SpanHandle:
        """Start the `prepare` sub-span."""

    @abc.abstractmethod
    def start_complete(self) -> SpanHandle:
        """Start the `complete` sub-span."""

    @abc.abstractmethod
    def end(self, result: AttemptSpanResult) -> None:
        """End the attempt span with its outcome."""


# --- the adapter ------------------------------------------------------------------------


class ObservabilityAdapter:
    """Receives metrics and tracing events from the client and workers.

    Subclass it and override the hooks you record: every hook has a do-nothing default
    (so this base class has no abstract methods), and the span starts return `None`
    ("no span") by default. Contract:

    * Hooks are synchronous and run on the event loop: they must be cheap and must not block.
    * Hooks should not raise. If one does, queuert logs the exception through the `queuert`
      standard-library logger and carries on; a raising span start counts as "no span".
    * Events describing writes made in a transaction (creations, completions, deletions,
      ...) arrive only after that transaction committed, and never if it rolled back.
    * Span starts are the exception: a creation's spans start before the write (their
      contexts are stored in it), so a rollback still ends them: the job span with
      `JobSpanError(..., rolled_back=True)`, then its blocker spans with `end(None)`.
    * Data arguments are plain values (`str`, `int`, `datetime`, JSON-like inputs and
      outputs) in frozen dataclasses; new optional fields may be added over time.
    """

    # --- worker lifecycle

    def worker_started(self, *, worker_id: str, job_type_names: Sequence[str]) -> None:
        """A worker started processing `job_type_names`."""

    def worker_error(self, *, worker_id: str, error: BaseException) -> None:
        """The worker loop caught an error and will restart after a backoff."""

    def worker_stopping(self, *, worker_id: str) -> None:
        """A worker was asked to stop."""

    def worker_stopped(self, *, worker_id: str) -> None:
        """A worker finished stopping."""

    # --- jobs

    def job_created(
        self,
        job: JobData,
        *,
        input: object,
        blockers: Sequence[ChainData],
        scheduled_at: datetime | None = None,
        schedule_after_ms: float | None = None,
    ) -> None:
        """A job was created (not deduplicated). `scheduled_at`/`schedule_after_ms` are the schedule as supplied."""

    def job_attempt_started(self, job: JobProcessingData, *, worker_id: str) -> None:
        """A worker started an attempt at `job`."""

    def job_attempt_taken_by_another_worker(
        self, job: JobProcessingData, *, worker_id: str, leased_by: str | None, leased_until: datetime | None
    ) -> None:
        """The worker found its job leased to another worker (`leased_by`)."""

    def job_attempt_already_completed(
        self, job: JobProcessingData, *, worker_id: str, completed_by: str | None
    ) -> None:
        """The worker found its job already completed (`completed_by` is `None` for a workerless completion)."""

    def job_attempt_lease_expired(
        self, job: JobProcessingData, *, worker_id: str, leased_by: str | None, leased_until: datetime | None
    ) -> None:
        """The worker found its own lease past due; processing continues."""

    def job_attempt_lease_renewed(
        self, job: JobProcessingData, *, worker_id: str, leased_by: str | None, leased_until: datetime | None
    ) -> None:
        """The worker renewed its lease; `leased_until` is the new expiry."""

    def job_attempt_failed(
        self,
        job: JobProcessingData,
        *,
        worker_id: str,
        error: BaseException,
        rescheduled_at: datetime | None = None,
        rescheduled_after_ms: float | None = None,
    ) -> None:
        """An attempt failed and the job was rescheduled."""

    def job_attempt_completed(
        self, job: JobProcessingData, *, worker_id: str, output: object, continued_with: JobData | None = None
    ) -> None:
        """An attempt completed its job (`output` is `None` when it continued with another job)."""

    def job_completed(
        self, job: JobProcessingData, *, worker_id: str | None, output: object, continued_with: JobData | None = None
    ) -> None:
        """A job reached `completed` (`worker_id` is `None` when completed without a worker)."""

    def job_reaped(self, job: JobData, *, worker_id: str, leased_by: str | None, leased_until: datetime | None) -> None:
        """The reaper (worker `worker_id`) reset the expired lease `leased_by`/`leased_until`."""

    def job_triggered(self, job: JobData) -> None:
        """A scheduled job was made due now."""

    def job_blocked(self, job: JobData, *, blocked_by_chains: Sequence[ChainData]) -> None:
        """A new job waits for the incomplete chains `blocked_by_chains`."""

    def job_unblocked(self, job: JobData, *, unblocked_by_chain: ChainData) -> None:
        """The completion of `unblocked_by_chain` released a blocked job."""

    # --- chains

    def chain_created(self, chain: ChainData, *, input: object) -> None:
        """A chain was started (not deduplicated)."""

    def chain_completed(self, chain: ChainData, *, output: object) -> None:
        """A chain's final job completed."""

    def chain_deleted(self, chain: ChainData) -> None:
        """A chain was deleted."""

    # --- adapter errors

    def notify_adapter_error(self, *, operation: str, error: BaseException) -> None:
        """A notify adapter method (`operation`, its Python name) raised."""

    def state_adapter_error(self, *, operation: str, error: BaseException) -> None:
        """A state adapter method (`operation`, its Python name) raised."""

    # --- histograms

    def chain_duration(self, chain: ChainData, *, duration_ms: float) -> None:
        """A chain completed `duration_ms` after it was created."""

    def job_duration(self, job: JobProcessingData, *, duration_ms: float) -> None:
        """A job completed `duration_ms` after it was created."""

    def job_attempt_duration(self, job: JobProcessingData, *, duration_ms: float, worker_id: str) -> None:
        """A successful attempt took `duration_ms` of wall time."""

    # --- gauges

    def job_type_idle_change(self, *, delta: int, type_name: str, worker_id: str) -> None:
        """The number of idle worker slots for `type_name` changed by `delta`."""

    def job_type_processing_change(self, *, delta: int, type_name: str, worker_id: str) -> None:
        """The number of jobs of `type_name` being processed changed by `delta`."""

    # --- tracing

    def start_job_span(self, data: JobSpanData) -> JobSpanHandle | None:
        """Start the span of a job about to be created; `None` means no span (nothing is stored on the row)."""
        return None

    def start_blocker_span(self, data: BlockerSpanData) -> BlockerSpanHandle | None:
        """Start the span of a new job waiting on one blocker chain; `None` means no span."""
        return None

    def complete_blocker_span(self, data: CompleteBlockerSpanData) -> None:
        """A blocker chain completed; record its resolution under the stored blocker span."""

    def start_attempt_span(self, data: AttemptSpanData) -> AttemptSpanHandle | None:
        """Start the span of an attempt; `None` means no span."""
        return None

    def complete_job_span(self, data: CompleteJobSpanData) -> None:
        """Record a job completed without a worker."""


class NoopObservabilityAdapter(ObservabilityAdapter):
    """Records nothing. The default when no observability adapter is given."""
