"""The state provider contract: the only piece of the PostgreSQL adapter that touches a driver."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

__all__ = ("PgStateProvider", "RuntimeType")

TxCtxT = TypeVar("TxCtxT")
ResultT = TypeVar("ResultT")

RuntimeType: TypeAlias = Literal[
    "string",
    "number",
    "boolean",
    "uuid",
    "json",
    "array",
    "json_array",
    "string?",
    "number?",
    "boolean?",
    "uuid?",
    "json?",
    "date?",
]
"""Type hint for one parameter or result column, for drivers that need explicit types."""


class PgStateProvider(Protocol[TxCtxT]):
    """Runs SQL for the PostgreSQL state adapter on the application's driver.

    The bundled providers cover asyncpg, psycopg 3 and SQLAlchemy; write one only for another
    driver. The transaction context (`TxCtxT`) is whatever `with_transaction` hands to its
    callback, typically the driver's connection object: the application passes that same
    object as `tx_ctx` to client calls, so queuert's statements run in the application's
    transaction. Transactions must run at PostgreSQL's default READ COMMITTED level.

    Optional members, found with `getattr`:

    * `async def with_savepoint(self, tx_ctx, fn)`: run `fn(tx_ctx)` in a savepoint. Needed by
      drivers that track the transaction state on the client (asyncpg, psycopg, SQLAlchemy).
      Without it the adapter issues `SAVEPOINT` / `RELEASE` / `ROLLBACK TO` itself.
    * `async def open_transaction(self)` and `async def open_savepoint(self, tx_ctx)`: begin a
      transaction (take a savepoint) and return a `queuert.adapters.ScopeHandle` whose
      `commit()` / `rollback()` end it later (a transaction's handle also gives the connection
      back). Workers then keep an attempt's transaction open without a task of their own per
      scope. Without them the adapter returns `None` and workers use `with_transaction`.
    * `async def close(self)`: release the provider's resources; must be idempotent.
    """

    async def with_transaction(self, fn: Callable[[TxCtxT], Awaitable[ResultT]]) -> ResultT:
        """Begin a transaction, run `fn(tx_ctx)`, commit when it returns and roll back when it raises (re-raising)."""
        ...

    async def execute_sql(
        self,
        *,
        tx_ctx: TxCtxT | None,
        sql: str,
        params: Sequence[object],
        param_types: Mapping[int, RuntimeType],
        column_types: Mapping[str, RuntimeType],
        read_only: bool,
        statement_id: str | None = None,
    ) -> list[Mapping[str, object]]:
        """Run one statement and return its rows as mappings of column name to driver value.

        Args:
            tx_ctx: Run on this transaction's connection; `None` means borrow a connection,
                run the statement on its own (autocommit) and give the connection back.
            sql: PostgreSQL SQL with native `$1 ... $n` placeholders.
            params: `str`, `int`, `float`, `bool`, `None`, aware `datetime`, or lists of those.
            param_types: Type hints by 1-based parameter number (the SQL casts every parameter,
                so most drivers can ignore them).
            column_types: Type hints by result column name.
            read_only: The statement is a plain `SELECT` without row locks; it could be sent
                to a replica (read-your-writes then no longer holds).
            statement_id: A stable key for the statement text, usable to cache prepared
                statements; `None` for dynamic SQL.
        """
        ...
