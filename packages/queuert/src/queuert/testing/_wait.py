"""A bounded wait for a condition, for tests that must observe something happen in the background."""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ("next_moment", "wait_until")

T = TypeVar("T")


@overload
async def wait_until(
    condition: Callable[[], Awaitable[T]],
    *,
    timeout_ms: float = 5_000,
    interval_ms: float = 5,
    message: str | None = None,
) -> T: ...


@overload
async def wait_until(
    condition: Callable[[], T],
    *,
    timeout_ms: float = 5_000,
    interval_ms: float = 5,
    message: str | None = None,
) -> T: ...


async def wait_until(
    condition: Callable[[], Any],
    *,
    timeout_ms: float = 5_000,
    interval_ms: float = 5,
    message: str | None = None,
) -> Any:
    """Call `condition` every `interval_ms` until it returns a truthy value, and return that value.

    `condition` may be sync or async. Raises `TimeoutError` (with `message`, if given) when
    it is still falsy after `timeout_ms`.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_ms / 1000
    while True:
        result = condition()
        value = await result if inspect.isawaitable(result) else result
        if value:
            return value
        if loop.time() >= deadline:
            raise TimeoutError(message or f"condition still false after {timeout_ms} ms")
        await asyncio.sleep(interval_ms / 1000)


async def next_moment() -> None:
    """Wait long enough for the next write to get a later `created_at` than the last one.

    SQLite stamps times to the millisecond, so jobs created back to back can share a
    `created_at`; listings then order them by id, which is random, and "newest" is a tie.
    Call this between writes whose order a test checks.
    """
    await asyncio.sleep(0.005)
