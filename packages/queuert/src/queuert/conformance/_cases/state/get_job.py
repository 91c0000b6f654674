"""getJob: missing ids and the exclusive row lock."""

from __future__ import annotations

from typing import Any

from ._common import Context, StateGroup, create_job, other_id
from ._locks import assert_locked_read_waits_for_holder

group = StateGroup("getJob")


@group.case("returns undefined for nonexistent job ID")
async def _missing(t: Context) -> None:
    job = await create_job(t.adapter)
    assert await t.adapter.get_job(other_id(job.id)) is None


@group.case("lock: exclusive blocks a concurrent locked read until the holding tx commits")
async def _lock_blocks(t: Context) -> None:
    job = await create_job(t.adapter)

    async def read(tx: Any) -> object:
        return await t.adapter.get_job(job.id, tx_ctx=tx, lock="exclusive")

    await assert_locked_read_waits_for_holder(t, read)
