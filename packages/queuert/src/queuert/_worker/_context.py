"""What an attempt handler receives: the job, its abort signal, and `prepare` / `complete`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeAlias, TypeVar, overload

from .._abort import AbortSignal
from .._completion import ContinuationJob
from .._entities import CompletedChain, CompletedJob, RunningJob

if TYPE_CHECKING:
    from .._completion import CompleteContext
    from .._extras import Extras
    from .._transaction_hooks import TransactionHooks

__all__ = (
    "AttemptContext",
    "AttemptHandler",
    "AttemptResult",
    "AttemptSignal",
    "JobAbortReason",
    "Prepare",
    "PrepareContext",
    "PrepareMode",
    "RunningJobWithBlockers",
)

TxCtxT = TypeVar("TxCtxT")
InT = TypeVar("InT")
OutT = TypeVar("OutT")
ResultT = TypeVar("ResultT")

JobAbortReason: TypeAlias = Literal[
    "taken_by_another_worker", "error", "not_found", "already_completed", "worker_stopping"
]
"""Why an attempt's signal aborted.

- `"taken_by_another_worker"`: the lease expired, the job was reaped and another worker holds it.
- `"not_found"`: the job's chain was deleted.
- `"already_completed"`: the job was completed elsewhere (for example by `complete_chain`).
- `"error"`: renewing the lease failed; the attempt cannot finish and the job will be reaped.
- `"worker_stopping"`: the worker's shutdown grace period ran out; the attempt is about to be cancelled.
"""

AttemptSignal: TypeAlias = AbortSignal[JobAbortReason]
"""The abort signal of an attempt."""

PrepareMode: TypeAlias = Literal["atomic", "staged"]
"""`"atomic"`: one transaction for the whole attempt. `"staged"`: commit now, complete in a new transaction."""


@dataclass(frozen=True, kw_only=True)
class RunningJobWithBlockers(RunningJob[InT]):
    """The job of an attempt, with the chains it waited on (all completed), in slot order."""

    blockers: tuple[CompletedChain[Any, Any], ...] = ()


AttemptResult: TypeAlias = CompletedJob[InT, OutT] | ContinuationJob[Any]
"""What an attempt handler returns: the result of `await ctx.complete(...)`."""


class PrepareContext(Generic[TxCtxT]):
    """Passed to a prepare callback: the attempt's open transaction."""

    __slots__ = ("extras", "transaction_hooks", "tx_ctx")

    def __init__(self, *, tx_ctx: TxCtxT, transaction_hooks: TransactionHooks, extras: Extras) -> None:
        self.tx_ctx = tx_ctx
        """The transaction that acquired the job; read or write your rows through it."""
        self.transaction_hooks = transaction_hooks
        """Side effects registered here run after this transaction commits."""
        self.extras = extras
        """Values added by attempt middleware."""


class _AttemptControl(Protocol):
    def access_prepare(self) -> Prepare[Any]: ...

    async def complete(self, callback: Callable[[CompleteContext[Any]], Awaitable[object]]) -> object: ...


class Prepare(Generic[TxCtxT]):
    """`ctx.prepare`: choose the processing mode, optionally running a callback in the acquiring transaction."""

    __slots__ = ("_run",)

    def __init__(self, run: Callable[..., Awaitable[Any]]) -> None:
        self._run = run

    @overload
    async def __call__(self, mode: PrepareMode, /) -> None: ...

    @overload
    async def __call__(
        self, mode: PrepareMode, callback: Callable[[PrepareContext[TxCtxT]], Awaitable[ResultT]], /
    ) -> ResultT: ...

    async def __call__(
        self, mode: PrepareMode, callback: Callable[[PrepareContext[TxCtxT]], Awaitable[Any]] | None = None, /
    ) -> Any:
        """Run `callback` (if any) in the transaction that acquired the job, then apply `mode`.

        `"staged"` commits that transaction right away, takes a lease on the job and keeps
        renewing it until `complete`; `complete` then opens a new transaction. `"atomic"`
        keeps the transaction open until the handler returns. Call it at most once, before
        `complete`. Returns what the callback returned.
        """
        return await self._run(mode, callback)


class AttemptContext(Generic[TxCtxT, InT, OutT]):
    """Everything an attempt handler gets.

    Finish the attempt with `return await ctx.complete(callback)`. Optionally call
    `await ctx.prepare(mode, callback)` first. Without `prepare`, a handler that calls
    `complete` before its first real `await` runs atomically; any other handler runs staged.
    """

    __slots__ = ("_control", "extras", "job", "signal", "worker_id")

    def __init__(
        self,
        *,
        job: RunningJobWithBlockers[InT],
        signal: AttemptSignal,
        extras: Extras,
        worker_id: str,
        control: _AttemptControl,
    ) -> None:
        self.job = job
        """The job being processed (status `running`), with its completed blocker chains."""
        self.signal = signal
        """Aborts when the attempt can no longer complete the job (see `JobAbortReason`). Cooperative."""
        self.extras = extras
        """Values added by attempt middleware (`ctx.extras[KEY]`)."""
        self.worker_id = worker_id
        """The id of the worker running the attempt."""
        self._control = control

    @property
    def prepare(self) -> Prepare[TxCtxT]:
        """Choose the processing mode (see `Prepare`). Only read it when you mean to call it.

        Reading it tells the worker not to choose a mode automatically.

        Raises:
            AttemptUsageError: the worker already chose staged mode automatically.
        """
        return self._control.access_prepare()

    # Two overloads only: a third one for callbacks that always continue would make every
    # call whose callback type mentions `Any` (a `ContinuationJob[Any]`, a `CompleteContext[Any]`)
    # ambiguous, and mypy would then type the result as `Any`.
    @overload
    async def complete(
        self, callback: Callable[[CompleteContext[TxCtxT]], Awaitable[OutT]], /
    ) -> CompletedJob[InT, OutT]: ...

    @overload
    async def complete(
        self, callback: Callable[[CompleteContext[TxCtxT]], Awaitable[OutT | ContinuationJob[Any]]], /
    ) -> AttemptResult[InT, OutT]: ...

    async def complete(self, callback: Callable[[CompleteContext[TxCtxT]], Awaitable[Any]], /) -> Any:
        """Complete the job inside a transaction.

        The callback returns the job's output, which finishes the chain, or the result of
        `ctx.continue_with(...)`, which hands the chain to the next job. Call it once. The
        completion stays undone until the handler returns: if the handler raises
        afterwards, the completion is rolled back and the job retried.

        Returns:
            The completed job, or the continuation job.

        Raises:
            JobTakenByAnotherWorkerError, JobAlreadyCompletedError, JobNotFoundError: the
                worker lost the job; let it propagate (the worker ends the attempt quietly).
        """
        return await self._control.complete(callback)


AttemptHandler: TypeAlias = Callable[[AttemptContext[TxCtxT, InT, OutT]], Awaitable[AttemptResult[InT, OutT]]]
"""An attempt handler: `async def handle(ctx: AttemptContext[Tx, In, Out]) -> AttemptResult[In, Out]`."""
