"""withSavepoint: partial rollback inside a transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...._entities import JobFilter, ScheduleAfter
from .._support import Rollback, raises, skip
from ._common import Context, StateGroup, acquire, create_job, get, root

if TYPE_CHECKING:
    from ...._state_adapter import StateJob

group = StateGroup("withSavepoint")


@group.case("commits changes on success")
async def _commits(t: Context) -> None:
    a = t.adapter
    job = await create_job(a)

    async def body(tx: Any) -> None:
        await a.with_savepoint(tx, lambda sp: a.complete_job(job.id, output="saved", worker_id=None, tx_ctx=sp))

    await a.with_transaction(body)
    assert (await get(a, job.id)).output == "saved"


@group.case("rolls back changes on error")
async def _rolls_back(t: Context) -> None:
    a = t.adapter
    job = await create_job(a)

    async def inner(sp: Any) -> None:
        await a.complete_job(job.id, output="lost", worker_id=None, tx_ctx=sp)
        raise Rollback

    async def body(tx: Any) -> None:
        with raises(Rollback):
            await a.with_savepoint(tx, inner)
        inside = await a.get_job(job.id, tx_ctx=tx)
        assert inside is not None
        assert inside.status == "pending"

    await a.with_transaction(body)
    after = await get(a, job.id)
    assert after.status == "pending"
    assert after.output is None


@group.case("does not affect outer transaction on rollback")
async def _outer_kept(t: Context) -> None:
    a = t.adapter

    async def inner(sp: Any) -> None:
        await a.create_jobs([root("inside")], tx_ctx=sp)
        raise Rollback

    async def body(tx: Any) -> tuple[StateJob, StateJob]:
        [before] = await a.create_jobs([root("before")], tx_ctx=tx)
        with raises(Rollback):
            await a.with_savepoint(tx, inner)
        [after] = await a.create_jobs([root("after")], tx_ctx=tx)
        return before.job, after.job

    before, after = await a.with_transaction(body)
    assert await a.get_job(before.id) is not None
    assert await a.get_job(after.id) is not None
    assert (await a.list_jobs(filter=JobFilter(type_name=["inside"]))).items == []


@group.case("supports nested savepoints")
async def _nested(t: Context) -> None:
    a = t.adapter
    job = await create_job(a, root("nested"))

    async def innermost(sp: Any) -> None:
        await a.reschedule_job(job.id, schedule=ScheduleAfter(after_ms=60_000), error="inner", tx_ctx=sp)
        raise Rollback

    async def outer(sp: Any) -> None:
        await a.complete_job(job.id, output="outer", worker_id=None, tx_ctx=sp)
        with raises(Rollback):
            await a.with_savepoint(sp, innermost)

    await a.with_transaction(lambda tx: a.with_savepoint(tx, outer))
    after = await get(a, job.id)
    assert after.status == "completed"
    assert after.output == "outer"
    assert after.last_attempt_error is None


@group.case("re-throws the original error")
async def _original_error(t: Context) -> None:
    error = Rollback("original message")

    async def inner(sp: Any) -> None:
        raise error

    async def body(tx: Any) -> None:
        with raises(Rollback) as caught:
            await t.adapter.with_savepoint(tx, inner)
        assert caught.value is error
        assert str(caught.value) == "original message"

    await t.adapter.with_transaction(body)


@group.case("isolates poisoned transaction so outer transaction can continue")
async def _poisoned(t: Context) -> None:
    poison = t.poison_transaction
    if poison is None:
        raise skip("the fixture has no poison_transaction (the store has no aborted-transaction state)")
    a = t.adapter

    async def inner(sp: Any) -> None:
        await poison(sp)
        # If poisoning itself did not raise, the next statement in the aborted transaction does.
        await a.create_jobs([root("inside-poisoned")], tx_ctx=sp)

    async def body(tx: Any) -> tuple[StateJob, StateJob]:
        [before] = await a.create_jobs([root("before")], tx_ctx=tx)
        with raises(Exception):
            await a.with_savepoint(tx, inner)
        [after] = await a.create_jobs([root("after")], tx_ctx=tx)
        return before.job, after.job

    before, after = await a.with_transaction(body)
    assert await a.get_job(before.id) is not None
    assert await a.get_job(after.id) is not None


# --- additions of this port -------------------------------------------------------------


@group.case("returns the callback's result", upstream=False)
async def _result(t: Context) -> None:
    async def inner(sp: Any) -> int:
        return 7

    assert await t.adapter.with_transaction(lambda tx: t.adapter.with_savepoint(tx, inner)) == 7


@group.case("rolling back an outer savepoint undoes a released inner one", upstream=False)
async def _outer_undoes_inner(t: Context) -> None:
    a = t.adapter
    job = await create_job(a, root("nested"))

    async def inner(sp: Any) -> None:
        await a.complete_job(job.id, output="inner", worker_id=None, tx_ctx=sp)

    async def outer(sp: Any) -> None:
        await a.with_savepoint(sp, inner)
        await a.create_jobs([root("nested-extra")], tx_ctx=sp)
        raise Rollback

    async def body(tx: Any) -> None:
        with raises(Rollback):
            await a.with_savepoint(tx, outer)

    await a.with_transaction(body)
    assert (await get(a, job.id)).status == "pending"
    assert (await a.list_jobs(filter=JobFilter(type_name=["nested-extra"]))).items == []
    assert (await acquire(a, "nested")).job is not None
