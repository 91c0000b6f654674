"""Worker misuse that `mypy --strict` must reject, one `# E: <code>` per offending line.

Checked by `tests/test_typing.py`; never executed.
"""

from __future__ import annotations

from typing import TypedDict

from queuert import (
    AttemptContext,
    AttemptResult,
    Client,
    CompleteContext,
    ContextKey,
    ContinuationJob,
    EntryJobType,
    Extras,
    InProcessTx,
    JobType,
    NoOutput,
    PrepareContext,
    Processor,
    create_in_process_worker,
    create_processors,
)


class FetchIn(TypedDict):
    url: str


class ParseIn(TypedDict):
    body: str


class Parsed(TypedDict):
    words: int


class OtherTx:
    pass


fetch = EntryJobType[FetchIn, NoOutput, Parsed]("fetch", continue_with="parse")
parse = JobType[ParseIn, Parsed]("parse")
TENANT = ContextKey[str]("tenant")


async def handle_parse(ctx: AttemptContext[InProcessTx, ParseIn, Parsed]) -> AttemptResult[ParseIn, Parsed]:
    async def finish(complete: CompleteContext[InProcessTx]) -> Parsed:
        return Parsed(words=1)

    return await ctx.complete(finish)


async def handle_parse_other_tx(ctx: AttemptContext[OtherTx, ParseIn, Parsed]) -> AttemptResult[ParseIn, Parsed]:
    async def finish(complete: CompleteContext[OtherTx]) -> Parsed:
        return Parsed(words=1)

    return await ctx.complete(finish)


# The completion callback returns something that is not the job type's output.
async def wrong_output(ctx: AttemptContext[InProcessTx, ParseIn, Parsed]) -> AttemptResult[ParseIn, Parsed]:
    async def finish(complete: CompleteContext[InProcessTx]) -> str:
        return "done"

    return await ctx.complete(finish)  # E: arg-type


# The continuation's input does not match the continuation's job type.
async def wrong_continuation(ctx: AttemptContext[InProcessTx, FetchIn, NoOutput]) -> AttemptResult[FetchIn, NoOutput]:
    async def hand_off(complete: CompleteContext[InProcessTx]) -> ContinuationJob[ParseIn]:
        return await complete.continue_with(parse, input=FetchIn(url="x"))  # E: arg-type

    return await ctx.complete(hand_off)


# A handler must return what `complete` returned.
async def returns_nothing(ctx: AttemptContext[InProcessTx, ParseIn, Parsed]) -> AttemptResult[ParseIn, Parsed]:
    return None  # E: return-value


def takes_int(value: int) -> None:
    pass


async def prepare_callbacks(ctx: AttemptContext[InProcessTx, ParseIn, Parsed]) -> None:
    async def load(prepare: PrepareContext[OtherTx]) -> int:
        return 1

    await ctx.prepare("staged", load)  # E: call-overload
    await ctx.prepare("eventually")  # E: call-overload
    takes_int(ctx.extras[TENANT])  # E: arg-type
    Extras().set(TENANT, 42)  # E: misc


def processors(c: Client[InProcessTx]) -> None:
    # The handler is for another job type (input and output disagree), alone and inside a list.
    hp = handle_parse
    Processor(job_type=fetch, attempt_handler=hp)  # E: misc, arg-type
    create_processors(client=c, processors=[Processor(job_type=fetch, attempt_handler=hp)])  # E: misc, arg-type
    # The handler expects another transaction type than the client's.
    other_tx = Processor(job_type=parse, attempt_handler=handle_parse_other_tx)
    create_processors(client=c, processors=[other_tx])  # E: misc


async def workers(client: Client[InProcessTx], other: Client[OtherTx]) -> None:
    slice_ = create_processors(client=client, processors=[Processor(job_type=parse, attempt_handler=handle_parse)])
    await create_in_process_worker(client=other, processors=slice_)  # E: misc
    worker = await create_in_process_worker(client=client, processors=slice_)
    await worker.stop(grace_period_ms="soon")  # E: arg-type
