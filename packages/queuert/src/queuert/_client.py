"""The client: start, read, trigger, delete and complete chains."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from ._chain_ops import ChainOperations, CompletionOutcome, NewJob, type_name_of
from ._completion import CompleteContext, ContinuationJob
from ._entities import (
    Chain,
    ChainFilter,
    ChainLike,
    CompletedChain,
    DeduplicationOptions,
    Job,
    JobFilter,
    OrderDirection,
    Page,
    ScheduleOptions,
    StartedChain,
)
from ._job_types import EntryJobType, JobType, JobTypes, merge_job_types
from ._noop_notify import NoopNotifyAdapter
from ._notify_hooks import buffer_job_ownership_lost, buffer_job_scheduled
from ._observability import Observability
from ._observability_adapter import NoopObservabilityAdapter, ObservabilityAdapter
from ._observed import ObservedJobTypes, ObservedNotifyAdapter, ObservedStateAdapter
from ._state_adapter import StateAdapter, StateChain, StateJob
from ._transaction_hooks import TransactionHooks
from .errors import (
    AttemptUsageError,
    BlockerReferenceError,
    ChainNotFoundError,
    JobAlreadyCompletedError,
    JobNotFoundError,
    JobNotTriggerableError,
    JobTypeMismatchError,
    TransactionContextRequiredError,
    WaitChainTimeoutError,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from ._abort import AbortSignal
    from ._log import Log
    from ._notify_adapter import NotifyAdapter

TxCtxT = TypeVar("TxCtxT")
InT = TypeVar("InT")
OutT = TypeVar("OutT")
ChainOutT = TypeVar("ChainOutT")
ResultT = TypeVar("ResultT")

_DEFAULT_LIMIT = 50
_MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class StartChainItem(Generic[InT]):
    """One chain for `Client.start_chains`."""

    job_type: EntryJobType[InT, Any, Any] | str
    input: InT
    id: str | None = None
    deduplication: DeduplicationOptions | None = None
    schedule: ScheduleOptions | None = None
    blockers: Sequence[ChainLike[Any, Any]] = ()


class WorkerlessCompletion(Generic[TxCtxT]):
    """Passed to the `complete_chain` callback: the chain's current job and the way to complete it."""

    def __init__(self, *, job: Job[Any], complete: Callable[..., Awaitable[Any]]) -> None:
        self.job = job
        """The chain's current job, in whatever status it has (locked until the transaction ends)."""
        self._complete = complete

    @overload
    async def complete(
        self,
        job: Job[Any],
        callback: Callable[[CompleteContext[TxCtxT]], Awaitable[OutT | ContinuationJob[Any]]],
        *,
        job_type: JobType[Any, OutT],
    ) -> OutT | ContinuationJob[Any]: ...

    @overload
    async def complete(
        self, job: Job[Any], callback: Callable[[CompleteContext[TxCtxT]], Awaitable[ResultT]]
    ) -> ResultT: ...

    async def complete(
        self,
        job: Job[Any],
        callback: Callable[[CompleteContext[TxCtxT]], Awaitable[Any]],
        *,
        job_type: JobType[Any, Any] | None = None,
    ) -> Any:
        """Complete `job` (it must be `self.job`) with the callback's output, or hand off with `continue_with`.

        Pass `job_type` to have the type checker hold the callback's output to that type's
        output (and to check at run time that the job has that type). Returns what the
        callback returned. Raises `JobAlreadyCompletedError` if the job is already completed;
        may be called once.
        """
        if job_type is not None and job_type.name != job.type_name:
            raise JobTypeMismatchError(expected_type_name=job_type.name, actual_type_name=job.type_name)
        return await self._complete(job, callback)


def _require_transaction(tx_ctx: object, transaction_hooks: object) -> None:
    if tx_ctx is None:
        raise TransactionContextRequiredError(
            "Mutating client methods need tx_ctx: pass the transaction from state_adapter.with_transaction "
            "(or your own driver's transaction handle)"
        )
    if not isinstance(transaction_hooks, TransactionHooks):
        raise TransactionContextRequiredError(
            "Mutating client methods need transaction_hooks: wrap the transaction in "
            "`async with transaction_hooks() as hooks:` and pass hooks"
        )


def _check_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= _MAX_LIMIT:
        raise ValueError(f"limit must be an integer from 1 to {_MAX_LIMIT}, got {limit!r}")
    return limit


def _check_order(order_direction: str) -> None:
    if order_direction not in ("asc", "desc"):
        raise ValueError(f"order_direction must be 'asc' or 'desc', got {order_direction!r}")


def _check_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value


class Client(Generic[TxCtxT]):
    """Starts chains inside your transactions and reads, triggers, deletes and completes them.

    Build it with `create_client`. It holds no background tasks and needs no closing; close
    the adapters you created when you are done (workers first, then the notify adapter,
    then the state adapter).
    """

    def __init__(
        self,
        *,
        state_adapter: StateAdapter[TxCtxT],
        job_types: JobTypes | Sequence[JobTypes],
        notify_adapter: NotifyAdapter | None = None,
        observability_adapter: ObservabilityAdapter | None = None,
        log: Log | None = None,
    ) -> None:
        observability = Observability(log=log, adapter=observability_adapter or NoopObservabilityAdapter())
        notify: NotifyAdapter = (
            ObservedNotifyAdapter(notify_adapter, observability) if notify_adapter is not None else NoopNotifyAdapter()
        )
        # With nobody listening (no log, no observability adapter), reporting a failing state
        # operation is a no-op: leave out the wrapper that would do it on every call.
        state: StateAdapter[TxCtxT] = (
            state_adapter if observability.silent else ObservedStateAdapter(state_adapter, observability)
        )
        self._ops: ChainOperations[TxCtxT] = ChainOperations(
            state=state,
            notify=notify,
            registry=ObservedJobTypes(merge_job_types(job_types), observability),
            observability=observability,
        )
        self._state_adapter = state_adapter

    @property
    def state_adapter(self) -> StateAdapter[TxCtxT]:
        """The state adapter this client was built with (use its `with_transaction` to open transactions)."""
        return self._state_adapter

    @property
    def _internals(self) -> ChainOperations[TxCtxT]:
        """Shared with workers and the dashboard; not public API."""
        return self._ops

    # --- starting ---------------------------------------------------------------------

    @overload
    async def start_chain(
        self,
        *,
        tx_ctx: TxCtxT,
        transaction_hooks: TransactionHooks,
        job_type: EntryJobType[InT, Any, ChainOutT],
        input: InT,
        id: str | None = None,
        deduplication: DeduplicationOptions | None = None,
        schedule: ScheduleOptions | None = None,
        blockers: Sequence[ChainLike[Any, Any]] = (),
    ) -> StartedChain[InT, ChainOutT]: ...

    @overload
    async def start_chain(
        self,
        *,
        tx_ctx: TxCtxT,
        transaction_hooks: TransactionHooks,
        job_type: str,
        input: object,
        id: str | None = None,
        deduplication: DeduplicationOptions | None = None,
        schedule: ScheduleOptions | None = None,
        blockers: Sequence[ChainLike[Any, Any]] = (),
    ) -> StartedChain[Any, Any]: ...

    async def start_chain(
        self,
        *,
        tx_ctx: TxCtxT,
        transaction_hooks: TransactionHooks,
        job_type: EntryJobType[Any, Any, Any] | str,
        input: object,
        id: str | None = None,
        deduplication: DeduplicationOptions | None = None,
        schedule: ScheduleOptions | None = None,
        blockers: Sequence[ChainLike[Any, Any]] = (),
    ) -> StartedChain[Any, Any]:
        """Start one chain inside your transaction; nothing exists (and no worker hears of it) unless it commits.

        Args:
            tx_ctx: The open transaction.
            transaction_hooks: The hooks wrapping that transaction; notifications and events
                are released when they flush after commit.
            job_type: An entry job type (or its name).
            input: The first job's input.
            id: An id for the chain's first job instead of a generated one.
            deduplication: Return an existing matching chain instead of starting another.
            schedule: Do not run the first job before this time.
            blockers: Chains that must complete before the first job runs.

        Returns:
            The chain as it stands in the transaction, with `deduplicated`.
        """
        [started] = await self.start_chains(
            tx_ctx=tx_ctx,
            transaction_hooks=transaction_hooks,
            items=[
                StartChainItem(
                    job_type=job_type,
                    input=input,
                    id=id,
                    deduplication=deduplication,
                    schedule=schedule,
                    blockers=blockers,
                )
            ],
        )
        return started

    async def start_chains(
        self, *, tx_ctx: TxCtxT, transaction_hooks: TransactionHooks, items: Sequence[StartChainItem[Any]]
    ) -> list[StartedChain[Any, Any]]:
        """Start several chains in one round trip; results follow `items` order.

        Every item is checked (entry type, input) before anything is written.
        """
        _require_transaction(tx_ctx, transaction_hooks)
        if not items:
            return []
        ops = self._ops
        new_jobs: list[NewJob] = []
        for item in items:
            if not isinstance(item, StartChainItem):
                raise TypeError(f"start_chains items must be StartChainItem, got {type(item).__name__}")
            type_name = type_name_of(item.job_type)
            ops.registry.validate_entry(type_name)
            new_jobs.append(
                NewJob(
                    type_name=type_name,
                    input=item.input,
                    chain_type_name=type_name,
                    id=item.id,
                    deduplication=item.deduplication,
                    schedule=item.schedule,
                    blockers=tuple(item.blockers),
                )
            )
        results = await ops.create_jobs(tx_ctx, transaction_hooks, new_jobs)
        started: list[StartedChain[Any, Any]] = []
        for result in results:
            if result.deduplicated:
                # The root alone cannot tell how a multi-job chain stands: read the chain itself.
                chain = await ops.state.get_chain(result.job.chain_id, tx_ctx=tx_ctx)
                if chain is None:
                    raise ChainNotFoundError(chain_id=result.job.chain_id)
            else:
                chain = StateChain(root=result.job)
            started.append(ops.started_chain(chain, deduplicated=result.deduplicated))
        return started

    # --- reading ----------------------------------------------------------------------

    def _check_type(self, expected: JobType[Any, Any] | str | None, actual: str) -> None:
        if expected is None:
            return
        expected_name = type_name_of(expected)
        if expected_name != actual:
            raise JobTypeMismatchError(expected_type_name=expected_name, actual_type_name=actual)

    @overload
    async def get_chain(
        self, id: str, *, job_type: EntryJobType[InT, Any, ChainOutT], tx_ctx: TxCtxT | None = None
    ) -> Chain[InT, ChainOutT] | None: ...

    @overload
    async def get_chain(
        self, id: str, *, job_type: str | None = None, tx_ctx: TxCtxT | None = None
    ) -> Chain[Any, Any] | None: ...

    async def get_chain(
        self, id: str, *, job_type: EntryJobType[Any, Any, Any] | str | None = None, tx_ctx: TxCtxT | None = None
    ) -> Chain[Any, Any] | None:
        """Return the chain, or `None`. With `job_type`, raise `JobTypeMismatchError` if the chain has another type."""
        chain = await self._ops.state.get_chain(_check_id(id, "id"), tx_ctx=tx_ctx)
        if chain is None:
            return None
        self._check_type(job_type, chain.root.type_name)
        return self._ops.chain_view(chain)

    @overload
    async def get_job(
        self, id: str, *, job_type: JobType[InT, Any], tx_ctx: TxCtxT | None = None
    ) -> Job[InT] | None: ...

    @overload
    async def get_job(
        self, id: str, *, job_type: str | None = None, tx_ctx: TxCtxT | None = None
    ) -> Job[Any] | None: ...

    async def get_job(
        self, id: str, *, job_type: JobType[Any, Any] | str | None = None, tx_ctx: TxCtxT | None = None
    ) -> Job[Any] | None:
        """Return the job, or `None`. With `job_type`, raise `JobTypeMismatchError` if the job has another type."""
        job = await self._ops.state.get_job(_check_id(id, "id"), tx_ctx=tx_ctx)
        if job is None:
            return None
        self._check_type(job_type, job.type_name)
        return self._ops.job_view(job)

    async def list_chains(
        self,
        *,
        filter: ChainFilter | None = None,
        order_direction: OrderDirection = "desc",
        cursor: str | None = None,
        limit: int = _DEFAULT_LIMIT,
        tx_ctx: TxCtxT | None = None,
    ) -> Page[Chain[Any, Any]]:
        """List chains, newest first by default. Pass `next_cursor` back as `cursor` for the next page."""
        _check_order(order_direction)
        page = await self._ops.state.list_chains(
            filter=filter or ChainFilter(),
            order_direction=order_direction,
            cursor=cursor,
            limit=_check_limit(limit),
            tx_ctx=tx_ctx,
        )
        return Page([self._ops.chain_view(c) for c in page.items], page.next_cursor)

    async def list_jobs(
        self,
        *,
        filter: JobFilter | None = None,
        order_direction: OrderDirection = "desc",
        cursor: str | None = None,
        limit: int = _DEFAULT_LIMIT,
        tx_ctx: TxCtxT | None = None,
    ) -> Page[Job[Any]]:
        """List jobs of every chain, newest first by default."""
        _check_order(order_direction)
        page = await self._ops.state.list_jobs(
            filter=filter or JobFilter(),
            order_direction=order_direction,
            cursor=cursor,
            limit=_check_limit(limit),
            tx_ctx=tx_ctx,
        )
        return Page([self._ops.job_view(j) for j in page.items], page.next_cursor)

    async def list_chain_jobs(
        self,
        chain_id: str,
        *,
        job_type: EntryJobType[Any, Any, Any] | str | None = None,
        order_direction: OrderDirection = "asc",
        cursor: str | None = None,
        limit: int = _DEFAULT_LIMIT,
        tx_ctx: TxCtxT | None = None,
    ) -> Page[Job[Any]]:
        """List one chain's jobs in chain order. An unknown chain gives an empty page."""
        _check_order(order_direction)
        _check_id(chain_id, "chain_id")
        if job_type is not None:
            chain = await self._ops.state.get_chain(chain_id, tx_ctx=tx_ctx)
            if chain is not None:
                self._check_type(job_type, chain.root.type_name)
        page = await self._ops.state.list_chain_jobs(
            chain_id, order_direction=order_direction, cursor=cursor, limit=_check_limit(limit), tx_ctx=tx_ctx
        )
        return Page([self._ops.job_view(j) for j in page.items], page.next_cursor)

    async def get_job_blockers(
        self, job_id: str, *, job_type: JobType[Any, Any] | str | None = None, tx_ctx: TxCtxT | None = None
    ) -> list[Chain[Any, Any]]:
        """The chains a job waits (or waited) on, in slot order, with their current status."""
        _check_id(job_id, "job_id")
        if job_type is not None:
            job = await self._ops.state.get_job(job_id, tx_ctx=tx_ctx)
            if job is not None:
                self._check_type(job_type, job.type_name)
        chains = await self._ops.state.get_job_blockers(job_id, tx_ctx=tx_ctx)
        return [self._ops.chain_view(c) for c in chains]

    async def list_blocked_jobs(
        self,
        chain_id: str,
        *,
        job_type: EntryJobType[Any, Any, Any] | str | None = None,
        order_direction: OrderDirection = "desc",
        cursor: str | None = None,
        limit: int = _DEFAULT_LIMIT,
        tx_ctx: TxCtxT | None = None,
    ) -> Page[Job[Any]]:
        """The jobs that name this chain as a blocker, in any status (blocker links are kept after release)."""
        _check_order(order_direction)
        _check_id(chain_id, "chain_id")
        if job_type is not None:
            chain = await self._ops.state.get_chain(chain_id, tx_ctx=tx_ctx)
            if chain is not None:
                self._check_type(job_type, chain.root.type_name)
        page = await self._ops.state.list_blocked_jobs(
            chain_id, order_direction=order_direction, cursor=cursor, limit=_check_limit(limit), tx_ctx=tx_ctx
        )
        return Page([self._ops.job_view(j) for j in page.items], page.next_cursor)

    # --- awaiting ---------------------------------------------------------------------

    @overload
    async def await_chain(
        self,
        chain: ChainLike[InT, OutT],
        *,
        timeout_ms: float,
        poll_interval_ms: float = 15_000,
        job_type: EntryJobType[Any, Any, Any] | str | None = None,
        signal: AbortSignal[Any] | None = None,
    ) -> CompletedChain[InT, OutT]: ...

    @overload
    async def await_chain(
        self,
        chain: str,
        *,
        timeout_ms: float,
        poll_interval_ms: float = 15_000,
        job_type: EntryJobType[Any, Any, Any] | str | None = None,
        signal: AbortSignal[Any] | None = None,
    ) -> CompletedChain[Any, Any]: ...

    async def await_chain(
        self,
        chain: ChainLike[Any, Any] | str,
        *,
        timeout_ms: float,
        poll_interval_ms: float = 15_000,
        job_type: EntryJobType[Any, Any, Any] | str | None = None,
        signal: AbortSignal[Any] | None = None,
    ) -> CompletedChain[Any, Any]:
        """Wait until the chain completes and return it.

        Wakes on the notify adapter's chain-completed hint and re-reads the chain every
        `poll_interval_ms` in case a hint is lost (without a notify adapter, polling is the
        only source). Raises `WaitChainTimeoutError` after `timeout_ms` or when `signal`
        aborts, and `ChainNotFoundError` if the chain does not exist or is deleted meanwhile.
        Cancelling the awaiting task cancels the wait.
        """
        chain_id = _check_id(chain if isinstance(chain, str) else chain.id, "chain id")
        if timeout_ms <= 0 or poll_interval_ms <= 0:
            raise ValueError("timeout_ms and poll_interval_ms must be > 0")
        woken = asyncio.Event()
        unsubscribe = None
        with contextlib.suppress(Exception):
            # A failed subscription only costs latency: polling still finds the completion.
            unsubscribe = await self._ops.notify.listen_chain_completed(chain_id, woken.set)
        remove_abort = signal.add_listener(lambda _reason: woken.set()) if signal is not None else None
        try:
            async with asyncio.timeout(timeout_ms / 1000):
                checked_type = False
                while True:
                    if signal is not None and signal.aborted:
                        raise WaitChainTimeoutError(
                            f"Waiting for chain {chain_id!r} was aborted", chain_id=chain_id, timeout_ms=timeout_ms
                        ) from _as_exception(signal.reason)
                    woken.clear()
                    current = await self._ops.state.get_chain(chain_id)
                    if current is None:
                        raise ChainNotFoundError(chain_id=chain_id)
                    if not checked_type:
                        self._check_type(job_type, current.root.type_name)
                        checked_type = True
                    view = self._ops.chain_view(current)
                    if isinstance(view, CompletedChain):
                        return view
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(poll_interval_ms / 1000):
                            await woken.wait()
        except TimeoutError as error:
            if isinstance(error, WaitChainTimeoutError):
                raise
            raise WaitChainTimeoutError(chain_id=chain_id, timeout_ms=timeout_ms) from None
        finally:
            if remove_abort is not None:
                remove_abort()
            if unsubscribe is not None:
                with contextlib.suppress(Exception):
                    await unsubscribe()

    # --- deleting ---------------------------------------------------------------------

    async def delete_chains(
        self, *, tx_ctx: TxCtxT, transaction_hooks: TransactionHooks, ids: Sequence[str], cascade: bool = False
    ) -> list[Chain[Any, Any]]:
        """Delete whole chains (every job and blocker link), all or nothing.

        With `cascade`, the chains they wait on are deleted too, transitively. Raises
        `BlockerReferenceError` (deleting nothing) if a job outside the deletion waits on
        one of the chains. Unknown ids are skipped. A worker running a job of a deleted
        chain notices at its next lease renewal or at completion and drops the attempt.
        """
        _require_transaction(tx_ctx, transaction_hooks)
        ids = [_check_id(i, "chain id") for i in ids]
        if not ids:
            return []
        ops = self._ops
        result = await ops.state.delete_chains(ids, cascade=cascade, tx_ctx=tx_ctx)
        if result.blocker_references:
            raise BlockerReferenceError(references=result.blocker_references)
        obs = ops.observability
        for chain in result.deleted:
            root = chain.root
            obs.on_commit(transaction_hooks, partial(obs.chain_deleted, root))
        return [ops.chain_view(c) for c in result.deleted]

    async def delete_chain(
        self, *, tx_ctx: TxCtxT, transaction_hooks: TransactionHooks, id: str, cascade: bool = False
    ) -> Chain[Any, Any] | None:
        """Delete one chain; returns it as it was, or `None` if it did not exist. See `delete_chains`."""
        deleted = await self.delete_chains(
            tx_ctx=tx_ctx, transaction_hooks=transaction_hooks, ids=[id], cascade=cascade
        )
        return next((c for c in deleted if c.id == id), None)

    # --- triggering -------------------------------------------------------------------

    async def trigger_jobs(
        self, *, tx_ctx: TxCtxT, transaction_hooks: TransactionHooks, ids: Sequence[str]
    ) -> list[Job[Any]]:
        """Make pending jobs due now ("run now"), all or nothing.

        Raises `JobNotFoundError` for the first unknown id, else `JobNotTriggerableError` for
        the first job that is not pending; nothing is changed then.
        """
        _require_transaction(tx_ctx, transaction_hooks)
        ids = [_check_id(i, "job id") for i in ids]
        if not ids:
            return []
        ops = self._ops
        result = await ops.state.trigger_jobs(ids, tx_ctx=tx_ctx)
        if result.not_found:
            raise JobNotFoundError(job_id=result.not_found[0])
        if result.not_triggerable:
            job_id, status = result.not_triggerable[0]
            raise JobNotTriggerableError(job_id=job_id, status=status)
        obs = ops.observability
        for job in result.jobs:
            buffer_job_scheduled(transaction_hooks, ops.notify, job.type_name)
            obs.on_commit(transaction_hooks, partial(obs.job_triggered, job))
        return [ops.job_view(j) for j in result.jobs]

    async def trigger_job(self, *, tx_ctx: TxCtxT, transaction_hooks: TransactionHooks, id: str) -> Job[Any]:
        """Make one pending job due now. See `trigger_jobs`."""
        [job] = await self.trigger_jobs(tx_ctx=tx_ctx, transaction_hooks=transaction_hooks, ids=[id])
        return job

    # --- workerless completion --------------------------------------------------------

    async def complete_chain(
        self,
        *,
        tx_ctx: TxCtxT,
        transaction_hooks: TransactionHooks,
        job_type: EntryJobType[InT, Any, ChainOutT] | str,
        id: str,
        complete: Callable[[WorkerlessCompletion[TxCtxT]], Awaitable[object]],
    ) -> Chain[InT, ChainOutT]:
        """Complete (or advance) a chain from application code, without a worker.

        Locks the chain's current job and calls `complete(completion)`; inside, call
        `await completion.complete(completion.job, callback)` where the callback returns the
        output or a `continue_with(...)` result. Not calling it is a plain read. If a worker
        holds the job, it is told it lost ownership and its own completion will fail.

        Returns:
            The chain as it stands after the callback.
        """
        _require_transaction(tx_ctx, transaction_hooks)
        _check_id(id, "id")
        ops = self._ops
        chain = await ops.state.get_chain(id, tx_ctx=tx_ctx, lock="exclusive")
        if chain is None:
            raise ChainNotFoundError(chain_id=id)
        self._check_type(job_type, chain.root.type_name)
        current = chain.current
        completions: list[CompletionOutcome] = []

        async def complete_job(
            job: Job[Any], callback: Callable[[CompleteContext[TxCtxT]], Awaitable[object]]
        ) -> object:
            if job.id != current.id:
                raise AttemptUsageError("complete() takes the job given to the complete_chain callback")
            if completions:
                raise AttemptUsageError("complete can only be called once per complete_chain")
            if current.status == "completed":
                raise JobAlreadyCompletedError(job_id=current.id)
            outcome = await ops.complete_job(
                tx_ctx,
                transaction_hooks,
                current,
                callback,
                worker_id=None,
                origin_chain_trace_context=current.chain_trace_context,
                origin_trace_context=current.trace_context,
            )
            completions.append(outcome)
            self._buffer_workerless_events(transaction_hooks, current, outcome)
            return outcome.returned

        await complete(WorkerlessCompletion(job=ops.job_view(current), complete=complete_job))
        after = await ops.state.get_chain(id, tx_ctx=tx_ctx)
        if after is None:
            raise ChainNotFoundError(chain_id=id)
        return ops.chain_view(after)

    def _buffer_workerless_events(self, hooks: TransactionHooks, job: StateJob, outcome: CompletionOutcome) -> None:
        ops = self._ops
        obs = ops.observability
        continuation = outcome.continuation
        obs.on_commit(
            hooks,
            lambda: obs.complete_job_span(
                chain_trace_context=job.chain_trace_context,
                trace_context=job.trace_context,
                chain_id=job.chain_id,
                chain_type_name=job.chain_type_name,
                job_id=job.id,
                job_type_name=job.type_name,
                continued=continuation,
                chain_completed=outcome.chain_completed,
            ),
        )
        if job.status == "running":
            buffer_job_ownership_lost(hooks, ops.notify, job.id)


def _as_exception(reason: object) -> BaseException | None:
    if reason is None or isinstance(reason, BaseException):
        return reason
    return RuntimeError(str(reason))


async def create_client(
    *,
    state_adapter: StateAdapter[TxCtxT],
    job_types: JobTypes | Sequence[JobTypes],
    notify_adapter: NotifyAdapter | None = None,
    observability_adapter: ObservabilityAdapter | None = None,
    log: Log | None = None,
) -> Client[TxCtxT]:
    """Build a client over your adapters and job types.

    Args:
        state_adapter: Where jobs live.
        job_types: One registry, or several slices merged into one (`DuplicateJobTypeError`
            if two slices define the same name).
        notify_adapter: Optional low-latency wake-ups; without it, workers and
            `await_chain` poll.
        observability_adapter: Optional metrics and traces (for example queuert-otel).
        log: Optional structured log sink (for example `create_console_log()`).
    """
    return Client(
        state_adapter=state_adapter,
        job_types=job_types,
        notify_adapter=notify_adapter,
        observability_adapter=observability_adapter,
        log=log,
    )


__all__ = ("Client", "ContinuationJob", "StartChainItem", "WorkerlessCompletion", "create_client")
