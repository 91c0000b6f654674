"""Providers for psycopg 3 (async): state (pool or single connection) and LISTEN/NOTIFY.

Needs the `psycopg` extra: `pip install "queuert-postgres[psycopg]"`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import TYPE_CHECKING, Any, TypeVar

try:
    import psycopg
    from psycopg import AsyncRawCursor, sql
    from psycopg.rows import dict_row
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'The psycopg providers need psycopg 3 and psycopg-pool: pip install "queuert-postgres[psycopg]"'
    ) from exc

from ._single_connection import SingleConnectionProvider

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
    from contextlib import AbstractAsyncContextManager

    from psycopg_pool import AsyncConnectionPool

    from ._provider import RuntimeType

__all__ = ("PsycopgConnectionProvider", "PsycopgNotifyProvider", "PsycopgPoolProvider")

ResultT = TypeVar("ResultT")

_logger = logging.getLogger("queuert")

PsycopgConnection = psycopg.AsyncConnection[Any]


async def _fetch(conn: PsycopgConnection, query: str, params: Sequence[object]) -> list[Mapping[str, object]]:
    async with AsyncRawCursor(conn, row_factory=dict_row) as cursor:
        await cursor.execute(query, params)
        if cursor.description is None:
            return []
        return list(await cursor.fetchall())


async def _fetch_autocommit(
    conn: PsycopgConnection, query: str, params: Sequence[object]
) -> list[Mapping[str, object]]:
    # Outside a transaction psycopg would open an implicit one; autocommit runs the statement
    # on its own (and lets VACUUM run at all).
    if conn.autocommit:
        return await _fetch(conn, query, params)
    await conn.set_autocommit(True)
    try:
        return await _fetch(conn, query, params)
    finally:
        await conn.set_autocommit(False)


class PsycopgPoolProvider:
    """State provider over a `psycopg_pool.AsyncConnectionPool`. The transaction context is the pooled connection.

    To start chains inside your own transaction, pass your connection as `tx_ctx`:

    ```python
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("INSERT INTO orders ...")
        await client.start_chain(tx_ctx=conn, transaction_hooks=hooks, ...)
    ```

    Behind PgBouncer in transaction mode, configure the pool's connections with
    `prepare_threshold=None`.

    Args:
        pool: The application's pool (opened).
        timeout_s: How long to wait for a free connection before raising
            `PoolExhaustedError`; `None` uses the pool's own timeout.
        close_pool: Close the pool when the adapter is closed.
    """

    def __init__(
        self, pool: AsyncConnectionPool[Any], *, timeout_s: float | None = None, close_pool: bool = False
    ) -> None:
        self._pool = pool
        self._timeout_s = timeout_s
        self._close_pool = close_pool
        self._closed = False

    @property
    def pool(self) -> AsyncConnectionPool[Any]:
        """The wrapped pool."""
        return self._pool

    async def with_transaction(self, fn: Callable[[PsycopgConnection], Awaitable[ResultT]]) -> ResultT:
        """Run `fn(connection)` in a transaction on a pooled connection."""
        async with self._pool.connection(timeout=self._timeout_s) as conn, conn.transaction():
            return await fn(conn)

    async def with_savepoint(
        self, tx_ctx: PsycopgConnection, fn: Callable[[PsycopgConnection], Awaitable[ResultT]]
    ) -> ResultT:
        """Run `fn(tx_ctx)` in a savepoint (psycopg's nested transaction block)."""
        async with tx_ctx.transaction():
            return await fn(tx_ctx)

    async def execute_sql(
        self,
        *,
        tx_ctx: PsycopgConnection | None,
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
        async with self._pool.connection(timeout=self._timeout_s) as conn:
            return await _fetch_autocommit(conn, sql, params)

    async def close(self) -> None:
        """Close the pool if `close_pool` was set. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._close_pool:
            await self._pool.close()


class PsycopgConnectionProvider(SingleConnectionProvider[PsycopgConnection]):
    """State provider over one `psycopg.AsyncConnection`, for scripts, tests and single-task programs.

    Like `AsyncpgConnectionProvider`: one transaction or statement at a time, and a
    `RuntimeError` instead of a deadlock when called without `tx_ctx` from inside its own
    transaction.

    Args:
        connection: The connection (idle: not inside a transaction).
        close_connection: Close the connection when the adapter is closed.
    """

    _pool_alternative = "PsycopgPoolProvider"

    def _transaction(self, conn: PsycopgConnection) -> AbstractAsyncContextManager[object]:
        return conn.transaction()

    async def _fetch(self, conn: PsycopgConnection, sql: str, params: Sequence[object]) -> list[Mapping[str, object]]:
        return await _fetch(conn, sql, params)

    async def _fetch_standalone(
        self, conn: PsycopgConnection, sql: str, params: Sequence[object]
    ) -> list[Mapping[str, object]]:
        return await _fetch_autocommit(conn, sql, params)

    async def _close(self, conn: PsycopgConnection) -> None:
        await conn.close()


class PsycopgNotifyProvider:
    """LISTEN/NOTIFY over psycopg 3, on one dedicated autocommit connection.

    A background task waits for notifications in slices of `poll_interval_s`. `LISTEN` and
    `UNLISTEN` interrupt the wait and run at once, so `subscribe` returns after one round
    trip. When the connection drops, the task reconnects with exponential backoff and
    listens again on every channel that still has a handler. Publishing uses a second
    autocommit connection. LISTEN needs a session of its own: do not point it at PgBouncer
    in transaction mode.

    Args:
        conninfo: libpq connection string or URL.
        connect_kwargs: Extra `psycopg.AsyncConnection.connect` arguments.
        poll_interval_s: Longest single wait for notifications.
        reconnect_initial_delay_s: First delay before reconnecting.
        reconnect_max_delay_s: Longest delay between reconnection attempts.
    """

    def __init__(
        self,
        conninfo: str,
        *,
        connect_kwargs: Mapping[str, Any] | None = None,
        poll_interval_s: float = 0.1,
        reconnect_initial_delay_s: float = 0.1,
        reconnect_max_delay_s: float = 5.0,
    ) -> None:
        self._conninfo = conninfo
        self._connect_kwargs = dict(connect_kwargs or {})
        self._poll_interval_s = poll_interval_s
        self._initial_delay = reconnect_initial_delay_s
        self._max_delay = reconnect_max_delay_s
        self._handlers: dict[str, Callable[[str], None]] = {}
        self._conn: PsycopgConnection | None = None
        self._lock = asyncio.Lock()
        self._loop_task: asyncio.Task[None] | None = None
        self._wait_task: asyncio.Task[None] | None = None
        self._pausing = 0
        self._resume = asyncio.Event()
        self._resume.set()
        self._publish_conn: PsycopgConnection | None = None
        self._publish_lock = asyncio.Lock()
        self._closed = False

    @property
    def listening_connection(self) -> PsycopgConnection | None:
        """The connection LISTEN runs on, while one is open (for diagnostics and tests)."""
        return self._conn

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("PsycopgNotifyProvider is closed")

    async def _connect(self) -> PsycopgConnection:
        return await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True, **self._connect_kwargs)

    async def publish(self, channel: str, message: str) -> None:
        """Send `message` on `channel` with `pg_notify`, delivered at once."""
        self._check_open()
        async with self._publish_lock:
            conn = self._publish_conn
            if conn is None or conn.closed:
                conn = self._publish_conn = await self._connect()
            try:
                await conn.execute("SELECT pg_notify(%s, %s)", (channel, message))
            except psycopg.OperationalError:
                self._publish_conn = None
                raise

    async def subscribe(self, channel: str, on_message: Callable[[str], None]) -> Callable[[], Awaitable[None]]:
        """Start listening on `channel`; returns once `LISTEN` has run. One handler per channel.

        Raises:
            RuntimeError: The provider is closed, or `channel` already has a handler.
        """
        self._check_open()
        async with self._using_connection():
            self._check_open()
            if channel in self._handlers:
                raise RuntimeError(f"channel {channel!r} already has a handler")
            conn = self._conn
            if conn is None or conn.closed:
                conn = await self._open_listen_connection()
            await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            self._handlers[channel] = on_message
            self._ensure_loop()

        async def unsubscribe() -> None:
            if self._handlers.get(channel) is not on_message:
                return
            async with self._using_connection():
                if self._handlers.get(channel) is not on_message:
                    return
                del self._handlers[channel]
                conn = self._conn
                if conn is None or conn.closed:
                    return
                if not self._handlers:
                    await self._close_listen_connection()
                    return
                try:
                    await conn.execute(sql.SQL("UNLISTEN {}").format(sql.Identifier(channel)))
                except psycopg.OperationalError:
                    _logger.debug("queuert: UNLISTEN %r failed; the listen loop will reconnect", channel)

        return unsubscribe

    @contextlib.asynccontextmanager
    async def _using_connection(self) -> AsyncIterator[None]:
        """Hold `_lock` with the listen loop paused, so commands on the listen connection run at once.

        psycopg's `notifies()` keeps the connection's lock for its whole wait: a LISTEN queued
        behind it would wait out the slice, and a staged attempt subscribing to ownership-loss
        notifications would stall that long while its lease runs down.
        """
        self._pausing += 1
        self._resume.clear()
        try:
            await self._interrupt_wait()
            async with self._lock:
                yield
        finally:
            self._pausing -= 1
            if self._pausing == 0:
                self._resume.set()

    async def _interrupt_wait(self) -> None:
        wait = self._wait_task
        if wait is None or wait.done():
            return
        # The connection is idle during the wait (no query in flight), so cancelling it is
        # clean; psycopg keeps notifications read later in its backlog for the next wait.
        wait.cancel()
        await asyncio.wait({wait})

    async def _open_listen_connection(self) -> PsycopgConnection:
        """Open the listen connection and LISTEN on every channel with a handler. Holds `_lock`."""
        conn = await self._connect()
        try:
            for channel in self._handlers:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        except Exception:
            await conn.close()
            raise
        self._conn = conn
        return conn

    async def _close_listen_connection(self) -> None:
        conn, self._conn = self._conn, None
        task, self._loop_task = self._loop_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if conn is not None and not conn.closed:
            await conn.close()

    def _ensure_loop(self) -> None:
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.get_running_loop().create_task(
                self._listen_loop(), name="queuert-postgres-psycopg-listen"
            )

    def _dispatch(self, channel: str, payload: str) -> None:
        handler = self._handlers.get(channel)
        if handler is not None:
            handler(payload)

    async def _listen_loop(self) -> None:
        delay = self._initial_delay
        while not self._closed and self._handlers:
            # Commands on the connection go first; they interrupt a wait already under way.
            await self._resume.wait()
            if self._closed or not self._handlers:
                return
            conn = self._conn
            if conn is None or conn.closed:
                if not await self._reconnect_once(delay):
                    delay = min(delay * 2, self._max_delay)
                else:
                    delay = self._initial_delay
                continue
            wait = self._wait_task = asyncio.create_task(self._receive(conn))
            try:
                await asyncio.wait({wait})
            except asyncio.CancelledError:
                wait.cancel()
                await asyncio.wait({wait})
                raise
            finally:
                self._wait_task = None
            if wait.cancelled():
                continue
            error = wait.exception()
            if error is None:
                continue
            if not isinstance(error, psycopg.OperationalError):
                raise error
            if self._closed or self._conn is not conn:
                continue
            _logger.warning("queuert: the LISTEN connection to PostgreSQL was lost (%s); reconnecting", error)
            self._conn = None

    async def _receive(self, conn: PsycopgConnection) -> None:
        async for notify in conn.notifies(timeout=self._poll_interval_s):
            self._dispatch(notify.channel, notify.payload)

    async def _reconnect_once(self, delay: float) -> bool:
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))
        async with self._lock:
            if self._closed or not self._handlers:
                return True
            try:
                await self._open_listen_connection()
            except Exception as exc:
                _logger.warning("queuert: reconnecting the LISTEN connection failed: %s", exc)
                return False
            _logger.info("queuert: LISTEN connection re-established; listening on %d channel(s)", len(self._handlers))
            return True

    async def close(self) -> None:
        """Stop listening and close both connections. Idempotent; afterwards calls raise."""
        if self._closed:
            return
        self._closed = True
        async with self._using_connection():
            self._handlers.clear()
            await self._close_listen_connection()
        async with self._publish_lock:
            if self._publish_conn is not None:
                conn, self._publish_conn = self._publish_conn, None
                await conn.close()
