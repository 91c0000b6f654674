"""Attribute keys shared by metrics and spans."""

from typing import Final

__all__ = (
    "ADAPTER_OPERATION",
    "ATTEMPT_RESULT",
    "BLOCKER_CHAIN_ID",
    "BLOCKER_CHAIN_TYPE",
    "BLOCKER_INDEX",
    "CHAIN_DEDUPLICATED",
    "CHAIN_ID",
    "CHAIN_TYPE",
    "CONTINUED_WITH_JOB_ID",
    "CONTINUED_WITH_JOB_TYPE",
    "JOB_ATTEMPT",
    "JOB_CONTINUED",
    "JOB_ID",
    "JOB_TYPE",
    "RESCHEDULED_AFTER_MS",
    "RESCHEDULED_AT",
    "WORKER_ID",
)

WORKER_ID: Final = "queuert.worker.id"
JOB_TYPE: Final = "queuert.job.type"
JOB_ID: Final = "queuert.job.id"
JOB_ATTEMPT: Final = "queuert.job.attempt"
JOB_CONTINUED: Final = "queuert.job.continued"
CHAIN_TYPE: Final = "queuert.chain.type"
CHAIN_ID: Final = "queuert.chain.id"
CHAIN_DEDUPLICATED: Final = "queuert.chain.deduplicated"
ADAPTER_OPERATION: Final = "queuert.adapter.operation"
BLOCKER_CHAIN_ID: Final = "queuert.blocker.chain.id"
BLOCKER_CHAIN_TYPE: Final = "queuert.blocker.chain.type"
BLOCKER_INDEX: Final = "queuert.blocker.index"
ATTEMPT_RESULT: Final = "queuert.attempt.result"
RESCHEDULED_AT: Final = "queuert.rescheduled_at"
RESCHEDULED_AFTER_MS: Final = "queuert.rescheduled_after_ms"
CONTINUED_WITH_JOB_ID: Final = "queuert.continued_with.job_id"
CONTINUED_WITH_JOB_TYPE: Final = "queuert.continued_with.job_type"
