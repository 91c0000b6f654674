"""Client calls that must type-check cleanly under `mypy --strict`, with the types they must produce.

Checked by `tests/test_typing.py`; never executed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict, assert_type

from queuert import (
    Chain,
    Client,
    CompleteContext,
    CompletedChain,
    ContinuationJob,
    EntryJobType,
    InProcessTx,
    Job,
    JobType,
    NoOutput,
    StartChainItem,
    StartedChain,
    TransactionHooks,
    WorkerlessCompletion,
)


class SignupIn(TypedDict):
    email: str


@dataclass(frozen=True)
class Welcome:
    email: str
    attempt: int


class Sent(TypedDict):
    sent: bool


signup = EntryJobType[SignupIn, NoOutput, Sent]("signup", continue_with="welcome")
welcome = JobType[Welcome, Sent]("welcome")
count = EntryJobType[int, int]("count")


async def starting(client: Client[InProcessTx], tx_ctx: InProcessTx, hooks: TransactionHooks) -> None:
    started = await client.start_chain(
        tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=signup, input=SignupIn(email="a@example.com")
    )
    assert_type(started, StartedChain[SignupIn, Sent])
    assert_type(started.input, SignupIn)

    counted = await client.start_chain(tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=count, input=3)
    assert_type(counted, StartedChain[int, int])

    untyped = await client.start_chain(tx_ctx=tx_ctx, transaction_hooks=hooks, job_type="count", input=3)
    assert_type(untyped, StartedChain[Any, Any])

    done = await client.await_chain(started, timeout_ms=1_000)
    assert_type(done, CompletedChain[SignupIn, Sent])
    assert_type(done.output, Sent)

    items = [StartChainItem(job_type=count, input=1), StartChainItem(job_type=count, input=2)]
    await client.start_chains(tx_ctx=tx_ctx, transaction_hooks=hooks, items=items)


async def reading(client: Client[InProcessTx]) -> None:
    chain = await client.get_chain("id", job_type=signup)
    assert_type(chain, Chain[SignupIn, Sent] | None)
    any_chain = await client.get_chain("id")
    assert_type(any_chain, Chain[Any, Any] | None)
    job = await client.get_job("id", job_type=welcome)
    assert_type(job, Job[Welcome] | None)
    if job is not None and job.status == "completed":
        assert_type(job.input, Welcome)


async def completing(client: Client[InProcessTx], tx_ctx: InProcessTx, hooks: TransactionHooks) -> None:
    async def hand_off(ctx: CompleteContext[InProcessTx]) -> ContinuationJob[Welcome]:
        continued = await ctx.continue_with(welcome, input=Welcome(email="a@example.com", attempt=1))
        assert_type(continued, ContinuationJob[Welcome])
        return continued

    async def finish(_ctx: CompleteContext[InProcessTx]) -> Sent:
        return Sent(sent=True)

    async def complete(completion: WorkerlessCompletion[InProcessTx]) -> None:
        if completion.job.type_name == "signup":
            await completion.complete(completion.job, hand_off)
        else:
            result = await completion.complete(completion.job, finish, job_type=welcome)
            assert_type(result, Sent | ContinuationJob[Any])

    chain = await client.complete_chain(
        tx_ctx=tx_ctx, transaction_hooks=hooks, job_type=signup, id="id", complete=complete
    )
    assert_type(chain, Chain[SignupIn, Sent])
