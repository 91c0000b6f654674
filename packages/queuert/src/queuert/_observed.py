"""Adapter and registry wrappers that report every failure before re-raising it.

The client wraps what it is given once, and the worker and dashboard reach the wrapped
objects through the client, so every failure is logged exactly once whoever calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from ._job_types import JobType, JobTypes, ResolvedRef
from ._notify_adapter import NotifyAdapter, Unsubscribe
from ._state_adapter import (
    AcquiredJob,
    AddedJobBlockers,
    CreatedJob,
    CreateJobParams,
    DeletedChains,
    JobBlockersParams,
    LockMode,
    ReapedJob,
    ScopeHandle,
    StateAdapter,
    StateChain,
    StateJob,
    TriggeredJobs,
    UnblockedJobs,
)
from .errors import JobTypeValidationError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from ._entities import ChainFilter, JobFilter, JsonValue, OrderDirection, Page, ScheduleOptions
    from ._observability import Observability

TxCtxT = TypeVar("TxCtxT")
ResultT = TypeVar("ResultT")


async def _began() -> None:
    """What a handed-out transaction's interception runs: the transaction has already begun."""


class DelegatingStateAdapter(StateAdapter[TxCtxT]):
    """Forwards every operation to `inner`, each through `_intercept` (transactions through `_intercept_transaction`).

    Subclasses decide what happens around a call (report a failure, inject one) by
    overriding those two hooks; savepoints and `close` are always forwarded as they are.
    """

    def __init__(self, inner: StateAdapter[TxCtxT]) -> None:
        self.inner = inner

    async def _intercept(self, operation: str, call: Callable[[], Awaitable[ResultT]]) -> ResultT:
        """Run one forwarded operation; the default just runs it."""
        return await call()

    async def _intercept_transaction(self, call: Callable[[], Awaitable[ResultT]]) -> ResultT:
        """Run a forwarded `with_transaction`; the default just runs it."""
        return await call()

    async def with_transaction(self, fn: Callable[[TxCtxT], Awaitable[ResultT]]) -> ResultT:
        return await self._intercept_transaction(lambda: self.inner.with_transaction(fn))

    async def with_savepoint(self, tx_ctx: TxCtxT, fn: Callable[[TxCtxT], Awaitable[ResultT]]) -> ResultT:
        return await self.inner.with_savepoint(tx_ctx, fn)

    async def open_transaction(self) -> ScopeHandle[TxCtxT] | None:
        handle = await self.inner.open_transaction()
        if handle is None:
            # The caller falls back to `with_transaction`, which is intercepted itself.
            return None
        try:
            await self._intercept_transaction(_began)
        except BaseException:
            await handle.rollback()
            raise
        return handle

    async def open_savepoint(self, tx_ctx: TxCtxT) -> ScopeHandle[TxCtxT] | None:
        return await self.inner.open_savepoint(tx_ctx)

    async def get_job(
        self, job_id: str, *, tx_ctx: TxCtxT | None = None, lock: LockMode | None = None
    ) -> StateJob | None:
        return await self._intercept("get_job", lambda: self.inner.get_job(job_id, tx_ctx=tx_ctx, lock=lock))

    async def get_chain(
        self, chain_id: str, *, tx_ctx: TxCtxT | None = None, lock: LockMode | None = None
    ) -> StateChain | None:
        return await self._intercept("get_chain", lambda: self.inner.get_chain(chain_id, tx_ctx=tx_ctx, lock=lock))

    async def create_jobs(self, jobs: Sequence[CreateJobParams], *, tx_ctx: TxCtxT | None = None) -> list[CreatedJob]:
        return await self._intercept("create_jobs", lambda: self.inner.create_jobs(jobs, tx_ctx=tx_ctx))

    async def add_jobs_blockers(
        self, job_blockers: Sequence[JobBlockersParams], *, tx_ctx: TxCtxT | None = None
    ) -> list[AddedJobBlockers]:
        return await self._intercept(
            "add_jobs_blockers", lambda: self.inner.add_jobs_blockers(job_blockers, tx_ctx=tx_ctx)
        )

    async def unblock_jobs(self, blocked_by_chain_id: str, *, tx_ctx: TxCtxT | None = None) -> UnblockedJobs:
        return await self._intercept(
            "unblock_jobs", lambda: self.inner.unblock_jobs(blocked_by_chain_id, tx_ctx=tx_ctx)
        )

    async def get_job_blockers(self, job_id: str, *, tx_ctx: TxCtxT | None = None) -> list[StateChain]:
        return await self._intercept("get_job_blockers", lambda: self.inner.get_job_blockers(job_id, tx_ctx=tx_ctx))

    async def get_next_job_available_in_ms(
        self, type_names: Sequence[str], *, tx_ctx: TxCtxT | None = None
    ) -> int | None:
        return await self._intercept(
            "get_next_job_available_in_ms", lambda: self.inner.get_next_job_available_in_ms(type_names, tx_ctx=tx_ctx)
        )

    async def acquire_job(self, type_names: Sequence[str], *, tx_ctx: TxCtxT | None = None) -> AcquiredJob:
        return await self._intercept("acquire_job", lambda: self.inner.acquire_job(type_names, tx_ctx=tx_ctx))

    async def renew_job_lease(
        self, job_id: str, *, worker_id: str, lease_duration_ms: float, tx_ctx: TxCtxT | None = None
    ) -> StateJob:
        return await self._intercept(
            "renew_job_lease",
            lambda: self.inner.renew_job_lease(
                job_id, worker_id=worker_id, lease_duration_ms=lease_duration_ms, tx_ctx=tx_ctx
            ),
        )

    async def reschedule_job(
        self, job_id: str, *, schedule: ScheduleOptions, error: str | None, tx_ctx: TxCtxT | None = None
    ) -> StateJob:
        return await self._intercept(
            "reschedule_job", lambda: self.inner.reschedule_job(job_id, schedule=schedule, error=error, tx_ctx=tx_ctx)
        )

    async def complete_job(
        self, job_id: str, *, output: JsonValue, worker_id: str | None, tx_ctx: TxCtxT | None = None
    ) -> StateJob:
        return await self._intercept(
            "complete_job", lambda: self.inner.complete_job(job_id, output=output, worker_id=worker_id, tx_ctx=tx_ctx)
        )

    async def reap_expired_job_lease(
        self, type_names: Sequence[str], *, ignored_job_ids: Sequence[str] = (), tx_ctx: TxCtxT | None = None
    ) -> ReapedJob | None:
        return await self._intercept(
            "reap_expired_job_lease",
            lambda: self.inner.reap_expired_job_lease(type_names, ignored_job_ids=ignored_job_ids, tx_ctx=tx_ctx),
        )

    async def delete_chains(
        self, chain_ids: Sequence[str], *, cascade: bool = False, tx_ctx: TxCtxT | None = None
    ) -> DeletedChains:
        return await self._intercept(
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
        return await self._intercept(
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
        return await self._intercept(
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
        return await self._intercept(
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
        return await self._intercept(
            "list_blocked_jobs",
            lambda: self.inner.list_blocked_jobs(
                chain_id, order_direction=order_direction, cursor=cursor, limit=limit, tx_ctx=tx_ctx
            ),
        )

    async def trigger_jobs(self, job_ids: Sequence[str], *, tx_ctx: TxCtxT | None = None) -> TriggeredJobs:
        return await self._intercept("trigger_jobs", lambda: self.inner.trigger_jobs(job_ids, tx_ctx=tx_ctx))

    async def close(self) -> None:
        await self.inner.close()


class ObservedStateAdapter(DelegatingStateAdapter[TxCtxT]):
    """Delegates to the user's state adapter; a failing operation emits `state_adapter_error` and re-raises."""

    def __init__(self, inner: StateAdapter[TxCtxT], observability: Observability) -> None:
        super().__init__(inner)
        self._observability = observability

    async def _intercept(self, operation: str, call: Callable[[], Awaitable[ResultT]]) -> ResultT:
        try:
            return await call()
        except Exception as error:
            self._observability.state_adapter_error(operation=operation, error=error)
            raise


class DelegatingNotifyAdapter(NotifyAdapter):
    """Forwards every operation to `inner`, each through `_intercept`.

    Subclasses decide what happens around a call (report a failure, inject one) by
    overriding that hook, or watch one operation by overriding its method and calling
    `super()`; `close` is always forwarded as it is.
    """

    def __init__(self, inner: NotifyAdapter) -> None:
        self.inner = inner

    async def _intercept(self, operation: str, call: Callable[[], Awaitable[ResultT]]) -> ResultT:
        """Run one forwarded operation; the default just runs it."""
        return await call()

    async def notify_job_scheduled(self, type_name: str) -> None:
        await self._intercept("notify_job_scheduled", lambda: self.inner.notify_job_scheduled(type_name))

    async def listen_job_scheduled(
        self, type_names: Sequence[str], on_notification: Callable[[str], None]
    ) -> Unsubscribe:
        return await self._intercept(
            "listen_job_scheduled", lambda: self.inner.listen_job_scheduled(type_names, on_notification)
        )

    async def provide_wake_hint(self, type_name: str, count: int) -> None:
        await self._intercept("provide_wake_hint", lambda: self.inner.provide_wake_hint(type_name, count))

    async def consume_wake_hint(self, type_name: str) -> bool:
        return await self._intercept("consume_wake_hint", lambda: self.inner.consume_wake_hint(type_name))

    async def notify_chain_completed(self, chain_id: str) -> None:
        await self._intercept("notify_chain_completed", lambda: self.inner.notify_chain_completed(chain_id))

    async def listen_chain_completed(self, chain_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        return await self._intercept(
            "listen_chain_completed", lambda: self.inner.listen_chain_completed(chain_id, on_notification)
        )

    async def notify_job_ownership_lost(self, job_id: str) -> None:
        await self._intercept("notify_job_ownership_lost", lambda: self.inner.notify_job_ownership_lost(job_id))

    async def listen_job_ownership_lost(self, job_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        return await self._intercept(
            "listen_job_ownership_lost", lambda: self.inner.listen_job_ownership_lost(job_id, on_notification)
        )

    async def close(self) -> None:
        await self.inner.close()


class ObservedNotifyAdapter(DelegatingNotifyAdapter):
    """Delegates to the user's notify adapter; a failing operation emits `notify_adapter_error` and re-raises."""

    def __init__(self, inner: NotifyAdapter, observability: Observability) -> None:
        super().__init__(inner)
        self._report_error = observability.notify_adapter_error

    async def _intercept(self, operation: str, call: Callable[[], Awaitable[ResultT]]) -> ResultT:
        try:
            return await call()
        except Exception as error:
            self._report_error(operation=operation, error=error)
            raise


class ObservedJobTypes(JobTypes):
    """Delegates to the merged registry; a `JobTypeValidationError` emits `job_type_validation_error` first.

    Each method spells out its own `try` rather than sharing a helper taking a lambda:
    these run several times per job, and the closure is measurable at that rate.
    """

    def __init__(self, inner: JobTypes, observability: Observability) -> None:
        self.inner = inner
        self._observability = observability
        self.knows_type_names = inner.knows_type_names

    def get_type_names(self) -> Sequence[str]:
        return self.inner.get_type_names()

    def validate_entry(self, type_name: str, /) -> None:
        try:
            self.inner.validate_entry(type_name)
        except JobTypeValidationError as error:
            self._observability.job_type_validation_error(error)
            raise

    def parse_input(self, type_name: str, input: object, /) -> JsonValue:
        try:
            return self.inner.parse_input(type_name, input)
        except JobTypeValidationError as error:
            self._observability.job_type_validation_error(error)
            raise

    def parse_output(self, type_name: str, output: object, /) -> JsonValue:
        try:
            return self.inner.parse_output(type_name, output)
        except JobTypeValidationError as error:
            self._observability.job_type_validation_error(error)
            raise

    def validate_continue_with(self, type_name: str, target: ResolvedRef, /) -> None:
        try:
            self.inner.validate_continue_with(type_name, target)
        except JobTypeValidationError as error:
            self._observability.job_type_validation_error(error)
            raise

    def validate_blockers(self, type_name: str, blockers: Sequence[ResolvedRef], /) -> None:
        try:
            self.inner.validate_blockers(type_name, blockers)
        except JobTypeValidationError as error:
            self._observability.job_type_validation_error(error)
            raise

    def decode_input(self, type_name: str, stored: JsonValue, /) -> object:
        try:
            return self.inner.decode_input(type_name, stored)
        except JobTypeValidationError as error:
            self._observability.job_type_validation_error(error)
            raise

    def decode_output(self, type_name: str, stored: JsonValue, /) -> object:
        try:
            return self.inner.decode_output(type_name, stored)
        except JobTypeValidationError as error:
            self._observability.job_type_validation_error(error)
            raise

    def get_job_type(self, type_name: str, /) -> JobType[Any, Any] | None:
        return self.inner.get_job_type(type_name)
