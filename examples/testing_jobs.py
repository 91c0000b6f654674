"""Testing your jobs: run handlers on demand with `process_until_idle` and `process_one`, no sleeping.

The functions below are ordinary pytest tests (with pytest-asyncio); run as a script,
`uv run python examples/testing_jobs.py` calls them one after another.
"""

# --8<-- [start:app]
import asyncio
from collections.abc import AsyncGenerator
from typing import TypedDict

from queuert import (
    AttemptContext,
    AttemptResult,
    BackoffConfig,
    Client,
    CompleteContext,
    ContinuationJob,
    EntryJobType,
    InProcessStateAdapter,
    InProcessTx,
    JobType,
    NoOutput,
    Processor,
    Processors,
    WorkerDefaults,
    create_client,
    create_in_process_state_adapter,
    create_processors,
    define_job_types,
    transaction_hooks,
)
from queuert.testing import FlakyStateAdapter, fail_operations, process_one, process_until_idle


class SignupIn(TypedDict):
    email: str


class WelcomeIn(TypedDict):
    email: str


class Sent(TypedDict):
    to: str


signup = EntryJobType[SignupIn, NoOutput, Sent]("users.signup", continue_with="users.welcome")
welcome = JobType[WelcomeIn, Sent]("users.welcome")
job_types = define_job_types(signup, welcome)

outbox: list[str] = []  # stands in for the mail service


async def handle_signup(ctx: AttemptContext[InProcessTx, SignupIn, NoOutput]) -> AttemptResult[SignupIn, NoOutput]:
    async def hand_off(complete: CompleteContext[InProcessTx]) -> ContinuationJob[WelcomeIn]:
        return await complete.continue_with(welcome, input=WelcomeIn(email=ctx.job.input["email"]))

    return await ctx.complete(hand_off)


async def handle_welcome(ctx: AttemptContext[InProcessTx, WelcomeIn, Sent]) -> AttemptResult[WelcomeIn, Sent]:
    if "@" not in ctx.job.input["email"]:
        raise ValueError(f"cannot mail {ctx.job.input['email']!r}")
    outbox.append(ctx.job.input["email"])

    async def finish(_: CompleteContext[InProcessTx]) -> Sent:
        return Sent(to=ctx.job.input["email"])

    return await ctx.complete(finish)


def make_processors(client: Client[InProcessTx]) -> Processors[InProcessTx]:
    return create_processors(
        client=client,
        processors=[
            Processor(job_type=signup, attempt_handler=handle_signup),
            Processor(job_type=welcome, attempt_handler=handle_welcome),
        ],
    )


# --8<-- [end:app]


# --8<-- [start:fixtures]
# conftest.py (with `@pytest_asyncio.fixture`, or `asyncio_mode = "auto"`)
async def state_adapter() -> AsyncGenerator[InProcessStateAdapter]:
    adapter = await create_in_process_state_adapter()
    yield adapter
    await adapter.close()


async def sign_up(client: Client[InProcessTx], state: InProcessStateAdapter, email: str) -> str:
    async with transaction_hooks() as hooks:
        started = await state.with_transaction(
            lambda tx: client.start_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=signup, input=SignupIn(email=email)
            )
        )
    return started.id


# --8<-- [end:fixtures]


# --8<-- [start:tests]
async def test_signup_sends_a_welcome_mail(state_adapter: InProcessStateAdapter) -> None:
    client = await create_client(state_adapter=state_adapter, job_types=job_types)
    chain_id = await sign_up(client, state_adapter, "ada@example.com")

    summary = await process_until_idle(client, make_processors(client))

    summary.raise_errors()  # fail the test with the handler's own exception, if any
    assert [o.status for o in summary.outcomes] == ["continued", "completed"]
    chain = await client.get_chain(chain_id)
    assert chain is not None
    assert chain.status == "completed"
    assert chain.output == {"to": "ada@example.com"}


async def test_a_bad_address_is_retried_with_backoff(state_adapter: InProcessStateAdapter) -> None:
    client = await create_client(state_adapter=state_adapter, job_types=job_types)
    await sign_up(client, state_adapter, "not-an-address")

    summary = await process_until_idle(client, make_processors(client))

    [failed] = summary.failed
    assert failed.type_name == "users.welcome"
    assert failed.status == "rescheduled"  # waiting for its retry: not due, so the run is idle
    assert isinstance(failed.error, ValueError)


async def test_retries_run_at_once_with_a_zero_backoff(state_adapter: InProcessStateAdapter) -> None:
    client = await create_client(state_adapter=state_adapter, job_types=job_types)
    await sign_up(client, state_adapter, "bob@example.com")
    # The store fails the first two `complete_job` calls: the signup job fails twice.
    flaky = FlakyStateAdapter(state_adapter, plan=fail_operations("complete_job", times=2))
    flaky_client = await create_client(state_adapter=flaky, job_types=job_types)
    no_wait = WorkerDefaults(backoff_config=BackoffConfig(initial_delay_ms=0, max_delay_ms=0))

    first = await process_one(flaky_client, make_processors(flaky_client), defaults=no_wait)
    assert first is not None
    assert first.status == "rescheduled"  # the signup job could not complete
    summary = await process_until_idle(flaky_client, make_processors(flaky_client), defaults=no_wait)
    assert [o.status for o in summary.outcomes] == ["rescheduled", "continued", "completed"]


# --8<-- [end:tests]


async def main() -> None:
    for test in (
        test_signup_sends_a_welcome_mail,
        test_a_bad_address_is_retried_with_backoff,
        test_retries_run_at_once_with_a_zero_backoff,
    ):
        fixture = state_adapter()
        adapter = await anext(fixture)
        try:
            await test(adapter)
        finally:
            await fixture.aclose()
        print(f"passed: {test.__name__}")
    print(f"mails sent: {outbox}")


if __name__ == "__main__":
    asyncio.run(main())
