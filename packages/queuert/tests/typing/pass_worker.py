"""Worker code that must type-check cleanly under `mypy --strict`, with the types it must produce.

Checked by `tests/test_typing.py`; never executed.
"""

from __future__ import annotations

from typing import Any, TypedDict, TypeVar, assert_type

from queuert import (
    AttemptContext,
    AttemptMiddleware,
    AttemptResult,
    BackoffConfig,
    Client,
    CompleteContext,
    CompletedJob,
    ContextKey,
    ContinuationJob,
    EntryJobType,
    Extras,
    InProcessTx,
    InProcessWorker,
    JobAbortReason,
    JobType,
    LeaseConfig,
    Next,
    NoOutput,
    PrepareContext,
    Processor,
    Processors,
    RunningJob,
    StopWorker,
    WorkerDefaults,
    create_in_process_worker,
    create_processors,
)


class FetchIn(TypedDict):
    url: str


class ParseIn(TypedDict):
    body: str


class Parsed(TypedDict):
    words: int


fetch = EntryJobType[FetchIn, NoOutput, Parsed]("fetch", continue_with="parse")
parse = JobType[ParseIn, Parsed]("parse")

TENANT = ContextKey[str]("tenant")
T = TypeVar("T")


async def handle_fetch(ctx: AttemptContext[InProcessTx, FetchIn, NoOutput]) -> AttemptResult[FetchIn, NoOutput]:
    assert_type(ctx.job.input, FetchIn)
    assert_type(ctx.extras[TENANT], str)
    reason = ctx.signal.reason
    assert_type(reason, JobAbortReason | None)

    async def load(prepare: PrepareContext[InProcessTx]) -> str:
        assert_type(prepare.tx_ctx, InProcessTx)
        return prepare.extras.get(TENANT, "none")

    tenant = await ctx.prepare("staged", load)
    assert_type(tenant, str)

    async def hand_off(complete: CompleteContext[InProcessTx]) -> ContinuationJob[ParseIn]:
        return await complete.continue_with(parse, input=ParseIn(body=ctx.job.input["url"]))

    continued = await ctx.complete(hand_off)
    assert_type(continued, AttemptResult[FetchIn, NoOutput])
    return continued


async def handle_parse(ctx: AttemptContext[InProcessTx, ParseIn, Parsed]) -> AttemptResult[ParseIn, Parsed]:
    await ctx.prepare("atomic")

    async def finish(complete: CompleteContext[InProcessTx]) -> Parsed:
        return Parsed(words=len(ctx.job.input["body"].split()))

    completed = await ctx.complete(finish)
    assert_type(completed, CompletedJob[ParseIn, Parsed])
    assert_type(completed.output, Parsed)
    return completed


async def handle_parse_either(ctx: AttemptContext[InProcessTx, ParseIn, Parsed]) -> AttemptResult[ParseIn, Parsed]:
    async def finish(complete: CompleteContext[InProcessTx]) -> Parsed | ContinuationJob[Any]:
        return Parsed(words=0)

    either = await ctx.complete(finish)
    assert_type(either, CompletedJob[ParseIn, Parsed] | ContinuationJob[Any])
    return either


async def handle_untyped_continuation(
    ctx: AttemptContext[InProcessTx, FetchIn, NoOutput],
) -> AttemptResult[FetchIn, NoOutput]:
    async def hand_off(complete: CompleteContext[InProcessTx]) -> ContinuationJob[Any]:
        return await complete.continue_with("parse", input={"body": "x"})

    return await ctx.complete(hand_off)


class TenantMiddleware(AttemptMiddleware[InProcessTx]):
    async def wrap_handler(self, *, job: RunningJob[Any], worker_id: str, next: Next[T]) -> T:
        return await next(Extras().set(TENANT, "acme"))


def slices(client: Client[InProcessTx]) -> list[Processors[InProcessTx]]:
    fetching = create_processors(
        client=client,
        processors=[Processor(job_type=fetch, attempt_handler=handle_fetch)],
        attempt_middleware=[TenantMiddleware()],
        lease_config=LeaseConfig(lease_ms=30_000, renew_interval_ms=10_000),
    )
    parsing = create_processors(
        client=client,
        processors={"parse": Processor(attempt_handler=handle_parse, backoff_config=BackoffConfig(100, 1_000))},
    )
    both = create_processors(
        client=client,
        processors=[
            Processor(job_type=fetch, attempt_handler=handle_fetch),
            Processor(job_type=parse, attempt_handler=handle_parse_either),
        ],
    )
    return [fetching, parsing, both]


async def run(client: Client[InProcessTx]) -> None:
    worker = await create_in_process_worker(
        client=client,
        processors=slices(client)[:2],
        concurrency=4,
        defaults=WorkerDefaults(backoff_config=BackoffConfig(1_000, 60_000, 3.0)),
    )
    assert_type(worker, InProcessWorker[InProcessTx])
    stop = await worker.start()
    assert_type(stop, StopWorker)
    await stop(grace_period_ms=5_000)
    async with await create_in_process_worker(client=client, processors=slices(client)[2]) as running:
        assert_type(running.worker_id, str)
