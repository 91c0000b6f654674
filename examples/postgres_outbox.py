"""PostgreSQL: migrate, start a chain in the application's own transaction, process it, await it.

Run it with `uv run python examples/postgres_outbox.py` against a PostgreSQL server
(`QUEUERT_POSTGRES_DSN`, default `postgresql://postgres@127.0.0.1:5432/test`). It works in a
schema of its own and drops it at the end.
"""

import asyncio
import os
import uuid
from typing import TypedDict

import asyncpg

from queuert import (
    AttemptContext,
    AttemptResult,
    CompleteContext,
    EntryJobType,
    Processor,
    create_client,
    create_in_process_worker,
    create_processors,
    define_job_types,
    transaction_hooks,
)
from queuert_postgres import (
    AsyncpgConnection,
    AsyncpgNotifyProvider,
    AsyncpgPoolProvider,
    create_pg_notify_adapter,
    create_pg_state_adapter,
)

DSN = os.environ.get("QUEUERT_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


class OrderIn(TypedDict):
    order_id: int


class Receipt(TypedDict):
    order_id: int
    sent: bool


send_receipt = EntryJobType[OrderIn, Receipt]("orders.send_receipt")
job_types = define_job_types(send_receipt)


async def handle_send_receipt(
    ctx: AttemptContext[AsyncpgConnection, OrderIn, Receipt],
) -> AttemptResult[OrderIn, Receipt]:
    async def finish(_: CompleteContext[AsyncpgConnection]) -> Receipt:
        return Receipt(order_id=ctx.job.input["order_id"], sent=True)

    return await ctx.complete(finish)


async def main() -> None:
    schema = f"example_{uuid.uuid4().hex[:8]}"
    # --8<-- [start:setup]
    pool = await asyncpg.create_pool(DSN, min_size=2, max_size=10)
    await pool.execute(f"CREATE SCHEMA {schema}")  # queuert never creates schemas itself

    state_adapter = await create_pg_state_adapter(state_provider=AsyncpgPoolProvider(pool), schema=schema)
    result = await state_adapter.migrate_to_latest()  # idempotent: run it at start-up or deploy
    print(f"applied {len(result.applied)} migrations")

    notify_adapter = await create_pg_notify_adapter(notify_provider=AsyncpgNotifyProvider(pool))
    client = await create_client(state_adapter=state_adapter, notify_adapter=notify_adapter, job_types=job_types)
    # --8<-- [end:setup]
    await pool.execute(f"CREATE TABLE {schema}.orders (id int PRIMARY KEY)")

    # --8<-- [start:outbox]
    async def place_order(order_id: int, *, fail: bool) -> str:
        # Your transaction, on your connection: the chain commits or rolls back with the order.
        async with transaction_hooks() as hooks, pool.acquire() as conn, conn.transaction():
            await conn.execute(f"INSERT INTO {schema}.orders (id) VALUES ($1)", order_id)
            started = await client.start_chain(
                tx_ctx=conn, transaction_hooks=hooks, job_type=send_receipt, input=OrderIn(order_id=order_id)
            )
            if fail:
                raise RuntimeError("card declined")
            return started.id

    try:
        await place_order(1, fail=True)
    except RuntimeError as error:
        chains = await client.list_chains()
        print(f"order 1 rolled back ({error}): {len(chains.items)} chains stored")
    chain_id = await place_order(2, fail=False)
    # --8<-- [end:outbox]

    # --8<-- [start:worker]
    processors = create_processors(
        client=client, processors=[Processor(job_type=send_receipt, attempt_handler=handle_send_receipt)]
    )
    async with await create_in_process_worker(client=client, processors=processors, concurrency=4):
        chain = await client.get_chain(chain_id, job_type=send_receipt)
        assert chain is not None
        completed = await client.await_chain(chain, timeout_ms=10_000)
    print(f"chain completed: {completed.output}")
    # --8<-- [end:worker]

    orders = [row["id"] for row in await pool.fetch(f"SELECT id FROM {schema}.orders")]
    chains = await client.list_chains()
    print(f"orders={orders} chains={len(chains.items)}")

    await notify_adapter.close()
    await state_adapter.close()
    await pool.execute(f"DROP SCHEMA {schema} CASCADE")
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
