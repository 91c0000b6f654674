"""getNextJobAvailableInMs: how long a worker may sleep."""

from __future__ import annotations

from ...._entities import ScheduleAfter
from ._common import Context, StateGroup, acquire, add_blockers, complete, create_job, root

group = StateGroup("getNextJobAvailableInMs")


@group.case("returns 0 for immediately available pending job")
async def _zero(t: Context) -> None:
    await create_job(t.adapter, root("due"))
    assert await t.adapter.get_next_job_available_in_ms(["due"]) == 0


@group.case("returns milliseconds until next scheduled job")
async def _countdown(t: Context) -> None:
    await create_job(t.adapter, root("later", schedule=ScheduleAfter(after_ms=5000)))
    await create_job(t.adapter, root("much-later", schedule=ScheduleAfter(after_ms=50_000)))
    ms = await t.adapter.get_next_job_available_in_ms(["later", "much-later"])
    assert ms is not None
    assert 3000 < ms <= 5100, f"expected about 5000 ms, got {ms}"


@group.case("returns null when no pending jobs of given type exist")
async def _none(t: Context) -> None:
    await create_job(t.adapter, root("other-type"))
    assert await t.adapter.get_next_job_available_in_ms(["nothing"]) is None


# --- additions of this port -------------------------------------------------------------


@group.case("ignores running, completed and blocked jobs", upstream=False)
async def _only_pending(t: Context) -> None:
    a = t.adapter
    await create_job(a, root("running"))
    await acquire(a, "running")
    assert await a.get_next_job_available_in_ms(["running"]) is None
    done = await create_job(a, root("done"))
    await complete(a, done)
    assert await a.get_next_job_available_in_ms(["done"]) is None
    blocker = await create_job(a, root("blocker"))
    blocked = await create_job(a, root("blocked"))
    await add_blockers(a, blocked, blocker.id)
    assert await a.get_next_job_available_in_ms(["blocked"]) is None
