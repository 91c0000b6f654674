"""Backend-neutral pieces every SQL state adapter needs.

The PostgreSQL and SQLite adapters share the upstream table layout, the migration
bookkeeping and the rules for the identifiers pasted into SQL text. This module holds what
does not depend on the SQL dialect:

* identifier validation for `schema`, `table_prefix`, `id_type` and friends;
* `{name}` template rendering and a splitter for multi-statement SQL scripts;
* JSON encoding of inputs, outputs and errors, and decoding of stored rows into `StateJob`;
* the migration plan (`plan_migrations`) and result (`MigrationResult`), and the runner
  (`run_migrations`) that applies pending migrations through two callables;
* a stable statement id for prepared-statement caches.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from ._entities import JOB_STATUSES, JobStatus, JsonValue
from ._state_adapter import StateJob
from .errors import SchemaVersionError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

__all__ = (
    "JOB_COLUMNS",
    "SQL_IDENTIFIER_PATTERN",
    "Migration",
    "MigrationPlan",
    "MigrationResult",
    "decode_json_column",
    "encode_json",
    "job_from_json",
    "job_from_row",
    "plan_migrations",
    "render_sql_template",
    "run_migrations",
    "split_sql_statements",
    "statement_id",
    "validate_sql_identifier",
)

SQL_IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
"""What a configurable SQL name (schema, table prefix, id type) must look like."""

_IDENTIFIER = re.compile(SQL_IDENTIFIER_PATTERN)

JOB_COLUMNS: tuple[str, ...] = (
    "id",
    "type_name",
    "chain_id",
    "chain_type_name",
    "chain_index",
    "input",
    "output",
    "status",
    "created_at",
    "scheduled_at",
    "completed_at",
    "completed_by",
    "attempt",
    "last_attempt_at",
    "last_attempt_error",
    "leased_by",
    "leased_until",
    "deduplication_key",
    "chain_trace_context",
    "trace_context",
)
"""The columns of the job table, in table order (the same in every SQL backend)."""


# --- identifiers and SQL text ---------------------------------------------------------


def validate_sql_identifier(value: object, *, option: str) -> str:
    """Check a name that will be pasted into SQL text, and return it.

    Args:
        value: The configured value.
        option: The option's name, used in the message (`"schema"`, `"table_prefix"`, ...).

    Raises:
        ValueError: `value` is not a string matching `^[A-Za-z_][A-Za-z0-9_]*$`. The message
            starts with `Invalid <option>`, shows the value and the pattern.
    """
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise ValueError(
            f"Invalid {option} {value!r}: it is pasted into SQL text, so it must match {SQL_IDENTIFIER_PATTERN}"
        )
    return value


_TEMPLATE_TOKEN = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def render_sql_template(sql: str, values: Mapping[str, str]) -> str:
    """Replace each `{name}` whose name is in `values`; leave every other brace alone.

    Unlike `str.format`, SQL that contains braces of its own (`'{}'::text[]`, JSON literals)
    needs no escaping.
    """
    return _TEMPLATE_TOKEN.sub(lambda m: values.get(m.group(1), m.group(0)), sql)


def split_sql_statements(script: str) -> list[str]:
    """Split a SQL script into statements at top-level semicolons.

    Semicolons inside quoted strings, quoted identifiers, dollar-quoted bodies (`DO $$ ... $$`)
    and comments do not split. Statements are stripped; empty ones and comment-only ones
    are dropped.
    """
    statements: list[str] = []
    start = 0
    i = 0
    n = len(script)
    while i < n:
        ch = script[i]
        if ch == "-" and script.startswith("--", i):
            end = script.find("\n", i)
            i = n if end == -1 else end + 1
        elif ch == "/" and script.startswith("/*", i):
            end = script.find("*/", i + 2)
            i = n if end == -1 else end + 2
        elif ch in ("'", '"'):
            i = _skip_quoted(script, i, ch)
        elif ch == "$" and (match := re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", script[i:])):
            tag = match.group(0)
            end = script.find(tag, i + len(tag))
            i = n if end == -1 else end + len(tag)
        elif ch == ";":
            statements.append(script[start:i])
            i += 1
            start = i
        else:
            i += 1
    statements.append(script[start:])
    return [s.strip() for s in statements if _has_code(s)]


def _skip_quoted(script: str, i: int, quote: str) -> int:
    i += 1
    while i < len(script):
        if script[i] == quote:
            if script.startswith(quote * 2, i):
                i += 2
                continue
            return i + 1
        i += 1
    return i


def _has_code(statement: str) -> bool:
    without_comments = re.sub(r"--[^\n]*|/\*.*?\*/", "", statement, flags=re.DOTALL)
    return bool(without_comments.strip())


def statement_id(name: str, sql: str) -> str:
    """A stable cache key for a prepared statement: `"<name>@<8 hex>"`.

    The hex part is the 32-bit FNV-1a hash of the final SQL text, so two adapters with
    different schemas or prefixes in one process never share a key.
    """
    value = 0x811C9DC5
    for byte in sql.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{name}@{value:08x}"


# --- values -----------------------------------------------------------------------------


def encode_json(value: JsonValue) -> str | None:
    """Encode a job input, output or error for a JSON column; `None` stays SQL `NULL`.

    Compact separators and literal Unicode keep the stored text identical to what upstream
    queuert writes; NaN and infinities are rejected (`ValueError`) because JSON has no
    spelling for them.
    """
    if value is None:
        return None
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def decode_json_column(value: object) -> JsonValue:
    """Decode a JSON column read as text (`None` for SQL `NULL`).

    A value the driver already decoded (a `dict` or `list`) is returned unchanged.
    """
    if value is None:
        return None
    if isinstance(value, str | bytes | bytearray):
        return cast("JsonValue", json.loads(value))
    return cast("JsonValue", value)


def _timestamp(value: object, column: str) -> datetime:
    if type(value) is datetime and value.tzinfo is UTC:
        # What asyncpg and psycopg return for timestamptz: nothing to convert.
        return value
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(value)
    else:
        raise TypeError(f"column {column!r}: expected a timestamp, got {type(value).__name__}")
    # A naive value comes from a store that keeps UTC without an offset (SQLite).
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _optional_timestamp(value: object, column: str) -> datetime | None:
    return None if value is None else _timestamp(value, column)


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _error_text(value: JsonValue) -> str | None:
    if value is None or isinstance(value, str):
        return value
    # Another writer stored a structured error; keep it readable rather than failing.
    return json.dumps(value, ensure_ascii=False)


def _status(value: object) -> JobStatus:
    for status in JOB_STATUSES:
        if value == status:
            return status
    raise ValueError(f"unknown job status {value!r}")


def _int(value: object, column: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise TypeError(f"column {column!r}: expected an integer, got {value!r}")


def _build_job(get: Callable[[str], object], json_column: Callable[[object], JsonValue]) -> StateJob:
    return StateJob(
        id=str(get("id")),
        type_name=str(get("type_name")),
        chain_id=str(get("chain_id")),
        chain_type_name=str(get("chain_type_name")),
        chain_index=_int(get("chain_index"), "chain_index"),
        input=json_column(get("input")),
        output=json_column(get("output")),
        status=_status(get("status")),
        created_at=_timestamp(get("created_at"), "created_at"),
        scheduled_at=_timestamp(get("scheduled_at"), "scheduled_at"),
        completed_at=_optional_timestamp(get("completed_at"), "completed_at"),
        completed_by=_optional_str(get("completed_by")),
        attempt=_int(get("attempt"), "attempt"),
        last_attempt_at=_optional_timestamp(get("last_attempt_at"), "last_attempt_at"),
        last_attempt_error=_error_text(json_column(get("last_attempt_error"))),
        leased_by=_optional_str(get("leased_by")),
        leased_until=_optional_timestamp(get("leased_until"), "leased_until"),
        deduplication_key=_optional_str(get("deduplication_key")),
        chain_trace_context=_optional_str(get("chain_trace_context")),
        trace_context=_optional_str(get("trace_context")),
    )


def job_from_row(row: Mapping[str, object], *, prefix: str = "") -> StateJob:
    """Decode a job read with the job projection: JSON columns as text, timestamps as values.

    Args:
        row: Column name to driver value. `input`, `output` and `last_attempt_error` hold
            JSON text (or `None`); timestamps are `datetime` or ISO 8601 text (naive means
            UTC); ids may be any value whose `str()` is the id (a `uuid.UUID` works).
        prefix: Read `<prefix><column>` instead of `<column>`, for a second job in one row
            (for example `lc_` for a chain's newest job).

    Raises:
        KeyError: A column is missing.
        ValueError: A value cannot be decoded (unknown status, malformed JSON or timestamp).
    """
    if not prefix:
        return _build_job(row.__getitem__, decode_json_column)
    return _build_job(lambda column: row[prefix + column], decode_json_column)


def job_from_json(obj: Mapping[str, object]) -> StateJob:
    """Decode a job from JSON built in SQL (`row_to_json`, `json_object`).

    JSON columns are already nested values there (not text to decode again), timestamps are
    ISO 8601 strings and ids are strings. Yields the same `StateJob` as `job_from_row` for
    the same stored row.
    """
    return _build_job(obj.__getitem__, lambda value: cast("JsonValue", value))


# --- migrations -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Migration:
    """One named schema change, applied at most once per database."""

    name: str
    """Recorded in the migration table; the names sort in application order."""
    statements: tuple[str, ...]
    """SQL statements, run in order."""
    transactional: bool = True
    """Run the statements and the bookkeeping in one transaction. When `False` (for statements
    such as `CREATE INDEX CONCURRENTLY`), every statement must be idempotent, because a
    half-applied run is retried from the start."""


@dataclass(frozen=True, slots=True)
class MigrationResult:
    """What `migrate_to_latest()` did."""

    applied: tuple[str, ...] = ()
    """Migrations applied by this call, in order."""
    skipped: tuple[str, ...] = ()
    """Known migrations that were already applied."""
    unrecognized: tuple[str, ...] = ()
    """Names recorded in the database that this version does not know (a newer version ran)."""


@dataclass(frozen=True, slots=True)
class MigrationPlan:
    """The migrations still to apply, and how the recorded ones relate to the known list."""

    pending: tuple[Migration, ...] = ()
    skipped: tuple[str, ...] = ()
    unrecognized: tuple[str, ...] = field(default=())


def plan_migrations(migrations: Sequence[Migration], applied_names: Iterable[str]) -> MigrationPlan:
    """Compare the known migrations with the names a database has recorded.

    Pending migrations keep the order of `migrations`; unrecognized names keep the order of
    `applied_names`.
    """
    applied = list(dict.fromkeys(applied_names))
    known = {m.name for m in migrations}
    applied_set = set(applied)
    return MigrationPlan(
        pending=tuple(m for m in migrations if m.name not in applied_set),
        skipped=tuple(name for name in applied if name in known),
        unrecognized=tuple(name for name in applied if name not in known),
    )


async def run_migrations(
    migrations: Sequence[Migration],
    *,
    read_applied: Callable[[], Awaitable[Iterable[str]]],
    apply: Callable[[Migration], Awaitable[bool]],
    allow_unrecognized: bool = False,
) -> MigrationResult:
    """Apply every pending migration in order, stopping at the first failure.

    Args:
        migrations: The known migrations, in application order.
        read_applied: Creates the migration table if needed and returns the recorded names.
        apply: Runs one migration's statements and records its name (in one transaction
            when the migration is transactional). Returns `False` when it found the migration
            already recorded (another process applied it meanwhile), `True` otherwise.
        allow_unrecognized: Proceed even though the database records migrations this version
            does not know.

    Raises:
        SchemaVersionError: The database records unknown migrations (a newer queuert version
            migrated it) and `allow_unrecognized` is false. Nothing is applied then.
        Exception: Whatever `apply` raised; migrations applied before it stay applied.
    """
    plan = plan_migrations(migrations, await read_applied())
    if plan.unrecognized and not allow_unrecognized:
        raise SchemaVersionError(unrecognized_migrations=plan.unrecognized)
    applied: list[str] = []
    skipped = list(plan.skipped)
    for migration in plan.pending:
        if await apply(migration):
            applied.append(migration.name)
        else:
            skipped.append(migration.name)
    return MigrationResult(applied=tuple(applied), skipped=tuple(skipped), unrecognized=plan.unrecognized)
