"""What a completion callback receives and returns, shared by workers and `complete_chain`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from ._extras import Extras

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from ._entities import BlockedJob, ChainLike, PendingJob, ScheduleOptions
    from ._job_types import JobType
    from ._transaction_hooks import TransactionHooks

TxCtxT = TypeVar("TxCtxT")
InT = TypeVar("InT")


@dataclass(frozen=True, slots=True)
class ContinuationJob(Generic[InT]):
    """Returned by `continue_with`: the job that now carries the chain on.

    Return it from the completion callback to finish the current job by handing off.
    """

    job: PendingJob[InT] | BlockedJob[InT]
    deduplicated: bool = False
    """`True` when this step of the chain already had a successor, which was reused."""


class CompleteContext(Generic[TxCtxT]):
    """Passed to a completion callback: the open transaction and the way to continue the chain."""

    def __init__(
        self,
        *,
        tx_ctx: TxCtxT,
        transaction_hooks: TransactionHooks,
        continue_with: Callable[..., Awaitable[ContinuationJob[Any]]],
        extras: Extras | None = None,
    ) -> None:
        self.tx_ctx = tx_ctx
        """The transaction the completion runs in; write your own rows through it."""
        self.transaction_hooks = transaction_hooks
        """Side effects registered here run only after the transaction commits."""
        self._continue_with = continue_with
        self.extras = extras if extras is not None else Extras()
        """Values added by attempt middleware (empty outside a worker)."""

    def _with_extras(self, extras: Extras) -> CompleteContext[TxCtxT]:
        return CompleteContext(
            tx_ctx=self.tx_ctx,
            transaction_hooks=self.transaction_hooks,
            continue_with=self._continue_with,
            extras=extras,
        )

    @overload
    async def continue_with(
        self,
        job_type: JobType[InT, Any],
        *,
        input: InT,
        id: str | None = None,
        schedule: ScheduleOptions | None = None,
        blockers: Sequence[ChainLike[Any, Any]] = (),
    ) -> ContinuationJob[InT]: ...

    @overload
    async def continue_with(
        self,
        job_type: str,
        *,
        input: object,
        id: str | None = None,
        schedule: ScheduleOptions | None = None,
        blockers: Sequence[ChainLike[Any, Any]] = (),
    ) -> ContinuationJob[Any]: ...

    async def continue_with(
        self,
        job_type: JobType[Any, Any] | str,
        *,
        input: object,
        id: str | None = None,
        schedule: ScheduleOptions | None = None,
        blockers: Sequence[ChainLike[Any, Any]] = (),
    ) -> ContinuationJob[Any]:
        """Hand the chain to a job of `job_type` (allowed by this job type's `continue_with`).

        Call it at most once, and return its result from the callback. The new job is created
        in the same transaction, with the next `chain_index`.
        """
        return await self._continue_with(job_type, input=input, id=id, schedule=schedule, blockers=blockers)
