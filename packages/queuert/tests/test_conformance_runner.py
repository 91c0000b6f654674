"""The conformance machinery itself: the case lists match the specification, and the runner reports faithfully."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from queuert.conformance import (
    Case,
    ConformanceError,
    ConformanceReport,
    ConformanceResult,
    ConformanceSkip,
    notify_adapter_cases,
    state_adapter_cases,
    validation_adapter_cases,
)
from queuert.conformance._runner import CaseScope, run_cases

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

# Group sizes of upstream's lists, in execution order (conformance.md sections 2 to 4).
STATE_GROUPS = {
    "createJobs": 25,
    "withTransaction": 6,
    "getChain": 6,
    "addJobsBlockers": 4,
    "unblockJobs": 9,
    "addJobBlockers blockerChainTraceContexts": 2,
    "getJobBlockers": 3,
    "getNextJobAvailableInMs": 3,
    "acquireJob": 4,
    "renewJobLease": 2,
    "rescheduleJob": 3,
    "triggerJobs": 7,
    "completeJob": 3,
    "reapExpiredJobLease": 3,
    "deleteChains": 8,
    "getJob": 2,
    "listChains": 12,
    "listJobs": 10,
    "listChainJobs": 5,
    "listBlockedJobs": 4,
    "withSavepoint": 6,
    "concurrency": 5,
    "read isolation": 12,
    "close": 1,
}
NOTIFY_GROUPS = {
    "notifyJobScheduled / listenJobScheduled": 6,
    "provideWakeHint / consumeWakeHint": 3,
    "notifyChainCompleted / listenChainCompleted": 4,
    "notifyJobOwnershipLost / listenJobOwnershipLost": 4,
    "delivery timeliness": 1,
    "cross-cutting behavior": 3,
    "listener fault isolation": 1,
    "no unhandled rejections": 1,
    "close": 1,
}
VALIDATION_GROUPS = {
    "getTypeNames": 1,
    "validateEntry": 3,
    "parseInput": 2,
    "parseOutput": 3,
    "validateContinueWith": 5,
    "validateBlockers": 5,
    "external slice": 2,
}


def _upstream_counts(cases: Sequence[Case[Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for case in cases:
        if case.upstream:
            counts[case.group] = counts.get(case.group, 0) + 1
    return counts


def _group_order(cases: Sequence[Case[Any]]) -> list[str]:
    return list(dict.fromkeys(case.group for case in cases))


@pytest.mark.parametrize(
    ("cases", "groups", "total"),
    [
        pytest.param(state_adapter_cases(), STATE_GROUPS, 145, id="state"),
        pytest.param(notify_adapter_cases(), NOTIFY_GROUPS, 24, id="notify"),
        pytest.param(validation_adapter_cases(), VALIDATION_GROUPS, 21, id="validation"),
    ],
)
def test_case_lists_match_the_specification(cases: Sequence[Case[Any]], groups: dict[str, int], total: int) -> None:
    assert _upstream_counts(cases) == groups
    assert sum(groups.values()) == total
    # Upstream's groups keep their order; additions of this port only ever join a group or follow them.
    assert [group for group in _group_order(cases) if group in groups] == list(groups)
    assert len({case.full_name for case in cases}) == len(cases), "case names must be unique"
    for group in _group_order(cases):
        members = [case for case in cases if case.group == group]
        flags = [case.upstream for case in members]
        assert flags == sorted(flags, reverse=True), f"{group}: additions come after upstream's cases"


@pytest.mark.parametrize("cases", [state_adapter_cases(), notify_adapter_cases()], ids=["state", "notify"])
def test_close_group_runs_last_and_without_reset(cases: Sequence[Case[Any]]) -> None:
    close = [case for case in cases if case.group == "close"]
    assert cases[-len(close) :] == tuple(close)
    assert all(not case.reset for case in close)
    assert all(case.reset for case in cases if case.group != "close")


def test_case_names_and_ids() -> None:
    case = state_adapter_cases()[0]
    assert case.full_name == "createJobs > assigns chainId correctly for new jobs"
    assert case.id == "createJobs::assigns chainId correctly for new jobs"


# --- runner semantics, on synthetic cases -------------------------------------------------------


@dataclass
class Fixture:
    log: list[str]
    reset: Callable[[], Awaitable[None]] | None = None
    dispose: Callable[[], Awaitable[None]] | None = None


class Ctx(CaseScope):
    def __init__(self, fixture: Fixture) -> None:
        super().__init__()
        self.fixture = fixture


def case(name: str, body: Callable[[Ctx], Awaitable[None]], *, reset: bool = True) -> Case[Ctx]:
    return Case("synthetic", name, body, reset=reset)


async def passes(t: Ctx) -> None:
    t.fixture.log.append("body")


async def fails(t: Ctx) -> None:
    t.fixture.log.append("body")
    raise ValueError("the body failed")


async def bare_assert(t: Ctx) -> None:
    # What an unrewritten `assert` raises: no message. (pytest rewrites the ones in this module.)
    raise AssertionError


async def skips(t: Ctx) -> None:
    raise ConformanceSkip("the fixture has no poison_transaction")


def make_factory(log: list[str], calls: list[int], **hooks: Any) -> Callable[[], Awaitable[Fixture]]:
    async def reset() -> None:
        log.append("reset")

    async def dispose() -> None:
        log.append("dispose")

    async def factory() -> Fixture:
        calls.append(1)
        return Fixture(log, reset=hooks.get("reset", reset), dispose=hooks.get("dispose", dispose))

    return factory


async def test_factory_once_reset_before_each_case_dispose_at_end() -> None:
    log: list[str] = []
    calls: list[int] = []
    report = await run_cases(
        [case("a", passes), case("b", passes), case("closing", passes, reset=False)],
        make_factory(log, calls),
        Ctx,
    )
    assert calls == [1]
    assert log == ["reset", "body", "reset", "body", "body", "dispose"]
    assert (report.total, report.passed, report.failed, report.skipped) == (3, 3, 0, 0)
    assert [result.name for result in report.results] == ["synthetic > a", "synthetic > b", "synthetic > closing"]
    assert all(result.duration_ms >= 0 for result in report.results)


async def test_failures_are_collected_into_one_error_listing_every_case() -> None:
    log: list[str] = []
    cases = [case("ok", passes), case("broken", fails), case("skipped", skips), case("asserts", bare_assert)]
    with pytest.raises(ConformanceError) as info:
        await run_cases(cases, make_factory(log, []), Ctx)
    error = info.value
    assert log[-1] == "dispose", "dispose runs although cases failed"
    report = error.report
    assert (report.total, report.passed, report.failed, report.skipped) == (4, 1, 2, 1)
    assert [result.status for result in report.results] == ["pass", "fail", "skip", "fail"]
    assert report.results[2].skip_reason == "the fixture has no poison_transaction"
    message = str(error).splitlines()
    assert message[0] == "2/4 conformance cases failed (1 passed, 1 skipped)"
    assert message[1] == "  x synthetic > broken: ValueError: the body failed"
    assert message[2].startswith(
        "  x synthetic > asserts: AssertionError: raise AssertionError (test_conformance_runner.py:"
    )
    assert isinstance(error.__cause__, ExceptionGroup)
    assert [type(e) for e in error.__cause__.exceptions] == [ValueError, AssertionError]
    assert isinstance(error, AssertionError), "a test calling the runner fails rather than errors"


async def test_on_result_sees_every_result_and_its_errors_are_logged_and_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[ConformanceResult] = []

    def on_result(result: ConformanceResult) -> None:
        seen.append(result)
        raise RuntimeError("reporter broke")

    with caplog.at_level(logging.ERROR, logger="queuert.conformance"):
        report = await run_cases([case("a", passes), case("b", passes)], make_factory([], []), Ctx, on_result=on_result)
    assert [result.name for result in seen] == ["synthetic > a", "synthetic > b"]
    assert report.passed == 2
    assert len([r for r in caplog.records if "on_result raised" in r.getMessage()]) == 2


async def test_async_on_result_is_awaited() -> None:
    seen: list[str] = []

    async def on_result(result: ConformanceResult) -> None:
        await asyncio.sleep(0)
        seen.append(result.name)

    await run_cases([case("a", passes)], make_factory([], []), Ctx, on_result=on_result)
    assert seen == ["synthetic > a"]


async def test_case_timeout_fails_the_case_and_the_run_goes_on() -> None:
    async def hangs(t: Ctx) -> None:
        await asyncio.Event().wait()

    with pytest.raises(ConformanceError) as info:
        await run_cases([case("hangs", hangs), case("next", passes)], make_factory([], []), Ctx, case_timeout_ms=20)
    hung, after = info.value.report.results
    assert hung.status == "fail"
    assert isinstance(hung.error, TimeoutError)
    assert "did not finish within 20 ms" in str(hung.error)
    assert after.status == "pass"


async def test_failing_reset_fails_the_case_without_running_it() -> None:
    log: list[str] = []

    async def reset() -> None:
        raise OSError("store unreachable")

    with pytest.raises(ConformanceError) as info:
        await run_cases([case("a", passes)], make_factory(log, [], reset=reset), Ctx)
    assert "body" not in log
    assert isinstance(info.value.report.results[0].error, OSError)


async def test_cleanup_errors_fail_a_passing_case_and_are_kept_next_to_a_body_error() -> None:
    async def passes_but_cleanup_fails(t: Ctx) -> None:
        t.defer(lambda: (_ for _ in ()).throw(RuntimeError("cleanup broke")))

    async def fails_and_cleanup_fails(t: Ctx) -> None:
        async def broken_cleanup() -> None:
            raise RuntimeError("cleanup broke too")

        t.defer(broken_cleanup)
        raise ValueError("body broke")

    with pytest.raises(ConformanceError) as info:
        await run_cases(
            [case("cleanup only", passes_but_cleanup_fails), case("both", fails_and_cleanup_fails)],
            make_factory([], []),
            Ctx,
        )
    only, both = info.value.report.results
    assert only.status == "fail"
    assert str(only.error) == "cleanup broke"
    assert only.cleanup_error is None
    assert str(both.error) == "body broke"
    assert str(both.cleanup_error) == "cleanup broke too"
    assert "cleanup errors:\n  x synthetic > both: RuntimeError: cleanup broke too" in str(info.value)


async def test_cleanup_opens_gates_and_cancels_background_work_of_a_failed_case() -> None:
    finished: list[str] = []

    async def leaves_work_behind(t: Ctx) -> None:
        gate = t.gate()

        async def held() -> None:
            await gate.wait()
            finished.append("released by its gate")

        async def forever() -> None:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                finished.append("cancelled")
                raise

        t.start(held())
        t.start(forever())
        await asyncio.sleep(0)
        raise ValueError("failed while work was pending")

    with pytest.raises(ConformanceError):
        await run_cases([case("a", leaves_work_behind)], make_factory([], []), Ctx)
    assert sorted(finished) == ["cancelled", "released by its gate"]
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


async def test_sync_factory_and_no_hooks_are_accepted() -> None:
    def factory() -> Fixture:
        return Fixture([])

    report = await run_cases([case("a", passes)], factory, Ctx)
    assert isinstance(report, ConformanceReport)
    assert report.passed == 1


def test_the_runners_import_without_pytest_and_the_binding_says_what_to_install() -> None:
    script = (
        "import sys\n"
        "sys.modules['pytest'] = None\n"
        "sys.modules['pytest_asyncio'] = None\n"
        "import queuert.conformance as conformance\n"
        "assert len(conformance.state_adapter_cases()) > 145\n"
        "try:\n"
        "    import queuert.conformance.pytest\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert "pip install 'queuert[testing]'" in result.stdout
