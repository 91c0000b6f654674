"""A tour of the client: deduplication, scheduling and triggering, listing with cursors, awaiting, deleting.

uv run python examples/client_operations.py
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypedDict, TypeVar

from queuert import (
    AbortController,
    BlockerReferenceError,
    ChainFilter,
    Client,
    CompleteContext,
    DeduplicationOptions,
    EntryJobType,
    InProcessStateAdapter,
    InProcessTx,
    JobFilter,
    JobNotTriggerableError,
    ScheduleAfter,
    ScheduleAt,
    Slot,
    StartChainItem,
    TransactionHooks,
    WaitChainTimeoutError,
    WorkerlessCompletion,
    create_client,
    create_in_process_notify_adapter,
    create_in_process_state_adapter,
    define_job_types,
    transaction_hooks,
)

ResultT = TypeVar("ResultT")


class SyncIn(TypedDict):
    account: str


class SyncOut(TypedDict):
    synced: int


class DigestIn(TypedDict):
    week: str


sync_account = EntryJobType[SyncIn, SyncOut]("accounts.sync")
weekly_digest = EntryJobType[DigestIn, str]("accounts.weekly_digest", blockers=[Slot(sync_account)])

job_types = define_job_types(sync_account, weekly_digest)


class Tour:
    def __init__(self, state: InProcessStateAdapter, client: Client[InProcessTx]) -> None:
        self.state = state
        self.client = client

    # --8<-- [start:tx-helper]
    async def tx(self, fn: Callable[[InProcessTx, TransactionHooks], Awaitable[ResultT]]) -> ResultT:
        async with transaction_hooks() as hooks:
            return await self.state.with_transaction(lambda tx: fn(tx, hooks))

    # --8<-- [end:tx-helper]

    async def finish(self, chain_id: str, output: SyncOut) -> None:
        async def produce(ctx: CompleteContext[InProcessTx]) -> SyncOut:
            return output

        async def complete(completion: WorkerlessCompletion[InProcessTx]) -> None:
            await completion.complete(completion.job, produce, job_type=sync_account)

        await self.tx(
            lambda tx, hooks: self.client.complete_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=sync_account, id=chain_id, complete=complete
            )
        )


async def deduplication(tour: Tour) -> None:
    client = tour.client
    # --8<-- [start:dedup]
    once_per_account = DeduplicationOptions(key="sync:acme")  # scope="incomplete" by default

    first = await tour.tx(
        lambda tx, hooks: client.start_chain(
            tx_ctx=tx,
            transaction_hooks=hooks,
            job_type=sync_account,
            input=SyncIn(account="acme"),
            deduplication=once_per_account,
        )
    )
    second = await tour.tx(
        lambda tx, hooks: client.start_chain(
            tx_ctx=tx,
            transaction_hooks=hooks,
            job_type=sync_account,
            input=SyncIn(account="acme"),
            deduplication=once_per_account,
        )
    )
    print(f"second start deduplicated={second.deduplicated}, same chain={second.id == first.id}")

    await tour.finish(first.id, SyncOut(synced=3))
    third = await tour.tx(
        lambda tx, hooks: client.start_chain(
            tx_ctx=tx,
            transaction_hooks=hooks,
            job_type=sync_account,
            input=SyncIn(account="acme"),
            deduplication=once_per_account,
        )
    )
    print(f"after the first chain completed: deduplicated={third.deduplicated}, new chain={third.id != first.id}")
    # --8<-- [end:dedup]


async def scheduling(tour: Tour) -> None:
    client = tour.client

    # --8<-- [start:schedule]
    async def plan(tx: InProcessTx, hooks: TransactionHooks) -> list[str]:
        later = await client.start_chain(
            tx_ctx=tx,
            transaction_hooks=hooks,
            job_type=sync_account,
            input=SyncIn(account="globex"),
            schedule=ScheduleAfter(after_ms=60 * 60 * 1000),
        )
        tomorrow = await client.start_chain(
            tx_ctx=tx,
            transaction_hooks=hooks,
            job_type=sync_account,
            input=SyncIn(account="initech"),
            schedule=ScheduleAt(at=datetime.now(UTC) + timedelta(days=1)),
        )
        return [later.id, tomorrow.id]

    later_id, tomorrow_id = await tour.tx(plan)
    job = await client.get_job(later_id, job_type=sync_account)
    assert job is not None
    print(f"scheduled {round((job.scheduled_at - job.created_at).total_seconds() / 60)} minutes after creation")

    # "Run now": the first job becomes due immediately.
    [triggered] = await tour.tx(
        lambda tx, hooks: client.trigger_jobs(tx_ctx=tx, transaction_hooks=hooks, ids=[later_id])
    )
    print(f"triggered: due {(triggered.scheduled_at - datetime.now(UTC)).total_seconds() <= 0}")
    # --8<-- [end:schedule]

    # --8<-- [start:trigger-blocked]
    tomorrow = await client.get_chain(tomorrow_id)
    assert tomorrow is not None
    digest = await tour.tx(
        lambda tx, hooks: client.start_chain(
            tx_ctx=tx,
            transaction_hooks=hooks,
            job_type=weekly_digest,
            input=DigestIn(week="2030-W01"),
            blockers=[tomorrow],
        )
    )
    try:
        await tour.tx(lambda tx, hooks: client.trigger_job(tx_ctx=tx, transaction_hooks=hooks, id=digest.id))
    except JobNotTriggerableError as error:
        print(f"cannot trigger: job is {error.status}")
    # --8<-- [end:trigger-blocked]


async def listing(tour: Tour) -> None:
    client = tour.client
    # --8<-- [start:pages]
    items = [StartChainItem(job_type=sync_account, input=SyncIn(account=f"tenant-{n}")) for n in range(12)]
    await tour.tx(lambda tx, hooks: client.start_chains(tx_ctx=tx, transaction_hooks=hooks, items=items))

    pending = ChainFilter(type_name=[sync_account.name], status=["pending"])
    cursor: str | None = None
    sizes: list[int] = []
    while True:
        page = await client.list_chains(filter=pending, order_direction="asc", cursor=cursor, limit=5)
        sizes.append(len(page.items))
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    print(f"pending sync chains in pages of {sizes}")

    completed_jobs = await client.list_jobs(filter=JobFilter(status=["completed"]))
    print(f"completed jobs: {len(completed_jobs.items)}")
    # --8<-- [end:pages]


async def awaiting(tour: Tour) -> None:
    client = tour.client
    # --8<-- [start:await-timeout]
    started = await tour.tx(
        lambda tx, hooks: client.start_chain(
            tx_ctx=tx, transaction_hooks=hooks, job_type=sync_account, input=SyncIn(account="hooli")
        )
    )
    try:
        await client.await_chain(started, timeout_ms=100, poll_interval_ms=20)
    except WaitChainTimeoutError as error:
        print(f"gave up after {error.timeout_ms} ms")

    waiter = asyncio.create_task(client.await_chain(started, timeout_ms=5_000))
    await tour.finish(started.id, SyncOut(synced=7))
    print(f"awaited output: {(await waiter).output}")
    # --8<-- [end:await-timeout]

    # --8<-- [start:await-abort]
    pending = await tour.tx(
        lambda tx, hooks: client.start_chain(
            tx_ctx=tx, transaction_hooks=hooks, job_type=sync_account, input=SyncIn(account="pied-piper")
        )
    )
    controller: AbortController[str] = AbortController()
    waiting = asyncio.create_task(client.await_chain(pending, timeout_ms=60_000, signal=controller.signal))
    await asyncio.sleep(0)  # let the wait begin
    controller.abort("the request was cancelled")
    try:
        await waiting
    except WaitChainTimeoutError as error:
        print(f"{error} (cause: {error.__cause__})")
    # --8<-- [end:await-abort]


async def deleting(tour: Tour) -> None:
    client = tour.client

    # --8<-- [start:delete]
    async def start_pair(tx: InProcessTx, hooks: TransactionHooks) -> tuple[str, str]:
        sync = await client.start_chain(
            tx_ctx=tx, transaction_hooks=hooks, job_type=sync_account, input=SyncIn(account="umbrella")
        )
        digest = await client.start_chain(
            tx_ctx=tx, transaction_hooks=hooks, job_type=weekly_digest, input=DigestIn(week="W2"), blockers=[sync]
        )
        return sync.id, digest.id

    sync_id, digest_id = await tour.tx(start_pair)
    dependents = await client.list_blocked_jobs(sync_id)
    print(f"jobs waiting on the sync chain: {[job.type_name for job in dependents.items]}")
    try:
        await tour.tx(lambda tx, hooks: client.delete_chain(tx_ctx=tx, transaction_hooks=hooks, id=sync_id))
    except BlockerReferenceError as error:
        [reference] = error.references
        who = "the digest" if reference.referenced_by_job_id == digest_id else "another job"
        print(f"refused: the sync chain is a blocker of {who}")

    deleted = await tour.tx(
        lambda tx, hooks: client.delete_chains(tx_ctx=tx, transaction_hooks=hooks, ids=[digest_id], cascade=True)
    )
    print(f"cascade deleted {sorted(c.type_name for c in deleted)}")
    # --8<-- [end:delete]


async def main() -> None:
    state = await create_in_process_state_adapter()
    notify = await create_in_process_notify_adapter()
    client = await create_client(state_adapter=state, notify_adapter=notify, job_types=job_types)
    tour = Tour(state, client)
    await deduplication(tour)
    await scheduling(tour)
    await listing(tour)
    await awaiting(tour)
    await deleting(tour)
    await notify.close()
    await state.close()


if __name__ == "__main__":
    asyncio.run(main())
