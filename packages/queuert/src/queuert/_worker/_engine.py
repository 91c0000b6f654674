"""Acquiring a job and running its attempt: the part shared by the worker loop and the testing helpers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from ._attempt import Attempt, AttemptOutcome
from ._processors import check_required_middleware, merge_processors
from ._scope import OpenTransaction

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._chain_ops import ChainOperations
    from .._client import Client
    from .._state_adapter import StateJob
    from ._config import WorkerDefaults
    from ._middleware import AttemptMiddleware
    from ._processors import Processors, ResolvedProcessor

__all__ = ("Acquired", "Engine")

TxCtxT = TypeVar("TxCtxT")


@dataclass(frozen=True, slots=True)
class Acquired(Generic[TxCtxT]):
    """A job just acquired in a still-open transaction."""

    transaction: OpenTransaction[TxCtxT]
    job: StateJob
    has_more: bool


class Engine(Generic[TxCtxT]):
    """Knows the processors and the client; acquires jobs and runs attempts for one worker id."""

    def __init__(
        self,
        *,
        client: Client[TxCtxT],
        processors: Processors[TxCtxT] | Sequence[Processors[TxCtxT]],
        worker_id: str,
        defaults: WorkerDefaults | None = None,
        required_attempt_middleware: Sequence[AttemptMiddleware[TxCtxT]] = (),
    ) -> None:
        self.ops: ChainOperations[TxCtxT] = client._internals
        merged = merge_processors(processors, self.ops.registry)
        check_required_middleware(merged, required_attempt_middleware)
        self.processors: dict[str, ResolvedProcessor] = {
            name: processor.with_defaults(defaults) for name, processor in merged.items()
        }
        self.type_names: tuple[str, ...] = tuple(self.processors)
        self.worker_id = worker_id

    async def acquire(self) -> Acquired[TxCtxT] | tuple[None, bool]:
        """Open a transaction and take the next due job in it.

        Returns the open transaction with the job, or `(None, False)` (the empty transaction
        is committed) when no job is due. On error the transaction is rolled back.
        """
        transaction: OpenTransaction[TxCtxT] = OpenTransaction(self.ops.state)
        tx_ctx = await transaction.open()
        try:
            acquired = await self.ops.state.acquire_job(self.type_names, tx_ctx=tx_ctx)
        except BaseException:
            await transaction.rollback()
            raise
        if acquired.job is None:
            await transaction.commit()
            return (None, False)
        return Acquired(transaction, acquired.job, acquired.has_more)

    def attempt(self, acquired: Acquired[TxCtxT]) -> Attempt[TxCtxT]:
        """The attempt at an acquired job (run it with `await attempt.run()`)."""
        return Attempt(
            ops=self.ops,
            processor=self.processors[acquired.job.type_name],
            job=acquired.job,
            worker_id=self.worker_id,
            prepare_tx=acquired.transaction,
        )

    async def process_one(self) -> AttemptOutcome | None:
        """Acquire one due job and run its attempt; `None` when nothing is due."""
        acquired = await self.acquire()
        if not isinstance(acquired, Acquired):
            return None
        return await self.attempt(acquired).run()
