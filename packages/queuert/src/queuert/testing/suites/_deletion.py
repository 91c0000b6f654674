"""Suite "deletion": deleting chains, blockers, cascades, and jobs deleted while they run."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, TypedDict

import pytest

from ..._client import StartChainItem
from ..._job_types import EntryJobType, JobType, NoOutput, Rest, define_job_types
from ..._worker._config import LeaseConfig
from ..._worker._processors import Processor
from ...errors import BlockerReferenceError, JobNotFoundError, TransactionContextRequiredError
from ._base import IntegrationSuite, SuiteContext, continue_to, finish_with

if TYPE_CHECKING:
    from ..._client import Client
    from ..._worker._context import AttemptContext, AttemptResult

__all__ = ("DeletionSuite",)


class Item(TypedDict):
    name: str


leaf = EntryJobType[Item, Item]("deletion.leaf")
node = EntryJobType[Item, Item](
    "deletion.node",
    blockers=[
        Rest("deletion.leaf"),
    ],
)
top = EntryJobType[Item, Item]("deletion.top", blockers=[Rest("deletion.node")])
first = EntryJobType[Item, NoOutput, Item]("deletion.first", continue_with="deletion.second")
second = JobType[Item, Item]("deletion.second")
JOB_TYPES = define_job_types(leaf, node, top, first, second)


class DeletionSuite(IntegrationSuite):
    """`client.delete_chains` / `delete_chain`."""

    async def _delete(self, s: SuiteContext, client: Client[Any], ids: list[str], *, cascade: bool = False) -> Any:
        return await s.tx(
            lambda tx_ctx, hooks: client.delete_chains(tx_ctx=tx_ctx, transaction_hooks=hooks, ids=ids, cascade=cascade)
        )

    async def _delete_one(self, s: SuiteContext, client: Client[Any], chain_id: str, *, cascade: bool = False) -> Any:
        return await s.tx(
            lambda tx_ctx, hooks: client.delete_chain(
                tx_ctx=tx_ctx, transaction_hooks=hooks, id=chain_id, cascade=cascade
            )
        )

    async def _exists(self, client: Client[Any], *chain_ids: str) -> list[bool]:
        return [await client.get_chain(chain_id) is not None for chain_id in chain_ids]

    async def test_deletes_a_chain_and_all_its_jobs(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)

        async def step(ctx: AttemptContext[object, Item, NoOutput]) -> AttemptResult[Item, NoOutput]:
            return await continue_to(ctx, second, ctx.job.input)

        await s.start_worker(client, [Processor(job_type=first, attempt_handler=step)])
        chain = await s.start_chain(client, first, Item(name="a"))
        await s.wait_until(lambda: _job_count(client, chain.id, 2))
        await s.stop_workers()
        deleted = await self._delete(s, client, [chain.id])
        assert [c.id for c in deleted] == [chain.id]
        # The deleted chain is reported as it was: its current job is the pending continuation.
        assert deleted[0].status == "pending"
        assert await client.get_chain(chain.id) is None
        assert (await client.list_chain_jobs(chain.id)).items == []
        assert len(s.entries("chain_deleted")) == 1
        assert await self._delete(s, client, [chain.id]) == []

    async def test_a_running_job_notices_its_chain_was_deleted(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        running = asyncio.Event()
        reasons: list[Any] = []

        async def slow(ctx: AttemptContext[object, Item, Item]) -> AttemptResult[Item, Item]:
            await ctx.prepare("staged")
            running.set()
            async with asyncio.timeout(s.timeout_ms / 1000):
                reasons.append(await ctx.signal.wait())
            return await finish_with(ctx, ctx.job.input)

        await s.start_worker(
            client,
            [Processor(job_type=leaf, attempt_handler=slow)],
            lease_config=LeaseConfig(lease_ms=5_000, renew_interval_ms=30),
        )
        chain = await s.start_chain(client, leaf, Item(name="doomed"))
        async with asyncio.timeout(s.timeout_ms / 1000):
            await running.wait()
        await self._delete(s, client, [chain.id])
        await s.wait_until(lambda: reasons)
        assert reasons == ["not_found"]
        await s.stop_workers()
        assert not s.entries("job_attempt_failed")
        assert await client.get_chain(chain.id) is None

    async def test_a_job_deleted_while_completing_is_dropped_quietly(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        running = asyncio.Event()
        release = asyncio.Event()
        errors: list[BaseException] = []

        async def slow(ctx: AttemptContext[object, Item, Item]) -> AttemptResult[Item, Item]:
            await ctx.prepare("staged")
            running.set()
            async with asyncio.timeout(s.timeout_ms / 1000):
                await release.wait()
            try:
                return await finish_with(ctx, ctx.job.input)
            except JobNotFoundError as error:
                errors.append(error)
                raise

        await s.start_worker(client, [Processor(job_type=leaf, attempt_handler=slow)])
        chain = await s.start_chain(client, leaf, Item(name="doomed"))
        async with asyncio.timeout(s.timeout_ms / 1000):
            await running.wait()
        await self._delete(s, client, [chain.id])
        release.set()
        await s.wait_until(lambda: errors)
        await s.stop_workers()
        assert not s.entries("job_attempt_failed")
        assert not s.entries("worker_error")
        assert await client.get_chain(chain.id) is None

    async def test_refuses_to_delete_a_chain_that_blocks_another(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        blocker = await s.start_chain(client, leaf, Item(name="leaf"))
        dependent = await s.start_chain(client, node, Item(name="node"), blockers=[blocker])
        with pytest.raises(BlockerReferenceError) as caught:
            await self._delete(s, client, [blocker.id])
        [reference] = caught.value.references
        assert reference.chain_id == blocker.id
        assert reference.referenced_by_job_id == dependent.id
        assert await self._exists(client, blocker.id, dependent.id) == [True, True]
        # Deleting the dependent with it is fine.
        deleted = await self._delete(s, client, [blocker.id, dependent.id])
        assert sorted(c.id for c in deleted) == sorted([blocker.id, dependent.id])

    async def test_cascade_refuses_when_the_chain_itself_is_a_blocker(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        blocker = await s.start_chain(client, leaf, Item(name="leaf"))
        dependent = await s.start_chain(client, node, Item(name="node"), blockers=[blocker])
        with pytest.raises(BlockerReferenceError):
            await self._delete(s, client, [blocker.id], cascade=True)
        assert await self._exists(client, blocker.id, dependent.id) == [True, True]

    async def test_cascade_deletes_the_chain_and_its_blockers(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        leaves = [await s.start_chain(client, leaf, Item(name=f"leaf{n}")) for n in range(2)]
        parent = await s.start_chain(client, node, Item(name="node"), blockers=leaves)
        deleted = await self._delete(s, client, [parent.id], cascade=True)
        assert sorted(c.id for c in deleted) == sorted([parent.id, *(c.id for c in leaves)])
        assert await self._exists(client, parent.id, *(c.id for c in leaves)) == [False, False, False]

    async def test_cascade_is_transitive_and_handles_diamonds(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        shared = await s.start_chain(client, leaf, Item(name="shared"))
        left = await s.start_chain(client, node, Item(name="left"), blockers=[shared])
        right = await s.start_chain(client, node, Item(name="right"), blockers=[shared])
        root = await s.start_chain(client, top, Item(name="top"), blockers=[left, right])
        deleted = await self._delete(s, client, [root.id], cascade=True)
        assert sorted(c.id for c in deleted) == sorted([root.id, left.id, right.id, shared.id])

    async def test_cascade_without_blockers_deletes_just_the_chain(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        alone = await s.start_chain(client, leaf, Item(name="alone"))
        bystander = await s.start_chain(client, leaf, Item(name="bystander"))
        deleted = await self._delete(s, client, [alone.id], cascade=True)
        assert [c.id for c in deleted] == [alone.id]
        assert await self._exists(client, bystander.id) == [True]

    async def test_cascade_refuses_when_a_blocker_has_outside_dependents(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        shared = await s.start_chain(client, leaf, Item(name="shared"))
        mine = await s.start_chain(client, node, Item(name="mine"), blockers=[shared])
        theirs = await s.start_chain(client, node, Item(name="theirs"), blockers=[shared])
        with pytest.raises(BlockerReferenceError) as caught:
            await self._delete(s, client, [mine.id], cascade=True)
        assert {r.referenced_by_job_id for r in caught.value.references} == {theirs.id}
        assert await self._exists(client, shared.id, mine.id, theirs.id) == [True, True, True]

    async def test_deletes_batch_created_chains(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chains = await s.start_chains(
            client, [StartChainItem(job_type=leaf, input=Item(name=str(n))) for n in range(3)]
        )
        deleted = await self._delete(s, client, [c.id for c in chains])
        assert sorted(c.id for c in deleted) == sorted(c.id for c in chains)

    async def test_refuses_to_delete_a_batch_created_blocker(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)

        async def start(tx_ctx: Any, hooks: Any) -> Any:
            leaves = await client.start_chains(
                tx_ctx=tx_ctx,
                transaction_hooks=hooks,
                items=[StartChainItem(job_type=leaf, input=Item(name=str(n))) for n in range(2)],
            )
            parent = await client.start_chain(
                tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=node, input=Item(name="p"), blockers=leaves
            )
            return leaves, parent

        leaves, parent = await s.tx(start)
        with pytest.raises(BlockerReferenceError):
            await self._delete(s, client, [leaves[0].id])
        deleted = await self._delete(s, client, [parent.id], cascade=True)
        assert len(deleted) == 3

    async def test_cascade_deletes_batch_created_diamonds(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)

        async def start(tx_ctx: Any, hooks: Any) -> Any:
            [shared] = await client.start_chains(
                tx_ctx=tx_ctx, transaction_hooks=hooks, items=[StartChainItem(job_type=leaf, input=Item(name="s"))]
            )
            sides = await client.start_chains(
                tx_ctx=tx_ctx,
                transaction_hooks=hooks,
                items=[StartChainItem(job_type=node, input=Item(name=n), blockers=[shared]) for n in ("l", "r")],
            )
            return await client.start_chain(
                tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=top, input=Item(name="t"), blockers=sides
            )

        root = await s.tx(start)
        deleted = await self._delete(s, client, [root.id], cascade=True)
        assert len(deleted) == 4
        assert (await client.list_chains()).items == []

    async def test_delete_chain_deletes_and_returns_the_chain(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, leaf, Item(name="one"))
        deleted = await self._delete_one(s, client, chain.id)
        assert deleted is not None
        assert deleted.id == chain.id
        assert deleted.input == {"name": "one"}
        assert await self._delete_one(s, client, chain.id) is None
        assert await self._delete_one(s, client, s.generate_id()) is None

    async def test_delete_chain_cascades_transitively(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        bottom = await s.start_chain(client, leaf, Item(name="b"))
        middle = await s.start_chain(client, node, Item(name="m"), blockers=[bottom])
        root = await s.start_chain(client, top, Item(name="t"), blockers=[middle])
        deleted = await self._delete_one(s, client, root.id, cascade=True)
        assert deleted is not None
        assert deleted.id == root.id
        assert await self._exists(client, root.id, middle.id, bottom.id) == [False, False, False]

    async def test_delete_chain_refuses_a_blocker(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        blocker = await s.start_chain(client, leaf, Item(name="b"))
        await s.start_chain(client, node, Item(name="n"), blockers=[blocker])
        with pytest.raises(BlockerReferenceError):
            await self._delete_one(s, client, blocker.id)

    async def test_deleting_requires_a_transaction_context(self, queuert_suite: SuiteContext) -> None:
        s = queuert_suite
        client = await s.create_client(JOB_TYPES)
        chain = await s.start_chain(client, leaf, Item(name="x"))
        with pytest.raises(TransactionContextRequiredError):
            await client.delete_chains(tx_ctx=None, transaction_hooks=None, ids=[chain.id])  # type: ignore[arg-type]
        with pytest.raises(TransactionContextRequiredError):
            await client.delete_chain(tx_ctx=None, transaction_hooks=None, id=chain.id)  # type: ignore[arg-type]
        assert await self._exists(client, chain.id) == [True]


async def _job_count(client: Client[Any], chain_id: str, count: int) -> bool:
    return len((await client.list_chain_jobs(chain_id)).items) >= count
