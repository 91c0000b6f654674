"""Quickstart: a sign-up flow as job chains in a SQLite file, processed by a worker. No server needed.

Each sign-up writes a `users` row and starts two chains in the same transaction:

* `users.sign_up` -> `users.welcome_email` (a continuation), and
* `users.follow_up`, blocked until the sign-up chain has completed.

One sign-up fails after its row and chains were written: the transaction rolls back and its
chains never existed. A worker then processes everything; the script prints a line per job
attempt and the final outputs, and deletes its database file at the end.

    uv run python examples/quickstart.py
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from pathlib import Path
from typing import Any, TypedDict

import aiosqlite

from queuert import (
    AttemptContext,
    AttemptResult,
    CompleteContext,
    ContinuationJob,
    EntryJobType,
    JobType,
    NoOutput,
    Processor,
    Slot,
    create_client,
    create_in_process_notify_adapter,
    create_in_process_worker,
    create_processors,
    define_job_types,
    transaction_hooks,
)
from queuert_sqlite import create_aiosqlite_provider, create_sqlite_state_adapter

Tx = aiosqlite.Connection


class SignUp(TypedDict):
    user_id: int
    email: str


class Welcome(TypedDict):
    user_id: int
    email: str


class Sent(TypedDict):
    to: str
    subject: str


class FollowUp(TypedDict):
    user_id: int


class FollowedUp(TypedDict):
    user_id: int
    tip: str


sign_up = EntryJobType[SignUp, NoOutput, Sent]("users.sign_up", continue_with="users.welcome_email")
welcome_email = JobType[Welcome, Sent]("users.welcome_email")
follow_up = EntryJobType[FollowUp, FollowedUp]("users.follow_up", blockers=[Slot(sign_up)])
job_types = define_job_types(sign_up, welcome_email, follow_up)


def progress(ctx: AttemptContext[Tx, Any, Any], what: str) -> None:
    job = ctx.job
    print(f"  [{job.type_name:<19}] chain {job.chain_id[:8]} step {job.chain_index} attempt {job.attempt}: {what}")


async def handle_sign_up(ctx: AttemptContext[Tx, SignUp, NoOutput]) -> AttemptResult[SignUp, NoOutput]:
    progress(ctx, f"account {ctx.job.input['user_id']} ready, handing over to the welcome e-mail")

    async def hand_over(complete: CompleteContext[Tx]) -> ContinuationJob[Welcome]:
        account = ctx.job.input
        return await complete.continue_with(
            welcome_email, input=Welcome(user_id=account["user_id"], email=account["email"])
        )

    return await ctx.complete(hand_over)


async def handle_welcome(ctx: AttemptContext[Tx, Welcome, Sent]) -> AttemptResult[Welcome, Sent]:
    # Staged: commit the pickup and hold a lease while the slow "mail server" call runs.
    await ctx.prepare("staged")
    await asyncio.sleep(0.05)
    progress(ctx, f"e-mail sent to {ctx.job.input['email']}")

    async def sent(_: CompleteContext[Tx]) -> Sent:
        return Sent(to=ctx.job.input["email"], subject="Welcome aboard")

    return await ctx.complete(sent)


async def handle_follow_up(ctx: AttemptContext[Tx, FollowUp, FollowedUp]) -> AttemptResult[FollowUp, FollowedUp]:
    [signed_up] = ctx.job.blockers
    progress(ctx, f"released: sign-up chain {signed_up.id[:8]} finished with {signed_up.output}")

    async def done(_: CompleteContext[Tx]) -> FollowedUp:
        return FollowedUp(user_id=ctx.job.input["user_id"], tip="Try the keyboard shortcuts")

    return await ctx.complete(done)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="queuert-quickstart-") as folder:
        path = Path(folder) / "app.db"
        print(f"database: {path}")
        provider = await create_aiosqlite_provider(path)
        state = await create_sqlite_state_adapter(state_provider=provider)
        await state.migrate_to_latest()
        async with provider.transaction() as conn:
            await conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)")

        notify = await create_in_process_notify_adapter()
        client = await create_client(state_adapter=state, notify_adapter=notify, job_types=job_types)

        async def register(user_id: int, email: str) -> str | None:
            """Insert the user and start its chains atomically; returns the follow-up chain id."""
            try:
                async with transaction_hooks() as hooks, provider.transaction() as conn:
                    await conn.execute("INSERT INTO users (id, email) VALUES (?, ?)", (user_id, email))
                    signed = await client.start_chain(
                        tx_ctx=conn,
                        transaction_hooks=hooks,
                        job_type=sign_up,
                        input=SignUp(user_id=user_id, email=email),
                    )
                    follow = await client.start_chain(
                        tx_ctx=conn,
                        transaction_hooks=hooks,
                        job_type=follow_up,
                        input=FollowUp(user_id=user_id),
                        blockers=[signed],
                    )
                    print(
                        f"user {user_id} <{email}>: chains {signed.id[:8]} ({signed.status}), "
                        f"{follow.id[:8]} ({follow.status})"
                    )
                    return follow.id
            except sqlite3.IntegrityError:
                print(f"user {user_id} <{email}>: e-mail taken, transaction rolled back: no user, no chains")
                return None

        registered = [await register(1, "ada@example.com"), await register(2, "grace@example.com")]
        registered.append(await register(3, "ada@example.com"))
        follow_up_ids = [chain_id for chain_id in registered if chain_id is not None]

        processors = create_processors(
            client=client,
            processors=[
                Processor(job_type=sign_up, attempt_handler=handle_sign_up),
                Processor(job_type=welcome_email, attempt_handler=handle_welcome),
                Processor(job_type=follow_up, attempt_handler=handle_follow_up),
            ],
        )
        print("worker started")
        async with await create_in_process_worker(client=client, processors=processors, concurrency=2):
            finished = [await client.await_chain(chain_id, timeout_ms=10_000) for chain_id in follow_up_ids]
        print("worker stopped")

        for chain in finished:
            print(f"follow-up chain {chain.id[:8]} completed: {chain.output}")
        async with provider.transaction() as conn, conn.execute("SELECT count(*) FROM users") as cursor:
            [users] = await cursor.fetchone() or (0,)
        chains = await client.list_chains()
        all_completed = all(chain.status == "completed" for chain in chains.items)
        print(f"users: {users}, chains: {len(chains.items)}, all completed: {all_completed}")
        await notify.close()
        await state.close()
    print("database removed")


if __name__ == "__main__":
    asyncio.run(main())
