"""The notify suite cannot pass vacuously: run through the pytest binding, a broken adapter fails where it is broken.

Each run below is a separate pytest session (pytester) on a test module written the way an
adapter author writes it, in pytest-asyncio's default strict mode, so the binding's own
asyncio marks are what make the async cases run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from thin_notify_adapter.broken import BROKEN_CASES

pytest_plugins = ["pytester"]

TESTS_INTEGRATION = Path(__file__).resolve().parent.parent

AUTHOR_MODULE = """
import pytest_asyncio

from queuert.conformance import NotifyConformanceFixture
from queuert.conformance.pytest import NotifyAdapterConformance
from thin_notify_adapter.broken import UnsubscribeIgnoringNotifyAdapter


class TestBrokenNotifyAdapter(NotifyAdapterConformance):
    @pytest_asyncio.fixture
    async def notify_conformance_fixture(self):
        adapter = UnsubscribeIgnoringNotifyAdapter()
        yield NotifyConformanceFixture(notify_adapter=adapter)
        await adapter.close()
"""


@pytest.fixture
def author_project(pytester: pytest.Pytester) -> pytest.Pytester:
    # No asyncio_mode: pytest-asyncio runs in strict mode, as in a project that never enabled auto mode.
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.syspathinsert(TESTS_INTEGRATION)
    return pytester


def test_broken_notify_adapter_fails_exactly_its_broken_cases(author_project: pytest.Pytester) -> None:
    author_project.makepyfile(test_broken_notify=AUTHOR_MODULE)
    result = author_project.runpytest("-p", "no:cacheprovider", "-rf")
    total = 25
    result.assert_outcomes(passed=total - len(BROKEN_CASES), failed=len(BROKEN_CASES))
    # A summary line is "FAILED <nodeid>[<case id>] - <message>"; the message may hold brackets too.
    summary = re.compile(r"^FAILED \S*test_notify_adapter_conformance\[(.+?)\](?: - |$)")
    failed_ids = {match.group(1) for line in result.outlines if (match := summary.match(line))}
    assert failed_ids == {name.replace(" > ", "::") for name in BROKEN_CASES}


def test_missing_fixture_override_is_a_clear_error(author_project: pytest.Pytester) -> None:
    author_project.makepyfile(
        test_forgot_fixture="""
        from queuert.conformance.pytest import StateAdapterConformance


        class TestForgotTheFixture(StateAdapterConformance):
            pass
        """
    )
    result = author_project.runpytest("-p", "no:cacheprovider", "-k", "assigns and chainId and correctly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*TestForgotTheFixture runs the state conformance suite*override the `state_conformance_fixture` fixture*"]
    )
    result.stdout.no_fnmatch_line("*fixture * not found*")


def test_fixture_of_the_wrong_type_is_a_clear_failure(author_project: pytest.Pytester) -> None:
    author_project.makepyfile(
        test_wrong_type="""
        import pytest

        from queuert.conformance.pytest import ValidationAdapterConformance


        class TestReturnsTheRegistryItself(ValidationAdapterConformance):
            @pytest.fixture
            def validation_conformance_fixture(self):
                return object()
        """
    )
    result = author_project.runpytest("-p", "no:cacheprovider", "-k", "getTypeNames")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*must return a ValidationConformanceFixture, got object*"])
