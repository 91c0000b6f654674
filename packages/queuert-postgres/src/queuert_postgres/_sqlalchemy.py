"""State provider for SQLAlchemy's asyncio engine (asyncpg dialect).

Needs the `sqlalchemy` extra: `pip install "queuert-postgres[sqlalchemy]"`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias, TypeVar

try:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'SqlAlchemyAsyncProvider needs SQLAlchemy with asyncio support: pip install "queuert-postgres[sqlalchemy]"'
    ) from exc

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from ._provider import RuntimeType

__all__ = ("SqlAlchemyAsyncProvider", "SqlAlchemyTxCtx")

ResultT = TypeVar("ResultT")

SqlAlchemyTxCtx: TypeAlias = "AsyncConnection | AsyncSession"
"""The transaction context: an `AsyncConnection` inside a transaction, or an `AsyncSession`."""


class SqlAlchemyAsyncProvider:
    """State provider over a SQLAlchemy `AsyncEngine` using the asyncpg dialect (`postgresql+asyncpg://`).

    The transaction context is an `AsyncConnection` (from `engine.begin()`) or an
    `AsyncSession`: pass your own to start chains in your ORM transaction:

    ```python
    async with session.begin():
        session.add(Order(...))
        await client.start_chain(tx_ctx=session, transaction_hooks=hooks, ...)
    ```

    queuert's SQL runs through `exec_driver_sql` on the session's connection, so it joins
    the session's transaction (SQLAlchemy begins it on the first statement). With the
    psycopg dialect use `PsycopgPoolProvider` on a pool of your own instead: this provider
    sends PostgreSQL's native `$1` placeholders, which only the asyncpg dialect passes through.

    Args:
        engine: The application's engine.
        dispose_engine: Dispose of the engine when the adapter is closed.

    Raises:
        ValueError: The engine does not use the asyncpg driver.
    """

    def __init__(self, engine: AsyncEngine, *, dispose_engine: bool = False) -> None:
        if engine.dialect.name != "postgresql" or engine.dialect.driver != "asyncpg":
            raise ValueError(
                f"SqlAlchemyAsyncProvider needs the postgresql+asyncpg dialect, got "
                f"{engine.dialect.name}+{engine.dialect.driver}; with psycopg use PsycopgPoolProvider"
            )
        self._engine = engine
        self._dispose_engine = dispose_engine
        self._closed = False

    @property
    def engine(self) -> AsyncEngine:
        """The wrapped engine."""
        return self._engine

    async def with_transaction(self, fn: Callable[[SqlAlchemyTxCtx], Awaitable[ResultT]]) -> ResultT:
        """Run `fn(connection)` inside `engine.begin()`."""
        async with self._engine.begin() as conn:
            return await fn(conn)

    async def with_savepoint(
        self, tx_ctx: SqlAlchemyTxCtx, fn: Callable[[SqlAlchemyTxCtx], Awaitable[ResultT]]
    ) -> ResultT:
        """Run `fn(tx_ctx)` inside `begin_nested()` (a SAVEPOINT)."""
        async with tx_ctx.begin_nested():
            return await fn(tx_ctx)

    async def execute_sql(
        self,
        *,
        tx_ctx: SqlAlchemyTxCtx | None,
        sql: str,
        params: Sequence[object],
        param_types: Mapping[int, RuntimeType],
        column_types: Mapping[str, RuntimeType],
        read_only: bool,
        statement_id: str | None = None,
    ) -> list[Mapping[str, object]]:
        """Run one statement in `tx_ctx`'s transaction, or on its own connection in autocommit."""
        if tx_ctx is None:
            async with self._engine.connect() as plain:
                conn = await plain.execution_options(isolation_level="AUTOCOMMIT")
                return await _run(conn, sql, params)
        conn = await tx_ctx.connection() if isinstance(tx_ctx, AsyncSession) else tx_ctx
        return await _run(conn, sql, params)

    async def close(self) -> None:
        """Dispose of the engine if `dispose_engine` was set. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._dispose_engine:
            await self._engine.dispose()


async def _run(conn: AsyncConnection, sql: str, params: Sequence[object]) -> list[Mapping[str, object]]:
    result = await conn.exec_driver_sql(sql, tuple(params))
    if not result.returns_rows:
        return []
    return [dict(row) for row in result.mappings().all()]
