"""The pytest binding's implementation; import the suites from `queuert.conformance.pytest`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, TypeVar

try:
    import pytest
    import pytest_asyncio
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "queuert.conformance.pytest needs pytest and pytest-asyncio: pip install 'queuert[testing]'"
    ) from error

from ._fixtures import (
    NotifyCaseContext,
    NotifyConformanceFixture,
    StateCaseContext,
    StateConformanceFixture,
    ValidationCaseContext,
    ValidationConformanceFixture,
)
from ._runner import Case, CaseScope, describe_error, run_case
from ._suites import CASES_PACKAGE, notify_adapter_cases, state_adapter_cases, validation_adapter_cases

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

__all__ = ("NotifyAdapterConformance", "StateAdapterConformance", "ValidationAdapterConformance")

ContextT = TypeVar("ContextT", bound=CaseScope)

# Cases check with plain `assert`; have pytest rewrite them so failures show the values.
# Only possible before the case modules are first imported (a framework-free run earlier in
# the same process imports them without rewriting, which is harmless).
if CASES_PACKAGE not in sys.modules:
    pytest.register_assert_rewrite(CASES_PACKAGE)

_ = pytest_asyncio  # imported only to fail early, with the install hint, when the plugin is missing

_MISSING_FIXTURE = (
    "{cls} runs the {suite} conformance suite but does not say what to test: override the "
    "`{fixture}` fixture in the class so that it returns (or yields) a {fixture_type}, for example\n\n"
    "    class {cls}({base}):\n"
    "        @pytest_asyncio.fixture\n"
    "        async def {fixture}(self):\n"
    "{example}"
)

_EXAMPLES = {
    "state": (
        "            adapter = await create_my_state_adapter()  # open, on an empty store\n"
        "            yield StateConformanceFixture(state_adapter=adapter)\n"
        "            await adapter.close()\n"
    ),
    "notify": (
        "            adapter = await create_my_notify_adapter()\n"
        "            yield NotifyConformanceFixture(notify_adapter=adapter)\n"
        "            await adapter.close()\n"
    ),
    "validation": "            return ValidationConformanceFixture(build_entry=..., build_non_entry=..., ...)\n",
}


def _missing_fixture(
    request: pytest.FixtureRequest, base: type, suite: str, fixture: str, fixture_type: type
) -> NoReturn:
    pytest.fail(
        _MISSING_FIXTURE.format(
            cls=request.cls.__name__ if request.cls is not None else base.__name__,
            suite=suite,
            base=base.__name__,
            fixture=fixture,
            fixture_type=fixture_type.__name__,
            example=_EXAMPLES[suite],
        ),
        pytrace=False,
    )


def _check_fixture(value: object, expected: type, fixture: str) -> None:
    if not isinstance(value, expected):
        pytest.fail(
            f"the `{fixture}` fixture must return a {expected.__name__}, got {type(value).__name__}",
            pytrace=False,
        )


async def _run(
    case: Case[ContextT],
    context: ContextT,
    reset: Callable[[], Awaitable[None]] | None,
    dispose: Callable[[], Awaitable[None]] | None,
    timeout_ms: float | None,
) -> None:
    # Hide this frame from failure tracebacks, but keep it as the location of a skip (the
    # frames below it are asyncio's).
    __tracebackhide__ = _unless_skip
    try:
        result = await run_case(case, context, reset=reset, timeout_ms=timeout_ms)
    finally:
        if dispose is not None:
            await dispose()
    if result.status == "skip":
        pytest.skip(result.skip_reason or "skipped")
    if result.error is not None:
        error = result.error
        if result.cleanup_error is not None:
            error.add_note(f"The case's cleanup failed too: {describe_error(result.cleanup_error)}")
        raise error


def _unless_skip(excinfo: pytest.ExceptionInfo[BaseException]) -> bool:
    return not excinfo.errisinstance(pytest.skip.Exception)


def _ids(cases: Sequence[Case[Any]]) -> list[str]:
    return [case.id for case in cases]


_STATE_CASES = state_adapter_cases()
_NOTIFY_CASES = notify_adapter_cases()
_VALIDATION_CASES = validation_adapter_cases()


class StateAdapterConformance:
    """The state adapter suite as a test class: subclass it as `Test...` and override `state_conformance_fixture`.

    The fixture returns (or yields) a `StateConformanceFixture` with an open adapter on an
    empty store; it runs once per case. Its `reset` runs before each case (except the
    `close` group) and its `dispose` after each.
    """

    conformance_case_timeout_ms: ClassVar[float | None] = 300_000
    """Fails a case (or its reset or cleanup) that takes longer; `None` for no limit."""

    # Declared as `Any` for type checkers, so that an override (usually an async generator
    # decorated with @pytest_asyncio.fixture) is not reported as an incompatible override.
    if TYPE_CHECKING:
        state_conformance_fixture: Any
    else:

        @pytest.fixture
        def state_conformance_fixture(self, request: pytest.FixtureRequest) -> StateConformanceFixture[Any]:
            """Override this fixture: return or yield a `StateConformanceFixture` for the adapter under test."""
            _missing_fixture(
                request, StateAdapterConformance, "state", "state_conformance_fixture", StateConformanceFixture
            )

    @pytest.mark.asyncio
    @pytest.mark.parametrize("conformance_case", _STATE_CASES, ids=_ids(_STATE_CASES))
    async def test_state_adapter_conformance(
        self, conformance_case: Case[StateCaseContext], state_conformance_fixture: StateConformanceFixture[Any]
    ) -> None:
        """Run one state adapter case."""
        __tracebackhide__ = True
        fixture = state_conformance_fixture
        _check_fixture(fixture, StateConformanceFixture, "state_conformance_fixture")
        await _run(
            conformance_case,
            StateCaseContext(fixture),
            fixture.reset,
            fixture.dispose,
            self.conformance_case_timeout_ms,
        )


class NotifyAdapterConformance:
    """The notify adapter suite as a test class: subclass it as `Test...` and override `notify_conformance_fixture`.

    The fixture returns (or yields) a `NotifyConformanceFixture`; it runs once per case.
    """

    conformance_case_timeout_ms: ClassVar[float | None] = 60_000
    """Fails a case (or its reset or cleanup) that takes longer; `None` for no limit."""

    # Declared as `Any` for type checkers, so that an override (usually an async generator
    # decorated with @pytest_asyncio.fixture) is not reported as an incompatible override.
    if TYPE_CHECKING:
        notify_conformance_fixture: Any
    else:

        @pytest.fixture
        def notify_conformance_fixture(self, request: pytest.FixtureRequest) -> NotifyConformanceFixture:
            """Override this fixture: return or yield a `NotifyConformanceFixture` for the adapter under test."""
            _missing_fixture(
                request, NotifyAdapterConformance, "notify", "notify_conformance_fixture", NotifyConformanceFixture
            )

    @pytest.mark.asyncio
    @pytest.mark.parametrize("conformance_case", _NOTIFY_CASES, ids=_ids(_NOTIFY_CASES))
    async def test_notify_adapter_conformance(
        self, conformance_case: Case[NotifyCaseContext], notify_conformance_fixture: NotifyConformanceFixture
    ) -> None:
        """Run one notify adapter case."""
        __tracebackhide__ = True
        fixture = notify_conformance_fixture
        _check_fixture(fixture, NotifyConformanceFixture, "notify_conformance_fixture")
        await _run(
            conformance_case,
            NotifyCaseContext(fixture),
            fixture.reset,
            fixture.dispose,
            self.conformance_case_timeout_ms,
        )


class ValidationAdapterConformance:
    """The validation suite as a test class: subclass it as `Test...` and override `validation_conformance_fixture`.

    The fixture returns a `ValidationConformanceFixture` whose builders make registries
    with the validation adapter under test.
    """

    conformance_case_timeout_ms: ClassVar[float | None] = 60_000
    """Fails a case that takes longer; `None` for no limit."""

    # Declared as `Any` for type checkers, so that an override (usually an async generator
    # decorated with @pytest_asyncio.fixture) is not reported as an incompatible override.
    if TYPE_CHECKING:
        validation_conformance_fixture: Any
    else:

        @pytest.fixture
        def validation_conformance_fixture(self, request: pytest.FixtureRequest) -> ValidationConformanceFixture:
            """Override this fixture: return a `ValidationConformanceFixture` built with the adapter under test."""
            _missing_fixture(
                request,
                ValidationAdapterConformance,
                "validation",
                "validation_conformance_fixture",
                ValidationConformanceFixture,
            )

    @pytest.mark.asyncio
    @pytest.mark.parametrize("conformance_case", _VALIDATION_CASES, ids=_ids(_VALIDATION_CASES))
    async def test_validation_adapter_conformance(
        self,
        conformance_case: Case[ValidationCaseContext],
        validation_conformance_fixture: ValidationConformanceFixture,
    ) -> None:
        """Run one validation adapter case."""
        __tracebackhide__ = True
        fixture = validation_conformance_fixture
        _check_fixture(fixture, ValidationConformanceFixture, "validation_conformance_fixture")
        await _run(
            conformance_case,
            ValidationCaseContext(fixture),
            None,
            fixture.dispose,
            self.conformance_case_timeout_ms,
        )
