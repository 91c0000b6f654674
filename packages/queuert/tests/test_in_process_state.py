"""The in-process state adapter: the state adapter conformance suite, plus what only this adapter promises.

The contract itself (conformance.md section 2) lives in `queuert.conformance`; this module
runs it through both the pytest binding and the framework-free runner, so the suite is never
dead code and the reference adapter is held to it.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from queuert import (
    AdapterClosedError,
    ChainFilter,
    ChainNotFoundError,
    DuplicateJobIdError,
    InvalidJobIdError,
    JobFilter,
    JsonValue,
    ScheduleAfter,
    ScheduleAt,
    create_in_process_state_adapter,
)
from queuert.adapters import (
    AcquiredJob,
    AddedJobBlockers,
    CreatedJob,
    CreateJobParams,
    JobBlockersParams,
    StateAdapter,
    StateJob,
    generate_id,
    validate_uuid,
)
from queuert.conformance import (
    ConformanceResult,
    StateConformanceFixture,
    run_state_adapter_conformance,
    state_adapter_cases,
)
from queuert.conformance.pytest import StateAdapterConformance

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

Adapter = StateAdapter[Any]

TIMEOUT = 2.0


class TestInProcessStateAdapter(StateAdapterConformance):
    """Every state adapter case, on an adapter that validates ids as UUIDs (so the invalid-id case runs too)."""

    @pytest_asyncio.fixture
    async def state_conformance_fixture(self) -> AsyncIterator[StateConformanceFixture[Any]]:
        adapter = await create_in_process_state_adapter(validate_id=validate_uuid)
        yield StateConformanceFixture(state_adapter=adapter, generate_invalid_id=lambda: "not-a-uuid")
        await adapter.close()


async def delete_everything(adapter: Adapter) -> None:
    """Empty an in-process store through the public contract (it has no truncate)."""
    chain_ids: list[str] = []
    cursor: str | None = None
    while True:
        page = await adapter.list_chains(filter=ChainFilter(), cursor=cursor, limit=500)
        chain_ids += [chain.root.id for chain in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    result = await adapter.delete_chains(chain_ids)
    assert result.blocker_references == ()
    assert (await adapter.list_jobs(filter=JobFilter(), limit=1)).items == []


async def test_framework_free_runner_shares_one_adapter_and_reports_skips() -> None:
    adapters: list[Adapter] = []
    resets = 0

    async def reset() -> None:
        nonlocal resets
        resets += 1
        await delete_everything(adapters[0])

    async def factory() -> StateConformanceFixture[Any]:
        adapter = await create_in_process_state_adapter()
        adapters.append(adapter)
        return StateConformanceFixture(state_adapter=adapter, reset=reset, dispose=adapter.close)

    seen: list[ConformanceResult] = []
    report = await run_state_adapter_conformance(factory, case_timeout_ms=30_000, on_result=seen.append)
    cases = state_adapter_cases()
    assert len(adapters) == 1, "the factory is called once"
    assert report.total == len(cases) == len(seen)
    assert [result.name for result in report.results] == [case.full_name for case in cases]
    skipped = {result.name: result.skip_reason for result in report.results if result.status == "skip"}
    assert set(skipped) == {
        "createJobs > rejects caller-supplied id that fails validateId",
        "withSavepoint > isolates poisoned transaction so outer transaction can continue",
    }
    assert all(
        reason and ("generate_invalid_id" in reason or "poison_transaction" in reason) for reason in skipped.values()
    )
    assert (report.passed, report.failed, report.skipped) == (report.total - 2, 0, 2)
    assert resets == sum(case.reset for case in cases), "reset runs before every case but the close group"
    with pytest.raises(AdapterClosedError):
        await adapters[0].get_job(generate_id())  # disposed


# --- helpers for the in-process-only tests ------------------------------------------------


def root(
    type_name: str = "test-job", *, input: JsonValue = None, id: str | None = None, schedule: Any = None
) -> CreateJobParams:
    return CreateJobParams(
        type_name=type_name, chain_type_name=type_name, chain_index=0, input=input, id=id, schedule=schedule
    )


def continuation(parent: StateJob, type_name: str = "test-next", *, chain_index: int | None = None) -> CreateJobParams:
    return CreateJobParams(
        type_name=type_name,
        chain_type_name=parent.chain_type_name,
        chain_id=parent.chain_id,
        chain_index=parent.chain_index + 1 if chain_index is None else chain_index,
        input=None,
    )


async def create(adapter: Adapter, *params: CreateJobParams) -> list[CreatedJob]:
    return await adapter.with_transaction(lambda tx: adapter.create_jobs(list(params), tx_ctx=tx))


async def create_job(adapter: Adapter, params: CreateJobParams | None = None) -> StateJob:
    return (await create(adapter, params or root()))[0].job


async def complete(adapter: Adapter, job: StateJob, output: JsonValue = None) -> StateJob:
    return await adapter.with_transaction(
        lambda tx: adapter.complete_job(job.id, output=output, worker_id="w", tx_ctx=tx)
    )


async def acquire(adapter: Adapter, *type_names: str) -> AcquiredJob:
    return await adapter.with_transaction(lambda tx: adapter.acquire_job(list(type_names), tx_ctx=tx))


async def add_blockers(adapter: Adapter, job: StateJob, *chain_ids: str) -> AddedJobBlockers:
    params = JobBlockersParams(job_id=job.id, blocked_by_chain_ids=list(chain_ids))
    return (await adapter.with_transaction(lambda tx: adapter.add_jobs_blockers([params], tx_ctx=tx)))[0]


async def get(adapter: Adapter, job_id: str) -> StateJob:
    job = await adapter.get_job(job_id)
    assert job is not None
    return job


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
async def state_adapter() -> AsyncIterator[Adapter]:
    adapter = await create_in_process_state_adapter()
    yield adapter
    await adapter.close()


# --- in-process specifics ---------------------------------------------------------------


async def test_batch_rows_share_created_at(state_adapter: Adapter) -> None:
    # The conformance case on pages of rows sharing a created_at relies on this here.
    created = await create(state_adapter, *(root("same-time") for _ in range(25)))
    assert len({c.job.created_at for c in created}) < len(created)


async def test_caller_id_collision_leaves_the_transaction_usable(state_adapter: Adapter) -> None:
    await create_job(state_adapter, root(id="taken"))

    async def body(tx: Any) -> StateJob:
        with pytest.raises(DuplicateJobIdError):
            await state_adapter.create_jobs([root(id="partial"), root(id="taken")], tx_ctx=tx)
        return (await state_adapter.create_jobs([root(id="after")], tx_ctx=tx))[0].job

    await state_adapter.with_transaction(body)
    assert await state_adapter.get_job("partial") is None
    assert await state_adapter.get_job("after") is not None


async def test_page_limit_must_be_positive(state_adapter: Adapter) -> None:
    with pytest.raises(ValueError, match="limit"):
        await state_adapter.list_jobs(filter=JobFilter(), limit=0)


async def test_next_available_is_a_whole_number_of_milliseconds(state_adapter: Adapter) -> None:
    await create_job(state_adapter, root("later", schedule=ScheduleAfter(after_ms=5000)))
    assert isinstance(await state_adapter.get_next_job_available_in_ms(["later"]), int)


async def test_closed_error_names_the_adapter(state_adapter: Adapter) -> None:
    await state_adapter.close()
    with pytest.raises(AdapterClosedError) as info:
        await state_adapter.acquire_job(["t"])
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
