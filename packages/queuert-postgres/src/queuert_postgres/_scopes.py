"""Transactions and savepoints handed out as handles (`StateAdapter.open_transaction` / `open_savepoint`).

A worker keeps a job's transaction open while the handler runs. Through a handle it ends
the transaction with one call, instead of keeping a `with_transaction` callback suspended in
a task of its own; on a busy worker that task and its hand-offs cost more than the SQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn, TypeVar

from queuert.adapters import ScopeHandle

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from asyncpg.transaction import Transaction

    from ._asyncpg import AsyncpgConnection

__all__ = ("AsyncpgScope", "TranslatedScope")

TxCtxT = TypeVar("TxCtxT")


class AsyncpgScope(ScopeHandle["AsyncpgConnection"]):
    """An asyncpg transaction (`release` set: hand the connection back afterwards) or savepoint (`release` None).

    `release(connection, ended_cleanly)` learns whether the COMMIT or ROLLBACK went through.
    """

    __slots__ = ("_release", "_transaction")

    def __init__(
        self,
        conn: AsyncpgConnection,
        transaction: Transaction,
        release: Callable[[AsyncpgConnection, bool], Awaitable[None]] | None,
    ) -> None:
        super().__init__(conn)
        self._transaction = transaction
        self._release = release

    async def commit(self) -> None:
        # A COMMIT (RELEASE) that fails has rolled back on the server, as with asyncpg's own
        # `async with conn.transaction()`.
        await self._end(self._transaction.commit)

    async def rollback(self) -> None:
        await self._end(self._transaction.rollback)

    async def _end(self, end: Callable[[], Awaitable[None]]) -> None:
        try:
            await end()
        except BaseException:
            await self._hand_back(ended_cleanly=False)
            raise
        await self._hand_back(ended_cleanly=True)

    async def _hand_back(self, *, ended_cleanly: bool) -> None:
        release, self._release = self._release, None
        if release is not None:
            await release(self.tx_ctx, ended_cleanly)


class TranslatedScope(ScopeHandle[TxCtxT]):
    """Wraps a provider's handle so that failures of the commit or rollback are translated like the adapter's own."""

    __slots__ = ("_inner", "_translate")

    def __init__(self, inner: ScopeHandle[TxCtxT], translate: Callable[[Exception], NoReturn]) -> None:
        super().__init__(inner.tx_ctx)
        self._inner = inner
        self._translate = translate

    async def commit(self) -> None:
        try:
            await self._inner.commit()
        except Exception as exc:
            self._translate(exc)

    async def rollback(self) -> None:
        try:
            await self._inner.rollback()
        except Exception as exc:
            self._translate(exc)
