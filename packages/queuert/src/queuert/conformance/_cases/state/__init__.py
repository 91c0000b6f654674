"""The state adapter cases, one module per group, in the order they run (`close` last)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import (
    acquire_job,
    add_jobs_blockers,
    blocker_trace_contexts,
    close,
    complete_job,
    concurrency,
    create_jobs,
    delete_chains,
    get_chain,
    get_job,
    get_job_blockers,
    get_next_job_available_in_ms,
    list_blocked_jobs,
    list_chain_jobs,
    list_chains,
    list_jobs,
    read_isolation,
    reap_expired_job_lease,
    renew_job_lease,
    reschedule_job,
    trigger_jobs,
    unblock_jobs,
    with_savepoint,
    with_transaction,
)

if TYPE_CHECKING:
    from ..._fixtures import StateCaseContext
    from ..._runner import Case

__all__ = ("CASES",)

_GROUPS = (
    create_jobs.group,
    with_transaction.group,
    get_chain.group,
    add_jobs_blockers.group,
    unblock_jobs.group,
    blocker_trace_contexts.group,
    get_job_blockers.group,
    get_next_job_available_in_ms.group,
    acquire_job.group,
    renew_job_lease.group,
    reschedule_job.group,
    trigger_jobs.group,
    complete_job.group,
    reap_expired_job_lease.group,
    delete_chains.group,
    get_job.group,
    list_chains.group,
    list_jobs.group,
    list_chain_jobs.group,
    list_blocked_jobs.group,
    with_savepoint.group,
    concurrency.group,
    read_isolation.group,
    close.group,
)

CASES: tuple[Case[StateCaseContext], ...] = tuple(case for group in _GROUPS for case in group.cases)
