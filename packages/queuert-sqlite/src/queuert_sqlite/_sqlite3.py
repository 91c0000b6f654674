"""The provider for Python's own `sqlite3` module: on the event loop, or in a thread of its own."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING

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

__all__ = ("Sqlite3Provider", "create_sqlite3_provider")


class Sqlite3Provider(SharedConnectionProvider[sqlite3.Connection]):
    """A state provider over one stdlib `sqlite3.Connection`; the transaction context is that connection.

    With `offload=False` (the default) statements run directly on the event loop thread:
    no thread hops, each statement takes microseconds, which suits in-memory databases and
    small local files. A statement that waits for another process's lock blocks the event
    loop for up to the busy timeout, so for a file shared between processes prefer
    `offload=True` or `AiosqliteProvider`.

    With `offload=True` every statement runs on one worker thread owned by the provider
    ("sqlite3 in a thread"); the connection must then be opened with
    `check_same_thread=False`.

    The connection must be opened with `isolation_level=None`; see `AiosqliteProvider` for the
    recommended pragmas and for how to run your own statements (inside `transaction()`).

    Args:
        connection: An open `sqlite3` connection with `isolation_level=None`.
        offload: Run statements on a worker thread instead of the event loop.
        close_connection: Whether `close()` also closes the connection.
        begin_immediate: Start transactions with `BEGIN IMMEDIATE` (see `AiosqliteProvider`).

    Raises:
        MisconfiguredConnectionError: The connection does not have `isolation_level=None`.
    """

    def __init__(
        self,
        connection: sqlite3.Connection,
        *,
        offload: bool = False,
        close_connection: bool = False,
        begin_immediate: bool = False,
    ) -> None:
        autocommit = getattr(connection, "autocommit", None)
        check_autocommit(connection.isolation_level, autocommit, provider="Sqlite3Provider")
        super().__init__(connection, close_connection=close_connection, begin_immediate=begin_immediate)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="queuert-sqlite3") if offload else None

    def _execute_now(
        self, sql: str, params: Sequence[str | int | float | None], returns_rows: bool
    ) -> list[Mapping[str, object]]:
        cursor = self._connection.cursor()
        try:
            # Our own cursor, so the application's row factory (if any) does not apply.
            cursor.row_factory = None
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            if not returns_rows:
                return []
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in rows]
        finally:
            cursor.close()

    async def _execute(
        self, sql: str, params: Sequence[str | int | float | None], returns_rows: bool
    ) -> list[Mapping[str, object]]:
        if self._executor is None:
            return self._execute_now(sql, params, returns_rows)
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, partial(self._execute_now, sql, params, returns_rows)
        )

    async def _close_connection_now(self) -> None:
        if self._executor is None:
            self._connection.close()
            return
        await asyncio.get_running_loop().run_in_executor(self._executor, self._connection.close)

    def _release_resources(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)


async def create_sqlite3_provider(
    database: str | os.PathLike[str],
    *,
    offload: bool = False,
    busy_timeout_ms: int = 5000,
    journal_mode: str | None = "WAL",
    uri: bool = False,
    begin_immediate: bool = False,
) -> Sqlite3Provider:
    """Open an SQLite database with the stdlib `sqlite3` module, configure it and wrap it in a provider.

    Same settings and options as `create_aiosqlite_provider`, plus `offload` (see
    `Sqlite3Provider`). The provider owns the connection: `close()` closes it.

    Raises:
        CannotOpenDatabaseError: The file cannot be opened.
        NotADatabaseError: The file exists but is not an SQLite database.
        ReadOnlyDatabaseError: The file is read-only and a setting needed writing.
        DatabaseLockedError: Another connection held the file locked for longer than `busy_timeout_ms`.
    """
    mode = check_factory_options(busy_timeout_ms, journal_mode)
    name = os.fspath(database)
    try:
        connection = sqlite3.connect(
            name, isolation_level=None, uri=uri, timeout=busy_timeout_ms / 1000, check_same_thread=not offload
        )
    except sqlite3.Error as exc:
        translated = translate_error(exc)
        if translated is None:
            raise
        raise translated from exc
    provider = Sqlite3Provider(connection, offload=offload, close_connection=True, begin_immediate=begin_immediate)
    try:
        await configure_connection(
            provider, busy_timeout_ms=busy_timeout_ms, journal_mode=mode, memory=is_memory_database(name, uri=uri)
        )
    except BaseException:
        await provider.close()
        raise
    return provider
