"""Errors of the PostgreSQL backend, and the one place where driver errors become queuert errors.

```
QueuertError
├── PostgresConnectionError (ConnectionError)   cannot reach the server, or lost the connection
├── PoolExhaustedError (TimeoutError)           no pooled connection became free in time
└── SchemaNotFoundError (LookupError)           the configured schema does not exist
```

Backend-neutral conditions use the core classes: a missing or partly migrated schema raises
`queuert.MigrationRequiredError`, a schema migrated by a newer version
`queuert.SchemaVersionError`, a caller id that already exists `queuert.DuplicateJobIdError`.

`translate_error` is the choke point. The adapter passes every error a provider raises
through it; the result is raised `from` the original, or the original passes unchanged when
queuert has nothing better to say. It reads SQLSTATE codes and constraint names, so it works
for asyncpg, psycopg and SQLAlchemy (which wraps either) without importing any of them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from queuert.errors import (
    ChainNotFoundError,
    DuplicateJobIdError,
    JobNotFoundError,
    MigrationRequiredError,
    QueuertError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = (
    "PoolExhaustedError",
    "PostgresConnectionError",
    "SchemaNotFoundError",
    "translate_error",
)


class PostgresConnectionError(QueuertError, ConnectionError):
    """queuert could not connect to PostgreSQL, or lost its connection: check the DSN, the server and the network."""


class PoolExhaustedError(QueuertError, TimeoutError):
    """No pooled connection became free in time: every connection is in use."""

    timeout_s: float | None
    """How long the call waited, when known."""

    def __init__(self, message: str | None = None, *, timeout_s: float | None = None) -> None:
        waited = f" within {timeout_s:g} s" if timeout_s is not None else ""
        super().__init__(
            message
            or (
                f"No database connection became free{waited}: the pool is exhausted. Give the pool more "
                "connections (max_size), or lower the worker concurrency that holds them"
            ),
            timeout_s=timeout_s,
        )


class SchemaNotFoundError(QueuertError, LookupError):
    """The configured PostgreSQL schema does not exist; queuert never creates schemas itself."""

    schema: str

    def __init__(self, message: str | None = None, *, schema: str) -> None:
        super().__init__(
            message
            or f"Schema {schema!r} does not exist: create it (CREATE SCHEMA {schema}) before migrate_to_latest()",
            schema=schema,
        )


# SQLSTATE codes (PostgreSQL appendix A).
_UNIQUE_VIOLATION = "23505"
_FOREIGN_KEY_VIOLATION = "23503"
_UNDEFINED_TABLE = "42P01"
_UNDEFINED_OBJECT = "42704"
_INVALID_SCHEMA_NAME = "3F000"
_CONNECTION_STATES = frozenset(
    {
        "57P01",  # admin_shutdown (pg_terminate_backend, server restart)
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (server starting up or shutting down)
        "53300",  # too_many_connections
        "28000",  # invalid_authorization_specification
        "28P01",  # invalid_password
        "3D000",  # invalid_catalog_name: the database in the DSN does not exist
    }
)

_KEY_DETAIL = re.compile(r"Key \((?P<columns>[^)]*)\)=\((?P<values>.*)\) (?:already exists|is not present)")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (SQLAlchemy's `orig`), and its causes, each once."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        pending.append(orig if isinstance(orig, BaseException) else None)
        pending.append(current.__cause__)


def _sqlstate(exc: BaseException) -> str | None:
    for candidate in (getattr(exc, "sqlstate", None), getattr(exc, "pgcode", None)):
        if isinstance(candidate, str) and candidate:
            return candidate
    return None


def _diag(exc: BaseException, attribute: str, psycopg_attribute: str) -> str | None:
    value = getattr(exc, attribute, None)
    if isinstance(value, str):
        return value
    diag = getattr(exc, "diag", None)
    value = getattr(diag, psycopg_attribute, None) if diag is not None else None
    return value if isinstance(value, str) else None


def _key_value(exc: BaseException) -> str | None:
    detail = _diag(exc, "detail", "message_detail") or ""
    match = _KEY_DETAIL.search(detail)
    if match is None:
        return None
    # The first column of the key is the id we report; ids never contain ", " in practice.
    return match.group("values").split(", ")[0]


def _is_connection_failure(exc: BaseException) -> bool:
    kind = type(exc)
    module = kind.__module__
    if isinstance(exc, OSError) and not isinstance(exc, TimeoutError):  # refused, reset, unreachable, DNS
        return True
    if module.startswith("asyncpg") and kind.__name__ in ("ConnectionDoesNotExistError", "InterfaceError"):
        return kind.__name__ == "ConnectionDoesNotExistError" or "closed" in str(exc)
    if module.startswith("psycopg") and kind.__name__ == "OperationalError":
        # psycopg raises a bare OperationalError (no SQLSTATE) when the connection fails or drops.
        return _sqlstate(exc) is None
    return False


def _is_pool_timeout(exc: BaseException) -> bool:
    kind = type(exc)
    return (kind.__module__.startswith("psycopg_pool") and kind.__name__ == "PoolTimeout") or (
        kind.__module__.startswith("sqlalchemy") and kind.__name__ == "TimeoutError"
    )


def translate_error(exc: BaseException, *, schema: str, table_prefix: str) -> QueuertError | None:
    """Map a driver error to the queuert error that explains it, or `None` to let it pass unchanged.

    Args:
        exc: What the provider raised.
        schema: The adapter's schema, to recognise its own objects in messages.
        table_prefix: The adapter's table prefix, likewise.
    """
    for candidate in _chain(exc):
        if isinstance(candidate, QueuertError):
            return None
        mapped = _translate_one(candidate, schema=schema, table_prefix=table_prefix)
        if mapped is not None:
            return mapped
    return None


def _translate_one(exc: BaseException, *, schema: str, table_prefix: str) -> QueuertError | None:
    if _is_pool_timeout(exc):
        return PoolExhaustedError()
    state = _sqlstate(exc)
    if state is None:
        if _is_connection_failure(exc):
            return PostgresConnectionError(f"Lost or could not open the PostgreSQL connection: {exc}")
        return None
    constraint = _diag(exc, "constraint_name", "constraint_name") or ""
    if state == _UNIQUE_VIOLATION and constraint in (
        f"{table_prefix}job_pkey",
        f"{table_prefix}chain_index_idx",
        f"{table_prefix}job_chain_index_idx",
    ):
        return DuplicateJobIdError(id=_key_value(exc) or "?")
    if state == _FOREIGN_KEY_VIOLATION and "is not present" in (_diag(exc, "detail", "message_detail") or ""):
        key = _key_value(exc) or "?"
        if constraint == f"{table_prefix}job_blocker_job_id_fkey":
            return JobNotFoundError(f"Cannot add blockers to job {key!r}: the job does not exist", job_id=key)
        if constraint in (f"{table_prefix}job_chain_id_fkey", f"{table_prefix}job_blocker_blocked_by_chain_id_fkey"):
            return ChainNotFoundError(chain_id=key)
    if state in (_UNDEFINED_TABLE, _UNDEFINED_OBJECT, _INVALID_SCHEMA_NAME):
        message = str(exc)
        if table_prefix in message or (state == _INVALID_SCHEMA_NAME and schema in message):
            return MigrationRequiredError(
                f"The queuert schema is missing or incomplete in schema {schema!r} ({message}); "
                "run `await state_adapter.migrate_to_latest()` once (it is idempotent and keeps existing data)"
            )
    if state.startswith("08") or state in _CONNECTION_STATES:
        return PostgresConnectionError(f"PostgreSQL connection failed ({state}): {exc}")
    return None
