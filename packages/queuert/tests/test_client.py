"""The client against the in-process adapters: starting, reading, awaiting, deleting, triggering, completing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

import pytest

from queuert import (
    AdapterClosedError,
    BlockedChain,
    BlockerReferenceError,
    ChainFilter,
    ChainNotFoundError,
    Client,
    CompletedChain,
    CompletedJob,
    DeduplicationOptions,
    DuplicateJobIdError,
    EntryJobType,
    InProcessStateAdapter,
    InProcessTx,
    InvalidCursorError,
    InvalidJobIdError,
    JobAlreadyCompletedError,
    JobFilter,
    JobNotFoundError,
    JobNotTriggerableError,
    JobType,
    JobTypeMismatchError,
    JobTypeValidationError,
    LogEntry,
    NoOutput,
    PendingChain,
    PendingJob,
    ScheduleAfter,
    Slot,
    StartChainItem,
    TransactionContextRequiredError,
    TransactionHooks,
    UnknownJobTypeError,
    WaitChainTimeoutError,
    create_client,
    create_in_process_notify_adapter,
    create_in_process_state_adapter,
    define_job_types,
    transaction_hooks,
)
from queuert._abort import AbortController

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

ResultT = TypeVar("ResultT")


class SignupIn(TypedDict):
    email: str


class WelcomeIn(TypedDict):
    email: str
    attempt: int


class WelcomeOut(TypedDict):
    sent: bool


class ReportIn(TypedDict):
    day: str


signup = EntryJobType[SignupIn, NoOutput, WelcomeOut]("users.signup", continue_with=["users.welcome"])
welcome = JobType[WelcomeIn, WelcomeOut]("users.welcome")
report = EntryJobType[ReportIn, int]("reports.daily", blockers=[])
digest = EntryJobType[ReportIn, str]("reports.digest", blockers=[Slot("reports.daily"), Slot("reports.daily")])

JOB_TYPES = define_job_types(signup, welcome, report, digest)


class Harness:
    def __init__(self, client: Client[InProcessTx], state: InProcessStateAdapter) -> None:
        self.client = client
        self.state = state

    async def tx(self, fn: Callable[[InProcessTx, TransactionHooks], Awaitable[ResultT]]) -> ResultT:
        async with transaction_hooks() as hooks:
            return await self.state.with_transaction(lambda tx_ctx: fn(tx_ctx, hooks))

    async def start(self, job_type: Any, input: Any, **options: Any) -> Any:
        return await self.tx(
            lambda tx_ctx, hooks: self.client.start_chain(
                tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=job_type, input=input, **options
            )
        )

    async def finish(self, chain_id: str, job_type: Any, output: Any) -> Any:
        """Complete the chain's current job workerlessly with `output`."""

        async def complete(completion: Any) -> None:
            async def produce(_ctx: Any) -> Any:
                return output

            await completion.complete(completion.job, produce)

        return await self.tx(
            lambda tx_ctx, hooks: self.client.complete_chain(
                tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=job_type, id=chain_id, complete=complete
            )
        )


@pytest.fixture
async def state() -> Any:
    adapter = await create_in_process_state_adapter()
    yield adapter
    await adapter.close()


@pytest.fixture
def log_entries() -> list[LogEntry]:
    return []


@pytest.fixture
async def harness(state: InProcessStateAdapter, log_entries: list[LogEntry]) -> Harness:
    notify = await create_in_process_notify_adapter()
    client = await create_client(
        state_adapter=state, job_types=JOB_TYPES, notify_adapter=notify, log=log_entries.append
    )
    return Harness(client, state)


# --- starting ---------------------------------------------------------------------------


async def test_start_chain_creates_a_pending_chain_whose_id_is_its_first_job(harness: Harness) -> None:
    started = await harness.start(signup, {"email": "a@example.com"})
    assert started.deduplicated is False
    assert isinstance(started.chain, PendingChain)
    assert started.type_name == "users.signup"
    assert started.input == {"email": "a@example.com"}

    job = await harness.client.get_job(started.id)
    assert isinstance(job, PendingJob)
    assert job.chain_id == started.id
    assert job.chain_index == 0
    assert job.chain_type_name == "users.signup"
    assert job.attempt == 0
    assert job.created_at.tzinfo is not None


async def test_start_chains_returns_results_in_input_order(harness: Harness) -> None:
    items = [StartChainItem(job_type=report, input={"day": f"2026-01-{d:02d}"}) for d in range(1, 11)]
    started = await harness.tx(
        lambda tx_ctx, hooks: harness.client.start_chains(tx_ctx=tx_ctx, transaction_hooks=hooks, items=items)
    )
    assert [s.input["day"] for s in started] == [f"2026-01-{d:02d}" for d in range(1, 11)]
    assert len({s.id for s in started}) == 10


async def test_rolled_back_start_leaves_nothing_and_sends_nothing(
    harness: Harness, state: InProcessStateAdapter, log_entries: list[LogEntry]
) -> None:
    heard: list[str] = []
    notify = harness.client._internals.notify
    unsubscribe = await notify.listen_job_scheduled(["users.signup"], heard.append)
    started_ids: list[str] = []

    async def body(tx_ctx: InProcessTx, hooks: TransactionHooks) -> None:
        started = await harness.client.start_chain(
            tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=signup, input=SignupIn(email="x@example.com")
        )
        started_ids.append(started.id)
        raise RuntimeError("the business write failed")

    with pytest.raises(RuntimeError, match="business write failed"):
        await harness.tx(body)
    await unsubscribe()

    assert started_ids
    assert await harness.client.get_chain(started_ids[0]) is None
    assert heard == []
    assert [e for e in log_entries if e["type"] in ("chain_created", "job_created")] == []


async def test_notifications_and_events_leave_only_after_commit(harness: Harness, log_entries: list[LogEntry]) -> None:
    heard: list[str] = []
    unsubscribe = await harness.client._internals.notify.listen_job_scheduled(["users.signup"], heard.append)
    async with transaction_hooks() as hooks:

        async def body(tx_ctx: InProcessTx) -> None:
            await harness.client.start_chain(
                tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=signup, input=SignupIn(email="y@example.com")
            )

        await harness.state.with_transaction(body)
        # Committed, but the hooks have not flushed yet: nothing has left.
        assert heard == []
        assert not [e for e in log_entries if e["type"] == "job_created"]
    await unsubscribe()
    assert heard == ["users.signup"]
    types = [e["type"] for e in log_entries]
    assert types.index("chain_created") < types.index("job_created")


async def test_blocked_chain_is_released_when_its_blockers_complete(harness: Harness) -> None:
    first = await harness.start(report, {"day": "mon"})
    second = await harness.start(report, {"day": "tue"})
    dependent = await harness.start(digest, {"day": "week"}, blockers=[first, second])
    assert isinstance(dependent.chain, BlockedChain)
    assert [c.id for c in await harness.client.get_job_blockers(dependent.id)] == [first.id, second.id]

    await harness.finish(first.id, report, 1)
    assert isinstance(await harness.client.get_chain(dependent.id), BlockedChain)
    await harness.finish(second.id, report, 2)
    assert isinstance(await harness.client.get_chain(dependent.id), PendingChain)

    blocked = await harness.client.list_blocked_jobs(first.id)
    assert [j.id for j in blocked.items] == [dependent.id]


async def test_blockers_already_complete_leave_the_chain_pending(harness: Harness) -> None:
    first = await harness.start(report, {"day": "mon"})
    second = await harness.start(report, {"day": "tue"})
    await harness.finish(first.id, report, 1)
    await harness.finish(second.id, report, 2)
    done = [await harness.client.get_chain(first.id), await harness.client.get_chain(second.id)]
    dependent = await harness.start(digest, {"day": "week"}, blockers=done)
    assert isinstance(dependent.chain, PendingChain)


async def test_wrong_blocker_count_is_rejected_and_nothing_is_kept(harness: Harness) -> None:
    first = await harness.start(report, {"day": "mon"})
    with pytest.raises(JobTypeValidationError) as caught:
        await harness.start(digest, {"day": "week"}, blockers=[first])
    assert caught.value.code == "invalid_blockers"
    page = await harness.client.list_chains(filter=ChainFilter(type_name=["reports.digest"]))
    assert page.items == []


async def test_schedule_after_delays_the_first_job(harness: Harness) -> None:
    before = datetime.now(UTC)
    started = await harness.start(report, {"day": "mon"}, schedule=ScheduleAfter(after_ms=60_000))
    job = await harness.client.get_job(started.id)
    assert job is not None
    assert before + timedelta(seconds=59) <= job.scheduled_at <= before + timedelta(seconds=62)


# --- deduplication ----------------------------------------------------------------------


async def test_deduplication_returns_the_existing_chain_as_it_really_stands(harness: Harness) -> None:
    dedup = DeduplicationOptions(key="user-1")
    first = await harness.start(signup, {"email": "a@example.com"}, deduplication=dedup)

    async def continue_chain(completion: Any) -> None:
        async def to_welcome(ctx: Any) -> Any:
            return await ctx.continue_with(welcome, input={"email": "a@example.com", "attempt": 1})

        await completion.complete(completion.job, to_welcome)

    await harness.tx(
        lambda tx_ctx, hooks: harness.client.complete_chain(
            tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=signup, id=first.id, complete=continue_chain
        )
    )
    # The root job is completed now, but the chain is still going: chain-level dedup still matches.
    again = await harness.start(signup, {"email": "other@example.com"}, deduplication=dedup)
    assert again.deduplicated is True
    assert again.id == first.id
    assert isinstance(again.chain, PendingChain)

    await harness.finish(first.id, signup, {"sent": True})
    fresh = await harness.start(signup, {"email": "a@example.com"}, deduplication=dedup)
    assert fresh.deduplicated is False
    assert fresh.id != first.id


async def test_concurrent_transactions_with_one_key_start_one_chain(harness: Harness) -> None:
    dedup = DeduplicationOptions(key="same-key", scope="any")
    results = await asyncio.gather(*(harness.start(report, {"day": str(i)}, deduplication=dedup) for i in range(8)))
    assert len({r.id for r in results}) == 1
    assert sum(not r.deduplicated for r in results) == 1
    page = await harness.client.list_chains(filter=ChainFilter(type_name=["reports.daily"]))
    assert len(page.items) == 1


# --- reading and pagination -------------------------------------------------------------


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_pagination_neither_skips_nor_repeats(harness: Harness, order: Any) -> None:
    items = [StartChainItem(job_type=report, input={"day": str(i)}) for i in range(53)]
    await harness.tx(
        lambda tx_ctx, hooks: harness.client.start_chains(tx_ctx=tx_ctx, transaction_hooks=hooks, items=items)
    )
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await harness.client.list_chains(order_direction=order, cursor=cursor, limit=7)
        seen.extend(c.id for c in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == 53
    assert len(set(seen)) == 53
    keys = [(c.created_at, c.id) for c in (await harness.client.list_chains(order_direction=order, limit=53)).items]
    assert keys == sorted(keys, reverse=order == "desc")

    jobs_seen: list[str] = []
    cursor = None
    while True:
        job_page = await harness.client.list_jobs(
            filter=JobFilter(type_name=["reports.daily"]), order_direction=order, cursor=cursor, limit=10
        )
        jobs_seen.extend(j.id for j in job_page.items)
        if job_page.next_cursor is None:
            break
        cursor = job_page.next_cursor
    assert sorted(jobs_seen) == sorted(seen)


async def test_malformed_and_foreign_cursors_are_rejected(harness: Harness) -> None:
    started = await harness.start(report, {"day": "mon"})
    await harness.start(report, {"day": "tue"})
    with pytest.raises(InvalidCursorError):
        await harness.client.list_chains(cursor="not-a-cursor")
    page = await harness.client.list_chains(limit=1)
    assert page.next_cursor is not None
    with pytest.raises(InvalidCursorError):
        await harness.client.list_chain_jobs(started.id, cursor=page.next_cursor)


async def test_list_chain_jobs_follows_the_chain(harness: Harness) -> None:
    first = await harness.start(signup, {"email": "a@example.com"})

    async def continue_chain(completion: Any) -> None:
        async def to_welcome(ctx: Any) -> Any:
            return await ctx.continue_with(welcome, input={"email": "a@example.com", "attempt": 1})

        await completion.complete(completion.job, to_welcome)

    chain = await harness.tx(
        lambda tx_ctx, hooks: harness.client.complete_chain(
            tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=signup, id=first.id, complete=continue_chain
        )
    )
    assert isinstance(chain, PendingChain)
    jobs = await harness.client.list_chain_jobs(first.id)
    assert [(j.chain_index, j.type_name, j.status) for j in jobs.items] == [
        (0, "users.signup", "completed"),
        (1, "users.welcome", "pending"),
    ]
    root = jobs.items[0]
    assert isinstance(root, CompletedJob)
    assert root.output is None
    desc = await harness.client.list_chain_jobs(first.id, order_direction="desc")
    assert [j.chain_index for j in desc.items] == [1, 0]
    assert (await harness.client.list_chain_jobs("00000000-0000-4000-8000-000000000000")).items == []


async def test_type_narrowing_arguments_check_the_stored_type(harness: Harness) -> None:
    started = await harness.start(report, {"day": "mon"})
    assert await harness.client.get_chain(started.id, job_type=report) is not None
    with pytest.raises(JobTypeMismatchError) as caught:
        await harness.client.get_chain(started.id, job_type=signup)
    assert (caught.value.expected_type_name, caught.value.actual_type_name) == ("users.signup", "reports.daily")
    with pytest.raises(JobTypeMismatchError):
        await harness.client.get_job(started.id, job_type="users.welcome")
    assert await harness.client.get_chain("00000000-0000-4000-8000-000000000000", job_type=signup) is None


# --- bad input --------------------------------------------------------------------------


async def test_mutations_require_a_transaction(harness: Harness) -> None:
    async with transaction_hooks() as hooks:
        with pytest.raises(TransactionContextRequiredError):
            await harness.client.start_chains(tx_ctx=None, transaction_hooks=hooks, items=[])  # type: ignore[arg-type]
        with pytest.raises(TransactionContextRequiredError):
            await harness.client.trigger_jobs(tx_ctx=None, transaction_hooks=hooks, ids=["x"])  # type: ignore[arg-type]
        with pytest.raises(TransactionContextRequiredError):
            await harness.client.delete_chains(tx_ctx=None, transaction_hooks=hooks, ids=["x"])  # type: ignore[arg-type]


async def test_unknown_and_non_entry_types_are_rejected_before_any_write(harness: Harness) -> None:
    with pytest.raises(UnknownJobTypeError) as unknown:
        await harness.start("users.nope", {"email": "a@example.com"})
    assert "users.signup" in unknown.value.registered_type_names
    with pytest.raises(JobTypeValidationError) as not_entry:
        await harness.start("users.welcome", {"email": "a@example.com", "attempt": 1})
    assert not_entry.value.code == "not_entry_point"
    assert (await harness.client.list_jobs()).items == []


async def test_input_that_is_not_json_is_rejected_and_nothing_is_written(
    harness: Harness, log_entries: list[LogEntry]
) -> None:
    items: list[StartChainItem[Any]] = [
        StartChainItem(job_type=report, input=ReportIn(day="fine")),
        # A datetime is not JSON: the registry must refuse it before anything is written.
        StartChainItem(job_type="reports.daily", input={"day": datetime.now(UTC)}),
    ]
    with pytest.raises(JobTypeValidationError) as caught:
        await harness.tx(
            lambda tx_ctx, hooks: harness.client.start_chains(tx_ctx=tx_ctx, transaction_hooks=hooks, items=items)
        )
    assert caught.value.code == "invalid_input"
    assert (await harness.client.list_jobs()).items == []
    assert any(e["type"] == "job_type_validation_error" for e in log_entries)


async def test_invalid_and_duplicate_ids_are_rejected() -> None:
    from queuert.adapters import validate_uuid

    state = await create_in_process_state_adapter(validate_id=validate_uuid)
    harness = Harness(await create_client(state_adapter=state, job_types=JOB_TYPES), state)
    with pytest.raises(InvalidJobIdError) as invalid:
        await harness.start(report, {"day": "mon"}, id="not a uuid")
    assert invalid.value.source == "caller"
    chosen = "0f5e7e4c-1f7e-4d41-9a51-0d4c3e0a8b11"
    await harness.start(report, {"day": "mon"}, id=chosen)
    with pytest.raises(DuplicateJobIdError):
        await harness.start(report, {"day": "tue"}, id=chosen)
    assert len((await harness.client.list_jobs()).items) == 1


async def test_closed_adapter_raises_a_typed_error(harness: Harness, state: InProcessStateAdapter) -> None:
    await state.close()
    with pytest.raises(AdapterClosedError):
        await harness.client.get_chain("00000000-0000-4000-8000-000000000000")


# --- awaiting ---------------------------------------------------------------------------


async def test_await_chain_wakes_on_the_completion_notification(harness: Harness) -> None:
    started = await harness.start(report, {"day": "mon"})
    waiter = asyncio.create_task(harness.client.await_chain(started, timeout_ms=5_000, poll_interval_ms=60_000))
    await asyncio.sleep(0)
    await harness.finish(started.id, report, 7)
    # With a 60 s poll interval only the notification can end the wait inside the timeout.
    completed = await asyncio.wait_for(waiter, timeout=5)
    assert isinstance(completed, CompletedChain)
    assert completed.output == 7


async def test_await_chain_polls_without_a_notify_adapter(state: InProcessStateAdapter) -> None:
    client = await create_client(state_adapter=state, job_types=JOB_TYPES)
    harness = Harness(client, state)
    started = await harness.start(report, {"day": "mon"})
    waiter = asyncio.create_task(client.await_chain(started, timeout_ms=5_000, poll_interval_ms=20))
    await harness.finish(started.id, report, 3)
    completed = await asyncio.wait_for(waiter, timeout=5)
    assert completed.output == 3


async def test_await_chain_times_out_aborts_and_reports_missing_chains(harness: Harness) -> None:
    started = await harness.start(report, {"day": "mon"})
    with pytest.raises(WaitChainTimeoutError) as timed_out:
        await harness.client.await_chain(started, timeout_ms=50, poll_interval_ms=10)
    assert timed_out.value.chain_id == started.id

    controller: AbortController[str] = AbortController()
    waiter = asyncio.create_task(harness.client.await_chain(started, timeout_ms=5_000, poll_interval_ms=60_000))
    waiter_with_signal = asyncio.create_task(
        harness.client.await_chain(started, timeout_ms=5_000, poll_interval_ms=60_000, signal=controller.signal)
    )
    await asyncio.sleep(0.01)
    controller.abort("user gave up")
    with pytest.raises(WaitChainTimeoutError, match="aborted"):
        await asyncio.wait_for(waiter_with_signal, timeout=5)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter

    with pytest.raises(ChainNotFoundError):
        await harness.client.await_chain("00000000-0000-4000-8000-000000000000", timeout_ms=1_000)


# --- deleting ---------------------------------------------------------------------------


async def test_delete_refuses_chains_others_wait_on_unless_deleted_together(harness: Harness) -> None:
    first = await harness.start(report, {"day": "mon"})
    second = await harness.start(report, {"day": "tue"})
    dependent = await harness.start(digest, {"day": "week"}, blockers=[first, second])

    with pytest.raises(BlockerReferenceError) as refused:
        await harness.tx(
            lambda tx_ctx, hooks: harness.client.delete_chain(tx_ctx=tx_ctx, transaction_hooks=hooks, id=first.id)
        )
    assert {r.chain_id for r in refused.value.references} == {first.id}
    assert refused.value.references[0].referenced_by_job_id == dependent.id
    assert await harness.client.get_chain(first.id) is not None

    deleted = await harness.tx(
        lambda tx_ctx, hooks: harness.client.delete_chains(
            tx_ctx=tx_ctx, transaction_hooks=hooks, ids=[dependent.id], cascade=True
        )
    )
    assert {c.id for c in deleted} == {first.id, second.id, dependent.id}
    assert await harness.client.get_chain(first.id) is None
    again = await harness.tx(
        lambda tx_ctx, hooks: harness.client.delete_chain(tx_ctx=tx_ctx, transaction_hooks=hooks, id=dependent.id)
    )
    assert again is None


# --- triggering -------------------------------------------------------------------------


async def test_trigger_makes_a_scheduled_job_due_now(harness: Harness) -> None:
    started = await harness.start(report, {"day": "mon"}, schedule=ScheduleAfter(after_ms=3_600_000))
    before = datetime.now(UTC)
    jobs = await harness.tx(
        lambda tx_ctx, hooks: harness.client.trigger_jobs(
            tx_ctx=tx_ctx, transaction_hooks=hooks, ids=[started.id, started.id]
        )
    )
    assert [j.id for j in jobs] == [started.id]
    assert jobs[0].scheduled_at <= before + timedelta(seconds=1)


async def test_trigger_is_all_or_nothing(harness: Harness) -> None:
    later = await harness.start(report, {"day": "mon"}, schedule=ScheduleAfter(after_ms=3_600_000))
    first = await harness.start(report, {"day": "tue"})
    with pytest.raises(ValueError, match="more than once"):
        await harness.start(digest, {"day": "w"}, blockers=[first, first])
    other = await harness.start(report, {"day": "wed"})
    blocked = await harness.start(digest, {"day": "w"}, blockers=[first, other])
    with pytest.raises(JobNotFoundError):
        await harness.tx(
            lambda tx_ctx, hooks: harness.client.trigger_jobs(
                tx_ctx=tx_ctx, transaction_hooks=hooks, ids=[later.id, "00000000-0000-4000-8000-000000000000"]
            )
        )
    with pytest.raises(JobNotTriggerableError) as not_triggerable:
        await harness.tx(
            lambda tx_ctx, hooks: harness.client.trigger_jobs(
                tx_ctx=tx_ctx, transaction_hooks=hooks, ids=[later.id, blocked.id]
            )
        )
    assert not_triggerable.value.status == "blocked"
    job = await harness.client.get_job(later.id)
    assert job is not None
    assert job.scheduled_at > datetime.now(UTC) + timedelta(minutes=30)


# --- workerless completion --------------------------------------------------------------


async def test_complete_chain_guards_against_misuse(harness: Harness) -> None:
    started = await harness.start(report, {"day": "mon"})
    with pytest.raises(JobTypeMismatchError):
        await harness.finish(started.id, signup, 1)
    with pytest.raises(ChainNotFoundError):
        await harness.finish("00000000-0000-4000-8000-000000000000", report, 1)

    async def twice(completion: Any) -> None:
        async def produce(_ctx: Any) -> int:
            return 1

        await completion.complete(completion.job, produce)
        await completion.complete(completion.job, produce)

    from queuert import AttemptUsageError

    with pytest.raises(AttemptUsageError):
        await harness.tx(
            lambda tx_ctx, hooks: harness.client.complete_chain(
                tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=report, id=started.id, complete=twice
            )
        )
    chain = await harness.finish(started.id, report, 5)
    assert isinstance(chain, CompletedChain)
    assert chain.output == 5
    with pytest.raises(JobAlreadyCompletedError):
        await harness.finish(started.id, report, 6)


async def test_complete_chain_without_calling_complete_is_a_read(harness: Harness) -> None:
    started = await harness.start(report, {"day": "mon"})

    async def look(completion: Any) -> None:
        assert completion.job.status == "pending"

    chain = await harness.tx(
        lambda tx_ctx, hooks: harness.client.complete_chain(
            tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=report, id=started.id, complete=look
        )
    )
    assert isinstance(chain, PendingChain)


async def test_completing_a_running_job_tells_its_worker(harness: Harness, state: InProcessStateAdapter) -> None:
    started = await harness.start(report, {"day": "mon"})
    acquired = await state.with_transaction(lambda tx_ctx: state.acquire_job(["reports.daily"], tx_ctx=tx_ctx))
    assert acquired.job is not None
    await state.renew_job_lease(started.id, worker_id="w1", lease_duration_ms=60_000)
    lost = asyncio.Event()
    unsubscribe = await harness.client._internals.notify.listen_job_ownership_lost(started.id, lost.set)
    await harness.finish(started.id, report, 1)
    await unsubscribe()
    assert lost.is_set()


async def test_invalid_output_is_rejected_by_a_validated_registry(state: InProcessStateAdapter) -> None:
    from queuert import create_job_types

    class Options:
        def get_type_names(self) -> list[str]:
            return ["count"]

        def validate_entry(self, type_name: str) -> None:
            pass

        def parse_input(self, type_name: str, input: object) -> Any:
            return input

        def parse_output(self, type_name: str, output: object) -> Any:
            if not isinstance(output, int):
                raise TypeError("output must be an int")
            return output

        def validate_continue_with(self, type_name: str, target: Any) -> None:
            raise TypeError("no continuations")

        def validate_blockers(self, type_name: str, blockers: Any) -> None:
            pass

    client = await create_client(state_adapter=state, job_types=create_job_types(Options()))
    harness = Harness(client, state)
    started = await harness.start("count", {"n": 1})
    with pytest.raises(JobTypeValidationError) as caught:
        await harness.finish(started.id, "count", "not a number")
    assert caught.value.code == "invalid_output"
    assert isinstance(caught.value.__cause__, TypeError)
    assert isinstance(await client.get_chain(started.id), PendingChain)
