"""Building blocks of the cases: grouping, assertions, bounded waits and the spec's timing constants.

Cases assert with plain `assert`. Under pytest the binding registers this package for
assertion rewriting, so failures show the compared values; the framework-free runner
reports the failing line instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from .._runner import Case, CaseScope, ConformanceSkip

ContextT = TypeVar("ContextT", bound=CaseScope)
ErrorT = TypeVar("ErrorT", bound=BaseException)
FunctionT = TypeVar("FunctionT", bound=Callable[..., Awaitable[None]])

LOCK_OBSERVATION_S = 0.1
"""A locked read that must wait is still pending after this long."""
NEGATIVE_DELAY_S = 0.2
"""How long to wait before asserting that something did not arrive."""
DELIVERY_TIMEOUT_S = 2.0
"""A notification must arrive within this; also the bound of every other wait in the cases."""


class Group(Generic[ContextT]):
    """The cases of one group, in definition order."""

    def __init__(self, name: str, *, reset: bool = True) -> None:
        self.name = name
        self._reset = reset
        self.cases: list[Case[ContextT]] = []

    def case(self, name: str, *, upstream: bool = True) -> Callable[[FunctionT], FunctionT]:
        """Register the decorated `async def (context) -> None` as a case of this group."""

        def register(function: FunctionT) -> FunctionT:
            self.cases.append(Case(self.name, name, function, upstream=upstream, reset=self._reset))
            return function

        return register


class Rollback(Exception):
    """Raised inside a transaction or savepoint to roll it back on purpose."""


class Caught(Generic[ErrorT]):
    """The exception caught by `raises`."""

    value: ErrorT


@contextmanager
def raises(expected: type[ErrorT]) -> Iterator[Caught[ErrorT]]:
    """Assert that the block raises `expected` (or a subclass); other exceptions propagate."""
    caught: Caught[ErrorT] = Caught()
    try:
        yield caught
    except expected as error:
        caught.value = error
        return
    raise AssertionError(f"expected {expected.__name__} to be raised, but nothing was raised")


def skip(reason: str) -> ConformanceSkip:
    """Build the signal that skips the current case (raise it), with the reason to report."""
    return ConformanceSkip(reason)


def now() -> datetime:
    return datetime.now(UTC)


def ms_between(earlier: datetime, later: datetime) -> float:
    return (later - earlier).total_seconds() * 1000


def assert_near(value: datetime | None, expected: datetime, tolerance_ms: float = 1000) -> None:
    assert value is not None, f"expected a time near {expected.isoformat()}, got None"
    assert abs(ms_between(expected, value)) <= tolerance_ms, (
        f"{value.isoformat()} is more than {tolerance_ms:g} ms from {expected.isoformat()}"
    )


async def poll(predicate: Callable[[], bool], what: str, timeout_s: float = DELIVERY_TIMEOUT_S) -> None:
    """Wait until `predicate()` holds, failing after `timeout_s`."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        if asyncio.get_running_loop().time() >= deadline:
            raise AssertionError(f"not within {timeout_s:g} s: {what}")
        await asyncio.sleep(0.005)


async def wait_for(awaitable: Awaitable[Any], what: str, timeout_s: float = DELIVERY_TIMEOUT_S * 2) -> Any:
    """Await with a bound; a timeout fails the case with `what` in the message."""
    try:
        async with asyncio.timeout(timeout_s):
            return await awaitable
    except TimeoutError:
        raise AssertionError(f"not within {timeout_s:g} s: {what}") from None


async def clock_passes(moment: datetime, margin_ms: float = 1) -> None:
    """Sleep at least `margin_ms`, and until the clock is past `moment + margin_ms`.

    Used between writes that must get different timestamps. Both conditions matter: the
    moment comes from the store's clock, which may be slightly behind this process's.
    """
    await asyncio.sleep(margin_ms / 1000)
    target = moment + timedelta(milliseconds=margin_ms)
    deadline = asyncio.get_running_loop().time() + DELIVERY_TIMEOUT_S
    while (remaining := (target - now()).total_seconds()) >= 0:
        if asyncio.get_running_loop().time() >= deadline:
            raise AssertionError(f"the clock did not pass {target.isoformat()}; is the store's clock ahead?")
        await asyncio.sleep(remaining + 0.001)


async def settle() -> None:
    """Let other tasks run until they block."""
    for _ in range(10):
        await asyncio.sleep(0)
