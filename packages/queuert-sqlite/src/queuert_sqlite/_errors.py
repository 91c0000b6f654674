"""Errors of the SQLite backend, and the one place where driver errors become queuert errors.

```
QueuertError
├── MigrationRequiredError        (core) the schema is missing or older than this version expects
├── SchemaVersionError            (core) a newer queuert migrated the database
└── SqliteError                   an SQLite condition the application can act on
    ├── DatabaseLockedError       another connection kept the database locked past busy_timeout
    ├── ReadOnlyDatabaseError     the database (file, directory or connection) is read-only
    ├── NotADatabaseError         the file is not an SQLite database
    ├── CannotOpenDatabaseError   the file cannot be opened (missing directory, permissions)
    ├── IncompatibleSchemaError   tables with queuert's names exist but are not queuert's
    ├── MisconfiguredConnectionError  a required PRAGMA or connection setting is missing
    └── UnsupportedSqliteVersionError the SQLite library is older than 3.35
```

`translate_error` is the choke point: every statement the adapter or a bundled provider
runs goes through it, so a driver error either becomes one of these classes (raised
`from` the original `sqlite3` error) or passes through unchanged when queuert has nothing
better to say about it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from queuert.errors import MigrationRequiredError, QueuertError

__all__ = (
    "CannotOpenDatabaseError",
    "DatabaseLockedError",
    "IncompatibleSchemaError",
    "MisconfiguredConnectionError",
    "NotADatabaseError",
    "ReadOnlyDatabaseError",
    "SqliteError",
    "UnsupportedSqliteVersionError",
    "translate_error",
)

# Primary result codes (the low byte of an extended code), from sqlite3.h.
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26

_MIGRATE_HINT = "run `await state_adapter.migrate_to_latest()` once (it is idempotent and keeps existing data)"


class SqliteError(QueuertError):
    """An SQLite error queuert recognised. The original `sqlite3` error is the `__cause__`."""

    sqlite_errorname: str | None
    """SQLite's name for the result code, such as `"SQLITE_BUSY"` (`None` when not from SQLite)."""

    def __init__(self, message: str | None = None, *, sqlite_errorname: str | None = None, **attributes: Any) -> None:
        super().__init__(message, sqlite_errorname=sqlite_errorname, **attributes)


class DatabaseLockedError(SqliteError):
    """Another connection kept the database locked longer than the busy timeout; nothing was written, retry later."""


class ReadOnlyDatabaseError(SqliteError):
    """The database is read-only (file or directory permissions, `mode=ro`, read-only medium); nothing was written."""


class NotADatabaseError(SqliteError):
    """The file is not an SQLite database (or is encrypted); queuert did not modify it."""


class CannotOpenDatabaseError(SqliteError):
    """SQLite cannot open the database file: check that its directory exists and is accessible."""


class IncompatibleSchemaError(SqliteError):
    """Tables with queuert's names exist but were not created by queuert's migrations; use another `table_prefix`."""


class MisconfiguredConnectionError(SqliteError):
    """The SQLite connection lacks a setting queuert relies on."""


class UnsupportedSqliteVersionError(SqliteError):
    """The SQLite library is too old: queuert needs 3.35 or newer (for `RETURNING`)."""


def translate_error(exc: sqlite3.Error, *, table_prefix: str | None = None) -> QueuertError | None:
    """Map a driver error to the queuert error that explains it, or `None` to let it pass unchanged.

    Constraint violations are left to the caller: only it knows which ids were involved.
    """
    code = getattr(exc, "sqlite_errorcode", None)
    name = getattr(exc, "sqlite_errorname", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc)
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED) or text.startswith("database is locked"):
        return DatabaseLockedError(
            f"The SQLite database is locked by another connection ({text}); nothing was written. "
            "Retry later, or raise the connection's busy timeout",
            sqlite_errorname=name,
        )
    if primary == _SQLITE_READONLY:
        return ReadOnlyDatabaseError(
            f"The SQLite database is read-only ({text}); nothing was written. Check the file and directory "
            "permissions, and that the connection was not opened with mode=ro",
            sqlite_errorname=name,
        )
    if primary == _SQLITE_NOTADB:
        return NotADatabaseError(
            f"The file is not an SQLite database ({text}); queuert left it untouched. Point the provider at "
            "another file",
            sqlite_errorname=name,
        )
    if primary == _SQLITE_CANTOPEN:
        return CannotOpenDatabaseError(
            f"SQLite cannot open the database file ({text}); check that its directory exists and is writable",
            sqlite_errorname=name,
        )
    if table_prefix is not None and isinstance(exc, sqlite3.OperationalError):
        # A statement that names a missing queuert table or index: the schema was never
        # migrated here, or was dropped after the adapter checked it.
        for marker in ("no such table: ", "no such index: "):
            if text.startswith(marker) and text[len(marker) :].startswith(table_prefix):
                return MigrationRequiredError(f"The queuert schema is missing or incomplete ({text}); {_MIGRATE_HINT}")
    return None
