"""Workerless completion: advance and finish a two-step chain from application code with `complete_chain`.

A refund request is a chain of two jobs: `refunds.request` hands off to `refunds.review`,
and the reviewer's decision is the chain's output. No worker runs; each step is completed
by application code (a support agent's click, a webhook), inside its own transaction.

    uv run python examples/workerless_completion.py
"""

import asyncio
from typing import TypedDict

from queuert import (
    CompleteContext,
    ContinuationJob,
    EntryJobType,
    InProcessTx,
    JobAlreadyCompletedError,
    JobType,
    NoOutput,
    WorkerlessCompletion,
    create_client,
    create_in_process_state_adapter,
    define_job_types,
    transaction_hooks,
)


class RefundIn(TypedDict):
    order_id: str
    amount_cents: int


class ReviewIn(TypedDict):
    order_id: str
    amount_cents: int
    queue: str


class RefundOut(TypedDict):
    refunded_cents: int
    reviewer: str


# --8<-- [start:types]
# `NoOutput`: a request never finishes the chain itself, it always continues with a review.
# The third type argument is the output of the chain as a whole: the review's output.
request_refund = EntryJobType[RefundIn, NoOutput, RefundOut]("refunds.request", continue_with="refunds.review")
review_refund = JobType[ReviewIn, RefundOut]("refunds.review")
# --8<-- [end:types]

job_types = define_job_types(request_refund, review_refund)


async def main() -> None:
    state = await create_in_process_state_adapter()
    client = await create_client(state_adapter=state, job_types=job_types)

    async with transaction_hooks() as hooks:
        started = await state.with_transaction(
            lambda tx: client.start_chain(
                tx_ctx=tx,
                transaction_hooks=hooks,
                job_type=request_refund,
                input=RefundIn(order_id="o-17", amount_cents=2_999),
            )
        )

    # --8<-- [start:read]
    # A callback that never calls `complete` is a plain read of the chain's current job,
    # taken under a row lock for the rest of the transaction.
    async def peek(completion: WorkerlessCompletion[InProcessTx]) -> None:
        job = completion.job
        print(f"current job: {job.type_name} (index {job.chain_index}, {job.status})")

    async with transaction_hooks() as hooks:
        await state.with_transaction(
            lambda tx: client.complete_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=request_refund, id=started.id, complete=peek
            )
        )
    # --8<-- [end:read]

    # --8<-- [start:continue]
    # Step 1: hand the chain to the review step. Returning the ContinuationJob completes
    # the request job with no output; the chain goes on with the review job.
    async def route_to_review(completion: WorkerlessCompletion[InProcessTx]) -> None:
        request = completion.job.input

        async def hand_off(ctx: CompleteContext[InProcessTx]) -> ContinuationJob[ReviewIn]:
            review = ReviewIn(order_id=request["order_id"], amount_cents=request["amount_cents"], queue="billing")
            return await ctx.continue_with(review_refund, input=review)

        await completion.complete(completion.job, hand_off)

    async with transaction_hooks() as hooks:
        chain = await state.with_transaction(
            lambda tx: client.complete_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=request_refund, id=started.id, complete=route_to_review
            )
        )
    print(f"after the hand-off the chain is {chain.status}")
    # --8<-- [end:continue]

    # --8<-- [start:finish]
    # Step 2: the reviewer approves. `job_type=review_refund` makes the type checker hold
    # the callback's return value to the review's output type.
    async def approve(completion: WorkerlessCompletion[InProcessTx]) -> None:
        async def decide(ctx: CompleteContext[InProcessTx]) -> RefundOut:
            return RefundOut(refunded_cents=2_999, reviewer="sam")

        await completion.complete(completion.job, decide, job_type=review_refund)

    async with transaction_hooks() as hooks:
        chain = await state.with_transaction(
            lambda tx: client.complete_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=request_refund, id=started.id, complete=approve
            )
        )
    if chain.status == "completed":
        print(f"chain completed with output {chain.output}")
    # --8<-- [end:finish]

    # --8<-- [start:again]
    # Completing a completed chain again is refused, and the transaction rolls back.
    try:
        async with transaction_hooks() as hooks:
            await state.with_transaction(
                lambda tx: client.complete_chain(
                    tx_ctx=tx, transaction_hooks=hooks, job_type=request_refund, id=started.id, complete=approve
                )
            )
    except JobAlreadyCompletedError as error:
        print(f"second approval refused: {error}")
    # --8<-- [end:again]

    # --8<-- [start:jobs]
    page = await client.list_chain_jobs(started.id)
    for job in page.items:
        if job.status == "completed":
            print(f"  #{job.chain_index} {job.type_name:<16} completed_by={job.completed_by} output={job.output}")
    # --8<-- [end:jobs]

    await state.close()


if __name__ == "__main__":
    asyncio.run(main())
