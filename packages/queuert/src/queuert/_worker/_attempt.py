"""One attempt at one job: the handler contract, the processing modes, completion and failure.

The attempt starts with an open transaction in which the job was just acquired (the
"prepare transaction"). Right away a savepoint is taken in it, so that a failed atomic
attempt can undo everything it wrote and keep only the acquisition and the reschedule
(binding decision 6). Then:

- atomic mode keeps that transaction open until the handler returns, and completes the job
  in it;
- staged mode commits it at `prepare` (with a lease on the job), renews the lease in the
  background, and completes the job in a new transaction that starts with an ownership
  check.

The completion runs inside another savepoint that is released only when the handler
returns: a handler that raises after `complete` rolls the completion back.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from .._abort import AbortController
from .._entities import CompletedChain, ScheduleAfter
from .._extras import Extras
from .._observability_adapter import AttemptCompleted, AttemptFailed, JobData
from ..errors import AttemptUsageError
from ._config import backoff_ms
from ._context import AttemptContext, Prepare, PrepareContext, RunningJobWithBlockers
from ._lease import OWNERSHIP_ERRORS, AttemptAbortedError, LeaseRenewal, OwnershipGuard
from ._middleware import run_wrapped
from ._retry import RetryPlan, plan_retry, serialize_error
from ._scope import OpenSavepoint, OpenTransaction

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from datetime import datetime

    from .._chain_ops import ChainOperations, CompletionOutcome
    from .._completion import CompleteContext
    from .._entities import Job
    from .._notify_adapter import Unsubscribe
    from .._observability import GuardedAttemptSpan
    from .._state_adapter import StateJob
    from .._transaction_hooks import TransactionHooks
    from ._config import BackoffConfig, LeaseConfig
    from ._context import JobAbortReason, PrepareMode
    from ._middleware import AttemptMiddleware, Next
    from ._processors import ResolvedProcessor

__all__ = ("Attempt", "AttemptOutcome", "AttemptStatus")

TxCtxT = TypeVar("TxCtxT")
T = TypeVar("T")

AttemptStatus = Literal["completed", "continued", "rescheduled", "abandoned", "rolled_back"]
"""How an attempt ended.

- `"completed"`: the job finished its chain.
- `"continued"`: the job handed the chain to a continuation.
- `"rescheduled"`: the attempt failed and the job will be retried.
- `"abandoned"`: the attempt lost its job (taken over, completed elsewhere, deleted) or could
  not record its failure; the job is left to whoever owns it now, or to the reaper.
- `"rolled_back"`: nothing the attempt did was kept (its transaction could not commit); the
  job is pending again as if it had not been picked up.
"""

_RELEASE_TIMEOUT_S = 5.0
"""How long an interrupted attempt may spend handing its job back before giving up."""


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """What one attempt did (returned by the testing helpers)."""

    job_id: str
    type_name: str
    chain_id: str
    attempt: int
    """The attempt number (1 for the first attempt at the job)."""
    status: AttemptStatus
    error: BaseException | None = None
    """Why the attempt failed, for `"rescheduled"`, `"abandoned"` and `"rolled_back"`."""
    continued_with: str | None = None
    """The id of the continuation job, for `"continued"`."""


class Attempt(Generic[TxCtxT]):
    """Runs one attempt. Used once: `await Attempt(...).run()`."""

    def __init__(
        self,
        *,
        ops: ChainOperations[TxCtxT],
        processor: ResolvedProcessor,
        job: StateJob,
        worker_id: str,
        prepare_tx: OpenTransaction[TxCtxT],
    ) -> None:
        self._ops = ops
        self._processor = processor
        self._job = job
        self._worker_id = worker_id
        self._prepare_tx = prepare_tx
        self._controller: AbortController[JobAbortReason] = AbortController()
        self._guard = OwnershipGuard(ops, job, worker_id, self._controller)
        self._attempt_savepoint: OpenSavepoint[TxCtxT] | None = None
        self._completion_savepoint: OpenSavepoint[TxCtxT] | None = None
        self._complete_tx: OpenTransaction[TxCtxT] | None = None
        self._renewal: LeaseRenewal[TxCtxT] | None = None
        self._unsubscribe: Unsubscribe | None = None
        self._checks: set[asyncio.Task[None]] = set()
        self._background_stopped = False
        self._extras = Extras()
        self._view: RunningJobWithBlockers[Any] | None = None
        self._span: GuardedAttemptSpan | None = None
        self._started_at = 0.0
        self._handler_started = False
        self._prepare_accessed = False
        self._prepare_called = False
        self._prepare_committed = False
        self._complete_started = False
        self._auto_setup = False
        self._auto_prepare: asyncio.Future[None] | None = None
        self._mode: PrepareMode = "atomic"
        self._completed: CompletionOutcome | None = None
        self._leased_until: datetime | None = None

    # --- read side for the worker ---------------------------------------------------

    @property
    def job(self) -> StateJob:
        """The job as acquired."""
        return self._job

    @property
    def lease_expires_at(self) -> datetime | None:
        """When the last lease this attempt took expires (`None`: it never took one)."""
        renewed = self._renewal.leased_until if self._renewal is not None else None
        return renewed or self._leased_until

    def abort(self, reason: JobAbortReason) -> None:
        """Abort the attempt's signal (the handler decides what to do about it)."""
        self._controller.abort(reason)

    @property
    def _backoff(self) -> BackoffConfig:
        assert self._processor.backoff_config is not None
        return self._processor.backoff_config

    @property
    def _lease(self) -> LeaseConfig:
        assert self._processor.lease_config is not None
        return self._processor.lease_config

    def _outcome(self, status: AttemptStatus, error: BaseException | None = None) -> AttemptOutcome:
        job = self._job
        continued = self._completed.continuation if self._completed is not None else None
        return AttemptOutcome(
            job_id=job.id,
            type_name=job.type_name,
            chain_id=job.chain_id,
            attempt=job.attempt,
            status=status,
            error=error,
            continued_with=continued.id if continued is not None else None,
        )

    # --- the attempt ------------------------------------------------------------------

    async def run(self) -> AttemptOutcome:
        """Run the attempt to its end.

        Raises only when the attempt could not start (the acquisition is then rolled back),
        when attempt middleware raises around a finished attempt, and on cancellation or
        other `BaseException`s, which propagate after the transactions were rolled back.
        """
        try:
            try:
                self._attempt_savepoint = OpenSavepoint(
                    self._ops.state, self._require_tx(self._prepare_tx), self._prepare_tx.hooks
                )
                # Deferred: taken on the database only before prepare runs statements (the
                # completion savepoint, taken before the first statement of `complete`, marks
                # the same state when nothing ran in between).
                await self._attempt_savepoint.open(defer=True)
                blockers = await self._ops.state.get_job_blockers(self._job.id, tx_ctx=self._prepare_tx.tx_ctx)
            except BaseException:
                await self._rollback_transactions()
                raise
            try:
                self._view = self._build_view(blockers)
            except Exception as error:
                # A stored input that no longer decodes will not decode on retry either:
                # back off instead of undoing the acquisition and trying again at once.
                self._handler_started = True
                return await self._fail(error)
            layers = [self._handler_layer(layer) for layer in self._processor.middleware]
            try:
                return await run_wrapped(layers, self._run_handler, Extras())
            except BaseException:
                if not self._handler_started:
                    await self._rollback_transactions()
                raise
        finally:
            self._abandon_scopes()

    def _build_view(self, blockers: list[Any]) -> RunningJobWithBlockers[Any]:
        job = self._job
        chains = [self._ops.chain_view(chain) for chain in blockers]
        return RunningJobWithBlockers(
            **self._ops.job_fields(job),
            leased_by=job.leased_by,
            leased_until=job.leased_until,
            blockers=tuple(chain for chain in chains if isinstance(chain, CompletedChain)),
        )

    def _handler_layer(self, middleware: AttemptMiddleware[Any]) -> Callable[[Next[T]], Awaitable[T]]:
        def layer(next: Next[T]) -> Awaitable[T]:
            return middleware.wrap_handler(job=self._require_view(), worker_id=self._worker_id, next=next)

        return layer

    def _require_view(self) -> RunningJobWithBlockers[Any]:
        assert self._view is not None
        return self._view

    def _require_attempt_savepoint(self) -> OpenSavepoint[TxCtxT]:
        assert self._attempt_savepoint is not None
        return self._attempt_savepoint

    @staticmethod
    def _require_tx(transaction: OpenTransaction[TxCtxT]) -> TxCtxT:
        assert transaction.tx_ctx is not None
        return transaction.tx_ctx

    async def _run_handler(self, extras: Extras) -> AttemptOutcome:
        self._handler_started = True
        self._extras = extras
        obs = self._ops.observability
        job = self._job
        obs.job_attempt_started(job, worker_id=self._worker_id)
        self._span = obs.start_attempt_span(
            chain_trace_context=job.chain_trace_context,
            trace_context=job.trace_context,
            chain_id=job.chain_id,
            chain_type_name=job.chain_type_name,
            job_id=job.id,
            job_type_name=job.type_name,
            attempt=job.attempt,
            worker_id=self._worker_id,
        )
        loop = asyncio.get_running_loop()
        self._started_at = loop.time()
        ctx: AttemptContext[Any, Any, Any] = AttemptContext(
            job=self._require_view(),
            signal=self._controller.signal,
            extras=extras,
            worker_id=self._worker_id,
            control=self,
        )
        handler = asyncio.create_task(self._call_handler(ctx))
        try:
            # One turn of the loop lets the handler run up to its first real suspension, which
            # is what auto-setup looks at (worker.md §6.1).
            await asyncio.sleep(0)
            # A handler that already finished (typically by raising) needs no mode: its
            # failure is handled in the open transaction, like an atomic one.
            if not (handler.done() or self._complete_started or self._prepare_accessed or self._prepare_called):
                await self._auto_prepare_staged()
            error: Exception | None = None
            try:
                await handler
            except Exception as raised:
                error = raised
            if error is None and self._completed is None:
                error = AttemptUsageError("attempt handler returned without completing the job")
            if error is None:
                try:
                    await self._commit_success()
                except Exception as raised:
                    error = raised
                else:
                    return self._outcome("continued" if self._completed_continued() else "completed")
            return await self._fail(error)
        except BaseException as interruption:
            if isinstance(interruption, asyncio.CancelledError) and not _being_cancelled() and handler.done():
                # The handler raised CancelledError on its own (nobody cancelled this attempt):
                # record it as a failed attempt, with backoff, and still let it propagate.
                await self._fail(interruption)
            else:
                await self._interrupted(handler, interruption)
            raise

    async def _call_handler(self, ctx: AttemptContext[Any, Any, Any]) -> object:
        return await self._processor.handler(ctx)

    def _completed_continued(self) -> bool:
        return self._completed is not None and self._completed.continuation is not None

    # --- prepare ----------------------------------------------------------------------

    def access_prepare(self) -> Prepare[Any]:
        """The `ctx.prepare` getter: remember it was read, unless the worker already chose the mode."""
        if self._auto_setup:
            raise AttemptUsageError("Prepare cannot be accessed after auto-setup")
        self._prepare_accessed = True
        return Prepare(self._prepare)

    async def _auto_prepare_staged(self) -> None:
        self._auto_setup = True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._auto_prepare = future
        try:
            await self._prepare("staged", None)
        except Exception as error:
            future.set_exception(error)
            future.exception()  # retrieved here; `complete` re-raises it to the handler
        else:
            future.set_result(None)
        finally:
            if not future.done():
                future.cancel()

    async def _prepare(
        self, mode: PrepareMode, callback: Callable[[PrepareContext[Any]], Awaitable[object]] | None
    ) -> object:
        if self._prepare_called:
            raise AttemptUsageError("Prepare can only be called once")
        self._prepare_called = True
        if mode not in ("atomic", "staged"):
            raise ValueError(f"prepare mode must be 'atomic' or 'staged', got {mode!r}")
        if self._complete_started:
            raise AttemptUsageError("Prepare cannot be called after complete")
        self._mode = mode
        sub_span = self._span.start_prepare() if self._span is not None else None
        try:
            if callback is not None or mode == "staged":
                await self._require_attempt_savepoint().materialize()
            result = await self._run_prepare_callback(callback) if callback is not None else None
        finally:
            if sub_span is not None:
                sub_span.end()
        if mode == "staged":
            tx_ctx = self._require_tx(self._prepare_tx)
            leased = await self._ops.state.renew_job_lease(
                self._job.id, worker_id=self._worker_id, lease_duration_ms=self._lease.lease_ms, tx_ctx=tx_ctx
            )
            if self._attempt_savepoint is not None:
                await self._attempt_savepoint.release()
            await self._prepare_tx.commit()
            self._prepare_committed = True
            self._leased_until = leased.leased_until
            await self._start_background()
        return result

    async def _run_prepare_callback(self, callback: Callable[[PrepareContext[Any]], Awaitable[object]]) -> object:
        hooks = self._prepare_tx.hooks
        view = self._require_view()

        async def in_savepoint(tx_ctx: TxCtxT) -> object:
            def layer_for(middleware: AttemptMiddleware[Any]) -> Callable[[Next[object]], Awaitable[object]]:
                return lambda next: middleware.wrap_prepare(job=view, tx_ctx=tx_ctx, next=next)

            def innermost(extras: Extras) -> Awaitable[object]:
                return callback(PrepareContext(tx_ctx=tx_ctx, transaction_hooks=hooks, extras=extras))

            async with hooks.savepoint():
                layers = [layer_for(m) for m in self._processor.middleware]
                return await run_wrapped(layers, innermost, self._extras)

        return await self._ops.state.with_savepoint(self._require_tx(self._prepare_tx), in_savepoint)

    # --- background work of a staged attempt -----------------------------------------

    async def _start_background(self) -> None:
        self._renewal = LeaseRenewal(self._ops, self._guard, self._controller, self._job, self._worker_id, self._lease)
        self._renewal.start()
        with contextlib.suppress(Exception):
            # Without the subscription ownership loss is still noticed at the next renewal.
            self._unsubscribe = await self._ops.notify.listen_job_ownership_lost(self._job.id, self._ownership_lost)

    def _ownership_lost(self) -> None:
        if self._background_stopped or self._controller.signal.aborted:
            return
        task = asyncio.create_task(self._check_ownership())
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    async def _check_ownership(self) -> None:
        with contextlib.suppress(Exception):
            await self._guard.run_guarded(_nothing)

    async def _stop_background(self) -> None:
        self._background_stopped = True
        unsubscribe, self._unsubscribe = self._unsubscribe, None
        if unsubscribe is not None:
            with contextlib.suppress(Exception):
                await unsubscribe()
        if self._renewal is not None:
            await self._renewal.stop()
        checks = list(self._checks)
        for task in checks:
            task.cancel()
        if checks:
            await asyncio.gather(*checks, return_exceptions=True)

    # --- complete ---------------------------------------------------------------------

    async def complete(self, callback: Callable[[CompleteContext[Any]], Awaitable[object]]) -> object:
        """`ctx.complete`: see `AttemptContext.complete`."""
        if self._complete_started:
            raise AttemptUsageError("Complete can only be called once")
        self._complete_started = True
        if self._auto_prepare is not None:
            await self._auto_prepare
        await self._stop_background()
        sub_span = self._span.start_complete() if self._span is not None else None
        try:
            outcome = await self._complete_in_transaction(callback)
        finally:
            if sub_span is not None:
                sub_span.end()
        if outcome.continuation is not None:
            return outcome.returned
        view: Job[Any] = self._ops.job_view(outcome.job)
        return view

    async def _complete_in_transaction(
        self, callback: Callable[[CompleteContext[Any]], Awaitable[object]]
    ) -> CompletionOutcome:
        owner = self._prepare_tx
        savepoint: OpenSavepoint[TxCtxT] | None = None
        if owner.is_open:
            # Atomic: the completion must be undoable on its own, keeping the acquisition.
            tx_ctx = self._require_tx(owner)
            savepoint = OpenSavepoint(self._ops.state, tx_ctx, owner.hooks)
            await savepoint.open()
            self._completion_savepoint = savepoint
        else:
            # Staged: this transaction holds nothing but the ownership check and the
            # completion, so rolling all of it back undoes exactly what a savepoint would;
            # the failure is then recorded by a guarded transaction of its own (one round
            # trip fewer on every successful completion).
            owner = self._complete_tx = OpenTransaction(self._ops.state)
            await owner.open()
            tx_ctx = self._require_tx(owner)
            await self._guard.check(tx_ctx)
        hooks = owner.hooks
        span = self._span
        try:
            outcome = await self._ops.complete_job(
                tx_ctx,
                hooks,
                self._job,
                self._wrap_complete(callback, tx_ctx, hooks),
                worker_id=self._worker_id,
                origin_chain_trace_context=(span.get_chain_trace_context() if span else None)
                or self._job.chain_trace_context,
                origin_trace_context=(span.get_trace_context() if span else None) or self._job.trace_context,
                on_returned=lambda returned, continuation: self._buffer_attempt_completed(
                    hooks, returned, continuation
                ),
            )
        except BaseException:
            self._completion_savepoint = None
            if savepoint is not None:
                await savepoint.rollback()
            else:
                await owner.rollback()
            raise
        self._buffer_success(hooks, outcome)
        self._completed = outcome
        return outcome

    def _wrap_complete(
        self,
        callback: Callable[[CompleteContext[Any]], Awaitable[object]],
        tx_ctx: TxCtxT,
        hooks: TransactionHooks,
    ) -> Callable[[CompleteContext[Any]], Awaitable[object]]:
        view = self._require_view()
        middleware = self._processor.middleware
        if not middleware and not self._extras:
            return callback

        async def wrapped(ctx: CompleteContext[Any]) -> object:
            def layer_for(layer: AttemptMiddleware[Any]) -> Callable[[Next[object]], Awaitable[object]]:
                return lambda next: layer.wrap_complete(job=view, tx_ctx=tx_ctx, transaction_hooks=hooks, next=next)

            def innermost(extras: Extras) -> Awaitable[object]:
                return callback(ctx._with_extras(extras))

            return await run_wrapped([layer_for(m) for m in middleware], innermost, self._extras)

        return wrapped

    def _buffer_attempt_completed(
        self, hooks: TransactionHooks, returned: object, continuation: StateJob | None
    ) -> None:
        obs = self._ops.observability
        if obs.silent:
            return
        job = self._job
        output = None if continuation is not None else returned
        obs.on_commit(
            hooks,
            lambda: obs.job_attempt_completed(
                job, worker_id=self._worker_id, output=output, continued_with=continuation
            ),
        )

    def _buffer_success(self, hooks: TransactionHooks, outcome: CompletionOutcome) -> None:
        obs = self._ops.observability
        span = self._span
        if obs.silent and span is None:
            return
        job = self._job
        duration_ms = (asyncio.get_running_loop().time() - self._started_at) * 1000
        worker_id = self._worker_id
        obs.on_commit(hooks, lambda: obs.job_attempt_duration(job, duration_ms=duration_ms, worker_id=worker_id))
        if span is None:
            return
        continued = outcome.continuation
        result = AttemptCompleted(
            continued=(
                JobData(
                    id=continued.id,
                    type_name=continued.type_name,
                    chain_id=continued.chain_id,
                    chain_type_name=continued.chain_type_name,
                )
                if continued is not None
                else None
            ),
            chain_completed=outcome.chain_completed,
            chain_output=outcome.job.output if outcome.chain_completed else None,
        )
        obs.on_commit(hooks, lambda: span.end(result))

    async def _commit_success(self) -> None:
        # Both savepoints belong to the transaction committed just below (the prepare
        # transaction in atomic mode, the complete transaction in staged mode).
        savepoint, self._completion_savepoint = self._completion_savepoint, None
        if savepoint is not None:
            await savepoint.release(before_commit=True)
        if self._attempt_savepoint is not None:
            await self._attempt_savepoint.release(before_commit=True)
        if self._prepare_tx.is_open:
            await self._prepare_tx.commit()
        if self._complete_tx is not None and self._complete_tx.is_open:
            await self._complete_tx.commit()

    # --- failure ----------------------------------------------------------------------

    def _lost_job(self, error: BaseException) -> bool:
        """Whether `error` means the attempt lost its job (as opposed to a failure to retry).

        Only errors raised by this attempt's own ownership checks count: a handler that
        raises `JobNotFoundError` about some other job is an ordinary failure.
        """
        signal = self._controller.signal
        return signal.aborted and isinstance(error, (*OWNERSHIP_ERRORS, AttemptAbortedError))

    async def _fail(self, error: BaseException) -> AttemptOutcome:
        await self._stop_background()
        savepoint, self._completion_savepoint = self._completion_savepoint, None
        if self._lost_job(error):
            await self._rollback_transactions(savepoint)
            self._end_span(AttemptFailed(error=error))
            return self._outcome("abandoned", error)
        plan = plan_retry(error, attempt=self._job.attempt, backoff=self._backoff)
        try:
            if savepoint is not None:
                await savepoint.rollback()
            if self._complete_tx is not None and self._complete_tx.is_open:
                # Staged completions take no savepoint: undo the whole complete transaction
                # (its ownership check included); the guarded reschedule below checks again.
                await self._complete_tx.rollback()
            if self._prepare_tx.is_open:
                if self._attempt_savepoint is not None:
                    await self._attempt_savepoint.rollback()
                await self._reschedule(self._require_tx(self._prepare_tx), self._prepare_tx.hooks, plan, error)
                await self._prepare_tx.commit()
            elif not self._prepare_committed:
                # The acquiring transaction failed to commit, so it rolled back: the job is
                # pending again with its previous attempt count; there is nothing to record.
                self._end_span(AttemptFailed(error=error))
                return self._outcome("rolled_back", error)
            else:
                await self._guard.run_guarded(lambda tx_ctx, hooks: self._reschedule(tx_ctx, hooks, plan, error))
        except Exception:
            # Ownership lost or the store is unreachable: leave the job to its new owner or the reaper.
            await self._rollback_transactions()
            self._end_span(AttemptFailed(error=error))
            return self._outcome("abandoned", error)
        self._end_span(
            AttemptFailed(
                error=error, rescheduled_at=plan.rescheduled_at, rescheduled_after_ms=plan.rescheduled_after_ms
            )
        )
        return self._outcome("rescheduled", error)

    async def _reschedule(self, tx_ctx: TxCtxT, hooks: TransactionHooks, plan: RetryPlan, error: BaseException) -> None:
        obs = self._ops.observability
        job = self._job
        worker_id = self._worker_id
        obs.on_commit(
            hooks,
            lambda: obs.job_attempt_failed(
                job,
                worker_id=worker_id,
                error=error,
                rescheduled_at=plan.rescheduled_at,
                rescheduled_after_ms=plan.rescheduled_after_ms,
            ),
        )
        await self._ops.state.reschedule_job(job.id, schedule=plan.schedule, error=plan.error, tx_ctx=tx_ctx)

    def _end_span(self, result: AttemptFailed) -> None:
        if self._span is not None:
            self._span.end(result)

    async def _interrupted(self, handler: asyncio.Task[object], interruption: BaseException) -> None:
        """Clean up after a cancellation (or another `BaseException`) before it propagates."""
        if not handler.done():
            handler.cancel()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            async with asyncio.timeout(_RELEASE_TIMEOUT_S):
                await asyncio.wait({handler})
        if handler.done() and not handler.cancelled():
            handler.exception()  # retrieved: the interruption is what propagates
        with contextlib.suppress(Exception):
            await self._stop_background()
        committed = self._prepare_committed
        await self._rollback_transactions()
        reason = self._controller.signal.reason
        if committed and isinstance(interruption, asyncio.CancelledError) and reason in (None, "worker_stopping"):
            await self._release(interruption, immediately=reason == "worker_stopping")
        self._end_span(AttemptFailed(error=interruption))

    async def _release(self, interruption: BaseException, *, immediately: bool) -> None:
        """Hand a staged job back (pending again) instead of letting it wait for the lease to expire."""
        delay = 0.0 if immediately else backoff_ms(self._backoff, self._job.attempt)
        plan = RetryPlan(ScheduleAfter(delay), serialize_error(interruption))
        with contextlib.suppress(Exception):
            async with asyncio.timeout(_RELEASE_TIMEOUT_S):
                await self._guard.run_guarded(
                    lambda tx_ctx, hooks: self._reschedule(tx_ctx, hooks, plan, interruption),
                    ignore_abort=True,
                )

    async def _rollback_transactions(self, completion: OpenSavepoint[TxCtxT] | None = None) -> None:
        """Roll back whatever is still open, innermost first; errors are ignored (the store undoes it anyway)."""
        scopes: list[OpenSavepoint[TxCtxT] | OpenTransaction[TxCtxT] | None] = [
            completion,
            self._completion_savepoint,
            self._attempt_savepoint,
            self._prepare_tx,
            self._complete_tx,
        ]
        self._completion_savepoint = None
        for scope in scopes:
            if scope is None:
                continue
            with contextlib.suppress(Exception):
                await scope.rollback()

    def _abandon_scopes(self) -> None:
        for scope in (self._completion_savepoint, self._attempt_savepoint, self._prepare_tx, self._complete_tx):
            if scope is not None and scope.is_open:
                scope.abandon()


async def _nothing(_tx_ctx: object, _hooks: object) -> None:
    return None


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
