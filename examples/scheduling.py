"""Scheduling: delayed starts and continuations, triggering early, recurring chains, and a cleanup job.

Run it with `uv run python examples/scheduling.py`. Everything lives in memory (the
in-process adapters), so nothing needs to be installed or running.
"""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from queuert import (
    AttemptContext,
    AttemptResult,
    ChainFilter,
    Client,
    CompleteContext,
    DeduplicationOptions,
    EntryJobType,
    InProcessStateAdapter,
    InProcessTx,
    Processor,
    ScheduleAfter,
    create_client,
    create_in_process_notify_adapter,
    create_in_process_state_adapter,
    create_in_process_worker,
    create_processors,
    define_job_types,
    transaction_hooks,
)


class ReminderIn(TypedDict):
    text: str


class DigestIn(TypedDict):
    user_id: str
    run: int


class Done(TypedDict):
    at: str


remind = EntryJobType[ReminderIn, Done]("app.remind")
daily_digest = EntryJobType[DigestIn, Done]("app.daily_digest")
cleanup = EntryJobType[None, None]("queuert.cleanup")
job_types = define_job_types(remind, daily_digest, cleanup)

DIGEST_INTERVAL_MS = 50  # a day in real life; short so that the example runs three times quickly
RETENTION = timedelta(milliseconds=1)  # 7 days in real life
CLEANUP_INTERVAL_MS = 3_600_000
CLEANUP_BATCH = 100


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


async def handle_remind(ctx: AttemptContext[InProcessTx, ReminderIn, Done]) -> AttemptResult[ReminderIn, Done]:
    async def finish(_: CompleteContext[InProcessTx]) -> Done:
        return Done(at=now_iso())

    return await ctx.complete(finish)


def digest_handler(client: Client[InProcessTx], runs: list[int], third_run: asyncio.Event) -> Any:
    # --8<-- [start:recurring]
    async def handle_digest(ctx: AttemptContext[InProcessTx, DigestIn, Done]) -> AttemptResult[DigestIn, Done]:
        digest = ctx.job.input
        runs.append(digest["run"])  # stands in for sending the digest
        if digest["run"] == 3:
            third_run.set()

        async def finish(complete: CompleteContext[InProcessTx]) -> Done:
            if digest["run"] < 3:
                # The next run is started in the same transaction that finishes this one.
                await client.start_chain(
                    tx_ctx=complete.tx_ctx,
                    transaction_hooks=complete.transaction_hooks,
                    job_type=daily_digest,
                    input=DigestIn(user_id=digest["user_id"], run=digest["run"] + 1),
                    schedule=ScheduleAfter(DIGEST_INTERVAL_MS),
                    deduplication=DeduplicationOptions(
                        key=f"digest:{digest['user_id']}",
                        # This chain is still open here: without the exclusion it would match
                        # the key and the next run would never be created.
                        exclude_chain_ids=[ctx.job.chain_id],
                    ),
                )
            return Done(at=now_iso())

        return await ctx.complete(finish)

    # --8<-- [end:recurring]
    return handle_digest


def cleanup_handler(client: Client[InProcessTx], state_adapter: InProcessStateAdapter) -> Any:
    # --8<-- [start:cleanup]
    async def delete_page(ids: list[str]) -> int:
        async with transaction_hooks() as hooks:
            removed = await state_adapter.with_transaction(
                lambda tx: client.delete_chains(tx_ctx=tx, transaction_hooks=hooks, ids=ids)
            )
        return len(removed)

    async def handle_cleanup(ctx: AttemptContext[InProcessTx, None, None]) -> AttemptResult[None, None]:
        cutoff = datetime.now(UTC) - RETENTION
        cursor = None
        deleted = 0
        while True:
            # Top-level chains created before the cutoff, oldest first, one page at a time.
            page = await client.list_chains(
                filter=ChainFilter(root_only=True, to=cutoff),
                order_direction="asc",
                limit=CLEANUP_BATCH,
                cursor=cursor,
            )
            ids = [c.id for c in page.items if c.status == "completed" and c.id != ctx.job.chain_id]
            if ids:
                deleted += await delete_page(ids)  # each page in its own short transaction
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        print(f"cleanup deleted {deleted} completed chains")

        async def finish(complete: CompleteContext[InProcessTx]) -> None:
            await client.start_chain(
                tx_ctx=complete.tx_ctx,
                transaction_hooks=complete.transaction_hooks,
                job_type=cleanup,
                input=None,
                schedule=ScheduleAfter(CLEANUP_INTERVAL_MS),
                deduplication=DeduplicationOptions(key="queuert.cleanup", exclude_chain_ids=[ctx.job.chain_id]),
            )

        return await ctx.complete(finish)

    # --8<-- [end:cleanup]
    return handle_cleanup


async def main() -> None:
    state_adapter = await create_in_process_state_adapter()
    notify_adapter = await create_in_process_notify_adapter()
    client = await create_client(state_adapter=state_adapter, notify_adapter=notify_adapter, job_types=job_types)
    runs: list[int] = []
    third_run = asyncio.Event()
    processors = create_processors(
        client=client,
        processors=[
            Processor(job_type=remind, attempt_handler=handle_remind),
            Processor(job_type=daily_digest, attempt_handler=digest_handler(client, runs, third_run)),
            Processor(job_type=cleanup, attempt_handler=cleanup_handler(client, state_adapter)),
        ],
    )
    # A long poll interval: the worker still wakes for each due job, because it sleeps only
    # until the earliest scheduled job, and creating one notifies it.
    worker = await create_in_process_worker(client=client, processors=processors, poll_interval_ms=60_000)
    await worker.start()

    # --8<-- [start:delayed]
    async with transaction_hooks() as hooks:
        later = await state_adapter.with_transaction(
            lambda tx: client.start_chain(
                tx_ctx=tx,
                transaction_hooks=hooks,
                job_type=remind,
                input=ReminderIn(text="stand up"),
                schedule=ScheduleAfter(200),  # or ScheduleAt(datetime(...)) for an absolute time
            )
        )
    done = await client.await_chain(later, timeout_ms=5_000)
    waited = done.completed_at - done.created_at
    print(f"delayed reminder ran after at least 200 ms: {waited >= timedelta(milliseconds=200)}")
    # --8<-- [end:delayed]

    # --8<-- [start:trigger]
    async with transaction_hooks() as hooks:
        tomorrow = await state_adapter.with_transaction(
            lambda tx: client.start_chain(
                tx_ctx=tx,
                transaction_hooks=hooks,
                job_type=remind,
                input=ReminderIn(text="renew passport"),
                schedule=ScheduleAfter(24 * 3_600_000),
            )
        )
    async with transaction_hooks() as hooks:
        await state_adapter.with_transaction(
            lambda tx: client.trigger_job(tx_ctx=tx, transaction_hooks=hooks, id=tomorrow.id)
        )
    done = await client.await_chain(tomorrow, timeout_ms=5_000)
    print(f"triggered reminder ran now: {done.status}")
    # --8<-- [end:trigger]

    # --8<-- [start:bootstrap]
    for _deploy in range(2):  # every deploy runs the bootstrap; the key keeps one chain
        async with transaction_hooks() as hooks:
            started = await state_adapter.with_transaction(
                lambda tx: client.start_chain(
                    tx_ctx=tx,
                    transaction_hooks=hooks,
                    job_type=daily_digest,
                    input=DigestIn(user_id="u-1", run=1),
                    deduplication=DeduplicationOptions(key="digest:u-1"),
                )
            )
        print(f"bootstrap: deduplicated={started.deduplicated}")
    # --8<-- [end:bootstrap]
    await asyncio.wait_for(third_run.wait(), timeout=5)
    digests = await client.list_chains(filter=ChainFilter(type_name=[daily_digest.name]))
    print(f"digest runs: {sorted(runs)}, one chain per run: {len(digests.items)}")

    async with transaction_hooks() as hooks:
        first_cleanup = await state_adapter.with_transaction(
            lambda tx: client.start_chain(
                tx_ctx=tx,
                transaction_hooks=hooks,
                job_type=cleanup,
                input=None,
                deduplication=DeduplicationOptions(key="queuert.cleanup"),
            )
        )
    await client.await_chain(first_cleanup, timeout_ms=5_000)
    remaining = await client.list_chains(filter=ChainFilter(status=["pending"]))
    print(f"next cleanup scheduled: {[c.type_name for c in remaining.items]}")

    await worker.stop()
    await notify_adapter.close()
    await state_adapter.close()


if __name__ == "__main__":
    asyncio.run(main())
