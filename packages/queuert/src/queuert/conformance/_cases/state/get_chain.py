"""getChain: a chain's first and newest job, and its exclusive lock."""

from __future__ import annotations

from typing import Any

from ._common import Context, StateGroup, continuation, create_job, other_id
from ._locks import assert_locked_read_waits_for_holder

group = StateGroup("getChain")


@group.case("handles chain relationships correctly")
async def _relationships(t: Context) -> None:
    job = await create_job(t.adapter)
    chain = await t.adapter.get_chain(job.id)
    assert chain is not None
    assert chain.root.id == job.id
    assert chain.root.chain_id == job.id
    assert chain.root.chain_index == 0


@group.case("returns [rootJob, lastJob] for multi-chain")
async def _root_and_last(t: Context) -> None:
    first = await create_job(t.adapter)
    second = await create_job(t.adapter, continuation(first))
    chain = await t.adapter.get_chain(first.id)
    assert chain is not None
    assert chain.root.id == first.id
    assert chain.last is not None
    assert chain.last.id == second.id
    third = await create_job(t.adapter, continuation(second))
    longer = await t.adapter.get_chain(first.id)
    assert longer is not None
    assert longer.last is not None
    assert longer.last.id == third.id, "last must be the newest job of the chain"


@group.case("returns [rootJob, undefined] for a single-root chain")
async def _single_root(t: Context) -> None:
    job = await create_job(t.adapter)
    chain = await t.adapter.get_chain(job.id)
    assert chain is not None
    assert chain.root.id == job.id
    assert chain.last is None


@group.case("returns [rootJob, undefined] for a single-root chain with lock: exclusive")
async def _single_root_locked(t: Context) -> None:
    job = await create_job(t.adapter)
    chain = await t.adapter.with_transaction(lambda tx: t.adapter.get_chain(job.id, tx_ctx=tx, lock="exclusive"))
    assert chain is not None
    assert chain.root.id == job.id
    assert chain.last is None


@group.case("returns undefined for nonexistent chain ID")
async def _missing(t: Context) -> None:
    job = await create_job(t.adapter)
    assert await t.adapter.get_chain(other_id(job.id)) is None


@group.case("lock: exclusive blocks a concurrent locked read until the holding tx commits")
async def _lock_blocks(t: Context) -> None:
    job = await create_job(t.adapter)

    async def read(tx: Any) -> object:
        return await t.adapter.get_chain(job.id, tx_ctx=tx, lock="exclusive")

    await assert_locked_read_waits_for_holder(t, read)
