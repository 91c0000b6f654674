"""Adapters that fail on purpose: wrap a real adapter and inject errors into chosen calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeAlias, TypeVar

from .._observed import DelegatingNotifyAdapter, DelegatingStateAdapter

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from .._notify_adapter import NotifyAdapter
    from .._state_adapter import StateAdapter


__all__ = ("FaultPlan", "FlakyNotifyAdapter", "FlakyStateAdapter", "fail_operations", "seeded_batches")

TxCtxT = TypeVar("TxCtxT")
ResultT = TypeVar("ResultT")

FaultPlan: TypeAlias = Callable[[str], bool]
"""Decides, per call, whether a flaky adapter fails it: `plan(operation_name) -> True` to fail."""

_UINT32 = 0xFFFFFFFF


def _mulberry32(seed: int) -> Callable[[], float]:
    """The mulberry32 generator, bit for bit as the JavaScript original (floats in [0, 1))."""
    state = seed & _UINT32

    def next_float() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & _UINT32
        t = ((state ^ (state >> 15)) * (1 | state)) & _UINT32
        t = ((t + (((t ^ (t >> 7)) * (61 | t)) & _UINT32)) & _UINT32) ^ t
        return ((t ^ (t >> 14)) & _UINT32) / 4294967296

    return next_float


def seeded_batches(seed: int = 12345) -> FaultPlan:
    """A deterministic plan: runs of 4-15 successful calls alternate with runs of 1-20 failing calls."""
    random = _mulberry32(seed)
    failing = False
    left = 4 + int(random() * 12)

    def plan(_operation: str) -> bool:
        nonlocal failing, left
        while left == 0:
            failing = not failing
            left = 1 + int(random() * 20) if failing else 4 + int(random() * 12)
        left -= 1
        return failing

    return plan


def fail_operations(*operations: str, times: int | None = None) -> FaultPlan:
    """A plan that fails the named operations (every time, or only the first `times` calls of them)."""
    names = frozenset(operations)
    remaining = times

    def plan(operation: str) -> bool:
        nonlocal remaining
        if operation not in names:
            return False
        if remaining is None:
            return True
        if remaining <= 0:
            return False
        remaining -= 1
        return True

    return plan


class _Faults:
    __slots__ = ("calls", "enabled", "failures", "plan", "what")

    def __init__(self, plan: FaultPlan, what: str) -> None:
        self.plan = plan
        self.what = what
        self.calls = 0
        self.failures = 0
        self.enabled = True

    def check(self, operation: str) -> None:
        if not self.enabled:
            return
        self.calls += 1
        if self.plan(operation):
            self.failures += 1
            raise ConnectionResetError(f"{self.what}: injected failure of {operation}")


class _FaultInjecting:
    """What both flaky adapters share: each intercepted call goes through the plan first."""

    _faults: _Faults

    @property
    def calls(self) -> int:
        """How many calls went through the plan."""
        return self._faults.calls

    @property
    def failures(self) -> int:
        """How many calls were made to fail."""
        return self._faults.failures

    @property
    def enabled(self) -> bool:
        """Whether failures are injected."""
        return self._faults.enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._faults.enabled = value

    async def _intercept(self, operation: str, call: Callable[[], Awaitable[ResultT]]) -> ResultT:
        self._faults.check(operation)
        return await call()


class FlakyStateAdapter(_FaultInjecting, DelegatingStateAdapter[TxCtxT], Generic[TxCtxT]):
    """A state adapter that delegates to `inner` but raises `ConnectionResetError` when `plan` says so.

    Every operation can fail, `with_transaction` included (before the transaction begins);
    `with_savepoint` and `close` never do. A failure happens before the inner call, so the
    store is untouched by the failing call. Set `enabled = False` to stop injecting.
    """

    def __init__(self, inner: StateAdapter[TxCtxT], *, plan: FaultPlan | None = None) -> None:
        super().__init__(inner)
        self._faults = _Faults(plan if plan is not None else seeded_batches(), "FlakyStateAdapter")

    async def _intercept_transaction(self, call: Callable[[], Awaitable[ResultT]]) -> ResultT:
        # The failure comes before the transaction begins, like a connection that cannot be had.
        self._faults.check("with_transaction")
        return await call()


class FlakyNotifyAdapter(_FaultInjecting, DelegatingNotifyAdapter):
    """A notify adapter that delegates to `inner` but raises `ConnectionResetError` when `plan` says so.

    Every method except `close` can fail (subscriptions included); unsubscribe callables
    never fail. A failure happens before the inner call. Set `enabled = False` to stop injecting.
    """

    def __init__(self, inner: NotifyAdapter, *, plan: FaultPlan | None = None) -> None:
        super().__init__(inner)
        self._faults = _Faults(plan if plan is not None else seeded_batches(), "FlakyNotifyAdapter")
