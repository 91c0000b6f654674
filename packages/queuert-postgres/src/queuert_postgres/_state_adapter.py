"""The PostgreSQL state adapter: queuert's job store in the application's own database."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar, cast

from queuert.adapters import (
    AcquiredJob,
    AddedJobBlockers,
    CreatedJob,
    CreateJobParams,
    DeletedChains,
    JobBlockersParams,
    LockMode,
    Migration,
    MigrationResult,
    ReapedJob,
    ScopeHandle,
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
    decode_json_column,
    encode_json,
    job_chain_index_cursor,
    job_created_at_cursor,
    job_from_row,
    run_migrations,
    statement_id,
)
from queuert.adapters import generate_id as default_generate_id
from queuert.errors import (
    AdapterClosedError,
    BlockerReference,
    ChainNotFoundError,
    InvalidCursorError,
    InvalidJobIdError,
    JobNotFoundError,
)

from . import _queries as q
from ._errors import SchemaNotFoundError, translate_error
from ._schema import SchemaNames, load_migrations, migration_table_sql, record_migration_sql, render_migration
from ._scopes import TranslatedScope

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

    from queuert import (
        ChainFilter,
        JobFilter,
        JobStatus,
        JsonValue,
        OrderDirection,
        Page,
        ScheduleOptions,
    )

    from ._provider import PgStateProvider, RuntimeType

__all__ = ("PgStateAdapter", "create_pg_state_adapter")

TxCtxT = TypeVar("TxCtxT")
ResultT = TypeVar("ResultT")

_ADAPTER_NAME = "PgStateAdapter"
_MAX_BLOCKER_RETRIES = 50
_HINT_MEMORY = 4096

_COLUMN_TYPES: Mapping[str, RuntimeType] = {
    "id": "string",
    "type_name": "string",
    "chain_id": "string",
    "chain_type_name": "string",
    "chain_index": "number",
    "input": "json?",
    "output": "json?",
    "status": "string",
    "created_at": "date?",
    "scheduled_at": "date?",
    "completed_at": "date?",
    "completed_by": "string?",
    "attempt": "number",
    "last_attempt_at": "date?",
    "last_attempt_error": "json?",
    "leased_by": "string?",
    "leased_until": "date?",
    "deduplication_key": "string?",
    "chain_trace_context": "string?",
    "trace_context": "string?",
    "has_more": "boolean",
    "unwatched_chain_end": "boolean",
    "deduplicated": "boolean",
    "stable": "boolean",
    "available_in_ms": "number?",
}

_PARAM_CAST = re.compile(r"\$(\d+)((?:::[A-Za-z_][A-Za-z0-9_]*(?:\[\])?)+)")


def _param_types(sql: str, id_type: str) -> dict[int, RuntimeType]:
    types: dict[int, RuntimeType] = {}
    for match in _PARAM_CAST.finditer(sql):
        number = int(match.group(1))
        if number in types:
            continue
        casts = match.group(2).split("::")[1:]
        last = casts[-1]
        kind: RuntimeType
        if last.endswith("[]"):
            kind = "array"
        elif last == "jsonb":
            kind = "json?"
        elif last == id_type and id_type == "uuid":
            kind = "uuid"
        elif last in ("int", "integer", "bigint", "float8"):
            kind = "number?"
        elif last == "boolean":
            kind = "boolean?"
        elif last == "timestamptz":
            kind = "date?"
        else:
            kind = "string?"
        types[number] = kind
    return types


@dataclass(frozen=True, slots=True)
class _Statement:
    sql: str
    statement_id: str | None
    param_types: Mapping[int, RuntimeType]
    read_only: bool


_SELECT_JOBS = "SELECT {cols:j} FROM {job} j"

_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _returned_timestamp(value: object) -> datetime:
    """A `timestamptz` as the driver returned it (a datetime in the session's zone, or ISO text), in UTC."""
    if type(value) is datetime and value.tzinfo is UTC:
        return value
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _new_root_job(params: CreateJobParams, input_json: str | None, inserted: Mapping[str, object]) -> StateJob:
    """The row just inserted for `params`, from what the database returned (id as stored, timestamps)."""
    job_id = cast("str", inserted["id"])
    return StateJob(
        id=job_id,
        type_name=params.type_name,
        chain_id=job_id,
        chain_type_name=params.chain_type_name,
        chain_index=params.chain_index,
        # Decoded from the text stored, not the caller's object: the job must not change
        # when the caller later mutates what it passed.
        input=decode_json_column(input_json),
        output=None,
        status="pending",
        created_at=_returned_timestamp(inserted["created_at"]),
        scheduled_at=_returned_timestamp(inserted["scheduled_at"]),
        chain_trace_context=params.chain_trace_context,
        trace_context=params.trace_context,
    )


def _aware(value: datetime) -> datetime:
    # Naive datetimes are taken as UTC (documented on the filters that accept them).
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _chain_from_row(row: Mapping[str, object]) -> StateChain:
    root = job_from_row(row)
    last_id = row.get("lc_id")
    if last_id is None or last_id == root.id:
        return StateChain(root)
    return StateChain(root, job_from_row(row, prefix="lc_"))


def _schedule_values(params: CreateJobParams) -> tuple[datetime | None, float | None]:
    """`(schedule_at, schedule_after_ms)` of one new job; at most one is set."""
    schedule = params.schedule
    if schedule is None:
        return None, None
    at = getattr(schedule, "at", None)
    if at is not None:
        return _aware(at), None
    return None, float(getattr(schedule, "after_ms", 0))


class _Params:
    """Collects bind values for dynamic SQL and hands out their `$n` placeholders."""

    def __init__(self, *initial: object) -> None:
        self.values: list[object] = list(initial)

    def add(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


class PgStateAdapter(StateAdapter[TxCtxT], Generic[TxCtxT]):
    """Stores chains and jobs in PostgreSQL. Build it with `create_pg_state_adapter`.

    Every call without `tx_ctx` runs as its own statement (autocommit) on a connection the
    provider borrows; with `tx_ctx` it runs inside that transaction, typically the
    application's own (`tx_ctx` is the provider's transaction context: for the bundled
    providers, the driver's connection or SQLAlchemy's connection or session).

    Transactions run at READ COMMITTED. Workers claim jobs with `FOR UPDATE SKIP LOCKED`,
    so any number of worker processes can share one database. Ids are validated in Python
    before any SQL runs; with `id_type="uuid"`, a string that is not a UUID is simply not
    found (lookups return `None`, updates raise `JobNotFoundError`).

    Beyond the `StateAdapter` contract it offers `migrate_to_latest()`, `vacuum()` and
    `truncate()`.

    Errors from the driver are translated at one place: a missing schema raises
    `MigrationRequiredError`, a lost connection `PostgresConnectionError`, an exhausted pool
    `PoolExhaustedError`, a caller id that exists `DuplicateJobIdError`, a missing blocker
    chain or continuation chain `ChainNotFoundError`; anything else passes through unchanged.
    """

    def __init__(
        self,
        *,
        state_provider: PgStateProvider[TxCtxT],
        names: SchemaNames,
        generate_id: Callable[[], str] = default_generate_id,
        validate_id: Callable[[str], bool] | None = None,
    ) -> None:
        self._provider = state_provider
        self._names = names
        self._generate_id = generate_id
        self._validate_id = validate_id
        self._uuid_ids = names.id_type.lower() == "uuid"
        # The default generator already writes canonical UUIDs: no need to parse them again.
        self._canonical_generator = generate_id is default_generate_id and validate_id is None
        self._closed = False
        self._lock_namespace = f"{names.schema}.{names.table_prefix}".encode()
        # Jobs just acquired that have no blocker rows: the worker asks for their blockers
        # right after acquiring, and the answer cannot change (blocker rows are written only
        # when a job is created), so that call needs no round trip. Each entry is used once.
        self._acquired_without_blockers: OrderedDict[str, None] = OrderedDict()
        # Chains whose last job this adapter just completed in a transaction (the value) that
        # had locked it beforehand, with no blocker row naming them: the core's `unblock_jobs`
        # call that follows in that transaction needs no round trip. Used once; a later
        # completion of the chain, or blockers added through this adapter, replace or drop it.
        self._unwatched_chain_ends: OrderedDict[str, object] = OrderedDict()
        self._statements: dict[str, _Statement] = {}
        for name, sql, read_only in (
            ("get_job", q.GET_JOB, True),
            ("get_job_for_update", q.GET_JOB_FOR_UPDATE, False),
            ("get_chain", q.GET_CHAIN, True),
            ("get_chain_for_update", q.GET_CHAIN_FOR_UPDATE, False),
            ("get_job_blockers", q.GET_JOB_BLOCKERS, True),
            ("get_next_job_available_in_ms", q.GET_NEXT_JOB_AVAILABLE_IN_MS, False),
            ("lock_deduplication_keys", q.LOCK_DEDUPLICATION_KEYS, False),
            ("create_jobs", q.CREATE_JOBS, False),
            ("create_root_job", q.CREATE_ROOT_JOB, False),
            ("create_root_jobs", q.CREATE_ROOT_JOBS, False),
            ("add_jobs_blockers", q.ADD_JOBS_BLOCKERS, False),
            ("lock_blocked_dependents", q.LOCK_BLOCKED_DEPENDENTS, False),
            ("unblock_jobs", q.UNBLOCK_JOBS, False),
            ("acquire_job_one_type", q.ACQUIRE_JOB_ONE_TYPE, False),
            ("acquire_job_many_types", q.ACQUIRE_JOB_MANY_TYPES, False),
            ("renew_job_lease", q.RENEW_JOB_LEASE, False),
            ("reschedule_job", q.RESCHEDULE_JOB, False),
            ("complete_job", q.COMPLETE_JOB, False),
            ("reap_expired_job_lease", q.REAP_EXPIRED_JOB_LEASE, False),
            ("expand_cascade", q.EXPAND_CASCADE, True),
            ("delete_chains", q.DELETE_CHAINS, False),
            ("trigger_jobs", q.TRIGGER_JOBS, False),
            ("truncate", q.TRUNCATE, False),
            ("vacuum_job", q.VACUUM_JOB, False),
            ("vacuum_job_blocker", q.VACUUM_JOB_BLOCKER, False),
            ("lock_migrations", q.LOCK_MIGRATIONS, False),
            ("select_migrations", q.SELECT_MIGRATIONS, True),
            ("migration_applied", q.MIGRATION_APPLIED, True),
            ("create_migration_table", migration_table_sql(names), False),
            ("record_migration", record_migration_sql(names), False),
        ):
            self._statements[name] = self._statement(sql, name=name, read_only=read_only)

    # --- introspection ------------------------------------------------------------------

    @property
    def schema(self) -> str:
        """The schema holding the tables."""
        return self._names.schema

    @property
    def table_prefix(self) -> str:
        """The prefix of every table, type and index name."""
        return self._names.table_prefix

    @property
    def id_type(self) -> str:
        """The SQL type of the id columns."""
        return self._names.id_type

    @property
    def state_provider(self) -> PgStateProvider[TxCtxT]:
        """The provider this adapter runs its SQL through."""
        return self._provider

    # --- plumbing -----------------------------------------------------------------------

    def _statement(self, sql: str, *, name: str | None, read_only: bool) -> _Statement:
        rendered = self._names.render(q.expand_macros(sql)).strip()
        return _Statement(
            sql=rendered,
            statement_id=statement_id(name, rendered) if name is not None else None,
            param_types=_param_types(rendered, self._names.id_type),
            read_only=read_only,
        )

    def _check_open(self) -> None:
        if self._closed:
            raise AdapterClosedError(adapter=_ADAPTER_NAME)

    def _raise_translated(self, exc: Exception) -> NoReturn:
        mapped = translate_error(exc, schema=self._names.schema, table_prefix=self._names.table_prefix)
        if mapped is None:
            raise exc
        raise mapped from exc

    async def _run(
        self, statement: str | _Statement, params: Sequence[object], tx_ctx: TxCtxT | None
    ) -> list[Mapping[str, object]]:
        self._check_open()
        stmt = self._statements[statement] if isinstance(statement, str) else statement
        try:
            return await self._provider.execute_sql(
                tx_ctx=tx_ctx,
                sql=stmt.sql,
                params=params,
                param_types=stmt.param_types,
                column_types=_COLUMN_TYPES,
                read_only=stmt.read_only,
                statement_id=stmt.statement_id,
            )
        except Exception as exc:
            self._raise_translated(exc)

    async def _in_transaction(self, tx_ctx: TxCtxT | None, fn: Callable[[TxCtxT], Awaitable[ResultT]]) -> ResultT:
        if tx_ctx is not None:
            return await fn(tx_ctx)
        return await self.with_transaction(fn)

    def _canonical_id(self, value: str) -> str | None:
        """The id as the database spells it, or `None` when it cannot be one (not a UUID for a UUID column)."""
        if not isinstance(value, str):
            return None
        if not self._uuid_ids:
            return value
        if _CANONICAL_UUID.fullmatch(value):
            # Already spelled the way PostgreSQL prints it (every id queuert generates or reads back).
            return value
        try:
            return str(uuid.UUID(value))
        except ValueError:
            return None

    def _canonical_ids(self, values: Sequence[str]) -> list[str]:
        return [c for v in dict.fromkeys(values) if (c := self._canonical_id(v)) is not None]

    async def _returning_job(
        self, statement: str, params: Sequence[object], tx_ctx: TxCtxT | None, job_id: str
    ) -> StateJob:
        rows = await self._run(statement, params, tx_ctx)
        if not rows:
            raise JobNotFoundError(job_id=job_id)
        return job_from_row(rows[0])

    # --- transactions -------------------------------------------------------------------

    async def with_transaction(self, fn: Callable[[TxCtxT], Awaitable[ResultT]]) -> ResultT:
        """Run `fn(tx_ctx)` in a new READ COMMITTED transaction: commit on return, roll back and re-raise on error.

        Exceptions raised by `fn` propagate unchanged; failures of the transaction itself
        (no connection, a lost connection, a failed commit) are translated.
        """
        self._check_open()
        raised: list[BaseException] = []

        async def run(tx_ctx: TxCtxT) -> ResultT:
            try:
                return await fn(tx_ctx)
            except BaseException as exc:
                raised.append(exc)
                raise

        try:
            return await self._provider.with_transaction(run)
        except Exception as exc:
            if raised and exc is raised[-1]:
                raise
            self._raise_translated(exc)

    async def with_savepoint(self, tx_ctx: TxCtxT, fn: Callable[[TxCtxT], Awaitable[ResultT]]) -> ResultT:
        """Run `fn(tx_ctx)` in a savepoint; on error roll back to it (the transaction stays usable) and re-raise."""
        self._check_open()
        provider_savepoint = getattr(self._provider, "with_savepoint", None)
        if provider_savepoint is not None:
            return cast("ResultT", await provider_savepoint(tx_ctx, fn))
        name = f"queuert_sp_{uuid.uuid4().hex}"
        await self._run(self._statement(f"SAVEPOINT {name}", name=None, read_only=False), (), tx_ctx)
        try:
            result = await fn(tx_ctx)
        except BaseException:
            try:
                await self._run(
                    self._statement(f"ROLLBACK TO SAVEPOINT {name}", name=None, read_only=False), (), tx_ctx
                )
            except Exception:
                pass
            raise
        await self._run(self._statement(f"RELEASE SAVEPOINT {name}", name=None, read_only=False), (), tx_ctx)
        return result

    async def open_transaction(self) -> ScopeHandle[TxCtxT] | None:
        """Begin a READ COMMITTED transaction ended later by the handle; `None` if the provider cannot hand one out.

        Uses the provider's optional `open_transaction()`; failures to begin, commit or roll
        back are translated as in `with_transaction`.
        """
        self._check_open()
        opener = getattr(self._provider, "open_transaction", None)
        if opener is None:
            return None
        try:
            handle = cast("ScopeHandle[TxCtxT]", await opener())
        except Exception as exc:
            self._raise_translated(exc)
        return TranslatedScope(handle, self._raise_translated)

    async def open_savepoint(self, tx_ctx: TxCtxT) -> ScopeHandle[TxCtxT] | None:
        """Take a savepoint ended later by the handle; `None` if the provider cannot hand one out."""
        self._check_open()
        opener = getattr(self._provider, "open_savepoint", None)
        if opener is None:
            return None
        try:
            handle = cast("ScopeHandle[TxCtxT]", await opener(tx_ctx))
        except Exception as exc:
            self._raise_translated(exc)
        return TranslatedScope(handle, self._raise_translated)

    # --- single reads -------------------------------------------------------------------

    async def get_job(
        self, job_id: str, *, tx_ctx: TxCtxT | None = None, lock: LockMode | None = None
    ) -> StateJob | None:
        """Return the job or `None`; `lock="exclusive"` takes `FOR UPDATE` on it until the transaction ends."""
        self._check_open()
        canonical = self._canonical_id(job_id)
        if canonical is None:
            return None
        rows = await self._run("get_job_for_update" if lock == "exclusive" else "get_job", (canonical,), tx_ctx)
        return job_from_row(rows[0]) if rows else None

    async def get_chain(
        self, chain_id: str, *, tx_ctx: TxCtxT | None = None, lock: LockMode | None = None
    ) -> StateChain | None:
        """Return `(first job, newest job or None)`, or `None`; an exclusive lock covers the newest job only."""
        self._check_open()
        canonical = self._canonical_id(chain_id)
        if canonical is None:
            return None
        rows = await self._run("get_chain_for_update" if lock == "exclusive" else "get_chain", (canonical,), tx_ctx)
        return _chain_from_row(rows[0]) if rows else None

    async def get_job_blockers(self, job_id: str, *, tx_ctx: TxCtxT | None = None) -> list[StateChain]:
        """Return the job's blocker chains in slot order; chains that no longer exist are skipped."""
        self._check_open()
        canonical = self._canonical_id(job_id)
        if canonical is None:
            return []
        if self._acquired_without_blockers.pop(canonical, False) is None:
            return []
        return [_chain_from_row(row) for row in await self._run("get_job_blockers", (canonical,), tx_ctx)]

    async def get_next_job_available_in_ms(
        self, type_names: Sequence[str], *, tx_ctx: TxCtxT | None = None
    ) -> int | None:
        """Milliseconds (rounded up) until the earliest pending job of these types is due, 0 if one is, else `None`.

        Jobs locked by another transaction (being processed in atomic mode) are skipped.
        """
        self._check_open()
        names = list(dict.fromkeys(type_names))
        if not names:
            return None
        rows = await self._run("get_next_job_available_in_ms", (names,), tx_ctx)
        return int(cast("int", rows[0]["available_in_ms"])) if rows else None

    # --- creation and blockers ----------------------------------------------------------

    def _new_id(self, params: CreateJobParams) -> str:
        if params.id is not None:
            if self._validate_id is not None and not self._validate_id(params.id):
                raise InvalidJobIdError(id=params.id, source="caller")
            canonical = self._canonical_id(params.id)
            if canonical is None:
                raise InvalidJobIdError(
                    f"Invalid job id {params.id!r} (supplied by the caller): the id column is a UUID",
                    id=params.id,
                    source="caller",
                )
            return canonical
        generated = self._generate_id()
        if self._canonical_generator:
            return generated
        canonical = self._canonical_id(generated)
        if canonical is None or (self._validate_id is not None and not self._validate_id(generated)):
            raise InvalidJobIdError(id=generated, source="generator")
        return canonical

    def _create_row(self, params: CreateJobParams) -> tuple[object, ...]:
        """One job's values for the `unnest` columns of `CREATE_JOBS`, ids validated and canonical."""
        new_id = self._new_id(params)
        chain_id: str | None = None
        if params.chain_id is not None:
            chain_id = self._canonical_id(params.chain_id)
            if chain_id is None:
                raise ChainNotFoundError(chain_id=params.chain_id)
        schedule_at, schedule_after_ms = _schedule_values(params)
        dedup = params.deduplication
        exclude: str | None = None
        if dedup is not None and dedup.exclude_chain_ids:
            exclude = encode_json(cast("JsonValue", self._canonical_ids(list(dedup.exclude_chain_ids))))
        return (
            new_id,
            params.type_name,
            chain_id,
            params.chain_type_name,
            params.chain_index,
            encode_json(params.input),
            dedup.key if dedup is not None else None,
            (dedup.scope or "incomplete") if dedup is not None else None,
            float(dedup.window_ms) if dedup is not None and dedup.window_ms is not None else None,
            exclude,
            schedule_at,
            schedule_after_ms,
            params.chain_trace_context,
            params.trace_context,
        )

    def _lock_key(self, chain_type_name: str, key: str) -> int:
        digest = hashlib.blake2b(
            self._lock_namespace + b"\x00" + chain_type_name.encode() + b"\x00" + key.encode(), digest_size=8
        ).digest()
        return int.from_bytes(digest, "big", signed=True)

    async def create_jobs(self, jobs: Sequence[CreateJobParams], *, tx_ctx: TxCtxT | None = None) -> list[CreatedJob]:
        """Insert jobs in one statement, or return existing ones where a continuation or deduplication matches.

        See `StateAdapter.create_jobs`. Deduplication is race-free: when any job carries a
        deduplication key, a transaction-scoped advisory lock per (chain type, key) is taken
        first (one extra round trip; without `tx_ctx` both run in one short transaction), so
        two concurrent transactions starting the same key cannot both insert.

        Raises:
            InvalidJobIdError: A caller-supplied or generated id is rejected (nothing is written).
            DuplicateJobIdError: A caller-supplied id is used twice in the batch or already exists.
            ChainNotFoundError: A continuation names a chain that does not exist.
            ValueError: An input is not JSON-serializable (NaN, infinity).
        """
        self._check_open()
        if not jobs:
            return []
        # Only the in-batch duplicate check runs up front: `_create_row` validates each id as it
        # canonicalises it, so a batch with a repeated id reports the repetition first.
        check_caller_ids(jobs, None)
        if self._acquired_without_blockers:
            self._forget_blockers_hint(
                c for p in jobs if p.id is not None and (c := self._canonical_id(p.id)) is not None
            )
        if all(p.chain_id is None and p.deduplication is None for p in jobs):
            return await self._create_root_jobs(jobs, tx_ctx)
        columns: list[list[Any]] = [[] for _ in range(14)]
        lock_keys: set[int] = set()
        for params in jobs:
            values = self._create_row(params)
            if params.deduplication is not None:
                lock_keys.add(self._lock_key(params.chain_type_name, params.deduplication.key))
            for column, value in zip(columns, values, strict=True):
                column.append(value)

        async def create(tx: TxCtxT | None) -> list[Mapping[str, object]]:
            if lock_keys:
                await self._run("lock_deduplication_keys", (sorted(lock_keys),), tx)
            return await self._run("create_jobs", columns, tx)

        rows = await (self._in_transaction(tx_ctx, create) if lock_keys else create(tx_ctx))
        by_ord: dict[int, Mapping[str, object]] = {int(cast("int", row["ord"])): row for row in rows}
        results: list[CreatedJob] = []
        for ord_ in range(1, len(jobs) + 1):
            row = by_ord[ord_]
            same_as = row["same_as"]
            if same_as is not None:
                results.append(CreatedJob(job_from_row(by_ord[int(cast("int", same_as))]), True))
            else:
                results.append(CreatedJob(job_from_row(row), bool(row["deduplicated"])))
        return results

    async def _create_root_jobs(self, jobs: Sequence[CreateJobParams], tx_ctx: TxCtxT | None) -> list[CreatedJob]:
        """`create_jobs` for a batch of first jobs without deduplication keys: one plain `INSERT`."""
        ids: list[str] = []
        inputs: list[str | None] = []
        for params in jobs:
            ids.append(self._new_id(params))
            inputs.append(encode_json(params.input))
        if len(jobs) == 1:
            [params] = jobs
            at, after_ms = _schedule_values(params)
            row = (
                ids[0],
                params.type_name,
                params.chain_type_name,
                params.chain_index,
                inputs[0],
                at,
                after_ms,
                params.chain_trace_context,
                params.trace_context,
            )
            [inserted] = await self._run("create_root_job", row, tx_ctx)
            return [CreatedJob(_new_root_job(params, inputs[0], inserted), False)]
        schedules = [_schedule_values(params) for params in jobs]
        rows = await self._run(
            "create_root_jobs",
            (
                ids,
                [params.type_name for params in jobs],
                [params.chain_type_name for params in jobs],
                [params.chain_index for params in jobs],
                inputs,
                [at for at, _ in schedules],
                [after_ms for _, after_ms in schedules],
                [params.chain_trace_context for params in jobs],
                [params.trace_context for params in jobs],
            ),
            tx_ctx,
        )
        by_id = {cast("str", row["id"]): row for row in rows}
        ordered = [by_id.get(job_id) for job_id in ids]
        if None in ordered:
            # An id type that spells ids differently from the text sent (a numeric id with a
            # leading zero): `INSERT ... SELECT` returns its rows in the order it inserted them.
            ordered = list(rows)
        return [
            CreatedJob(_new_root_job(params, text, cast("Mapping[str, object]", row)), False)
            for params, text, row in zip(jobs, inputs, ordered, strict=True)
        ]

    async def add_jobs_blockers(
        self, job_blockers: Sequence[JobBlockersParams], *, tx_ctx: TxCtxT | None = None
    ) -> list[AddedJobBlockers]:
        """Attach blocker chains and block the pending jobs whose blockers are not all complete.

        One statement: it takes a share lock on the newest job of every blocker chain (in id
        order), so a concurrent completion of a blocker chain either is seen here or sees the
        new blocker rows. It is repeated, rarely, when a blocker chain moved on while it waited.

        Raises:
            JobNotFoundError: A job does not exist.
            ChainNotFoundError: A blocker chain does not exist.
            ValueError: `blocker_trace_contexts` does not match `blocked_by_chain_ids` in length.
        """
        self._check_open()
        if not job_blockers:
            return []
        job_ids: list[str] = []
        chain_ids: list[str] = []
        contexts: list[str | None] = []
        indexes: list[int] = []
        canonical_jobs: list[str] = []
        for params in job_blockers:
            job_id = self._canonical_id(params.job_id)
            if job_id is None:
                raise JobNotFoundError(job_id=params.job_id)
            canonical_jobs.append(job_id)
            trace = params.blocker_trace_contexts
            if trace is not None and len(trace) != len(params.blocked_by_chain_ids):
                raise ValueError(
                    f"blocker_trace_contexts has {len(trace)} entries for "
                    f"{len(params.blocked_by_chain_ids)} blocker chains (job {params.job_id!r})"
                )
            for index, raw_chain_id in enumerate(params.blocked_by_chain_ids):
                chain_id = self._canonical_id(raw_chain_id)
                if chain_id is None:
                    raise ChainNotFoundError(chain_id=raw_chain_id)
                job_ids.append(job_id)
                chain_ids.append(chain_id)
                contexts.append(trace[index] if trace is not None else None)
                indexes.append(index)
        self._forget_blockers_hint(canonical_jobs)
        self._forget_unwatched_chain_ends(chain_ids)
        by_job: dict[str, Mapping[str, object]] = {}
        if job_ids:
            for _ in range(_MAX_BLOCKER_RETRIES):
                rows = await self._run("add_jobs_blockers", (job_ids, chain_ids, contexts, indexes), tx_ctx)
                if rows and all(row["stable"] for row in rows):
                    by_job = {cast("str", row["id"]): row for row in rows}
                    break
            else:
                raise RuntimeError("add_jobs_blockers: blocker chains kept changing; try again")
        results: list[AddedJobBlockers] = []
        consumed: dict[str, int] = {}
        for params, job_id in zip(job_blockers, canonical_jobs, strict=True):
            row = by_job.get(job_id)
            if row is None:
                job = await self.get_job(job_id, tx_ctx=tx_ctx)
                if job is None or params.blocked_by_chain_ids:
                    raise JobNotFoundError(job_id=params.job_id)
                results.append(AddedJobBlockers(job, (), ()))
                continue
            # A job named in several entries gets one row; each entry takes its own share, in order.
            start = consumed.get(job_id, 0)
            count = len(params.blocked_by_chain_ids)
            consumed[job_id] = start + count
            traces = cast("list[str | None]", row["blocker_chain_trace_contexts"])[start : start + count]
            mine = {self._canonical_id(c) for c in params.blocked_by_chain_ids}
            incomplete = tuple(c for c in cast("list[str]", row["incomplete_blocker_chain_ids"]) if c in mine)
            results.append(AddedJobBlockers(job_from_row(row), incomplete, tuple(traces)))
        return results

    async def unblock_jobs(self, blocked_by_chain_id: str, *, tx_ctx: TxCtxT | None = None) -> UnblockedJobs:
        """Move to `pending` the blocked dependents of this chain whose blocker chains are now all complete.

        Locks the blocked dependents first (in id order), then decides in a second statement,
        so two blocker chains completing at once in two transactions cannot both miss the
        moment their common dependent becomes ready. Without blocked dependents the second
        statement is skipped. When `complete_job` has just ended the chain in this same
        transaction, on a job the transaction had locked beforehand, and saw no blocker row
        naming the chain (a worker's usual case), nothing is sent at all.
        """
        self._check_open()
        chain_id = self._canonical_id(blocked_by_chain_id)
        if chain_id is None:
            return UnblockedJobs((), ())
        if self._unwatched_chain_ends:
            completed_in = self._unwatched_chain_ends.pop(chain_id, None)
            if tx_ctx is not None and completed_in is tx_ctx:
                # This transaction just completed the chain's last job, holding its lock since
                # an earlier statement, and no blocker row named the chain (see COMPLETE_JOB):
                # no job to unblock and no trace context to report, so no SQL.
                return UnblockedJobs((), ())

        async def run(tx: TxCtxT) -> UnblockedJobs:
            [head] = await self._run("lock_blocked_dependents", (chain_id,), tx)
            trace_contexts = tuple(cast("list[str]", head["blocker_trace_contexts"]))
            if not head["dependents"]:
                return UnblockedJobs((), trace_contexts)
            rows = await self._run("unblock_jobs", (chain_id,), tx)
            return UnblockedJobs(tuple(job_from_row(row) for row in rows), trace_contexts)

        return await self._in_transaction(tx_ctx, run)

    # --- the worker's transitions -------------------------------------------------------

    async def acquire_job(self, type_names: Sequence[str], *, tx_ctx: TxCtxT | None = None) -> AcquiredJob:
        """Claim the due pending job of these types with the earliest `scheduled_at`; skip rows others hold.

        The claim is an index walk that stops at the first row it can lock, whatever the
        backlog. `has_more` is exact for rows visible to this statement (rows other workers
        hold count as available).
        """
        self._check_open()
        names = list(dict.fromkeys(type_names))
        if not names:
            return AcquiredJob(None, False)
        if len(names) == 1:
            rows = await self._run("acquire_job_one_type", (names[0],), tx_ctx)
        else:
            rows = await self._run("acquire_job_many_types", (names,), tx_ctx)
        if not rows:
            return AcquiredJob(None, False)
        job = job_from_row(rows[0])
        if not rows[0]["has_blockers"]:
            self._acquired_without_blockers[job.id] = None
            if len(self._acquired_without_blockers) > _HINT_MEMORY:
                self._acquired_without_blockers.popitem(last=False)
        return AcquiredJob(job, bool(rows[0]["has_more"]))

    def _forget_blockers_hint(self, job_ids: Iterable[str]) -> None:
        for job_id in job_ids:
            self._acquired_without_blockers.pop(job_id, None)

    def _forget_unwatched_chain_ends(self, chain_ids: Iterable[str]) -> None:
        if self._unwatched_chain_ends:
            for chain_id in chain_ids:
                self._unwatched_chain_ends.pop(chain_id, None)

    async def renew_job_lease(
        self, job_id: str, *, worker_id: str, lease_duration_ms: float, tx_ctx: TxCtxT | None = None
    ) -> StateJob:
        """Set `leased_by`, `leased_until = now + lease_duration_ms` and `status='running'`.

        Raises:
            JobNotFoundError: The job does not exist.
        """
        self._check_open()
        canonical = self._canonical_id(job_id)
        if canonical is None:
            raise JobNotFoundError(job_id=job_id)
        return await self._returning_job(
            "renew_job_lease", (canonical, worker_id, float(lease_duration_ms)), tx_ctx, job_id
        )

    async def reschedule_job(
        self, job_id: str, *, schedule: ScheduleOptions, error: str | None, tx_ctx: TxCtxT | None = None
    ) -> StateJob:
        """Set `pending`, `scheduled_at = max(requested, now)`, `last_attempt_at = now`, the error; clear the lease.

        Raises:
            JobNotFoundError: The job does not exist.
        """
        self._check_open()
        canonical = self._canonical_id(job_id)
        if canonical is None:
            raise JobNotFoundError(job_id=job_id)
        at = getattr(schedule, "at", None)
        after_ms = None if at is not None else float(getattr(schedule, "after_ms", 0))
        params = (canonical, _aware(at) if at is not None else None, after_ms, encode_json(error))
        return await self._returning_job("reschedule_job", params, tx_ctx, job_id)

    async def complete_job(
        self, job_id: str, *, output: JsonValue, worker_id: str | None, tx_ctx: TxCtxT | None = None
    ) -> StateJob:
        """Set `completed`, `completed_at = now`, `completed_by`, `output`; clear the lease and the last error.

        Raises:
            JobNotFoundError: The job does not exist.
            ValueError: `output` is not JSON-serializable.
        """
        self._check_open()
        canonical = self._canonical_id(job_id)
        if canonical is None:
            raise JobNotFoundError(job_id=job_id)
        rows = await self._run("complete_job", (canonical, encode_json(output), worker_id), tx_ctx)
        if not rows:
            raise JobNotFoundError(job_id=job_id)
        job = job_from_row(rows[0])
        unwatched = self._unwatched_chain_ends
        if rows[0]["unwatched_chain_end"] and tx_ctx is not None:
            unwatched[job.chain_id] = tx_ctx
            unwatched.move_to_end(job.chain_id)
            if len(unwatched) > _HINT_MEMORY:
                unwatched.popitem(last=False)
        elif unwatched:
            unwatched.pop(job.chain_id, None)
        return job

    async def reap_expired_job_lease(
        self, type_names: Sequence[str], *, ignored_job_ids: Sequence[str] = (), tx_ctx: TxCtxT | None = None
    ) -> ReapedJob | None:
        """Return to `pending` the running job of these types whose lease expired longest ago (at most one).

        Skips `ignored_job_ids` and rows other transactions hold; changes nothing but the
        lease and the status. The result carries the expired lease.
        """
        self._check_open()
        names = list(dict.fromkeys(type_names))
        if not names:
            return None
        rows = await self._run("reap_expired_job_lease", (names, self._canonical_ids(ignored_job_ids)), tx_ctx)
        if not rows:
            return None
        row = rows[0]
        expired_until = row["expired_leased_until"]
        return ReapedJob(
            job_from_row(row),
            cast("str | None", row["expired_leased_by"]),
            cast("datetime", expired_until).astimezone(UTC) if expired_until is not None else None,
        )

    # --- admin operations ---------------------------------------------------------------

    async def delete_chains(
        self, chain_ids: Sequence[str], *, cascade: bool = False, tx_ctx: TxCtxT | None = None
    ) -> DeletedChains:
        """Delete whole chains with their blocker rows, or nothing when a chain blocks a job outside the set.

        With `cascade`, first adds the chains the given chains' first jobs wait on,
        transitively (a second statement in the same transaction). Missing ids are skipped.
        """
        self._check_open()
        ids = self._canonical_ids(chain_ids)
        if not ids:
            return DeletedChains()

        async def run(tx: TxCtxT | None) -> list[Mapping[str, object]]:
            targets = ids
            if cascade:
                targets = [cast("str", row["chain_id"]) for row in await self._run("expand_cascade", (ids,), tx)]
            return await self._run("delete_chains", (targets,), tx)

        rows = await (self._in_transaction(tx_ctx, run) if cascade else run(tx_ctx))
        chains: dict[str, list[StateJob]] = {}
        references: list[BlockerReference] = []
        for row in rows:
            if row["kind"] == "reference":
                references.append(
                    BlockerReference(
                        chain_id=cast("str", row["ref_chain_id"]), referenced_by_job_id=cast("str", row["ref_job_id"])
                    )
                )
            else:
                job = job_from_row(row)
                chains.setdefault(job.chain_id, []).append(job)
                self._forget_blockers_hint((job.id,))
                self._forget_unwatched_chain_ends((job.chain_id,))
        if references:
            return DeletedChains(blocker_references=tuple(references))
        deleted: list[StateChain] = []
        for jobs in chains.values():
            jobs.sort(key=lambda job: job.chain_index)
            root, newest = jobs[0], jobs[-1]
            deleted.append(StateChain(root, newest if newest.chain_index > 0 else None))
        return DeletedChains(deleted=tuple(deleted))

    async def trigger_jobs(self, job_ids: Sequence[str], *, tx_ctx: TxCtxT | None = None) -> TriggeredJobs:
        """Make pending jobs due now, all or nothing; report missing and non-pending ids instead of raising.

        Locks the rows in id order, so overlapping concurrent calls cannot deadlock. Results
        follow first-occurrence input order.
        """
        self._check_open()
        if not job_ids:
            return TriggeredJobs()
        original: dict[str, str] = {}
        malformed: list[str] = []
        for job_id in dict.fromkeys(job_ids):
            canonical = self._canonical_id(job_id)
            if canonical is None:
                malformed.append(job_id)
            else:
                original.setdefault(canonical, job_id)
        order = {canonical: index for index, canonical in enumerate(original)}
        rows = await self._run("trigger_jobs", (list(original), not malformed), tx_ctx) if original else []
        triggered: list[StateJob] = []
        not_found: list[str] = []
        not_triggerable: list[tuple[str, JobStatus]] = []
        for row in rows:
            if row["kind"] == "triggered":
                triggered.append(job_from_row(row))
            elif row["kind"] == "not_found":
                not_found.append(cast("str", row["ref_id"]))
            else:
                not_triggerable.append((cast("str", row["ref_id"]), cast("JobStatus", row["ref_status"])))
        triggered.sort(key=lambda job: order.get(job.id, len(order)))
        not_found.sort(key=lambda job_id: order.get(job_id, len(order)))
        not_triggerable.sort(key=lambda item: order.get(item[0], len(order)))
        return TriggeredJobs(
            jobs=tuple(triggered),
            not_found=tuple(original.get(job_id, job_id) for job_id in not_found) + tuple(malformed),
            not_triggerable=tuple(not_triggerable),
        )

    # --- listings -----------------------------------------------------------------------

    def _ids_filter(self, values: Sequence[str]) -> list[str] | None:
        """Canonical ids for a filter, `None` when the filter is off, `[]` when it can match nothing."""
        if not values:
            return None
        return self._canonical_ids(values)

    def _cursor_condition(
        self, params: _Params, cursor: str | None, descending: bool, key_column: str, id_column: str
    ) -> str | None:
        if cursor is None:
            return None
        comparison = "<" if descending else ">"
        key: object
        if key_column.endswith("chain_index"):
            decoded_index = decode_cursor(cursor, "chain_index")
            key, cursor_id = decoded_index.chain_index, decoded_index.id
            key_sql = params.add(key) + "::int"
        else:
            decoded_time = decode_cursor(cursor, "created_at")
            key, cursor_id = decoded_time.created_at, decoded_time.id
            key_sql = params.add(key) + "::timestamptz"
        canonical = self._canonical_id(cursor_id)
        if canonical is None:
            raise InvalidCursorError(cursor=cursor)
        id_sql = params.add(canonical) + "::text::{id_type}"
        return f"({key_column}, {id_column}) {comparison} ({key_sql}, {id_sql})"

    async def _keyset_rows(
        self,
        select: str,
        where: list[str],
        params: _Params,
        keys: tuple[str, str],
        *,
        cursor: str | None,
        descending: bool,
        limit: int,
        tx_ctx: TxCtxT | None,
    ) -> list[Mapping[str, object]]:
        """One page of a listing ordered by `keys` (a sort column, then the id), one row more than `limit`."""
        key_column, id_column = keys
        keyset = self._cursor_condition(params, cursor, descending, key_column, id_column)
        conditions = [*where, keyset] if keyset is not None else where
        direction = "DESC" if descending else "ASC"
        sql = (
            f"{select} "
            + (f"WHERE {' AND '.join(conditions)} " if conditions else "")
            + f"ORDER BY {key_column} {direction}, {id_column} {direction} LIMIT {params.add(limit + 1)}::int"
        )
        return await self._run(self._statement(sql, name=None, read_only=True), params.values, tx_ctx)

    async def _job_page(
        self,
        where: list[str],
        params: _Params,
        *,
        by_chain_index: bool = False,
        cursor: str | None,
        descending: bool,
        limit: int,
        tx_ctx: TxCtxT | None,
    ) -> Page[StateJob]:
        """A page of jobs by `(created_at, id)`, or by `(chain_index, id)` within one chain."""
        keys = ("j.chain_index", "j.id") if by_chain_index else ("j.created_at", "j.id")
        rows = await self._keyset_rows(
            _SELECT_JOBS, where, params, keys, cursor=cursor, descending=descending, limit=limit, tx_ctx=tx_ctx
        )
        codec = job_chain_index_cursor if by_chain_index else job_created_at_cursor
        return build_page([job_from_row(row) for row in rows], limit, codec)

    async def list_chains(
        self,
        *,
        filter: ChainFilter,
        order_direction: OrderDirection = "desc",
        cursor: str | None = None,
        limit: int = 50,
        tx_ctx: TxCtxT | None = None,
    ) -> Page[StateChain]:
        """List chains by their first job's `(created_at, id)`; `status` filters on each chain's newest job.

        Naive `from_` / `to` datetimes are taken as UTC.

        Raises:
            InvalidCursorError: `cursor` is not a cursor of this listing.
        """
        self._check_open()
        descending = check_order_direction(order_direction)
        check_page_limit(limit)
        params = _Params()
        where = ["root.chain_index = 0"]
        if filter.type_name:
            where.append(f"root.type_name = ANY({params.add(list(filter.type_name))}::text[])")
        if filter.root_only:
            where.append("NOT EXISTS (SELECT 1 FROM {job_blocker} jb WHERE jb.blocked_by_chain_id = root.id)")
        chain_ids = self._ids_filter(filter.chain_id)
        job_ids = self._ids_filter(filter.job_id)
        if chain_ids == [] or job_ids == []:
            return build_page([], limit, chain_created_at_cursor)
        if chain_ids is not None:
            where.append(f"root.id = ANY({params.add(chain_ids)}::text[]::{{id_type}}[])")
        if job_ids is not None:
            containing = (
                f"SELECT x.chain_id FROM {{job}} x WHERE x.id = ANY({params.add(job_ids)}::text[]::{{id_type}}[])"
            )
            where.append(f"root.id IN ({containing})")
        if filter.status:
            where.append(f"lc.status = ANY({params.add(list(filter.status))}::text[]::{{status_t}}[])")
        if filter.from_ is not None:
            where.append(f"root.created_at >= {params.add(_aware(filter.from_))}::timestamptz")
        if filter.to is not None:
            where.append(f"root.created_at <= {params.add(_aware(filter.to))}::timestamptz")
        rows = await self._keyset_rows(
            "SELECT {cols:root}, {cols:lc:lc_} FROM {job} root "
            "LEFT JOIN LATERAL (SELECT * FROM {job} x WHERE x.chain_id = root.id "
            "ORDER BY x.chain_index DESC LIMIT 1) lc ON true",
            where,
            params,
            ("root.created_at", "root.id"),
            cursor=cursor,
            descending=descending,
            limit=limit,
            tx_ctx=tx_ctx,
        )
        return build_page([_chain_from_row(row) for row in rows], limit, chain_created_at_cursor)

    async def list_jobs(
        self,
        *,
        filter: JobFilter,
        order_direction: OrderDirection = "desc",
        cursor: str | None = None,
        limit: int = 50,
        tx_ctx: TxCtxT | None = None,
    ) -> Page[StateJob]:
        """List jobs by `(created_at, id)`. Naive `from_` / `to` datetimes are taken as UTC.

        Raises:
            InvalidCursorError: `cursor` is not a cursor of this listing.
        """
        self._check_open()
        descending = check_order_direction(order_direction)
        check_page_limit(limit)
        params = _Params()
        where: list[str] = []
        if filter.type_name:
            where.append(f"j.type_name = ANY({params.add(list(filter.type_name))}::text[])")
        if filter.chain_type_name:
            where.append(f"j.chain_type_name = ANY({params.add(list(filter.chain_type_name))}::text[])")
        if filter.status:
            where.append(f"j.status = ANY({params.add(list(filter.status))}::text[]::{{status_t}}[])")
        chain_ids = self._ids_filter(filter.chain_id)
        job_ids = self._ids_filter(filter.job_id)
        if chain_ids == [] or job_ids == []:
            return build_page([], limit, job_created_at_cursor)
        if chain_ids is not None:
            where.append(f"j.chain_id = ANY({params.add(chain_ids)}::text[]::{{id_type}}[])")
        if job_ids is not None:
            where.append(f"j.id = ANY({params.add(job_ids)}::text[]::{{id_type}}[])")
        if filter.from_ is not None:
            where.append(f"j.created_at >= {params.add(_aware(filter.from_))}::timestamptz")
        if filter.to is not None:
            where.append(f"j.created_at <= {params.add(_aware(filter.to))}::timestamptz")
        return await self._job_page(where, params, cursor=cursor, descending=descending, limit=limit, tx_ctx=tx_ctx)

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
        canonical = self._canonical_id(chain_id)
        if canonical is None:
            return build_page([], limit, job_chain_index_cursor)
        params = _Params(canonical)
        where = ["j.chain_id = $1::text::{id_type}"]
        return await self._job_page(
            where, params, by_chain_index=True, cursor=cursor, descending=descending, limit=limit, tx_ctx=tx_ctx
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
        """List the jobs that name this chain as a blocker, in any status, by `(created_at, id)`.

        Raises:
            InvalidCursorError: `cursor` is not a cursor of this listing.
        """
        self._check_open()
        descending = check_order_direction(order_direction)
        check_page_limit(limit)
        canonical = self._canonical_id(chain_id)
        if canonical is None:
            return build_page([], limit, job_created_at_cursor)
        params = _Params(canonical)
        where = ["j.id IN (SELECT jb.job_id FROM {job_blocker} jb WHERE jb.blocked_by_chain_id = $1::text::{id_type})"]
        return await self._job_page(where, params, cursor=cursor, descending=descending, limit=limit, tx_ctx=tx_ctx)

    # --- schema and maintenance ---------------------------------------------------------

    async def migrate_to_latest(self, *, allow_unrecognized: bool = False) -> MigrationResult:
        """Apply every migration this version knows and the database lacks, in order. Idempotent.

        Each migration runs in its own transaction together with the row that records it;
        a transaction-scoped advisory lock makes concurrent callers (several processes
        starting at once) apply each migration exactly once. A failure stops the run and
        raises; migrations applied before it stay applied. The schema must exist already.

        Args:
            allow_unrecognized: Proceed although the database records migrations this version
                does not know (it was migrated by a newer version). Off by default.

        Raises:
            SchemaVersionError: The database was migrated by a newer version of queuert.
            SchemaNotFoundError: The configured schema does not exist.
        """
        self._check_open()
        lock_name = self._names.migration

        async def read_applied() -> list[str]:
            async def run(tx: TxCtxT) -> list[str]:
                await self._run("lock_migrations", (lock_name,), tx)
                await self._run("create_migration_table", (), tx)
                rows = await self._run("select_migrations", (), tx)
                return [cast("str", row["name"]) for row in rows]

            return await self._migration_step(run)

        async def apply(template: Migration) -> bool:
            migration = render_migration(template, self._names)
            statements = [self._statement(sql, name=None, read_only=False) for sql in migration.statements]

            async def record(tx: TxCtxT, *, run_statements: bool) -> bool:
                await self._run("lock_migrations", (lock_name,), tx)
                if await self._run("migration_applied", (migration.name,), tx):
                    return False  # another process applied it meanwhile
                if run_statements:
                    for statement in statements:
                        await self._run(statement, (), tx)
                await self._run("record_migration", (migration.name,), tx)
                return True

            if migration.transactional:
                return await self._migration_step(lambda tx: record(tx, run_statements=True))
            for statement in statements:
                await self._run(statement, (), None)
            return await self._migration_step(lambda tx: record(tx, run_statements=False))

        return await run_migrations(
            load_migrations(), read_applied=read_applied, apply=apply, allow_unrecognized=allow_unrecognized
        )

    async def _migration_step(self, fn: Callable[[TxCtxT], Awaitable[ResultT]]) -> ResultT:
        try:
            return await self.with_transaction(fn)
        except Exception as exc:
            if self._is_missing_schema(exc):
                raise SchemaNotFoundError(schema=self._names.schema) from exc
            raise

    def _is_missing_schema(self, exc: BaseException) -> bool:
        current: BaseException | None = exc
        while current is not None:
            for candidate in (current, getattr(current, "orig", None)):
                if getattr(candidate, "sqlstate", None) == "3F000":
                    return True
            current = current.__cause__
        return False

    async def vacuum(self) -> None:
        """Run `VACUUM` on the job and blocker tables (outside any transaction)."""
        await self._run("vacuum_job", (), None)
        await self._run("vacuum_job_blocker", (), None)

    async def truncate(self) -> None:
        """Delete every job and blocker row. Meant for tests."""
        await self._run("truncate", (), None)
        self._acquired_without_blockers.clear()
        self._unwatched_chain_ends.clear()

    async def close(self) -> None:
        """Mark the adapter closed and close the provider (if it has `close`). Idempotent."""
        if self._closed:
            return
        self._closed = True
        close = getattr(self._provider, "close", None)
        if close is not None:
            await close()


async def create_pg_state_adapter(
    *,
    state_provider: PgStateProvider[TxCtxT],
    schema: str = "public",
    table_prefix: str = "queuert_",
    id_type: str = "uuid",
    generate_id: Callable[[], str] = default_generate_id,
    validate_id: Callable[[str], bool] | None = None,
) -> PgStateAdapter[TxCtxT]:
    """Create a state adapter that stores queuert's jobs in PostgreSQL.

    Does no I/O: call `await adapter.migrate_to_latest()` once (at deploy or start-up) to
    create or upgrade the tables, or apply `get_migration_sql()` with your own tool.

    Args:
        state_provider: Runs SQL on your driver: `AsyncpgPoolProvider`, `PsycopgPoolProvider`,
            `SqlAlchemyProvider`, or your own `PgStateProvider`.
        schema: Schema holding the tables; it must exist (`public` by default).
        table_prefix: Prefix of every table, type and index name.
        id_type: SQL type of the id columns (`uuid`, `text`, `varchar`, ...; one word).
        generate_id: Makes the id of each new job without a caller-supplied id.
        validate_id: Optional check of generated and caller-supplied ids before any write;
            a rejected id raises `InvalidJobIdError`.

    Raises:
        ValueError: `schema`, `table_prefix` or `id_type` does not match
            `^[A-Za-z_][A-Za-z0-9_]*$` (they are pasted into SQL text).
    """
    names = SchemaNames(schema, table_prefix, id_type)
    return PgStateAdapter(state_provider=state_provider, names=names, generate_id=generate_id, validate_id=validate_id)
