"""createJobs: ids, chains, deduplication, scheduling, batches."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

from ...._entities import JsonValue, ScheduleAfter, ScheduleAt
from ....errors import DuplicateJobIdError, InvalidJobIdError
from .._support import assert_near, clock_passes, now, raises, skip, wait_for
from ._common import Context, StateGroup, complete, continuation, create, create_job, dedup, get, root

if TYPE_CHECKING:
    from ...._state_adapter import CreatedJob

group = StateGroup("createJobs")


@group.case("assigns chainId correctly for new jobs")
async def _assigns_chain_id(t: Context) -> None:
    job = await create_job(t.adapter)
    assert job.chain_id == job.id
    assert job.chain_index == 0


@group.case("preserves provided chainId")
async def _preserves_chain_id(t: Context) -> None:
    first = await create_job(t.adapter)
    second = await create_job(t.adapter, continuation(first))
    assert second.chain_id == first.id
    assert second.chain_index == 1
    assert second.chain_type_name == first.chain_type_name


@group.case("generates unique job IDs")
async def _unique_ids(t: Context) -> None:
    created = await create(t.adapter, *(root(input={"i": i}) for i in range(10)))
    assert len({c.job.id for c in created}) == 10


@group.case("persists and retrieves jobs correctly")
async def _persists(t: Context) -> None:
    job = await create_job(t.adapter, root("persist", input={"nested": {"list": [1, 2], "s": "x"}}))
    stored = await get(t.adapter, job.id)
    assert stored.id == job.id
    assert stored.type_name == "persist"
    assert stored.input == {"nested": {"list": [1, 2], "s": "x"}}
    assert stored.status == "pending"
    assert stored.attempt == 0


@group.case("handles null values correctly")
async def _null_values(t: Context) -> None:
    job = await create_job(t.adapter)
    stored = await get(t.adapter, job.id)
    assert stored.input is None
    assert stored.output is None
    assert stored.completed_at is None
    assert stored.completed_by is None
    assert stored.last_attempt_error is None
    assert stored.last_attempt_at is None
    assert stored.leased_by is None
    assert stored.leased_until is None
    assert stored.deduplication_key is None
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


@group.case("handles complex JSON input/output")
async def _complex_json(t: Context) -> None:
    for value in COMPLEX_JSON:
        job = await create_job(t.adapter, root(input=value))
        assert (await get(t.adapter, job.id)).input == value, f"input {value!r} did not round-trip"
        await complete(t.adapter, job, output=value)
        assert (await get(t.adapter, job.id)).output == value, f"output {value!r} did not round-trip"


@group.case("deduplicates jobs with same deduplication key")
async def _dedup_same_key(t: Context) -> None:
    first = await create_job(t.adapter, root(deduplication=dedup("k1")))
    [again] = await create(t.adapter, root(deduplication=dedup("k1")))
    assert again.deduplicated
    assert again.job.id == first.id
    [other] = await create(t.adapter, root(deduplication=dedup("k2")))
    assert not other.deduplicated
    assert other.job.id != first.id
    assert (await get(t.adapter, first.id)).deduplication_key == "k1"


@group.case("deduplicates continuation with same chain_index")
async def _dedup_continuation(t: Context) -> None:
    first = await create_job(t.adapter)
    original = await create_job(t.adapter, continuation(first, input={"v": "original"}))
    [again] = await create(t.adapter, continuation(first, input={"v": "second"}))
    assert again.deduplicated
    assert again.job.id == original.id
    assert again.job.input == {"v": "original"}


@group.case("deduplicates concurrent continuations with same chain_index")
async def _dedup_concurrent_continuations(t: Context) -> None:
    first = await create_job(t.adapter)

    async def create_next() -> CreatedJob:
        return (await create(t.adapter, continuation(first)))[0]

    a, b = await wait_for(asyncio.gather(create_next(), create_next()), "two concurrent continuations")
    assert a.job.id == b.job.id
    assert [a.deduplicated, b.deduplicated].count(True) == 1


@group.case("assigns sequential chain_index values")
async def _sequential_chain_index(t: Context) -> None:
    first = await create_job(t.adapter)
    second = await create_job(t.adapter, continuation(first))
    await complete(t.adapter, second)
    third = await create_job(t.adapter, continuation(second))
    assert [first.chain_index, second.chain_index, third.chain_index] == [0, 1, 2]


@group.case("deduplication scope 'incomplete' does not match completed jobs")
async def _scope_incomplete(t: Context) -> None:
    first = await create_job(t.adapter, root(deduplication=dedup("k")))
    await complete(t.adapter, first)
    [any_scope] = await create(t.adapter, root(deduplication=dedup("k", scope="any")))
    assert any_scope.deduplicated
    assert any_scope.job.id == first.id
    [incomplete] = await create(t.adapter, root(deduplication=dedup("k")))
    assert not incomplete.deduplicated
    assert incomplete.job.id != first.id


@group.case("excludeChainIds skips specified chains during deduplication")
async def _exclude_chain_ids(t: Context) -> None:
    first = await create_job(t.adapter, root(deduplication=dedup("k")))
    [matched] = await create(t.adapter, root(deduplication=dedup("k")))
    assert matched.deduplicated
    [excluded] = await create(t.adapter, root(deduplication=dedup("k", exclude_chain_ids=[first.chain_id])))
    assert not excluded.deduplicated
    assert excluded.job.id != first.id


@group.case("creates job with schedule options")
async def _schedule_options(t: Context) -> None:
    before = now()
    after_job = await create_job(t.adapter, root(schedule=ScheduleAfter(after_ms=5000)))
    delta_ms = (after_job.scheduled_at - before).total_seconds() * 1000
    assert 4900 <= delta_ms < 6000, f"after_ms=5000 put scheduled_at {delta_ms:.0f} ms ahead"
    at = now() + timedelta(seconds=60)
    at_job = await create_job(t.adapter, root(schedule=ScheduleAt(at=at)))
    assert_near(at_job.scheduled_at, at)


@group.case("clamps past schedule.at to now (scheduled_at is eligibility floor, never a past lie)")
async def _clamps_past_at(t: Context) -> None:
    past = now() - timedelta(hours=1)
    job = await create_job(t.adapter, root(schedule=ScheduleAt(at=past)))
    assert job.scheduled_at - past > timedelta(minutes=30)
    assert_near(job.scheduled_at, now(), 60_000)


@group.case("stores and retrieves traceContext and chainTraceContext")
async def _trace_contexts(t: Context) -> None:
    job = await create_job(t.adapter, root(chain_trace_context="chain-ctx", trace_context="not-a-traceparent"))
    stored = await get(t.adapter, job.id)
    assert stored.chain_trace_context == "chain-ctx"
    assert stored.trace_context == "not-a-traceparent"


@group.case("stores and retrieves dates correctly")
async def _dates(t: Context) -> None:
    job = await create_job(t.adapter)
    stored = await get(t.adapter, job.id)
    assert stored.created_at.utcoffset() == timedelta(0), "created_at must be timezone-aware UTC"
    assert stored.scheduled_at.utcoffset() == timedelta(0), "scheduled_at must be timezone-aware UTC"
    assert_near(stored.created_at, now(), 5000)


@group.case("creates multiple jobs in a single batch")
async def _batch(t: Context) -> None:
    created = await create(t.adapter, root(input=1), root(input=2), root(input=3))
    assert [c.job.input for c in created] == [1, 2, 3]
    assert not any(c.deduplicated for c in created)
    assert all(c.job.status == "pending" and c.job.chain_id == c.job.id for c in created)


@group.case("handles per-row deduplication in a batch")
async def _batch_dedup(t: Context) -> None:
    existing = await create_job(t.adapter, root(deduplication=dedup("old")))
    dup, new = await create(t.adapter, root(deduplication=dedup("old")), root(deduplication=dedup("new")))
    assert dup.deduplicated
    assert dup.job.id == existing.id
    assert not new.deduplicated
    assert new.job.id != existing.id


@group.case("handles per-row continuation deduplication in a batch")
async def _batch_continuation_dedup(t: Context) -> None:
    first = await create_job(t.adapter)
    existing = await create_job(t.adapter, continuation(first))
    dup, new = await create(t.adapter, continuation(first), continuation(first, chain_index=2))
    assert dup.deduplicated
    assert dup.job.id == existing.id
    assert not new.deduplicated
    assert new.job.chain_index == 2


@group.case("deduplication windowMs matches only within time window")
async def _dedup_window(t: Context) -> None:
    options = dedup("window", scope="any", window_ms=100)
    first = await create_job(t.adapter, root(deduplication=options))
    [immediate] = await create(t.adapter, root(deduplication=options))
    assert immediate.deduplicated
    await clock_passes(first.created_at, margin_ms=150)
    [later] = await create(t.adapter, root(deduplication=options))
    assert not later.deduplicated
    assert later.job.id != first.id


@group.case("deduplication windowMs with scope 'incomplete' respects both window and status")
async def _dedup_window_incomplete(t: Context) -> None:
    options = dedup("window", window_ms=5000)
    first = await create_job(t.adapter, root(deduplication=options))
    [inside] = await create(t.adapter, root(deduplication=options))
    assert inside.deduplicated
    await complete(t.adapter, first)
    [again] = await create(t.adapter, root(deduplication=options))
    assert not again.deduplicated


@group.case("returns empty array for empty input")
async def _empty_input(t: Context) -> None:
    assert await t.adapter.create_jobs([]) == []
    assert await t.adapter.with_transaction(lambda tx: t.adapter.create_jobs([], tx_ctx=tx)) == []


@group.case("uses caller-supplied id when provided")
async def _caller_id(t: Context) -> None:
    job_id = t.generate_id()
    job = await create_job(t.adapter, root(id=job_id))
    assert job.id == job_id
    assert job.chain_id == job_id
    next_id = t.generate_id()
    nxt = await create_job(t.adapter, continuation(job, id=next_id))
    assert nxt.id == next_id
    assert nxt.chain_id == job_id


@group.case("rejects caller-supplied id that fails validateId")
async def _invalid_caller_id(t: Context) -> None:
    if t.generate_invalid_id is None:
        raise skip("the fixture has no generate_invalid_id")
    bad = t.generate_invalid_id()
    good = t.generate_id()
    with raises(InvalidJobIdError) as caught:
        await create(t.adapter, root(id=good), root(id=bad))
    assert caught.value.id == bad
    assert caught.value.source == "caller"
    assert await t.adapter.get_job(good) is None


@group.case("dedup wins over caller-supplied id")
async def _dedup_wins_over_caller_id(t: Context) -> None:
    first = await create_job(t.adapter, root(deduplication=dedup("k")))
    fresh = t.generate_id()
    [again] = await create(t.adapter, root(id=fresh, deduplication=dedup("k")))
    assert again.deduplicated
    assert again.job.id == first.id
    assert await t.adapter.get_job(fresh) is None


# --- additions of this port -------------------------------------------------------------


@group.case("the same deduplication key under another chain type does not match", upstream=False)
async def _dedup_scoped_to_chain_type(t: Context) -> None:
    first = await create_job(t.adapter, root("type-a", deduplication=dedup("k")))
    [other] = await create(t.adapter, root("type-b", deduplication=dedup("k")))
    assert not other.deduplicated
    assert other.job.id != first.id


@group.case(
    "deduplication scope 'incomplete' is chain-level: a chain whose root continued still matches", upstream=False
)
async def _dedup_chain_level(t: Context) -> None:
    first = await create_job(t.adapter, root(deduplication=dedup("k")))
    # The root hands off to a continuation: the root is completed but the chain is not.
    nxt = await create_job(t.adapter, continuation(first))
    await complete(t.adapter, first)
    [while_open] = await create(t.adapter, root(deduplication=dedup("k")))
    assert while_open.deduplicated, "a chain whose newest job is not completed must still deduplicate"
    assert while_open.job.id == first.id
    await complete(t.adapter, nxt, output={"done": True})
    [after_done] = await create(t.adapter, root(deduplication=dedup("k")))
    assert not after_done.deduplicated


@group.case("the newest matching chain wins deduplication", upstream=False)
async def _dedup_newest_wins(t: Context) -> None:
    first = await create_job(t.adapter, root(deduplication=dedup("k")))
    await clock_passes(first.created_at, margin_ms=5)
    [second] = await create(t.adapter, root(deduplication=dedup("k", exclude_chain_ids=[first.id])))
    assert not second.deduplicated
    [third] = await create(t.adapter, root(deduplication=dedup("k", scope="any")))
    assert third.deduplicated
    assert third.job.id == second.job.id


@group.case("a later item of a batch deduplicates onto an earlier item of the same batch", upstream=False)
async def _dedup_within_batch(t: Context) -> None:
    first, second = await create(t.adapter, root(deduplication=dedup("same")), root(deduplication=dedup("same")))
    assert not first.deduplicated
    assert second.deduplicated
    assert second.job.id == first.job.id


@group.case("a caller-supplied id that is already taken raises DuplicateJobIdError", upstream=False)
async def _duplicate_caller_id(t: Context) -> None:
    taken = await create_job(t.adapter, root(id=t.generate_id()))
    fresh = t.generate_id()
    with raises(DuplicateJobIdError) as caught:
        await create(t.adapter, root(id=fresh), root(id=taken.id))
    assert caught.value.id == taken.id
    assert await t.adapter.get_job(fresh) is None


@group.case("a DuplicateJobIdError without a transaction writes nothing", upstream=False)
async def _duplicate_caller_id_no_tx(t: Context) -> None:
    taken = await create_job(t.adapter, root(id=t.generate_id()))
    fresh = t.generate_id()
    with raises(DuplicateJobIdError):
        await t.adapter.create_jobs([root(id=fresh), root(id=taken.id)])
    assert await t.adapter.get_job(fresh) is None


@group.case("an id used twice in one batch is rejected before anything is written", upstream=False)
async def _duplicate_ids_in_batch(t: Context) -> None:
    a, b = t.generate_id(), t.generate_id()
    with raises(DuplicateJobIdError) as caught:
        await create(t.adapter, root(id=a), root(id=b), root(id=a))
    assert caught.value.id == a
    assert await t.adapter.get_job(a) is None
    assert await t.adapter.get_job(b) is None


@group.case("a deduplication hit does not check the caller-supplied id", upstream=False)
async def _dedup_hit_ignores_taken_id(t: Context) -> None:
    first = await create_job(t.adapter, root(deduplication=dedup("k")))
    [again] = await create(t.adapter, root(id=first.id, deduplication=dedup("k")))
    assert again.deduplicated
    assert again.job.id == first.id
