"""The SQLite state adapter: every queuert state operation as SQL over a `SqliteStateProvider`."""

from __future__ import annotations

import json
import sqlite3
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from queuert import (
    BlockerReference,
    ChainNotFoundError,
    DuplicateJobIdError,
    InvalidJobIdError,
    JobNotFoundError,
    Page,
    ScheduleAt,
)
from queuert.adapters import (
    AcquiredJob,
    AddedJobBlockers,
    ChainIndexCursor,
    CreatedAtCursor,
    CreatedJob,
    DeletedChains,
    ReapedJob,
    StateAdapter,
    StateChain,
    StateJob,
    TriggeredJobs,
    UnblockedJobs,
    build_page,
    chain_created_at_cursor,
    check_caller_ids,
    check_order_direction,
    check_page_limit,
    decode_cursor,
    encode_json,
    job_chain_index_cursor,
    job_created_at_cursor,
    run_migrations,
    trigger_refusals,
    validate_sql_identifier,
)
from queuert.adapters import generate_id as default_generate_id
from queuert.errors import AdapterClosedError, MigrationRequiredError, QueuertError

from ._errors import (
    IncompatibleSchemaError,
    MisconfiguredConnectionError,
    UnsupportedSqliteVersionError,
    translate_error,
)
from ._sql import (
    CHAIN_COLUMN_TYPES,
    JOB_COLUMN_TYPES,
    job_columns,
    last_job_columns,
    resolve_migrations,
    resolve_statements,
)
from ._values import (
    decode_chain,
    decode_job,
    format_time,
    format_time_ceil,
    parse_time,
    relative_time,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence
    from datetime import datetime

    from queuert import (
        ChainFilter,
        JobFilter,
        JobStatus,
        JsonValue,
        OrderDirection,
        ScheduleOptions,
    )
    from queuert.adapters import CreateJobParams, JobBlockersParams, LockMode, Migration, MigrationResult

    from ._provider import RuntimeType, SqliteStateProvider
    from ._sql import Statement

__all__ = ("SqliteStateAdapter", "check_sqlite_version", "create_sqlite_state_adapter")

TxCtxT = TypeVar("TxCtxT")
ResultT = TypeVar("ResultT")

_MIN_SQLITE = (3, 35, 0)
_ADAPTER_NAME = "SqliteStateAdapter"
_VACUUM_PAGES_PER_TRANSACTION = 500
# SQLite's extended result codes for the constraint failures create_jobs explains.
_SQLITE_CONSTRAINT_FOREIGNKEY = 787
_SQLITE_CONSTRAINT_PRIMARYKEY = 1555
_SQLITE_CONSTRAINT_UNIQUE = 2067


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _schedule_params(schedule: ScheduleOptions | None) -> tuple[str | None, str | None]:
    """The (absolute time, relative modifier) pair the SQL turns into `max(requested, now)`."""
    if schedule is None:
        return None, None
    if isinstance(schedule, ScheduleAt):
        return format_time(schedule.at), None
    return None, relative_time(schedule.after_ms)


class _Where:
    """A WHERE clause built one condition at a time, with its `?` parameters in order."""

    def __init__(self, *conditions: str) -> None:
        self.conditions = list(conditions)
        self.params: list[str | int | float | None] = []

    def add(self, condition: str, *params: str | int | float | None) -> None:
        self.conditions.append(condition)
        self.params.extend(params)

    def add_in(self, column: str, values: Sequence[str]) -> None:
        """`column IN values`, skipped when `values` is empty (no filter)."""
        if values:
            self.add(f"{column} IN (SELECT value FROM json_each(?))", _dumps(list(values)))

    def sql(self) -> str:
        return " AND ".join(self.conditions) if self.conditions else "1"


class SqliteStateAdapter(StateAdapter[TxCtxT], Generic[TxCtxT]):
    """Stores chains and jobs in an SQLite database. Build it with `create_sqlite_state_adapter`.

    Run `migrate_to_latest()` once before use: until the schema is there (and current), every
    operation raises `MigrationRequiredError`. The adapter checks the schema on its first
    operation and then trusts it.

    Semantics are those of `queuert.adapters.StateAdapter`, with SQLite's shape:

    * One writer per database file. In one process the provider serializes transactions;
      across processes SQLite's file lock does, with the busy timeout as the bounded wait
      (then `DatabaseLockedError`).
    * An operation called without `tx_ctx` that needs several statements runs them in a
      transaction of its own, so it is atomic too.
    * Times are the database clock with millisecond precision; two rows written in the same
      millisecond are ordered by id in listings.
    * `lock="exclusive"` inside a transaction is a no-op write that takes SQLite's write
      lock until the transaction ends.
    * Driver errors are translated once, here: a locked, read-only or foreign file, a missing
      schema or a duplicate id become queuert errors raised `from` the `sqlite3` error.
    """

    def __init__(
        self,
        *,
        state_provider: SqliteStateProvider[TxCtxT],
        table_prefix: str,
        id_type: str,
        generate_id: Callable[[], str],
        validate_id: Callable[[str], bool] | None,
        check_foreign_keys: bool,
        check_auto_vacuum: bool,
    ) -> None:
        self._provider = state_provider
        self._prefix = table_prefix
        self._generate_id = generate_id
        self._validate_id = validate_id
        self._check_foreign_keys = check_foreign_keys
        self._check_auto_vacuum = check_auto_vacuum
        self._statements = resolve_statements(prefix=table_prefix, id_type=id_type)
        self._migrations: tuple[Migration, ...] = resolve_migrations(prefix=table_prefix, id_type=id_type)
        self._job_table = f"{table_prefix}job"
        self._blocker_table = f"{table_prefix}job_blocker"
        self._schema_checked = False
        self._closed = False

    @property
    def state_provider(self) -> SqliteStateProvider[TxCtxT]:
        """The provider this adapter runs its statements through."""
        return self._provider

    @property
    def table_prefix(self) -> str:
        """The prefix of queuert's tables and indexes in this database."""
        return self._prefix

    # --- plumbing ---------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise AdapterClosedError(adapter=_ADAPTER_NAME)

    def _translated(self, exc: sqlite3.Error) -> QueuertError | None:
        return translate_error(exc, table_prefix=self._prefix)

    async def _run(
        self,
        tx_ctx: TxCtxT | None,
        statement: Statement,
        params: Sequence[str | int | float | None],
    ) -> list[Mapping[str, object]]:
        try:
            return await self._provider.execute_sql(
                tx_ctx=tx_ctx,
                sql=statement.sql,
                params=params,
                column_types=statement.column_types,
                read_only=statement.read_only,
                statement_id=statement.statement_id,
            )
        except sqlite3.Error as exc:
            translated = self._translated(exc)
            if translated is None:
                raise
            raise translated from exc

    async def _query(
        self, tx_ctx: TxCtxT | None, name: str, params: Sequence[str | int | float | None] = ()
    ) -> list[Mapping[str, object]]:
        if not self._schema_checked:
            await self._check_schema(tx_ctx)
        return await self._run(tx_ctx, self._statements[name], params)

    async def _query_dynamic(
        self,
        tx_ctx: TxCtxT | None,
        sql: str,
        params: Sequence[str | int | float | None],
        column_types: Mapping[str, RuntimeType],
    ) -> list[Mapping[str, object]]:
        if not self._schema_checked:
            await self._check_schema(tx_ctx)
        try:
            return await self._provider.execute_sql(
                tx_ctx=tx_ctx, sql=sql, params=params, column_types=column_types, read_only=True
            )
        except sqlite3.Error as exc:
            translated = self._translated(exc)
            if translated is None:
                raise
            raise translated from exc

    async def _in_transaction(self, tx_ctx: TxCtxT | None, fn: Callable[[TxCtxT], Awaitable[ResultT]]) -> ResultT:
        """Run a multi-statement operation in `tx_ctx`, or in a transaction of its own."""
        if tx_ctx is not None:
            return await fn(tx_ctx)
        return await self.with_transaction(fn)

    async def _check_schema(self, tx_ctx: TxCtxT | None) -> None:
        """Make sure the migrated schema is there before the first statement; raise a typed error if not."""
        migration_table = f"{self._prefix}migration"
        names = [migration_table, self._job_table, self._blocker_table]
        found = {
            str(row["name"]): str(row["type"])
            for row in await self._run(tx_ctx, self._statements["schema_objects"], (_dumps(names),))
        }
        known = [migration.name for migration in self._migrations]
        if migration_table not in found:
            if self._job_table in found or self._blocker_table in found:
                raise IncompatibleSchemaError(
                    f"Table {self._job_table!r} exists but {migration_table!r} does not: these tables were not "
                    "created by queuert's migrations. Use another table_prefix, or move the tables away"
                )
            raise MigrationRequiredError(
                f"The database has no queuert schema (no table {migration_table!r}); run "
                "`await state_adapter.migrate_to_latest()` once to create it",
                pending_migrations=known,
            )
        applied = {str(row["name"]) for row in await self._run(tx_ctx, self._statements["applied_migrations"], ())}
        pending = [name for name in known if name not in applied]
        if pending:
            raise MigrationRequiredError(pending_migrations=pending)
        columns = {
            str(row["name"])
            for row in await self._run(tx_ctx, self._statements["job_table_columns"], (self._job_table,))
        }
        missing = [name for name in JOB_COLUMN_TYPES if name not in columns]
        if missing:
            raise IncompatibleSchemaError(
                f"Table {self._job_table!r} lacks column(s) {', '.join(missing)}: it was not created by queuert"
            )
        self._schema_checked = True

    # --- transactions -----------------------------------------------------------------

    async def with_transaction(self, fn: Callable[[TxCtxT], Awaitable[ResultT]]) -> ResultT:
        """Run `fn(tx_ctx)` in a transaction of the provider: commit when it returns, roll back when it raises.

        Exceptions raised by `fn` propagate unchanged; a failure to begin or commit (a locked
        or read-only database) is raised as the matching queuert error, with nothing committed.
        """
        self._check_open()
        if not self._schema_checked:
            # Checked before BEGIN: a transaction that reads before it writes can fail at once
            # with SQLITE_BUSY when another connection writes meanwhile.
            await self._check_schema(None)
        return await self._transaction(fn)

    async def _transaction(self, fn: Callable[[TxCtxT], Awaitable[ResultT]]) -> ResultT:
        raised_inside: list[BaseException] = []

        async def run(tx_ctx: TxCtxT) -> ResultT:
            try:
                return await fn(tx_ctx)
            except BaseException as exc:
                raised_inside.append(exc)
                raise

        try:
            return await self._provider.with_transaction(run)
        except sqlite3.Error as exc:
            if any(exc is inside for inside in raised_inside):
                raise
            translated = self._translated(exc)
            if translated is None:
                raise
            raise translated from exc

    async def with_savepoint(self, tx_ctx: TxCtxT, fn: Callable[[TxCtxT], Awaitable[ResultT]]) -> ResultT:
        """Run `fn(tx_ctx)` in a savepoint; on an exception undo what it did and re-raise that exception.

        Savepoints nest. SQLite has no "aborted transaction" state, so after a failed statement
        inside a savepoint the outer transaction simply continues.
        """
        self._check_open()
        return await self._provider.with_savepoint(tx_ctx, fn)

    # --- single reads -----------------------------------------------------------------

    async def get_job(
        self, job_id: str, *, tx_ctx: TxCtxT | None = None, lock: LockMode | None = None
    ) -> StateJob | None:
        """Return the job or `None`. `lock="exclusive"` inside a transaction takes the write lock until it ends."""
        self._check_open()
        name = "get_job_locked" if lock == "exclusive" and tx_ctx is not None else "get_job"
        rows = await self._query(tx_ctx, name, (job_id,))
        return decode_job(rows[0]) if rows else None

    async def get_chain(
        self, chain_id: str, *, tx_ctx: TxCtxT | None = None, lock: LockMode | None = None
    ) -> StateChain | None:
        """Return the chain's first and newest job, or `None` if `chain_id` is not a chain.

        `lock="exclusive"` inside a transaction first writes (without changing it) the newest
        job, which takes the write lock until the transaction ends.
        """
        self._check_open()
        if lock == "exclusive" and tx_ctx is not None:
            await self._query(tx_ctx, "lock_chain", (chain_id,))
        rows = await self._query(tx_ctx, "get_chain", (chain_id,))
        return decode_chain(rows[0]) if rows else None

    async def get_job_blockers(self, job_id: str, *, tx_ctx: TxCtxT | None = None) -> list[StateChain]:
        """Return the job's blocker chains in slot order; chains that no longer exist are skipped."""
        self._check_open()
        rows = await self._query(tx_ctx, "get_job_blockers", (job_id,))
        return [decode_chain(row) for row in rows]

    async def get_next_job_available_in_ms(
        self, type_names: Sequence[str], *, tx_ctx: TxCtxT | None = None
    ) -> int | None:
        """Milliseconds until the earliest pending job of these types is due (0 if one is due), or `None`."""
        self._check_open()
        rows = await self._query(tx_ctx, "next_job_available_in_ms", (_dumps(list(type_names)),))
        if not rows:
            return None
        return int(cast("int", rows[0]["available_in_ms"]))

    # --- creation and blockers --------------------------------------------------------

    async def create_jobs(self, jobs: Sequence[CreateJobParams], *, tx_ctx: TxCtxT | None = None) -> list[CreatedJob]:
        """Insert jobs, or return the existing job where a continuation or deduplication matches.

        See `StateAdapter.create_jobs`. Deduplication scope `"incomplete"` looks at each
        candidate chain's newest job. Transactions are serialized (one writer), so two
        concurrent starts with the same key cannot both insert.

        Raises:
            InvalidJobIdError: A caller-supplied or generated id fails `validate_id`.
            DuplicateJobIdError: A caller-supplied id is used twice in the batch or already exists.
            ChainNotFoundError: A continuation names a chain that does not exist.
        """
        self._check_open()
        if not jobs:
            return []
        check_caller_ids(jobs, self._validate_id)
        return await self._in_transaction(tx_ctx, lambda tx: self._create_jobs(tx, jobs))

    async def _create_jobs(self, tx: TxCtxT, jobs: Sequence[CreateJobParams]) -> list[CreatedJob]:
        results: list[CreatedJob | None] = [None] * len(jobs)
        same_as: dict[int, int] = {}
        """Item index -> the earlier item of this batch whose result it shares."""

        continuations = await self._existing_continuations(tx, jobs)
        first_at_position: dict[tuple[str, int], int] = {}
        new_roots_by_key: dict[tuple[str, str], list[tuple[int, str]]] = {}
        """(key, chain type) -> (item index, id) of the chains this batch starts with that key, in order."""
        to_insert: list[tuple[int, str]] = []
        used_ids: set[str] = set()
        for index, params in enumerate(jobs):
            if params.chain_id is not None:
                position = (params.chain_id, params.chain_index)
                existing = continuations.get(position)
                if existing is not None:
                    results[index] = CreatedJob(existing, True)
                    continue
                if position in first_at_position:
                    same_as[index] = first_at_position[position]
                    continue
                first_at_position[position] = index
            options = params.deduplication
            key: tuple[str, str] | None = None
            if options is not None:
                key = (options.key, params.chain_type_name)
                # A chain started earlier in this batch is the newest match, pending and inside
                # any window; only this item's exclusions can rule it out.
                excluded = set(options.exclude_chain_ids)
                earlier = [i for i, chain_id in new_roots_by_key.get(key, ()) if chain_id not in excluded]
                if earlier:
                    same_as[index] = earlier[-1]
                    continue
                duplicate = await self._find_duplicate(tx, params)
                if duplicate is not None:
                    results[index] = CreatedJob(duplicate, True)
                    continue
            job_id = self._new_id(params, used_ids)
            to_insert.append((index, job_id))
            if key is not None and params.chain_id is None:
                new_roots_by_key.setdefault(key, []).append((index, job_id))

        if to_insert:
            inserted = await self._insert_jobs(tx, [(jobs[index], job_id) for index, job_id in to_insert])
            for (index, _), job in zip(to_insert, inserted, strict=True):
                results[index] = CreatedJob(job, False)
        for index, earlier_index in same_as.items():
            shared = results[earlier_index]
            assert shared is not None
            results[index] = CreatedJob(shared.job, True)
        return [result for result in results if result is not None]

    async def _existing_continuations(
        self, tx: TxCtxT, jobs: Sequence[CreateJobParams]
    ) -> dict[tuple[str, int], StateJob]:
        """The continuations that already exist at the `(chain_id, chain_index)` positions the batch asks for."""
        positions = [[params.chain_id, params.chain_index] for params in jobs if params.chain_id is not None]
        if not positions:
            return {}
        jobs_found = map(decode_job, await self._query(tx, "find_continuations", (_dumps(positions),)))
        return {(job.chain_id, job.chain_index): job for job in jobs_found}

    def _new_id(self, params: CreateJobParams, used_ids: set[str]) -> str:
        job_id = params.id
        if job_id is None:
            job_id = self._generate_id()
            if self._validate_id is not None and not self._validate_id(job_id):
                raise InvalidJobIdError(id=job_id, source="generator")
            if job_id in used_ids:
                raise DuplicateJobIdError(f"generate_id returned {job_id!r} twice in one batch", id=job_id)
        used_ids.add(job_id)
        return job_id

    async def _find_duplicate(self, tx: TxCtxT, params: CreateJobParams) -> StateJob | None:
        options = params.deduplication
        assert options is not None
        window = None if options.window_ms is None else relative_time(options.window_ms, sign="-")
        rows = await self._query(
            tx,
            "find_duplicate",
            (options.key, params.chain_type_name, options.scope, window, _dumps(list(options.exclude_chain_ids))),
        )
        return decode_job(rows[0]) if rows else None

    async def _insert_jobs(self, tx: TxCtxT, items: Sequence[tuple[CreateJobParams, str]]) -> list[StateJob]:
        payload: list[list[Any]] = []
        for params, job_id in items:
            at, after = _schedule_params(params.schedule)
            payload.append(
                [
                    job_id,
                    params.type_name,
                    params.chain_id if params.chain_id is not None else job_id,
                    params.chain_type_name,
                    params.chain_index,
                    encode_json(params.input),
                    params.deduplication.key if params.deduplication is not None else None,
                    at,
                    after,
                    params.chain_trace_context,
                    params.trace_context,
                ]
            )
        try:
            rows = await self._query(tx, "insert_jobs", (_dumps(payload),))
        except sqlite3.IntegrityError as exc:
            raise await self._explain_insert_failure(tx, items, exc) from exc
        # RETURNING rows come in no promised order: match them to the inputs by id.
        inserted = {job.id: job for job in (decode_job(row) for row in rows)}
        try:
            return [inserted[job_id] for _, job_id in items]
        except KeyError as missing:
            raise RuntimeError(
                f"Inserted job {missing.args[0]!r} read back under another id: with a non-TEXT id_type, ids must be "
                "written the way the column returns them (for INTEGER: plain decimal digits)"
            ) from None

    async def _explain_insert_failure(
        self, tx: TxCtxT, items: Sequence[tuple[CreateJobParams, str]], exc: sqlite3.IntegrityError
    ) -> BaseException:
        """The queuert error behind a failed insert, found with a follow-up query; `exc` itself if none fits."""
        ids = [job_id for _, job_id in items]
        code = getattr(exc, "sqlite_errorcode", None)
        if code == _SQLITE_CONSTRAINT_FOREIGNKEY or "FOREIGN KEY" in str(exc):
            chain_ids = list(dict.fromkeys(params.chain_id for params, _ in items if params.chain_id is not None))
            found = {str(row["id"]) for row in await self._query(tx, "find_roots", (_dumps(chain_ids),))}
            for chain_id in chain_ids:
                if chain_id not in found:
                    return ChainNotFoundError(
                        f"Cannot add a job to chain {chain_id!r}: the chain does not exist", chain_id=chain_id
                    )
        if code in (_SQLITE_CONSTRAINT_PRIMARYKEY, _SQLITE_CONSTRAINT_UNIQUE) or "UNIQUE" in str(exc):
            existing = {str(row["id"]) for row in await self._query(tx, "find_existing_ids", (_dumps(list(ids)),))}
            for job_id in ids:
                if job_id in existing:
                    return DuplicateJobIdError(id=job_id)
        return exc

    async def add_jobs_blockers(
        self, job_blockers: Sequence[JobBlockersParams], *, tx_ctx: TxCtxT | None = None
    ) -> list[AddedJobBlockers]:
        """Attach blocker chains to jobs and block the pending jobs whose blocker chains are not all complete.

        Writes are serialized, so a concurrent completion of a blocker chain either committed
        before (and is seen as complete here) or runs after and finds the new blocker rows.

        Raises:
            JobNotFoundError: A job does not exist (nothing is written).
            ChainNotFoundError: A blocker chain does not exist (nothing is written).
            ValueError: A chain is named twice for one job, or `blocker_trace_contexts` has the wrong length.
        """
        self._check_open()
        if not job_blockers:
            return []
        pairs: set[tuple[str, str]] = set()
        for params in job_blockers:
            contexts = params.blocker_trace_contexts
            if contexts is not None and len(contexts) != len(params.blocked_by_chain_ids):
                raise ValueError(
                    f"blocker_trace_contexts has {len(contexts)} entries for "
                    f"{len(params.blocked_by_chain_ids)} blocker chains (job {params.job_id!r})"
                )
            for chain_id in params.blocked_by_chain_ids:
                if (params.job_id, chain_id) in pairs:
                    raise ValueError(f"Job {params.job_id!r} lists chain {chain_id!r} as a blocker twice")
                pairs.add((params.job_id, chain_id))
        return await self._in_transaction(tx_ctx, lambda tx: self._add_jobs_blockers(tx, job_blockers))

    async def _add_jobs_blockers(self, tx: TxCtxT, job_blockers: Sequence[JobBlockersParams]) -> list[AddedJobBlockers]:
        job_ids = list(dict.fromkeys(params.job_id for params in job_blockers))
        chain_ids = list(dict.fromkeys(c for params in job_blockers for c in params.blocked_by_chain_ids))
        targets = {
            str(row["id"]): row for row in await self._query(tx, "blocker_targets", (_dumps(job_ids + chain_ids),))
        }
        for job_id in job_ids:
            if job_id not in targets:
                raise JobNotFoundError(job_id=job_id)
        for chain_id in chain_ids:
            target = targets.get(chain_id)
            if target is None or str(target["chain_id"]) != chain_id:
                raise ChainNotFoundError(
                    f"Blocker chain {chain_id!r} does not exist; blockers must be existing chains", chain_id=chain_id
                )
        rows = [
            [params.job_id, chain_id, index, _trace_context_at(params, index)]
            for params in job_blockers
            for index, chain_id in enumerate(params.blocked_by_chain_ids)
        ]
        if rows:
            try:
                await self._query(tx, "insert_blockers", (_dumps(rows),))
            except sqlite3.IntegrityError as exc:
                raise ValueError(f"A job already lists one of these chains as a blocker ({exc})") from exc
        incomplete = [
            tuple(c for c in params.blocked_by_chain_ids if targets[c]["last_status"] != "completed")
            for params in job_blockers
        ]
        to_block = list(dict.fromkeys(p.job_id for p, chains in zip(job_blockers, incomplete, strict=True) if chains))
        final: dict[str, StateJob] = {}
        if to_block:
            blocked = await self._query(tx, "block_jobs", (_dumps(to_block),))
            final.update((job.id, job) for job in map(decode_job, blocked))
        rest = [job_id for job_id in job_ids if job_id not in final]
        if rest:
            unchanged = await self._query(tx, "get_jobs", (_dumps(rest),))
            final.update((job.id, job) for job in map(decode_job, unchanged))
        return [
            AddedJobBlockers(
                final[params.job_id],
                chains,
                tuple(_optional_text(targets[c]["chain_trace_context"]) for c in params.blocked_by_chain_ids),
            )
            for params, chains in zip(job_blockers, incomplete, strict=True)
        ]

    async def unblock_jobs(self, blocked_by_chain_id: str, *, tx_ctx: TxCtxT | None = None) -> UnblockedJobs:
        """Move to `pending` the blocked dependents of this chain whose blocker chains are now all complete.

        Their `scheduled_at` becomes `max(scheduled_at, now)`. Also returns every non-null
        trace context of the blocker rows that point at this chain.
        """
        self._check_open()
        return await self._in_transaction(tx_ctx, lambda tx: self._unblock_jobs(tx, blocked_by_chain_id))

    async def _unblock_jobs(self, tx: TxCtxT, chain_id: str) -> UnblockedJobs:
        jobs = sorted(
            map(decode_job, await self._query(tx, "unblock_jobs", (chain_id,))), key=lambda j: (j.created_at, j.id)
        )
        contexts = await self._query(tx, "blocker_trace_contexts", (chain_id,))
        return UnblockedJobs(tuple(jobs), tuple(str(row["trace_context"]) for row in contexts))

    # --- the worker's transitions -----------------------------------------------------

    async def acquire_job(self, type_names: Sequence[str], *, tx_ctx: TxCtxT | None = None) -> AcquiredJob:
        """Take the due pending job of these types with the earliest `scheduled_at` (then insertion order).

        Sets it `running` and increments `attempt`; lease fields are untouched. One statement:
        SQLite admits one writer at a time, so no other caller can take the same job.
        """
        self._check_open()
        rows = await self._query(tx_ctx, "acquire_job", (_dumps(list(type_names)),))
        if not rows:
            return AcquiredJob(None, False)
        return AcquiredJob(decode_job(rows[0]), bool(rows[0]["has_more"]))

    async def renew_job_lease(
        self, job_id: str, *, worker_id: str, lease_duration_ms: float, tx_ctx: TxCtxT | None = None
    ) -> StateJob:
        """Set `leased_by=worker_id`, `leased_until=now+lease_duration_ms` and `status='running'`.

        Raises:
            JobNotFoundError: The job does not exist.
        """
        self._check_open()
        rows = await self._query(tx_ctx, "renew_job_lease", (job_id, worker_id, relative_time(lease_duration_ms)))
        return self._single(rows, job_id)

    async def reschedule_job(
        self, job_id: str, *, schedule: ScheduleOptions, error: str | None, tx_ctx: TxCtxT | None = None
    ) -> StateJob:
        """Set `pending`, `scheduled_at=max(requested, now)`, `last_attempt_at=now`, the error; clear the lease.

        Raises:
            JobNotFoundError: The job does not exist.
        """
        self._check_open()
        at, after = _schedule_params(schedule)
        error_json = encode_json(error)
        rows = await self._query(tx_ctx, "reschedule_job", (job_id, at, after, error_json))
        return self._single(rows, job_id)

    async def complete_job(
        self, job_id: str, *, output: JsonValue, worker_id: str | None, tx_ctx: TxCtxT | None = None
    ) -> StateJob:
        """Set `completed`, `completed_at=now`, `completed_by`, `output`; clear the lease and the last error.

        Raises:
            JobNotFoundError: The job does not exist.
        """
        self._check_open()
        rows = await self._query(tx_ctx, "complete_job", (job_id, encode_json(output), worker_id))
        return self._single(rows, job_id)

    @staticmethod
    def _single(rows: list[Mapping[str, object]], job_id: str) -> StateJob:
        if not rows:
            raise JobNotFoundError(job_id=job_id)
        return decode_job(rows[0])

    async def reap_expired_job_lease(
        self, type_names: Sequence[str], *, ignored_job_ids: Sequence[str] = (), tx_ctx: TxCtxT | None = None
    ) -> ReapedJob | None:
        """Return to `pending` the running job of these types whose lease expired first; at most one.

        Skips `ignored_job_ids`; clears the lease and changes nothing else. The result carries
        the lease the job had.
        """
        self._check_open()
        return await self._in_transaction(
            tx_ctx, lambda tx: self._reap_expired_job_lease(tx, type_names, ignored_job_ids)
        )

    async def _reap_expired_job_lease(
        self, tx: TxCtxT, type_names: Sequence[str], ignored_job_ids: Sequence[str]
    ) -> ReapedJob | None:
        found = await self._query(tx, "find_expired_lease", (_dumps(list(type_names)), _dumps(list(ignored_job_ids))))
        if not found:
            return None
        victim = found[0]
        rows = await self._query(tx, "release_lease", (str(victim["id"]),))
        if not rows:
            return None
        leased_until = victim["leased_until"]
        return ReapedJob(
            decode_job(rows[0]),
            _optional_text(victim["leased_by"]),
            None if leased_until is None else parse_time(leased_until),
        )

    # --- admin operations -------------------------------------------------------------

    async def delete_chains(
        self, chain_ids: Sequence[str], *, cascade: bool = False, tx_ctx: TxCtxT | None = None
    ) -> DeletedChains:
        """Delete whole chains with their blocker rows, or nothing if a chain blocks a job outside the set.

        With `cascade`, first add the chains that the given chains' first jobs wait on,
        transitively (each once). Missing ids are skipped. Deleted chains come back in the
        order they were asked for, cascaded ones after.
        """
        self._check_open()
        if not chain_ids:
            return DeletedChains()
        return await self._in_transaction(tx_ctx, lambda tx: self._delete_chains(tx, chain_ids, cascade))

    async def _delete_chains(self, tx: TxCtxT, chain_ids: Sequence[str], cascade: bool) -> DeletedChains:
        wanted = list(dict.fromkeys(chain_ids))
        if cascade:
            expanded = await self._query(tx, "expand_cascade", (_dumps(wanted),))
            wanted = list(dict.fromkeys([*wanted, *(str(row["chain_id"]) for row in expanded)]))
        wanted_json = _dumps(wanted)
        references = await self._query(tx, "external_blocker_references", (wanted_json,))
        if references:
            return DeletedChains(
                blocker_references=tuple(
                    BlockerReference(
                        chain_id=str(row["chain_id"]), referenced_by_job_id=str(row["referenced_by_job_id"])
                    )
                    for row in references
                )
            )
        found = await self._query(tx, "get_chains", (wanted_json,))
        chains = {chain.root.id: chain for chain in map(decode_chain, found)}
        if not chains:
            return DeletedChains()
        await self._query(tx, "delete_chain_blockers", (wanted_json,))
        await self._query(tx, "delete_chain_jobs", (wanted_json,))
        return DeletedChains(deleted=tuple(chains[c] for c in wanted if c in chains))

    async def trigger_jobs(self, job_ids: Sequence[str], *, tx_ctx: TxCtxT | None = None) -> TriggeredJobs:
        """Set `scheduled_at=now` on pending jobs, all or nothing; report missing and non-pending ids instead.

        Results follow the first occurrence of each id in `job_ids`.
        """
        self._check_open()
        if not job_ids:
            return TriggeredJobs()
        return await self._in_transaction(tx_ctx, lambda tx: self._trigger_jobs(tx, job_ids))

    async def _trigger_jobs(self, tx: TxCtxT, job_ids: Sequence[str]) -> TriggeredJobs:
        unique = list(dict.fromkeys(job_ids))
        ids_json = _dumps(unique)
        rows = await self._query(tx, "trigger_jobs", (ids_json,))
        if rows:
            triggered = {job.id: job for job in map(decode_job, rows)}
            return TriggeredJobs(jobs=tuple(triggered[job_id] for job_id in unique if job_id in triggered))
        statuses: dict[str, JobStatus] = {
            str(row["id"]): cast("JobStatus", row["status"])
            for row in await self._query(tx, "job_statuses", (ids_json,))
        }
        return trigger_refusals(unique, statuses)

    # --- listings ---------------------------------------------------------------------

    def _newest_job_join(self, kind: str, alias: str, of: str) -> str:
        return (
            f"{kind} JOIN {self._job_table} {alias} ON {alias}.rowid = (SELECT x.rowid FROM {self._job_table} x "
            f"WHERE x.chain_id = {of}.id ORDER BY x.chain_index DESC LIMIT 1)"
        )

    @staticmethod
    def _add_created_at_range(where: _Where, column: str, from_: datetime | None, to: datetime | None) -> None:
        if from_ is not None:
            where.add(f"{column} >= ?", format_time_ceil(from_))
        if to is not None:
            where.add(f"{column} <= ?", format_time(to))

    @staticmethod
    def _add_keyset(where: _Where, key: str, descending: bool, value: str | int, after_id: str) -> None:
        comparison = "<" if descending else ">"
        where.add(f"({key} {comparison} ? OR ({key} = ? AND j.id {comparison} ?))", value, value, after_id)

    async def list_chains(
        self,
        *,
        filter: ChainFilter,
        order_direction: OrderDirection = "desc",
        cursor: str | None = None,
        limit: int = 50,
        tx_ctx: TxCtxT | None = None,
    ) -> Page[StateChain]:
        """List chains by their first job's `(created_at, id)`; the status filter applies to the newest job.

        Raises:
            InvalidCursorError: `cursor` is not a cursor of this listing.
        """
        self._check_open()
        descending = check_order_direction(order_direction)
        check_page_limit(limit)
        after = decode_cursor(cursor, "created_at") if cursor is not None else None
        where = _Where("j.chain_index = 0", "j.chain_id = j.id")
        where.add_in("j.type_name", filter.type_name)
        if filter.root_only:
            where.add(f"NOT EXISTS (SELECT 1 FROM {self._blocker_table} rb WHERE rb.blocked_by_chain_id = j.id)")
        where.add_in("j.id", filter.chain_id)
        if filter.job_id:
            where.add(
                f"j.id IN (SELECT cj.chain_id FROM {self._job_table} cj "
                "WHERE cj.id IN (SELECT value FROM json_each(?)))",
                _dumps(list(filter.job_id)),
            )
        where.add_in("lc.status", filter.status)
        self._add_created_at_range(where, "j.created_at", filter.from_, filter.to)
        if after is not None:
            self._add_keyset(where, "j.created_at", descending, format_time(after.created_at), after.id)
        direction = "DESC" if descending else "ASC"
        sql = (
            f"SELECT {job_columns('j')}, {last_job_columns('lc')} FROM {self._job_table} j "
            f"{self._newest_job_join('LEFT', 'lc', 'j')} WHERE {where.sql()} "
            f"ORDER BY j.created_at {direction}, j.id {direction} LIMIT ?"
        )
        rows = await self._query_dynamic(tx_ctx, sql, [*where.params, limit + 1], CHAIN_COLUMN_TYPES)
        return build_page([decode_chain(row) for row in rows], limit, chain_created_at_cursor)

    async def list_jobs(
        self,
        *,
        filter: JobFilter,
        order_direction: OrderDirection = "desc",
        cursor: str | None = None,
        limit: int = 50,
        tx_ctx: TxCtxT | None = None,
    ) -> Page[StateJob]:
        """List jobs by `(created_at, id)`.

        Raises:
            InvalidCursorError: `cursor` is not a cursor of this listing.
        """
        self._check_open()
        descending = check_order_direction(order_direction)
        check_page_limit(limit)
        after = decode_cursor(cursor, "created_at") if cursor is not None else None
        where = _Where()
        where.add_in("j.status", filter.status)
        where.add_in("j.type_name", filter.type_name)
        where.add_in("j.chain_type_name", filter.chain_type_name)
        where.add_in("j.chain_id", filter.chain_id)
        where.add_in("j.id", filter.job_id)
        self._add_created_at_range(where, "j.created_at", filter.from_, filter.to)
        if after is not None:
            self._add_keyset(where, "j.created_at", descending, format_time(after.created_at), after.id)
        return await self._list_job_rows(tx_ctx, where, "j.created_at", descending, limit, job_created_at_cursor)

    async def list_chain_jobs(
        self,
        chain_id: str,
        *,
        order_direction: OrderDirection = "asc",
        cursor: str | None = None,
        limit: int = 50,
        tx_ctx: TxCtxT | None = None,
    ) -> Page[StateJob]:
        """List one chain's jobs by `(chain_index, id)`; an unknown chain gives an empty page.

        Raises:
            InvalidCursorError: `cursor` is not a chain-jobs cursor.
        """
        self._check_open()
        descending = check_order_direction(order_direction)
        check_page_limit(limit)
        after = decode_cursor(cursor, "chain_index") if cursor is not None else None
        where = _Where()
        where.add("j.chain_id = ?", chain_id)
        if after is not None:
            self._add_keyset(where, "j.chain_index", descending, after.chain_index, after.id)
        return await self._list_job_rows(tx_ctx, where, "j.chain_index", descending, limit, job_chain_index_cursor)

    async def list_blocked_jobs(
        self,
        chain_id: str,
        *,
        order_direction: OrderDirection = "desc",
        cursor: str | None = None,
        limit: int = 50,
        tx_ctx: TxCtxT | None = None,
    ) -> Page[StateJob]:
        """List the jobs that name this chain as a blocker, in any status, by `(created_at, id)`.

        Raises:
            InvalidCursorError: `cursor` is not a cursor of this listing.
        """
        self._check_open()
        descending = check_order_direction(order_direction)
        check_page_limit(limit)
        after = decode_cursor(cursor, "created_at") if cursor is not None else None
        where = _Where()
        where.add(f"j.id IN (SELECT b.job_id FROM {self._blocker_table} b WHERE b.blocked_by_chain_id = ?)", chain_id)
        if after is not None:
            self._add_keyset(where, "j.created_at", descending, format_time(after.created_at), after.id)
        return await self._list_job_rows(tx_ctx, where, "j.created_at", descending, limit, job_created_at_cursor)

    async def _list_job_rows(
        self,
        tx_ctx: TxCtxT | None,
        where: _Where,
        key: str,
        descending: bool,
        limit: int,
        cursor_of: Callable[[StateJob], CreatedAtCursor | ChainIndexCursor],
    ) -> Page[StateJob]:
        direction = "DESC" if descending else "ASC"
        sql = (
            f"SELECT {job_columns('j')} FROM {self._job_table} j WHERE {where.sql()} "
            f"ORDER BY {key} {direction}, j.id {direction} LIMIT ?"
        )
        rows = await self._query_dynamic(tx_ctx, sql, [*where.params, limit + 1], JOB_COLUMN_TYPES)
        return build_page([decode_job(row) for row in rows], limit, cursor_of)

    # --- maintenance ------------------------------------------------------------------

    async def migrate_to_latest(self, *, allow_unrecognized: bool = False) -> MigrationResult:
        """Create or upgrade queuert's tables and indexes; safe to call on every start.

        Each pending migration runs in its own transaction together with the row that records
        it in `{prefix}migration`, under the same name upstream queuert uses, so a database
        migrated by either can be used by both. A failure stops the run; migrations applied
        before it stay applied, and calling again resumes.

        First checks the connection: `PRAGMA foreign_keys` must be on (blocker integrity
        relies on it) and `PRAGMA auto_vacuum` must be `INCREMENTAL` (`vacuum()` relies on
        it), unless the adapter was created with `check_foreign_keys=False` /
        `check_auto_vacuum=False`.

        Args:
            allow_unrecognized: Proceed although the database records migrations this version
                does not know (a newer queuert migrated it). Off by default.

        Raises:
            MisconfiguredConnectionError: A required PRAGMA is not set.
            SchemaVersionError: A newer queuert migrated this database (and `allow_unrecognized` is false).
            IncompatibleSchemaError: Tables with queuert's names exist but are not queuert's.
            ReadOnlyDatabaseError: The database cannot be written.
            DatabaseLockedError: Another connection kept the database locked too long.
        """
        self._check_open()
        statements = self._statements
        if self._check_foreign_keys:
            rows = await self._transaction(lambda tx: self._run(tx, statements["pragma_foreign_keys"], ()))
            if not rows or rows[0]["foreign_keys"] != 1:
                raise MisconfiguredConnectionError(
                    "PRAGMA foreign_keys is off on this connection. queuert relies on foreign keys to keep "
                    "blockers pointing at existing chains; run `PRAGMA foreign_keys = ON` on every connection "
                    "(create_aiosqlite_provider does), or pass check_foreign_keys=False"
                )
        if self._check_auto_vacuum:
            rows = await self._run(None, statements["pragma_auto_vacuum"], ())
            if not rows or rows[0]["auto_vacuum"] != 2:
                raise MisconfiguredConnectionError(
                    "PRAGMA auto_vacuum is not INCREMENTAL on this database, so vacuum() could not return freed "
                    "pages. It must be set before the first table is created (create_aiosqlite_provider does "
                    "this for a new file). For an existing file run `PRAGMA auto_vacuum = INCREMENTAL` and then "
                    "`VACUUM` once, or pass check_auto_vacuum=False and do not rely on vacuum()"
                )

        async def read_applied(tx: TxCtxT) -> list[str]:
            found = await self._run(tx, statements["schema_objects"], (_dumps([self._job_table]),))
            await self._run(tx, statements["create_migration_table"], ())
            names = [str(row["name"]) for row in await self._run(tx, statements["applied_migrations"], ())]
            if found and not names:
                raise IncompatibleSchemaError(
                    f"Table {self._job_table!r} exists but no queuert migration was ever recorded: the table was not "
                    "created by queuert. Use another table_prefix, or move the table away"
                )
            return names

        async def apply(migration: Migration) -> bool:
            return await self._transaction(partial(self._apply, migration=migration))

        result = await run_migrations(
            self._migrations,
            read_applied=lambda: self._transaction(read_applied),
            apply=apply,
            allow_unrecognized=allow_unrecognized,
        )
        self._schema_checked = False
        await self._check_schema(None)
        return result

    async def _apply(self, tx: TxCtxT, *, migration: Migration) -> bool:
        applied = await self._run(tx, self._statements["applied_migrations"], ())
        if any(row["name"] == migration.name for row in applied):
            return False  # another process applied it since we looked
        for sql in migration.statements:
            try:
                await self._provider.execute_sql(tx_ctx=tx, sql=sql, params=(), column_types={}, read_only=False)
            except sqlite3.Error as exc:
                translated = self._translated(exc)
                if translated is None:
                    raise
                raise translated from exc
        await self._run(tx, self._statements["record_migration"], (migration.name,))
        return True

    async def vacuum(self) -> None:
        """Give the pages freed by deletes back to the file system (`PRAGMA incremental_vacuum`).

        Cheap enough to run after each cleanup: it moves only free pages, a few hundred per
        short transaction, without rewriting the file. Needs `auto_vacuum = INCREMENTAL`, which
        `migrate_to_latest()` checks by default; without it this does nothing.
        """
        self._check_open()

        async def free_some(tx: TxCtxT) -> int:
            [row] = await self._query(tx, "freelist_count")
            free = int(cast("int", row["freelist_count"]))
            for _ in range(min(free, _VACUUM_PAGES_PER_TRANSACTION)):
                await self._query(tx, "incremental_vacuum")
            if free == 0:
                return 0
            [after] = await self._query(tx, "freelist_count")
            return free - int(cast("int", after["freelist_count"]))

        # Stop when nothing is left, or nothing moved (auto_vacuum is not INCREMENTAL).
        while await self.with_transaction(free_some) > 0:
            pass

    async def truncate(self) -> None:
        """Delete every job and blocker row (in one transaction). For tests and resets; it cannot be undone."""
        self._check_open()

        async def run(tx: TxCtxT) -> None:
            await self._query(tx, "truncate_blockers")
            await self._query(tx, "truncate_jobs")

        await self.with_transaction(run)

    # --- lifecycle --------------------------------------------------------------------

    async def close(self) -> None:
        """Close the provider (and with it a connection it owns); later calls raise `AdapterClosedError`.

        Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        await self._provider.close()


def _trace_context_at(params: JobBlockersParams, index: int) -> str | None:
    contexts = params.blocker_trace_contexts
    return None if contexts is None else contexts[index]


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)


def check_sqlite_version(version: tuple[int, int, int] = sqlite3.sqlite_version_info) -> None:
    """Raise `UnsupportedSqliteVersionError` for an SQLite library without `RETURNING` (before 3.35)."""
    if version < _MIN_SQLITE:
        found = ".".join(map(str, version))
        raise UnsupportedSqliteVersionError(
            f"queuert-sqlite needs SQLite 3.35 or newer (for RETURNING); this Python uses SQLite {found}. "
            "Upgrade Python or the system SQLite library, or install a newer one (for example pysqlite3)"
        )


async def create_sqlite_state_adapter(
    *,
    state_provider: SqliteStateProvider[TxCtxT],
    table_prefix: str = "queuert_",
    id_type: str = "TEXT",
    generate_id: Callable[[], str] = default_generate_id,
    validate_id: Callable[[str], bool] | None = None,
    check_foreign_keys: bool = True,
    check_auto_vacuum: bool = True,
) -> SqliteStateAdapter[TxCtxT]:
    """Create the SQLite state adapter over a provider (`AiosqliteProvider`, `Sqlite3Provider` or your own).

    Does no I/O: call `await adapter.migrate_to_latest()` before first use.

    Args:
        state_provider: Runs the statements (see `SqliteStateProvider`).
        table_prefix: Prefix of the tables (`{prefix}job`, `{prefix}job_blocker`,
            `{prefix}migration`) and indexes. Letters, digits and underscores.
        id_type: SQL type of the id columns, `TEXT` by default. With `INTEGER`, ids must be
            decimal digits; they are still handed out as `str`.
        generate_id: Makes the id of each new job without a caller-supplied id (a random UUID by default).
        validate_id: Optional check of generated and caller-supplied ids before anything is
            written; a rejected id raises `InvalidJobIdError`.
        check_foreign_keys: Make `migrate_to_latest` refuse a connection without `PRAGMA foreign_keys = ON`.
        check_auto_vacuum: Make `migrate_to_latest` refuse a database without `auto_vacuum = INCREMENTAL`.

    Raises:
        ValueError: `table_prefix` or `id_type` is not a plain identifier.
        UnsupportedSqliteVersionError: The SQLite library is older than 3.35.
    """
    validate_sql_identifier(table_prefix, option="table_prefix")
    validate_sql_identifier(id_type, option="id_type")
    check_sqlite_version()
    return SqliteStateAdapter(
        state_provider=state_provider,
        table_prefix=table_prefix,
        id_type=id_type,
        generate_id=generate_id,
        validate_id=validate_id,
        check_foreign_keys=check_foreign_keys,
        check_auto_vacuum=check_auto_vacuum,
    )
