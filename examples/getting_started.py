"""Getting started: define job types, start a chain in a transaction, complete it without a worker, await it.

Run it with `uv run python examples/getting_started.py`. Everything lives in memory (the
in-process adapters), so nothing needs to be installed or running.
"""

# --8<-- [start:job-types]
import asyncio
from typing import TypedDict

from queuert import (
    CompleteContext,
    EntryJobType,
    InProcessTx,
    StartedChain,
    WorkerlessCompletion,
    create_client,
    create_in_process_notify_adapter,
    create_in_process_state_adapter,
    define_job_types,
    transaction_hooks,
)


class ExpenseIn(TypedDict):
    expense_id: str
    amount_cents: int


class Decision(TypedDict):
    approved: bool
    approver: str


# An entry type can start a chain. This chain has a single job: it waits until someone
# approves or rejects the expense, and the decision is the chain's output.
approve_expense = EntryJobType[ExpenseIn, Decision]("expenses.approve")

job_types = define_job_types(approve_expense)
# --8<-- [end:job-types]


async def main() -> None:
    # --8<-- [start:client]
    state_adapter = await create_in_process_state_adapter()
    notify_adapter = await create_in_process_notify_adapter()
    client = await create_client(state_adapter=state_adapter, notify_adapter=notify_adapter, job_types=job_types)
    # --8<-- [end:client]

    # --8<-- [start:start]
    # The hooks wrap the transaction: they are flushed (notifications sent, events
    # emitted) only after the transaction has committed.
    async with transaction_hooks() as hooks:

        async def submit(tx: InProcessTx) -> StartedChain[ExpenseIn, Decision]:
            # ... your own writes go here, through the same transaction ...
            return await client.start_chain(
                tx_ctx=tx,
                transaction_hooks=hooks,
                job_type=approve_expense,
                input=ExpenseIn(expense_id="exp-42", amount_cents=12_50),
            )

        started = await state_adapter.with_transaction(submit)

    print(f"started chain {started.type_name} with status {started.status}")
    # --8<-- [end:start]

    # --8<-- [start:await]
    # Somebody waits for the outcome: a request handler, a test, another service.
    waiter = asyncio.create_task(client.await_chain(started, timeout_ms=10_000))
    # --8<-- [end:await]

    # --8<-- [start:complete]
    # Later, the approver clicks "approve": complete the chain from application code.
    async def record_decision(ctx: CompleteContext[InProcessTx]) -> Decision:
        # ctx.tx_ctx is the open transaction, for your own writes that belong with the decision.
        return Decision(approved=True, approver="alice")

    async def complete(completion: WorkerlessCompletion[InProcessTx]) -> None:
        await completion.complete(completion.job, record_decision, job_type=approve_expense)

    async with transaction_hooks() as hooks:
        await state_adapter.with_transaction(
            lambda tx: client.complete_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=approve_expense, id=started.id, complete=complete
            )
        )
    # --8<-- [end:complete]

    # --8<-- [start:result]
    completed = await waiter
    print(f"chain completed at {completed.completed_at.isoformat()}: {completed.output}")
    # --8<-- [end:result]

    await notify_adapter.close()
    await state_adapter.close()


if __name__ == "__main__":
    asyncio.run(main())
