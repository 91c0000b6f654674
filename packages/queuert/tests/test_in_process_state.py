"""The in-process state adapter against the StateAdapter contract (conformance.md §2), plus its own guarantees.

Everything above the "in-process specifics" section uses only the public StateAdapter API,
so those tests can move into the conformance suite unchanged.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from queuert import (
    AdapterClosedError,
    BlockerReference,
    ChainFilter,
    ChainNotFoundError,
    DeduplicationOptions,
    DuplicateJobIdError,
    InProcessStateAdapter,
    InvalidCursorError,
    InvalidJobIdError,
    JobFilter,
    JobNotFoundError,
    JsonValue,
    OrderDirection,
    Page,
    ScheduleAfter,
    ScheduleAt,
    ScheduleOptions,
    create_in_process_state_adapter,
)
from queuert.adapters import (
    AcquiredJob,
    AddedJobBlockers,
    CreatedJob,
    CreateJobParams,
    JobBlockersParams,
    StateAdapter,
    StateChain,
    StateJob,
    generate_id,
    validate_uuid,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine

Adapter = StateAdapter[Any]
ResultT = TypeVar("ResultT")
ItemT = TypeVar("ItemT")

TIMEOUT = 2.0
LOCK_OBSERVATION = 0.1


class Rollback(Exception):
    """Raised inside a transaction to roll it back on purpose."""


@pytest.fixture
async def state_adapter() -> AsyncIterator[Adapter]:
    adapter = await create_in_process_state_adapter()
    yield adapter
    await adapter.close()


# --- helpers ----------------------------------------------------------------------------


def root(
    type_name: str = "test-job",
    *,
    input: JsonValue = None,
    id: str | None = None,
    deduplication: DeduplicationOptions | None = None,
    schedule: ScheduleOptions | None = None,
    chain_trace_context: str | None = None,
    trace_context: str | None = None,
) -> CreateJobParams:
    return CreateJobParams(
        type_name=type_name,
        chain_type_name=type_name,
        chain_index=0,
        input=input,
        id=id,
        deduplication=deduplication,
        schedule=schedule,
        chain_trace_context=chain_trace_context,
        trace_context=trace_context,
    )


def continuation(
    parent: StateJob,
    type_name: str = "test-next",
    *,
    chain_index: int | None = None,
    input: JsonValue = None,
    id: str | None = None,
) -> CreateJobParams:
    return CreateJobParams(
        type_name=type_name,
        chain_type_name=parent.chain_type_name,
        chain_id=parent.chain_id,
        chain_index=parent.chain_index + 1 if chain_index is None else chain_index,
        input=input,
        id=id,
    )


async def create(adapter: Adapter, *params: CreateJobParams) -> list[CreatedJob]:
    return await adapter.with_transaction(lambda tx: adapter.create_jobs(list(params), tx_ctx=tx))


async def create_job(adapter: Adapter, params: CreateJobParams | None = None) -> StateJob:
    return (await create(adapter, params or root()))[0].job


async def complete(adapter: Adapter, job: StateJob, output: JsonValue = None, worker_id: str | None = "w") -> StateJob:
    return await adapter.with_transaction(
        lambda tx: adapter.complete_job(job.id, output=output, worker_id=worker_id, tx_ctx=tx)
    )


async def acquire(adapter: Adapter, *type_names: str) -> AcquiredJob:
    return await adapter.with_transaction(lambda tx: adapter.acquire_job(list(type_names), tx_ctx=tx))


async def add_blockers(
    adapter: Adapter, job: StateJob, *chain_ids: str, trace_contexts: list[str | None] | None = None
) -> AddedJobBlockers:
    params = JobBlockersParams(
        job_id=job.id, blocked_by_chain_ids=list(chain_ids), blocker_trace_contexts=trace_contexts
    )
    return (await adapter.with_transaction(lambda tx: adapter.add_jobs_blockers([params], tx_ctx=tx)))[0]


async def get(adapter: Adapter, job_id: str) -> StateJob:
    job = await adapter.get_job(job_id)
    assert job is not None
    return job


def other_id(job_id: str) -> str:
    """An id of the same shape that does not exist: change the last character."""
    return job_id[:-1] + ("0" if job_id[-1] != "0" else "1")


def now() -> datetime:
    return datetime.now(UTC)


def assert_near(value: datetime | None, expected: datetime, tolerance_ms: float = 1000) -> None:
    assert value is not None
    assert abs((value - expected).total_seconds()) * 1000 <= tolerance_ms, f"{value} is not near {expected}"


async def clock_passes(moment: datetime, margin_ms: float = 1) -> None:
    """Wait (bounded) until the clock is past `moment + margin`, so later rows get later timestamps."""
    target = moment + timedelta(milliseconds=margin_ms)
    async with asyncio.timeout(TIMEOUT):
        while True:
            remaining = (target - now()).total_seconds()
            if remaining < 0:
                return
            await asyncio.sleep(remaining + 0.001)


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def all_pages(fetch: Callable[..., Awaitable[Page[ItemT]]], *args: Any, **kwargs: Any) -> list[list[ItemT]]:
    """Call a listing method page by page (passing `cursor=`) and return every page's items."""
    pages: list[list[ItemT]] = []
    cursor: str | None = None
    while True:
        page = await fetch(*args, cursor=cursor, **kwargs)
        pages.append(page.items)
        if page.next_cursor is None:
            return pages
        assert len(pages) < 100, "pagination does not terminate"
        cursor = page.next_cursor


def by_created(jobs: list[StateJob], order: OrderDirection = "asc") -> list[str]:
    ordered = sorted(jobs, key=lambda j: (j.created_at, j.id), reverse=order == "desc")
    return [j.id for j in ordered]


# --- createJobs -------------------------------------------------------------------------


async def test_create_assigns_chain_id_to_new_root(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter)
    assert job.chain_id == job.id
    assert job.chain_index == 0


async def test_create_preserves_given_chain_id(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter)
    second = await create_job(state_adapter, continuation(first))
    assert second.chain_id == first.id
    assert second.chain_index == 1
    assert second.chain_type_name == first.chain_type_name


async def test_create_generates_unique_ids(state_adapter: Adapter) -> None:
    created = await create(state_adapter, *(root(input={"i": i}) for i in range(10)))
    assert len({c.job.id for c in created}) == 10


async def test_create_persists_and_retrieves(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("persist", input={"nested": {"list": [1, 2], "s": "x"}}))
    stored = await get(state_adapter, job.id)
    assert stored.id == job.id
    assert stored.type_name == "persist"
    assert stored.input == {"nested": {"list": [1, 2], "s": "x"}}
    assert stored.status == "pending"
    assert stored.attempt == 0


async def test_create_leaves_optional_fields_null(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter)
    stored = await get(state_adapter, job.id)
    assert stored.input is None
    assert stored.output is None
    assert stored.completed_at is None
    assert stored.completed_by is None
    assert stored.last_attempt_error is None
    assert stored.last_attempt_at is None
    assert stored.leased_by is None
    assert stored.leased_until is None
    assert stored.deduplication_key is None
    assert stored.chain_trace_context is None
    assert stored.trace_context is None
    assert stored.chain_index == 0


COMPLEX_JSON: list[JsonValue] = [
    "text",
    42,
    -3.25,
    True,
    False,
    None,
    [1, "two", None, 3.5, False, {"k": []}],
    {"a": {"b": {"c": {"d": [{"e": "deep"}]}}}},
    {"unicode": "日本語 🎉", "quote": 'he said "hi"\n'},
    {},
    [],
]


@pytest.mark.parametrize("value", COMPLEX_JSON)
async def test_create_and_complete_round_trip_json(state_adapter: Adapter, value: JsonValue) -> None:
    job = await create_job(state_adapter, root(input=value))
    assert (await get(state_adapter, job.id)).input == value
    await complete(state_adapter, job, output=value)
    assert (await get(state_adapter, job.id)).output == value


async def test_create_deduplicates_same_key(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter, root(deduplication=DeduplicationOptions(key="k1")))
    [again] = await create(state_adapter, root(deduplication=DeduplicationOptions(key="k1")))
    assert again.deduplicated
    assert again.job.id == first.id
    [other] = await create(state_adapter, root(deduplication=DeduplicationOptions(key="k2")))
    assert not other.deduplicated
    assert other.job.id != first.id
    assert (await get(state_adapter, first.id)).deduplication_key == "k1"


async def test_create_dedup_key_is_scoped_to_chain_type(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter, root("type-a", deduplication=DeduplicationOptions(key="k")))
    [other] = await create(state_adapter, root("type-b", deduplication=DeduplicationOptions(key="k")))
    assert not other.deduplicated
    assert other.job.id != first.id


async def test_create_deduplicates_continuation_at_same_index(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter)
    original = await create_job(state_adapter, continuation(first, input={"v": "original"}))
    [again] = await create(state_adapter, continuation(first, input={"v": "second"}))
    assert again.deduplicated
    assert again.job.id == original.id
    assert again.job.input == {"v": "original"}


async def test_create_deduplicates_concurrent_continuations(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter)

    async def create_next() -> CreatedJob:
        return (await create(state_adapter, continuation(first)))[0]

    a, b = await asyncio.wait_for(asyncio.gather(create_next(), create_next()), TIMEOUT)
    assert a.job.id == b.job.id
    assert [a.deduplicated, b.deduplicated].count(True) == 1


async def test_create_assigns_sequential_chain_indexes(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter)
    second = await create_job(state_adapter, continuation(first))
    await complete(state_adapter, second)
    third = await create_job(state_adapter, continuation(second))
    assert [first.chain_index, second.chain_index, third.chain_index] == [0, 1, 2]


async def test_dedup_scope_incomplete_skips_completed_but_any_matches(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter, root(deduplication=DeduplicationOptions(key="k")))
    await complete(state_adapter, first)
    [any_scope] = await create(state_adapter, root(deduplication=DeduplicationOptions(key="k", scope="any")))
    assert any_scope.deduplicated
    assert any_scope.job.id == first.id
    [incomplete] = await create(state_adapter, root(deduplication=DeduplicationOptions(key="k")))
    assert not incomplete.deduplicated
    assert incomplete.job.id != first.id


async def test_dedup_scope_incomplete_is_chain_level(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter, root(deduplication=DeduplicationOptions(key="k")))
    # The root hands off to a continuation: the root is completed but the chain is not.
    nxt = await create_job(state_adapter, continuation(first))
    await complete(state_adapter, first)
    [while_running] = await create(state_adapter, root(deduplication=DeduplicationOptions(key="k")))
    assert while_running.deduplicated
    assert while_running.job.id == first.id
    await complete(state_adapter, nxt, output={"done": True})
    [after_done] = await create(state_adapter, root(deduplication=DeduplicationOptions(key="k")))
    assert not after_done.deduplicated


async def test_dedup_exclude_chain_ids(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter, root(deduplication=DeduplicationOptions(key="k")))
    [matched] = await create(state_adapter, root(deduplication=DeduplicationOptions(key="k")))
    assert matched.deduplicated
    [excluded] = await create(
        state_adapter, root(deduplication=DeduplicationOptions(key="k", exclude_chain_ids=[first.chain_id]))
    )
    assert not excluded.deduplicated
    assert excluded.job.id != first.id


async def test_dedup_newest_match_wins(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter, root(deduplication=DeduplicationOptions(key="k")))
    await clock_passes(first.created_at)
    [second] = await create(
        state_adapter, root(deduplication=DeduplicationOptions(key="k", exclude_chain_ids=[first.id]))
    )
    assert not second.deduplicated
    [third] = await create(state_adapter, root(deduplication=DeduplicationOptions(key="k", scope="any")))
    assert third.deduplicated
    assert third.job.id == second.job.id


async def test_create_with_schedule_after_ms_and_at(state_adapter: Adapter) -> None:
    before = now()
    after_job = await create_job(state_adapter, root(schedule=ScheduleAfter(after_ms=5000)))
    delta_ms = (after_job.scheduled_at - before).total_seconds() * 1000
    assert 4900 <= delta_ms < 6000
    at = now() + timedelta(seconds=60)
    at_job = await create_job(state_adapter, root(schedule=ScheduleAt(at=at)))
    assert_near(at_job.scheduled_at, at)


async def test_create_clamps_past_schedule_at_to_now(state_adapter: Adapter) -> None:
    past = now() - timedelta(hours=1)
    job = await create_job(state_adapter, root(schedule=ScheduleAt(at=past)))
    assert job.scheduled_at - past > timedelta(minutes=30)
    assert_near(job.scheduled_at, now(), 60_000)
    assert job.scheduled_at >= job.created_at


async def test_create_stores_trace_contexts(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root(chain_trace_context="chain-ctx", trace_context="not-a-traceparent"))
    stored = await get(state_adapter, job.id)
    assert stored.chain_trace_context == "chain-ctx"
    assert stored.trace_context == "not-a-traceparent"


async def test_create_stores_aware_datetimes(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter)
    stored = await get(state_adapter, job.id)
    assert isinstance(stored.created_at, datetime)
    assert isinstance(stored.scheduled_at, datetime)
    assert stored.created_at.utcoffset() == timedelta(0)
    assert_near(stored.created_at, now(), 5000)


async def test_create_batch_in_input_order(state_adapter: Adapter) -> None:
    created = await create(state_adapter, root(input=1), root(input=2), root(input=3))
    assert [c.job.input for c in created] == [1, 2, 3]
    assert not any(c.deduplicated for c in created)
    assert all(c.job.status == "pending" and c.job.chain_id == c.job.id for c in created)


async def test_create_batch_dedups_per_row(state_adapter: Adapter) -> None:
    existing = await create_job(state_adapter, root(deduplication=DeduplicationOptions(key="old")))
    dup, new = await create(
        state_adapter,
        root(deduplication=DeduplicationOptions(key="old")),
        root(deduplication=DeduplicationOptions(key="new")),
    )
    assert dup.deduplicated
    assert dup.job.id == existing.id
    assert not new.deduplicated


async def test_create_batch_dedups_within_the_batch(state_adapter: Adapter) -> None:
    first, second = await create(
        state_adapter,
        root(deduplication=DeduplicationOptions(key="same")),
        root(deduplication=DeduplicationOptions(key="same")),
    )
    assert not first.deduplicated
    assert second.deduplicated
    assert second.job.id == first.job.id


async def test_create_batch_dedups_continuations_per_row(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter)
    existing = await create_job(state_adapter, continuation(first))
    dup, new = await create(state_adapter, continuation(first), continuation(first, chain_index=2))
    assert dup.deduplicated
    assert dup.job.id == existing.id
    assert not new.deduplicated
    assert new.job.chain_index == 2


async def test_dedup_window_matches_only_within_window(state_adapter: Adapter) -> None:
    options = DeduplicationOptions(key="window", scope="any", window_ms=100)
    first = await create_job(state_adapter, root(deduplication=options))
    [immediate] = await create(state_adapter, root(deduplication=options))
    assert immediate.deduplicated
    await clock_passes(first.created_at, margin_ms=150)
    [later] = await create(state_adapter, root(deduplication=options))
    assert not later.deduplicated
    assert later.job.id != first.id


async def test_dedup_window_with_incomplete_scope_respects_status(state_adapter: Adapter) -> None:
    options = DeduplicationOptions(key="window", window_ms=5000)
    first = await create_job(state_adapter, root(deduplication=options))
    await complete(state_adapter, first)
    [again] = await create(state_adapter, root(deduplication=options))
    assert not again.deduplicated


async def test_create_empty_batch_returns_empty_list(state_adapter: Adapter) -> None:
    assert await state_adapter.create_jobs([]) == []
    assert await state_adapter.with_transaction(lambda tx: state_adapter.create_jobs([], tx_ctx=tx)) == []


async def test_create_uses_caller_supplied_id(state_adapter: Adapter) -> None:
    job_id = "caller-id-1"
    job = await create_job(state_adapter, root(id=job_id))
    assert job.id == job_id
    assert job.chain_id == job_id
    nxt = await create_job(state_adapter, continuation(job, id="caller-id-2"))
    assert nxt.id == "caller-id-2"


async def test_dedup_wins_over_caller_supplied_id(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter, root(deduplication=DeduplicationOptions(key="k")))
    [again] = await create(state_adapter, root(id="fresh-id", deduplication=DeduplicationOptions(key="k")))
    assert again.deduplicated
    assert again.job.id == first.id
    assert await state_adapter.get_job("fresh-id") is None


async def test_dedup_hit_does_not_check_caller_id_collision(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter, root(deduplication=DeduplicationOptions(key="k")))
    [again] = await create(state_adapter, root(id=first.id, deduplication=DeduplicationOptions(key="k")))
    assert again.deduplicated


async def test_caller_id_collision_raises_and_writes_nothing(state_adapter: Adapter) -> None:
    existing = await create_job(state_adapter, root(id="taken"))
    with pytest.raises(DuplicateJobIdError) as info:
        await create(state_adapter, root(id="new-one"), root(id=existing.id))
    assert info.value.id == "taken"
    assert await state_adapter.get_job("new-one") is None


async def test_caller_id_collision_without_transaction_writes_nothing(state_adapter: Adapter) -> None:
    await create_job(state_adapter, root(id="taken"))
    with pytest.raises(DuplicateJobIdError):
        await state_adapter.create_jobs([root(id="new-one"), root(id="taken")])
    assert await state_adapter.get_job("new-one") is None


async def test_caller_id_collision_leaves_the_transaction_usable(state_adapter: Adapter) -> None:
    await create_job(state_adapter, root(id="taken"))

    async def body(tx: Any) -> StateJob:
        with pytest.raises(DuplicateJobIdError):
            await state_adapter.create_jobs([root(id="partial"), root(id="taken")], tx_ctx=tx)
        return (await state_adapter.create_jobs([root(id="after")], tx_ctx=tx))[0].job

    await state_adapter.with_transaction(body)
    assert await state_adapter.get_job("partial") is None
    assert await state_adapter.get_job("after") is not None


async def test_duplicate_ids_in_one_batch_are_rejected_up_front(state_adapter: Adapter) -> None:
    with pytest.raises(DuplicateJobIdError) as info:
        await create(state_adapter, root(id="a"), root(id="b"), root(id="a"))
    assert info.value.id == "a"
    assert await state_adapter.get_job("b") is None


# --- withTransaction --------------------------------------------------------------------


async def test_transaction_rollback_discards_insert(state_adapter: Adapter) -> None:
    kept = await create_job(state_adapter)
    created: list[StateJob] = []

    async def body(tx: Any) -> None:
        created.append((await state_adapter.create_jobs([root("rolled-back")], tx_ctx=tx))[0].job)
        raise Rollback

    with pytest.raises(Rollback):
        await state_adapter.with_transaction(body)
    assert await state_adapter.get_job(kept.id) is not None
    assert await state_adapter.get_job(created[0].id) is None
    assert (await state_adapter.list_jobs(filter=JobFilter(type_name=["rolled-back"]))).items == []


async def test_transaction_returns_result_and_reraises_original_error(state_adapter: Adapter) -> None:
    async def ok(tx: Any) -> str:
        return "result"

    assert await state_adapter.with_transaction(ok) == "result"
    error = Rollback("the original")

    async def failing(tx: Any) -> None:
        raise error

    with pytest.raises(Rollback) as info:
        await state_adapter.with_transaction(failing)
    assert info.value is error


async def test_transaction_rollback_restores_updated_job(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("update-rollback"))

    async def body(tx: Any) -> None:
        await state_adapter.acquire_job(["update-rollback"], tx_ctx=tx)
        await state_adapter.renew_job_lease(job.id, worker_id="w", lease_duration_ms=30_000, tx_ctx=tx)
        raise Rollback

    with pytest.raises(Rollback):
        await state_adapter.with_transaction(body)
    after = await get(state_adapter, job.id)
    assert after.status == "pending"
    assert after.attempt == 0
    assert after.leased_until is None
    again = await acquire(state_adapter, "update-rollback")
    assert again.job is not None
    assert again.job.id == job.id
    assert again.job.attempt == 1


async def test_transaction_rollback_revives_deleted_chain(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("delete-rollback", deduplication=DeduplicationOptions(key="d")))
    nxt = await create_job(state_adapter, continuation(job, "delete-rollback"))

    async def body(tx: Any) -> None:
        deleted = await state_adapter.delete_chains([job.chain_id], tx_ctx=tx)
        assert len(deleted.deleted) == 1
        raise Rollback

    with pytest.raises(Rollback):
        await state_adapter.with_transaction(body)
    assert (await get(state_adapter, job.id)).id == job.id
    chain = await state_adapter.get_chain(job.id)
    assert chain is not None
    assert chain.last is not None
    assert chain.last.id == nxt.id
    [dedup] = await create(state_adapter, root("delete-rollback", deduplication=DeduplicationOptions(key="d")))
    assert dedup.deduplicated
    acquired = await acquire(state_adapter, "delete-rollback")
    assert acquired.job is not None
    assert acquired.job.id == job.id


async def test_transaction_rollback_restores_blocker_state(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    target = await create_job(state_adapter, root("target"))

    async def body(tx: Any) -> None:
        params = JobBlockersParams(job_id=target.id, blocked_by_chain_ids=[blocker.chain_id])
        [result] = await state_adapter.add_jobs_blockers([params], tx_ctx=tx)
        assert result.job.status == "blocked"
        raise Rollback

    with pytest.raises(Rollback):
        await state_adapter.with_transaction(body)
    assert (await get(state_adapter, target.id)).status == "pending"
    assert await state_adapter.get_job_blockers(target.id) == []
    blocked = await state_adapter.list_blocked_jobs(blocker.chain_id, order_direction="asc", limit=10)
    assert blocked.items == []
    assert (await acquire(state_adapter, "target")).job is not None


async def test_non_transactional_write_survives_concurrent_rollback(state_adapter: Adapter) -> None:
    tx_ready = asyncio.Event()
    gate = asyncio.Event()

    async def body(tx: Any) -> None:
        await state_adapter.create_jobs([root("nontx-vs-tx", input={"side": "tx"})], tx_ctx=tx)
        tx_ready.set()
        await gate.wait()
        raise Rollback

    tx_task = asyncio.create_task(state_adapter.with_transaction(body))
    await asyncio.wait_for(tx_ready.wait(), TIMEOUT)
    non_tx = asyncio.create_task(state_adapter.create_jobs([root("nontx-vs-tx", input={"side": "non-tx"})]))
    await settle()
    gate.set()
    with pytest.raises(Rollback):
        await asyncio.wait_for(tx_task, TIMEOUT)
    [outside] = await asyncio.wait_for(non_tx, TIMEOUT)
    survived = await get(state_adapter, outside.job.id)
    assert survived.input == {"side": "non-tx"}
    listed = await state_adapter.list_jobs(filter=JobFilter(type_name=["nontx-vs-tx"]))
    assert [j.input for j in listed.items] == [{"side": "non-tx"}]


async def test_transaction_rollback_of_mixed_mutations_keeps_indexes_consistent(state_adapter: Adapter) -> None:
    a = await create_job(state_adapter, root("mixed"))
    b = await create_job(state_adapter, root("mixed"))

    async def body(tx: Any) -> None:
        acquired = await state_adapter.acquire_job(["mixed"], tx_ctx=tx)
        assert acquired.job is not None
        await state_adapter.complete_job(a.id, output={"ok": True}, worker_id="w1", tx_ctx=tx)
        await state_adapter.delete_chains([b.chain_id], tx_ctx=tx)
        raise Rollback

    with pytest.raises(Rollback):
        await state_adapter.with_transaction(body)
    a_after = await get(state_adapter, a.id)
    b_after = await get(state_adapter, b.id)
    assert a_after.status == "pending"
    assert a_after.completed_at is None
    assert a_after.leased_until is None
    assert b_after.status == "pending"
    assert b_after.completed_at is None
    assert await state_adapter.get_next_job_available_in_ms(["mixed"]) == 0
    first = await acquire(state_adapter, "mixed")
    second = await acquire(state_adapter, "mixed")
    assert {first.job.id if first.job else None, second.job.id if second.job else None} == {a.id, b.id}
    assert (await acquire(state_adapter, "mixed")).job is None


async def test_cancelled_transaction_rolls_back(state_adapter: Adapter) -> None:
    inside = asyncio.Event()

    async def body(tx: Any) -> None:
        await state_adapter.create_jobs([root("cancelled")], tx_ctx=tx)
        inside.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(state_adapter.with_transaction(body))
    await asyncio.wait_for(inside.wait(), TIMEOUT)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await state_adapter.list_jobs(filter=JobFilter(type_name=["cancelled"]))).items == []
    assert (await create_job(state_adapter)).status == "pending"  # the lock was released


# --- getChain / getJob ------------------------------------------------------------------


async def test_get_chain_of_single_root(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter)
    chain = await state_adapter.get_chain(job.id)
    assert chain is not None
    assert chain.root.id == job.id
    assert chain.root.chain_id == job.id
    assert chain.root.chain_index == 0
    assert chain.last is None
    assert chain.current.id == job.id


async def test_get_chain_returns_root_and_newest_job(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter)
    second = await create_job(state_adapter, continuation(first))
    third = await create_job(state_adapter, continuation(second))
    chain = await state_adapter.get_chain(first.id)
    assert chain is not None
    assert chain.root.id == first.id
    assert chain.last is not None
    assert chain.last.id == third.id


async def test_get_chain_with_exclusive_lock_in_transaction(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter)
    chain = await state_adapter.with_transaction(
        lambda tx: state_adapter.get_chain(job.id, tx_ctx=tx, lock="exclusive")
    )
    assert chain is not None
    assert chain.root.id == job.id
    assert chain.last is None


async def test_get_chain_and_job_return_none_for_unknown_id(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter)
    assert await state_adapter.get_chain(other_id(job.id)) is None
    assert await state_adapter.get_job(other_id(job.id)) is None


@pytest.mark.parametrize("kind", ["job", "chain"])
async def test_exclusive_lock_blocks_concurrent_locked_read_until_commit(state_adapter: Adapter, kind: str) -> None:
    job = await create_job(state_adapter)
    locked = asyncio.Event()
    gate = asyncio.Event()

    async def read(tx: Any) -> object:
        if kind == "job":
            return await state_adapter.get_job(job.id, tx_ctx=tx, lock="exclusive")
        return await state_adapter.get_chain(job.id, tx_ctx=tx, lock="exclusive")

    async def holder(tx: Any) -> None:
        assert await read(tx) is not None
        locked.set()
        await gate.wait()

    holder_task = asyncio.create_task(state_adapter.with_transaction(holder))
    await asyncio.wait_for(locked.wait(), TIMEOUT)
    reader_task = asyncio.create_task(state_adapter.with_transaction(read))
    await asyncio.sleep(LOCK_OBSERVATION)
    assert not reader_task.done(), "a locked read must wait for the holding transaction"
    gate.set()
    await asyncio.wait_for(holder_task, TIMEOUT)
    result = await asyncio.wait_for(reader_task, TIMEOUT)
    assert isinstance(result, StateJob | StateChain)


# --- addJobsBlockers / unblockJobs / getJobBlockers -------------------------------------


async def test_add_blockers_blocks_job_and_reports_incomplete(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    main = await create_job(state_adapter, root("main"))
    result = await add_blockers(state_adapter, main, blocker.chain_id)
    assert result.job.id == main.id
    assert result.job.status == "blocked"
    assert result.incomplete_blocker_chain_ids == (blocker.chain_id,)
    assert result.blocker_chain_trace_contexts == (None,)
    assert (await get(state_adapter, main.id)).status == "blocked"


async def test_add_blockers_with_completed_blocker_keeps_job_pending(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    await complete(state_adapter, blocker)
    main = await create_job(state_adapter, root("main"))
    result = await add_blockers(state_adapter, main, blocker.chain_id)
    assert result.job.status == "pending"
    assert result.incomplete_blocker_chain_ids == ()
    assert result.blocker_chain_trace_contexts == (None,)


async def test_add_blockers_batch(state_adapter: Adapter) -> None:
    b1 = await create_job(state_adapter, root("b1"))
    b2 = await create_job(state_adapter, root("b2"))
    done = await create_job(state_adapter, root("done"))
    await complete(state_adapter, done)
    main1 = await create_job(state_adapter, root("main1"))
    main2 = await create_job(state_adapter, root("main2"))
    main3 = await create_job(state_adapter, root("main3"))
    results = await state_adapter.with_transaction(
        lambda tx: state_adapter.add_jobs_blockers(
            [
                JobBlockersParams(job_id=main1.id, blocked_by_chain_ids=[b1.id]),
                JobBlockersParams(job_id=main2.id, blocked_by_chain_ids=[b1.id, b2.id]),
                JobBlockersParams(job_id=main3.id, blocked_by_chain_ids=[done.id]),
            ],
            tx_ctx=tx,
        )
    )
    assert [r.job.id for r in results] == [main1.id, main2.id, main3.id]
    assert [r.job.status for r in results] == ["blocked", "blocked", "pending"]
    assert results[0].incomplete_blocker_chain_ids == (b1.id,)
    assert results[1].incomplete_blocker_chain_ids == (b1.id, b2.id)
    assert results[2].incomplete_blocker_chain_ids == ()


async def test_add_blockers_to_missing_job_raises(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter)
    main = await create_job(state_adapter)
    with pytest.raises(JobNotFoundError):
        await state_adapter.add_jobs_blockers(
            [
                JobBlockersParams(job_id=main.id, blocked_by_chain_ids=[blocker.id]),
                JobBlockersParams(job_id=other_id(main.id), blocked_by_chain_ids=[blocker.id]),
            ]
        )
    assert await state_adapter.get_job_blockers(main.id) == []
    assert (await get(state_adapter, main.id)).status == "pending"


async def test_add_blockers_empty_batch(state_adapter: Adapter) -> None:
    assert await state_adapter.add_jobs_blockers([]) == []


async def test_add_blockers_returns_blocker_chain_trace_contexts_in_order(state_adapter: Adapter) -> None:
    a = await create_job(state_adapter, root("a", chain_trace_context="ctx-a"))
    b = await create_job(state_adapter, root("b", chain_trace_context="ctx-b"))
    main = await create_job(state_adapter, root("main"))
    result = await add_blockers(state_adapter, main, b.id, a.id)
    assert result.blocker_chain_trace_contexts == ("ctx-b", "ctx-a")


async def test_blocker_chain_trace_context_comes_from_blocker_root(state_adapter: Adapter) -> None:
    a = await create_job(state_adapter, root("a", chain_trace_context="root-ctx"))
    await create_job(state_adapter, continuation(a))
    main = await create_job(state_adapter, root("main"))
    result = await add_blockers(state_adapter, main, a.id)
    assert result.blocker_chain_trace_contexts == ("root-ctx",)


async def test_unblock_schedules_job_when_all_blockers_complete(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    main = await create_job(state_adapter, root("main"))
    await add_blockers(state_adapter, main, blocker.id)
    await complete(state_adapter, blocker)
    result = await state_adapter.with_transaction(lambda tx: state_adapter.unblock_jobs(blocker.id, tx_ctx=tx))
    assert [j.id for j in result.unblocked_jobs] == [main.id]
    assert result.unblocked_jobs[0].status == "pending"
    assert (await get(state_adapter, main.id)).status == "pending"
    assert (await acquire(state_adapter, "main")).job is not None


async def test_unblock_waits_for_every_blocker(state_adapter: Adapter) -> None:
    b1 = await create_job(state_adapter, root("b1"))
    b2 = await create_job(state_adapter, root("b2"))
    main = await create_job(state_adapter, root("main"))
    await add_blockers(state_adapter, main, b1.id, b2.id)
    await complete(state_adapter, b1)
    result = await state_adapter.unblock_jobs(b1.id)
    assert result.unblocked_jobs == ()
    assert (await get(state_adapter, main.id)).status == "blocked"
    assert (await acquire(state_adapter, "main")).job is None
    await complete(state_adapter, b2)
    result = await state_adapter.unblock_jobs(b2.id)
    assert [j.id for j in result.unblocked_jobs] == [main.id]


async def test_unblock_counts_a_chain_complete_only_when_its_newest_job_is(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    main = await create_job(state_adapter, root("main"))
    await add_blockers(state_adapter, main, blocker.id)
    await create_job(state_adapter, continuation(blocker))
    await complete(state_adapter, blocker)  # the root continued; the chain is still open
    assert (await state_adapter.unblock_jobs(blocker.id)).unblocked_jobs == ()
    assert (await get(state_adapter, main.id)).status == "blocked"


async def test_unblock_with_no_dependents(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter)
    result = await state_adapter.unblock_jobs(job.id)
    assert result.unblocked_jobs == ()
    assert result.blocker_trace_contexts == ()


async def test_unblock_returns_stored_blocker_trace_contexts(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    main1 = await create_job(state_adapter, root("main"))
    main2 = await create_job(state_adapter, root("main"))
    main3 = await create_job(state_adapter, root("main"))
    await add_blockers(state_adapter, main1, blocker.id, trace_contexts=["await-1"])
    await add_blockers(state_adapter, main2, blocker.id, trace_contexts=[None])
    await add_blockers(state_adapter, main3, blocker.id, trace_contexts=["await-3"])
    result = await state_adapter.unblock_jobs(blocker.id)  # blocker not complete: nothing unblocked
    assert result.unblocked_jobs == ()
    assert sorted(result.blocker_trace_contexts) == ["await-1", "await-3"]


async def test_unblock_without_trace_contexts_returns_none(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    main = await create_job(state_adapter, root("main"))
    await add_blockers(state_adapter, main, blocker.id)
    await complete(state_adapter, blocker)
    result = await state_adapter.unblock_jobs(blocker.id)
    assert len(result.unblocked_jobs) == 1
    assert result.blocker_trace_contexts == ()


async def test_unblock_raises_stale_scheduled_at_to_now(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    main = await create_job(state_adapter, root("main", schedule=ScheduleAt(at=now() - timedelta(hours=1))))
    await add_blockers(state_adapter, main, blocker.id)
    await clock_passes(main.scheduled_at, margin_ms=5)
    await complete(state_adapter, blocker)
    before = now()
    [unblocked] = (await state_adapter.unblock_jobs(blocker.id)).unblocked_jobs
    assert unblocked.scheduled_at >= before
    assert unblocked.scheduled_at > main.scheduled_at
    assert_near(unblocked.scheduled_at, now())


async def test_unblock_preserves_future_scheduled_at(state_adapter: Adapter) -> None:
    future = now() + timedelta(minutes=10)
    blocker = await create_job(state_adapter, root("blocker"))
    main = await create_job(state_adapter, root("main", schedule=ScheduleAt(at=future)))
    await add_blockers(state_adapter, main, blocker.id)
    await complete(state_adapter, blocker)
    [unblocked] = (await state_adapter.unblock_jobs(blocker.id)).unblocked_jobs
    assert unblocked.scheduled_at == main.scheduled_at
    assert abs(unblocked.scheduled_at - future) < timedelta(milliseconds=1)


async def test_unblocked_stale_job_does_not_jump_ahead_of_ready_jobs(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    stale = await create_job(state_adapter, root("work", schedule=ScheduleAt(at=now() - timedelta(hours=1))))
    await add_blockers(state_adapter, stale, blocker.id)
    ready = await create_job(state_adapter, root("work", schedule=ScheduleAt(at=now() - timedelta(minutes=1))))
    await clock_passes(ready.scheduled_at)
    await complete(state_adapter, blocker)
    await state_adapter.unblock_jobs(blocker.id)
    first = await acquire(state_adapter, "work")
    second = await acquire(state_adapter, "work")
    assert first.job is not None
    assert second.job is not None
    assert [first.job.id, second.job.id] == [ready.id, stale.id]


async def test_unblock_leaves_non_blocked_dependents_alone(state_adapter: Adapter) -> None:
    done = await create_job(state_adapter, root("done"))
    await complete(state_adapter, done)
    main = await create_job(state_adapter, root("main"))
    await add_blockers(state_adapter, main, done.id)  # stays pending
    result = await state_adapter.unblock_jobs(done.id)
    assert result.unblocked_jobs == ()


async def test_get_job_blockers_in_slot_order(state_adapter: Adapter) -> None:
    a = await create_job(state_adapter, root("a"))
    b = await create_job(state_adapter, root("b"))
    b_next = await create_job(state_adapter, continuation(b))
    main = await create_job(state_adapter, root("main"))
    await add_blockers(state_adapter, main, b.id, a.id)
    chains = await state_adapter.get_job_blockers(main.id)
    assert [c.root.id for c in chains] == [b.id, a.id]
    assert chains[0].last is not None
    assert chains[0].last.id == b_next.id
    assert chains[1].last is None or chains[1].last.id == a.id


async def test_get_job_blockers_empty(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter)
    assert await state_adapter.get_job_blockers(job.id) == []
    assert await state_adapter.get_job_blockers(other_id(job.id)) == []


# --- getNextJobAvailableInMs ------------------------------------------------------------


async def test_next_available_is_zero_for_due_job(state_adapter: Adapter) -> None:
    await create_job(state_adapter, root("due"))
    assert await state_adapter.get_next_job_available_in_ms(["due"]) == 0


async def test_next_available_counts_down_to_scheduled_job(state_adapter: Adapter) -> None:
    await create_job(state_adapter, root("later", schedule=ScheduleAfter(after_ms=5000)))
    await create_job(state_adapter, root("much-later", schedule=ScheduleAfter(after_ms=50_000)))
    ms = await state_adapter.get_next_job_available_in_ms(["later", "much-later"])
    assert ms is not None
    assert 3000 < ms <= 5100
    assert isinstance(ms, int)


async def test_next_available_is_none_without_pending_jobs(state_adapter: Adapter) -> None:
    assert await state_adapter.get_next_job_available_in_ms(["nothing"]) is None
    job = await create_job(state_adapter, root("one"))
    await complete(state_adapter, job)
    assert await state_adapter.get_next_job_available_in_ms(["one"]) is None
    blocker = await create_job(state_adapter, root("blocker"))
    blocked = await create_job(state_adapter, root("blocked"))
    await add_blockers(state_adapter, blocked, blocker.id)
    assert await state_adapter.get_next_job_available_in_ms(["blocked"]) is None


async def test_next_available_ignores_running_jobs(state_adapter: Adapter) -> None:
    await create_job(state_adapter, root("running"))
    await acquire(state_adapter, "running")
    assert await state_adapter.get_next_job_available_in_ms(["running"]) is None


# --- acquireJob -------------------------------------------------------------------------


async def test_acquire_takes_oldest_eligible_job(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter, root("acq"))
    await create_job(state_adapter, root("acq"))
    acquired = await acquire(state_adapter, "acq")
    assert acquired.job is not None
    assert acquired.job.id == first.id
    assert acquired.job.status == "running"
    assert acquired.job.attempt == 1
    assert acquired.job.leased_by is None
    assert acquired.job.leased_until is None


async def test_acquire_reports_has_more(state_adapter: Adapter) -> None:
    await create_job(state_adapter, root("acq"))
    await create_job(state_adapter, root("acq"))
    first = await acquire(state_adapter, "acq")
    assert first.has_more
    second = await acquire(state_adapter, "acq")
    assert second.job is not None
    assert not second.has_more


async def test_acquire_returns_none_when_nothing_is_eligible(state_adapter: Adapter) -> None:
    assert await acquire(state_adapter, "empty") == AcquiredJob(None, False)


async def test_acquire_skips_future_jobs(state_adapter: Adapter) -> None:
    await create_job(state_adapter, root("future", schedule=ScheduleAfter(after_ms=60_000)))
    assert (await acquire(state_adapter, "future")).job is None


async def test_acquire_has_more_ignores_future_jobs(state_adapter: Adapter) -> None:
    await create_job(state_adapter, root("acq"))
    await create_job(state_adapter, root("acq", schedule=ScheduleAfter(after_ms=60_000)))
    acquired = await acquire(state_adapter, "acq")
    assert acquired.job is not None
    assert not acquired.has_more


async def test_acquire_only_requested_types_and_earliest_across_them(state_adapter: Adapter) -> None:
    a = await create_job(state_adapter, root("type-a", schedule=ScheduleAt(at=now() - timedelta(seconds=1))))
    await clock_passes(a.created_at)
    b = await create_job(state_adapter, root("type-b"))
    await create_job(state_adapter, root("type-c", schedule=ScheduleAt(at=now() - timedelta(seconds=5))))
    first = await acquire(state_adapter, "type-b", "type-a")
    second = await acquire(state_adapter, "type-b", "type-a")
    assert first.job is not None
    assert second.job is not None
    assert [first.job.id, second.job.id] == [a.id, b.id]
    assert (await acquire(state_adapter, "type-a", "type-b")).job is None


async def test_acquire_never_takes_blocked_running_or_completed_jobs(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    blocked = await create_job(state_adapter, root("kind"))
    await add_blockers(state_adapter, blocked, blocker.id)
    running = await create_job(state_adapter, root("kind"))
    assert (await acquire(state_adapter, "kind")).job == await get(state_adapter, running.id)
    assert (await acquire(state_adapter, "kind")).job is None
    await complete(state_adapter, running)
    assert (await acquire(state_adapter, "kind")).job is None


async def test_acquire_without_transaction(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("plain"))
    acquired = await state_adapter.acquire_job(["plain"])
    assert acquired.job is not None
    assert acquired.job.id == job.id
    assert (await get(state_adapter, job.id)).status == "running"


# --- renew / reschedule / complete ------------------------------------------------------


async def test_renew_lease_on_running_job(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("lease"))
    await acquire(state_adapter, "lease")
    before = now()
    renewed = await state_adapter.renew_job_lease(job.id, worker_id="worker-1", lease_duration_ms=10_000)
    assert renewed.leased_by == "worker-1"
    assert renewed.status == "running"
    assert renewed.leased_until is not None
    assert before + timedelta(seconds=9) <= renewed.leased_until < now() + timedelta(seconds=11)
    assert await get(state_adapter, job.id) == renewed


async def test_renew_lease_again_extends_it(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("lease"))
    await acquire(state_adapter, "lease")
    first = await state_adapter.renew_job_lease(job.id, worker_id="w", lease_duration_ms=5000)
    second = await state_adapter.renew_job_lease(job.id, worker_id="w", lease_duration_ms=20_000)
    assert first.leased_until is not None
    assert second.leased_until is not None
    assert second.leased_until > first.leased_until


async def test_renew_lease_of_missing_job_raises(state_adapter: Adapter) -> None:
    with pytest.raises(JobNotFoundError):
        await state_adapter.renew_job_lease("missing", worker_id="w", lease_duration_ms=1000)


async def test_reschedule_with_after_ms(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("resched"))
    await acquire(state_adapter, "resched")
    await state_adapter.renew_job_lease(job.id, worker_id="w", lease_duration_ms=10_000)
    before = now()
    rescheduled = await state_adapter.reschedule_job(
        job.id, schedule=ScheduleAfter(after_ms=5000), error="transient failure"
    )
    assert rescheduled.status == "pending"
    assert rescheduled.scheduled_at >= before + timedelta(seconds=4)
    assert rescheduled.last_attempt_error == "transient failure"
    assert_near(rescheduled.last_attempt_at, now())
    assert rescheduled.leased_by is None
    assert rescheduled.leased_until is None
    assert rescheduled.attempt == 1
    assert (await acquire(state_adapter, "resched")).job is None
    assert await state_adapter.reap_expired_job_lease(["resched"]) is None


async def test_reschedule_with_absolute_date(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("resched"))
    await acquire(state_adapter, "resched")
    at = now() + timedelta(seconds=30)
    rescheduled = await state_adapter.reschedule_job(job.id, schedule=ScheduleAt(at=at), error=None)
    assert_near(rescheduled.scheduled_at, at)
    assert rescheduled.last_attempt_error is None


async def test_reschedule_clamps_past_date(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("resched"))
    await acquire(state_adapter, "resched")
    past = now() - timedelta(hours=1)
    rescheduled = await state_adapter.reschedule_job(job.id, schedule=ScheduleAt(at=past), error="e")
    assert rescheduled.scheduled_at - past > timedelta(minutes=30)
    assert_near(rescheduled.scheduled_at, now(), 60_000)
    assert (await acquire(state_adapter, "resched")).job is not None


async def test_complete_job_with_output(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("complete"))
    await acquire(state_adapter, "complete")
    await state_adapter.renew_job_lease(job.id, worker_id="worker-1", lease_duration_ms=10_000)
    completed = await complete(state_adapter, job, output={"result": 42}, worker_id="worker-1")
    assert completed.status == "completed"
    assert completed.output == {"result": 42}
    assert_near(completed.completed_at, now())
    assert completed.completed_by == "worker-1"
    assert completed.leased_by is None
    assert completed.leased_until is None
    assert await state_adapter.get_next_job_available_in_ms(["complete"]) is None


async def test_complete_clears_last_attempt_error(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("complete"))
    await acquire(state_adapter, "complete")
    await state_adapter.reschedule_job(job.id, schedule=ScheduleAfter(after_ms=0), error="boom")
    again = await acquire(state_adapter, "complete")
    assert again.job is not None
    assert again.job.attempt == 2
    completed = await complete(state_adapter, job)
    assert completed.last_attempt_error is None
    assert completed.last_attempt_at is not None
    assert completed.attempt == 2


async def test_complete_without_worker(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter)
    completed = await complete(state_adapter, job, worker_id=None)
    assert completed.completed_by is None


async def test_complete_blocked_job(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    main = await create_job(state_adapter, root("main"))
    await add_blockers(state_adapter, main, blocker.id)
    completed = await complete(state_adapter, main, output="manual", worker_id=None)
    assert completed.status == "completed"
    assert (await state_adapter.unblock_jobs(blocker.id)).unblocked_jobs == ()


async def test_transitions_on_missing_job_raise(state_adapter: Adapter) -> None:
    with pytest.raises(JobNotFoundError):
        await state_adapter.complete_job("missing", output=None, worker_id=None)
    with pytest.raises(JobNotFoundError):
        await state_adapter.reschedule_job("missing", schedule=ScheduleAfter(after_ms=0), error=None)


# --- reapExpiredJobLease ----------------------------------------------------------------


async def test_reap_expired_lease(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("reap"))
    await acquire(state_adapter, "reap")
    leased = await state_adapter.renew_job_lease(job.id, worker_id="worker-1", lease_duration_ms=1)
    assert leased.leased_until is not None
    await clock_passes(leased.leased_until, margin_ms=10)
    reaped = await state_adapter.with_transaction(lambda tx: state_adapter.reap_expired_job_lease(["reap"], tx_ctx=tx))
    assert reaped is not None
    assert reaped.job.id == job.id
    assert reaped.job.status == "pending"
    assert reaped.job.leased_by is None
    assert reaped.job.leased_until is None
    assert reaped.job.attempt == 1
    assert reaped.expired_leased_by == "worker-1"
    assert reaped.expired_leased_until == leased.leased_until
    assert await state_adapter.reap_expired_job_lease(["reap"]) is None
    assert await state_adapter.get_next_job_available_in_ms(["reap"]) == 0


async def test_reap_ignores_unexpired_leases(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("reap"))
    await acquire(state_adapter, "reap")
    await state_adapter.renew_job_lease(job.id, worker_id="w", lease_duration_ms=60_000)
    assert await state_adapter.reap_expired_job_lease(["reap"]) is None


async def test_reap_ignores_running_jobs_without_lease(state_adapter: Adapter) -> None:
    await create_job(state_adapter, root("reap"))
    await acquire(state_adapter, "reap")
    assert await state_adapter.reap_expired_job_lease(["reap"]) is None


async def test_reap_respects_ignored_job_ids_and_oldest_first(state_adapter: Adapter) -> None:
    jobs = [await create_job(state_adapter, root("reap")) for _ in range(3)]
    for _ in jobs:
        await acquire(state_adapter, "reap")
    leases = []
    for job in jobs:
        leases.append(await state_adapter.renew_job_lease(job.id, worker_id="w", lease_duration_ms=1))
        await clock_passes(now())
    last_until = leases[-1].leased_until
    assert last_until is not None
    await clock_passes(last_until, margin_ms=10)
    first = await state_adapter.reap_expired_job_lease(["reap"], ignored_job_ids=[jobs[0].id])
    assert first is not None
    assert first.job.id == jobs[1].id
    second = await state_adapter.reap_expired_job_lease(["reap"], ignored_job_ids=[jobs[0].id])
    assert second is not None
    assert second.job.id == jobs[2].id
    assert await state_adapter.reap_expired_job_lease(["reap"], ignored_job_ids=[jobs[0].id]) is None
    third = await state_adapter.reap_expired_job_lease(["reap", "other"])
    assert third is not None
    assert third.job.id == jobs[0].id


async def test_reap_only_requested_types(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("reap"))
    await acquire(state_adapter, "reap")
    leased = await state_adapter.renew_job_lease(job.id, worker_id="w", lease_duration_ms=1)
    assert leased.leased_until is not None
    await clock_passes(leased.leased_until, margin_ms=5)
    assert await state_adapter.reap_expired_job_lease(["other"]) is None
    assert await state_adapter.reap_expired_job_lease(["reap"]) is not None


# --- deleteChains -----------------------------------------------------------------------


async def test_delete_chain_removes_all_its_jobs(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter)
    deleted = await state_adapter.with_transaction(lambda tx: state_adapter.delete_chains([job.id], tx_ctx=tx))
    assert deleted.blocker_references == ()
    assert [(c.root.id, c.last) for c in deleted.deleted] == [(job.id, None)]
    assert await state_adapter.get_job(job.id) is None

    multi = await create_job(state_adapter)
    nxt = await create_job(state_adapter, continuation(multi))
    deleted = await state_adapter.delete_chains([multi.id])
    assert [(c.root.id, c.last.id if c.last else None) for c in deleted.deleted] == [(multi.id, nxt.id)]
    assert await state_adapter.get_job(nxt.id) is None
    assert await state_adapter.get_chain(multi.id) is None
    assert (await state_adapter.list_chain_jobs(multi.id)).items == []


async def test_delete_chain_leaves_other_chains(state_adapter: Adapter) -> None:
    a = await create_job(state_adapter)
    b = await create_job(state_adapter)
    await state_adapter.delete_chains([a.id])
    assert await state_adapter.get_job(b.id) is not None


async def test_delete_referenced_blocker_is_refused(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    main = await create_job(state_adapter, root("main"))
    await add_blockers(state_adapter, main, blocker.id)
    refused = await state_adapter.delete_chains([blocker.id])
    assert refused.deleted == ()
    assert refused.blocker_references == (BlockerReference(chain_id=blocker.id, referenced_by_job_id=main.id),)
    assert await state_adapter.get_job(blocker.id) is not None
    together = await state_adapter.delete_chains([main.id, blocker.id])
    assert len(together.deleted) == 2
    assert together.blocker_references == ()
    assert await state_adapter.get_job(main.id) is None
    assert await state_adapter.get_job(blocker.id) is None


async def test_delete_cascade_takes_the_blockers(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    main = await create_job(state_adapter, root("main"))
    await add_blockers(state_adapter, main, blocker.id)
    deleted = await state_adapter.delete_chains([main.id], cascade=True)
    assert {c.root.id for c in deleted.deleted} == {main.id, blocker.id}
    assert deleted.blocker_references == ()


async def test_delete_cascade_of_referenced_blocker_is_refused(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    main = await create_job(state_adapter, root("main"))
    await add_blockers(state_adapter, main, blocker.id)
    refused = await state_adapter.delete_chains([blocker.id], cascade=True)
    assert refused.deleted == ()
    assert refused.blocker_references == (BlockerReference(chain_id=blocker.id, referenced_by_job_id=main.id),)


async def test_delete_cascade_is_transitive(state_adapter: Adapter) -> None:
    a = await create_job(state_adapter, root("a"))
    b = await create_job(state_adapter, root("b"))
    c = await create_job(state_adapter, root("c"))
    await add_blockers(state_adapter, b, a.id)
    await add_blockers(state_adapter, c, b.id)
    deleted = await state_adapter.delete_chains([c.id], cascade=True)
    assert {ch.root.id for ch in deleted.deleted} == {a.id, b.id, c.id}


async def test_delete_cascade_handles_diamonds_once(state_adapter: Adapter) -> None:
    a = await create_job(state_adapter, root("a"))
    b = await create_job(state_adapter, root("b"))
    c = await create_job(state_adapter, root("c"))
    d = await create_job(state_adapter, root("d"))
    await add_blockers(state_adapter, b, a.id)
    await add_blockers(state_adapter, c, a.id)
    await add_blockers(state_adapter, d, b.id, c.id)
    deleted = await state_adapter.delete_chains([d.id], cascade=True)
    assert sorted(ch.root.id for ch in deleted.deleted) == sorted([a.id, b.id, c.id, d.id])


async def test_delete_cascade_without_blockers_deletes_only_given(state_adapter: Adapter) -> None:
    a = await create_job(state_adapter)
    b = await create_job(state_adapter)
    deleted = await state_adapter.delete_chains([a.id], cascade=True)
    assert [ch.root.id for ch in deleted.deleted] == [a.id]
    assert await state_adapter.get_job(b.id) is not None


async def test_delete_cascade_follows_only_root_job_blockers(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    first = await create_job(state_adapter, root("main"))
    nxt = await create_job(state_adapter, continuation(first))
    await add_blockers(state_adapter, nxt, blocker.id)
    refused = await state_adapter.delete_chains([blocker.id])
    assert refused.blocker_references == (BlockerReference(chain_id=blocker.id, referenced_by_job_id=nxt.id),)
    deleted = await state_adapter.delete_chains([first.id], cascade=True)
    assert [ch.root.id for ch in deleted.deleted] == [first.id]
    assert await state_adapter.get_job(blocker.id) is not None
    assert (await state_adapter.list_blocked_jobs(blocker.id)).items == []


async def test_delete_skips_missing_ids_and_is_idempotent(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter)
    assert (await state_adapter.delete_chains([])).deleted == ()
    deleted = await state_adapter.delete_chains([other_id(job.id), job.id, job.id])
    assert [c.root.id for c in deleted.deleted] == [job.id]
    again = await state_adapter.delete_chains([job.id])
    assert again.deleted == ()
    assert again.blocker_references == ()


async def test_delete_by_continuation_id_is_not_a_chain(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter)
    nxt = await create_job(state_adapter, continuation(first))
    assert (await state_adapter.delete_chains([nxt.id])).deleted == ()
    assert await state_adapter.get_job(nxt.id) is not None


# --- triggerJobs ------------------------------------------------------------------------


async def test_trigger_sets_scheduled_at_to_now(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("trig", input={"x": 1}, schedule=ScheduleAfter(after_ms=60_000)))
    assert (await acquire(state_adapter, "trig")).job is None
    result = await state_adapter.with_transaction(lambda tx: state_adapter.trigger_jobs([job.id], tx_ctx=tx))
    assert result.not_found == ()
    assert result.not_triggerable == ()
    [triggered] = result.jobs
    assert_near(triggered.scheduled_at, now())
    assert triggered.status == "pending"
    assert (triggered.id, triggered.type_name, triggered.input, triggered.chain_id, triggered.attempt) == (
        job.id,
        job.type_name,
        job.input,
        job.chain_id,
        job.attempt,
    )
    assert await state_adapter.get_next_job_available_in_ms(["trig"]) == 0
    acquired = await acquire(state_adapter, "trig")
    assert acquired.job is not None
    assert acquired.job.id == job.id


async def test_trigger_moves_a_past_due_job_to_now(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("trig"))
    await clock_passes(job.scheduled_at, margin_ms=2)
    [triggered] = (await state_adapter.trigger_jobs([job.id])).jobs
    assert triggered.scheduled_at > job.scheduled_at


async def test_trigger_multiple_in_input_order(state_adapter: Adapter) -> None:
    a = await create_job(state_adapter, root("trig", schedule=ScheduleAfter(after_ms=60_000)))
    b = await create_job(state_adapter, root("trig", schedule=ScheduleAfter(after_ms=60_000)))
    forward = await state_adapter.trigger_jobs([a.id, b.id])
    assert [j.id for j in forward.jobs] == [a.id, b.id]
    backward = await state_adapter.trigger_jobs([b.id, a.id, b.id])
    assert [j.id for j in backward.jobs] == [b.id, a.id]
    assert backward.not_found == ()
    assert backward.not_triggerable == ()


async def test_trigger_empty_input(state_adapter: Adapter) -> None:
    result = await state_adapter.trigger_jobs([])
    assert (result.jobs, result.not_found, result.not_triggerable) == ((), (), ())


async def test_trigger_reports_missing_and_updates_nothing(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("trig", schedule=ScheduleAfter(after_ms=60_000)))
    missing = other_id(job.id)
    result = await state_adapter.trigger_jobs([job.id, missing, missing])
    assert result.jobs == ()
    assert result.not_found == (missing,)
    assert (await get(state_adapter, job.id)).scheduled_at == job.scheduled_at


async def test_trigger_reports_non_pending_and_updates_nothing(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("trig", schedule=ScheduleAfter(after_ms=60_000)))
    done = await create_job(state_adapter, root("done"))
    await complete(state_adapter, done)
    blocked = await create_job(state_adapter, root("blocked"))
    await add_blockers(state_adapter, blocked, job.id)
    result = await state_adapter.trigger_jobs([job.id, done.id, blocked.id])
    assert result.jobs == ()
    assert result.not_found == ()
    assert result.not_triggerable == ((done.id, "completed"), (blocked.id, "blocked"))
    assert (await get(state_adapter, job.id)).scheduled_at == job.scheduled_at


# --- listChains -------------------------------------------------------------------------


async def test_list_chains_empty(state_adapter: Adapter) -> None:
    page = await state_adapter.list_chains(filter=ChainFilter(), limit=10)
    assert page.items == []
    assert page.next_cursor is None


async def test_list_chains_root_only_excludes_blocker_chains(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    main = await create_job(state_adapter, root("main"))
    await add_blockers(state_adapter, main, blocker.id)
    root_only = await state_adapter.list_chains(filter=ChainFilter(root_only=True), limit=10)
    assert [c.root.id for c in root_only.items] == [main.id]
    everything = await state_adapter.list_chains(filter=ChainFilter(), limit=10)
    assert len(everything.items) == 2


async def test_list_chains_returns_root_and_last(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter, root("multi"))
    nxt = await create_job(state_adapter, continuation(first))
    single = await create_job(state_adapter, root("single"))
    page = await state_adapter.list_chains(filter=ChainFilter(), limit=10)
    pairs = {c.root.id: (c.last.id if c.last else None) for c in page.items}
    assert pairs == {first.id: nxt.id, single.id: None}


async def test_list_chains_filters_by_type_name(state_adapter: Adapter) -> None:
    a = await create_job(state_adapter, root("type-a"))
    await create_job(state_adapter, continuation(a, "type-x"))
    await create_job(state_adapter, root("type-b"))
    page = await state_adapter.list_chains(filter=ChainFilter(type_name=["type-a"]), limit=10)
    assert [c.root.id for c in page.items] == [a.id]
    none = await state_adapter.list_chains(filter=ChainFilter(type_name=["type-x"]), limit=10)
    assert none.items == []


async def _three_spaced_chains(adapter: Adapter) -> list[StateJob]:
    jobs: list[StateJob] = []
    for _ in range(3):
        if jobs:
            await clock_passes(jobs[-1].created_at, margin_ms=5)
        jobs.append(await create_job(adapter, root("spaced")))
    return jobs


async def test_list_chains_sorts_newest_first_by_default(state_adapter: Adapter) -> None:
    jobs = await _three_spaced_chains(state_adapter)
    page = await state_adapter.list_chains(filter=ChainFilter(), limit=10)
    assert [c.root.id for c in page.items] == [j.id for j in reversed(jobs)]


async def test_list_chains_sorts_ascending(state_adapter: Adapter) -> None:
    jobs = await _three_spaced_chains(state_adapter)
    page = await state_adapter.list_chains(filter=ChainFilter(), order_direction="asc", limit=10)
    assert [c.root.id for c in page.items] == [j.id for j in jobs]


async def test_list_chains_paginates(state_adapter: Adapter) -> None:
    jobs = [await create_job(state_adapter, root("page")) for _ in range(5)]
    pages = await all_pages(state_adapter.list_chains, filter=ChainFilter(), limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [c.root.id for p in pages for c in p] == by_created(jobs, "desc")


async def test_list_chains_paginates_ascending(state_adapter: Adapter) -> None:
    jobs = [await create_job(state_adapter, root("page")) for _ in range(3)]
    pages = await all_pages(state_adapter.list_chains, filter=ChainFilter(), order_direction="asc", limit=2)
    assert [len(p) for p in pages] == [2, 1]
    assert [c.root.id for p in pages for c in p] == by_created(jobs, "asc")


async def test_list_chains_filters_by_chain_id(state_adapter: Adapter) -> None:
    a = await create_job(state_adapter)
    b = await create_job(state_adapter)
    await create_job(state_adapter)
    page = await state_adapter.list_chains(filter=ChainFilter(chain_id=[a.id, b.id, "missing"]), limit=10)
    assert {c.root.id for c in page.items} == {a.id, b.id}


async def test_list_chains_filters_by_date_range(state_adapter: Adapter) -> None:
    early = await create_job(state_adapter, root("dated"))
    await clock_passes(early.created_at, margin_ms=5)
    midpoint = now()
    await clock_passes(midpoint, margin_ms=5)
    late = await create_job(state_adapter, root("dated"))
    after = await state_adapter.list_chains(filter=ChainFilter(from_=midpoint), limit=10)
    assert [c.root.id for c in after.items] == [late.id]
    before = await state_adapter.list_chains(filter=ChainFilter(to=midpoint), limit=10)
    assert [c.root.id for c in before.items] == [early.id]
    inclusive = await state_adapter.list_chains(filter=ChainFilter(from_=early.created_at, to=late.created_at))
    assert len(inclusive.items) == 2


async def test_list_chains_filters_by_job_id(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter)
    nxt = await create_job(state_adapter, continuation(first))
    await create_job(state_adapter)
    page = await state_adapter.list_chains(filter=ChainFilter(job_id=[nxt.id]), limit=10)
    assert [c.root.id for c in page.items] == [first.id]


async def test_list_chains_filters_by_status_of_last_job(state_adapter: Adapter) -> None:
    done_root = await create_job(state_adapter, root("s"))
    done_last = await create_job(state_adapter, continuation(done_root))
    await complete(state_adapter, done_root)
    await complete(state_adapter, done_last, output="end")
    open_root = await create_job(state_adapter, root("s"))
    continued = await create_job(state_adapter, root("s"))
    await create_job(state_adapter, continuation(continued))
    await complete(state_adapter, continued)  # root completed, chain still pending
    completed = await state_adapter.list_chains(filter=ChainFilter(status=["completed"]), limit=10)
    assert [c.root.id for c in completed.items] == [done_root.id]
    pending = await state_adapter.list_chains(filter=ChainFilter(status=["pending"]), limit=10)
    assert {c.root.id for c in pending.items} == {open_root.id, continued.id}


async def test_list_chains_combines_filters(state_adapter: Adapter) -> None:
    a = await create_job(state_adapter, root("type-a"))
    b = await create_job(state_adapter, root("type-b"))
    page = await state_adapter.list_chains(filter=ChainFilter(type_name=["type-a"], chain_id=[a.id, b.id]))
    assert [c.root.id for c in page.items] == [a.id]


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_list_chains_paginates_rows_sharing_created_at(state_adapter: Adapter, order: OrderDirection) -> None:
    created = await create(state_adapter, *(root("same-time") for _ in range(25)))
    jobs = [c.job for c in created]
    assert len({j.created_at for j in jobs}) < len(jobs), "precondition: some rows share a created_at"
    for limit in (1, 4, 7):
        pages = await all_pages(state_adapter.list_chains, filter=ChainFilter(), order_direction=order, limit=limit)
        assert [c.root.id for p in pages for c in p] == by_created(jobs, order)
        assert all(len(p) == limit for p in pages[:-1])


# --- listJobs ---------------------------------------------------------------------------


async def test_list_jobs_empty(state_adapter: Adapter) -> None:
    page = await state_adapter.list_jobs(filter=JobFilter(), limit=10)
    assert page == Page([], None)


async def test_list_jobs_returns_jobs_of_all_chains(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter)
    nxt = await create_job(state_adapter, continuation(first))
    other = await create_job(state_adapter)
    page = await state_adapter.list_jobs(filter=JobFilter(), limit=10)
    assert [j.id for j in page.items] == by_created([first, nxt, other], "desc")


async def test_list_jobs_filters(state_adapter: Adapter) -> None:
    a = await create_job(state_adapter, root("root-a"))
    a_next = await create_job(state_adapter, continuation(a, "step"))
    b = await create_job(state_adapter, root("root-b"))
    b_next = await create_job(state_adapter, continuation(b, "step"))
    await complete(state_adapter, a)

    async def ids(job_filter: JobFilter) -> set[str]:
        return {j.id for j in (await state_adapter.list_jobs(filter=job_filter, limit=10)).items}

    assert await ids(JobFilter(chain_id=[a.id])) == {a.id, a_next.id}
    assert await ids(JobFilter(status=["completed"])) == {a.id}
    assert await ids(JobFilter(status=["pending"])) == {a_next.id, b.id, b_next.id}
    assert await ids(JobFilter(type_name=["step"])) == {a_next.id, b_next.id}
    assert await ids(JobFilter(chain_type_name=["root-b"])) == {b.id, b_next.id}
    assert await ids(JobFilter(job_id=[b_next.id, "missing"])) == {b_next.id}
    assert await ids(JobFilter(job_id=[a.id, b.id], chain_id=[b.id])) == {b.id}
    assert await ids(JobFilter(type_name=["step"], chain_type_name=["root-a"])) == {a_next.id}


async def test_list_jobs_paginates(state_adapter: Adapter) -> None:
    jobs = [await create_job(state_adapter) for _ in range(4)]
    pages = await all_pages(state_adapter.list_jobs, filter=JobFilter(), limit=2)
    assert [len(p) for p in pages] == [2, 2]
    assert [j.id for p in pages for j in p] == by_created(jobs, "desc")


async def test_list_jobs_sorts_ascending(state_adapter: Adapter) -> None:
    jobs = await _three_spaced_chains(state_adapter)
    page = await state_adapter.list_jobs(filter=JobFilter(), order_direction="asc", limit=10)
    assert [j.id for j in page.items] == [j.id for j in jobs]


async def test_list_jobs_filters_by_date_range(state_adapter: Adapter) -> None:
    early = await create_job(state_adapter)
    await clock_passes(early.created_at, margin_ms=5)
    midpoint = now()
    await clock_passes(midpoint, margin_ms=5)
    late = await create_job(state_adapter)
    after = await state_adapter.list_jobs(filter=JobFilter(from_=midpoint), limit=10)
    assert [j.id for j in after.items] == [late.id]
    before = await state_adapter.list_jobs(filter=JobFilter(to=midpoint), limit=10)
    assert [j.id for j in before.items] == [early.id]


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_list_jobs_paginates_rows_sharing_created_at(state_adapter: Adapter, order: OrderDirection) -> None:
    created = await create(state_adapter, *(root("same-time") for _ in range(20)))
    more = await create(state_adapter, *(root("other-time") for _ in range(5)))
    jobs = [c.job for c in created + more]
    for limit in (1, 3, 6):
        pages = await all_pages(state_adapter.list_jobs, filter=JobFilter(), order_direction=order, limit=limit)
        assert [j.id for p in pages for j in p] == by_created(jobs, order)
    filtered = await all_pages(
        state_adapter.list_jobs, filter=JobFilter(type_name=["same-time"]), order_direction=order, limit=3
    )
    assert [j.id for p in filtered for j in p] == by_created([c.job for c in created], order)


async def test_list_rejects_bad_cursors_and_limits(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter)
    await create_job(state_adapter, continuation(first))
    await create_job(state_adapter, continuation(first, chain_index=2))
    chain_page = await state_adapter.list_chain_jobs(first.id, limit=1)
    assert chain_page.next_cursor is not None
    await create_job(state_adapter)
    jobs_page = await state_adapter.list_jobs(filter=JobFilter(), limit=1)
    assert jobs_page.next_cursor is not None
    with pytest.raises(InvalidCursorError):
        await state_adapter.list_jobs(filter=JobFilter(), cursor=chain_page.next_cursor)
    with pytest.raises(InvalidCursorError):
        await state_adapter.list_chains(filter=ChainFilter(), cursor=chain_page.next_cursor)
    with pytest.raises(InvalidCursorError):
        await state_adapter.list_blocked_jobs(first.id, cursor=chain_page.next_cursor)
    with pytest.raises(InvalidCursorError):
        await state_adapter.list_chain_jobs(first.id, cursor=jobs_page.next_cursor)
    with pytest.raises(InvalidCursorError):
        await state_adapter.list_jobs(filter=JobFilter(), cursor="garbage!")
    with pytest.raises(ValueError, match="limit"):
        await state_adapter.list_jobs(filter=JobFilter(), limit=0)


# --- listChainJobs / listBlockedJobs ----------------------------------------------------


async def test_list_chain_jobs_of_unknown_chain_is_empty(state_adapter: Adapter) -> None:
    assert await state_adapter.list_chain_jobs("missing") == Page([], None)


async def _chain_of(adapter: Adapter, length: int) -> list[StateJob]:
    jobs = [await create_job(adapter, root("chain"))]
    for _ in range(length - 1):
        jobs.append(await create_job(adapter, continuation(jobs[-1])))
    return jobs


async def test_list_chain_jobs_by_chain_index(state_adapter: Adapter) -> None:
    jobs = await _chain_of(state_adapter, 3)
    asc = await state_adapter.list_chain_jobs(jobs[0].id)
    assert [j.chain_index for j in asc.items] == [0, 1, 2]
    desc = await state_adapter.list_chain_jobs(jobs[0].id, order_direction="desc")
    assert [j.chain_index for j in desc.items] == [2, 1, 0]


async def test_list_chain_jobs_paginates(state_adapter: Adapter) -> None:
    jobs = await _chain_of(state_adapter, 5)
    for order, expected in (("asc", [[0, 1], [2, 3], [4]]), ("desc", [[4, 3], [2, 1], [0]])):
        pages = await all_pages(state_adapter.list_chain_jobs, jobs[0].id, order_direction=order, limit=2)
        assert [[j.chain_index for j in p] for p in pages] == expected


async def test_list_chain_jobs_only_that_chain(state_adapter: Adapter) -> None:
    a = await _chain_of(state_adapter, 2)
    await _chain_of(state_adapter, 3)
    page = await state_adapter.list_chain_jobs(a[0].id)
    assert [j.id for j in page.items] == [j.id for j in a]


async def test_list_blocked_jobs(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    other = await create_job(state_adapter, root("other"))
    main = await create_job(state_adapter, root("main"))
    await add_blockers(state_adapter, main, blocker.id)
    page = await state_adapter.list_blocked_jobs(blocker.id)
    assert [j.id for j in page.items] == [main.id]
    assert (await state_adapter.list_blocked_jobs(other.id)).items == []
    # Blocker rows outlive the blocking: dependents stay listed in any status.
    await complete(state_adapter, blocker)
    await state_adapter.unblock_jobs(blocker.id)
    await complete(state_adapter, main)
    again = await state_adapter.list_blocked_jobs(blocker.id)
    assert [(j.id, j.status) for j in again.items] == [(main.id, "completed")]


async def test_list_blocked_jobs_order_and_pagination(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    dependents: list[StateJob] = []
    for _ in range(4):
        if dependents:
            await clock_passes(dependents[-1].created_at, margin_ms=2)
        dependents.append(await create_job(state_adapter, root("dep")))
        await add_blockers(state_adapter, dependents[-1], blocker.id)
    desc = await state_adapter.list_blocked_jobs(blocker.id)
    assert [j.id for j in desc.items] == [j.id for j in reversed(dependents)]
    asc = await state_adapter.list_blocked_jobs(blocker.id, order_direction="asc")
    assert [j.id for j in asc.items] == [j.id for j in dependents]
    pages = await all_pages(state_adapter.list_blocked_jobs, blocker.id, limit=2)
    assert [len(p) for p in pages] == [2, 2]
    assert len({j.id for p in pages for j in p}) == 4


# --- withSavepoint ----------------------------------------------------------------------


async def test_savepoint_commits_on_success(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter)

    async def body(tx: Any) -> None:
        await state_adapter.with_savepoint(
            tx, lambda sp: state_adapter.complete_job(job.id, output="saved", worker_id=None, tx_ctx=sp)
        )

    await state_adapter.with_transaction(body)
    assert (await get(state_adapter, job.id)).output == "saved"


async def test_savepoint_rolls_back_on_error(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter)

    async def inner(sp: Any) -> None:
        await state_adapter.complete_job(job.id, output="lost", worker_id=None, tx_ctx=sp)
        raise Rollback

    async def body(tx: Any) -> None:
        with pytest.raises(Rollback):
            await state_adapter.with_savepoint(tx, inner)
        assert (await state_adapter.get_job(job.id, tx_ctx=tx)) == job

    await state_adapter.with_transaction(body)
    after = await get(state_adapter, job.id)
    assert after.status == "pending"
    assert after.output is None


async def test_savepoint_failure_keeps_outer_work(state_adapter: Adapter) -> None:
    async def inner(sp: Any) -> None:
        await state_adapter.create_jobs([root("inside")], tx_ctx=sp)
        raise Rollback

    async def body(tx: Any) -> tuple[StateJob, StateJob]:
        [before] = await state_adapter.create_jobs([root("before")], tx_ctx=tx)
        with pytest.raises(Rollback):
            await state_adapter.with_savepoint(tx, inner)
        [after] = await state_adapter.create_jobs([root("after")], tx_ctx=tx)
        return before.job, after.job

    before, after = await state_adapter.with_transaction(body)
    assert await state_adapter.get_job(before.id) is not None
    assert await state_adapter.get_job(after.id) is not None
    assert (await state_adapter.list_jobs(filter=JobFilter(type_name=["inside"]))).items == []


async def test_nested_savepoints(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("nested"))

    async def innermost(sp: Any) -> None:
        await state_adapter.reschedule_job(job.id, schedule=ScheduleAfter(after_ms=60_000), error="inner", tx_ctx=sp)
        raise Rollback

    async def outer(sp: Any) -> None:
        await state_adapter.complete_job(job.id, output="outer", worker_id=None, tx_ctx=sp)
        with pytest.raises(Rollback):
            await state_adapter.with_savepoint(sp, innermost)

    async def body(tx: Any) -> None:
        await state_adapter.with_savepoint(tx, outer)

    await state_adapter.with_transaction(body)
    after = await get(state_adapter, job.id)
    assert after.status == "completed"
    assert after.output == "outer"
    assert after.last_attempt_error is None


async def test_nested_savepoints_outer_rollback_undoes_released_inner(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("nested"))

    async def inner(sp: Any) -> None:
        await state_adapter.complete_job(job.id, output="inner", worker_id=None, tx_ctx=sp)

    async def outer(sp: Any) -> None:
        await state_adapter.with_savepoint(sp, inner)
        await state_adapter.create_jobs([root("nested-extra")], tx_ctx=sp)
        raise Rollback

    async def body(tx: Any) -> None:
        with pytest.raises(Rollback):
            await state_adapter.with_savepoint(tx, outer)

    await state_adapter.with_transaction(body)
    assert (await get(state_adapter, job.id)).status == "pending"
    assert (await state_adapter.list_jobs(filter=JobFilter(type_name=["nested-extra"]))).items == []
    assert (await acquire(state_adapter, "nested")).job is not None


async def test_savepoint_reraises_the_original_error(state_adapter: Adapter) -> None:
    error = Rollback("original message")

    async def inner(sp: Any) -> None:
        raise error

    async def body(tx: Any) -> None:
        with pytest.raises(Rollback) as info:
            await state_adapter.with_savepoint(tx, inner)
        assert info.value is error
        assert str(info.value) == "original message"

    await state_adapter.with_transaction(body)


async def test_savepoint_returns_result(state_adapter: Adapter) -> None:
    async def inner(sp: Any) -> int:
        return 7

    assert await state_adapter.with_transaction(lambda tx: state_adapter.with_savepoint(tx, inner)) == 7


# --- concurrency ------------------------------------------------------------------------


async def test_parallel_transactions_all_commit(state_adapter: Adapter) -> None:
    results = await asyncio.wait_for(
        asyncio.gather(*(create(state_adapter, root("parallel", input=i)) for i in range(5))), TIMEOUT
    )
    ids = {r[0].job.id for r in results}
    assert len(ids) == 5
    for job_id in ids:
        assert await state_adapter.get_job(job_id) is not None


async def test_parallel_reads(state_adapter: Adapter) -> None:
    jobs = [c.job for c in await create(state_adapter, *(root(input=i) for i in range(10)))]
    found = await asyncio.wait_for(asyncio.gather(*(state_adapter.get_job(j.id) for j in jobs)), TIMEOUT)
    assert found == jobs


async def test_parallel_transactions_and_reads_do_not_deadlock(state_adapter: Adapter) -> None:
    existing = await create_job(state_adapter)
    writes = [create(state_adapter, root(input=i)) for i in range(3)]
    reads = [state_adapter.get_job(existing.id) for _ in range(5)]
    results = await asyncio.wait_for(asyncio.gather(*writes, *reads), TIMEOUT)
    assert len(results) == 8


async def test_parallel_acquires_never_double_dispatch(state_adapter: Adapter) -> None:
    await create(state_adapter, *(root("race") for _ in range(5)))
    results = await asyncio.wait_for(asyncio.gather(*(acquire(state_adapter, "race") for _ in range(7))), TIMEOUT)
    acquired = [r.job.id for r in results if r.job is not None]
    assert len(acquired) == 5
    assert len(set(acquired)) == 5


async def test_parallel_non_transactional_acquires_never_double_dispatch(state_adapter: Adapter) -> None:
    await create(state_adapter, *(root("race") for _ in range(20)))
    results = await asyncio.wait_for(asyncio.gather(*(state_adapter.acquire_job(["race"]) for _ in range(25))), TIMEOUT)
    acquired = [r.job.id for r in results if r.job is not None]
    assert len(acquired) == 20
    assert len(set(acquired)) == 20


async def _race_blocker_against_completion(adapter: Adapter) -> StateJob:
    blocker = await create_job(adapter, root("race-blocker"))

    async def start_main(tx: Any) -> StateJob:
        [main] = await adapter.create_jobs([root("race-main")], tx_ctx=tx)
        params = JobBlockersParams(job_id=main.job.id, blocked_by_chain_ids=[blocker.id])
        await adapter.add_jobs_blockers([params], tx_ctx=tx)
        return main.job

    async def finish_blocker(tx: Any) -> None:
        await adapter.complete_job(blocker.id, output=None, worker_id=None, tx_ctx=tx)
        await adapter.unblock_jobs(blocker.id, tx_ctx=tx)

    main, _ = await asyncio.gather(adapter.with_transaction(start_main), adapter.with_transaction(finish_blocker))
    return main


async def test_blocked_start_racing_blocker_completion_is_never_stranded(state_adapter: Adapter) -> None:
    for _ in range(20):
        main = await asyncio.wait_for(_race_blocker_against_completion(state_adapter), TIMEOUT)
        assert (await get(state_adapter, main.id)).status != "blocked"


async def test_dedup_is_race_free_across_transactions(state_adapter: Adapter) -> None:
    results = await asyncio.wait_for(
        asyncio.gather(
            *(create(state_adapter, root(deduplication=DeduplicationOptions(key="race"))) for _ in range(5))
        ),
        TIMEOUT,
    )
    assert len({r[0].job.id for r in results}) == 1
    assert [r[0].deduplicated for r in results].count(False) == 1


# --- read isolation ---------------------------------------------------------------------


async def observe_during_uncommitted(
    adapter: Adapter, mutate: Callable[[Any], Awaitable[object]], observe: Callable[[], Coroutine[Any, Any, ResultT]]
) -> ResultT:
    """Run `observe()` (no tx) while a transaction holds an uncommitted change, then roll that back."""
    changed = asyncio.Event()
    gate = asyncio.Event()

    async def body(tx: Any) -> None:
        await mutate(tx)
        changed.set()
        await gate.wait()
        raise Rollback

    tx_task = asyncio.create_task(adapter.with_transaction(body))
    await asyncio.wait_for(changed.wait(), TIMEOUT)
    observer = asyncio.create_task(observe())
    await settle()
    gate.set()
    with pytest.raises(Rollback):
        await asyncio.wait_for(tx_task, TIMEOUT)
    return await asyncio.wait_for(observer, TIMEOUT)


async def test_isolation_get_job_misses_uncommitted_insert(state_adapter: Adapter) -> None:
    params = root("iso", id="uncommitted-insert")
    seen = await observe_during_uncommitted(
        state_adapter,
        lambda tx: state_adapter.create_jobs([params], tx_ctx=tx),
        lambda: state_adapter.get_job("uncommitted-insert"),
    )
    assert seen is None


async def test_isolation_get_job_misses_uncommitted_status_update(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("iso"))
    seen = await observe_during_uncommitted(
        state_adapter, lambda tx: state_adapter.acquire_job(["iso"], tx_ctx=tx), lambda: state_adapter.get_job(job.id)
    )
    assert seen is not None
    assert seen.status == "pending"


async def test_isolation_list_jobs_misses_uncommitted_insert(state_adapter: Adapter) -> None:
    seen = await observe_during_uncommitted(
        state_adapter,
        lambda tx: state_adapter.create_jobs([root("iso")], tx_ctx=tx),
        lambda: state_adapter.list_jobs(filter=JobFilter(type_name=["iso"])),
    )
    assert seen.items == []


async def test_isolation_get_job_blockers_misses_uncommitted_blocker(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    main = await create_job(state_adapter, root("main"))
    params = JobBlockersParams(job_id=main.id, blocked_by_chain_ids=[blocker.id])
    seen = await observe_during_uncommitted(
        state_adapter,
        lambda tx: state_adapter.add_jobs_blockers([params], tx_ctx=tx),
        lambda: state_adapter.get_job_blockers(main.id),
    )
    assert seen == []


async def test_isolation_get_job_misses_uncommitted_delete(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter)
    seen = await observe_during_uncommitted(
        state_adapter,
        lambda tx: state_adapter.delete_chains([job.id], tx_ctx=tx),
        lambda: state_adapter.get_job(job.id),
    )
    assert seen == job


async def test_isolation_get_chain_misses_uncommitted_chain(state_adapter: Adapter) -> None:
    seen = await observe_during_uncommitted(
        state_adapter,
        lambda tx: state_adapter.create_jobs([root(id="uncommitted-chain")], tx_ctx=tx),
        lambda: state_adapter.get_chain("uncommitted-chain"),
    )
    assert seen is None


async def test_isolation_next_available_misses_uncommitted_insert(state_adapter: Adapter) -> None:
    seen = await observe_during_uncommitted(
        state_adapter,
        lambda tx: state_adapter.create_jobs([root("iso")], tx_ctx=tx),
        lambda: state_adapter.get_next_job_available_in_ms(["iso"]),
    )
    assert seen is None


async def test_isolation_locked_get_job_without_tx_misses_uncommitted_update(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter, root("iso"))
    seen = await observe_during_uncommitted(
        state_adapter,
        lambda tx: state_adapter.acquire_job(["iso"], tx_ctx=tx),
        lambda: state_adapter.get_job(job.id, lock="exclusive"),
    )
    assert seen is not None
    assert (seen.status, seen.attempt) == ("pending", 0)


async def test_isolation_locked_get_chain_without_tx_misses_uncommitted_continuation(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter)
    seen = await observe_during_uncommitted(
        state_adapter,
        lambda tx: state_adapter.create_jobs([continuation(first)], tx_ctx=tx),
        lambda: state_adapter.get_chain(first.id, lock="exclusive"),
    )
    assert seen == StateChain(first, None)


async def test_isolation_list_chains_misses_uncommitted_chain(state_adapter: Adapter) -> None:
    seen = await observe_during_uncommitted(
        state_adapter,
        lambda tx: state_adapter.create_jobs([root("iso")], tx_ctx=tx),
        lambda: state_adapter.list_chains(filter=ChainFilter(type_name=["iso"])),
    )
    assert seen.items == []


async def test_isolation_list_chain_jobs_misses_uncommitted_continuation(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter)
    seen = await observe_during_uncommitted(
        state_adapter,
        lambda tx: state_adapter.create_jobs([continuation(first)], tx_ctx=tx),
        lambda: state_adapter.list_chain_jobs(first.id),
    )
    assert [j.id for j in seen.items] == [first.id]


async def test_isolation_list_blocked_jobs_misses_uncommitted_blocker(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter, root("blocker"))
    main = await create_job(state_adapter, root("main"))
    params = JobBlockersParams(job_id=main.id, blocked_by_chain_ids=[blocker.id])
    seen = await observe_during_uncommitted(
        state_adapter,
        lambda tx: state_adapter.add_jobs_blockers([params], tx_ctx=tx),
        lambda: state_adapter.list_blocked_jobs(blocker.id),
    )
    assert seen.items == []


# --- close ------------------------------------------------------------------------------


async def test_close_is_idempotent_and_later_calls_raise(state_adapter: Adapter) -> None:
    job = await create_job(state_adapter)
    await state_adapter.close()
    await state_adapter.close()

    async def noop(tx: Any) -> None:
        return None

    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: state_adapter.with_transaction(noop),
        lambda: state_adapter.get_job(job.id),
        lambda: state_adapter.get_chain(job.id),
        lambda: state_adapter.create_jobs([root()]),
        lambda: state_adapter.create_jobs([]),
        lambda: state_adapter.add_jobs_blockers([JobBlockersParams(job_id=job.id, blocked_by_chain_ids=[])]),
        lambda: state_adapter.unblock_jobs(job.id),
        lambda: state_adapter.get_job_blockers(job.id),
        lambda: state_adapter.get_next_job_available_in_ms(["t"]),
        lambda: state_adapter.acquire_job(["t"]),
        lambda: state_adapter.renew_job_lease(job.id, worker_id="w", lease_duration_ms=1),
        lambda: state_adapter.reschedule_job(job.id, schedule=ScheduleAfter(after_ms=0), error=None),
        lambda: state_adapter.complete_job(job.id, output=None, worker_id=None),
        lambda: state_adapter.reap_expired_job_lease(["t"]),
        lambda: state_adapter.delete_chains([job.id]),
        lambda: state_adapter.list_chains(filter=ChainFilter()),
        lambda: state_adapter.list_jobs(filter=JobFilter()),
        lambda: state_adapter.list_chain_jobs(job.id),
        lambda: state_adapter.list_blocked_jobs(job.id),
        lambda: state_adapter.trigger_jobs([job.id]),
    ]
    for call in calls:
        with pytest.raises(AdapterClosedError) as info:
            await call()
        assert info.value.adapter == "InProcessStateAdapter"


async def test_close_inside_transaction_fails_its_later_calls(state_adapter: Adapter) -> None:
    async def body(tx: Any) -> None:
        await state_adapter.create_jobs([root()], tx_ctx=tx)
        await state_adapter.close()
        await state_adapter.create_jobs([root()], tx_ctx=tx)

    with pytest.raises(AdapterClosedError):
        await state_adapter.with_transaction(body)


async def test_async_context_manager_closes() -> None:
    async with await create_in_process_state_adapter() as adapter:
        await adapter.create_jobs([root()])
    with pytest.raises(AdapterClosedError):
        await adapter.get_job("x")


# --- in-process specifics ---------------------------------------------------------------


async def test_invalid_caller_id_raises_before_any_write() -> None:
    adapter = await create_in_process_state_adapter(validate_id=validate_uuid)
    good = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
    with pytest.raises(InvalidJobIdError) as info:
        await create(adapter, root(id=good), root(id="not-a-uuid"))
    assert (info.value.id, info.value.source) == ("not-a-uuid", "caller")
    assert await adapter.get_job(good) is None
    job = await create_job(adapter, root(id=good))
    assert job.id == good
    generated = await create_job(adapter)
    assert validate_uuid(generated.id)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("3f2504e0-4f89-41d3-9a0c-0305e82c3301", True),
        (str(uuid.uuid4()), True),
        ("3F2504E0-4F89-41D3-9A0C-0305E82C3301", False),
        ("{3f2504e0-4f89-41d3-9a0c-0305e82c3301}", False),
        ("3f2504e04f8941d39a0c0305e82c3301", False),
        ("3f2504e0-4f89-41d3-9a0c-0305e82c330", False),
        ("3f2504e0-4f89-41d3-9a0c-0305e82c330g", False),
        ("", False),
    ],
)
def test_validate_uuid_accepts_only_the_canonical_form(value: str, valid: bool) -> None:
    assert validate_uuid(value) is valid


def test_default_generate_id_makes_distinct_valid_uuids() -> None:
    ids = {generate_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(validate_uuid(i) for i in ids)


async def test_invalid_generated_id_raises_with_generator_source() -> None:
    adapter = await create_in_process_state_adapter(generate_id=lambda: "bad", validate_id=validate_uuid)
    with pytest.raises(InvalidJobIdError) as info:
        await create_job(adapter)
    assert (info.value.id, info.value.source) == ("bad", "generator")


async def test_custom_generate_id_is_used() -> None:
    counter = iter(range(100))
    adapter = await create_in_process_state_adapter(generate_id=lambda: f"job-{next(counter)}")
    jobs = [c.job for c in await create(adapter, root(), root())]
    assert [j.id for j in jobs] == ["job-0", "job-1"]


async def test_generated_id_collision_raises() -> None:
    adapter = await create_in_process_state_adapter(generate_id=lambda: "always-the-same")
    await create_job(adapter)
    with pytest.raises(DuplicateJobIdError):
        await create_job(adapter)


async def test_continuation_of_missing_chain_raises(state_adapter: Adapter) -> None:
    params = CreateJobParams(type_name="t", chain_type_name="t", chain_id="no-such-chain", chain_index=1, input=None)
    with pytest.raises(ChainNotFoundError) as info:
        await state_adapter.create_jobs([params])
    assert info.value.chain_id == "no-such-chain"


async def test_missing_blocker_chain_keeps_job_blocked(state_adapter: Adapter) -> None:
    main = await create_job(state_adapter, root("main"))
    result = await add_blockers(state_adapter, main, "ghost-chain")
    assert result.job.status == "blocked"
    assert result.incomplete_blocker_chain_ids == ("ghost-chain",)
    assert result.blocker_chain_trace_contexts == (None,)
    assert await state_adapter.get_job_blockers(main.id) == []
    assert (await state_adapter.unblock_jobs("ghost-chain")).unblocked_jobs == ()
    assert (await get(state_adapter, main.id)).status == "blocked"


async def test_same_blocker_twice_is_rejected(state_adapter: Adapter) -> None:
    blocker = await create_job(state_adapter)
    main = await create_job(state_adapter)
    with pytest.raises(ValueError, match="already lists"):
        await add_blockers(state_adapter, main, blocker.id, blocker.id)
    assert await state_adapter.get_job_blockers(main.id) == []
    assert (await get(state_adapter, main.id)).status == "pending"


async def test_get_chain_of_continuation_id_is_none(state_adapter: Adapter) -> None:
    first = await create_job(state_adapter)
    nxt = await create_job(state_adapter, continuation(first))
    assert await state_adapter.get_chain(nxt.id) is None


async def test_returned_jobs_are_immutable_snapshots(state_adapter: Adapter) -> None:
    payload: dict[str, JsonValue] = {"items": [1, 2]}
    job = await create_job(state_adapter, root("snap", input=payload))
    payload["items"] = []  # the caller keeps mutating its own object
    snapshot = await get(state_adapter, job.id)
    await acquire(state_adapter, "snap")
    await complete(state_adapter, job, output={"done": True})
    assert snapshot.status == "pending"
    assert snapshot.output is None
    assert snapshot.input == {"items": [1, 2]}
    assert job.status == "pending"
    with pytest.raises(AttributeError):
        snapshot.status = "completed"  # type: ignore[misc]


async def test_non_json_input_is_rejected(state_adapter: Adapter) -> None:
    with pytest.raises(TypeError):
        await state_adapter.create_jobs([root(input={"when": now()})])  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="JSON"):
        await state_adapter.create_jobs([root(input=float("nan"))])
    assert (await state_adapter.list_jobs(filter=JobFilter())).items == []


async def test_tx_ctx_after_transaction_end_raises(state_adapter: Adapter) -> None:
    leaked: list[Any] = []

    async def body(tx: Any) -> None:
        leaked.append(tx)

    await state_adapter.with_transaction(body)
    assert not leaked[0].active
    with pytest.raises(RuntimeError, match="already ended"):
        await state_adapter.create_jobs([root()], tx_ctx=leaked[0])
    with pytest.raises(RuntimeError, match="already ended"):
        await state_adapter.get_job("x", tx_ctx=leaked[0])
    with pytest.raises(RuntimeError, match="already ended"):
        await state_adapter.with_savepoint(leaked[0], body)


async def test_tx_ctx_of_another_adapter_is_rejected(state_adapter: Adapter) -> None:
    other = await create_in_process_state_adapter()

    async def body(tx: Any) -> None:
        with pytest.raises(ValueError, match="another"):
            await state_adapter.get_job("x", tx_ctx=tx)

    await other.with_transaction(body)
    with pytest.raises(TypeError):
        await state_adapter.get_job("x", tx_ctx=object())


async def test_tx_ctx_is_usable_from_another_task(state_adapter: Adapter) -> None:
    async def body(tx: Any) -> StateJob:
        task = asyncio.create_task(state_adapter.create_jobs([root("other-task")], tx_ctx=tx))
        return (await task)[0].job

    job = await asyncio.wait_for(state_adapter.with_transaction(body), TIMEOUT)
    assert await state_adapter.get_job(job.id) is not None


async def test_call_without_tx_inside_own_transaction_raises_instead_of_deadlocking(state_adapter: Adapter) -> None:
    async def body(tx: Any) -> None:
        with pytest.raises(RuntimeError, match="inside one of its own transactions"):
            await state_adapter.get_job("x")
        with pytest.raises(RuntimeError, match="inside one of its own transactions"):
            await state_adapter.with_transaction(body)

    await asyncio.wait_for(state_adapter.with_transaction(body), TIMEOUT)


async def test_acquire_order_with_many_jobs(state_adapter: Adapter) -> None:
    rng = random.Random(1234)
    base = now() - timedelta(hours=1)
    params = [
        root(f"bulk-{rng.randrange(3)}", input=i, schedule=ScheduleAt(at=base + timedelta(seconds=rng.randrange(600))))
        for i in range(600)
    ]
    # Past schedules clamp to now, so every job ends up due now; ties break by creation order.
    created = [c.job for c in await state_adapter.create_jobs(params)]
    await create(state_adapter, *(root("bulk-0", schedule=ScheduleAfter(after_ms=60_000)) for _ in range(10)))
    triggered_late = created[::7]
    for job in triggered_late:
        await state_adapter.reschedule_job(job.id, schedule=ScheduleAfter(after_ms=0), error=None)
    order: list[str] = []
    while True:
        acquired = await state_adapter.acquire_job(["bulk-0", "bulk-1", "bulk-2"])
        if acquired.job is None:
            break
        order.append(acquired.job.id)
    late_ids = {j.id for j in triggered_late}
    expected = [j.id for j in created if j.id not in late_ids] + [j.id for j in triggered_late]
    assert order == expected
    assert await state_adapter.get_next_job_available_in_ms(["bulk-0"]) is not None


async def test_adapter_is_an_in_process_state_adapter(state_adapter: Adapter) -> None:
    assert isinstance(state_adapter, InProcessStateAdapter)
