"""The single-connection state provider logic the asyncpg and psycopg providers share."""

from __future__ import annotations

import abc
import asyncio
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence
    from contextlib import AbstractAsyncContextManager

    from ._provider import RuntimeType

__all__ = ("SingleConnectionProvider",)

ConnT = TypeVar("ConnT")
ResultT = TypeVar("ResultT")


class SingleConnectionProvider(abc.ABC, Generic[ConnT]):
    """A state provider over one connection: one transaction or statement at a time.

    Calls without `tx_ctx` wait for a running transaction to end; from inside the provider's
    own transaction (same task) that would wait forever, so they raise `RuntimeError`.
    Subclasses supply the driver calls.
    """

    _pool_alternative: str
    """The pool provider named in the re-entrance error."""

    def __init__(self, connection: ConnT, *, close_connection: bool = False) -> None:
        self._conn = connection
        self._close_connection = close_connection
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._closed = False

    @property
    def connection(self) -> ConnT:
        """The wrapped connection."""
        return self._conn

    @abc.abstractmethod
    def _transaction(self, conn: ConnT) -> AbstractAsyncContextManager[object]:
        """The driver's transaction block; nested inside a transaction it is a savepoint."""

    @abc.abstractmethod
    async def _fetch(self, conn: ConnT, sql: str, params: Sequence[object]) -> list[Mapping[str, object]]:
        """Run one statement on `conn` in the transaction it is in."""

    async def _fetch_standalone(self, conn: ConnT, sql: str, params: Sequence[object]) -> list[Mapping[str, object]]:
        """Run one statement on the idle connection, on its own; drivers that open implicit transactions override."""
        return await self._fetch(conn, sql, params)

    @abc.abstractmethod
    async def _close(self, conn: ConnT) -> None:
        """Close the driver connection."""

    def _check_not_reentrant(self) -> None:
        if self._owner is not None and self._owner is asyncio.current_task():
            raise RuntimeError(
                f"{type(self).__name__}: called without tx_ctx from inside its own transaction; "
                f"pass tx_ctx, or use {self._pool_alternative}"
            )

    async def with_transaction(self, fn: Callable[[ConnT], Awaitable[ResultT]]) -> ResultT:
        """Run `fn(connection)` in a transaction, once no other transaction or statement uses the connection."""
        self._check_not_reentrant()
        async with self._lock:
            self._owner = asyncio.current_task()
            try:
                async with self._transaction(self._conn):
                    return await fn(self._conn)
            finally:
                self._owner = None

    async def with_savepoint(self, tx_ctx: ConnT, fn: Callable[[ConnT], Awaitable[ResultT]]) -> ResultT:
        """Run `fn(tx_ctx)` in a savepoint."""
        async with self._transaction(tx_ctx):
            return await fn(tx_ctx)

    async def execute_sql(
        self,
        *,
        tx_ctx: ConnT | None,
        sql: str,
        params: Sequence[object],
        param_types: Mapping[int, RuntimeType],
        column_types: Mapping[str, RuntimeType],
        read_only: bool,
        statement_id: str | None = None,
    ) -> list[Mapping[str, object]]:
        """Run one statement on `tx_ctx`, or on the connection in autocommit between transactions."""
        if tx_ctx is not None:
            return await self._fetch(tx_ctx, sql, params)
        self._check_not_reentrant()
        async with self._lock:
            return await self._fetch_standalone(self._conn, sql, params)

    async def close(self) -> None:
        """Close the connection if `close_connection` was set. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._close_connection:
            await self._close(self._conn)
