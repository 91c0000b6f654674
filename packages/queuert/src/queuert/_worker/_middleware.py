"""Attempt middleware: code wrapped around every attempt, prepare callback and complete callback."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from .._entities import RunningJob
    from .._extras import Extras
    from .._transaction_hooks import TransactionHooks

__all__ = ("AttemptMiddleware", "Next", "run_wrapped")

TxCtxT = TypeVar("TxCtxT")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Next(Protocol[T_co]):
    """Calls the next layer (or the wrapped code itself), adding `extras` for it."""

    def __call__(self, extras: Extras | None = None, /) -> Awaitable[T_co]: ...


class AttemptMiddleware(Generic[TxCtxT]):
    """Code that runs around attempts. Subclass it and override the hooks you need.

    Each hook receives `next`; it must call `await next(...)` exactly once and return its
    result (or raise). Passing `Extras().set(KEY, value)` to `next` makes the value visible
    to the layers inside and to the handler or callback (`ctx.extras[KEY]`). With several
    middleware, the first in the list is the outermost layer.

    - `wrap_handler` wraps the whole attempt, handler included (also the `job_attempt_started`
      event and the attempt span). Raising before calling `next` undoes the acquisition.
    - `wrap_prepare` wraps the prepare callback, inside its savepoint (not called when
      `prepare` has no callback).
    - `wrap_complete` wraps the complete callback, inside the completion savepoint.
    """

    async def wrap_handler(self, *, job: RunningJob[Any], worker_id: str, next: Next[T]) -> T:
        """Wrap a whole attempt. Default: call `next()`."""
        return await next()

    async def wrap_prepare(self, *, job: RunningJob[Any], tx_ctx: TxCtxT, next: Next[T]) -> T:
        """Wrap a prepare callback. Default: call `next()`."""
        return await next()

    async def wrap_complete(
        self, *, job: RunningJob[Any], tx_ctx: TxCtxT, transaction_hooks: TransactionHooks, next: Next[T]
    ) -> T:
        """Wrap a complete callback. Default: call `next()`."""
        return await next()


async def run_wrapped(
    layers: Sequence[Callable[[Next[T]], Awaitable[T]]],
    innermost: Callable[[Extras], Awaitable[T]],
    extras: Extras,
) -> T:
    """Run `innermost` inside `layers` (first = outermost); each layer's `next(extras)` adds to what inner ones see."""

    def build(index: int, seen: Extras) -> Next[T]:
        called = False

        def call(added: Extras | None = None, /) -> Awaitable[T]:
            nonlocal called
            if called:
                raise RuntimeError("attempt middleware called next() more than once")
            called = True
            merged = seen.merge(added)
            if index == len(layers):
                return innermost(merged)
            return layers[index](build(index + 1, merged))

        return call

    return await build(0, extras)()
