"""A state adapter that keeps every job in memory, for tests, examples and single-process apps.

Transactions are fully serialized: each one holds the write side of an `AsyncRWLock` from
begin to end and records an undo journal, which rollback and savepoints replay backwards.
Calls without a transaction take the read side (reads) or the write side (writes, run as
their own one-statement transaction). Readers therefore never see uncommitted changes:
they wait until the transaction holding the lock has ended.

Nothing is durable; the data lives as long as the adapter object.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
from bisect import bisect_left, bisect_right, insort
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, TypeVar, cast

from .._adapter_support import (
    chain_created_at_cursor,
    check_caller_ids,
    check_order_direction,
    job_chain_index_cursor,
    job_created_at_cursor,
    trigger_refusals,
)
from .._cursor import (
    build_page,
    check_page_limit,
    decode_cursor,
)
from .._entities import (
    ChainFilter,
    DeduplicationOptions,
    JobFilter,
    JsonValue,
    OrderDirection,
    Page,
    ScheduleAt,
    ScheduleOptions,
)
from .._ids import generate_id as _default_generate_id
from .._rwlock import AsyncRWLock, RWLockHandle
from .._state_adapter import (
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
from ..errors import (
    AdapterClosedError,
    BlockerReference,
    ChainNotFoundError,
    DuplicateJobIdError,
    InvalidJobIdError,
    JobNotFoundError,
)

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparisonT

__all__ = ("InProcessStateAdapter", "InProcessTx", "create_in_process_state_adapter")

ResultT = TypeVar("ResultT")
KeyT = TypeVar("KeyT", tuple[datetime, str], tuple[int, str])
ItemT = TypeVar("ItemT")

_ADAPTER_NAME = "InProcessStateAdapter"

_Undo = Callable[[], None]
_Journal = list[_Undo]
_QueueKey = tuple[datetime, int, str]
"""(time, insertion sequence, job id): the order of the pending and lease queues."""


class InProcessTx:
    """Transaction context of the in-process state adapter.

    Obtained from `InProcessStateAdapter.with_transaction` and passed back as `tx_ctx`. It is
    valid only while that call runs; using it afterwards raises `RuntimeError`. It may be
    used from any task, one call at a time.
    """

    __slots__ = ("_active", "_adapter", "_journal", "_owner")

    def __init__(self, adapter: InProcessStateAdapter, owner: asyncio.Task[object] | None) -> None:
        self._adapter = adapter
        self._journal: _Journal = []
        self._active = True
        self._owner = owner

    @property
    def active(self) -> bool:
        """Whether the transaction is still open."""
        return self._active

    def __repr__(self) -> str:
        state = "active" if self._active else "ended"
        return f"<InProcessTx {state}, {len(self._journal)} undo entries>"


@dataclass(frozen=True, slots=True)
class _Row:
    job: StateJob
    seq: int
    """Insertion sequence: breaks ties between jobs scheduled for the same instant."""


@dataclass(frozen=True, slots=True)
class _Blocker:
    job_id: str
    chain_id: str
    index: int
    trace_context: str | None


@dataclass(slots=True)
class _ChainJobs:
    by_index: dict[int, str] = field(default_factory=dict)
    indices: list[int] = field(default_factory=list)
    """Sorted; the last one is the chain's newest job."""


class _KeyedQueues:
    """Per-type min-heaps of job keys with lazy invalidation.

    `_current` maps each queued job to its one valid key. Changing or removing a job's key
    only updates that map; stale heap entries are dropped when they surface at the top, and
    a heap is rebuilt when stale entries clearly outnumber live ones. Restoring a key (undo)
    simply pushes it again, so rollback never has to search a heap.
    """

    __slots__ = ("_current", "_heaps", "_live")

    def __init__(self) -> None:
        self._current: dict[str, _QueueKey] = {}
        self._heaps: dict[str, list[_QueueKey]] = {}
        self._live: dict[str, int] = {}

    def update(self, job_id: str, type_name: str, key: _QueueKey | None) -> None:
        old = self._current.get(job_id)
        if old == key:
            return
        if old is not None:
            del self._current[job_id]
            self._live[type_name] -= 1
        if key is None:
            return
        self._current[job_id] = key
        live = self._live[type_name] = self._live.get(type_name, 0) + 1
        heap = self._heaps.setdefault(type_name, [])
        heapq.heappush(heap, key)
        if len(heap) > 64 and len(heap) > 4 * live:
            valid = {k for k in heap if self._current.get(k[2]) == k}
            heap[:] = list(valid)
            heapq.heapify(heap)

    def _valid(self, key: _QueueKey) -> bool:
        return self._current.get(key[2]) == key

    def top(self, type_name: str) -> _QueueKey | None:
        heap = self._heaps.get(type_name)
        if not heap:
            return None
        while heap and not self._valid(heap[0]):
            heapq.heappop(heap)
        return heap[0] if heap else None

    def earliest(self, type_names: Iterable[str]) -> _QueueKey | None:
        best: _QueueKey | None = None
        for type_name in type_names:
            top = self.top(type_name)
            if top is not None and (best is None or top < best):
                best = top
        return best

    def first_due(self, type_names: Iterable[str], now: datetime, skip: Collection[str] = ()) -> _QueueKey | None:
        """The smallest key with time <= now across these types, passing over jobs in `skip`."""
        best: _QueueKey | None = None
        for type_name in type_names:
            if not skip:
                top = self.top(type_name)
                candidate = top if top is not None and top[0] <= now else None
            else:
                candidate = self._first_due_skipping(type_name, now, skip)
            if candidate is not None and (best is None or candidate < best):
                best = candidate
        return best

    def _first_due_skipping(self, type_name: str, now: datetime, skip: Collection[str]) -> _QueueKey | None:
        heap = self._heaps.get(type_name)
        if not heap:
            return None
        popped: list[_QueueKey] = []
        found: _QueueKey | None = None
        try:
            while heap:
                top = heap[0]
                if not self._valid(top):
                    heapq.heappop(heap)
                    continue
                if top[0] > now:
                    break
                if top[2] not in skip:
                    found = top
                    break
                popped.append(heapq.heappop(heap))
        finally:
            for key in popped:
                heapq.heappush(heap, key)
        return found


def _json_copy(value: JsonValue) -> JsonValue:
    # A JSON round trip gives the stored value the same shape a database adapter would hand
    # back (tuples become lists, non-JSON values fail now rather than in production) and
    # detaches it from the caller's object, which the caller may go on mutating.
    return cast("JsonValue", json.loads(json.dumps(value, allow_nan=False)))


def _scheduled_at(schedule: ScheduleOptions | None, now: datetime) -> datetime:
    if schedule is None:
        return now
    if isinstance(schedule, ScheduleAt):
        requested = schedule.at.astimezone(UTC)
    else:
        requested = now + timedelta(milliseconds=schedule.after_ms)
    return max(requested, now)


def _scan(
    keys: Sequence[KeyT],
    after: KeyT | None,
    descending: bool,
    limit: int,
    resolve: Callable[[KeyT], ItemT | None],
) -> list[ItemT]:
    """Walk sorted `keys` strictly after the cursor key, collecting up to `limit + 1` resolved items."""
    indices: Iterable[int]
    if descending:
        end = bisect_left(keys, after) if after is not None else len(keys)
        indices = range(end - 1, -1, -1)
    else:
        start = bisect_right(keys, after) if after is not None else 0
        indices = range(start, len(keys))
    found: list[ItemT] = []
    for i in indices:
        item = resolve(keys[i])
        if item is not None:
            found.append(item)
            if len(found) > limit:
                break
    return found


class InProcessStateAdapter(StateAdapter[InProcessTx]):
    """Keeps jobs, chains and blockers in memory. Build it with `create_in_process_state_adapter`.

    Suitable for tests, examples and single-process apps that need no durability. Every
    transaction holds an exclusive lock for its whole duration, so transactions run one at
    a time (like SQLite); calls without `tx_ctx` wait for the running transaction to end.
    Consequently, calling this adapter *without* `tx_ctx` from inside one of its own
    transactions cannot work; it raises `RuntimeError` instead of waiting forever.

    Differences from the SQL adapters: a blocker chain that does not exist simply counts as
    incomplete (the SQL adapters reject it through a foreign key), and the clock is the
    process clock.
    """

    def __init__(
        self,
        *,
        generate_id: Callable[[], str] = _default_generate_id,
        validate_id: Callable[[str], bool] | None = None,
    ) -> None:
        self._generate_id = generate_id
        self._validate_id = validate_id
        self._lock = AsyncRWLock()
        self._closed = False
        self._active_tx: InProcessTx | None = None
        self._seq = itertools.count()

        self._rows: dict[str, _Row] = {}
        self._chains: dict[str, _ChainJobs] = {}
        self._jobs_by_created: list[tuple[datetime, str]] = []
        self._roots_by_created: list[tuple[datetime, str]] = []
        self._dedup: dict[tuple[str, str], list[_QueueKey]] = {}
        """(chain type, key) -> root keys sorted by (created_at, seq)."""
        self._pending = _KeyedQueues()
        """Pending jobs by (scheduled_at, seq)."""
        self._leases = _KeyedQueues()
        """Running jobs with a lease, by (leased_until, seq)."""
        self._blockers_of: dict[str, list[_Blocker]] = {}
        """job id -> its blocker rows, by index."""
        self._dependents_of: dict[str, dict[str, _Blocker]] = {}
        """blocker chain id -> job id -> blocker row."""

    # --- plumbing ---------------------------------------------------------------------

    @staticmethod
    def _now() -> datetime:
        return datetime.now(UTC)

    def _check_open(self) -> None:
        if self._closed:
            raise AdapterClosedError(adapter=_ADAPTER_NAME)

    def _check_tx(self, tx_ctx: InProcessTx) -> InProcessTx:
        if not isinstance(tx_ctx, InProcessTx):
            raise TypeError(f"tx_ctx must be an InProcessTx from this adapter's with_transaction, got {tx_ctx!r}")
        if tx_ctx._adapter is not self:
            raise ValueError("tx_ctx belongs to another InProcessStateAdapter")
        if not tx_ctx._active:
            raise RuntimeError(
                "The in-process transaction behind this tx_ctx has already ended "
                "(committed or rolled back); start a new one with with_transaction"
            )
        return tx_ctx

    def _check_not_inside_own_tx(self) -> None:
        active = self._active_tx
        if active is not None and active._owner is not None and active._owner is asyncio.current_task():
            raise RuntimeError(
                "Called InProcessStateAdapter without tx_ctx (or with_transaction again) from inside one of its "
                "own transactions: this would wait for the transaction forever. Pass tx_ctx, or use with_savepoint."
            )

    @staticmethod
    def _undo_to(journal: _Journal, mark: int) -> None:
        while len(journal) > mark:
            journal.pop()()

    async def _read(self, tx_ctx: InProcessTx | None, op: Callable[[], ResultT]) -> ResultT:
        self._check_open()
        if tx_ctx is not None:
            self._check_tx(tx_ctx)
            return op()
        self._check_not_inside_own_tx()
        async with self._lock.read():
            self._check_open()
            return op()

    async def _write(self, tx_ctx: InProcessTx | None, op: Callable[[_Journal], ResultT]) -> ResultT:
        self._check_open()
        if tx_ctx is not None:
            journal = self._check_tx(tx_ctx)._journal
            return self._run_statement(journal, op)
        self._check_not_inside_own_tx()
        async with self._lock.write():
            self._check_open()
            return self._run_statement([], op)

    def _run_statement(self, journal: _Journal, op: Callable[[_Journal], ResultT]) -> ResultT:
        # Every call is atomic on its own, like one SQL statement: a failure half-way through
        # a batch undoes what that call already did and leaves the transaction usable.
        mark = len(journal)
        try:
            return op(journal)
        except BaseException:
            self._undo_to(journal, mark)
            raise

    # --- primitive writes (journaled) -------------------------------------------------

    def _put(self, journal: _Journal, job_id: str, row: _Row | None) -> None:
        journal.append(partial(self._set_row, job_id, self._rows.get(job_id)))
        self._set_row(job_id, row)

    def _update(self, journal: _Journal, job: StateJob) -> StateJob:
        self._put(journal, job.id, _Row(job, self._rows[job.id].seq))
        return job

    def _add_blocker(self, journal: _Journal, blocker: _Blocker) -> None:
        self._link_blocker(blocker)
        journal.append(partial(self._unlink_blocker, blocker))

    def _remove_blocker(self, journal: _Journal, blocker: _Blocker) -> None:
        self._unlink_blocker(blocker)
        journal.append(partial(self._link_blocker, blocker))

    # --- index maintenance (not journaled; used by writes and by undo) -----------------

    def _set_row(self, job_id: str, new: _Row | None) -> None:
        old = self._rows.get(job_id)
        if new is None:
            if old is None:
                return
            del self._rows[job_id]
            self._unindex(old)
        else:
            self._rows[job_id] = new
            if old is None:
                self._index(new)
        base = new if new is not None else old
        if base is None:
            return
        type_name, seq = base.job.type_name, base.seq
        job = new.job if new is not None else None
        pending_key = (job.scheduled_at, seq, job_id) if job is not None and job.status == "pending" else None
        self._pending.update(job_id, type_name, pending_key)
        lease_key = (
            (job.leased_until, seq, job_id)
            if job is not None and job.status == "running" and job.leased_until is not None
            else None
        )
        self._leases.update(job_id, type_name, lease_key)

    def _index(self, row: _Row) -> None:
        job = row.job
        chain = self._chains.setdefault(job.chain_id, _ChainJobs())
        chain.by_index[job.chain_index] = job.id
        insort(chain.indices, job.chain_index)
        insort(self._jobs_by_created, (job.created_at, job.id))
        if job.id == job.chain_id:
            insort(self._roots_by_created, (job.created_at, job.id))
            if job.deduplication_key is not None:
                insort(
                    self._dedup.setdefault((job.chain_type_name, job.deduplication_key), []),
                    (job.created_at, row.seq, job.id),
                )

    def _unindex(self, row: _Row) -> None:
        job = row.job
        chain = self._chains[job.chain_id]
        del chain.by_index[job.chain_index]
        chain.indices.pop(bisect_left(chain.indices, job.chain_index))
        if not chain.indices:
            del self._chains[job.chain_id]
        _remove_sorted(self._jobs_by_created, (job.created_at, job.id))
        if job.id == job.chain_id:
            _remove_sorted(self._roots_by_created, (job.created_at, job.id))
            if job.deduplication_key is not None:
                dedup_key = (job.chain_type_name, job.deduplication_key)
                roots = self._dedup[dedup_key]
                _remove_sorted(roots, (job.created_at, row.seq, job.id))
                if not roots:
                    del self._dedup[dedup_key]

    def _link_blocker(self, blocker: _Blocker) -> None:
        insort(self._blockers_of.setdefault(blocker.job_id, []), blocker, key=lambda b: b.index)
        self._dependents_of.setdefault(blocker.chain_id, {})[blocker.job_id] = blocker

    def _unlink_blocker(self, blocker: _Blocker) -> None:
        rows = self._blockers_of[blocker.job_id]
        rows.remove(blocker)
        if not rows:
            del self._blockers_of[blocker.job_id]
        dependents = self._dependents_of[blocker.chain_id]
        del dependents[blocker.job_id]
        if not dependents:
            del self._dependents_of[blocker.chain_id]

    # --- reads (synchronous helpers) --------------------------------------------------

    def _job(self, job_id: str) -> StateJob | None:
        row = self._rows.get(job_id)
        return row.job if row is not None else None

    def _require_job(self, job_id: str) -> StateJob:
        row = self._rows.get(job_id)
        if row is None:
            raise JobNotFoundError(job_id=job_id)
        return row.job

    def _chain_last(self, chain_id: str) -> StateJob | None:
        chain = self._chains.get(chain_id)
        if chain is None:
            return None
        return self._rows[chain.by_index[chain.indices[-1]]].job

    def _chain_completed(self, chain_id: str) -> bool:
        # A chain that does not exist counts as incomplete, so its dependents stay blocked.
        last = self._chain_last(chain_id)
        return last is not None and last.status == "completed"

    def _chain(self, chain_id: str) -> StateChain | None:
        root = self._job(chain_id)
        if root is None or root.chain_id != chain_id:
            return None
        last = self._chain_last(chain_id)
        return StateChain(root, None if last is None or last.id == root.id else last)

    def _job_at(self, chain_id: str, chain_index: int) -> StateJob | None:
        chain = self._chains.get(chain_id)
        if chain is None:
            return None
        job_id = chain.by_index.get(chain_index)
        return self._rows[job_id].job if job_id is not None else None

    def _find_duplicate(self, chain_type_name: str, options: DeduplicationOptions, now: datetime) -> StateJob | None:
        roots = self._dedup.get((chain_type_name, options.key))
        if not roots:
            return None
        cutoff = now - timedelta(milliseconds=options.window_ms) if options.window_ms is not None else None
        excluded = set(options.exclude_chain_ids)
        for created_at, _seq, root_id in reversed(roots):  # newest first
            if cutoff is not None and created_at < cutoff:
                break
            if root_id in excluded:
                continue
            if options.scope == "incomplete" and self._chain_completed(root_id):
                continue
            return self._rows[root_id].job
        return None

    # --- transactions -----------------------------------------------------------------

    async def with_transaction(self, fn: Callable[[InProcessTx], Awaitable[ResultT]]) -> ResultT:
        """Run `fn(tx_ctx)` holding the adapter's write lock; commit on return, undo everything on exception.

        Transactions never overlap: a second one waits until the first has ended. Calling
        `with_transaction` again from inside `fn` (same task) raises `RuntimeError`; use
        `with_savepoint` to nest.

        Raises:
            AdapterClosedError: The adapter is closed.
        """
        self._check_open()
        self._check_not_inside_own_tx()
        async with self._lock.write():
            self._check_open()
            tx = InProcessTx(self, asyncio.current_task())
            self._active_tx = tx
            try:
                result = await fn(tx)
            except BaseException:
                self._undo_to(tx._journal, 0)
                raise
            finally:
                tx._active = False
                tx._journal = []
                self._active_tx = None
            return result

    async def with_savepoint(self, tx_ctx: InProcessTx, fn: Callable[[InProcessTx], Awaitable[ResultT]]) -> ResultT:
        """Run `fn(tx_ctx)`; if it raises, undo what it did and re-raise the same exception. Savepoints nest.

        Raises:
            AdapterClosedError: The adapter is closed.
            RuntimeError: `tx_ctx` belongs to a transaction that has ended.
        """
        self._check_open()
        tx = self._check_tx(tx_ctx)
        mark = len(tx._journal)
        try:
            return await fn(tx)
        except BaseException:
            if tx._active:
                self._undo_to(tx._journal, mark)
            raise

    async def open_transaction(self) -> ScopeHandle[InProcessTx]:
        """Begin a transaction (taking the write lock) that the handle commits or undoes later.

        Raises:
            AdapterClosedError: The adapter is closed.
        """
        self._check_open()
        self._check_not_inside_own_tx()
        lock = await self._lock.acquire_write()
        try:
            self._check_open()
        except BaseException:
            lock.release()
            raise
        tx = InProcessTx(self, asyncio.current_task())
        self._active_tx = tx
        return _InProcessScope(self, tx, mark=None, lock=lock)

    async def open_savepoint(self, tx_ctx: InProcessTx) -> ScopeHandle[InProcessTx]:
        """Mark `tx_ctx`'s journal; the handle's rollback undoes what was done since.

        Raises:
            AdapterClosedError: The adapter is closed.
            RuntimeError: `tx_ctx` belongs to a transaction that has ended.
        """
        self._check_open()
        tx = self._check_tx(tx_ctx)
        return _InProcessScope(self, tx, mark=len(tx._journal), lock=None)

    # --- single reads -----------------------------------------------------------------

    async def get_job(
        self, job_id: str, *, tx_ctx: InProcessTx | None = None, lock: LockMode | None = None
    ) -> StateJob | None:
        """Return the job or `None`.

        `lock` needs no action here: a transaction already excludes every other one.
        """
        return await self._read(tx_ctx, lambda: self._job(job_id))

    async def get_chain(
        self, chain_id: str, *, tx_ctx: InProcessTx | None = None, lock: LockMode | None = None
    ) -> StateChain | None:
        """Return `(first job, newest job or None)` of the chain, or `None` if `chain_id` is not a chain's id."""
        return await self._read(tx_ctx, lambda: self._chain(chain_id))

    async def get_job_blockers(self, job_id: str, *, tx_ctx: InProcessTx | None = None) -> list[StateChain]:
        """Return the job's blocker chains in slot order, skipping chains that no longer exist."""

        def op() -> list[StateChain]:
            chains = (self._chain(b.chain_id) for b in self._blockers_of.get(job_id, ()))
            return [c for c in chains if c is not None]

        return await self._read(tx_ctx, op)

    async def get_next_job_available_in_ms(
        self, type_names: Sequence[str], *, tx_ctx: InProcessTx | None = None
    ) -> int | None:
        """Milliseconds (rounded up, at least 0) until the earliest pending job of these types is due, or `None`."""

        def op() -> int | None:
            earliest = self._pending.earliest(set(type_names))
            if earliest is None:
                return None
            micros = (earliest[0] - self._now()) // timedelta(microseconds=1)
            return max(0, -(-micros // 1000))

        return await self._read(tx_ctx, op)

    # --- creation and blockers --------------------------------------------------------

    async def create_jobs(
        self, jobs: Sequence[CreateJobParams], *, tx_ctx: InProcessTx | None = None
    ) -> list[CreatedJob]:
        """Insert jobs, or return the existing job where a continuation or deduplication matches.

        See `StateAdapter.create_jobs`. Deduplication scope `"incomplete"` looks at the chain's
        newest job. A continuation whose chain does not exist raises `ChainNotFoundError`.

        Raises:
            InvalidJobIdError: A caller-supplied or generated id fails `validate_id`.
            DuplicateJobIdError: A caller-supplied id is used twice in the batch or already exists.
            ChainNotFoundError: A continuation names a chain that does not exist.
        """
        self._check_open()
        if not jobs:
            return []
        check_caller_ids(jobs, self._validate_id)
        return await self._write(tx_ctx, lambda journal: self._create_jobs(journal, jobs))

    def _create_jobs(self, journal: _Journal, jobs: Sequence[CreateJobParams]) -> list[CreatedJob]:
        now = self._now()
        results: list[CreatedJob] = []
        for params in jobs:
            existing: StateJob | None = None
            if params.chain_id is not None:
                existing = self._job_at(params.chain_id, params.chain_index)
            if existing is None and params.deduplication is not None:
                existing = self._find_duplicate(params.chain_type_name, params.deduplication, now)
            if existing is not None:
                results.append(CreatedJob(existing, True))
                continue
            results.append(CreatedJob(self._insert_job(journal, params, now), False))
        return results

    def _insert_job(self, journal: _Journal, params: CreateJobParams, now: datetime) -> StateJob:
        job_id = params.id
        if job_id is None:
            job_id = self._generate_id()
            if self._validate_id is not None and not self._validate_id(job_id):
                raise InvalidJobIdError(id=job_id, source="generator")
        if job_id in self._rows:
            raise DuplicateJobIdError(id=job_id)
        chain_id = params.chain_id if params.chain_id is not None else job_id
        if chain_id != job_id and self._chain(chain_id) is None:
            raise ChainNotFoundError(
                f"Cannot add job {job_id!r} to chain {chain_id!r}: the chain does not exist", chain_id=chain_id
            )
        job = StateJob(
            id=job_id,
            type_name=params.type_name,
            chain_id=chain_id,
            chain_type_name=params.chain_type_name,
            chain_index=params.chain_index,
            input=_json_copy(params.input),
            output=None,
            status="pending",
            created_at=now,
            scheduled_at=_scheduled_at(params.schedule, now),
            deduplication_key=params.deduplication.key if params.deduplication is not None else None,
            chain_trace_context=params.chain_trace_context,
            trace_context=params.trace_context,
        )
        self._put(journal, job_id, _Row(job, next(self._seq)))
        return job

    async def add_jobs_blockers(
        self, job_blockers: Sequence[JobBlockersParams], *, tx_ctx: InProcessTx | None = None
    ) -> list[AddedJobBlockers]:
        """Attach blocker chains to jobs and block the pending jobs whose blockers are not all complete.

        A blocker chain that does not exist counts as incomplete.

        Raises:
            JobNotFoundError: A job does not exist (nothing is written).
            ValueError: A chain is named twice for one job, or `blocker_trace_contexts` has the wrong length.
        """
        if not job_blockers:
            self._check_open()
            return []
        return await self._write(tx_ctx, lambda journal: self._add_jobs_blockers(journal, job_blockers))

    def _add_jobs_blockers(
        self, journal: _Journal, job_blockers: Sequence[JobBlockersParams]
    ) -> list[AddedJobBlockers]:
        for params in job_blockers:
            self._require_job(params.job_id)
            contexts = params.blocker_trace_contexts
            if contexts is not None and len(contexts) != len(params.blocked_by_chain_ids):
                raise ValueError(
                    f"blocker_trace_contexts has {len(contexts)} entries for "
                    f"{len(params.blocked_by_chain_ids)} blocker chains (job {params.job_id!r})"
                )
        partial_results: list[tuple[str, tuple[str, ...], tuple[str | None, ...]]] = []
        for params in job_blockers:
            existing = {b.chain_id for b in self._blockers_of.get(params.job_id, ())}
            contexts = params.blocker_trace_contexts
            for index, chain_id in enumerate(params.blocked_by_chain_ids):
                if chain_id in existing:
                    raise ValueError(f"Job {params.job_id!r} already lists chain {chain_id!r} as a blocker")
                existing.add(chain_id)
                trace_context = contexts[index] if contexts is not None else None
                self._add_blocker(journal, _Blocker(params.job_id, chain_id, index, trace_context))
            incomplete = tuple(c for c in params.blocked_by_chain_ids if not self._chain_completed(c))
            job = self._require_job(params.job_id)
            if incomplete and job.status == "pending":
                self._update(journal, replace(job, status="blocked"))
            chain_contexts = tuple(
                root.chain_trace_context if (root := self._job(c)) is not None else None
                for c in params.blocked_by_chain_ids
            )
            partial_results.append((params.job_id, incomplete, chain_contexts))
        return [
            AddedJobBlockers(self._require_job(job_id), incomplete, contexts)
            for job_id, incomplete, contexts in partial_results
        ]

    async def unblock_jobs(self, blocked_by_chain_id: str, *, tx_ctx: InProcessTx | None = None) -> UnblockedJobs:
        """Move to `pending` the blocked dependents of this chain whose blocker chains are now all complete.

        Their `scheduled_at` becomes `max(scheduled_at, now)`. Also returns every non-null
        trace context of the blocker rows that point at this chain.
        """
        return await self._write(tx_ctx, lambda journal: self._unblock_jobs(journal, blocked_by_chain_id))

    def _unblock_jobs(self, journal: _Journal, chain_id: str) -> UnblockedJobs:
        dependents = self._dependents_of.get(chain_id, {})
        trace_contexts = tuple(b.trace_context for b in dependents.values() if b.trace_context is not None)
        now = self._now()
        unblocked: list[StateJob] = []
        for job_id in list(dependents):
            job = self._rows[job_id].job
            if job.status != "blocked":
                continue
            if all(self._chain_completed(b.chain_id) for b in self._blockers_of[job_id]):
                unblocked.append(
                    self._update(journal, replace(job, status="pending", scheduled_at=max(job.scheduled_at, now)))
                )
        return UnblockedJobs(tuple(unblocked), trace_contexts)

    # --- the worker's transitions -----------------------------------------------------

    async def acquire_job(self, type_names: Sequence[str], *, tx_ctx: InProcessTx | None = None) -> AcquiredJob:
        """Take the due pending job of these types with the earliest `scheduled_at` (then creation order).

        Sets it `running` and increments `attempt`; lease fields are untouched. `has_more`
        tells whether another job of these types is due now. O(log n) in the pending jobs.
        """
        return await self._write(tx_ctx, lambda journal: self._acquire_job(journal, set(type_names)))

    def _acquire_job(self, journal: _Journal, type_names: set[str]) -> AcquiredJob:
        now = self._now()
        key = self._pending.first_due(type_names, now)
        if key is None:
            return AcquiredJob(None, False)
        job = self._rows[key[2]].job
        acquired = self._update(journal, replace(job, status="running", attempt=job.attempt + 1))
        return AcquiredJob(acquired, self._pending.first_due(type_names, now) is not None)

    async def renew_job_lease(
        self, job_id: str, *, worker_id: str, lease_duration_ms: float, tx_ctx: InProcessTx | None = None
    ) -> StateJob:
        """Set `leased_by=worker_id`, `leased_until=now+lease_duration_ms` and `status='running'`.

        Raises:
            JobNotFoundError: The job does not exist.
        """

        def op(journal: _Journal) -> StateJob:
            job = self._require_job(job_id)
            leased_until = self._now() + timedelta(milliseconds=lease_duration_ms)
            return self._update(journal, replace(job, status="running", leased_by=worker_id, leased_until=leased_until))

        return await self._write(tx_ctx, op)

    async def reschedule_job(
        self, job_id: str, *, schedule: ScheduleOptions, error: str | None, tx_ctx: InProcessTx | None = None
    ) -> StateJob:
        """Set `pending`, `scheduled_at=max(requested, now)`, `last_attempt_at=now`, the error; clear the lease.

        Raises:
            JobNotFoundError: The job does not exist.
        """

        def op(journal: _Journal) -> StateJob:
            job = self._require_job(job_id)
            now = self._now()
            return self._update(
                journal,
                replace(
                    job,
                    status="pending",
                    scheduled_at=_scheduled_at(schedule, now),
                    last_attempt_at=now,
                    last_attempt_error=error,
                    leased_by=None,
                    leased_until=None,
                ),
            )

        return await self._write(tx_ctx, op)

    async def complete_job(
        self, job_id: str, *, output: JsonValue, worker_id: str | None, tx_ctx: InProcessTx | None = None
    ) -> StateJob:
        """Set `completed`, `completed_at=now`, `completed_by`, `output`; clear the lease and the last error.

        Raises:
            JobNotFoundError: The job does not exist.
        """
        self._check_open()
        stored_output = _json_copy(output)

        def op(journal: _Journal) -> StateJob:
            job = self._require_job(job_id)
            return self._update(
                journal,
                replace(
                    job,
                    status="completed",
                    completed_at=self._now(),
                    completed_by=worker_id,
                    output=stored_output,
                    leased_by=None,
                    leased_until=None,
                    last_attempt_error=None,
                ),
            )

        return await self._write(tx_ctx, op)

    async def reap_expired_job_lease(
        self, type_names: Sequence[str], *, ignored_job_ids: Sequence[str] = (), tx_ctx: InProcessTx | None = None
    ) -> ReapedJob | None:
        """Return to `pending` the running job of these types whose lease expired first; at most one.

        Skips `ignored_job_ids`; clears the lease and changes nothing else. The result carries
        the lease the job had.
        """
        ignored = frozenset(ignored_job_ids)

        def op(journal: _Journal) -> ReapedJob | None:
            key = self._leases.first_due(set(type_names), self._now(), ignored)
            if key is None:
                return None
            job = self._rows[key[2]].job
            reaped = self._update(journal, replace(job, status="pending", leased_by=None, leased_until=None))
            return ReapedJob(reaped, job.leased_by, job.leased_until)

        return await self._write(tx_ctx, op)

    # --- admin operations -------------------------------------------------------------

    async def delete_chains(
        self, chain_ids: Sequence[str], *, cascade: bool = False, tx_ctx: InProcessTx | None = None
    ) -> DeletedChains:
        """Delete whole chains with their blocker rows, or nothing if a chain blocks a job outside the set.

        With `cascade`, first add the chains that the given chains' first jobs wait on,
        transitively (each once). Missing ids are skipped.
        """
        if not chain_ids:
            self._check_open()
            return DeletedChains()
        return await self._write(tx_ctx, lambda journal: self._delete_chains(journal, chain_ids, cascade))

    def _delete_chains(self, journal: _Journal, chain_ids: Sequence[str], cascade: bool) -> DeletedChains:
        wanted = dict.fromkeys(chain_ids)
        if cascade:
            # Breadth-first over blockers of each chain's first job (whose id is the chain id);
            # the dict keeps every chain once however many paths lead to it.
            queue = list(wanted)
            for chain_id in queue:
                for blocker in self._blockers_of.get(chain_id, ()):
                    if blocker.chain_id not in wanted:
                        wanted[blocker.chain_id] = None
                        queue.append(blocker.chain_id)
        targets = [(chain_id, chain) for chain_id in wanted if (chain := self._chain(chain_id)) is not None]
        if not targets:
            return DeletedChains()
        target_ids = {chain_id for chain_id, _ in targets}
        references = [
            BlockerReference(chain_id=chain_id, referenced_by_job_id=job_id)
            for chain_id, _ in targets
            for job_id in self._dependents_of.get(chain_id, {})
            if self._rows[job_id].job.chain_id not in target_ids
        ]
        if references:
            return DeletedChains(blocker_references=tuple(references))
        for chain_id, _ in targets:
            chain_jobs = self._chains[chain_id]
            for job_id in [chain_jobs.by_index[i] for i in chain_jobs.indices]:
                for blocker in list(self._blockers_of.get(job_id, ())):
                    self._remove_blocker(journal, blocker)
                self._put(journal, job_id, None)
        return DeletedChains(deleted=tuple(chain for _, chain in targets))

    async def trigger_jobs(self, job_ids: Sequence[str], *, tx_ctx: InProcessTx | None = None) -> TriggeredJobs:
        """Set `scheduled_at=now` on pending jobs, all or nothing; report missing and non-pending ids instead."""
        if not job_ids:
            self._check_open()
            return TriggeredJobs()
        return await self._write(tx_ctx, lambda journal: self._trigger_jobs(journal, job_ids))

    def _trigger_jobs(self, journal: _Journal, job_ids: Sequence[str]) -> TriggeredJobs:
        unique = list(dict.fromkeys(job_ids))
        jobs = {job_id: self._job(job_id) for job_id in unique}
        refusals = trigger_refusals(unique, {job_id: job.status for job_id, job in jobs.items() if job is not None})
        if refusals.not_found or refusals.not_triggerable:
            return refusals
        now = self._now()
        return TriggeredJobs(
            jobs=tuple(self._update(journal, replace(cast("StateJob", job), scheduled_at=now)) for job in jobs.values())
        )

    # --- listings ---------------------------------------------------------------------

    async def list_chains(
        self,
        *,
        filter: ChainFilter,
        order_direction: OrderDirection = "desc",
        cursor: str | None = None,
        limit: int = 50,
        tx_ctx: InProcessTx | None = None,
    ) -> Page[StateChain]:
        """List chains by their first job's `(created_at, id)`; the status filter applies to the newest job.

        Raises:
            InvalidCursorError: `cursor` is not a cursor of this listing.
        """
        descending = check_order_direction(order_direction)
        check_page_limit(limit)
        after = decode_cursor(cursor, "created_at").key if cursor is not None else None
        return await self._read(tx_ctx, lambda: self._list_chains(filter, descending, after, limit))

    def _list_chains(
        self, chain_filter: ChainFilter, descending: bool, after: tuple[datetime, str] | None, limit: int
    ) -> Page[StateChain]:
        type_names = set(chain_filter.type_name)
        statuses = set(chain_filter.status)
        keys: Sequence[tuple[datetime, str]] = self._roots_by_created
        candidates: set[str] | None = None
        if chain_filter.chain_id:
            candidates = set(chain_filter.chain_id)
        if chain_filter.job_id:
            containing = {job.chain_id for j in chain_filter.job_id if (job := self._job(j)) is not None}
            candidates = containing if candidates is None else candidates & containing
        if candidates is not None:
            keys = sorted((root.created_at, root.id) for c in candidates if (root := self._job(c)) is not None)

        def resolve(key: tuple[datetime, str]) -> StateChain | None:
            created_at, chain_id = key
            if chain_filter.from_ is not None and created_at < chain_filter.from_:
                return None
            if chain_filter.to is not None and created_at > chain_filter.to:
                return None
            if chain_filter.root_only and chain_id in self._dependents_of:
                return None
            chain = self._chain(chain_id)
            if chain is None:
                return None
            if type_names and chain.root.type_name not in type_names:
                return None
            if statuses and chain.current.status not in statuses:
                return None
            return chain

        return build_page(_scan(keys, after, descending, limit, resolve), limit, chain_created_at_cursor)

    async def list_jobs(
        self,
        *,
        filter: JobFilter,
        order_direction: OrderDirection = "desc",
        cursor: str | None = None,
        limit: int = 50,
        tx_ctx: InProcessTx | None = None,
    ) -> Page[StateJob]:
        """List jobs by `(created_at, id)`.

        Raises:
            InvalidCursorError: `cursor` is not a cursor of this listing.
        """
        descending = check_order_direction(order_direction)
        check_page_limit(limit)
        after = decode_cursor(cursor, "created_at").key if cursor is not None else None
        return await self._read(tx_ctx, lambda: self._list_jobs(filter, descending, after, limit))

    def _list_jobs(
        self, job_filter: JobFilter, descending: bool, after: tuple[datetime, str] | None, limit: int
    ) -> Page[StateJob]:
        type_names = set(job_filter.type_name)
        statuses = set(job_filter.status)
        chain_type_names = set(job_filter.chain_type_name)
        chain_ids = set(job_filter.chain_id)
        keys: Sequence[tuple[datetime, str]] = self._jobs_by_created
        candidates: set[str] | None = None
        if job_filter.job_id:
            candidates = set(job_filter.job_id)
        elif chain_ids:
            candidates = {j for c in chain_ids for j in self._chain_job_ids(c)}
        if candidates is not None:
            keys = sorted((job.created_at, job.id) for j in candidates if (job := self._job(j)) is not None)

        def resolve(key: tuple[datetime, str]) -> StateJob | None:
            job = self._rows[key[1]].job
            if type_names and job.type_name not in type_names:
                return None
            if statuses and job.status not in statuses:
                return None
            if chain_type_names and job.chain_type_name not in chain_type_names:
                return None
            if chain_ids and job.chain_id not in chain_ids:
                return None
            if job_filter.from_ is not None and job.created_at < job_filter.from_:
                return None
            if job_filter.to is not None and job.created_at > job_filter.to:
                return None
            return job

        return build_page(_scan(keys, after, descending, limit, resolve), limit, job_created_at_cursor)

    def _chain_job_ids(self, chain_id: str) -> Iterator[str]:
        chain = self._chains.get(chain_id)
        if chain is not None:
            yield from (chain.by_index[i] for i in chain.indices)

    async def list_chain_jobs(
        self,
        chain_id: str,
        *,
        order_direction: OrderDirection = "asc",
        cursor: str | None = None,
        limit: int = 50,
        tx_ctx: InProcessTx | None = None,
    ) -> Page[StateJob]:
        """List one chain's jobs by `(chain_index, id)`; an unknown chain gives an empty page.

        Raises:
            InvalidCursorError: `cursor` is not a chain-jobs cursor.
        """
        descending = check_order_direction(order_direction)
        check_page_limit(limit)
        after = decode_cursor(cursor, "chain_index").key if cursor is not None else None

        def op() -> Page[StateJob]:
            chain = self._chains.get(chain_id)
            if chain is None:
                return Page([], None)
            keys = [(i, chain.by_index[i]) for i in chain.indices]
            found = _scan(keys, after, descending, limit, lambda key: self._rows[key[1]].job)
            return build_page(found, limit, job_chain_index_cursor)

        return await self._read(tx_ctx, op)

    async def list_blocked_jobs(
        self,
        chain_id: str,
        *,
        order_direction: OrderDirection = "desc",
        cursor: str | None = None,
        limit: int = 50,
        tx_ctx: InProcessTx | None = None,
    ) -> Page[StateJob]:
        """List the jobs that name this chain as a blocker, in any status, by `(created_at, id)`.

        Raises:
            InvalidCursorError: `cursor` is not a cursor of this listing.
        """
        descending = check_order_direction(order_direction)
        check_page_limit(limit)
        after = decode_cursor(cursor, "created_at").key if cursor is not None else None

        def op() -> Page[StateJob]:
            jobs = [self._rows[j].job for j in self._dependents_of.get(chain_id, {})]
            keys = sorted((job.created_at, job.id) for job in jobs)
            found = _scan(keys, after, descending, limit, lambda key: self._rows[key[1]].job)
            return build_page(found, limit, job_created_at_cursor)

        return await self._read(tx_ctx, op)

    # --- lifecycle --------------------------------------------------------------------

    async def close(self) -> None:
        """Mark the adapter closed; every later call raises `AdapterClosedError`. Idempotent.

        The data is kept until the adapter object is garbage-collected, so a transaction that
        is still running can roll back cleanly.
        """
        self._closed = True


def _remove_sorted(items: list[SupportsRichComparisonT], item: SupportsRichComparisonT) -> None:
    index = bisect_left(items, item)
    if index < len(items) and items[index] == item:
        del items[index]


async def create_in_process_state_adapter(
    *,
    generate_id: Callable[[], str] = _default_generate_id,
    validate_id: Callable[[str], bool] | None = None,
) -> InProcessStateAdapter:
    """Create a state adapter that keeps everything in memory.

    Args:
        generate_id: Makes the id of each new job that has no caller-supplied id.
            Defaults to a random UUID string.
        validate_id: Optional predicate checked on generated and caller-supplied ids
            before anything is written; a rejected id raises `InvalidJobIdError`.
    """
    return InProcessStateAdapter(generate_id=generate_id, validate_id=validate_id)


class _InProcessScope(ScopeHandle[InProcessTx]):
    """A transaction (`lock` held, `mark` None) or a savepoint (`mark` set) of the in-process adapter."""

    __slots__ = ("_adapter", "_lock", "_mark")

    def __init__(
        self, adapter: InProcessStateAdapter, tx: InProcessTx, *, mark: int | None, lock: RWLockHandle | None
    ) -> None:
        super().__init__(tx)
        self._adapter = adapter
        self._mark = mark
        self._lock = lock

    async def commit(self) -> None:
        self._end(undo=False)

    async def rollback(self) -> None:
        self._end(undo=True)

    def _end(self, *, undo: bool) -> None:
        tx = self.tx_ctx
        if self._mark is not None:
            if undo and tx._active:
                self._adapter._undo_to(tx._journal, self._mark)
            return
        lock, self._lock = self._lock, None
        if lock is None:
            return
        try:
            if undo:
                self._adapter._undo_to(tx._journal, 0)
        finally:
            tx._active = False
            tx._journal = []
            self._adapter._active_tx = None
            lock.release()
