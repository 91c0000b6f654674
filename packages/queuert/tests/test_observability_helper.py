"""The internal observability helper: log and adapter see the same events; buffering; error isolation."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from queuert._observability import Observability, SpanRolledBackError
from queuert._observability_adapter import (
    AttemptCompleted,
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
from queuert._state_adapter import StateChain, StateJob
from queuert._transaction_hooks import create_transaction_hooks, transaction_hooks
from queuert.errors import JobTypeValidationError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from queuert._log import LogEntry

T0 = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
T1 = datetime(2025, 1, 1, 12, 0, 30, tzinfo=UTC)

JOB = StateJob(
    id="j1",
    type_name="step",
    chain_id="c1",
    chain_type_name="flow",
    chain_index=1,
    input={"a": 1},
    output=None,
    status="running",
    created_at=T0,
    scheduled_at=T0,
    attempt=2,
    leased_by="w1",
    leased_until=T1,
)
NEXT = StateJob(
    id="j2",
    type_name="next",
    chain_id="c1",
    chain_type_name="flow",
    chain_index=2,
    input=None,
    output=None,
    status="pending",
    created_at=T1,
    scheduled_at=T1,
)
OTHER_ROOT = StateJob(
    id="c9",
    type_name="other",
    chain_id="c9",
    chain_type_name="other",
    chain_index=0,
    input=None,
    output=None,
    status="completed",
    created_at=T0,
    scheduled_at=T0,
)
ERROR = ValueError("boom")

JOB_LOG = {"id": "j1", "type_name": "step", "chain_id": "c1", "chain_type_name": "flow"}
PROCESSING_LOG = {**JOB_LOG, "status": "running", "attempt": 2}
JOB_DATA = JobData(id="j1", type_name="step", chain_id="c1", chain_type_name="flow")
PROCESSING_DATA = JobProcessingData(
    id="j1", type_name="step", chain_id="c1", chain_type_name="flow", status="running", attempt=2
)
NEXT_DATA = JobData(id="j2", type_name="next", chain_id="c1", chain_type_name="flow")
FLOW = ChainData(id="c1", type_name="flow")
OTHER = ChainData(id="c9", type_name="other")

Call = tuple[str, tuple[object, ...], dict[str, object]]


class RecordingAdapter(ObservabilityAdapter):
    """Implements every hook of the public interface by recording the call."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def _record(self, name: str, *args: object, **kwargs: object) -> None:
        self.calls.append((name, args, kwargs))

    def worker_started(self, *, worker_id: str, job_type_names: Sequence[str]) -> None:
        self._record("worker_started", worker_id=worker_id, job_type_names=job_type_names)

    def worker_error(self, *, worker_id: str, error: BaseException) -> None:
        self._record("worker_error", worker_id=worker_id, error=error)

    def worker_stopping(self, *, worker_id: str) -> None:
        self._record("worker_stopping", worker_id=worker_id)

    def worker_stopped(self, *, worker_id: str) -> None:
        self._record("worker_stopped", worker_id=worker_id)

    def job_created(
        self,
        job: JobData,
        *,
        input: object,
        blockers: Sequence[ChainData],
        scheduled_at: datetime | None = None,
        schedule_after_ms: float | None = None,
    ) -> None:
        self._record(
            "job_created",
            job,
            input=input,
            blockers=blockers,
            scheduled_at=scheduled_at,
            schedule_after_ms=schedule_after_ms,
        )

    def job_attempt_started(self, job: JobProcessingData, *, worker_id: str) -> None:
        self._record("job_attempt_started", job, worker_id=worker_id)

    def job_attempt_taken_by_another_worker(
        self, job: JobProcessingData, *, worker_id: str, leased_by: str | None, leased_until: datetime | None
    ) -> None:
        self._record(
            "job_attempt_taken_by_another_worker",
            job,
            worker_id=worker_id,
            leased_by=leased_by,
            leased_until=leased_until,
        )

    def job_attempt_already_completed(
        self, job: JobProcessingData, *, worker_id: str, completed_by: str | None
    ) -> None:
        self._record("job_attempt_already_completed", job, worker_id=worker_id, completed_by=completed_by)

    def job_attempt_lease_expired(
        self, job: JobProcessingData, *, worker_id: str, leased_by: str | None, leased_until: datetime | None
    ) -> None:
        self._record(
            "job_attempt_lease_expired", job, worker_id=worker_id, leased_by=leased_by, leased_until=leased_until
        )

    def job_attempt_lease_renewed(
        self, job: JobProcessingData, *, worker_id: str, leased_by: str | None, leased_until: datetime | None
    ) -> None:
        self._record(
            "job_attempt_lease_renewed", job, worker_id=worker_id, leased_by=leased_by, leased_until=leased_until
        )

    def job_attempt_failed(
        self,
        job: JobProcessingData,
        *,
        worker_id: str,
        error: BaseException,
        rescheduled_at: datetime | None = None,
        rescheduled_after_ms: float | None = None,
    ) -> None:
        self._record(
            "job_attempt_failed",
            job,
            worker_id=worker_id,
            error=error,
            rescheduled_at=rescheduled_at,
            rescheduled_after_ms=rescheduled_after_ms,
        )

    def job_attempt_completed(
        self, job: JobProcessingData, *, worker_id: str, output: object, continued_with: JobData | None = None
    ) -> None:
        self._record("job_attempt_completed", job, worker_id=worker_id, output=output, continued_with=continued_with)

    def job_completed(
        self, job: JobProcessingData, *, worker_id: str | None, output: object, continued_with: JobData | None = None
    ) -> None:
        self._record("job_completed", job, worker_id=worker_id, output=output, continued_with=continued_with)

    def job_reaped(self, job: JobData, *, worker_id: str, leased_by: str | None, leased_until: datetime | None) -> None:
        self._record("job_reaped", job, worker_id=worker_id, leased_by=leased_by, leased_until=leased_until)

    def job_triggered(self, job: JobData) -> None:
        self._record("job_triggered", job)

    def job_blocked(self, job: JobData, *, blocked_by_chains: Sequence[ChainData]) -> None:
        self._record("job_blocked", job, blocked_by_chains=blocked_by_chains)

    def job_unblocked(self, job: JobData, *, unblocked_by_chain: ChainData) -> None:
        self._record("job_unblocked", job, unblocked_by_chain=unblocked_by_chain)

    def chain_created(self, chain: ChainData, *, input: object) -> None:
        self._record("chain_created", chain, input=input)

    def chain_completed(self, chain: ChainData, *, output: object) -> None:
        self._record("chain_completed", chain, output=output)

    def chain_deleted(self, chain: ChainData) -> None:
        self._record("chain_deleted", chain)

    def notify_adapter_error(self, *, operation: str, error: BaseException) -> None:
        self._record("notify_adapter_error", operation=operation, error=error)

    def state_adapter_error(self, *, operation: str, error: BaseException) -> None:
        self._record("state_adapter_error", operation=operation, error=error)

    def chain_duration(self, chain: ChainData, *, duration_ms: float) -> None:
        self._record("chain_duration", chain, duration_ms=duration_ms)

    def job_duration(self, job: JobProcessingData, *, duration_ms: float) -> None:
        self._record("job_duration", job, duration_ms=duration_ms)

    def job_attempt_duration(self, job: JobProcessingData, *, duration_ms: float, worker_id: str) -> None:
        self._record("job_attempt_duration", job, duration_ms=duration_ms, worker_id=worker_id)

    def job_type_idle_change(self, *, delta: int, type_name: str, worker_id: str) -> None:
        self._record("job_type_idle_change", delta=delta, type_name=type_name, worker_id=worker_id)

    def job_type_processing_change(self, *, delta: int, type_name: str, worker_id: str) -> None:
        self._record("job_type_processing_change", delta=delta, type_name=type_name, worker_id=worker_id)

    def complete_blocker_span(self, data: CompleteBlockerSpanData) -> None:
        self._record("complete_blocker_span", data)

    def complete_job_span(self, data: CompleteJobSpanData) -> None:
        self._record("complete_job_span", data)


class Harness:
    def __init__(self, adapter: ObservabilityAdapter | None = None) -> None:
        self.entries: list[LogEntry] = []
        self.adapter = adapter if adapter is not None else RecordingAdapter()
        self.obs = Observability(log=self.entries.append, adapter=self.adapter)


def entry(type_name: str, level: str, message: str, data: Mapping[str, object], error: object = None) -> dict[str, Any]:
    result: dict[str, Any] = {"type": type_name, "level": level, "message": message, "data": data}
    if error is not None:
        result["error"] = error
    return result


VALIDATION_ERROR = JobTypeValidationError(
    "input rejected", code="invalid_input", type_name="step", details={"field": "a", "reason": "too small"}
)

# (helper call, expected log entry or None, expected adapter call or None)
EVENTS: list[tuple[str, Callable[[Observability], None], dict[str, Any] | None, Call | None]] = [
    (
        "worker_started",
        lambda o: o.worker_started(worker_id="w1", job_type_names=("step", "next")),
        entry("worker_started", "info", "Started worker", {"worker_id": "w1", "job_type_names": ["step", "next"]}),
        ("worker_started", (), {"worker_id": "w1", "job_type_names": ["step", "next"]}),
    ),
    (
        "worker_error",
        lambda o: o.worker_error(worker_id="w1", error=ERROR),
        entry("worker_error", "error", "Worker error", {"worker_id": "w1"}, ERROR),
        ("worker_error", (), {"worker_id": "w1", "error": ERROR}),
    ),
    (
        "worker_stopping",
        lambda o: o.worker_stopping(worker_id="w1"),
        entry("worker_stopping", "info", "Stopping worker...", {"worker_id": "w1"}),
        ("worker_stopping", (), {"worker_id": "w1"}),
    ),
    (
        "worker_stopped",
        lambda o: o.worker_stopped(worker_id="w1"),
        entry("worker_stopped", "info", "Worker has been stopped", {"worker_id": "w1"}),
        ("worker_stopped", (), {"worker_id": "w1"}),
    ),
    (
        "job_created scheduled_at",
        lambda o: o.job_created(
            JOB, input={"raw": True}, blockers=[OTHER_ROOT, FLOW], scheduled_at=T1, schedule_after_ms=0
        ),
        entry(
            "job_created",
            "info",
            "Job created",
            {
                **JOB_LOG,
                "input": {"raw": True},
                "blockers": [{"id": "c9", "type_name": "other"}, {"id": "c1", "type_name": "flow"}],
                "scheduled_at": T1,
            },
        ),
        (
            "job_created",
            (JOB_DATA,),
            {"input": {"raw": True}, "blockers": [OTHER, FLOW], "scheduled_at": T1, "schedule_after_ms": None},
        ),
    ),
    (
        "job_created schedule_after_ms",
        lambda o: o.job_created(JOB, input=None, schedule_after_ms=500),
        entry(
            "job_created", "info", "Job created", {**JOB_LOG, "input": None, "blockers": [], "schedule_after_ms": 500}
        ),
        ("job_created", (JOB_DATA,), {"input": None, "blockers": [], "scheduled_at": None, "schedule_after_ms": 500}),
    ),
    (
        "job_attempt_started",
        lambda o: o.job_attempt_started(JOB, worker_id="w1"),
        entry("job_attempt_started", "info", "Job attempt started", {**PROCESSING_LOG, "worker_id": "w1"}),
        ("job_attempt_started", (PROCESSING_DATA,), {"worker_id": "w1"}),
    ),
    (
        "job_attempt_taken_by_another_worker",
        lambda o: o.job_attempt_taken_by_another_worker(JOB, worker_id="w2", leased_by="w1", leased_until=T1),
        entry(
            "job_attempt_taken_by_another_worker",
            "warn",
            "Job taken by another worker",
            {**PROCESSING_LOG, "leased_by": "w1", "leased_until": T1, "worker_id": "w2"},
        ),
        (
            "job_attempt_taken_by_another_worker",
            (PROCESSING_DATA,),
            {"worker_id": "w2", "leased_by": "w1", "leased_until": T1},
        ),
    ),
    (
        "job_attempt_already_completed",
        lambda o: o.job_attempt_already_completed(JOB, worker_id="w2", completed_by=None),
        entry(
            "job_attempt_already_completed",
            "warn",
            "Job already completed by another worker",
            {**PROCESSING_LOG, "completed_by": None, "worker_id": "w2"},
        ),
        ("job_attempt_already_completed", (PROCESSING_DATA,), {"worker_id": "w2", "completed_by": None}),
    ),
    (
        "job_attempt_lease_expired",
        lambda o: o.job_attempt_lease_expired(JOB, worker_id="w1", leased_by="w1", leased_until=T0),
        entry(
            "job_attempt_lease_expired",
            "warn",
            "Job lease expired",
            {**PROCESSING_LOG, "leased_by": "w1", "leased_until": T0, "worker_id": "w1"},
        ),
        ("job_attempt_lease_expired", (PROCESSING_DATA,), {"worker_id": "w1", "leased_by": "w1", "leased_until": T0}),
    ),
    (
        "job_attempt_lease_renewed",
        lambda o: o.job_attempt_lease_renewed(JOB, worker_id="w1", leased_by="w1", leased_until=T1),
        entry(
            "job_attempt_lease_renewed",
            "info",
            "Job lease renewed",
            {**PROCESSING_LOG, "leased_by": "w1", "leased_until": T1, "worker_id": "w1"},
        ),
        ("job_attempt_lease_renewed", (PROCESSING_DATA,), {"worker_id": "w1", "leased_by": "w1", "leased_until": T1}),
    ),
    (
        "job_attempt_failed",
        lambda o: o.job_attempt_failed(JOB, worker_id="w1", error=ERROR, rescheduled_after_ms=1000),
        entry(
            "job_attempt_failed",
            "error",
            "Job attempt failed",
            {**PROCESSING_LOG, "rescheduled_after_ms": 1000, "worker_id": "w1"},
            ERROR,
        ),
        (
            "job_attempt_failed",
            (PROCESSING_DATA,),
            {"worker_id": "w1", "error": ERROR, "rescheduled_at": None, "rescheduled_after_ms": 1000},
        ),
    ),
    (
        "job_attempt_completed continued",
        lambda o: o.job_attempt_completed(JOB, worker_id="w1", output=None, continued_with=NEXT),
        entry(
            "job_attempt_completed",
            "info",
            "Job attempt completed",
            {
                **PROCESSING_LOG,
                "output": None,
                "continued_with": {"id": "j2", "type_name": "next", "chain_id": "c1", "chain_type_name": "flow"},
                "worker_id": "w1",
            },
        ),
        ("job_attempt_completed", (PROCESSING_DATA,), {"worker_id": "w1", "output": None, "continued_with": NEXT_DATA}),
    ),
    (
        "job_completed workerless",
        lambda o: o.job_completed(JOB, worker_id=None, output={"r": 1}),
        entry("job_completed", "info", "Job completed", {**PROCESSING_LOG, "output": {"r": 1}, "worker_id": None}),
        ("job_completed", (PROCESSING_DATA,), {"worker_id": None, "output": {"r": 1}, "continued_with": None}),
    ),
    (
        "job_completed continued with JobData",
        lambda o: o.job_completed(JOB, worker_id="w1", output=None, continued_with=NEXT_DATA),
        entry(
            "job_completed",
            "info",
            "Job completed",
            {
                **PROCESSING_LOG,
                "output": None,
                "continued_with": {"id": "j2", "type_name": "next", "chain_id": "c1", "chain_type_name": "flow"},
                "worker_id": "w1",
            },
        ),
        ("job_completed", (PROCESSING_DATA,), {"worker_id": "w1", "output": None, "continued_with": NEXT_DATA}),
    ),
    (
        "job_reaped",
        lambda o: o.job_reaped(JOB, worker_id="w9", leased_by="w1", leased_until=T0),
        entry(
            "job_reaped",
            "info",
            "Reaped expired job lease",
            {**JOB_LOG, "leased_by": "w1", "leased_until": T0, "worker_id": "w9"},
        ),
        ("job_reaped", (JOB_DATA,), {"worker_id": "w9", "leased_by": "w1", "leased_until": T0}),
    ),
    (
        "job_triggered",
        lambda o: o.job_triggered(JOB),
        entry("job_triggered", "info", "Job triggered", JOB_LOG),
        ("job_triggered", (JOB_DATA,), {}),
    ),
    (
        "job_blocked",
        lambda o: o.job_blocked(JOB, blocked_by_chains=[OTHER_ROOT]),
        entry(
            "job_blocked",
            "info",
            "Job blocked by incomplete chains",
            {**JOB_LOG, "blocked_by_chains": [{"id": "c9", "type_name": "other"}]},
        ),
        ("job_blocked", (JOB_DATA,), {"blocked_by_chains": [OTHER]}),
    ),
    (
        "job_unblocked",
        lambda o: o.job_unblocked(JOB, unblocked_by_chain=StateChain(root=OTHER_ROOT)),
        entry(
            "job_unblocked",
            "info",
            "Job unblocked",
            {**JOB_LOG, "unblocked_by_chain": {"id": "c9", "type_name": "other"}},
        ),
        ("job_unblocked", (JOB_DATA,), {"unblocked_by_chain": OTHER}),
    ),
    (
        "chain_created",
        lambda o: o.chain_created(JOB, input={"x": 1}),
        entry("chain_created", "info", "Chain created", {"id": "c1", "type_name": "flow", "input": {"x": 1}}),
        ("chain_created", (FLOW,), {"input": {"x": 1}}),
    ),
    (
        "chain_completed",
        lambda o: o.chain_completed(FLOW, output=[1, 2]),
        entry("chain_completed", "info", "Chain completed", {"id": "c1", "type_name": "flow", "output": [1, 2]}),
        ("chain_completed", (FLOW,), {"output": [1, 2]}),
    ),
    (
        "chain_deleted",
        lambda o: o.chain_deleted(StateChain(root=OTHER_ROOT, last=None)),
        entry("chain_deleted", "info", "Chain deleted", {"id": "c9", "type_name": "other"}),
        ("chain_deleted", (OTHER,), {}),
    ),
    (
        "notify_adapter_error",
        lambda o: o.notify_adapter_error(operation="notify_job_scheduled", error=ERROR),
        entry("notify_adapter_error", "warn", "Notify adapter error", {"operation": "notify_job_scheduled"}, ERROR),
        ("notify_adapter_error", (), {"operation": "notify_job_scheduled", "error": ERROR}),
    ),
    (
        "state_adapter_error",
        lambda o: o.state_adapter_error(operation="acquire_job", error=ERROR),
        entry("state_adapter_error", "warn", "State adapter error", {"operation": "acquire_job"}, ERROR),
        ("state_adapter_error", (), {"operation": "acquire_job", "error": ERROR}),
    ),
    (
        "job_type_validation_error",
        lambda o: o.job_type_validation_error(VALIDATION_ERROR),
        entry(
            "job_type_validation_error",
            "error",
            "input rejected",
            {"code": "invalid_input", "type_name": "step", "field": "a", "reason": "too small"},
            VALIDATION_ERROR,
        ),
        None,
    ),
    (
        "chain_duration",
        lambda o: o.chain_duration(JOB, duration_ms=1500.0),
        None,
        ("chain_duration", (FLOW,), {"duration_ms": 1500.0}),
    ),
    (
        "job_duration",
        lambda o: o.job_duration(JOB, duration_ms=30.0),
        None,
        ("job_duration", (PROCESSING_DATA,), {"duration_ms": 30.0}),
    ),
    (
        "job_attempt_duration",
        lambda o: o.job_attempt_duration(JOB, duration_ms=12.5, worker_id="w1"),
        None,
        ("job_attempt_duration", (PROCESSING_DATA,), {"duration_ms": 12.5, "worker_id": "w1"}),
    ),
    (
        "job_type_idle_change",
        lambda o: o.job_type_idle_change(delta=-1, type_name="step", worker_id="w1"),
        None,
        ("job_type_idle_change", (), {"delta": -1, "type_name": "step", "worker_id": "w1"}),
    ),
    (
        "job_type_processing_change",
        lambda o: o.job_type_processing_change(delta=1, type_name="step", worker_id="w1"),
        None,
        ("job_type_processing_change", (), {"delta": 1, "type_name": "step", "worker_id": "w1"}),
    ),
    (
        "complete_blocker_span",
        lambda o: o.complete_blocker_span(trace_context="tc", blocker_chain_type_name="other"),
        None,
        ("complete_blocker_span", (CompleteBlockerSpanData(trace_context="tc", blocker_chain_type_name="other"),), {}),
    ),
    (
        "complete_job_span",
        lambda o: o.complete_job_span(
            chain_trace_context="ctc",
            trace_context="tc",
            chain_id="c1",
            chain_type_name="flow",
            job_id="j1",
            job_type_name="step",
            continued=NEXT,
            chain_completed=False,
        ),
        None,
        (
            "complete_job_span",
            (
                CompleteJobSpanData(
                    chain_trace_context="ctc",
                    trace_context="tc",
                    chain_id="c1",
                    chain_type_name="flow",
                    job_id="j1",
                    job_type_name="step",
                    continued=NEXT_DATA,
                    chain_completed=False,
                ),
            ),
            {},
        ),
    ),
]


def normalise(call: Call) -> Call:
    """Sequences compare as lists, whatever the helper passed."""
    name, args, kwargs = call
    return name, args, {k: list(v) if isinstance(v, tuple | list) else v for k, v in kwargs.items()}


@pytest.mark.parametrize(
    ("call", "expected_entry", "expected_call"), [e[1:] for e in EVENTS], ids=[e[0] for e in EVENTS]
)
def test_log_and_adapter_receive_the_same_event(
    call: Callable[[Observability], None], expected_entry: dict[str, Any] | None, expected_call: Call | None
) -> None:
    harness = Harness()

    call(harness.obs)

    assert harness.entries == ([expected_entry] if expected_entry is not None else [])
    assert isinstance(harness.adapter, RecordingAdapter)
    assert [normalise(c) for c in harness.adapter.calls] == ([expected_call] if expected_call is not None else [])
    if expected_entry is not None and expected_call is not None:
        assert expected_entry["type"] == expected_call[0]


def test_every_adapter_hook_has_a_helper_event() -> None:
    hooks = {name for name in vars(ObservabilityAdapter) if not name.startswith("_")}
    covered = {e[3][0] for e in EVENTS if e[3] is not None}
    span_starts = {"start_job_span", "start_blocker_span", "start_attempt_span"}

    assert hooks - span_starts == covered


def test_without_a_log_only_the_adapter_is_called() -> None:
    adapter = RecordingAdapter()

    Observability(log=None, adapter=adapter).job_triggered(JOB)

    assert [name for name, _, _ in adapter.calls] == ["job_triggered"]


def test_noop_adapter_accepts_every_event() -> None:
    obs = Observability(log=None, adapter=NoopObservabilityAdapter())

    for _, call, _, _ in EVENTS:
        call(obs)

    assert obs.start_job_span(chain_type_name="flow", job_type_name="step", is_chain_start=True) is None


# --- error isolation ------------------------------------------------------------------------


class RaisingAdapter(RecordingAdapter):
    def job_created(self, job: JobData, **kwargs: Any) -> None:
        raise RuntimeError("adapter broke")

    def job_type_idle_change(self, *, delta: int, type_name: str, worker_id: str) -> None:
        raise RuntimeError("gauge broke")


def queuert_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "queuert" and r.levelno == logging.ERROR]


def test_adapter_exceptions_are_logged_and_swallowed(caplog: pytest.LogCaptureFixture) -> None:
    harness = Harness(RaisingAdapter())

    harness.obs.job_created(JOB, input=None)
    harness.obs.job_type_idle_change(delta=1, type_name="step", worker_id="w1")

    assert [e["type"] for e in harness.entries] == ["job_created"]
    records = queuert_errors(caplog)
    assert len(records) == 2
    assert "job_created" in records[0].getMessage()
    assert records[0].exc_info is not None
    assert str(records[0].exc_info[1]) == "adapter broke"
    assert str(records[1].exc_info[1]) == "gauge broke"  # type: ignore[index]


def test_a_failing_log_function_does_not_stop_the_adapter(caplog: pytest.LogCaptureFixture) -> None:
    adapter = RecordingAdapter()

    def broken_log(entry: LogEntry) -> None:
        raise RuntimeError("log broke")

    Observability(log=broken_log, adapter=adapter).chain_deleted(FLOW)

    assert [name for name, _, _ in adapter.calls] == ["chain_deleted"]
    [record] = queuert_errors(caplog)
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "log broke"


# --- spans ----------------------------------------------------------------------------------


class RecordingSpan(SpanHandle):
    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name

    def end(self) -> None:
        self.log.append(f"end {self.name}")


class RecordingJobSpan(JobSpanHandle):
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def get_chain_trace_context(self) -> str:
        return "chain-ctx"

    def get_trace_context(self) -> str:
        return "job-ctx"

    def end(self, result: JobSpanResult) -> None:
        self.log.append(f"end job {result}")


class BrokenJobSpan(JobSpanHandle):
    def get_chain_trace_context(self) -> str:
        raise RuntimeError("no chain context")

    def get_trace_context(self) -> str:
        raise RuntimeError("no context")

    def end(self, result: JobSpanResult) -> None:
        raise RuntimeError("cannot end")


class RecordingBlockerSpan(BlockerSpanHandle):
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def get_trace_context(self) -> str:
        return "blocker-ctx"

    def end(self, blocker_chain_trace_context: str | None) -> None:
        self.log.append(f"end blocker {blocker_chain_trace_context}")


class AttemptSpan(AttemptSpanHandle):
    def __init__(self, log: list[str], *, broken_phases: bool = False) -> None:
        self.log, self.broken_phases = log, broken_phases

    def get_chain_trace_context(self) -> str:
        return "chain-ctx"

    def get_trace_context(self) -> str:
        return "attempt-ctx"

    def start_prepare(self) -> SpanHandle:
        if self.broken_phases:
            raise RuntimeError("no prepare span")
        return RecordingSpan(self.log, "prepare")

    def start_complete(self) -> SpanHandle:
        return RecordingSpan(self.log, "complete")

    def end(self, result: AttemptSpanResult) -> None:
        self.log.append(f"end attempt {type(result).__name__}")


class TracingAdapter(ObservabilityAdapter):
    def __init__(self) -> None:
        self.log: list[str] = []
        self.job_span: JobSpanHandle | None = RecordingJobSpan(self.log)
        self.fail_starts = False
        self.broken_phases = False
        self.started: list[object] = []

    def start_job_span(self, data: JobSpanData) -> JobSpanHandle | None:
        self.started.append(data)
        if self.fail_starts:
            raise RuntimeError("tracer broke")
        return self.job_span

    def start_blocker_span(self, data: BlockerSpanData) -> BlockerSpanHandle | None:
        self.started.append(data)
        return RecordingBlockerSpan(self.log)

    def start_attempt_span(self, data: AttemptSpanData) -> AttemptSpanHandle | None:
        self.started.append(data)
        if self.fail_starts:
            raise RuntimeError("tracer broke")
        return AttemptSpan(self.log, broken_phases=self.broken_phases)


def test_job_span_is_started_with_the_data_and_ends_once() -> None:
    adapter = TracingAdapter()
    obs = Observability(log=None, adapter=adapter)

    span = obs.start_job_span(
        chain_type_name="flow",
        job_type_name="next",
        is_chain_start=False,
        origin_chain_trace_context="origin-chain",
        origin_trace_context="origin-job",
    )
    assert span is not None
    result = JobSpanCreated(job_id="j2", chain_id="c1")
    span.end(result)
    span.end(result)

    assert adapter.started == [
        JobSpanData(
            chain_type_name="flow",
            job_type_name="next",
            is_chain_start=False,
            origin_chain_trace_context="origin-chain",
            origin_trace_context="origin-job",
        )
    ]
    assert (span.get_chain_trace_context(), span.get_trace_context()) == ("chain-ctx", "job-ctx")
    assert adapter.log == [f"end job {result}"]


def test_a_failing_span_start_means_no_span(caplog: pytest.LogCaptureFixture) -> None:
    adapter = TracingAdapter()
    adapter.fail_starts = True
    obs = Observability(log=None, adapter=adapter)

    job_span = obs.start_job_span(chain_type_name="flow", job_type_name="step", is_chain_start=True)
    attempt_span = obs.start_attempt_span(
        chain_trace_context="c",
        trace_context="t",
        chain_id="c1",
        chain_type_name="flow",
        job_id="j1",
        job_type_name="step",
        attempt=1,
        worker_id="w1",
    )

    assert job_span is None
    assert attempt_span is None
    assert len(queuert_errors(caplog)) == 2


def test_span_handle_methods_never_raise(caplog: pytest.LogCaptureFixture) -> None:
    adapter = TracingAdapter()
    adapter.job_span = BrokenJobSpan()
    span = Observability(log=None, adapter=adapter).start_job_span(
        chain_type_name="flow", job_type_name="step", is_chain_start=True
    )
    assert span is not None

    assert span.get_chain_trace_context() is None
    assert span.get_trace_context() is None
    span.end(JobSpanCreated(job_id="j1", chain_id="j1"))

    assert len(queuert_errors(caplog)) == 3


def test_blocker_span_needs_the_job_trace_context() -> None:
    adapter = TracingAdapter()
    obs = Observability(log=None, adapter=adapter)
    fields: dict[str, Any] = {
        "chain_id": "c1",
        "chain_type_name": "flow",
        "job_id": "j1",
        "job_type_name": "step",
        "blocker_chain_id": "c9",
        "blocker_chain_type_name": "other",
        "blocker_index": 0,
    }

    assert obs.start_blocker_span(job_trace_context=None, **fields) is None
    assert adapter.started == []

    span = obs.start_blocker_span(job_trace_context="job-ctx", **fields)
    assert span is not None
    assert span.get_trace_context() == "blocker-ctx"
    span.end("chain-ctx-9")
    span.end("again")
    assert adapter.started == [BlockerSpanData(job_trace_context="job-ctx", **fields)]
    assert adapter.log == ["end blocker chain-ctx-9"]


def test_attempt_span_phases_and_end(caplog: pytest.LogCaptureFixture) -> None:
    adapter = TracingAdapter()
    adapter.broken_phases = True
    span = Observability(log=None, adapter=adapter).start_attempt_span(
        chain_trace_context="c",
        trace_context="t",
        chain_id="c1",
        chain_type_name="flow",
        job_id="j1",
        job_type_name="step",
        attempt=3,
        worker_id="w1",
    )
    assert span is not None

    prepare = span.start_prepare()
    prepare.end()
    complete = span.start_complete()
    complete.end()
    complete.end()
    span.end(AttemptCompleted())

    assert adapter.log == ["end complete", "end attempt AttemptCompleted"]
    assert (span.get_chain_trace_context(), span.get_trace_context()) == ("chain-ctx", "attempt-ctx")
    assert len(queuert_errors(caplog)) == 1


# --- buffering ------------------------------------------------------------------------------


async def test_commit_callbacks_run_after_the_transaction_in_registration_order() -> None:
    order: list[int] = []

    async with transaction_hooks() as hooks:
        for number in range(5):
            Observability.on_commit(hooks, lambda n=number: order.append(n))  # type: ignore[misc]
        assert order == []

    assert order == [0, 1, 2, 3, 4]


async def test_buffered_events_reach_log_and_adapter_only_after_flush() -> None:
    harness = Harness()
    obs = harness.obs

    async with transaction_hooks() as hooks:
        obs.on_commit(hooks, lambda: obs.chain_created(JOB, input=1))
        obs.on_commit(hooks, lambda: obs.job_created(JOB, input=1))
        assert harness.entries == []

    assert [e["type"] for e in harness.entries] == ["chain_created", "job_created"]
    assert isinstance(harness.adapter, RecordingAdapter)
    assert [c[0] for c in harness.adapter.calls] == ["chain_created", "job_created"]


async def test_commit_callbacks_are_dropped_on_rollback() -> None:
    ran: list[str] = []
    handle = create_transaction_hooks()
    Observability.on_commit(handle.hooks, lambda: ran.append("commit"))

    await handle.discard()

    assert ran == []


async def test_a_failing_commit_callback_is_logged_and_the_rest_still_run(caplog: pytest.LogCaptureFixture) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("callback broke")

    async with transaction_hooks() as hooks:
        Observability.on_commit(hooks, lambda: ran.append("first"))
        Observability.on_commit(hooks, broken)
        Observability.on_commit(hooks, lambda: ran.append("third"))

    assert ran == ["first", "third"]
    [record] = queuert_errors(caplog)
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "callback broke"


async def test_savepoint_rollback_trims_exactly_the_commit_callbacks_added_since() -> None:
    ran: list[str] = []
    handle = create_transaction_hooks()
    hooks = handle.hooks
    Observability.on_commit(hooks, lambda: ran.append("before"))

    outer = hooks.create_savepoint()
    Observability.on_commit(hooks, lambda: ran.append("outer"))
    inner = hooks.create_savepoint()
    Observability.on_commit(hooks, lambda: ran.append("inner"))
    await inner.rollback()
    await outer.release()
    Observability.on_commit(hooks, lambda: ran.append("after"))

    await handle.flush()

    assert ran == ["before", "outer", "after"]


async def test_rollback_callbacks_do_not_run_on_flush() -> None:
    ran: list[str] = []

    async with transaction_hooks() as hooks:
        Observability.on_rollback(hooks, lambda: ran.append("rollback"))

    assert ran == []


async def test_rollback_callbacks_run_in_order_on_discard() -> None:
    ran: list[str] = []
    handle = create_transaction_hooks()
    Observability.on_rollback(handle.hooks, lambda: ran.append("a"))
    Observability.on_rollback(handle.hooks, lambda: ran.append("b"))

    await handle.discard()

    assert ran == ["a", "b"]


async def test_savepoint_rollback_runs_only_the_rollback_callbacks_added_since() -> None:
    ran: list[str] = []
    handle = create_transaction_hooks()
    hooks = handle.hooks
    Observability.on_rollback(hooks, lambda: ran.append("before"))

    savepoint = hooks.create_savepoint()
    Observability.on_rollback(hooks, lambda: ran.append("since-1"))
    Observability.on_rollback(hooks, lambda: ran.append("since-2"))
    await savepoint.rollback()
    assert ran == ["since-1", "since-2"]

    await handle.discard()
    assert ran == ["since-1", "since-2", "before"]


async def test_rollback_callbacks_first_registered_inside_a_savepoint_run_on_its_rollback() -> None:
    ran: list[str] = []
    handle = create_transaction_hooks()

    async def attempt() -> None:
        async with handle.hooks.savepoint() as hooks:
            Observability.on_rollback(hooks, lambda: ran.append("span error"))
            Observability.on_commit(hooks, lambda: ran.append("span created"))
            raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError, match="handler failed"):
        await attempt()

    await handle.flush()
    assert ran == ["span error"]


async def test_job_span_end_is_buffered_until_commit() -> None:
    adapter = TracingAdapter()
    obs = Observability(log=None, adapter=adapter)

    async with transaction_hooks() as hooks:
        span = obs.start_job_span(chain_type_name="flow", job_type_name="step", is_chain_start=True)
        obs.end_job_span_after_commit(hooks, span, job_id="j1", chain_id="j1")
        assert adapter.log == []

    assert adapter.log == [f"end job {JobSpanCreated(job_id='j1', chain_id='j1')}"]


async def test_job_span_ends_in_error_when_its_savepoint_rolls_back() -> None:
    ended: list[JobSpanResult] = []

    class Span(RecordingJobSpan):
        def end(self, result: JobSpanResult) -> None:
            ended.append(result)

    adapter = TracingAdapter()
    adapter.job_span = Span([])
    obs = Observability(log=None, adapter=adapter)
    handle = create_transaction_hooks()

    savepoint = handle.hooks.create_savepoint()
    span = obs.start_job_span(chain_type_name="flow", job_type_name="step", is_chain_start=True)
    obs.end_job_span_after_commit(handle.hooks, span, job_id="j1", chain_id="j1")
    await savepoint.rollback()
    await handle.flush()

    [result] = ended
    assert isinstance(result, JobSpanError)
    assert isinstance(result.error, SpanRolledBackError)
    assert str(result.error) == "savepoint rolled back"
    assert result.rolled_back is True
