"""Every metric instrument queuert records, created once per adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from opentelemetry.metrics import Counter, Histogram, Meter, UpDownCounter

__all__ = ("DURATION_BUCKETS_S", "Instruments")

DURATION_BUCKETS_S: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
    21600.0,
    86400.0,
)
"""Histogram bucket boundaries (seconds) suggested to the SDK.

The SDK's default boundaries are tuned for milliseconds; queuert durations range from a
few milliseconds (an attempt) to hours or days (a chain waiting on blockers or a
schedule). An application's own metric views still take precedence.
"""


class Instruments:
    """The counters, histograms and up-down counters of the spec, by hook."""

    __slots__ = (
        "chain_completed",
        "chain_created",
        "chain_deleted",
        "chain_duration",
        "job_attempt_already_completed",
        "job_attempt_completed",
        "job_attempt_duration",
        "job_attempt_failed",
        "job_attempt_lease_expired",
        "job_attempt_lease_renewed",
        "job_attempt_started",
        "job_attempt_taken_by_another_worker",
        "job_blocked",
        "job_completed",
        "job_created",
        "job_duration",
        "job_reaped",
        "job_triggered",
        "job_type_idle",
        "job_type_processing",
        "job_unblocked",
        "notify_adapter_error",
        "state_adapter_error",
        "worker_error",
        "worker_started",
        "worker_stopped",
        "worker_stopping",
    )

    def __init__(self, meter: Meter) -> None:
        def counter(name: str, description: str) -> Counter:
            return meter.create_counter(name, description=description)

        def histogram(name: str, description: str) -> Histogram:
            return meter.create_histogram(
                name, unit="s", description=description, explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S
            )

        def up_down(name: str, description: str) -> UpDownCounter:
            return meter.create_up_down_counter(name, description=description)

        # worker lifecycle
        self.worker_started = counter("queuert.worker.started", "Workers started")
        self.worker_error = counter("queuert.worker.error", "Errors caught by a worker loop")
        self.worker_stopping = counter("queuert.worker.stopping", "Workers asked to stop")
        self.worker_stopped = counter("queuert.worker.stopped", "Workers fully stopped")
        # jobs
        self.job_created = counter("queuert.job.created", "Jobs created")
        self.job_attempt_started = counter("queuert.job.attempt.started", "Job attempts started")
        self.job_attempt_taken_by_another_worker = counter(
            "queuert.job.attempt.taken_by_another_worker", "Attempts that found their job leased to another worker"
        )
        self.job_attempt_already_completed = counter(
            "queuert.job.attempt.already_completed", "Attempts that found their job already completed"
        )
        self.job_attempt_lease_expired = counter(
            "queuert.job.attempt.lease_expired", "Attempts that found their own lease expired"
        )
        self.job_attempt_lease_renewed = counter("queuert.job.attempt.lease_renewed", "Job leases renewed")
        self.job_attempt_failed = counter("queuert.job.attempt.failed", "Job attempts failed and rescheduled")
        self.job_attempt_completed = counter("queuert.job.attempt.completed", "Job attempts that completed their job")
        self.job_completed = counter("queuert.job.completed", "Jobs completed")
        self.job_reaped = counter("queuert.job.reaped", "Expired job leases reset by the reaper")
        self.job_triggered = counter("queuert.job.triggered", "Scheduled jobs made due now")
        self.job_blocked = counter("queuert.job.blocked", "Jobs created waiting on incomplete blocker chains")
        self.job_unblocked = counter("queuert.job.unblocked", "Blocked jobs released by a blocker chain")
        # chains
        self.chain_created = counter("queuert.chain.created", "Chains started")
        self.chain_completed = counter("queuert.chain.completed", "Chains completed")
        self.chain_deleted = counter("queuert.chain.deleted", "Chains deleted")
        # adapter errors
        self.notify_adapter_error = counter("queuert.notify_adapter.error", "Notify adapter calls that raised")
        self.state_adapter_error = counter("queuert.state_adapter.error", "State adapter calls that raised")
        # histograms
        self.chain_duration = histogram("queuert.chain.duration", "Duration of chain from creation to completion")
        self.job_duration = histogram("queuert.job.duration", "Duration of job from creation to completion")
        self.job_attempt_duration = histogram("queuert.job.attempt.duration", "Duration of job attempt processing")
        # gauges
        self.job_type_idle = up_down("queuert.job_type.idle", "Workers idle for this job type")
        self.job_type_processing = up_down("queuert.job_type.processing", "Jobs of this type currently being processed")
