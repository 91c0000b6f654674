"""`queuert.testing`: on-demand processing, faults, bounded waits, notify helpers, and how the suites are bound."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING, Any, TypedDict

import pytest

from queuert import (
    AttemptContext,
    AttemptResult,
    BackoffConfig,
    CompleteContext,
    ContinuationJob,
    EntryJobType,
    InProcessTx,
    JobType,
    NoOutput,
    Processor,
    ScheduleAfter,
    Slot,
    WorkerDefaults,
    create_client,
    create_in_process_notify_adapter,
    create_in_process_state_adapter,
    create_processors,
    define_job_types,
    transaction_hooks,
)
from queuert.adapters import DelegatingNotifyAdapter
from queuert.testing import (
    FlakyNotifyAdapter,
    FlakyStateAdapter,
    ListeningNotifyAdapter,
    ReceivedNotifications,
    fail_operations,
    process_one,
    process_until_idle,
    seeded_batches,
    wait_until,
    wake_idle_listeners,
)
from queuert.testing.suites import ALL_SUITES, ChainsSuite, ProcessSuite, define_suite_tests

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from queuert.adapters import NotifyAdapter


class Count(TypedDict):
    n: int


countdown = EntryJobType[Count, Count]("helpers.countdown", continue_with="helpers.countdown_step")
countdown_step = JobType[Count, Count]("helpers.countdown_step", continue_with="helpers.countdown_step")
gate = EntryJobType[Count, Count]("helpers.gate", blockers=[Slot(countdown)])
router = EntryJobType[Count, NoOutput, Count]("helpers.router", continue_with="helpers.router")
JOB_TYPES = define_job_types(countdown, countdown_step, gate, router)


async def count_down(ctx: AttemptContext[InProcessTx, Count, Count]) -> AttemptResult[Count, Count]:
    n = ctx.job.input["n"]
    if n == 0:

        async def finish(_: CompleteContext[InProcessTx]) -> Count:
            return Count(n=ctx.job.chain_index)

        return await ctx.complete(finish)

    async def step(complete: CompleteContext[InProcessTx]) -> ContinuationJob[Count]:
        return await complete.continue_with(countdown_step, input=Count(n=n - 1))

    return await ctx.complete(step)


async def open_gate(ctx: AttemptContext[InProcessTx, Count, Count]) -> AttemptResult[Count, Count]:
    async def finish(_: CompleteContext[InProcessTx]) -> Count:
        return Count(n=ctx.job.blockers[0].output["n"] + ctx.job.input["n"])

    return await ctx.complete(finish)


async def forever(ctx: AttemptContext[InProcessTx, Count, NoOutput]) -> AttemptResult[Count, NoOutput]:
    async def again(complete: CompleteContext[InProcessTx]) -> ContinuationJob[Count]:
        return await complete.continue_with(router, input=ctx.job.input)

    return await ctx.complete(again)


async def start(client: Any, state: Any, job_type: Any, n: int, **options: Any) -> Any:
    async with transaction_hooks() as hooks:
        return await state.with_transaction(
            lambda tx: client.start_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=job_type, input=Count(n=n), **options
            )
        )


async def test_process_until_idle_runs_whole_chains_and_unblocked_jobs() -> None:
    state = await create_in_process_state_adapter()
    client = await create_client(state_adapter=state, job_types=JOB_TYPES)
    processors = create_processors(
        client=client,
        processors=[
            Processor(job_type=countdown, attempt_handler=count_down),
            Processor(job_type=countdown_step, attempt_handler=count_down),
            Processor(job_type=gate, attempt_handler=open_gate),
        ],
    )
    blocker = await start(client, state, countdown, 3)
    gated = await start(client, state, gate, 10, blockers=[blocker])
    later = await start(client, state, countdown, 0, schedule=ScheduleAfter(3_600_000))
    summary = await process_until_idle(client, processors)
    assert summary.attempts == 5
    assert summary.continued == 3
    assert summary.completed == 2
    assert summary.failed == ()
    summary.raise_errors()
    done = await client.get_chain(gated.id)
    assert done is not None
    assert done.status == "completed"
    assert done.output == {"n": 13}
    # Scheduled for later: left alone.
    pending = await client.get_chain(later.id)
    assert pending is not None
    assert pending.status == "pending"
    assert await process_one(client, processors) is None


async def test_process_until_idle_reports_failures_and_stops_at_backoff() -> None:
    state = await create_in_process_state_adapter()
    client = await create_client(state_adapter=state, job_types=JOB_TYPES)

    async def broken(ctx: AttemptContext[InProcessTx, Count, Count]) -> AttemptResult[Count, Count]:
        raise ValueError(f"bad input {ctx.job.input['n']}")

    processors = create_processors(client=client, processors=[Processor(job_type=countdown, attempt_handler=broken)])
    await start(client, state, countdown, 1)
    await start(client, state, countdown, 2)
    summary = await process_until_idle(client, processors)
    assert [outcome.status for outcome in summary.outcomes] == ["rescheduled", "rescheduled"]
    with pytest.raises(ExceptionGroup) as caught:
        summary.raise_errors()
    assert sorted(str(e) for e in caught.value.exceptions) == ["bad input 1", "bad input 2"]
    # With a zero backoff the retries are due at once, and bounded by max_attempts.
    await start(client, state, countdown, 3)
    with pytest.raises(RuntimeError, match="still due after 5 attempts"):
        await process_until_idle(
            client, processors, max_attempts=5, defaults=WorkerDefaults(backoff_config=BackoffConfig(0, 0))
        )


async def test_process_until_idle_bounds_chains_that_never_end() -> None:
    state = await create_in_process_state_adapter()
    client = await create_client(state_adapter=state, job_types=JOB_TYPES)
    processors = create_processors(client=client, processors=[Processor(job_type=router, attempt_handler=forever)])
    await start(client, state, router, 0)
    with pytest.raises(RuntimeError, match="never ends"):
        await process_until_idle(client, processors, max_attempts=20)


async def test_process_one_runs_exactly_one_attempt_with_a_chosen_worker_id() -> None:
    state = await create_in_process_state_adapter()
    client = await create_client(state_adapter=state, job_types=JOB_TYPES)
    processors = create_processors(
        client=client,
        processors=[
            Processor(job_type=countdown, attempt_handler=count_down),
            Processor(job_type=countdown_step, attempt_handler=count_down),
        ],
    )
    chain = await start(client, state, countdown, 1)
    first = await process_one(client, processors, worker_id="tester")
    assert first is not None
    assert first.status == "continued"
    assert first.job_id == chain.id
    assert first.attempt == 1
    assert first.continued_with is not None
    second = await process_one(client, processors, worker_id="tester")
    assert second is not None
    assert second.status == "completed"
    assert second.job_id == first.continued_with
    job = await client.get_job(second.job_id)
    assert job is not None
    assert getattr(job, "completed_by", None) == "tester"


def test_seeded_batches_are_deterministic_and_alternate() -> None:
    def draw(seed: int = 12345) -> list[bool]:
        plan = seeded_batches(seed)
        return [plan("op") for _ in range(200)]

    first = draw()
    second = draw()
    assert first == second
    assert first[:4] == [False] * 4  # it opens with a run of successes
    runs: list[tuple[bool, int]] = []
    for failing in first:
        if runs and runs[-1][0] == failing:
            runs[-1] = (failing, runs[-1][1] + 1)
        else:
            runs.append((failing, 1))
    for failing, length in runs[:-1]:
        assert (1 <= length <= 20) if failing else (4 <= length <= 15)
    assert any(first)
    assert draw(7) != first


async def test_fail_operations_fails_only_the_named_calls() -> None:
    state = await create_in_process_state_adapter()
    flaky = FlakyStateAdapter(state, plan=fail_operations("get_job", times=1))
    with pytest.raises(ConnectionResetError):
        await flaky.get_job("x")
    assert await flaky.get_job("x") is None
    assert await flaky.get_chain("x") is None
    assert (flaky.calls, flaky.failures) == (3, 1)
    flaky.enabled = False
    assert not flaky.enabled


class Recording(DelegatingNotifyAdapter):
    """Records every intercepted operation."""

    def __init__(self, inner: NotifyAdapter) -> None:
        super().__init__(inner)
        self.operations: list[str] = []

    async def _intercept(self, operation: str, call: Callable[[], Awaitable[Any]]) -> Any:
        self.operations.append(operation)
        return await call()


async def test_a_delegating_notify_adapter_forwards_every_operation_through_its_hook() -> None:
    inner = await create_in_process_notify_adapter()
    adapter = Recording(inner)
    got: list[str] = []
    unsubscribes = [
        await adapter.listen_job_scheduled(["t"], got.append),
        await adapter.listen_chain_completed("c", lambda: got.append("c")),
        await adapter.listen_job_ownership_lost("j", lambda: got.append("j")),
    ]
    await adapter.provide_wake_hint("t", 1)
    await adapter.notify_job_scheduled("t")
    assert await adapter.consume_wake_hint("t") is True
    await adapter.notify_chain_completed("c")
    await adapter.notify_job_ownership_lost("j")
    await wait_until(lambda: len(got) == 3)
    assert sorted(got) == ["c", "j", "t"]
    for unsubscribe in unsubscribes:
        await unsubscribe()
    await adapter.close()
    assert adapter.operations == [
        "listen_job_scheduled",
        "listen_chain_completed",
        "listen_job_ownership_lost",
        "provide_wake_hint",
        "notify_job_scheduled",
        "consume_wake_hint",
        "notify_chain_completed",
        "notify_job_ownership_lost",
    ], "close is forwarded without the hook"
    with pytest.raises(Exception, match="closed"):
        await inner.notify_job_scheduled("t")


async def test_a_flaky_notify_adapter_fails_the_planned_operations_before_the_inner_call() -> None:
    inner = await create_in_process_notify_adapter()
    flaky = FlakyNotifyAdapter(inner, plan=fail_operations("consume_wake_hint", times=1))
    await flaky.provide_wake_hint("t", 1)
    with pytest.raises(ConnectionResetError, match="consume_wake_hint"):
        await flaky.consume_wake_hint("t")
    assert await inner.consume_wake_hint("t") is True, "the failed call did not reach the inner adapter"
    assert (flaky.calls, flaky.failures) == (2, 1)
    await flaky.close()


async def test_a_listening_notify_adapter_is_set_while_someone_listens_for_scheduled_jobs() -> None:
    adapter = ListeningNotifyAdapter(await create_in_process_notify_adapter())
    assert not adapter.listening.is_set()
    got = ReceivedNotifications()
    unsubscribe = await adapter.listen_job_scheduled(["t"], got.typed)
    assert adapter.listening.is_set()
    await adapter.notify_job_scheduled("t")
    await wait_until(lambda: got.items)
    await unsubscribe()
    assert not adapter.listening.is_set()
    await adapter.notify_job_scheduled("t")
    await got.expect_no_more(1, settle_ms=20)
    assert got.items == ["t"]
    await adapter.close()


async def test_received_notifications_records_and_checks_deliveries() -> None:
    adapter = await create_in_process_notify_adapter()
    got = ReceivedNotifications()
    await adapter.listen_chain_completed("c", got.bare)
    sent: list[int] = []

    async def publish() -> None:
        sent.append(1)
        if len(sent) < 3:
            raise ConnectionResetError("the broker is still coming back")
        await adapter.notify_chain_completed("c")

    await got.publish_until_received(publish, what="chain completion")
    assert (got.items, len(sent)) == (["*"], 3)
    await got.expect_no_more(1, settle_ms=20)
    await adapter.notify_chain_completed("c")
    await wait_until(lambda: len(got.items) == 2)
    with pytest.raises(AssertionError, match="expected 1 deliveries"):
        await got.expect_no_more(1, settle_ms=0)
    with pytest.raises(AssertionError, match="no notification arrived"):
        await ReceivedNotifications().publish_until_received(publish, what="notification", timeout_ms=50)
    await adapter.close()


@pytest.mark.parametrize("budget", [1, 2])
async def test_wake_idle_listeners_claims_as_many_wake_ups_as_were_provided(budget: int) -> None:
    adapter = await create_in_process_notify_adapter()
    claims = await wake_idle_listeners(adapter, [adapter] * 4, "herd", budget)
    assert sorted(claims) == [False] * (4 - budget) + [True] * budget
    await adapter.close()


def test_define_suite_tests_adds_a_class_per_suite_and_refuses_to_overwrite_one() -> None:
    class Adapters:
        pass

    namespace: dict[str, Any] = {"__name__": "my_tests"}
    define_suite_tests(namespace, Adapters, prefix="Mine", suites=[ProcessSuite, ChainsSuite], marker=True)
    assert sorted(name for name in namespace if name != "__name__") == ["TestMineChains", "TestMineProcess"]
    chains = namespace["TestMineChains"]
    assert chains.__mro__[1:3] == (Adapters, ChainsSuite)
    assert (chains.__module__, chains.__qualname__, chains.marker) == ("my_tests", "TestMineChains", True)
    with pytest.raises(ValueError, match="TestMineChains is already defined"):
        define_suite_tests(namespace, Adapters, prefix="Mine", suites=[ChainsSuite])
    everything: dict[str, Any] = {}
    define_suite_tests(everything, Adapters)
    assert len(everything) == len(ALL_SUITES) == len({suite.__name__ for suite in ALL_SUITES})


async def test_wait_until_returns_the_value_or_times_out() -> None:
    values = iter([0, 0, 3])
    assert await wait_until(lambda: next(values), interval_ms=1) == 3

    async def never() -> bool:
        return False

    with pytest.raises(TimeoutError, match="nope"):
        await wait_until(never, timeout_ms=20, interval_ms=1, message="nope")


def _run_pytest(directory: Path, source: str) -> subprocess.CompletedProcess[str]:
    (directory / "test_user_suite.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "asyncio_mode=strict", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=directory,
        check=False,
    )


def test_a_suite_without_the_adapter_fixture_says_what_to_do(tmp_path: Path) -> None:
    result = _run_pytest(
        tmp_path,
        """
        from queuert.testing.suites import WaitChainCompletionSuite

        class TestMine(WaitChainCompletionSuite):
            pass
        """,
    )
    assert result.returncode != 0
    assert "override the `queuert_adapters` fixture" in result.stdout


def test_a_suite_runs_in_strict_asyncio_mode_once_bound(tmp_path: Path) -> None:
    result = _run_pytest(
        tmp_path,
        """
        import pytest_asyncio
        from queuert import create_in_process_state_adapter
        from queuert.testing.suites import WaitChainCompletionSuite

        class TestMine(WaitChainCompletionSuite):
            @pytest_asyncio.fixture
            async def queuert_adapters(self):
                state = await create_in_process_state_adapter()
                yield state, None
                await state.close()
        """,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


@pytest.mark.parametrize("module_name", ["queuert.testing", "queuert.testing.suites"])
def test_all_lists_exactly_the_public_names(module_name: str) -> None:
    import importlib
    import types

    module = importlib.import_module(module_name)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert sorted(module.__all__) == sorted(public)
    assert list(module.__all__) == sorted(module.__all__)


def test_queuert_testing_does_not_import_pytest() -> None:
    code = "import sys, queuert.testing; print('pytest' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"
