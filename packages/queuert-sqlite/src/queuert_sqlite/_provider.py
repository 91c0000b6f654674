"""The state provider contract: the only piece of the SQLite backend that touches a driver."""

from __future__ import annotations

import abc
import uuid
from typing import TYPE_CHECKING, Generic, Literal, TypeAlias, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

__all__ = ("RuntimeType", "SqliteStateProvider")

TxCtxT = TypeVar("TxCtxT")
ResultT = TypeVar("ResultT")

RuntimeType: TypeAlias = Literal["string", "number", "boolean", "string?", "number?", "boolean?"]
"""What a result column holds once read: text, a number or a 0/1 flag; `?` marks a column that may be NULL."""


class SqliteStateProvider(abc.ABC, Generic[TxCtxT]):
    """Runs the SQLite adapter's statements on the application's connection.

    The contract, in full:

    * `with_transaction(fn)` gives `fn` **exclusive, atomic** access: no other statement of
      this process runs on the transaction's connection until it ends, it commits when `fn`
      returns and rolls back (re-raising) when `fn` raises. The context handed to `fn` is the
      `tx_ctx` the adapter later passes back to `execute_sql`.
    * `execute_sql(tx_ctx=ctx)` runs inside that transaction. `execute_sql(tx_ctx=None)`
      runs on its own in autocommit mode and must neither see a running transaction's
      uncommitted rows nor be swept into its rollback.
    * Parameters use `?` placeholders and are only `str`, `int`, `float` or `None`: the
      adapter encodes JSON and timestamps itself.

    The bundled providers (`AiosqliteProvider`, `Sqlite3Provider`) meet it with one shared
    connection and an `AsyncRWLock`: a transaction holds the write side from `BEGIN` to
    `COMMIT`, statements outside a transaction take the read side (reads) or the write side
    (writes). Another provider may use a connection per transaction or a writer plus
    readers in WAL mode instead; only the contract above matters.
    """

    @abc.abstractmethod
    async def with_transaction(self, fn: Callable[[TxCtxT], Awaitable[ResultT]]) -> ResultT:
        """Begin a transaction, run `fn(tx_ctx)`, commit when it returns, roll back and re-raise when it raises."""

    @abc.abstractmethod
    async def execute_sql(
        self,
        *,
        tx_ctx: TxCtxT | None,
        sql: str,
        params: Sequence[str | int | float | None],
        column_types: Mapping[str, RuntimeType],
        read_only: bool,
        statement_id: str | None = None,
    ) -> list[Mapping[str, object]]:
        """Run one statement and return its rows as mappings keyed by column name.

        Args:
            tx_ctx: The transaction to run in, or `None` for a statement of its own (autocommit).
            sql: One SQL statement with `?` placeholders.
            params: The values for the placeholders.
            column_types: The columns the statement returns and what they hold. Empty for a
                statement that returns no rows; such a call returns `[]`.
            read_only: Whether the statement only reads (no writes, no locks), so a provider
                may run it alongside other readers.
            statement_id: A stable key for this SQL text (`"<name>@<hash>"`), usable as a
                prepared-statement cache key; `None` for SQL built per call.
        """

    async def with_savepoint(self, tx_ctx: TxCtxT, fn: Callable[[TxCtxT], Awaitable[ResultT]]) -> ResultT:
        """Run `fn(tx_ctx)` inside a savepoint; on an exception roll back to it and re-raise that exception.

        The default issues `SAVEPOINT` / `RELEASE` / `ROLLBACK TO` with a unique name through
        `execute_sql`, so savepoints nest. Override it for a driver that tracks savepoints itself.
        """
        name = f"queuert_sp_{uuid.uuid4().hex}"
        await self.execute_sql(tx_ctx=tx_ctx, sql=f"SAVEPOINT {name}", params=(), column_types={}, read_only=False)
        try:
            result = await fn(tx_ctx)
        except BaseException:
            try:
                # ROLLBACK TO keeps the savepoint open; RELEASE then drops it from the stack.
                await self.execute_sql(
                    tx_ctx=tx_ctx, sql=f"ROLLBACK TO SAVEPOINT {name}", params=(), column_types={}, read_only=False
                )
                await self.execute_sql(
                    tx_ctx=tx_ctx, sql=f"RELEASE SAVEPOINT {name}", params=(), column_types={}, read_only=False
                )
            except Exception:
                pass  # the original exception matters more than a failed cleanup
            raise
        await self.execute_sql(
            tx_ctx=tx_ctx, sql=f"RELEASE SAVEPOINT {name}", params=(), column_types={}, read_only=False
        )
        return result

    async def close(self) -> None:
        """Release what the provider owns. Idempotent; the default does nothing."""
