"""The reaper: returns jobs whose staged attempt stopped renewing its lease to `pending`."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._chain_ops import ChainOperations
    from .._state_adapter import ReapedJob

__all__ = ("reap_one",)


async def reap_one(
    ops: ChainOperations[Any], *, type_names: Sequence[str], ignored_job_ids: Sequence[str], worker_id: str
) -> ReapedJob | None:
    """Reap at most one expired lease among `type_names`, never one of `ignored_job_ids` (this worker's own).

    Reports `job_reaped` with the lease that expired, then wakes a worker for the job and
    tells the previous owner it lost the job (both best effort).
    """
    reaped = await ops.state.reap_expired_job_lease(type_names, ignored_job_ids=ignored_job_ids)
    if reaped is None:
        return None
    job = reaped.job
    ops.observability.job_reaped(
        job, worker_id=worker_id, leased_by=reaped.expired_leased_by, leased_until=reaped.expired_leased_until
    )
    notify = ops.notify
    # The notify adapter wrapper has already reported any failure; a lost hint only costs latency.
    with contextlib.suppress(Exception):
        await notify.provide_wake_hint(job.type_name, 1)
        await notify.notify_job_scheduled(job.type_name)
    with contextlib.suppress(Exception):
        await notify.notify_job_ownership_lost(job.id)
    return reaped
