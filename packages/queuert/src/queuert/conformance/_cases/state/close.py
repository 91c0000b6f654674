"""close: always last, because every case of a run shares the adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...._entities import ChainFilter, JobFilter, ScheduleAfter
from ...._state_adapter import JobBlockersParams
from ....errors import AdapterClosedError
from .._support import raises
from ._common import Context, StateGroup, root

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

# The store may not be resettable once the adapter is closed (an earlier case closed it).
group = StateGroup("close", reset=False)


@group.case("close is idempotent")
async def _idempotent(t: Context) -> None:
    await t.adapter.close()
    await t.adapter.close()


@group.case("every other method raises AdapterClosedError after close", upstream=False)
async def _closed(t: Context) -> None:
    a = t.adapter
    job_id = t.generate_id()
    await a.close()

    async def noop(tx: Any) -> None:
        return None

    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "with_transaction": lambda: a.with_transaction(noop),
        "get_job": lambda: a.get_job(job_id),
        "get_chain": lambda: a.get_chain(job_id),
        "create_jobs": lambda: a.create_jobs([root()]),
        "add_jobs_blockers": lambda: a.add_jobs_blockers([JobBlockersParams(job_id=job_id, blocked_by_chain_ids=[])]),
        "unblock_jobs": lambda: a.unblock_jobs(job_id),
        "get_job_blockers": lambda: a.get_job_blockers(job_id),
        "get_next_job_available_in_ms": lambda: a.get_next_job_available_in_ms(["t"]),
        "acquire_job": lambda: a.acquire_job(["t"]),
        "renew_job_lease": lambda: a.renew_job_lease(job_id, worker_id="w", lease_duration_ms=1),
        "reschedule_job": lambda: a.reschedule_job(job_id, schedule=ScheduleAfter(after_ms=0), error=None),
        "complete_job": lambda: a.complete_job(job_id, output=None, worker_id=None),
        "reap_expired_job_lease": lambda: a.reap_expired_job_lease(["t"]),
        "delete_chains": lambda: a.delete_chains([job_id]),
        "list_chains": lambda: a.list_chains(filter=ChainFilter()),
        "list_jobs": lambda: a.list_jobs(filter=JobFilter()),
        "list_chain_jobs": lambda: a.list_chain_jobs(job_id),
        "list_blocked_jobs": lambda: a.list_blocked_jobs(job_id),
        "trigger_jobs": lambda: a.trigger_jobs([job_id]),
    }
    for name, call in calls.items():
        try:
            with raises(AdapterClosedError):
                await call()
        except AssertionError:
            raise AssertionError(f"{name}() after close() did not raise AdapterClosedError") from None
