"""Providers for asyncpg: state (pool or single connection) and LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from ._errors import PoolExhaustedError
from ._scopes import AsyncpgScope
from ._single_connection import SingleConnectionProvider

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence
    from contextlib import AbstractAsyncContextManager

    from asyncpg.transaction import Transaction

    from ._provider import RuntimeType

__all__ = ("AsyncpgConnection", "AsyncpgConnectionProvider", "AsyncpgNotifyProvider", "AsyncpgPoolProvider")

ResultT = TypeVar("ResultT")

_logger = logging.getLogger("queuert")

AsyncpgConnection: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"
"""What the asyncpg providers use as the transaction context: a connection, or one acquired from a pool."""


_DEAD_CONNECTION_ERRORS = (
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    ConnectionError,
)
"""What starting a transaction on a connection the server has dropped raises, depending on how
much of the drop the client has read: nothing of the transaction has run on the server."""
_UNSENT_ERRORS = (asyncpg.InterfaceError, asyncpg.InternalClientError)
"""The subset raised before a statement is sent: the client already knows the connection is unusable."""


def _unusable(conn: AsyncpgConnection, error: BaseException) -> bool:
    """Whether `error` came from the connection itself being gone or broken, not from the call."""
    return isinstance(error, asyncpg.InternalClientError) or not _alive(conn)


def _alive(conn: AsyncpgConnection) -> bool:
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:  # a pool connection already handed back
        return False


async def _fetch(conn: AsyncpgConnection, sql: str, params: Sequence[object]) -> list[Mapping[str, object]]:
    return [dict(record) for record in await conn.fetch(sql, *params)]


class AsyncpgPoolProvider:
    """State provider over an `asyncpg.Pool`. The transaction context is the connection acquired from the pool.

    To start chains inside your own transaction, pass your connection as `tx_ctx`:

    ```python
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("INSERT INTO orders ...")
        await client.start_chain(tx_ctx=conn, transaction_hooks=hooks, ...)
    ```

    Behind PgBouncer in transaction mode, create the pool with `statement_cache_size=0`.

    Args:
        pool: The application's pool.
        acquire_timeout_s: How long to wait for a free connection before raising
            `PoolExhaustedError` (`None` waits forever, which can deadlock when every
            connection is held by a caller waiting for another one).
        close_pool: Close the pool when the adapter is closed.
        keep_connections_s: After one of this provider's transactions or statements, keep
            its connection for up to this long for the next one instead of handing it back
            to the pool at once. A busy worker then skips the pool's hand-over on every job,
            which costs more client CPU than the job's SQL. The kept connections count as in
            use for everyone else, and nothing resets their session state between two of
            this provider's uses (the pool's reset runs when one is finally handed back), so
            set it only on a pool that queuert has to itself. `0` (the default) keeps none.
    """

    def __init__(
        self,
        pool: asyncpg.Pool[Any],
        *,
        acquire_timeout_s: float | None = 30.0,
        close_pool: bool = False,
        keep_connections_s: float = 0.0,
    ) -> None:
        if not keep_connections_s >= 0:
            raise ValueError(f"keep_connections_s must be >= 0, got {keep_connections_s!r}")
        self._pool = pool
        self._acquire_timeout_s = acquire_timeout_s
        self._close_pool = close_pool
        self._keep_s = keep_connections_s
        self._kept: list[tuple[PoolConnectionProxy[Any], float]] = []
        """Connections between two uses, newest last, with the loop time they were put here."""
        self._trim_handle: asyncio.TimerHandle | None = None
        self._handing_back: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def pool(self) -> asyncpg.Pool[Any]:
        """The wrapped pool."""
        return self._pool

    async def _acquire(self) -> PoolConnectionProxy[Any]:
        while self._kept:
            conn, _ = self._kept.pop()
            if _alive(conn) and not conn.is_in_transaction():
                return conn
            await self._hand_back(conn)
        return await self._acquire_from_pool()

    async def _acquire_from_pool(self) -> PoolConnectionProxy[Any]:
        # `pool.acquire(timeout=...)` runs the wait through `asyncio.wait_for`, a Task of its own
        # per transaction; a timeout scope bounds the same wait in the caller's task.
        if self._acquire_timeout_s is None or self._pool.get_idle_size() > 0:
            # An idle connection is handed over without waiting: no timer to arm and cancel.
            return await self._pool.acquire()
        try:
            async with asyncio.timeout(self._acquire_timeout_s):
                return await self._pool.acquire()
        except TimeoutError as exc:
            raise PoolExhaustedError(timeout_s=self._acquire_timeout_s) from exc

    async def _release(self, conn: PoolConnectionProxy[Any], *, reusable: bool = True) -> None:
        # After an error or a cancellation the connection may still be busy (a query being
        # cancelled): only the pool knows how to wait for that.
        if reusable and self._keep_s > 0 and not self._closed and _alive(conn) and not conn.is_in_transaction():
            self._kept.append((conn, asyncio.get_running_loop().time()))
            if self._trim_handle is None:
                self._trim_handle = asyncio.get_running_loop().call_later(self._keep_s, self._trim)
            return
        await self._hand_back(conn)

    async def _discard(self, conn: PoolConnectionProxy[Any]) -> None:
        """Hand back a connection found dead, ignoring what the pool raises about it.

        The pool's reset fails on such a connection after the pool has closed it and freed its
        slot, so that failure tells the caller nothing.
        """
        try:
            await self._hand_back(conn)
        except Exception as error:
            _logger.debug("queuert: handing back a dead connection: %r", error)

    async def _hand_back(self, conn: PoolConnectionProxy[Any]) -> None:
        # The reset on release keeps the bound it had when acquire() received the timeout.
        await self._pool.release(conn, timeout=self._acquire_timeout_s)

    def _trim(self) -> None:
        """Hand back the connections kept for `keep_connections_s` without being used again."""
        self._trim_handle = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() - self._keep_s
        expired = [conn for conn, since in self._kept if since <= deadline]
        self._kept = [(conn, since) for conn, since in self._kept if since > deadline]
        for conn in expired:
            task = loop.create_task(self._hand_back(conn))
            self._handing_back.add(task)
            task.add_done_callback(self._handed_back)
        if self._kept:
            oldest = self._kept[0][1]
            self._trim_handle = loop.call_at(oldest + self._keep_s, self._trim)

    def _handed_back(self, task: asyncio.Task[None]) -> None:
        self._handing_back.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _logger.warning("queuert: handing a kept connection back to the pool failed", exc_info=task.exception())

    async def _hand_back_all(self) -> None:
        if self._trim_handle is not None:
            self._trim_handle.cancel()
            self._trim_handle = None
        kept, self._kept = self._kept, []
        for conn, _ in kept:
            with contextlib.suppress(Exception):
                await self._hand_back(conn)
        if self._handing_back:
            await asyncio.gather(*self._handing_back, return_exceptions=True)

    async def with_transaction(self, fn: Callable[[AsyncpgConnection], Awaitable[ResultT]]) -> ResultT:
        """Run `fn(connection)` in a transaction on a pooled connection."""
        conn, transaction = await self._begin()
        failed = False
        # Not kept after `fn` failed, even when the rollback went through (see `_release`).
        scope = AsyncpgScope(
            conn, transaction, lambda _, ended_cleanly: self._release(conn, reusable=ended_cleanly and not failed)
        )
        try:
            result = await fn(conn)
        except BaseException:
            failed = True
            await scope.rollback()
            raise
        await scope.commit()
        return result

    async def _begin(self) -> tuple[PoolConnectionProxy[Any], Transaction]:
        """Acquire a connection and begin a transaction on it.

        A kept connection can have been dropped by the server without the client having read
        the whole goodbye yet: `is_closed()` is still false, and `BEGIN` fails before the
        server runs anything. Such a connection goes back to the pool and a fresh one begins
        instead, so keeping connections adds no failure a pool-only provider would not have.
        """
        from_kept = bool(self._kept)
        conn = await self._acquire()
        transaction = conn.transaction()
        try:
            await transaction.start()
        except _DEAD_CONNECTION_ERRORS:
            await self._discard(conn)
            if not from_kept:
                raise
        except BaseException:
            await self._release(conn, reusable=False)
            raise
        else:
            return conn, transaction
        conn = await self._acquire_from_pool()
        transaction = conn.transaction()
        try:
            await transaction.start()
        except BaseException:
            await self._release(conn, reusable=False)
            raise
        return conn, transaction

    async def with_savepoint(
        self, tx_ctx: AsyncpgConnection, fn: Callable[[AsyncpgConnection], Awaitable[ResultT]]
    ) -> ResultT:
        """Run `fn(tx_ctx)` in a savepoint (asyncpg's nested transaction)."""
        async with tx_ctx.transaction():
            return await fn(tx_ctx)

    async def open_transaction(self) -> AsyncpgScope:
        """Begin a transaction on a pooled connection; the handle ends it and hands the connection back."""
        conn, transaction = await self._begin()
        return AsyncpgScope(conn, transaction, lambda _, ended_cleanly: self._release(conn, reusable=ended_cleanly))

    async def open_savepoint(self, tx_ctx: AsyncpgConnection) -> AsyncpgScope:
        """Take a savepoint (asyncpg's nested transaction) that the handle releases or rolls back."""
        transaction = tx_ctx.transaction()
        await transaction.start()
        return AsyncpgScope(tx_ctx, transaction, None)

    async def execute_sql(
        self,
        *,
        tx_ctx: AsyncpgConnection | None,
        sql: str,
        params: Sequence[object],
        param_types: Mapping[int, RuntimeType],
        column_types: Mapping[str, RuntimeType],
        read_only: bool,
        statement_id: str | None = None,
    ) -> list[Mapping[str, object]]:
        """Run one statement on `tx_ctx`, or on a pooled connection in autocommit."""
        if tx_ctx is not None:
            return await _fetch(tx_ctx, sql, params)
        from_kept = bool(self._kept)
        conn = await self._acquire()
        try:
            rows = await _fetch(conn, sql, params)
        except _UNSENT_ERRORS as error:
            # `DataError` (bad arguments) is an `InterfaceError` too, on a healthy connection.
            if not (from_kept and _unusable(conn, error)):
                await self._release(conn, reusable=False)
                raise
            await self._discard(conn)
        except BaseException:
            await self._release(conn, reusable=False)
            raise
        else:
            await self._release(conn)
            return rows
        # A kept connection the server dropped, found out before the statement left: run it
        # once on a fresh connection. Failures after it was sent are not retried, since an
        # autocommit statement may have run.
        conn = await self._acquire_from_pool()
        try:
            rows = await _fetch(conn, sql, params)
        except BaseException:
            await self._release(conn, reusable=False)
            raise
        await self._release(conn)
        return rows

    async def close(self) -> None:
        """Close the pool if `close_pool` was set. Idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._hand_back_all()
        if self._close_pool:
            await self._pool.close()


class AsyncpgConnectionProvider(SingleConnectionProvider[AsyncpgConnection]):
    """State provider over one `asyncpg.Connection`, for scripts, tests and single-task programs.

    The connection runs one transaction or statement at a time: calls without `tx_ctx` wait
    for a running transaction to end. Calling the adapter without `tx_ctx` from inside its
    own transaction (same task) would wait forever, so it raises `RuntimeError` instead.
    Use `AsyncpgPoolProvider` for workers.

    Args:
        connection: The connection (must not be inside a transaction).
        close_connection: Close the connection when the adapter is closed.
    """

    _pool_alternative = "AsyncpgPoolProvider"

    def _transaction(self, conn: AsyncpgConnection) -> AbstractAsyncContextManager[object]:
        return conn.transaction()

    async def _fetch(self, conn: AsyncpgConnection, sql: str, params: Sequence[object]) -> list[Mapping[str, object]]:
        return await _fetch(conn, sql, params)

    async def _close(self, conn: AsyncpgConnection) -> None:
        await conn.close()


class AsyncpgNotifyProvider:
    """LISTEN/NOTIFY over asyncpg: publishes with `pg_notify`, listens on one dedicated connection.

    The listening connection opens at the first subscription and closes after the last one.
    When it drops (server restart, `pg_terminate_backend`, network), a background task
    reconnects with exponential backoff (from `reconnect_initial_delay_s`, doubling up to
    `reconnect_max_delay_s`, with jitter) and re-issues `LISTEN` for every channel that still
    has a handler; each failure and the recovery are logged on the `queuert` logger.
    Notifications sent while it is down are lost, which is safe: workers and chain waiters
    also poll.

    LISTEN needs a session of its own: do not point it at PgBouncer in transaction mode.

    Args:
        source: A pool (publishes on pooled connections, listens on one connection acquired
            and held) or a DSN (opens its own connections).
        connect_kwargs: Extra `asyncpg.connect` arguments when `source` is a DSN.
        acquire_timeout_s: With a pool, how long to wait for a connection.
        reconnect_initial_delay_s: First delay before reconnecting.
        reconnect_max_delay_s: Longest delay between reconnection attempts.
    """

    def __init__(
        self,
        source: asyncpg.Pool[Any] | str,
        *,
        connect_kwargs: Mapping[str, Any] | None = None,
        acquire_timeout_s: float | None = 30.0,
        reconnect_initial_delay_s: float = 0.1,
        reconnect_max_delay_s: float = 5.0,
    ) -> None:
        self._pool = source if isinstance(source, asyncpg.Pool) else None
        self._dsn = source if isinstance(source, str) else None
        self._connect_kwargs = dict(connect_kwargs or {})
        self._acquire_timeout_s = acquire_timeout_s
        self._initial_delay = reconnect_initial_delay_s
        self._max_delay = reconnect_max_delay_s
        self._handlers: dict[str, Callable[[str], None]] = {}
        self._conn: AsyncpgConnection | None = None
        self._lock = asyncio.Lock()
        self._publish_conn: asyncpg.Connection[Any] | None = None
        self._publish_lock = asyncio.Lock()
        self._reconnect_task: asyncio.Task[None] | None = None
        self._dead: list[AsyncpgConnection] = []
        """Pooled connections the server dropped, still to be handed back to the pool."""
        self._closed = False

    @property
    def listening_connection(self) -> AsyncpgConnection | None:
        """The connection LISTEN runs on, while one is open (for diagnostics and tests)."""
        conn = self._conn
        return conn if conn is not None and _alive(conn) else None

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("AsyncpgNotifyProvider is closed")

    async def publish(self, channel: str, message: str) -> None:
        """Send `message` on `channel` with `pg_notify`, outside any transaction, so it is delivered at once."""
        self._check_open()
        if self._pool is not None:
            await self._pool.execute("SELECT pg_notify($1, $2)", channel, message)
            return
        async with self._publish_lock:
            conn = self._publish_conn
            if conn is None or conn.is_closed():
                conn = self._publish_conn = await asyncpg.connect(self._dsn, **self._connect_kwargs)
            await conn.execute("SELECT pg_notify($1, $2)", channel, message)

    async def subscribe(self, channel: str, on_message: Callable[[str], None]) -> Callable[[], Awaitable[None]]:
        """Start listening on `channel`; returns once `LISTEN` has run. One handler per channel.

        Raises:
            RuntimeError: The provider is closed, or `channel` already has a handler.
        """
        self._check_open()
        async with self._lock:
            self._check_open()
            if channel in self._handlers:
                raise RuntimeError(f"channel {channel!r} already has a handler")
            conn = await self._ensure_connection()
            try:
                await conn.add_listener(channel, self._on_notification)
            except Exception:
                await self._drop_connection(conn)
                self._start_reconnect()
                raise
            self._handlers[channel] = on_message

        async def unsubscribe() -> None:
            async with self._lock:
                if self._handlers.get(channel) is not on_message:
                    return
                del self._handlers[channel]
                conn = self._conn
                if conn is not None and _alive(conn):
                    try:
                        await conn.remove_listener(channel, self._on_notification)
                    except Exception:
                        _logger.debug("queuert: UNLISTEN %r failed; dropping the listen connection", channel)
                        await self._drop_connection(conn)
                if not self._handlers and self._conn is not None:
                    await self._drop_connection(self._conn)

        return unsubscribe

    def _on_notification(self, conn: object, pid: int, channel: str, payload: object) -> None:
        handler = self._handlers.get(channel)
        if handler is not None:
            handler("" if payload is None else str(payload))

    def _on_terminated(self, conn: object) -> None:
        if conn is not self._conn or self._closed:
            return
        self._conn = None
        self._dead.append(conn)  # type: ignore[arg-type]
        _logger.warning("queuert: the LISTEN connection to PostgreSQL was closed; reconnecting")
        if self._handlers:
            self._start_reconnect()

    async def _ensure_connection(self) -> AsyncpgConnection:
        """The live listen connection, opening one (and re-listening every channel) if needed. Holds `_lock`."""
        await self._release_dead()
        conn = self._conn
        if conn is not None and _alive(conn):
            return conn
        if conn is not None:
            await self._drop_connection(conn)
        if self._pool is not None:
            try:
                conn = await self._pool.acquire(timeout=self._acquire_timeout_s)
            except TimeoutError as exc:
                raise PoolExhaustedError(timeout_s=self._acquire_timeout_s) from exc
        else:
            conn = await asyncpg.connect(self._dsn, **self._connect_kwargs)
        self._conn = conn
        conn.add_termination_listener(self._on_terminated)
        try:
            for channel in self._handlers:
                await conn.add_listener(channel, self._on_notification)
        except Exception:
            await self._drop_connection(conn)
            raise
        return conn

    async def _release_dead(self) -> None:
        dead, self._dead = self._dead, []
        for conn in dead:
            await self._drop_connection(conn)

    async def _drop_connection(self, conn: AsyncpgConnection) -> None:
        if self._conn is conn:
            self._conn = None
        try:
            if self._pool is not None and isinstance(conn, PoolConnectionProxy):
                # Releasing resets the connection (UNLISTEN *, listeners removed); a dead one is replaced.
                await self._pool.release(conn)
            else:
                conn.remove_termination_listener(self._on_terminated)
                if not conn.is_closed():
                    await conn.close(timeout=2)
        except Exception:
            _logger.debug("queuert: closing the LISTEN connection failed", exc_info=True)

    def _start_reconnect(self) -> None:
        if self._closed or (self._reconnect_task is not None and not self._reconnect_task.done()):
            return
        self._reconnect_task = asyncio.get_running_loop().create_task(
            self._reconnect(), name="queuert-postgres-listen-reconnect"
        )

    async def _reconnect(self) -> None:
        delay = self._initial_delay
        attempt = 0
        while not self._closed:
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            attempt += 1
            async with self._lock:
                if self._closed or not self._handlers:
                    return
                if self._conn is not None and _alive(self._conn):
                    return
                try:
                    await self._ensure_connection()
                except Exception as exc:
                    _logger.warning("queuert: reconnecting the LISTEN connection failed (attempt %d): %s", attempt, exc)
                else:
                    _logger.info(
                        "queuert: LISTEN connection re-established after %d attempt(s); listening on %d channel(s)",
                        attempt,
                        len(self._handlers),
                    )
                    return
            delay = min(delay * 2, self._max_delay)

    async def close(self) -> None:
        """Stop reconnecting, unlisten, close or release the connections. Idempotent; afterwards calls raise."""
        if self._closed:
            return
        self._closed = True
        task = self._reconnect_task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        async with self._lock:
            self._handlers.clear()
            if self._conn is not None:
                await self._drop_connection(self._conn)
            await self._release_dead()
        async with self._publish_lock:
            if self._publish_conn is not None:
                conn, self._publish_conn = self._publish_conn, None
                await conn.close(timeout=2)
