"""Workers: processors, processing modes, retries, attempt middleware and graceful shutdown.

Run it with `uv run python examples/worker_basics.py`. Everything lives in memory (the
in-process adapters), so nothing needs to be installed or running.
"""

import asyncio
from typing import Any, TypedDict, TypeVar

from queuert import (
    AttemptContext,
    AttemptMiddleware,
    AttemptResult,
    BackoffConfig,
    CompleteContext,
    ContextKey,
    ContinuationJob,
    EntryJobType,
    Extras,
    InProcessTx,
    JobType,
    LeaseConfig,
    Next,
    NoOutput,
    PrepareContext,
    Processor,
    RunningJob,
    ScheduleAfter,
    WorkerDefaults,
    create_client,
    create_in_process_notify_adapter,
    create_in_process_state_adapter,
    create_in_process_worker,
    create_processors,
    define_job_types,
    reschedule_job,
    transaction_hooks,
)

T = TypeVar("T")


# --8<-- [start:job-types]
class ResizeIn(TypedDict):
    image_id: str
    width: int


class NotifyIn(TypedDict):
    image_id: str
    url: str


class Sent(TypedDict):
    url: str
    attempts: int


# Resizing hands the chain over to a notification job, whose output ends the chain.
resize = EntryJobType[ResizeIn, NoOutput, Sent]("images.resize", continue_with="images.notify")
notify_owner = JobType[NotifyIn, Sent]("images.notify")
job_types = define_job_types(resize, notify_owner)
# --8<-- [end:job-types]


class RateLimitedError(Exception):
    """The (pretend) mail service asks us to come back later."""


async def render_thumbnail(image_id: str, width: int) -> str:
    await asyncio.sleep(0.01)  # stands in for a slow call to an image service
    return f"https://cdn.example/{image_id}-{width}.png"


# --8<-- [start:handlers]
async def handle_resize(ctx: AttemptContext[InProcessTx, ResizeIn, NoOutput]) -> AttemptResult[ResizeIn, NoOutput]:
    # Staged mode: commit the acquisition now and hold a lease while the slow work runs
    # outside any transaction. (A handler that awaits before `complete` gets staged mode
    # automatically; calling `prepare` makes it explicit and lets you read in the same
    # transaction that acquired the job.)
    async def load(prepare: PrepareContext[InProcessTx]) -> int:
        return ctx.job.input["width"]

    width = await ctx.prepare("staged", load)
    url = await render_thumbnail(ctx.job.input["image_id"], width)

    async def hand_off(complete: CompleteContext[InProcessTx]) -> ContinuationJob[NotifyIn]:
        # A new transaction: this job completes and its successor is created together.
        return await complete.continue_with(notify_owner, input=NotifyIn(image_id=ctx.job.input["image_id"], url=url))

    return await ctx.complete(hand_off)


async def handle_notify(ctx: AttemptContext[InProcessTx, NotifyIn, Sent]) -> AttemptResult[NotifyIn, Sent]:
    if ctx.job.attempt == 1:
        print(f"{ctx.extras[REQUEST_ID]}: rate limited, retrying in 50 ms")
        # Retry in 50 ms instead of the usual exponential backoff; the cause is stored on the job.
        reschedule_job(ScheduleAfter(50), cause=RateLimitedError("429 Too Many Requests"))

    async def finish(complete: CompleteContext[InProcessTx]) -> Sent:
        # `complete` before any other await: atomic mode, one transaction for the attempt.
        return Sent(url=ctx.job.input["url"], attempts=ctx.job.attempt)

    return await ctx.complete(finish)


# --8<-- [end:handlers]


# --8<-- [start:middleware]
REQUEST_ID = ContextKey[str]("request_id")


class RequestIdMiddleware(AttemptMiddleware[InProcessTx]):
    """Gives every attempt a request id that handlers and callbacks can read."""

    async def wrap_handler(self, *, job: RunningJob[Any], worker_id: str, next: Next[T]) -> T:
        return await next(Extras().set(REQUEST_ID, f"{job.type_name}#{job.attempt}"))


# --8<-- [end:middleware]


async def main() -> None:
    state_adapter = await create_in_process_state_adapter()
    notify_adapter = await create_in_process_notify_adapter()
    client = await create_client(state_adapter=state_adapter, notify_adapter=notify_adapter, job_types=job_types)

    # --8<-- [start:worker]
    processors = create_processors(
        client=client,
        processors=[
            Processor(job_type=resize, attempt_handler=handle_resize),
            Processor(
                job_type=notify_owner,
                attempt_handler=handle_notify,
                backoff_config=BackoffConfig(initial_delay_ms=1_000, max_delay_ms=60_000),
            ),
        ],
        attempt_middleware=[RequestIdMiddleware()],
    )
    worker = await create_in_process_worker(
        client=client,
        processors=processors,
        worker_name="images",
        concurrency=4,
        defaults=WorkerDefaults(lease_config=LeaseConfig(lease_ms=30_000, renew_interval_ms=10_000)),
    )
    stop = await worker.start()

    async with transaction_hooks() as hooks:
        chain = await state_adapter.with_transaction(
            lambda tx: client.start_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=resize, input=ResizeIn(image_id="img-7", width=320)
            )
        )
    done = await client.await_chain(chain, timeout_ms=5_000)
    print(f"chain completed: {done.output}")

    await stop()  # waits up to 30 s for attempts in flight, then cancels them
    # --8<-- [end:worker]

    jobs = (await client.list_chain_jobs(chain.id)).items
    for job in jobs:
        print(f"#{job.chain_index} {job.type_name}: attempts={job.attempt}")

    await graceful_shutdown()
    await notify_adapter.close()
    await state_adapter.close()


async def graceful_shutdown() -> None:
    state_adapter = await create_in_process_state_adapter()
    client = await create_client(state_adapter=state_adapter, job_types=job_types)
    started = asyncio.Event()

    # --8<-- [start:shutdown]
    async def stuck(ctx: AttemptContext[InProcessTx, ResizeIn, NoOutput]) -> AttemptResult[ResizeIn, NoOutput]:
        await ctx.prepare("staged")
        started.set()
        try:
            await asyncio.Event().wait()  # never finishes on its own
        except asyncio.CancelledError:
            print(f"handler cancelled, signal reason: {ctx.signal.reason}")
            raise
        raise AssertionError("unreachable")

    processors = create_processors(client=client, processors=[Processor(job_type=resize, attempt_handler=stuck)])
    worker = await create_in_process_worker(client=client, processors=processors)
    async with transaction_hooks() as hooks:
        chain = await state_adapter.with_transaction(
            lambda tx: client.start_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=resize, input=ResizeIn(image_id="img-8", width=64)
            )
        )
    await worker.start()
    await started.wait()
    await worker.stop(grace_period_ms=100)
    job = await client.get_job(chain.id)
    assert job is not None
    print(f"after shutdown the job is {job.status} (attempt {job.attempt}), ready for the next worker")
    # --8<-- [end:shutdown]
    await state_adapter.close()


if __name__ == "__main__":
    asyncio.run(main())
