"""Keeping a callback-style transaction or savepoint open across awaits.

`StateAdapter.with_transaction(fn)` and `with_savepoint(tx, fn)` commit (release) when `fn`
returns and roll back when it raises. An attempt, though, opens its transaction, hands it
to user code that runs for a while in another task, and decides only later whether to
commit. `OpenScope` runs the adapter call in a task of its own whose `fn` just waits for
that decision, so the scope is entered and left in one task (drivers with task affinity
stay happy) while other tasks use the transaction context, one call at a time.

An adapter that can hand out the transaction itself (`open_transaction` / `open_savepoint`
returning a `ScopeHandle`) spares that task: `HandleScope` just keeps the handle and ends
it with one call.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Generic, TypeVar

from .._transaction_hooks import TransactionHooksHandle, create_transaction_hooks

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from .._state_adapter import ScopeHandle, StateAdapter
    from .._transaction_hooks import HooksSavepoint, TransactionHooks

__all__ = ("HandleScope", "OpenSavepoint", "OpenScope", "OpenTransaction")

ValueT = TypeVar("ValueT")
TxCtxT = TypeVar("TxCtxT")

_logger = logging.getLogger("queuert")


class _RollBack(Exception):
    """Raised inside the scope's callback to make the adapter roll back."""


class OpenScope(Generic[ValueT]):
    """A scope entered by `enter(fn)` that stays open until `close()`.

    `open()` returns the value the scope hands to `fn` (the transaction context). `close(commit=True)`
    lets `fn` return (commit / release), `close(commit=False)` makes it raise (roll back).
    Either way `close` returns only when the adapter call has finished; a failing commit
    raises from `close`.
    """

    __slots__ = ("_decision", "_enter", "_opened", "_task")

    def __init__(self, enter: Callable[[Callable[[ValueT], Awaitable[None]]], Awaitable[None]]) -> None:
        self._enter = enter
        self._task: asyncio.Task[None] | None = None
        self._opened: asyncio.Future[ValueT] | None = None
        self._decision: asyncio.Future[None] | None = None

    @property
    def is_open(self) -> bool:
        """Whether the scope was opened and not yet closed."""
        return self._decision is not None and not self._decision.done()

    async def open(self) -> ValueT:
        """Enter the scope and return its value. If entering fails, that error is raised."""
        if self._task is not None:
            raise RuntimeError("this scope was already opened")
        loop = asyncio.get_running_loop()
        self._opened = loop.create_future()
        self._decision = loop.create_future()
        self._task = asyncio.create_task(self._run())
        try:
            await asyncio.wait((self._opened, self._task), return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            # Cancelled while entering: make sure the scope does not stay open behind us.
            self._decide(commit=False)
            raise
        if self._opened.done():
            return self._opened.result()
        # The adapter call finished without ever calling fn: it failed to begin.
        self._decision.cancel()
        self._task.result()
        raise RuntimeError("the adapter returned without running the scope's callback")

    async def _run(self) -> None:
        try:
            await self._enter(self._body)
        except _RollBack:
            pass
        finally:
            decision = self._decision
            if decision is not None and decision.done() and not decision.cancelled():
                decision.exception()  # retrieved: a rollback decided before the body ran is no error

    async def _body(self, value: ValueT) -> None:
        assert self._opened is not None
        assert self._decision is not None
        self._opened.set_result(value)
        # Raises _RollBack when the decision is to roll back, which the adapter then does.
        await self._decision

    def _decide(self, *, commit: bool) -> None:
        decision = self._decision
        if decision is None or decision.done():
            return
        if commit:
            decision.set_result(None)
        else:
            decision.set_exception(_RollBack())

    async def close(self, *, commit: bool) -> None:
        """Commit (`True`) or roll back (`False`) and wait until the adapter is done. Idempotent."""
        task = self._task
        if task is None or self._opened is None or not self._opened.done():
            # Never opened (or opening failed): there is nothing to commit or roll back.
            self._decide(commit=False)
            return
        self._decide(commit=commit)
        # The decision is already recorded, so even if this wait is interrupted the scope
        # task finishes on its own and nothing is left open.
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and (current is None or current.cancelling() == 0):
                # Someone else cancelled the scope task (event loop teardown): the adapter
                # rolled back. That is a failure of this scope, not a cancellation of ours.
                raise RuntimeError("the transaction was cancelled and rolled back before it could finish") from None
            raise

    def abandon(self) -> None:
        """Roll back without waiting (for cleanup paths that must not await)."""
        self._decide(commit=False)


_abandoned: set[asyncio.Task[None]] = set()


def _abandoned_done(task: asyncio.Task[None]) -> None:
    _abandoned.discard(task)
    if not task.cancelled() and task.exception() is not None:
        _logger.debug("queuert: rolling back an abandoned transaction failed", exc_info=task.exception())


class HandleScope(Generic[TxCtxT]):
    """A scope whose adapter handed out a `ScopeHandle`: the same interface as `OpenScope`, with no task."""

    __slots__ = ("_handle", "_open")

    def __init__(self, handle: ScopeHandle[TxCtxT]) -> None:
        self._handle = handle
        self._open = True

    @property
    def is_open(self) -> bool:
        """Whether the scope was not yet closed."""
        return self._open

    async def close(self, *, commit: bool) -> None:
        """Commit (`True`) or roll back (`False`). Idempotent; a failing commit raises (the handle rolled back)."""
        if not self._open:
            return
        self._open = False
        if commit:
            await self._handle.commit()
        else:
            await self._handle.rollback()

    def forget(self) -> None:
        """Close without a statement: the enclosing transaction's commit is about to release the savepoint."""
        self._open = False

    def abandon(self) -> None:
        """Roll back in the background (for cleanup paths that must not await)."""
        if not self._open:
            return
        self._open = False
        task = asyncio.ensure_future(self._handle.rollback())
        _abandoned.add(task)
        task.add_done_callback(_abandoned_done)


class OpenTransaction(Generic[TxCtxT]):
    """A transaction of `state` with its own `TransactionHooks`, flushed after commit and discarded after rollback."""

    __slots__ = ("_handle", "_scope", "_state", "tx_ctx")

    def __init__(self, state: StateAdapter[TxCtxT]) -> None:
        self._state = state
        self._scope: OpenScope[TxCtxT] | HandleScope[TxCtxT] | None = None
        self._handle: TransactionHooksHandle = create_transaction_hooks()
        self.tx_ctx: TxCtxT | None = None

    @property
    def hooks(self) -> TransactionHooks:
        """The hooks of this transaction."""
        return self._handle.hooks

    @property
    def is_open(self) -> bool:
        """Whether the transaction is open."""
        return self._scope is not None and self._scope.is_open

    async def open(self) -> TxCtxT:
        """Begin the transaction."""
        if self._scope is not None:
            raise RuntimeError("this transaction was already opened")
        handle = await self._state.open_transaction()
        if handle is not None:
            self._scope = HandleScope(handle)
            self.tx_ctx = handle.tx_ctx
        else:
            scope: OpenScope[TxCtxT] = OpenScope(self._state.with_transaction)
            self._scope = scope
            self.tx_ctx = await scope.open()
        return self.tx_ctx

    async def commit(self) -> None:
        """Commit, then flush the hooks. A failing commit discards the hooks and raises."""
        try:
            if self._scope is not None:
                await self._scope.close(commit=True)
        except BaseException:
            await self._discard_hooks()
            raise
        try:
            await self._handle.flush()
        except Exception:
            # Binding decision 7: after a commit nothing may surface to the committer.
            _logger.exception("queuert: a transaction hook failed after commit; the error was ignored")

    async def rollback(self) -> None:
        """Roll back (if still open) and discard the hooks. Idempotent."""
        try:
            if self._scope is not None:
                await self._scope.close(commit=False)
        finally:
            await self._discard_hooks()

    async def _discard_hooks(self) -> None:
        try:
            await self._handle.discard()
        except Exception:
            _logger.debug("queuert: discarding transaction hooks failed", exc_info=True)

    def abandon(self) -> None:
        """Roll back without waiting."""
        if self._scope is not None:
            self._scope.abandon()


class OpenSavepoint(Generic[TxCtxT]):
    """A database savepoint paired with a hooks savepoint; released or rolled back together.

    `open(defer=True)` takes only the hooks savepoint and leaves the database one for
    `materialize()`: while no statement has run since, rolling back to it would change
    nothing on the database, so a savepoint that is never materialized costs no round trip.
    """

    __slots__ = ("_deferred", "_hooks_savepoint", "_scope", "_state", "_tx_ctx")

    def __init__(self, state: StateAdapter[TxCtxT], tx_ctx: TxCtxT, hooks: TransactionHooks) -> None:
        self._state = state
        self._tx_ctx = tx_ctx
        self._scope: OpenScope[TxCtxT] | HandleScope[TxCtxT] | None = None
        self._deferred = False
        self._hooks_savepoint: HooksSavepoint = hooks.create_savepoint()

    @property
    def is_open(self) -> bool:
        """Whether the savepoint is open (or deferred)."""
        return self._deferred or (self._scope is not None and self._scope.is_open)

    async def open(self, *, defer: bool = False) -> None:
        """Take the savepoint; with `defer`, take the database savepoint only at `materialize()`."""
        if self._scope is not None or self._deferred:
            raise RuntimeError("this savepoint was already opened")
        if defer:
            self._deferred = True
            return
        await self._open_scope()

    async def materialize(self) -> None:
        """Take the deferred database savepoint now, before statements that a rollback must undo."""
        if self._deferred:
            self._deferred = False
            await self._open_scope()

    async def _open_scope(self) -> None:
        try:
            handle = await self._state.open_savepoint(self._tx_ctx)
            if handle is not None:
                self._scope = HandleScope(handle)
            else:
                state, tx_ctx = self._state, self._tx_ctx
                scope: OpenScope[TxCtxT] = OpenScope(lambda fn: state.with_savepoint(tx_ctx, fn))
                self._scope = scope
                await scope.open()
        except BaseException:
            await self._hooks_savepoint.rollback()
            raise

    async def release(self, *, before_commit: bool = False) -> None:
        """Keep everything done since the savepoint.

        `before_commit`: the caller commits the savepoint's transaction next, which releases
        the savepoint anyway; with a handle from the adapter that saves a round trip.
        """
        if self._deferred:
            self._deferred = False
            await self._hooks_savepoint.release()
            return
        scope = self._scope
        if scope is None or not scope.is_open:
            return
        if before_commit and isinstance(scope, HandleScope):
            scope.forget()
        else:
            await scope.close(commit=True)
        await self._hooks_savepoint.release()

    async def rollback(self) -> None:
        """Undo everything done since the savepoint, database writes and buffered hooks alike."""
        if self._deferred:
            # No statement ran since: the database is already where the savepoint was.
            self._deferred = False
            await self._hooks_savepoint.rollback()
            return
        scope = self._scope
        if scope is None or not scope.is_open:
            return
        try:
            await scope.close(commit=False)
        finally:
            await self._hooks_savepoint.rollback()

    def abandon(self) -> None:
        """Roll back without waiting (the hooks are dropped with their transaction)."""
        self._deferred = False
        if self._scope is not None:
            self._scope.abandon()
