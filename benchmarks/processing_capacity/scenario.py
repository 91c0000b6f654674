"""One measurement of the processing-capacity benchmark, in a process of its own.

The orchestrator (`__main__.py`) runs this script once per measurement, so that each
peak RSS belongs to one worker process and no measurement warms up the next. It prints
one JSON object on its last line. It can also be run by hand:

    uv run python benchmarks/processing_capacity/scenario.py --adapter sqlite --phase process \
        --mode atomic --jobs 5000 --backlog 5000 --concurrency 10 --sqlite-path /tmp/q.db

Phases:

* `start-single`: `--jobs` chains, one per transaction, from `--concurrency` producers.
* `start-batched`: `--jobs` chains in transactions of `--batch` chains each.
* `seed`: `--backlog` pending chains, for a later `process` phase in another process.
* `process`: a worker with `--concurrency` slots and a no-op handler processes `--jobs`
  jobs of a backlog of `--backlog` pending chains (seeded here only for the in-process
  adapter, whose state lives in this process).

`--loop uvloop` runs the measurement on uvloop's event loop instead of asyncio's own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, TypedDict, TypeVar

import asyncpg

from queuert import (
    AttemptContext,
    AttemptResult,
    Client,
    CompleteContext,
    EntryJobType,
    Processor,
    StartChainItem,
    create_client,
    create_in_process_state_adapter,
    create_in_process_worker,
    create_processors,
    define_job_types,
    transaction_hooks,
)
from queuert_postgres import AsyncpgPoolProvider, create_pg_state_adapter
from queuert_sqlite import create_aiosqlite_provider, create_sqlite_state_adapter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Coroutine

    from queuert.adapters import StateAdapter

Adapter = Literal["postgres", "sqlite", "in-process"]
SEED_BATCH = 1_000
T = TypeVar("T")


class Noop(TypedDict):
    n: int


noop = EntryJobType[Noop, None]("bench.noop")
JOB_TYPES = define_job_types(noop)


async def skip_session_reset(_conn: asyncpg.Connection[Any]) -> None:
    """A pool reset that adds nothing to asyncpg's own (which still rolls back an open transaction)."""


@asynccontextmanager
async def open_state(args: argparse.Namespace) -> AsyncIterator[StateAdapter[Any]]:
    """The state adapter under test; the schema or file was prepared by the orchestrator."""
    adapter: Adapter = args.adapter
    if adapter == "postgres":
        # Two more connections than slots: the worker's loop queries while every slot is busy.
        # A worker's pool is `dedicated`: the tuning the PostgreSQL guide gives for a pool that
        # only queuert uses (no session reset on release, connections kept between jobs).
        dedicated = args.phase == "process" and args.pool == "dedicated"
        pool = await asyncpg.create_pool(
            args.dsn,
            min_size=args.concurrency + 2,
            max_size=args.concurrency + 2,
            reset=skip_session_reset if dedicated else None,
        )
        provider = AsyncpgPoolProvider(pool, close_pool=True, keep_connections_s=0.1 if dedicated else 0.0)
        state: StateAdapter[Any] = await create_pg_state_adapter(state_provider=provider, schema=args.schema)
    elif adapter == "sqlite":
        state = await create_sqlite_state_adapter(state_provider=await create_aiosqlite_provider(args.sqlite_path))
    else:
        state = await create_in_process_state_adapter()
    try:
        yield state
    finally:
        await state.close()


async def start_chains(client: Client[Any], state: StateAdapter[Any], first: int, count: int) -> None:
    """Start `count` chains in one transaction (`count == 1` uses `start_chain`)."""
    async with transaction_hooks() as hooks:
        if count == 1:
            await state.with_transaction(
                lambda tx: client.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=noop, input=Noop(n=first))
            )
        else:
            items = [StartChainItem(job_type=noop, input=Noop(n=first + i)) for i in range(count)]
            await state.with_transaction(
                lambda tx: client.start_chains(tx_ctx=tx, transaction_hooks=hooks, items=items)
            )


async def produce(
    client: Client[Any], state: StateAdapter[Any], *, jobs: int, batch: int, concurrency: int
) -> tuple[float, float]:
    """Start `jobs` chains in transactions of `batch`, from `concurrency` producers; elapsed and CPU seconds."""
    batches = iter(range(0, jobs, batch))

    async def producer() -> None:
        for first in batches:
            await start_chains(client, state, first, min(batch, jobs - first))

    # One untimed transaction per producer first: each pooled connection prepares its
    # statements and learns the array types once, which a long-running application has done.
    await asyncio.gather(*(start_chains(client, state, -1, batch) for _ in range(concurrency)))
    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(producer() for _ in range(concurrency)))
    return time.perf_counter() - started, time.process_time() - cpu_started


async def process(client: Client[Any], *, jobs: int, concurrency: int, mode: str) -> tuple[float, float]:
    """Run a worker until it has completed `jobs` jobs; elapsed and CPU seconds, from start to a drained stop."""
    completed = 0
    done = asyncio.Event()

    async def handler(ctx: AttemptContext[Any, Noop, None]) -> AttemptResult[Noop, None]:
        nonlocal completed
        if mode == "staged":
            await ctx.prepare("staged")

        async def finish(_: CompleteContext[Any]) -> None:
            return None

        result: AttemptResult[Noop, None] = await ctx.complete(finish)
        completed += 1
        if completed >= jobs:
            done.set()
        return result

    processors = create_processors(client=client, processors=[Processor(job_type=noop, attempt_handler=handler)])
    worker = await create_in_process_worker(client=client, processors=processors, concurrency=concurrency)
    started = time.perf_counter()
    cpu_started = time.process_time()
    stop = await worker.start()
    await done.wait()
    await stop()
    return time.perf_counter() - started, time.process_time() - cpu_started


async def run(args: argparse.Namespace) -> dict[str, float]:
    async with open_state(args) as state:
        client = await create_client(state_adapter=state, job_types=JOB_TYPES)
        phase = args.phase
        if phase in ("start-single", "start-batched"):
            batch = 1 if phase == "start-single" else args.batch
            elapsed, cpu = await produce(client, state, jobs=args.jobs, batch=batch, concurrency=args.concurrency)
            return {"rate": args.jobs / elapsed, "cpu_us_per_chain": cpu / args.jobs * 1e6}
        if phase == "seed":
            await produce(client, state, jobs=args.backlog, batch=SEED_BATCH, concurrency=1)
            return {}
        if args.adapter == "in-process":
            await produce(client, state, jobs=args.backlog, batch=SEED_BATCH, concurrency=1)
        elapsed, cpu = await process(client, jobs=args.jobs, concurrency=args.concurrency, mode=args.mode)
        return {"rate": args.jobs / elapsed, "cpu_us_per_job": cpu / args.jobs * 1e6}


def run_on_loop(main: Coroutine[Any, Any, T], loop: str) -> T:
    """Run `main` on asyncio's own event loop or on uvloop's."""
    if loop == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adapter", choices=["postgres", "sqlite", "in-process"], required=True)
    parser.add_argument("--phase", choices=["start-single", "start-batched", "seed", "process"], required=True)
    parser.add_argument("--mode", choices=["atomic", "staged"], default="atomic")
    parser.add_argument("--jobs", type=int, default=5_000)
    parser.add_argument("--backlog", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--schema", default="public")
    parser.add_argument("--sqlite-path", default="")
    parser.add_argument("--pool", choices=["dedicated", "shared"], default="dedicated")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args()
    result: dict[str, float] = run_on_loop(run(args), args.loop)
    # ru_maxrss is in KiB on Linux.
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
