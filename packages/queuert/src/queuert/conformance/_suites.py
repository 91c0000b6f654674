"""The three suites: their case lists (loaded on first use) and their framework-free runners."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._fixtures import (
    NotifyCaseContext,
    NotifyConformanceFixture,
    StateCaseContext,
    StateConformanceFixture,
    ValidationCaseContext,
    ValidationConformanceFixture,
)
from ._runner import Case, ConformanceReport, OnResult, run_cases

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = (
    "CASES_PACKAGE",
    "notify_adapter_cases",
    "run_notify_adapter_conformance",
    "run_state_adapter_conformance",
    "run_validation_adapter_conformance",
    "state_adapter_cases",
    "validation_adapter_cases",
)

CASES_PACKAGE = "queuert.conformance._cases"
"""Where the case modules live. They are imported on first use, not with this package, so that the
pytest binding can register them for assert rewriting before they load."""


def state_adapter_cases() -> tuple[Case[StateCaseContext], ...]:
    """Every state adapter case, in the order the runner runs them (the `close` group last)."""
    from ._cases.state import CASES

    return CASES


def notify_adapter_cases() -> tuple[Case[NotifyCaseContext], ...]:
    """Every notify adapter case, in the order the runner runs them (the `close` group last)."""
    from ._cases.notify import CASES

    return CASES


def validation_adapter_cases() -> tuple[Case[ValidationCaseContext], ...]:
    """Every validation adapter case, in the order the runner runs them."""
    from ._cases.validation import CASES

    return CASES


async def run_state_adapter_conformance(
    factory: Callable[[], Awaitable[StateConformanceFixture[Any]]],
    *,
    case_timeout_ms: float | None = None,
    on_result: OnResult | None = None,
) -> ConformanceReport:
    """Check a state adapter against every state adapter case, sharing one adapter across them.

    `factory` is called once. Before each case the fixture's `reset()` empties the store
    (the `close` group, which runs last, is the exception); after the last case its
    `dispose()` runs, whatever the outcome. A case that needs an optional fixture hook the
    fixture lacks is skipped.

    Args:
        factory: Makes the fixture: an open adapter on an empty store, plus optional hooks.
        case_timeout_ms: Fails a case whose body (or reset, or cleanup) takes longer.
        on_result: Called with each case's result as soon as it is known (for example
            `print`); an exception it raises is logged and ignored.

    Returns:
        The report, when no case failed.

    Raises:
        ConformanceError: When any case failed; the message lists each failure and
            `error.report` holds every result.
    """
    return await run_cases(
        state_adapter_cases(), factory, StateCaseContext, case_timeout_ms=case_timeout_ms, on_result=on_result
    )


async def run_notify_adapter_conformance(
    factory: Callable[[], Awaitable[NotifyConformanceFixture]],
    *,
    case_timeout_ms: float | None = None,
    on_result: OnResult | None = None,
) -> ConformanceReport:
    """Check a notify adapter against every notify adapter case, sharing one adapter across them.

    Same calling convention as `run_state_adapter_conformance`.

    Raises:
        ConformanceError: When any case failed.
    """
    return await run_cases(
        notify_adapter_cases(), factory, NotifyCaseContext, case_timeout_ms=case_timeout_ms, on_result=on_result
    )


async def run_validation_adapter_conformance(
    factory: Callable[[], Awaitable[ValidationConformanceFixture]],
    *,
    case_timeout_ms: float | None = None,
    on_result: OnResult | None = None,
) -> ConformanceReport:
    """Check a validation adapter (a way of building `JobTypes` registries) against every validation case.

    Same calling convention as `run_state_adapter_conformance`.

    Raises:
        ConformanceError: When any case failed.
    """
    return await run_cases(
        validation_adapter_cases(),
        factory,
        ValidationCaseContext,
        case_timeout_ms=case_timeout_ms,
        on_result=on_result,
    )
