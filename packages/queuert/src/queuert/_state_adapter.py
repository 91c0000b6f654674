"""The state adapter contract: how queuert reads and writes jobs in a store."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence
    from datetime import datetime

    from ._entities import (
        ChainFilter,
        DeduplicationOptions,
        JobFilter,
        JobStatus,
        JsonValue,
        OrderDirection,
        Page,
        ScheduleOptions,
    )
    from .errors import BlockerReference

TxCtxT = TypeVar("TxCtxT")
ResultT = TypeVar("ResultT")

LockMode = Literal["exclusive"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StateJob:
    """A job exactly as stored. Adapters return these; the client turns them into public views."""

    id: str
    type_name: str
    chain_id: str
    chain_type_name: str
    chain_index: int
    input: JsonValue
    output: JsonValue
    status: JobStatus
    created_at: datetime
    scheduled_at: datetime
    completed_at: datetime | None = None
    completed_by: str | None = None
    attempt: int = 0
    last_attempt_error: str | None = None
    last_attempt_at: datetime | None = None
    leased_by: str | None = None
    leased_until: datetime | None = None
    deduplication_key: str | None = None
    chain_trace_context: str | None = None
    trace_context: str | None = None


@dataclass(frozen=True, slots=True)
class StateChain:
    """A chain as stored: its first job and its newest job (`None` when the first job is the only one)."""

    root: StateJob
    last: StateJob | None = None

    @property
    def current(self) -> StateJob:
        """The job that decides the chain's status: the newest one."""
        return self.last if self.last is not None else self.root


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateJobParams:
    """One job for `StateAdapter.create_jobs`."""

    type_name: str
    chain_type_name: str
    chain_index: int
    input: JsonValue
    id: str | None = None
    """Caller-supplied id; the adapter generates one when `None`."""
    chain_id: str | None = None
    """`None` for a chain's first job (its id becomes the chain id)."""
    deduplication: DeduplicationOptions | None = None
    schedule: ScheduleOptions | None = None
    chain_trace_context: str | None = None
    trace_context: str | None = None


@dataclass(frozen=True, slots=True)
class CreatedJob:
    """Result of one `create_jobs` item."""

    job: StateJob
    deduplicated: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class JobBlockersParams:
    """Blocker chains to attach to one job, in slot order."""

    job_id: str
    blocked_by_chain_ids: Sequence[str]
    blocker_trace_contexts: Sequence[str | None] | None = None
    """`traceparent` of each blocker's "await chain" span, parallel to `blocked_by_chain_ids`."""


@dataclass(frozen=True, slots=True)
class AddedJobBlockers:
    """Result of one `add_jobs_blockers` item."""

    job: StateJob
    incomplete_blocker_chain_ids: tuple[str, ...]
    blocker_chain_trace_contexts: tuple[str | None, ...]
    """The `chain_trace_context` of each blocker chain, in input order."""


@dataclass(frozen=True, slots=True)
class UnblockedJobs:
    """Result of `unblock_jobs`."""

    unblocked_jobs: tuple[StateJob, ...]
    blocker_trace_contexts: tuple[str, ...]
    """Every non-null `trace_context` of the blocker rows that point at the completed chain."""


@dataclass(frozen=True, slots=True)
class AcquiredJob:
    """Result of `acquire_job`."""

    job: StateJob | None
    has_more: bool
    """Whether another job of the requested types is ready now."""


@dataclass(frozen=True, slots=True)
class ReapedJob:
    """Result of `reap_expired_job_lease`: the job after the reap and the lease it had."""

    job: StateJob
    expired_leased_by: str | None
    expired_leased_until: datetime | None


@dataclass(frozen=True, slots=True)
class DeletedChains:
    """Result of `delete_chains`: what was deleted, or the references that prevented it."""

    deleted: tuple[StateChain, ...] = ()
    blocker_references: tuple[BlockerReference, ...] = ()


@dataclass(frozen=True, slots=True)
class TriggeredJobs:
    """Result of `trigger_jobs`. Nothing was updated unless both `not_found` and `not_triggerable` are empty."""

    jobs: tuple[StateJob, ...] = ()
    not_found: tuple[str, ...] = ()
    not_triggerable: tuple[tuple[str, JobStatus], ...] = field(default=())


class ScopeHandle(abc.ABC, Generic[TxCtxT]):
    """An open transaction or savepoint, returned by `StateAdapter.open_transaction` / `open_savepoint`.

    The core ends it with exactly one call: `commit()` (commit the transaction, release the
    savepoint) or `rollback()`. Both must leave nothing open whatever happens, a
    cancellation included: a `commit()` that raises has rolled back.
    """

    __slots__ = ("tx_ctx",)

    def __init__(self, tx_ctx: TxCtxT) -> None:
        self.tx_ctx = tx_ctx
        """The transaction context to pass to the adapter's methods while the scope is open."""

    @abc.abstractmethod
    async def commit(self) -> None:
        """Commit the transaction (release the savepoint). If this raises, everything was rolled back."""

    @abc.abstractmethod
    async def rollback(self) -> None:
        """Roll the transaction (the savepoint) back."""


class StateAdapter(abc.ABC, Generic[TxCtxT]):
    """Stores jobs, chains and blockers, and implements every state transition.

    Rules every method follows:

    * `tx_ctx` given: run inside that transaction (the caller commits or rolls back).
      `tx_ctx` omitted: run on the adapter's own connection in its own short transaction,
      committed on return; never observe another transaction's uncommitted writes.
    * Batches are answered in input order; ids are plain strings.
    * Times come from the store's clock, timezone-aware UTC.
    * After `close()`, methods raise `AdapterClosedError`.

    The client and the worker guarantee the source status of a transition through row
    locks (`get_job(lock="exclusive")`) and lease checks; adapters do not re-check it where
    the contract says "any status".
    """

    @abc.abstractmethod
    async def with_transaction(self, fn: Callable[[TxCtxT], Awaitable[ResultT]]) -> ResultT:
        """Begin a transaction, run `fn(tx_ctx)`, commit when it returns, roll back (and re-raise) when it raises."""

    @abc.abstractmethod
    async def with_savepoint(self, tx_ctx: TxCtxT, fn: Callable[[TxCtxT], Awaitable[ResultT]]) -> ResultT:
        """Run `fn` inside a savepoint of `tx_ctx`.

        Releases the savepoint when `fn` returns; when it raises, rolls back to the savepoint
        and re-raises the original exception, leaving the outer transaction usable (even if a
        statement failed inside). Savepoints nest.
        """

    async def open_transaction(self) -> ScopeHandle[TxCtxT] | None:
        """Optional: begin a transaction that the caller ends later with the handle's `commit` / `rollback`.

        The worker keeps a job's transaction open while the handler runs. With only
        `with_transaction`, it does so by running that call in a task of its own whose
        callback waits for the decision; a handle spares that task and its hand-offs on
        every attempt. Return `None` (the default) when the driver cannot do this; the
        worker then uses `with_transaction`. Same isolation and error translation as
        `with_transaction`.
        """
        return None

    async def open_savepoint(self, tx_ctx: TxCtxT) -> ScopeHandle[TxCtxT] | None:
        """Optional: take a savepoint in `tx_ctx` that the caller releases or rolls back later with the handle.

        Like `open_transaction`, for `with_savepoint`; `None` (the default) when unsupported.
        A rollback leaves the outer transaction usable. A savepoint's handle may be left
        unended when its transaction commits right after (the commit releases it): the
        adapter must not need that call.
        """
        return None

    @abc.abstractmethod
    async def get_job(
        self, job_id: str, *, tx_ctx: TxCtxT | None = None, lock: LockMode | None = None
    ) -> StateJob | None:
        """Return the job or `None`.

        `lock="exclusive"` inside a transaction takes a write-intent row lock held until the
        transaction ends; other locked reads and writes of the row wait for it.
        """

    @abc.abstractmethod
    async def get_chain(
        self, chain_id: str, *, tx_ctx: TxCtxT | None = None, lock: LockMode | None = None
    ) -> StateChain | None:
        """Return the chain's first and newest job, or `None`. An exclusive lock covers the newest job."""

    @abc.abstractmethod
    async def create_jobs(self, jobs: Sequence[CreateJobParams], *, tx_ctx: TxCtxT | None = None) -> list[CreatedJob]:
        """Insert jobs, or return existing ones where a continuation or deduplication matches.

        Checks every caller-supplied id with the adapter's id validator first
        (`InvalidJobIdError`, nothing written) and rejects ids used twice in the batch
        (`DuplicateJobIdError`). Then, item by item:

        1. `chain_id` given and a non-first job already exists at `(chain_id, chain_index)`:
           return it with `deduplicated=True` (continuations are idempotent).
        2. `deduplication` given and a matching chain exists (same chain type and key; for
           scope `"incomplete"` the chain's newest job is not completed; within `window_ms`;
           not in `exclude_chain_ids`; newest match wins; earlier items of the same batch
           count): return its first job with `deduplicated=True`.
        3. Otherwise insert a `pending` job with `attempt=0`, the caller's id or a generated
           one (validated, `InvalidJobIdError(source="generator")`), `chain_id` = the given
           chain id or its own id, `scheduled_at = max(requested, now)` and the
           deduplication key. A caller id that already exists raises `DuplicateJobIdError`.

        Concurrent calls with the same chain type and deduplication key must not both insert.
        """

    @abc.abstractmethod
    async def add_jobs_blockers(
        self, job_blockers: Sequence[JobBlockersParams], *, tx_ctx: TxCtxT | None = None
    ) -> list[AddedJobBlockers]:
        """Attach blocker chains to jobs, and block the jobs whose blockers are not all complete.

        Locks the newest job of every referenced blocker chain before inserting, so a
        concurrent completion of that chain either sees the new blocker row or is seen as
        complete here. A `pending` job with at least one incomplete blocker becomes `blocked`.
        Raises `JobNotFoundError` for a missing job.
        """

    @abc.abstractmethod
    async def unblock_jobs(self, blocked_by_chain_id: str, *, tx_ctx: TxCtxT | None = None) -> UnblockedJobs:
        """Move to `pending` every `blocked` job that waits on this chain and whose blockers are now all complete.

        Their `scheduled_at` becomes `max(scheduled_at, now)`.
        """

    @abc.abstractmethod
    async def get_job_blockers(self, job_id: str, *, tx_ctx: TxCtxT | None = None) -> list[StateChain]:
        """Return the job's blocker chains in slot order; chains that no longer exist are skipped."""

    @abc.abstractmethod
    async def get_next_job_available_in_ms(
        self, type_names: Sequence[str], *, tx_ctx: TxCtxT | None = None
    ) -> int | None:
        """Milliseconds until the earliest `pending` job of these types is due (0 if one is due now), or `None`."""

    @abc.abstractmethod
    async def acquire_job(self, type_names: Sequence[str], *, tx_ctx: TxCtxT | None = None) -> AcquiredJob:
        """Take the due `pending` job of these types with the earliest `scheduled_at`: set `running`, `attempt += 1`.

        Never hands one job to two callers and never waits on a row another transaction
        holds (it skips it). Lease fields are left untouched.
        """

    @abc.abstractmethod
    async def renew_job_lease(
        self, job_id: str, *, worker_id: str, lease_duration_ms: float, tx_ctx: TxCtxT | None = None
    ) -> StateJob:
        """Set `leased_by=worker_id`, `leased_until=now+lease_duration_ms` and `status='running'`."""

    @abc.abstractmethod
    async def reschedule_job(
        self, job_id: str, *, schedule: ScheduleOptions, error: str | None, tx_ctx: TxCtxT | None = None
    ) -> StateJob:
        """Set `pending`, `scheduled_at=max(requested, now)`, `last_attempt_at=now`, the error; clear the lease."""

    @abc.abstractmethod
    async def complete_job(
        self, job_id: str, *, output: JsonValue, worker_id: str | None, tx_ctx: TxCtxT | None = None
    ) -> StateJob:
        """Set `completed`, `completed_at=now`, `completed_by`, `output`; clear the lease and the last error."""

    @abc.abstractmethod
    async def reap_expired_job_lease(
        self, type_names: Sequence[str], *, ignored_job_ids: Sequence[str] = (), tx_ctx: TxCtxT | None = None
    ) -> ReapedJob | None:
        """Return to `pending` the `running` job of these types whose lease expired longest ago (at most one).

        Skips `ignored_job_ids` and rows locked by others; clears the lease and changes nothing else.
        """

    @abc.abstractmethod
    async def delete_chains(
        self, chain_ids: Sequence[str], *, cascade: bool = False, tx_ctx: TxCtxT | None = None
    ) -> DeletedChains:
        """Delete whole chains with their blocker rows, or nothing.

        With `cascade`, first add the chains that the given chains' first jobs wait on,
        transitively. If a chain in the set blocks a job outside it, nothing is deleted and
        the references are returned. Missing ids are skipped.
        """

    @abc.abstractmethod
    async def list_chains(
        self,
        *,
        filter: ChainFilter,
        order_direction: OrderDirection = "desc",
        cursor: str | None = None,
        limit: int = 50,
        tx_ctx: TxCtxT | None = None,
    ) -> Page[StateChain]:
        """List chains by the first job's `(created_at, id)`. Cursors come from `queuert.adapters.encode_cursor`."""

    @abc.abstractmethod
    async def list_jobs(
        self,
        *,
        filter: JobFilter,
        order_direction: OrderDirection = "desc",
        cursor: str | None = None,
        limit: int = 50,
        tx_ctx: TxCtxT | None = None,
    ) -> Page[StateJob]:
        """List jobs by `(created_at, id)`."""

    @abc.abstractmethod
    async def list_chain_jobs(
        self,
        chain_id: str,
        *,
        order_direction: OrderDirection = "asc",
        cursor: str | None = None,
        limit: int = 50,
        tx_ctx: TxCtxT | None = None,
    ) -> Page[StateJob]:
        """List one chain's jobs by `chain_index`; an unknown chain gives an empty page."""

    @abc.abstractmethod
    async def list_blocked_jobs(
        self,
        chain_id: str,
        *,
        order_direction: OrderDirection = "desc",
        cursor: str | None = None,
        limit: int = 50,
        tx_ctx: TxCtxT | None = None,
    ) -> Page[StateJob]:
        """List the jobs that name this chain as a blocker, in any status, by `(created_at, id)`."""

    @abc.abstractmethod
    async def trigger_jobs(self, job_ids: Sequence[str], *, tx_ctx: TxCtxT | None = None) -> TriggeredJobs:
        """Set `scheduled_at=now` on pending jobs, all or nothing.

        Locks the rows in id order. Reports missing distinct ids and non-pending jobs instead
        of raising; updates only when there are neither. Results follow first-occurrence
        input order with duplicates collapsed.
        """

    @abc.abstractmethod
    async def close(self) -> None:
        """Release resources. Idempotent."""

    async def __aenter__(self) -> StateAdapter[TxCtxT]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
