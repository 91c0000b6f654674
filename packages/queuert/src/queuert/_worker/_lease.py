"""Ownership of a staged attempt: the ownership check, guarded transactions and lease renewal."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .._transaction_hooks import transaction_hooks
from ..errors import JobAlreadyCompletedError, JobNotFoundError, JobTakenByAnotherWorkerError, QueuertError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from .._abort import AbortController
    from .._chain_ops import ChainOperations
    from .._state_adapter import StateJob
    from .._transaction_hooks import TransactionHooks
    from ._config import LeaseConfig
    from ._context import JobAbortReason

__all__ = ("OWNERSHIP_ERRORS", "AttemptAbortedError", "LeaseRenewal", "OwnershipGuard")

TxCtxT = TypeVar("TxCtxT")
ResultT = TypeVar("ResultT")

OWNERSHIP_ERRORS = (JobTakenByAnotherWorkerError, JobAlreadyCompletedError, JobNotFoundError)
"""Errors meaning the attempt lost its job: the worker drops the attempt without rescheduling."""


class AttemptAbortedError(QueuertError):
    """The attempt can no longer finish (its lease could not be renewed, or the worker is stopping).

    Internal: the worker ends such an attempt without touching the job, which is reaped
    once its lease expires.
    """


class OwnershipGuard(Generic[TxCtxT]):
    """Checks, under a row lock, that the attempt still owns its job; aborts the signal when it does not."""

    __slots__ = ("_controller", "_job", "_ops", "_worker_id")

    def __init__(
        self,
        ops: ChainOperations[TxCtxT],
        job: StateJob,
        worker_id: str,
        controller: AbortController[JobAbortReason],
    ) -> None:
        self._ops = ops
        self._job = job
        self._worker_id = worker_id
        self._controller = controller

    def raise_if_aborted(self) -> None:
        """Fail fast with the error matching the abort reason."""
        signal = self._controller.signal
        if not signal.aborted:
            return
        job_id = self._job.id
        reason = signal.reason
        if reason == "not_found":
            raise JobNotFoundError(f"Job {job_id!r} no longer exists (attempt aborted)", job_id=job_id)
        if reason == "already_completed":
            raise JobAlreadyCompletedError(f"Job {job_id!r} was completed elsewhere (attempt aborted)", job_id=job_id)
        if reason == "taken_by_another_worker":
            raise JobTakenByAnotherWorkerError(
                f"Job {job_id!r} was taken by another worker (attempt aborted)",
                job_id=job_id,
                worker_id=self._worker_id,
                leased_by=None,
            )
        raise AttemptAbortedError(f"Job processing aborted: {reason}")

    async def check(self, tx_ctx: TxCtxT, *, ignore_abort: bool = False) -> StateJob:
        """Lock the job row and verify this worker still owns it.

        Raises:
            JobNotFoundError, JobAlreadyCompletedError, JobTakenByAnotherWorkerError: ownership
                is lost (the signal is aborted with the matching reason first).
            AttemptAbortedError: the signal was already aborted for another reason (unless
                `ignore_abort`, used to hand the job back when the worker stops).
        """
        if not ignore_abort:
            self.raise_if_aborted()
        job_id = self._job.id
        obs = self._ops.observability
        current = await self._ops.state.get_job(job_id, tx_ctx=tx_ctx, lock="exclusive")
        if current is None:
            self._controller.abort("not_found")
            raise JobNotFoundError(f"Job {job_id!r} no longer exists (its chain was deleted)", job_id=job_id)
        if current.status == "completed":
            obs.job_attempt_already_completed(current, worker_id=self._worker_id, completed_by=current.completed_by)
            self._controller.abort("already_completed")
            raise JobAlreadyCompletedError(f"Job {job_id!r} was completed elsewhere", job_id=job_id)
        if current.leased_by != self._worker_id:
            obs.job_attempt_taken_by_another_worker(
                current, worker_id=self._worker_id, leased_by=current.leased_by, leased_until=current.leased_until
            )
            self._controller.abort("taken_by_another_worker")
            raise JobTakenByAnotherWorkerError(job_id=job_id, worker_id=self._worker_id, leased_by=current.leased_by)
        if current.leased_until is not None and current.leased_until < datetime.now(UTC):
            # Still ours: nobody reaped it. Worth a warning, but the attempt carries on.
            obs.job_attempt_lease_expired(
                current, worker_id=self._worker_id, leased_by=current.leased_by, leased_until=current.leased_until
            )
        return current

    async def run_guarded(
        self, fn: Callable[[TxCtxT, TransactionHooks], Awaitable[ResultT]], *, ignore_abort: bool = False
    ) -> ResultT:
        """Run `fn` in a new transaction that starts with the ownership check; hooks flush after commit."""
        if not ignore_abort:
            self.raise_if_aborted()
        state = self._ops.state

        async def body(tx_ctx: TxCtxT, hooks: TransactionHooks) -> ResultT:
            await self.check(tx_ctx, ignore_abort=ignore_abort)
            return await fn(tx_ctx, hooks)

        async with transaction_hooks() as hooks:
            return await state.with_transaction(lambda tx_ctx: body(tx_ctx, hooks))


class LeaseRenewal(Generic[TxCtxT]):
    """Renews a staged attempt's lease every `renew_interval_ms` until stopped."""

    __slots__ = ("_config", "_controller", "_guard", "_job", "_ops", "_stop", "_task", "_worker_id", "leased_until")

    def __init__(
        self,
        ops: ChainOperations[TxCtxT],
        guard: OwnershipGuard[TxCtxT],
        controller: AbortController[JobAbortReason],
        job: StateJob,
        worker_id: str,
        config: LeaseConfig,
    ) -> None:
        self._ops = ops
        self._guard = guard
        self._controller = controller
        self._job = job
        self._worker_id = worker_id
        self._config = config
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.leased_until: datetime | None = None
        """The expiry of the last lease this renewal committed."""

    def start(self) -> None:
        """Start renewing in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop renewing; a renewal under way finishes first. Idempotent."""
        self._stop.set()
        task = self._task
        if task is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(task)

    async def _run(self) -> None:
        interval_s = self._config.renew_interval_ms / 1000
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval_s):
                    await self._stop.wait()
            if self._stop.is_set() or self._controller.signal.aborted:
                return
            try:
                renewed = await self._guard.run_guarded(self._renew)
            except OWNERSHIP_ERRORS:
                # The guard aborted the signal; the attempt learns at its next guarded step.
                return
            except Exception:
                self._controller.abort("error")
                return
            self.leased_until = renewed.leased_until
            self._ops.observability.job_attempt_lease_renewed(
                renewed, worker_id=self._worker_id, leased_by=renewed.leased_by, leased_until=renewed.leased_until
            )

    async def _renew(self, tx_ctx: TxCtxT, _hooks: Any) -> StateJob:
        return await self._ops.state.renew_job_lease(
            self._job.id, worker_id=self._worker_id, lease_duration_ms=self._config.lease_ms, tx_ctx=tx_ctx
        )
