"""The raw PostgreSQL limits that the processing-capacity benchmark holds queuert against.

* **raw process rate**: `concurrency` asyncpg connections, each looping over one transaction
  per job: claim the oldest due job of the type with `FOR UPDATE SKIP LOCKED` (marking it
  running), mark it completed, commit. That is the least a job queue on this schema can do
  per job: four round trips (BEGIN, claim, complete, COMMIT).
* **raw insert rate**: `concurrency` producers, each taking a pooled connection for one
  transaction inserting one job row (BEGIN, INSERT, COMMIT, then the pool's reset on
  release): what an application pays to insert a row the way it starts a chain, in its own
  transaction on a pooled connection. That is the floor for starting chains one at a time.

* **raw batched insert rate**: the same producers inserting 100 rows per transaction with one
  `INSERT ... SELECT FROM unnest(...)`, the floor for starting chains in batches.

* **queuert's statements**: the raw process loop again, but sending the statements a queuert
  worker sends for an atomic attempt (its claim, the completion savepoint the worker spec
  requires, its completion): what the worker could reach if the library around the SQL
  cost nothing. Five round trips per job.

All run on queuert's own tables, created in a throwaway schema with the consolidated schema
script, so they pay the same index and trigger maintenance as queuert does. The process
loops also report the client CPU they spend per job.

    uv run python benchmarks/processing_capacity/raw_postgres.py [--dsn DSN] [--jobs 5000] [--loop uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import asyncpg

from queuert_postgres import get_schema_sql

# Private on purpose: the benchmark sends the adapter's own statements, not a copy of them.
from queuert_postgres._queries import ACQUIRE_JOB_ONE_TYPE, COMPLETE_JOB, expand_macros
from queuert_postgres._schema import SchemaNames

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Coroutine, Iterator

    from asyncpg.pool import PoolConnectionProxy

T = TypeVar("T")
Connection: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"

DEFAULT_DSN = os.environ.get("QUEUERT_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
TYPE_NAME = "bench.noop"

CLAIM = """
UPDATE {job} j SET status = 'running', attempt = j.attempt + 1
WHERE j.id = (
  SELECT p.id FROM {job} p
  WHERE p.type_name = $1 AND p.status = 'pending' AND p.scheduled_at <= now()
  ORDER BY p.scheduled_at LIMIT 1 FOR UPDATE SKIP LOCKED
)
RETURNING j.id
"""
COMPLETE = "UPDATE {job} SET status = 'completed', completed_at = now(), output = 'null' WHERE id = $1"
INSERT_BATCH = (
    "INSERT INTO {job} (id, type_name, chain_id, chain_type_name, chain_index, input) "
    "SELECT u, $2, u, $2, 0, i::jsonb FROM unnest($1::uuid[], $3::text[]) AS n(u, i)"
)
INSERT = (
    "INSERT INTO {job} (id, type_name, chain_id, chain_type_name, chain_index, input) "
    "VALUES ($1::uuid, $2, $1::uuid, $2, 0, $3::jsonb)"
)


@dataclass(frozen=True, slots=True)
class LoopRate:
    """A loop's rate and the client CPU it spent per job (per row for the insert loops)."""

    jobs_per_s: float
    cpu_us_per_job: float


@dataclass(frozen=True, slots=True)
class RawRates:
    """What one run measured."""

    process: LoopRate
    statements: LoopRate
    statements_without_savepoint: LoopRate
    insert: LoopRate
    batched_insert: LoopRate
    jobs: int
    concurrency: int


def run_on_loop(main: Coroutine[Any, Any, T], loop: str) -> T:
    """Run `main` on asyncio's own event loop (`"asyncio"`) or on uvloop's (`"uvloop"`)."""
    if loop == "uvloop":
        import uvloop

        return uvloop.run(main)
    if loop != "asyncio":
        raise ValueError(f"unknown event loop {loop!r}")
    return asyncio.run(main)


@asynccontextmanager
async def throwaway_schema(dsn: str) -> AsyncIterator[str]:
    """A schema with the latest queuert tables, dropped afterwards; yields the job table's name."""
    schema = f"bench_raw_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(get_schema_sql(schema=schema))
        yield f"{schema}.queuert_job"
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()


async def seed(pool: asyncpg.Pool[Any], job_table: str, jobs: int) -> None:
    """Insert `jobs` pending jobs in one statement, then refresh the planner's statistics."""
    await pool.execute(
        f"INSERT INTO {job_table} (id, type_name, chain_id, chain_type_name, chain_index, input) "
        "SELECT u, $1, u, $1, 0, '{}'::jsonb FROM (SELECT gen_random_uuid() AS u FROM generate_series(1, $2)) s",
        TYPE_NAME,
        jobs,
    )
    await pool.execute(f"VACUUM ANALYZE {job_table}")


async def warm_up(pool: asyncpg.Pool[Any], sql: str, connections: int, args: Callable[[], tuple[object, ...]]) -> None:
    """One untimed transaction on each of `connections` pooled connections (statements prepared, types learnt)."""

    async def once() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(sql, *args())

    await asyncio.gather(*(once() for _ in range(connections)))


async def _process_rate(
    dsn: str,
    *,
    jobs: int,
    concurrency: int,
    transaction: Callable[[Connection, str], Coroutine[Any, Any, bool]],
) -> LoopRate:
    """`concurrency` loops, each on one connection, running `transaction(conn, schema)` until it returns False."""
    async with throwaway_schema(dsn) as job_table:
        schema = job_table.split(".", 1)[0]
        pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)
        try:
            await seed(pool, job_table, jobs)

            async def loop() -> int:
                done = 0
                async with pool.acquire() as conn:
                    while await transaction(conn, schema):
                        done += 1
                return done

            started, cpu_started = time.perf_counter(), time.process_time()
            processed = sum(await asyncio.gather(*(loop() for _ in range(concurrency))))
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        finally:
            await pool.close()
    if processed != jobs:
        raise RuntimeError(f"processed {processed} of {jobs} jobs")
    return LoopRate(jobs_per_s=processed / elapsed, cpu_us_per_job=cpu / processed * 1e6)


@cache
def _statements(schema: str, *, queuert: bool) -> tuple[str, str]:
    if queuert:
        names = SchemaNames(schema=schema)
        return names.render(expand_macros(ACQUIRE_JOB_ONE_TYPE)), names.render(expand_macros(COMPLETE_JOB))
    return CLAIM.format(job=f"{schema}.queuert_job"), COMPLETE.format(job=f"{schema}.queuert_job")


async def measure_raw_process(
    dsn: str,
    *,
    jobs: int = 5000,
    concurrency: int = 10,
    queuert_statements: bool = False,
    completion_savepoint: bool = True,
) -> LoopRate:
    """The bare claim-and-complete loop at `concurrency`: four round trips per job.

    With `queuert_statements`, it sends a queuert worker's statements for an atomic attempt
    instead, with the completion savepoint between them: five round trips per job. Without
    `completion_savepoint` it leaves that savepoint out (four round trips), which no worker
    following the specification may do: the difference is what the savepoint costs.
    """

    async def transaction(conn: Connection, schema: str) -> bool:
        claim, complete = _statements(schema, queuert=queuert_statements)
        async with conn.transaction():
            row = await conn.fetchrow(claim, TYPE_NAME)
            if row is None:
                return False
            if queuert_statements:
                if completion_savepoint:
                    # Like the worker, leave the savepoint's release to the COMMIT.
                    await conn.execute("SAVEPOINT queuert_completion")
                await conn.fetch(complete, row["id"], "null", "bench")
            else:
                await conn.execute(complete, row["id"])
        return True

    return await _process_rate(dsn, jobs=jobs, concurrency=concurrency, transaction=transaction)


async def _insert_rate(
    dsn: str,
    *,
    sql: str,
    transactions: Iterator[tuple[object, ...]],
    warm_up_args: Callable[[], tuple[object, ...]],
    rows: int,
    concurrency: int,
) -> LoopRate:
    """`concurrency` producers each running one `sql` insert per transaction, arguments in turn (rates per row)."""
    async with throwaway_schema(dsn) as job_table:
        pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)
        try:
            insert = sql.format(job=job_table)

            async def producer() -> None:
                for args in transactions:
                    async with pool.acquire() as conn, conn.transaction():
                        await conn.execute(insert, *args)

            await warm_up(pool, insert, concurrency, warm_up_args)
            started, cpu_started = time.perf_counter(), time.process_time()
            await asyncio.gather(*(producer() for _ in range(concurrency)))
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        finally:
            await pool.close()
    return LoopRate(jobs_per_s=rows / elapsed, cpu_us_per_job=cpu / rows * 1e6)


async def measure_raw_insert(dsn: str, *, rows: int = 5000, concurrency: int = 10) -> LoopRate:
    """Rows per second of `concurrency` producers inserting one job row per transaction on pooled connections."""
    return await _insert_rate(
        dsn,
        sql=INSERT,
        transactions=((str(uuid.uuid4()), TYPE_NAME, f'{{"n":{n}}}') for n in range(rows)),
        warm_up_args=lambda: (str(uuid.uuid4()), TYPE_NAME, "{}"),
        rows=rows,
        concurrency=concurrency,
    )


async def measure_raw_batched_insert(
    dsn: str, *, rows: int = 5000, batch: int = 100, concurrency: int = 10
) -> LoopRate:
    """Rows per second of `concurrency` producers inserting `batch` job rows per transaction on pooled connections."""

    def batches() -> Iterator[tuple[object, ...]]:
        for first in range(0, rows, batch):
            count = min(batch, rows - first)
            yield [uuid.uuid4() for _ in range(count)], TYPE_NAME, [f'{{"n":{first + i}}}' for i in range(count)]

    return await _insert_rate(
        dsn,
        sql=INSERT_BATCH,
        transactions=batches(),
        warm_up_args=lambda: ([uuid.uuid4() for _ in range(batch)], TYPE_NAME, ["{}"] * batch),
        rows=rows,
        concurrency=concurrency,
    )


async def measure(dsn: str, *, jobs: int = 5000, concurrency: int = 10) -> RawRates:
    """Every raw limit, measured one after the other."""
    process = await measure_raw_process(dsn, jobs=jobs, concurrency=concurrency)
    statements = await measure_raw_process(dsn, jobs=jobs, concurrency=concurrency, queuert_statements=True)
    without_savepoint = await measure_raw_process(
        dsn, jobs=jobs, concurrency=concurrency, queuert_statements=True, completion_savepoint=False
    )
    insert = await measure_raw_insert(dsn, rows=jobs, concurrency=concurrency)
    batched = await measure_raw_batched_insert(dsn, rows=jobs, concurrency=concurrency)
    return RawRates(
        process=process,
        statements=statements,
        statements_without_savepoint=without_savepoint,
        insert=insert,
        batched_insert=batched,
        jobs=jobs,
        concurrency=concurrency,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args()
    rates = run_on_loop(measure(args.dsn, jobs=args.jobs, concurrency=args.concurrency), args.loop)
    rows = [
        (f"claim+complete, concurrency {rates.concurrency} (jobs/s)", rates.process.jobs_per_s),
        ("  client CPU per job (us)", rates.process.cpu_us_per_job),
        ("queuert's statements (jobs/s)", rates.statements.jobs_per_s),
        ("  client CPU per job (us)", rates.statements.cpu_us_per_job),
        ("the same without the completion savepoint (jobs/s)", rates.statements_without_savepoint.jobs_per_s),
        ("  client CPU per job (us)", rates.statements_without_savepoint.cpu_us_per_job),
        ("single-row insert transactions (rows/s)", rates.insert.jobs_per_s),
        ("  client CPU per row (us)", rates.insert.cpu_us_per_job),
        ("100-row insert transactions (rows/s)", rates.batched_insert.jobs_per_s),
        ("  client CPU per row (us)", rates.batched_insert.cpu_us_per_job),
    ]
    sys.stdout.write(f"{'raw limit':<44} {'rate':>12}\n")
    sys.stdout.writelines(f"{label:<44} {value:>12,.0f}\n" for label, value in rows)


if __name__ == "__main__":
    main()
