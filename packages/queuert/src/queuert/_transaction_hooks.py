"""Side effects that must wait for the surrounding database transaction to commit.

A mutation such as `start_chain` wants to wake workers, log, count metrics and end spans,
but only if the caller's transaction commits. It registers those side effects on a
`TransactionHooks` buffer instead of running them; whoever owns the transaction flushes
the buffer after COMMIT or discards it after ROLLBACK.

The buffer is generic: it knows nothing about queuert. Each entry is a `HookDefinition`
(some mutable state plus what to do with it on flush, discard and savepoint rollback)
registered under a `HookKey`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final

from .errors import HookNotRegisteredError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence
    from types import TracebackType

__all__ = (
    "HookDefinition",
    "HookKey",
    "HooksSavepoint",
    "TransactionHooks",
    "TransactionHooksHandle",
    "create_transaction_hooks",
    "transaction_hooks",
)

S = TypeVar("S")

_logger = logging.getLogger("queuert")


@final
class HookKey(Generic[S]):
    """A unique key for one kind of hook; `S` is the type of the hook's state.

    Keys compare by identity: two keys with the same name are different keys. Create one
    per kind of side effect at module level, e.g. `PENDING_EMAILS = HookKey[list[str]]("emails")`.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name
        """A label for debugging; it plays no part in lookups."""

    def __repr__(self) -> str:
        return f"HookKey({self.name!r})"


@dataclass(frozen=True, slots=True)
class HookDefinition(Generic[S]):
    """One buffered side effect: its state and what to do with it when the transaction ends."""

    state: S
    """Mutable state that code running inside the transaction adds to."""
    flush: Callable[[S], Awaitable[None] | None]
    """Called with `state` after the transaction committed. May be sync or async."""
    discard: Callable[[S], Awaitable[None] | None] | None = None
    """Called with `state` after the transaction rolled back (or on savepoint rollback when the
    hook was registered inside the savepoint). May be sync or async. `None`: nothing to clean up."""
    checkpoint: Callable[[S], Callable[[], None]] | None = None
    """Called with `state` when a savepoint is created; returns a restorer that puts `state` back
    the way it was at that moment. `None`: savepoint rollbacks leave this hook's state as it is."""


async def _settle(calls: Sequence[Callable[[], Awaitable[None] | None]]) -> BaseException | None:
    """Run every call, the async ones concurrently; return the first error in call order, if any."""
    errors: list[BaseException | None] = [None] * len(calls)
    pending: list[tuple[int, Awaitable[None]]] = []
    for index, call in enumerate(calls):
        try:
            result = call()
        except Exception as error:
            errors[index] = error
            continue
        if result is not None and inspect.isawaitable(result):
            pending.append((index, result))
    if len(pending) == 1:
        # One awaitable needs no gather (and no task of its own).
        index, awaitable = pending[0]
        try:
            await awaitable
        except asyncio.CancelledError as error:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            errors[index] = error
        except Exception as error:
            errors[index] = error
    elif pending:
        # gather() still propagates a cancellation of the awaiting task itself.
        outcomes = await asyncio.gather(*(awaitable for _, awaitable in pending), return_exceptions=True)
        for (index, _), outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                errors[index] = outcome
    return next((error for error in errors if error is not None), None)


class HooksSavepoint:
    """A point inside a transaction that the hooks can be rolled back to.

    Created by `TransactionHooks.create_savepoint`. Call exactly one of `rollback()` or
    `release()`, exactly once, before the hooks are flushed or discarded.
    """

    __slots__ = ("_generation", "_hooks", "_resolved", "_restorers", "_snapshot")

    def __init__(
        self,
        hooks: TransactionHooks,
        snapshot: dict[HookKey[Any], HookDefinition[Any]],
        restorers: dict[HookKey[Any], Callable[[], None]],
        generation: int,
    ) -> None:
        self._hooks = hooks
        self._snapshot = snapshot
        self._restorers = restorers
        self._generation = generation
        self._resolved = False

    @property
    def hooks(self) -> TransactionHooks:
        """The hooks this savepoint belongs to."""
        return self._hooks

    async def rollback(self) -> None:
        """Undo every hook change made since the savepoint was created.

        Hooks registered since then are removed and their `discard` is awaited (errors are
        logged at debug level and otherwise ignored). Hooks that existed before are put
        back if they were deleted or replaced, and their state is restored through the
        restorer their `checkpoint` returned.

        Raises:
            RuntimeError: the savepoint was already rolled back or released, or the hooks
                were flushed or discarded since it was created.
        """
        self._resolve()
        removed = self._hooks._restore(self._snapshot, self._restorers)
        error = await _settle([_bind(hook.discard, hook.state) for hook in removed if hook.discard is not None])
        if error is not None:
            # Ignored by contract: the rollback has already happened and must not look failed.
            _logger.debug("Transaction hook discard failed during savepoint rollback", exc_info=error)

    async def release(self) -> None:
        """Keep every hook change made since the savepoint was created.

        Raises:
            RuntimeError: the savepoint was already rolled back or released, or the hooks
                were flushed or discarded since it was created.
        """
        self._resolve()

    def _resolve(self) -> None:
        if self._resolved:
            raise RuntimeError("This hooks savepoint was already rolled back or released")
        if self._generation != self._hooks._generation:
            raise RuntimeError("The transaction hooks were flushed or discarded after this savepoint was created")
        self._resolved = True


def _bind(fn: Callable[[S], Awaitable[None] | None], state: S) -> Callable[[], Awaitable[None] | None]:
    return lambda: fn(state)


class TransactionHooks:
    """A buffer of side effects for one database transaction.

    Pass it to every mutating client call made inside the transaction. Get one from
    `transaction_hooks()` (recommended) or `create_transaction_hooks()`.

    After a flush or discard the buffer is empty and can be used again as a fresh buffer
    for a following transaction: hooks registered after the flush wait for the *next*
    flush or discard. (So a hook registered after `transaction_hooks()` exited is never
    run; register side effects while the transaction is open.)

    Not thread-safe; use it from one event loop.
    """

    __slots__ = ("_generation", "_hooks")

    def __init__(self) -> None:
        self._hooks: dict[HookKey[Any], HookDefinition[Any]] = {}
        # Bumped by every flush/discard so that savepoints from before can detect misuse.
        self._generation = 0

    def set(self, key: HookKey[S], hook: HookDefinition[S]) -> None:
        """Register `hook` under `key`, replacing any hook already there (without discarding it)."""
        self._hooks[key] = hook

    def get_or_insert(self, key: HookKey[S], factory: Callable[[], HookDefinition[S]]) -> S:
        """Return the state of the hook under `key`, registering `factory()` first if there is none."""
        hook = self._hooks.get(key)
        if hook is None:
            hook = factory()
            self._hooks[key] = hook
        state: S = hook.state
        return state

    def get(self, key: HookKey[S]) -> S:
        """Return the state of the hook under `key`.

        Raises:
            HookNotRegisteredError: no hook is registered under `key`.
        """
        hook = self._hooks.get(key)
        if hook is None:
            raise HookNotRegisteredError(key=key)
        state: S = hook.state
        return state

    def has(self, key: HookKey[Any]) -> bool:
        """Whether a hook is registered under `key`."""
        return key in self._hooks

    def delete(self, key: HookKey[Any]) -> None:
        """Remove the hook under `key` without flushing or discarding it. No-op when absent."""
        self._hooks.pop(key, None)

    def create_savepoint(self) -> HooksSavepoint:
        """Mark the current hooks so that later changes can be rolled back.

        Calls every registered hook's `checkpoint` now. Pair it with a database savepoint:
        roll both back or release both.
        """
        snapshot = dict(self._hooks)
        restorers = {key: hook.checkpoint(hook.state) for key, hook in snapshot.items() if hook.checkpoint is not None}
        return HooksSavepoint(self, snapshot, restorers, self._generation)

    def savepoint(self) -> AbstractAsyncContextManager[TransactionHooks]:
        """Async context manager around `create_savepoint()`.

        The body's hook changes are released when it returns and rolled back when it raises
        (any exception, `asyncio.CancelledError` included); the exception propagates.

        Example:
            ```python
            async with hooks.savepoint():
                await client.start_chain(..., tx_ctx=savepoint_ctx, transaction_hooks=hooks)
            ```
        """
        return _Savepoint(self)

    # --- lifecycle (reached through TransactionHooksHandle) ----------------------------

    def _take_all(self) -> list[HookDefinition[Any]]:
        hooks = list(self._hooks.values())
        self._hooks.clear()
        self._generation += 1
        return hooks

    async def _flush(self) -> None:
        hooks = self._take_all()
        error = await _settle([_bind(hook.flush, hook.state) for hook in hooks])
        if error is not None:
            raise error

    async def _discard(self) -> None:
        hooks = self._take_all()
        error = await _settle([_bind(hook.discard, hook.state) for hook in hooks if hook.discard is not None])
        if error is not None:
            raise error

    def _restore(
        self, snapshot: dict[HookKey[Any], HookDefinition[Any]], restorers: dict[HookKey[Any], Callable[[], None]]
    ) -> list[HookDefinition[Any]]:
        """Put the registry back to `snapshot`; return the hooks that were removed by doing so."""
        removed = [hook for key, hook in self._hooks.items() if snapshot.get(key) is not hook]
        self._hooks.clear()
        self._hooks.update(snapshot)
        for restore in restorers.values():
            restore()
        return removed


class _Savepoint(AbstractAsyncContextManager[TransactionHooks]):
    """`TransactionHooks.savepoint()`: release on success, roll back on any exception."""

    __slots__ = ("_hooks", "_savepoint")

    def __init__(self, hooks: TransactionHooks) -> None:
        self._hooks = hooks
        self._savepoint: HooksSavepoint | None = None

    async def __aenter__(self) -> TransactionHooks:
        self._savepoint = self._hooks.create_savepoint()
        return self._hooks

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._savepoint is not None
        if exc_type is None:
            await self._savepoint.release()
        else:
            await self._savepoint.rollback()


class TransactionHooksHandle:
    """Manual lifecycle for a `TransactionHooks` (see `create_transaction_hooks`)."""

    __slots__ = ("_hooks",)

    def __init__(self) -> None:
        self._hooks = TransactionHooks()

    @property
    def hooks(self) -> TransactionHooks:
        """The hooks to pass to mutating client calls."""
        return self._hooks

    async def flush(self) -> None:
        """Run every buffered side effect. Call it after the transaction committed.

        Takes all hooks out of the buffer (leaving it empty and reusable), then calls every
        hook's `flush(state)`; async flushes run concurrently and no order between hooks is
        guaranteed. When some of them fail, the others still run to completion, then the
        error of the earliest-registered failing hook is raised.
        """
        await self._hooks._flush()

    async def discard(self) -> None:
        """Drop every buffered side effect. Call it after the transaction rolled back.

        Like `flush`, but calls each hook's `discard(state)` (when it has one) instead.
        """
        await self._hooks._discard()


def create_transaction_hooks() -> TransactionHooksHandle:
    """Create hooks whose flush and discard you call yourself.

    You must call `flush()` after COMMIT and `discard()` after ROLLBACK: forgetting the
    first loses the side effects (workers are not woken until they poll), forgetting the
    second leaks whatever the hooks hold open (e.g. spans). Prefer `transaction_hooks()`.

    Example:
        ```python
        handle = create_transaction_hooks()
        try:
            async with engine.begin() as conn:
                await client.start_chain(..., tx_ctx=conn, transaction_hooks=handle.hooks)
        except BaseException:
            await handle.discard()
            raise
        await handle.flush()
        ```
    """
    return TransactionHooksHandle()


class _TransactionHooksScope(AbstractAsyncContextManager[TransactionHooks]):
    __slots__ = ("_handle",)

    def __init__(self) -> None:
        self._handle = create_transaction_hooks()

    async def __aenter__(self) -> TransactionHooks:
        return self._handle.hooks

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            await self._handle.flush()
            return
        try:
            await self._handle.discard()
        except Exception:
            # The body's exception is what the caller needs to see.
            _logger.debug("Transaction hook discard failed", exc_info=True)


def transaction_hooks() -> AbstractAsyncContextManager[TransactionHooks]:
    """Async context manager giving a fresh `TransactionHooks` for one transaction.

    On normal exit the hooks are flushed (errors from flushing propagate). When the body
    raises (any exception, `asyncio.CancelledError` included) the hooks are discarded,
    errors from discarding are suppressed, and the body's exception propagates.

    It must *wrap* the database transaction so that the flush runs after COMMIT:

    Example:
        ```python
        async with transaction_hooks() as hooks:
            async with engine.begin() as conn:
                await client.start_chain(..., tx_ctx=conn, transaction_hooks=hooks)
        # committed, then flushed: workers are woken here
        ```
    """
    return _TransactionHooksScope()
