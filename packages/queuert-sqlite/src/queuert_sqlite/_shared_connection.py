"""What the bundled providers share: one connection, serialized by an async read/write lock."""

from __future__ import annotations

import abc
import asyncio
import sqlite3
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Generic, TypeVar

from queuert.adapters import AsyncRWLock
from queuert.errors import AdapterClosedError

from ._errors import MisconfiguredConnectionError, translate_error
from ._provider import SqliteStateProvider

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence

    from ._provider import RuntimeType

__all__ = (
    "SharedConnectionProvider",
    "check_autocommit",
    "check_factory_options",
    "configure_connection",
    "is_memory_database",
)

ConnT = TypeVar("ConnT")
ResultT = TypeVar("ResultT")

_MEMORY_NAMES = {"", ":memory:"}


def is_memory_database(database: str, *, uri: bool) -> bool:
    """Whether `database` names an in-memory database (no file, so no WAL journal)."""
    return database in _MEMORY_NAMES or (uri and "mode=memory" in database) or database.startswith("file::memory:")


def check_autocommit(isolation_level: str | None, autocommit: object, *, provider: str) -> None:
    """Reject a connection on which Python's `sqlite3` module opens transactions by itself.

    The providers issue `BEGIN`, `SAVEPOINT` and `COMMIT` themselves; the module's implicit
    transactions (the default `isolation_level=""`) would nest inside or commit them.
    """
    if autocommit is False or (autocommit is not True and isolation_level is not None):
        raise MisconfiguredConnectionError(
            f"{provider} needs a connection opened with isolation_level=None (got isolation_level="
            f"{isolation_level!r}): queuert issues BEGIN/COMMIT itself and Python's implicit transactions "
            "would interfere"
        )


class SharedConnectionProvider(SqliteStateProvider[ConnT], Generic[ConnT]):
    """A provider over one connection, shared by every caller in the process.

    A transaction holds the write side of an `AsyncRWLock` from `BEGIN` to `COMMIT`;
    statements outside a transaction take the read side (reads) or the write side (writes).
    So readers never see a running transaction's rows and are never swept into its rollback.
    The lock is not re-entrant: a transaction or an untransacted statement started from inside
    a transaction of the same task raises `RuntimeError` instead of waiting forever.
    """

    def __init__(self, connection: ConnT, *, close_connection: bool, begin_immediate: bool = False) -> None:
        self._connection = connection
        self._close_connection = close_connection
        self._begin = "BEGIN IMMEDIATE" if begin_immediate else "BEGIN"
        self._lock = AsyncRWLock()
        self._in_transaction = False
        self._transaction_task: asyncio.Task[object] | None = None
        self._closed = False
        self._close_when_transaction_ends = False

    @property
    def connection(self) -> ConnT:
        """The shared connection. Use it for your own statements only inside `transaction()`."""
        return self._connection

    @property
    def lock(self) -> AsyncRWLock:
        """The lock that serializes this provider's connection, for code that shares the connection."""
        return self._lock

    # --- driver hooks -----------------------------------------------------------------

    @abc.abstractmethod
    async def _execute(
        self, sql: str, params: Sequence[str | int | float | None], returns_rows: bool
    ) -> list[Mapping[str, object]]:
        """Run one statement on the connection and return its rows (or `[]`)."""

    @abc.abstractmethod
    async def _close_connection_now(self) -> None:
        """Close the underlying connection."""

    # --- transactions -----------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[ConnT]:
        """Hold the write lock and an open transaction for the block; commit on exit, roll back on error.

        Yields the connection. Run your own statements on it inside the block, then pass it as
        `tx_ctx` to queuert, and your rows and queuert's commit or roll back together:

        ```python
        async with provider.transaction() as conn:
            await conn.execute("INSERT INTO orders (id) VALUES (?)", (order_id,))
            async with transaction_hooks() as hooks:
                await client.start_chain(tx_ctx=conn, transaction_hooks=hooks, ...)
        ```

        The transaction starts with a plain (deferred) `BEGIN`: it takes SQLite's write lock at
        its first write, so read-only transactions do not wait for writers in other processes.
        A transaction that reads and then writes while another process is writing fails with
        `DatabaseLockedError` at that write (SQLite cannot wait there without risking a
        deadlock); a provider created with `begin_immediate=True` takes the write lock at
        `BEGIN` instead, waiting up to the busy timeout for it.
        """
        self._check_open()
        self._check_not_inside_own_transaction()
        async with self._lock.write():
            self._check_open()
            try:
                await self._run(self._begin)
                self._in_transaction = True
                self._transaction_task = asyncio.current_task()
                yield self._connection
                await self._run("COMMIT")
            except BaseException:
                await self._rollback_quietly()
                raise
            finally:
                self._in_transaction = False
                self._transaction_task = None
                if self._close_when_transaction_ends:
                    self._close_when_transaction_ends = False
                    await self._finish_close()

    async def with_transaction(self, fn: Callable[[ConnT], Awaitable[ResultT]]) -> ResultT:
        """Run `fn(connection)` in a transaction of this provider (see `transaction()`)."""
        async with self.transaction() as connection:
            return await fn(connection)

    async def _rollback_quietly(self) -> None:
        # Unconditional: a BEGIN or statement cancelled on our side may still run on the
        # driver's side, so "not in a transaction" cannot be trusted yet. ROLLBACK is queued
        # after it and undoes it; when nothing is open it fails harmlessly.
        try:
            await self._execute("ROLLBACK", (), False)
        except (sqlite3.Error, ValueError):
            pass

    async def _run(self, sql: str) -> None:
        try:
            await self._execute(sql, (), False)
        except sqlite3.Error as exc:
            translated = translate_error(exc)
            if translated is None:
                raise
            raise translated from exc

    # --- statements -------------------------------------------------------------------

    async def execute_sql(
        self,
        *,
        tx_ctx: ConnT | None,
        sql: str,
        params: Sequence[str | int | float | None],
        column_types: Mapping[str, RuntimeType],
        read_only: bool,
        statement_id: str | None = None,
    ) -> list[Mapping[str, object]]:
        """Run one statement: in the transaction of `tx_ctx`, or on its own under the read or write lock.

        Raises:
            AdapterClosedError: The provider is closed.
            ValueError: `tx_ctx` is not this provider's connection.
            RuntimeError: `tx_ctx` is used outside a transaction of this provider, or a
                statement without `tx_ctx` is run from inside this task's own transaction.
        """
        returns_rows = bool(column_types)
        if tx_ctx is not None:
            self._check_transaction_context(tx_ctx)
            return await self._execute(sql, params, returns_rows)
        self._check_open()
        self._check_not_inside_own_transaction()
        async with self._lock.read() if read_only else self._lock.write():
            self._check_open()
            return await self._execute(sql, params, returns_rows)

    # --- lifecycle --------------------------------------------------------------------

    async def close(self) -> None:
        """Refuse new work, wait for the running transaction and readers, then close the connection if owned.

        Idempotent. A connection passed in by the application is left open unless the
        provider was created with `close_connection=True`.
        """
        if self._closed:
            return
        self._closed = True
        if self._in_transaction and self._transaction_task is asyncio.current_task():
            # Called from inside our own transaction: waiting for the lock would wait for
            # ourselves. The transaction finishes (its later statements fail) and closes then.
            self._close_when_transaction_ends = True
            return
        async with self._lock.write():
            await self._finish_close()

    async def _finish_close(self) -> None:
        try:
            if self._close_connection:
                await self._close_connection_now()
        finally:
            self._release_resources()

    def _release_resources(self) -> None:
        """Free what the provider itself holds besides the connection (a worker thread, ...)."""

    # --- checks -----------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise AdapterClosedError(adapter=type(self).__name__)

    def _check_not_inside_own_transaction(self) -> None:
        if self._in_transaction and self._transaction_task is asyncio.current_task():
            raise RuntimeError(
                f"A statement without tx_ctx (or a nested transaction) was started from inside one of "
                f"{type(self).__name__}'s own transactions: it would wait for that transaction forever. "
                "Pass the transaction's tx_ctx, or use with_savepoint to nest."
            )

    def _check_transaction_context(self, tx_ctx: object) -> None:
        if tx_ctx is not self._connection:
            raise ValueError(f"tx_ctx {tx_ctx!r} is not the connection of this {type(self).__name__}")
        if not self._in_transaction:
            raise RuntimeError(
                "tx_ctx was used outside a transaction of this provider; open one with "
                "`async with provider.transaction() as conn:` or `state_adapter.with_transaction(fn)`"
            )


_JOURNAL_MODES = frozenset({"DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF"})


async def configure_connection(
    provider: SharedConnectionProvider[ConnT], *, busy_timeout_ms: int, journal_mode: str | None, memory: bool
) -> None:
    """Apply the settings queuert relies on to a connection a factory has just opened.

    `busy_timeout` first, so the statements after it wait for a momentarily locked file;
    `auto_vacuum` only while the database is still empty (the only time it takes effect,
    and a write that a read-only file would refuse); the journal mode only for files.
    """
    statements = [f"PRAGMA busy_timeout = {int(busy_timeout_ms)}", "PRAGMA foreign_keys = ON"]
    try:
        for sql in statements:
            await provider._execute(sql, (), False)
        rows = await provider._execute("SELECT count(*) AS objects FROM sqlite_master", (), True)
        if rows[0]["objects"] == 0:
            await provider._execute("PRAGMA auto_vacuum = INCREMENTAL", (), False)
        if journal_mode is not None and not memory:
            await provider._execute(f"PRAGMA journal_mode = {journal_mode}", (), False)
    except sqlite3.Error as exc:
        translated = translate_error(exc)
        if translated is None:
            raise
        raise translated from exc


def check_factory_options(busy_timeout_ms: int, journal_mode: str | None) -> str | None:
    """Validate the options shared by the provider factories; return the normalised journal mode."""
    if not isinstance(busy_timeout_ms, int) or isinstance(busy_timeout_ms, bool) or busy_timeout_ms < 0:
        raise ValueError(f"busy_timeout_ms must be an integer >= 0, got {busy_timeout_ms!r}")
    if journal_mode is None:
        return None
    mode = journal_mode.upper()
    if mode not in _JOURNAL_MODES:
        raise ValueError(f"journal_mode must be one of {sorted(_JOURNAL_MODES)} or None, got {journal_mode!r}")
    return mode
