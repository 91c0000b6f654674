"""Client misuse that `mypy --strict` must reject, one `# E: <code>` per offending line.

Checked by `tests/test_typing.py`; never executed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from queuert import (
    Client,
    CompleteContext,
    EntryJobType,
    InProcessTx,
    JobType,
    TransactionHooks,
    WorkerlessCompletion,
)


class SignupIn(TypedDict):
    email: str


class OtherIn(TypedDict):
    name: str


@dataclass(frozen=True)
class Welcome:
    email: str


class Sent(TypedDict):
    sent: bool


signup = EntryJobType[SignupIn, Sent]("signup", continue_with="welcome")
welcome = JobType[Welcome, Sent]("welcome")
count = EntryJobType[int, int]("count")


# mypy reports a wrong input for a typed job type as "Cannot infer value of type parameter" [misc]:
# the job type and the input disagree about `InT`.
async def wrong_inputs(client: Client[InProcessTx], tx: InProcessTx, hooks: TransactionHooks) -> None:
    start = client.start_chain
    await start(tx_ctx=tx, transaction_hooks=hooks, job_type=count, input="three")  # E: misc
    await start(tx_ctx=tx, transaction_hooks=hooks, job_type=signup, input=OtherIn(name="x"))  # E: misc
    await start(tx_ctx=tx, transaction_hooks=hooks, job_type=welcome, input=Welcome(email="x"))  # E: call-overload
    await start(tx_ctx=tx, job_type=count, input=1)  # E: call-overload
    await start(tx_ctx="not a transaction", transaction_hooks=hooks, job_type=count, input=1)  # E: call-overload


async def wrong_continuation(ctx: CompleteContext[InProcessTx]) -> None:
    await ctx.continue_with(welcome, input=SignupIn(email="x"))  # E: misc


async def wrong_output(completion: WorkerlessCompletion[InProcessTx]) -> None:
    async def finish(_ctx: CompleteContext[InProcessTx]) -> str:
        return "not sent"

    await completion.complete(completion.job, finish, job_type=welcome)  # E: arg-type


async def wrong_reads(client: Client[InProcessTx]) -> str:
    chain = await client.get_chain("id", job_type=signup)
    text = ""
    if chain is not None and chain.status == "completed":
        text = chain.output  # E: assignment
    return text
