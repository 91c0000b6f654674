"""The aiosqlite provider: the recommended way to use an SQLite file from asyncio."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from typing import TYPE_CHECKING, cast

import aiosqlite

from ._errors import translate_error
from ._shared_connection import (
    SharedConnectionProvider,
    check_autocommit,
    check_factory_options,
    configure_connection,
    is_memory_database,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ("AiosqliteProvider", "create_aiosqlite_provider")


class AiosqliteProvider(SharedConnectionProvider[aiosqlite.Connection]):
    """A state provider over one `aiosqlite.Connection`; the transaction context is that connection.

    Wrap a connection your application already has, or let `create_aiosqlite_provider` open
    and configure one. A connection you pass in must be opened with `isolation_level=None`
    and should have `PRAGMA foreign_keys = ON` and a `PRAGMA busy_timeout`; for a file,
    `PRAGMA journal_mode = WAL` lets other processes read while one writes, and
    `PRAGMA auto_vacuum = INCREMENTAL` (set before any table exists) makes `vacuum()` work.

    Every statement queuert runs on the connection is serialized by the provider's
    read/write lock. Your own statements must follow the same discipline: run them inside
    `async with provider.transaction() as conn:`. Passing the connection as `tx_ctx`
    outside such a block raises `RuntimeError`.

    Args:
        connection: An open aiosqlite connection with `isolation_level=None`.
        close_connection: Whether `close()` also closes the connection. `False` by default:
            the application opened it and closes it.
        begin_immediate: Start transactions with `BEGIN IMMEDIATE` (take SQLite's write lock
            at the start, waiting up to the busy timeout) instead of a deferred `BEGIN`.
            Worth it when several processes write the same file.

    Raises:
        MisconfiguredConnectionError: The connection does not have `isolation_level=None`.
    """

    def __init__(
        self, connection: aiosqlite.Connection, *, close_connection: bool = False, begin_immediate: bool = False
    ) -> None:
        check_autocommit(connection.isolation_level, None, provider="AiosqliteProvider")
        super().__init__(connection, close_connection=close_connection, begin_immediate=begin_immediate)

    async def _execute(
        self, sql: str, params: Sequence[str | int | float | None], returns_rows: bool
    ) -> list[Mapping[str, object]]:
        connection = self._connection
        if not returns_rows:
            await connection.execute_fetchall(sql, params)
            return []
        if connection.row_factory is sqlite3.Row:
            # One round trip to the driver thread: the rows carry their column names.
            rows = cast("list[sqlite3.Row]", await connection.execute_fetchall(sql, params))
            if not rows:
                return []
            names = rows[0].keys()
            return [dict(zip(names, row, strict=True)) for row in rows]
        # Any other row factory (the application's connection): read plain tuples from a
        # cursor of our own and name them from its description.
        cursor = await connection.execute(sql, params)
        try:
            cursor.row_factory = None
            values = await cursor.fetchall()
            names = [column[0] for column in cursor.description]
        finally:
            await cursor.close()
        return [dict(zip(names, row, strict=True)) for row in values]

    async def _close_connection_now(self) -> None:
        await self._connection.close()


def _probe(database: str, uri: bool) -> None:
    sqlite3.connect(database, uri=uri).close()


async def create_aiosqlite_provider(
    database: str | os.PathLike[str],
    *,
    busy_timeout_ms: int = 5000,
    journal_mode: str | None = "WAL",
    uri: bool = False,
    begin_immediate: bool = False,
) -> AiosqliteProvider:
    """Open an SQLite database with aiosqlite, configure it for queuert and wrap it in a provider.

    The connection is opened with `isolation_level=None` and rows named by column, then
    gets `PRAGMA busy_timeout`, `PRAGMA foreign_keys = ON`, `PRAGMA auto_vacuum =
    INCREMENTAL` (only while the database is still empty, when it takes effect) and, for a
    file, the journal mode. The provider owns the connection: `close()` closes it.

    Args:
        database: A file path, `":memory:"`, or with `uri=True` an SQLite URI such as
            `"file:jobs.db?mode=ro"`.
        busy_timeout_ms: How long a statement waits for another connection's lock before
            failing with `DatabaseLockedError`.
        journal_mode: The journal mode for a file database (`"WAL"` by default, so readers
            in other processes do not block the writer), or `None` to leave it unchanged,
            for example for a read-only file.
        uri: Interpret `database` as an SQLite URI.
        begin_immediate: Start transactions with `BEGIN IMMEDIATE` (see `AiosqliteProvider`).

    Raises:
        CannotOpenDatabaseError: The file cannot be opened (for example, its directory does not exist).
        NotADatabaseError: The file exists but is not an SQLite database.
        ReadOnlyDatabaseError: The file is read-only and a setting needed writing (pass
            `journal_mode=None` to open a read-only WAL file for reading).
        DatabaseLockedError: Another connection held the file locked for longer than `busy_timeout_ms`.
    """
    mode = check_factory_options(busy_timeout_ms, journal_mode)
    name = os.fspath(database)
    try:
        # Open once with the plain driver first: when aiosqlite's own open fails, its worker
        # thread may later report to an event loop that has closed (an unraisable error).
        await asyncio.to_thread(_probe, name, uri)
        connection = await aiosqlite.connect(name, isolation_level=None, uri=uri, timeout=busy_timeout_ms / 1000)
    except sqlite3.Error as exc:
        translated = translate_error(exc)
        if translated is None:
            raise
        raise translated from exc
    connection.row_factory = sqlite3.Row
    provider = AiosqliteProvider(connection, close_connection=True, begin_immediate=begin_immediate)
    try:
        await configure_connection(
            provider, busy_timeout_ms=busy_timeout_ms, journal_mode=mode, memory=is_memory_database(name, uri=uri)
        )
    except BaseException:
        await connection.close()
        raise
    return provider
