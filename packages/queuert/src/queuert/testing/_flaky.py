"""Adapters that fail on purpose: wrap a real adapter and inject errors into chosen calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeAlias, TypeVar

from .._notify_adapter import NotifyAdapter, Unsubscribe
from .._state_adapter import StateAdapter

if TYPE_CHECKING:
    from collections.abc import Awaitable, Sequence

    from .._entities import ChainFilter, JobFilter, JsonValue, OrderDirection, Page, ScheduleOptions
    from .._state_adapter import (
        AcquiredJob,
        AddedJobBlockers,
        CreatedJob,
        CreateJobParams,
        DeletedChains,
        JobBlockersParams,
        LockMode,
        ReapedJob,
        StateChain,
        StateJob,
        TriggeredJobs,
        UnblockedJobs,
    )

__all__ = ("FaultPlan", "FlakyNotifyAdapter", "FlakyStateAdapter", "fail_operations", "seeded_batches")

TxCtxT = TypeVar("TxCtxT")
ResultT = TypeVar("ResultT")

FaultPlan: TypeAlias = Callable[[str], bool]
"""Decides, per call, whether a flaky adapter fails it: `plan(operation_name) -> True` to fail."""

_UINT32 = 0xFFFFFFFF


def _mulberry32(seed: int) -> Callable[[], float]:
    """The mulberry32 generator, bit for bit as the JavaScript original (floats in [0, 1))."""
    state = seed & _UINT32

    def next_float() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & _UINT32
        t = ((state ^ (state >> 15)) * (1 | state)) & _UINT32
        t = ((t + (((t ^ (t >> 7)) * (61 | t)) & _UINT32)) & _UINT32) ^ t
        return ((t ^ (t >> 14)) & _UINT32) / 4294967296

    return next_float


def seeded_batches(seed: int = 12345) -> FaultPlan:
    """A deterministic plan: runs of 4-15 successful calls alternate with runs of 1-20 failing calls."""
    random = _mulberry32(seed)
    failing = False
    left = 4 + int(random() * 12)

    def plan(_operation: str) -> bool:
        nonlocal failing, left
        while left == 0:
            failing = not failing
            left = 1 + int(random() * 20) if failing else 4 + int(random() * 12)
        left -= 1
        return failing

    return plan


def fail_operations(*operations: str, times: int | None = None) -> FaultPlan:
    """A plan that fails the named operations (every time, or only the first `times` calls of them)."""
    names = frozenset(operations)
    remaining = times

    def plan(operation: str) -> bool:
        nonlocal remaining
        if operation not in names:
            return False
        if remaining is None:
            return True
        if remaining <= 0:
            return False
        remaining -= 1
        return True

    return plan


class _Faults:
    __slots__ = ("calls", "enabled", "failures", "plan", "what")

    def __init__(self, plan: FaultPlan, what: str) -> None:
        self.plan = plan
        self.what = what
        self.calls = 0
        self.failures = 0
        self.enabled = True

    def check(self, operation: str) -> None:
        if not self.enabled:
            return
        self.calls += 1
        if self.plan(operation):
            self.failures += 1
            raise ConnectionResetError(f"{self.what}: injected failure of {operation}")


class FlakyStateAdapter(StateAdapter[TxCtxT], Generic[TxCtxT]):
    """A state adapter that delegates to `inner` but raises `ConnectionResetError` when `plan` says so.

    Every operation can fail, `with_transaction` included (before the transaction begins);
    `with_savepoint` and `close` never do. A failure happens before the inner call, so the
    store is untouched by the failing call. Set `enabled = False` to stop injecting.
    """

    def __init__(self, inner: StateAdapter[TxCtxT], *, plan: FaultPlan | None = None) -> None:
        self.inner = inner
        self._faults = _Faults(plan if plan is not None else seeded_batches(), "FlakyStateAdapter")

    @property
    def calls(self) -> int:
        """How many calls went through the plan."""
        return self._faults.calls

    @property
    def failures(self) -> int:
        """How many calls were made to fail."""
        return self._faults.failures

    @property
    def enabled(self) -> bool:
        """Whether failures are injected."""
        return self._faults.enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._faults.enabled = value

    async def _call(self, operation: str, call: Callable[[], Awaitable[ResultT]]) -> ResultT:
        self._faults.check(operation)
        return await call()

    async def with_transaction(self, fn: Callable[[TxCtxT], Awaitable[ResultT]]) -> ResultT:
        """Begin a transaction on the inner adapter (may fail first)."""
        return await self._call("with_transaction", lambda: self.inner.with_transaction(fn))

    async def with_savepoint(self, tx_ctx: TxCtxT, fn: Callable[[TxCtxT], Awaitable[ResultT]]) -> ResultT:
        """Delegate (never fails)."""
        return await self.inner.with_savepoint(tx_ctx, fn)

    async def get_job(
        self, job_id: str, *, tx_ctx: TxCtxT | None = None, lock: LockMode | None = None
    ) -> StateJob | None:
        """Delegate (may fail first)."""
        return await self._call("get_job", lambda: self.inner.get_job(job_id, tx_ctx=tx_ctx, lock=lock))

    async def get_chain(
        self, chain_id: str, *, tx_ctx: TxCtxT | None = None, lock: LockMode | None = None
    ) -> StateChain | None:
        """Delegate (may fail first)."""
        return await self._call("get_chain", lambda: self.inner.get_chain(chain_id, tx_ctx=tx_ctx, lock=lock))

    async def create_jobs(self, jobs: Sequence[CreateJobParams], *, tx_ctx: TxCtxT | None = None) -> list[CreatedJob]:
        """Delegate (may fail first)."""
        return await self._call("create_jobs", lambda: self.inner.create_jobs(jobs, tx_ctx=tx_ctx))

    async def add_jobs_blockers(
        self, job_blockers: Sequence[JobBlockersParams], *, tx_ctx: TxCtxT | None = None
    ) -> list[AddedJobBlockers]:
        """Delegate (may fail first)."""
        return await self._call("add_jobs_blockers", lambda: self.inner.add_jobs_blockers(job_blockers, tx_ctx=tx_ctx))

    async def unblock_jobs(self, blocked_by_chain_id: str, *, tx_ctx: TxCtxT | None = None) -> UnblockedJobs:
        """Delegate (may fail first)."""
        return await self._call("unblock_jobs", lambda: self.inner.unblock_jobs(blocked_by_chain_id, tx_ctx=tx_ctx))

    async def get_job_blockers(self, job_id: str, *, tx_ctx: TxCtxT | None = None) -> list[StateChain]:
        """Delegate (may fail first)."""
        return await self._call("get_job_blockers", lambda: self.inner.get_job_blockers(job_id, tx_ctx=tx_ctx))

    async def get_next_job_available_in_ms(
        self, type_names: Sequence[str], *, tx_ctx: TxCtxT | None = None
    ) -> int | None:
        """Delegate (may fail first)."""
        return await self._call(
            "get_next_job_available_in_ms", lambda: self.inner.get_next_job_available_in_ms(type_names, tx_ctx=tx_ctx)
        )

    async def acquire_job(self, type_names: Sequence[str], *, tx_ctx: TxCtxT | None = None) -> AcquiredJob:
        """Delegate (may fail first)."""
        return await self._call("acquire_job", lambda: self.inner.acquire_job(type_names, tx_ctx=tx_ctx))

    async def renew_job_lease(
        self, job_id: str, *, worker_id: str, lease_duration_ms: float, tx_ctx: TxCtxT | None = None
    ) -> StateJob:
        """Delegate (may fail first)."""
        return await self._call(
            "renew_job_lease",
            lambda: self.inner.renew_job_lease(
                job_id, worker_id=worker_id, lease_duration_ms=lease_duration_ms, tx_ctx=tx_ctx
            ),
        )

    async def reschedule_job(
        self, job_id: str, *, schedule: ScheduleOptions, error: str | None, tx_ctx: TxCtxT | None = None
    ) -> StateJob:
        """Delegate (may fail first)."""
        return await self._call(
            "reschedule_job",
            lambda: self.inner.reschedule_job(job_id, schedule=schedule, error=error, tx_ctx=tx_ctx),
        )

    async def complete_job(
        self, job_id: str, *, output: JsonValue, worker_id: str | None, tx_ctx: TxCtxT | None = None
    ) -> StateJob:
        """Delegate (may fail first)."""
        return await self._call(
            "complete_job", lambda: self.inner.complete_job(job_id, output=output, worker_id=worker_id, tx_ctx=tx_ctx)
        )

    async def reap_expired_job_lease(
        self, type_names: Sequence[str], *, ignored_job_ids: Sequence[str] = (), tx_ctx: TxCtxT | None = None
    ) -> ReapedJob | None:
        """Delegate (may fail first)."""
        return await self._call(
            "reap_expired_job_lease",
            lambda: self.inner.reap_expired_job_lease(type_names, ignored_job_ids=ignored_job_ids, tx_ctx=tx_ctx),
        )

    async def delete_chains(
        self, chain_ids: Sequence[str], *, cascade: bool = False, tx_ctx: TxCtxT | None = None
    ) -> DeletedChains:
        """Delegate (may fail first)."""
        return await self._call(
            "delete_chains", lambda: self.inner.delete_chains(chain_ids, cascade=cascade, tx_ctx=tx_ctx)
        )

    async def list_chains(
        self,
        *,
        filter: ChainFilter,
        order_direction: OrderDirection = "desc",
        cursor: str | None = None,
        limit: int = 50,
        tx_ctx: TxCtxT | None = None,
    ) -> Page[StateChain]:
        """Delegate (may fail first)."""
        return await self._call(
            "list_chains",
            lambda: self.inner.list_chains(
                filter=filter, order_direction=order_direction, cursor=cursor, limit=limit, tx_ctx=tx_ctx
            ),
        )

    async def list_jobs(
        self,
        *,
        filter: JobFilter,
        order_direction: OrderDirection = "desc",
        cursor: str | None = None,
        limit: int = 50,
        tx_ctx: TxCtxT | None = None,
    ) -> Page[StateJob]:
        """Delegate (may fail first)."""
        return await self._call(
            "list_jobs",
            lambda: self.inner.list_jobs(
                filter=filter, order_direction=order_direction, cursor=cursor, limit=limit, tx_ctx=tx_ctx
            ),
        )

    async def list_chain_jobs(
        self,
        chain_id: str,
        *,
        order_direction: OrderDirection = "asc",
        cursor: str | None = None,
        limit: int = 50,
        tx_ctx: TxCtxT | None = None,
    ) -> Page[StateJob]:
        """Delegate (may fail first)."""
        return await self._call(
            "list_chain_jobs",
            lambda: self.inner.list_chain_jobs(
                chain_id, order_direction=order_direction, cursor=cursor, limit=limit, tx_ctx=tx_ctx
            ),
        )

    async def list_blocked_jobs(
        self,
        chain_id: str,
        *,
        order_direction: OrderDirection = "desc",
        cursor: str | None = None,
        limit: int = 50,
        tx_ctx: TxCtxT | None = None,
    ) -> Page[StateJob]:
        """Delegate (may fail first)."""
        return await self._call(
            "list_blocked_jobs",
            lambda: self.inner.list_blocked_jobs(
                chain_id, order_direction=order_direction, cursor=cursor, limit=limit, tx_ctx=tx_ctx
            ),
        )

    async def trigger_jobs(self, job_ids: Sequence[str], *, tx_ctx: TxCtxT | None = None) -> TriggeredJobs:
        """Delegate (may fail first)."""
        return await self._call("trigger_jobs", lambda: self.inner.trigger_jobs(job_ids, tx_ctx=tx_ctx))

    async def close(self) -> None:
        """Close the inner adapter (never fails)."""
        await self.inner.close()


class FlakyNotifyAdapter(NotifyAdapter):
    """A notify adapter that delegates to `inner` but raises `ConnectionResetError` when `plan` says so.

    Every method except `close` can fail (subscriptions included); unsubscribe callables
    never fail. Set `enabled = False` to stop injecting.
    """

    def __init__(self, inner: NotifyAdapter, *, plan: FaultPlan | None = None) -> None:
        self.inner = inner
        self._faults = _Faults(plan if plan is not None else seeded_batches(), "FlakyNotifyAdapter")

    @property
    def calls(self) -> int:
        """How many calls went through the plan."""
        return self._faults.calls

    @property
    def failures(self) -> int:
        """How many calls were made to fail."""
        return self._faults.failures

    @property
    def enabled(self) -> bool:
        """Whether failures are injected."""
        return self._faults.enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._faults.enabled = value

    async def notify_job_scheduled(self, type_name: str) -> None:
        """Delegate (may fail first)."""
        self._faults.check("notify_job_scheduled")
        await self.inner.notify_job_scheduled(type_name)

    async def listen_job_scheduled(
        self, type_names: Sequence[str], on_notification: Callable[[str], None]
    ) -> Unsubscribe:
        """Delegate (may fail first)."""
        self._faults.check("listen_job_scheduled")
        return await self.inner.listen_job_scheduled(type_names, on_notification)

    async def provide_wake_hint(self, type_name: str, count: int) -> None:
        """Delegate (may fail first)."""
        self._faults.check("provide_wake_hint")
        await self.inner.provide_wake_hint(type_name, count)

    async def consume_wake_hint(self, type_name: str) -> bool:
        """Delegate (may fail first)."""
        self._faults.check("consume_wake_hint")
        return await self.inner.consume_wake_hint(type_name)

    async def notify_chain_completed(self, chain_id: str) -> None:
        """Delegate (may fail first)."""
        self._faults.check("notify_chain_completed")
        await self.inner.notify_chain_completed(chain_id)

    async def listen_chain_completed(self, chain_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        """Delegate (may fail first)."""
        self._faults.check("listen_chain_completed")
        return await self.inner.listen_chain_completed(chain_id, on_notification)

    async def notify_job_ownership_lost(self, job_id: str) -> None:
        """Delegate (may fail first)."""
        self._faults.check("notify_job_ownership_lost")
        await self.inner.notify_job_ownership_lost(job_id)

    async def listen_job_ownership_lost(self, job_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        """Delegate (may fail first)."""
        self._faults.check("listen_job_ownership_lost")
        return await self.inner.listen_job_ownership_lost(job_id, on_notification)

    async def close(self) -> None:
        """Close the inner adapter (never fails)."""
        await self.inner.close()
