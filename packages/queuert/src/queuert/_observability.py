"""One helper feeding both the structured log and the observability adapter, so they never disagree.

Every event of the catalogue has one method here. It builds the log entry, hands it to the
`Log` (if any), then calls the matching `ObservabilityAdapter` hook. Neither output may
break the caller (binding decision 7): whatever the log function or an adapter hook
raises is reported through the `queuert` standard-library logger and swallowed.

Events that describe writes made in a transaction are not emitted directly but queued
with `on_commit` (run after the transaction commits) or `on_rollback` (run if it rolls
back), both on the transaction's `TransactionHooks`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from ._observability_adapter import (
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
    JobSpanError,
    JobSpanHandle,
    JobSpanResult,
    NoopObservabilityAdapter,
    ObservabilityAdapter,
    SpanHandle,
)
from ._state_adapter import StateChain, StateJob
from ._transaction_hooks import HookDefinition, HookKey, TransactionHooks
from .errors import QueuertError

if TYPE_CHECKING:
    from datetime import datetime

    from ._log import Log, LogEntry, LogLevel
    from .errors import JobTypeValidationError

__all__ = (
    "ChainRef",
    "GuardedAttemptSpan",
    "GuardedBlockerSpan",
    "GuardedJobSpan",
    "GuardedSpan",
    "JobRef",
    "Observability",
    "SpanRolledBackError",
)

_logger = logging.getLogger("queuert")

ChainRef: TypeAlias = StateJob | StateChain | ChainData
"""A chain named by any of its jobs (the chain id/type are read off it), the chain itself, or its data."""

JobRef: TypeAlias = StateJob | JobData
"""A job named by its stored row or by its data."""

Callback: TypeAlias = Callable[[], None]

T = TypeVar("T")


# --- data conversion ----------------------------------------------------------------------


def _job_data(job: JobRef) -> JobData:
    if isinstance(job, JobData):
        return job
    return JobData(id=job.id, type_name=job.type_name, chain_id=job.chain_id, chain_type_name=job.chain_type_name)


def _job_processing_data(job: StateJob) -> JobProcessingData:
    return JobProcessingData(
        id=job.id,
        type_name=job.type_name,
        chain_id=job.chain_id,
        chain_type_name=job.chain_type_name,
        status=job.status,
        attempt=job.attempt,
    )


def _chain_data(chain: ChainRef) -> ChainData:
    if isinstance(chain, ChainData):
        return chain
    job = chain.root if isinstance(chain, StateChain) else chain
    return ChainData(id=job.chain_id, type_name=job.chain_type_name)


def _job_log(job: JobData) -> dict[str, object]:
    return {"id": job.id, "type_name": job.type_name, "chain_id": job.chain_id, "chain_type_name": job.chain_type_name}


def _job_processing_log(job: JobProcessingData) -> dict[str, object]:
    return {**_job_log(job), "status": job.status, "attempt": job.attempt}


def _chain_log(chain: ChainData) -> dict[str, object]:
    return {"id": chain.id, "type_name": chain.type_name}


def _call_safely(what: str, fn: Callable[[], T]) -> T | None:
    """Call `fn`; on an exception, report it and return `None`."""
    try:
        return fn()
    except Exception:
        _logger.exception("queuert: %s raised; the error was ignored", what)
        return None


class SpanRolledBackError(QueuertError):
    """The transaction or savepoint that created a job rolled back, so its span ends in error.

    Never raised: only handed to `JobSpanHandle.end`. Its message, "savepoint rolled back",
    is the span exception text upstream uses.
    """

    def __init__(self) -> None:
        super().__init__("savepoint rolled back")


# --- guarded span handles -----------------------------------------------------------------


class GuardedSpan:
    """A sub-span whose `end()` never raises and forwards at most once."""

    __slots__ = ("_handle",)

    def __init__(self, handle: SpanHandle | None) -> None:
        self._handle = handle

    def end(self) -> None:
        """End the span."""
        handle, self._handle = self._handle, None
        if handle is not None:
            _call_safely("SpanHandle.end", handle.end)


class GuardedJobSpan:
    """A `JobSpanHandle` whose methods never raise; a context getter that fails returns `None`."""

    __slots__ = ("_ended", "_handle")

    def __init__(self, handle: JobSpanHandle) -> None:
        self._handle = handle
        self._ended = False

    def get_chain_trace_context(self) -> str | None:
        """The chain trace context to store on the row, or `None` if the adapter failed to give one."""
        return _call_safely("JobSpanHandle.get_chain_trace_context", self._handle.get_chain_trace_context)

    def get_trace_context(self) -> str | None:
        """The job trace context to store on the row, or `None` if the adapter failed to give one."""
        return _call_safely("JobSpanHandle.get_trace_context", self._handle.get_trace_context)

    def end(self, result: JobSpanResult) -> None:
        """End the span; calls after the first are ignored (a span ends exactly once)."""
        if self._ended:
            return
        self._ended = True
        _call_safely("JobSpanHandle.end", lambda: self._handle.end(result))


class GuardedBlockerSpan:
    """A `BlockerSpanHandle` whose methods never raise."""

    __slots__ = ("_ended", "_handle")

    def __init__(self, handle: BlockerSpanHandle) -> None:
        self._handle = handle
        self._ended = False

    def get_trace_context(self) -> str | None:
        """The blocker span's trace context, or `None` if the adapter failed to give one."""
        return _call_safely("BlockerSpanHandle.get_trace_context", self._handle.get_trace_context)

    def end(self, blocker_chain_trace_context: str | None) -> None:
        """End the span; calls after the first are ignored."""
        if self._ended:
            return
        self._ended = True
        _call_safely("BlockerSpanHandle.end", lambda: self._handle.end(blocker_chain_trace_context))


class GuardedAttemptSpan:
    """An `AttemptSpanHandle` whose methods never raise."""

    __slots__ = ("_ended", "_handle")

    def __init__(self, handle: AttemptSpanHandle) -> None:
        self._handle = handle
        self._ended = False

    def get_chain_trace_context(self) -> str | None:
        """The chain trace context of the attempt, or `None` if the adapter failed to give one."""
        return _call_safely("AttemptSpanHandle.get_chain_trace_context", self._handle.get_chain_trace_context)

    def get_trace_context(self) -> str | None:
        """The attempt's trace context, or `None` if the adapter failed to give one."""
        return _call_safely("AttemptSpanHandle.get_trace_context", self._handle.get_trace_context)

    def start_prepare(self) -> GuardedSpan:
        """Start the `prepare` sub-span (a do-nothing span if the adapter fails)."""
        return GuardedSpan(_call_safely("AttemptSpanHandle.start_prepare", self._handle.start_prepare))

    def start_complete(self) -> GuardedSpan:
        """Start the `complete` sub-span (a do-nothing span if the adapter fails)."""
        return GuardedSpan(_call_safely("AttemptSpanHandle.start_complete", self._handle.start_complete))

    def end(self, result: AttemptSpanResult) -> None:
        """End the attempt span; calls after the first are ignored."""
        if self._ended:
            return
        self._ended = True
        _call_safely("AttemptSpanHandle.end", lambda: self._handle.end(result))


# --- buffering ------------------------------------------------------------------------------

_COMMIT_KEY: HookKey[list[Callback]] = HookKey("queuert observability commit")
_ROLLBACK_KEY: HookKey[list[Callback]] = HookKey("queuert observability rollback")


def _run_in_order(callbacks: Sequence[Callback]) -> None:
    for callback in callbacks:
        _call_safely("buffered observability callback", callback)


def _trim_to_length(callbacks: list[Callback]) -> Callback:
    length = len(callbacks)

    def restore() -> None:
        del callbacks[length:]

    return restore


def _run_added_since(callbacks: list[Callback]) -> Callback:
    length = len(callbacks)

    def restore() -> None:
        added = callbacks[length:]
        del callbacks[length:]
        _run_in_order(added)

    return restore


def _commit_hook() -> HookDefinition[list[Callback]]:
    return HookDefinition(state=[], flush=_run_in_order, checkpoint=_trim_to_length)


def _ignore(_: list[Callback]) -> None:
    return None


def _rollback_hook() -> HookDefinition[list[Callback]]:
    return HookDefinition(state=[], flush=_ignore, discard=_run_in_order, checkpoint=_run_added_since)


# --- the helper -----------------------------------------------------------------------------


class Observability:
    """Emits every queuert event to the log and to the observability adapter.

    Methods never raise (except on programming errors in the arguments themselves): a
    failing log function or adapter hook is reported via `logging.getLogger("queuert")`.
    """

    __slots__ = ("_adapter", "_log", "silent")

    def __init__(self, log: Log | None, adapter: ObservabilityAdapter) -> None:
        self._log = log
        self._adapter = adapter
        self.silent = log is None and type(adapter) is NoopObservabilityAdapter
        """Nothing listens (no log, the no-op adapter): callers may skip building buffered events."""

    @property
    def log(self) -> Log | None:
        """The structured log sink, if any."""
        return self._log

    @property
    def adapter(self) -> ObservabilityAdapter:
        """The observability adapter (unwrapped)."""
        return self._adapter

    # --- buffering

    @staticmethod
    def on_commit(hooks: TransactionHooks, callback: Callback) -> None:
        """Run `callback` after the transaction of `hooks` commits (when the hooks are flushed).

        All callbacks share one ordered list: they run one after another in registration
        order, each failure logged and skipped. Dropped on discard; a savepoint rollback
        drops exactly the callbacks registered since the savepoint.
        """
        hooks.get_or_insert(_COMMIT_KEY, _commit_hook).append(callback)

    @staticmethod
    def on_rollback(hooks: TransactionHooks, callback: Callback) -> None:
        """Run `callback` if the transaction of `hooks` rolls back (discard) or its savepoint does.

        Nothing runs on flush. On discard all callbacks run in registration order; on a
        savepoint rollback, exactly those registered since the savepoint. Failures are
        logged and skipped.
        """
        hooks.get_or_insert(_ROLLBACK_KEY, _rollback_hook).append(callback)

    @staticmethod
    def end_job_span_after_commit(
        hooks: TransactionHooks, span: GuardedJobSpan | None, *, job_id: str, chain_id: str
    ) -> None:
        """Buffer the end of a created job's span.

        After commit it ends as `JobSpanCreated(job_id, chain_id)`; if the transaction or an
        enclosing hooks savepoint rolls back it ends as
        `JobSpanError(SpanRolledBackError(), rolled_back=True)`.
        Does nothing when `span` is `None`.
        """
        if span is None:
            return
        created = JobSpanCreated(job_id=job_id, chain_id=chain_id)
        Observability.on_commit(hooks, lambda: span.end(created))
        Observability.on_rollback(hooks, lambda: span.end(JobSpanError(error=SpanRolledBackError(), rolled_back=True)))

    # --- plumbing

    def _emit(
        self,
        type_name: str,
        level: LogLevel,
        message: str,
        data: dict[str, object],
        hook: Callback | None,
        error: BaseException | None = None,
    ) -> None:
        log = self._log
        if log is not None:
            entry: LogEntry = {"type": type_name, "level": level, "message": message, "data": data}
            if error is not None:
                entry["error"] = error
            _call_safely(f"the log function (for {type_name!r})", lambda: log(entry))
        if hook is not None:
            _call_safely(f"ObservabilityAdapter.{type_name}", hook)

    # --- worker lifecycle

    def worker_started(self, *, worker_id: str, job_type_names: Sequence[str]) -> None:
        """`worker_started` (info): the worker's loop started."""
        names = list(job_type_names)
        self._emit(
            "worker_started",
            "info",
            "Started worker",
            {"worker_id": worker_id, "job_type_names": names},
            lambda: self._adapter.worker_started(worker_id=worker_id, job_type_names=names),
        )

    def worker_error(self, *, worker_id: str, error: BaseException) -> None:
        """`worker_error` (error): the main loop or a slot task raised."""
        self._emit(
            "worker_error",
            "error",
            "Worker error",
            {"worker_id": worker_id},
            lambda: self._adapter.worker_error(worker_id=worker_id, error=error),
            error,
        )

    def worker_stopping(self, *, worker_id: str) -> None:
        """`worker_stopping` (info): `stop()` began."""
        self._emit(
            "worker_stopping",
            "info",
            "Stopping worker...",
            {"worker_id": worker_id},
            lambda: self._adapter.worker_stopping(worker_id=worker_id),
        )

    def worker_stopped(self, *, worker_id: str) -> None:
        """`worker_stopped` (info): the worker drained and stopped."""
        self._emit(
            "worker_stopped",
            "info",
            "Worker has been stopped",
            {"worker_id": worker_id},
            lambda: self._adapter.worker_stopped(worker_id=worker_id),
        )

    # --- jobs

    def job_created(
        self,
        job: StateJob,
        *,
        input: object,
        blockers: Sequence[ChainRef] = (),
        scheduled_at: datetime | None = None,
        schedule_after_ms: float | None = None,
    ) -> None:
        """`job_created` (info). `input` is the caller's value before parsing; `blockers` all supplied ones.

        `scheduled_at` / `schedule_after_ms` are the schedule as supplied; they are left out
        of the log data when `None` (and `schedule_after_ms` also when 0).
        """
        data = _job_data(job)
        chains = [_chain_data(chain) for chain in blockers]
        after_ms = schedule_after_ms or None
        log_data: dict[str, object] = {**_job_log(data), "input": input, "blockers": [_chain_log(c) for c in chains]}
        if scheduled_at is not None:
            log_data["scheduled_at"] = scheduled_at
        if after_ms is not None:
            log_data["schedule_after_ms"] = after_ms
        self._emit(
            "job_created",
            "info",
            "Job created",
            log_data,
            lambda: self._adapter.job_created(
                data, input=input, blockers=chains, scheduled_at=scheduled_at, schedule_after_ms=after_ms
            ),
        )

    def job_attempt_started(self, job: StateJob, *, worker_id: str) -> None:
        """`job_attempt_started` (info): an attempt begins (`job` as acquired)."""
        if self.silent:
            return
        data = _job_processing_data(job)
        self._emit(
            "job_attempt_started",
            "info",
            "Job attempt started",
            {**_job_processing_log(data), "worker_id": worker_id},
            lambda: self._adapter.job_attempt_started(data, worker_id=worker_id),
        )

    def job_attempt_taken_by_another_worker(
        self, job: StateJob, *, worker_id: str, leased_by: str | None, leased_until: datetime | None
    ) -> None:
        """`job_attempt_taken_by_another_worker` (warn): the ownership check found another worker's lease."""
        data = _job_processing_data(job)
        self._emit(
            "job_attempt_taken_by_another_worker",
            "warn",
            "Job taken by another worker",
            {**_job_processing_log(data), "leased_by": leased_by, "leased_until": leased_until, "worker_id": worker_id},
            lambda: self._adapter.job_attempt_taken_by_another_worker(
                data, worker_id=worker_id, leased_by=leased_by, leased_until=leased_until
            ),
        )

    def job_attempt_already_completed(self, job: StateJob, *, worker_id: str, completed_by: str | None) -> None:
        """`job_attempt_already_completed` (warn): the ownership check found the job completed."""
        data = _job_processing_data(job)
        self._emit(
            "job_attempt_already_completed",
            "warn",
            "Job already completed by another worker",
            {**_job_processing_log(data), "completed_by": completed_by, "worker_id": worker_id},
            lambda: self._adapter.job_attempt_already_completed(data, worker_id=worker_id, completed_by=completed_by),
        )

    def job_attempt_lease_expired(
        self, job: StateJob, *, worker_id: str, leased_by: str | None, leased_until: datetime | None
    ) -> None:
        """`job_attempt_lease_expired` (warn): the worker's own lease is past due (processing continues)."""
        data = _job_processing_data(job)
        self._emit(
            "job_attempt_lease_expired",
            "warn",
            "Job lease expired",
            {**_job_processing_log(data), "leased_by": leased_by, "leased_until": leased_until, "worker_id": worker_id},
            lambda: self._adapter.job_attempt_lease_expired(
                data, worker_id=worker_id, leased_by=leased_by, leased_until=leased_until
            ),
        )

    def job_attempt_lease_renewed(
        self, job: StateJob, *, worker_id: str, leased_by: str | None, leased_until: datetime | None
    ) -> None:
        """`job_attempt_lease_renewed` (info): pass the *new* lease (decision on quirk 10)."""
        data = _job_processing_data(job)
        self._emit(
            "job_attempt_lease_renewed",
            "info",
            "Job lease renewed",
            {**_job_processing_log(data), "leased_by": leased_by, "leased_until": leased_until, "worker_id": worker_id},
            lambda: self._adapter.job_attempt_lease_renewed(
                data, worker_id=worker_id, leased_by=leased_by, leased_until=leased_until
            ),
        )

    def job_attempt_failed(
        self,
        job: StateJob,
        *,
        worker_id: str,
        error: BaseException,
        rescheduled_at: datetime | None = None,
        rescheduled_after_ms: float | None = None,
    ) -> None:
        """`job_attempt_failed` (error): the attempt failed and the job was rescheduled."""
        data = _job_processing_data(job)
        log_data: dict[str, object] = _job_processing_log(data)
        if rescheduled_after_ms is not None:
            log_data["rescheduled_after_ms"] = rescheduled_after_ms
        if rescheduled_at is not None:
            log_data["rescheduled_at"] = rescheduled_at
        log_data["worker_id"] = worker_id
        self._emit(
            "job_attempt_failed",
            "error",
            "Job attempt failed",
            log_data,
            lambda: self._adapter.job_attempt_failed(
                data,
                worker_id=worker_id,
                error=error,
                rescheduled_at=rescheduled_at,
                rescheduled_after_ms=rescheduled_after_ms,
            ),
            error,
        )

    def job_attempt_completed(
        self, job: StateJob, *, worker_id: str, output: object, continued_with: JobRef | None = None
    ) -> None:
        """`job_attempt_completed` (info): `output` is `None` when the attempt continued with another job."""
        data = _job_processing_data(job)
        continued = _job_data(continued_with) if continued_with is not None else None
        log_data: dict[str, object] = {**_job_processing_log(data), "output": output}
        if continued is not None:
            log_data["continued_with"] = _job_log(continued)
        log_data["worker_id"] = worker_id
        self._emit(
            "job_attempt_completed",
            "info",
            "Job attempt completed",
            log_data,
            lambda: self._adapter.job_attempt_completed(
                data, worker_id=worker_id, output=output, continued_with=continued
            ),
        )

    def job_completed(
        self, job: StateJob, *, worker_id: str | None, output: object, continued_with: JobRef | None = None
    ) -> None:
        """`job_completed` (info): `job` as completed; `worker_id` is `None` for a workerless completion."""
        data = _job_processing_data(job)
        continued = _job_data(continued_with) if continued_with is not None else None
        log_data: dict[str, object] = {**_job_processing_log(data), "output": output}
        if continued is not None:
            log_data["continued_with"] = _job_log(continued)
        log_data["worker_id"] = worker_id
        self._emit(
            "job_completed",
            "info",
            "Job completed",
            log_data,
            lambda: self._adapter.job_completed(data, worker_id=worker_id, output=output, continued_with=continued),
        )

    def job_reaped(
        self, job: StateJob, *, worker_id: str, leased_by: str | None, leased_until: datetime | None
    ) -> None:
        """`job_reaped` (info): pass the *expired* lease; `worker_id` is the reaping worker."""
        data = _job_data(job)
        self._emit(
            "job_reaped",
            "info",
            "Reaped expired job lease",
            {**_job_log(data), "leased_by": leased_by, "leased_until": leased_until, "worker_id": worker_id},
            lambda: self._adapter.job_reaped(data, worker_id=worker_id, leased_by=leased_by, leased_until=leased_until),
        )

    def job_triggered(self, job: StateJob) -> None:
        """`job_triggered` (info): a scheduled job was made due now."""
        data = _job_data(job)
        self._emit("job_triggered", "info", "Job triggered", _job_log(data), lambda: self._adapter.job_triggered(data))

    def job_blocked(self, job: StateJob, *, blocked_by_chains: Sequence[ChainRef]) -> None:
        """`job_blocked` (info): `blocked_by_chains` are only the incomplete blockers."""
        data = _job_data(job)
        chains = [_chain_data(chain) for chain in blocked_by_chains]
        self._emit(
            "job_blocked",
            "info",
            "Job blocked by incomplete chains",
            {**_job_log(data), "blocked_by_chains": [_chain_log(c) for c in chains]},
            lambda: self._adapter.job_blocked(data, blocked_by_chains=chains),
        )

    def job_unblocked(self, job: StateJob, *, unblocked_by_chain: ChainRef) -> None:
        """`job_unblocked` (info): the completion of `unblocked_by_chain` released `job`."""
        data = _job_data(job)
        chain = _chain_data(unblocked_by_chain)
        self._emit(
            "job_unblocked",
            "info",
            "Job unblocked",
            {**_job_log(data), "unblocked_by_chain": _chain_log(chain)},
            lambda: self._adapter.job_unblocked(data, unblocked_by_chain=chain),
        )

    # --- chains

    def chain_created(self, chain: ChainRef, *, input: object) -> None:
        """`chain_created` (info): a chain was started; `input` is the caller's value."""
        data = _chain_data(chain)
        self._emit(
            "chain_created",
            "info",
            "Chain created",
            {**_chain_log(data), "input": input},
            lambda: self._adapter.chain_created(data, input=input),
        )

    def chain_completed(self, chain: ChainRef, *, output: object) -> None:
        """`chain_completed` (info): the chain's final job completed with `output`."""
        data = _chain_data(chain)
        self._emit(
            "chain_completed",
            "info",
            "Chain completed",
            {**_chain_log(data), "output": output},
            lambda: self._adapter.chain_completed(data, output=output),
        )

    def chain_deleted(self, chain: ChainRef) -> None:
        """`chain_deleted` (info)."""
        data = _chain_data(chain)
        self._emit(
            "chain_deleted", "info", "Chain deleted", _chain_log(data), lambda: self._adapter.chain_deleted(data)
        )

    # --- adapter and validation errors

    def notify_adapter_error(self, *, operation: str, error: BaseException) -> None:
        """`notify_adapter_error` (warn): notify adapter method `operation` raised."""
        self._emit(
            "notify_adapter_error",
            "warn",
            "Notify adapter error",
            {"operation": operation},
            lambda: self._adapter.notify_adapter_error(operation=operation, error=error),
            error,
        )

    def state_adapter_error(self, *, operation: str, error: BaseException) -> None:
        """`state_adapter_error` (warn): state adapter method `operation` raised."""
        self._emit(
            "state_adapter_error",
            "warn",
            "State adapter error",
            {"operation": operation},
            lambda: self._adapter.state_adapter_error(operation=operation, error=error),
            error,
        )

    def job_type_validation_error(self, error: JobTypeValidationError) -> None:
        """`job_type_validation_error` (error): log only; the adapter has no hook for it."""
        data: dict[str, object] = {"code": error.code, "type_name": error.type_name, **error.details}
        self._emit("job_type_validation_error", "error", str(error), data, None, error)

    # --- metrics only (no log entry)

    def chain_duration(self, chain: ChainRef, *, duration_ms: float) -> None:
        """Histogram: last job's `completed_at` - root's `created_at`, on terminal completion."""
        data = _chain_data(chain)
        _call_safely(
            "ObservabilityAdapter.chain_duration", lambda: self._adapter.chain_duration(data, duration_ms=duration_ms)
        )

    def job_duration(self, job: StateJob, *, duration_ms: float) -> None:
        """Histogram: `completed_at` - `created_at`, on every completion."""
        data = _job_processing_data(job)
        _call_safely(
            "ObservabilityAdapter.job_duration", lambda: self._adapter.job_duration(data, duration_ms=duration_ms)
        )

    def job_attempt_duration(self, job: StateJob, *, duration_ms: float, worker_id: str) -> None:
        """Histogram: wall time of a successful attempt."""
        data = _job_processing_data(job)
        _call_safely(
            "ObservabilityAdapter.job_attempt_duration",
            lambda: self._adapter.job_attempt_duration(data, duration_ms=duration_ms, worker_id=worker_id),
        )

    def job_type_idle_change(self, *, delta: int, type_name: str, worker_id: str) -> None:
        """Up/down counter of idle slots for `type_name` (call once per type)."""
        if self.silent:
            return
        _call_safely(
            "ObservabilityAdapter.job_type_idle_change",
            lambda: self._adapter.job_type_idle_change(delta=delta, type_name=type_name, worker_id=worker_id),
        )

    def job_type_processing_change(self, *, delta: int, type_name: str, worker_id: str) -> None:
        """Up/down counter of jobs of `type_name` in processing."""
        if self.silent:
            return
        _call_safely(
            "ObservabilityAdapter.job_type_processing_change",
            lambda: self._adapter.job_type_processing_change(delta=delta, type_name=type_name, worker_id=worker_id),
        )

    # --- tracing

    def start_job_span(
        self,
        *,
        chain_type_name: str,
        job_type_name: str,
        is_chain_start: bool,
        origin_chain_trace_context: str | None = None,
        origin_trace_context: str | None = None,
    ) -> GuardedJobSpan | None:
        """Start a job (and, for a chain start, chain) span; `None` when the adapter gives no span or fails."""
        data = JobSpanData(
            chain_type_name=chain_type_name,
            job_type_name=job_type_name,
            is_chain_start=is_chain_start,
            origin_chain_trace_context=origin_chain_trace_context,
            origin_trace_context=origin_trace_context,
        )
        handle = _call_safely("ObservabilityAdapter.start_job_span", lambda: self._adapter.start_job_span(data))
        return GuardedJobSpan(handle) if handle is not None else None

    def start_blocker_span(
        self,
        *,
        chain_id: str,
        chain_type_name: str,
        job_id: str,
        job_type_name: str,
        job_trace_context: str | None,
        blocker_chain_id: str,
        blocker_chain_type_name: str,
        blocker_index: int,
    ) -> GuardedBlockerSpan | None:
        """Start the span of one blocker edge of a new job.

        Returns `None` when the adapter gives no span or fails, and without asking the
        adapter when the job has no trace context (its job span was not started), since a
        blocker span only exists under a job span.
        """
        if job_trace_context is None:
            return None
        data = BlockerSpanData(
            chain_id=chain_id,
            chain_type_name=chain_type_name,
            job_id=job_id,
            job_type_name=job_type_name,
            job_trace_context=job_trace_context,
            blocker_chain_id=blocker_chain_id,
            blocker_chain_type_name=blocker_chain_type_name,
            blocker_index=blocker_index,
        )
        handle = _call_safely("ObservabilityAdapter.start_blocker_span", lambda: self._adapter.start_blocker_span(data))
        return GuardedBlockerSpan(handle) if handle is not None else None

    def complete_blocker_span(self, *, trace_context: str | None, blocker_chain_type_name: str) -> None:
        """A blocker chain completed: resolve the blocker edge's span."""
        data = CompleteBlockerSpanData(trace_context=trace_context, blocker_chain_type_name=blocker_chain_type_name)
        _call_safely("ObservabilityAdapter.complete_blocker_span", lambda: self._adapter.complete_blocker_span(data))

    def start_attempt_span(
        self,
        *,
        chain_trace_context: str | None,
        trace_context: str | None,
        chain_id: str,
        chain_type_name: str,
        job_id: str,
        job_type_name: str,
        attempt: int,
        worker_id: str,
    ) -> GuardedAttemptSpan | None:
        """Start the span of an attempt; `None` when the adapter gives no span or fails."""
        data = AttemptSpanData(
            chain_trace_context=chain_trace_context,
            trace_context=trace_context,
            chain_id=chain_id,
            chain_type_name=chain_type_name,
            job_id=job_id,
            job_type_name=job_type_name,
            attempt=attempt,
            worker_id=worker_id,
        )
        handle = _call_safely("ObservabilityAdapter.start_attempt_span", lambda: self._adapter.start_attempt_span(data))
        return GuardedAttemptSpan(handle) if handle is not None else None

    def complete_job_span(
        self,
        *,
        chain_trace_context: str | None,
        trace_context: str | None,
        chain_id: str,
        chain_type_name: str,
        job_id: str,
        job_type_name: str,
        continued: JobRef | None = None,
        chain_completed: bool,
    ) -> None:
        """A job was completed without a worker."""
        data = CompleteJobSpanData(
            chain_trace_context=chain_trace_context,
            trace_context=trace_context,
            chain_id=chain_id,
            chain_type_name=chain_type_name,
            job_id=job_id,
            job_type_name=job_type_name,
            continued=_job_data(continued) if continued is not None else None,
            chain_completed=chain_completed,
        )
        _call_safely("ObservabilityAdapter.complete_job_span", lambda: self._adapter.complete_job_span(data))
