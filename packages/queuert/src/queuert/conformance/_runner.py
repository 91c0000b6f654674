"""Runs a list of conformance cases against one fixture and reports every result.

Both ways of running the suites go through `run_case`: the framework-free runners
(`run_cases`) and the pytest binding, which runs one case per test. So the two report the
same outcome for the same adapter.
"""

from __future__ import annotations

import asyncio
import inspect
import linecache
import logging
import os
import time
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, TypeVar

from ..errors import QueuertError

if TYPE_CHECKING:
    from types import TracebackType

__all__ = (
    "Case",
    "CaseScope",
    "CaseStatus",
    "ConformanceError",
    "ConformanceReport",
    "ConformanceResult",
    "ConformanceSkip",
    "run_case",
    "run_cases",
)

ContextT = TypeVar("ContextT", bound="CaseScope")
FixtureT = TypeVar("FixtureT")
ResultT = TypeVar("ResultT")

CaseStatus: TypeAlias = Literal["pass", "fail", "skip"]

_logger = logging.getLogger("queuert.conformance")

_GATE_GRACE_S = 0.2
"""How long cleanup lets background tasks finish on their own once their gates are open."""
_CLEANUP_WAIT_S = 5.0
"""How long cleanup waits for the background tasks of a case to stop after cancelling them."""


class ConformanceSkip(Exception):
    """Raised by a case to skip itself: the fixture lacks an optional hook the case needs."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        """Why the case did not run, naming the missing fixture hook."""


@dataclass(frozen=True, slots=True)
class Case(Generic[ContextT]):
    """One conformance case: a named check of one rule of an adapter contract."""

    group: str
    """The group (the operation or behaviour under test), e.g. `createJobs`."""
    name: str
    """The case's name, worded as in the specification."""
    run: Callable[[ContextT], Awaitable[None]] = field(repr=False)
    """The case body. Internal: call it through a runner or the pytest binding."""
    upstream: bool = True
    """`False` for cases this port adds to upstream queuert's list (its own decisions and extra rules)."""
    reset: bool = True
    """Whether the fixture's `reset` runs first. Off for the `close` group, which needs no empty store."""

    @property
    def full_name(self) -> str:
        """`"{group} > {name}"`: the name used in reports."""
        return f"{self.group} > {self.name}"

    @property
    def id(self) -> str:
        """`"{group}::{name}"`: the pytest test id."""
        return f"{self.group}::{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ConformanceResult:
    """The outcome of one case."""

    name: str
    """The case's full name, `"{group} > {name}"`."""
    status: CaseStatus
    duration_ms: float
    error: Exception | None = None
    """Why the case failed: the body's error, a setup error, or the cleanup error of a passing body."""
    cleanup_error: Exception | None = None
    """A cleanup error that followed a failing body (both are kept)."""
    skip_reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConformanceReport:
    """Every case's result, in the order the cases ran, with totals."""

    total: int
    passed: int
    failed: int
    skipped: int
    results: tuple[ConformanceResult, ...]

    @property
    def failures(self) -> tuple[ConformanceResult, ...]:
        """The results of the failed cases."""
        return tuple(result for result in self.results if result.status == "fail")

    @classmethod
    def of(cls, results: Sequence[ConformanceResult]) -> ConformanceReport:
        """Build a report with totals counted from `results`."""
        return cls(
            total=len(results),
            passed=sum(result.status == "pass" for result in results),
            failed=sum(result.status == "fail" for result in results),
            skipped=sum(result.status == "skip" for result in results),
            results=tuple(results),
        )


class ConformanceError(QueuertError, AssertionError):
    """Some conformance cases failed.

    The message lists every failed case; `report` holds every result, and `__cause__` is an
    `ExceptionGroup` of the original errors.
    """

    report: ConformanceReport

    def __init__(self, message: str | None = None, *, report: ConformanceReport) -> None:
        super().__init__(message or _failure_message(report), report=report)


def describe_error(error: BaseException) -> str:
    """A one-line description of a case error; a bare `assert` is described by its source line."""
    text = str(error)
    if text or not isinstance(error, AssertionError):
        return f"{type(error).__name__}: {text}" if text else type(error).__name__
    frame = _innermost_frame(error.__traceback__)
    if frame is None:
        return "AssertionError"
    filename, lineno = frame
    source = linecache.getline(filename, lineno).strip()
    short = os.path.basename(filename)
    return f"AssertionError: {source} ({short}:{lineno})" if source else f"AssertionError ({short}:{lineno})"


def _innermost_frame(tb: TracebackType | None) -> tuple[str, int] | None:
    frames = traceback.extract_tb(tb)
    return (frames[-1].filename, frames[-1].lineno or 0) if frames else None


def _failure_message(report: ConformanceReport) -> str:
    lines = [
        f"{report.failed}/{report.total} conformance cases failed ({report.passed} passed, {report.skipped} skipped)"
    ]
    failures = report.failures
    for result in failures:
        lines.append(f"  x {result.name}: {describe_error(result.error) if result.error else 'failed'}")
    cleanup = [result for result in failures if result.cleanup_error is not None]
    if cleanup:
        lines.append("cleanup errors:")
        for result in cleanup:
            assert result.cleanup_error is not None
            lines.append(f"  x {result.name}: {describe_error(result.cleanup_error)}")
    return "\n".join(lines)


class CaseScope:
    """What every case context offers: background tasks and cleanups that end with the case.

    A failing case must not leave work behind on an adapter that the next case shares (a
    transaction waiting on a gate would hold its locks forever). So cases start background
    work through `start`, open gates through `gate`, and register undo steps with `defer`;
    the runner finishes all of it after the body, pass or fail.
    """

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[Any]] = []
        self._gates: list[asyncio.Event] = []
        self._cleanups: list[Callable[[], object]] = []

    def start(self, coro: Coroutine[Any, Any, ResultT]) -> asyncio.Task[ResultT]:
        """Run `coro` as a task; cleanup cancels it if the body did not wait for it."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.append(task)
        return task

    def gate(self) -> asyncio.Event:
        """An event the case sets to let a held transaction continue; cleanup sets it in any case."""
        event = asyncio.Event()
        self._gates.append(event)
        return event

    def defer(self, cleanup: Callable[[], object]) -> None:
        """Call `cleanup()` (awaiting its result if it returns an awaitable) after the body, last registered first."""
        self._cleanups.append(cleanup)

    async def _finish(self) -> None:
        for gate in self._gates:
            gate.set()
        await self._stop_tasks()
        await self._run_cleanups()

    async def _stop_tasks(self) -> None:
        pending = [task for task in self._tasks if not task.done()]
        if pending:
            # Opening the gates lets held transactions end normally; give them a moment
            # before falling back to cancellation.
            await asyncio.wait(pending, timeout=_GATE_GRACE_S)
            for task in pending:
                task.cancel()
            _, still_running = await asyncio.wait(pending, timeout=_CLEANUP_WAIT_S)
            if still_running:
                raise RuntimeError(f"{len(still_running)} background task(s) of the case did not stop when cancelled")
        for task in self._tasks:
            # Mark outcomes as retrieved: a failure there is a consequence of the case's own
            # failure (already reported), not something to log as "never retrieved".
            if not task.cancelled():
                task.exception()

    async def _run_cleanups(self) -> None:
        errors: list[Exception] = []
        for cleanup in reversed(self._cleanups):
            try:
                outcome = cleanup()
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception as error:
                errors.append(error)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise ExceptionGroup("several cleanups of the case failed", errors)


async def _bounded(awaitable: Awaitable[ResultT], timeout_ms: float | None, what: str) -> ResultT:
    __tracebackhide__ = True  # pytest leaves the runner's frames out of failure reports
    if timeout_ms is None:
        return await awaitable
    try:
        async with asyncio.timeout(timeout_ms / 1000):
            return await awaitable
    except TimeoutError as error:
        raise TimeoutError(f"{what} did not finish within {timeout_ms:g} ms") from error


async def run_case(
    case: Case[ContextT],
    context: ContextT,
    *,
    reset: Callable[[], Awaitable[None]] | None = None,
    timeout_ms: float | None = None,
) -> ConformanceResult:
    """Run one case: `reset` (setup), the body, then the context's cleanup; each bounded by `timeout_ms`.

    Never raises for a failing case (cancellation and `KeyboardInterrupt` still propagate).
    """
    __tracebackhide__ = True  # pytest leaves the runner's frames out of failure reports
    started = time.perf_counter()
    error: Exception | None = None
    skip_reason: str | None = None
    try:
        if reset is not None and case.reset:
            await _bounded(reset(), timeout_ms, "the fixture's reset()")
        await _bounded(case.run(context), timeout_ms, "the case")
    except ConformanceSkip as skip:
        skip_reason = skip.reason
    except Exception as caught:
        error = caught
    cleanup_error: Exception | None = None
    try:
        await _bounded(context._finish(), timeout_ms, "the case's cleanup")
    except Exception as caught:
        cleanup_error = caught
    duration_ms = (time.perf_counter() - started) * 1000
    if error is None and cleanup_error is not None:
        return ConformanceResult(name=case.full_name, status="fail", duration_ms=duration_ms, error=cleanup_error)
    if error is not None:
        return ConformanceResult(
            name=case.full_name, status="fail", duration_ms=duration_ms, error=error, cleanup_error=cleanup_error
        )
    if skip_reason is not None:
        return ConformanceResult(name=case.full_name, status="skip", duration_ms=duration_ms, skip_reason=skip_reason)
    return ConformanceResult(name=case.full_name, status="pass", duration_ms=duration_ms)


OnResult: TypeAlias = Callable[[ConformanceResult], object]


async def run_cases(
    cases: Sequence[Case[ContextT]],
    factory: Callable[[], Awaitable[FixtureT] | FixtureT],
    make_context: Callable[[FixtureT], ContextT],
    *,
    case_timeout_ms: float | None = None,
    on_result: OnResult | None = None,
) -> ConformanceReport:
    """Call `factory()` once, run every case in order on that fixture, then dispose of it.

    The fixture's optional `reset()` runs before each case and its optional `dispose()`
    after the last one, whatever the outcome.

    Raises:
        ConformanceError: listing every failed case.
    """
    if not __debug__:
        raise RuntimeError("The conformance cases check with `assert`: run them without python -O")
    made = factory()
    fixture: FixtureT = await made if inspect.isawaitable(made) else made
    reset: Callable[[], Awaitable[None]] | None = getattr(fixture, "reset", None)
    dispose: Callable[[], Awaitable[None]] | None = getattr(fixture, "dispose", None)
    results: list[ConformanceResult] = []
    try:
        for case in cases:
            result = await run_case(case, make_context(fixture), reset=reset, timeout_ms=case_timeout_ms)
            results.append(result)
            if on_result is not None:
                await _report(on_result, result)
    finally:
        if dispose is not None:
            await dispose()
    report = ConformanceReport.of(results)
    if report.failed:
        errors = [error for result in report.failures for error in (result.error, result.cleanup_error) if error]
        raise ConformanceError(report=report) from ExceptionGroup("conformance case failures", errors)
    return report


async def _report(on_result: OnResult, result: ConformanceResult) -> None:
    try:
        outcome = on_result(result)
        if inspect.isawaitable(outcome):
            await outcome
    except Exception:
        _logger.exception("on_result raised for conformance case %r; ignored", result.name)
