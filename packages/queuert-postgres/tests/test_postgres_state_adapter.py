"""PostgreSQL-specific behaviour of the state adapter: plans, precision, races, errors, user transactions."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypedDict

import asyncpg
import psycopg
import pytest
import pytest_asyncio
import sqlalchemy.exc
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from queuert import (
    ChainFilter,
    ChainNotFoundError,
    DeduplicationOptions,
    DuplicateJobIdError,
    EntryJobType,
    JobFilter,
    JobNotFoundError,
    Rest,
    ScheduleAfter,
    ScheduleAt,
    create_client,
    define_job_types,
    transaction_hooks,
)
from queuert.adapters import CreateJobParams, JobBlockersParams, StateJob, UnblockedJobs, decode_cursor
from queuert_postgres import (
    AsyncpgConnectionProvider,
    AsyncpgPoolProvider,
    PgStateAdapter,
    PoolExhaustedError,
    PostgresConnectionError,
    PsycopgPoolProvider,
    SqlAlchemyAsyncProvider,
    create_pg_state_adapter,
)

pytestmark = pytest.mark.postgres

Adapter = PgStateAdapter[Any]
WaitUntil = Callable[..., Awaitable[None]]
NewPool = Callable[..., Awaitable["asyncpg.Pool[Any]"]]


class OutageProxy(Protocol):
    """The `outage_proxy` fixture (conftest): a relay to the server that can play a restart."""

    @property
    def dsn(self) -> str: ...
    @property
    def accepted(self) -> int: ...
    async def go_down(self) -> None: ...
    async def come_back(self) -> None: ...


async def start(adapter: Adapter, type_name: str = "t", *, tx_ctx: Any = None, **options: Any) -> StateJob:
    [created] = await adapter.create_jobs(
        [CreateJobParams(type_name=type_name, chain_type_name=type_name, chain_index=0, input=None, **options)],
        tx_ctx=tx_ctx,
    )
    return created.job


async def continue_chain(adapter: Adapter, root: StateJob, index: int, *, tx_ctx: Any = None) -> StateJob:
    [created] = await adapter.create_jobs(
        [
            CreateJobParams(
                type_name=f"{root.type_name}-{index}",
                chain_type_name=root.chain_type_name,
                chain_id=root.id,
                chain_index=index,
                input=None,
            )
        ],
        tx_ctx=tx_ctx,
    )
    return created.job


async def backend_pid(adapter: Adapter, tx_ctx: Any) -> int:
    rows = await adapter.state_provider.execute_sql(
        tx_ctx=tx_ctx, sql="SELECT pg_backend_pid() AS pid", params=(), param_types={}, column_types={}, read_only=True
    )
    return int(str(rows[0]["pid"]))


async def waiting_on_lock(pool: asyncpg.Pool[Any], pid: int) -> bool:
    return bool(await pool.fetchval("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid))


async def hold_then_wait(
    adapter: Adapter,
    pool: asyncpg.Pool[Any],
    wait_until: WaitUntil,
    *,
    holder: Callable[[Any], Awaitable[Any]],
    waiter: Callable[[Any], Awaitable[Any]],
    waiter_pid: list[int],
    release: asyncio.Event,
    what: str,
) -> tuple[Any, Any]:
    """Run `holder` and `waiter` in transactions of their own; both results.

    Once the waiter's backend (its pid appended to `waiter_pid`) waits on a lock, `release`
    is set so that the holder ends.
    """
    holding = asyncio.create_task(adapter.with_transaction(holder))
    waiting = asyncio.create_task(adapter.with_transaction(waiter))
    try:
        await wait_until(lambda: waiting_on_lock(pool, waiter_pid[0]) if waiter_pid else _false(), what=what)
    finally:
        release.set()
    return await asyncio.wait_for(holding, timeout=10), await asyncio.wait_for(waiting, timeout=10)


# --- acquisition is an index walk -----------------------------------------------------------


def plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes.extend(plan_nodes(child))
    return nodes


@pytest.mark.parametrize("statement", ["acquire_job_one_type", "acquire_job_many_types"])
async def test_acquisition_walks_the_index_instead_of_sorting_the_backlog(
    adapter: Adapter, pool: asyncpg.Pool[Any], statement: str
) -> None:
    job = f"{adapter.schema}.queuert_job"
    await pool.execute(
        f"INSERT INTO {job} (id, type_name, chain_id, chain_type_name, chain_index, scheduled_at) "
        "SELECT u, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END, u, 'a', 0, now() - g * interval '1 ms' "
        "FROM (SELECT gen_random_uuid() AS u, g FROM generate_series(1, 20000) g) s"
    )
    await pool.execute(f"ANALYZE {job}")
    sql = adapter._statements[statement].sql
    params: list[Any] = ["a"] if statement.endswith("one_type") else [["a", "b"]]
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            [row] = await conn.fetch(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *params)
        finally:
            await tx.rollback()
    nodes = plan_nodes(json.loads(row[0])[0]["Plan"])
    scans = [n for n in nodes if n.get("Index Name") == "queuert_job_acquisition_idx"]
    assert scans, "acquisition must use the acquisition index"
    # Each scan stops after the first row it can lock: it never reads the whole backlog.
    assert max(n["Actual Rows"] for n in scans) <= 2
    sorted_rows = [n["Actual Rows"] for n in nodes if n["Node Type"] in ("Sort", "Incremental Sort")]
    assert all(rows <= 2 for rows in sorted_rows), f"a sort over the backlog: {sorted_rows}"


# --- precision and ids ----------------------------------------------------------------------


async def test_next_job_available_in_ms_does_not_overflow_past_24_days(adapter: Adapter) -> None:
    await start(adapter, schedule=ScheduleAfter(after_ms=40 * 24 * 3600 * 1000))
    waited = await adapter.get_next_job_available_in_ms(["t"])
    assert waited is not None
    assert waited > 2**31


async def test_cursors_keep_microseconds(adapter: Adapter, pool: asyncpg.Pool[Any]) -> None:
    base = datetime(2030, 1, 1, tzinfo=UTC)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for offset, job_id in enumerate(ids):
        await pool.execute(
            f"INSERT INTO {adapter.schema}.queuert_job (id, type_name, chain_id, chain_type_name, chain_index, "
            "created_at) VALUES ($1::uuid, 't', $1::uuid, 't', 0, $2)",
            job_id,
            base + timedelta(microseconds=offset),
        )
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await adapter.list_jobs(filter=JobFilter(), order_direction="asc", cursor=cursor, limit=1)
        seen.extend(job.id for job in page.items)
        if page.next_cursor is None:
            break
        assert decode_cursor(page.next_cursor, "created_at").created_at == page.items[0].created_at
        cursor = page.next_cursor
    assert seen == ids


async def test_ids_that_are_not_uuids_are_simply_not_found(adapter: Adapter) -> None:
    assert await adapter.get_job("garbage") is None
    assert await adapter.get_chain("garbage") is None
    assert await adapter.get_job_blockers("garbage") == []
    assert (await adapter.list_jobs(filter=JobFilter(job_id=["garbage"]))).items == []
    assert (await adapter.list_chain_jobs("garbage")).items == []
    with pytest.raises(JobNotFoundError):
        await adapter.complete_job("garbage", output=None, worker_id=None)
    job = await start(adapter)
    triggered = await adapter.trigger_jobs([job.id, "garbage"])
    assert triggered.not_found == ("garbage",)
    assert triggered.jobs == ()
    with pytest.raises(ChainNotFoundError):
        await adapter.create_jobs(
            [CreateJobParams(type_name="x", chain_type_name="t", chain_id="garbage", chain_index=1, input=None)]
        )


async def test_an_uppercase_uuid_finds_the_job(adapter: Adapter) -> None:
    job = await start(adapter, schedule=ScheduleAfter(after_ms=60_000))
    triggered = await adapter.trigger_jobs([job.id.upper()])
    assert [j.id for j in triggered.jobs] == [job.id]
    found = await adapter.get_job(job.id.upper())
    assert found is not None
    assert found.id == job.id


async def test_a_continuation_of_a_missing_chain_raises_chain_not_found(adapter: Adapter) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(ChainNotFoundError) as caught:
        await adapter.create_jobs(
            [CreateJobParams(type_name="x", chain_type_name="t", chain_id=missing, chain_index=1, input=None)]
        )
    assert caught.value.chain_id == missing


async def test_a_missing_blocker_chain_raises_chain_not_found(adapter: Adapter) -> None:
    job = await start(adapter)
    missing = str(uuid.uuid4())
    with pytest.raises(ChainNotFoundError) as caught:
        await adapter.add_jobs_blockers([JobBlockersParams(job_id=job.id, blocked_by_chain_ids=[missing])])
    assert caught.value.chain_id == missing


async def test_a_taken_caller_id_raises_duplicate_job_id(adapter: Adapter) -> None:
    job = await start(adapter)
    with pytest.raises(DuplicateJobIdError) as caught:
        await start(adapter, "other", id=job.id)
    assert caught.value.id == job.id


# --- races ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["atomic", "staged"])
async def test_workers_racing_on_the_same_jobs_take_each_exactly_once(
    postgres_dsn: str, adapter: Adapter, mode: str
) -> None:
    jobs = await adapter.create_jobs(
        [CreateJobParams(type_name="race", chain_type_name="race", chain_index=0, input=i) for i in range(300)]
    )
    expected = {created.job.id for created in jobs}
    pool = await asyncpg.create_pool(postgres_dsn, min_size=8, max_size=8)
    racer = await create_pg_state_adapter(state_provider=AsyncpgPoolProvider(pool), schema=adapter.schema)
    taken: list[str] = []

    async def worker(worker_id: str) -> None:
        while True:
            if mode == "atomic":

                async def attempt(tx: Any) -> str | None:
                    acquired = await racer.acquire_job(["race"], tx_ctx=tx)
                    if acquired.job is None:
                        return None
                    await racer.complete_job(acquired.job.id, output=worker_id, worker_id=worker_id, tx_ctx=tx)
                    return acquired.job.id

                job_id = await racer.with_transaction(attempt)
            else:
                acquired = await racer.acquire_job(["race"])
                job_id = acquired.job.id if acquired.job is not None else None
                if job_id is not None:
                    await racer.renew_job_lease(job_id, worker_id=worker_id, lease_duration_ms=60_000)
                    await racer.complete_job(job_id, output=worker_id, worker_id=worker_id)
            if job_id is None:
                return
            taken.append(job_id)

    try:
        await asyncio.wait_for(asyncio.gather(*(worker(f"w{i}") for i in range(8))), timeout=60)
    finally:
        await racer.close()
        await pool.close()
    assert len(taken) == len(set(taken)), "a job was handed out twice"
    assert set(taken) == expected, "a job was lost"
    for job_id in expected:
        job = await adapter.get_job(job_id)
        assert job is not None
        assert (job.status, job.attempt) == ("completed", 1)


async def test_concurrent_starts_with_one_deduplication_key_make_one_chain(postgres_dsn: str, adapter: Adapter) -> None:
    pool = await asyncpg.create_pool(postgres_dsn, min_size=10, max_size=10)
    racer = await create_pg_state_adapter(state_provider=AsyncpgPoolProvider(pool), schema=adapter.schema)
    gate = asyncio.Event()

    async def starter(tx: Any) -> StateJob:
        await gate.wait()
        return await start(racer, "dedup", tx_ctx=tx, deduplication=DeduplicationOptions(key="same"))

    try:
        tasks = [asyncio.create_task(racer.with_transaction(starter)) for _ in range(10)]
        await asyncio.sleep(0)
        gate.set()
        started = await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
    finally:
        await racer.close()
        await pool.close()
    assert len({job.id for job in started}) == 1
    assert len((await adapter.list_chains(filter=ChainFilter(type_name=["dedup"]))).items) == 1


async def test_two_blockers_completing_concurrently_unblock_their_common_dependent(
    adapter: Adapter, pool: asyncpg.Pool[Any], wait_until: WaitUntil
) -> None:
    blocker_a = await start(adapter, "a")
    blocker_b = await start(adapter, "b")
    main = await start(adapter, "main")
    await adapter.add_jobs_blockers(
        [JobBlockersParams(job_id=main.id, blocked_by_chain_ids=[blocker_a.id, blocker_b.id])]
    )
    first_unblocked = asyncio.Event()
    release_first = asyncio.Event()
    second_unblocked = asyncio.Event()
    second_pid: list[int] = []

    async def complete_a(tx: Any) -> None:
        await adapter.complete_job(blocker_a.id, output=None, worker_id=None, tx_ctx=tx)
        assert (await adapter.unblock_jobs(blocker_a.id, tx_ctx=tx)).unblocked_jobs == ()
        first_unblocked.set()
        await release_first.wait()

    async def complete_b(tx: Any) -> None:
        await first_unblocked.wait()
        second_pid.append(await backend_pid(adapter, tx))
        await adapter.complete_job(blocker_b.id, output=None, worker_id=None, tx_ctx=tx)
        await adapter.unblock_jobs(blocker_b.id, tx_ctx=tx)
        second_unblocked.set()

    async def second_waits_or_decided() -> bool:
        return second_unblocked.is_set() or (bool(second_pid) and await waiting_on_lock(pool, second_pid[0]))

    first = asyncio.create_task(adapter.with_transaction(complete_a))
    second = asyncio.create_task(adapter.with_transaction(complete_b))
    try:
        # The second unblock runs while the first transaction is still open: it must wait for
        # it (a lock) rather than decide on a snapshot in which blocker A is incomplete.
        await wait_until(second_waits_or_decided, what="the second unblock to wait or decide")
    finally:
        release_first.set()
    await asyncio.wait_for(asyncio.gather(first, second), timeout=10)
    unblocked = await adapter.get_job(main.id)
    assert unblocked is not None
    assert unblocked.status == "pending", "the common dependent was stranded as blocked"


async def _false() -> bool:
    return False


async def test_a_blocker_chain_continued_while_adding_blockers_still_blocks(
    adapter: Adapter, pool: asyncpg.Pool[Any], wait_until: WaitUntil
) -> None:
    blocker = await start(adapter, "blocker")
    main = await start(adapter, "main")
    locked = asyncio.Event()
    release = asyncio.Event()
    adder_pid: list[int] = []

    async def continue_blocker(tx: Any) -> None:
        await adapter.get_chain(blocker.id, tx_ctx=tx, lock="exclusive")
        await continue_chain(adapter, blocker, 1, tx_ctx=tx)
        await adapter.complete_job(blocker.id, output=None, worker_id=None, tx_ctx=tx)
        locked.set()
        await release.wait()

    async def add_blocker(tx: Any) -> Any:
        await locked.wait()
        adder_pid.append(await backend_pid(adapter, tx))
        return await adapter.add_jobs_blockers(
            [JobBlockersParams(job_id=main.id, blocked_by_chain_ids=[blocker.id])], tx_ctx=tx
        )

    _, [added] = await hold_then_wait(
        adapter,
        pool,
        wait_until,
        holder=continue_blocker,
        waiter=add_blocker,
        waiter_pid=adder_pid,
        release=release,
        what="the lock wait",
    )
    # The chain moved on to a pending continuation: it is not complete, so main must wait.
    assert added.job.status == "blocked"
    assert added.incomplete_blocker_chain_ids == (blocker.id,)


# --- errors -------------------------------------------------------------------------------------


async def test_a_wrong_dsn_raises_a_connection_error(migrated_schema: str, new_pool: NewPool) -> None:
    pool = await new_pool("postgresql://postgres@127.0.0.1:1/test", min_size=0, max_size=1)
    adapter = await create_pg_state_adapter(state_provider=AsyncpgPoolProvider(pool), schema=migrated_schema)
    with pytest.raises(PostgresConnectionError):
        await adapter.get_job(str(uuid.uuid4()))
    with pytest.raises(PostgresConnectionError):
        await adapter.with_transaction(lambda tx: adapter.get_job(str(uuid.uuid4()), tx_ctx=tx))
    await pool.close()


async def test_a_missing_database_raises_a_connection_error(
    postgres_dsn: str, migrated_schema: str, new_pool: NewPool
) -> None:
    dsn = postgres_dsn.rsplit("/", 1)[0] + "/queuert_no_such_database"
    pool = await new_pool(dsn, min_size=0, max_size=1)
    adapter = await create_pg_state_adapter(state_provider=AsyncpgPoolProvider(pool), schema=migrated_schema)
    with pytest.raises(PostgresConnectionError, match="3D000"):
        await adapter.get_job(str(uuid.uuid4()))
    await pool.close()


async def test_an_exhausted_asyncpg_pool_raises_after_a_bounded_wait(
    postgres_dsn: str, migrated_schema: str, new_pool: NewPool
) -> None:
    pool = await new_pool(postgres_dsn, min_size=1, max_size=1)
    adapter = await create_pg_state_adapter(
        state_provider=AsyncpgPoolProvider(pool, acquire_timeout_s=0.2), schema=migrated_schema
    )

    async def nested(tx: Any) -> None:
        # The only connection is held here; a call without tx_ctx needs another one.
        await adapter.get_job(str(uuid.uuid4()))

    with pytest.raises(PoolExhaustedError) as caught:
        await asyncio.wait_for(adapter.with_transaction(nested), timeout=10)
    assert caught.value.timeout_s == 0.2
    assert isinstance(caught.value, TimeoutError)
    # Nothing is stuck: the connection went back to the pool.
    assert await adapter.get_job(str(uuid.uuid4())) is None
    await pool.close()


async def test_an_exhausted_psycopg_pool_raises_after_a_bounded_wait(postgres_dsn: str, migrated_schema: str) -> None:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(postgres_dsn, min_size=1, max_size=1, open=False)
    await pool.open(wait=True)
    adapter = await create_pg_state_adapter(
        state_provider=PsycopgPoolProvider(pool, timeout_s=0.2, close_pool=True), schema=migrated_schema
    )

    async def nested(tx: Any) -> None:
        await adapter.get_job(str(uuid.uuid4()))

    with pytest.raises(PoolExhaustedError):
        await asyncio.wait_for(adapter.with_transaction(nested), timeout=10)
    await adapter.close()


async def test_an_exhausted_sqlalchemy_pool_raises_after_a_bounded_wait(
    postgres_dsn: str, migrated_schema: str
) -> None:
    engine = create_async_engine(
        postgres_dsn.replace("postgresql://", "postgresql+asyncpg://", 1), pool_size=1, max_overflow=0, pool_timeout=0.2
    )
    adapter = await create_pg_state_adapter(
        state_provider=SqlAlchemyAsyncProvider(engine, dispose_engine=True), schema=migrated_schema
    )

    async def nested(tx: Any) -> None:
        await adapter.get_job(str(uuid.uuid4()))

    with pytest.raises(PoolExhaustedError) as caught:
        await asyncio.wait_for(adapter.with_transaction(nested), timeout=10)
    assert isinstance(caught.value.__cause__, sqlalchemy.exc.TimeoutError)
    await adapter.close()


async def _keeping_adapter(pool: asyncpg.Pool[Any], schema: str, keep_s: float) -> Adapter:
    return await create_pg_state_adapter(
        state_provider=AsyncpgPoolProvider(pool, keep_connections_s=keep_s), schema=schema
    )


async def test_a_kept_connection_serves_the_next_transaction_then_goes_back_to_the_pool(
    postgres_dsn: str, migrated_schema: str, wait_until: WaitUntil, new_pool: NewPool
) -> None:
    pool = await new_pool(postgres_dsn, min_size=2, max_size=2)
    adapter = await _keeping_adapter(pool, migrated_schema, 0.3)
    first = await adapter.with_transaction(lambda tx: backend_pid(adapter, tx))
    # Kept by the provider, so the pool counts it as in use...
    assert pool.get_idle_size() == 1
    second = await adapter.with_transaction(lambda tx: backend_pid(adapter, tx))
    assert second == first
    # ...until it has gone unused for keep_connections_s.
    await wait_until(lambda: _equals(pool.get_idle_size(), 2), what="the kept connection handed back")
    await adapter.close()
    await asyncio.wait_for(pool.close(), timeout=10)


async def test_closing_the_adapter_hands_kept_connections_back(
    postgres_dsn: str, migrated_schema: str, new_pool: NewPool
) -> None:
    pool = await new_pool(postgres_dsn, min_size=1, max_size=1)
    adapter = await _keeping_adapter(pool, migrated_schema, 60)
    assert await adapter.get_job(str(uuid.uuid4())) is None
    assert pool.get_idle_size() == 0
    await adapter.close()
    assert pool.get_idle_size() == 1
    # Nothing holds a connection any more, so closing the pool does not wait.
    await asyncio.wait_for(pool.close(), timeout=10)


async def test_a_connection_is_not_kept_after_a_failed_transaction(
    postgres_dsn: str, migrated_schema: str, new_pool: NewPool
) -> None:
    pool = await new_pool(postgres_dsn, min_size=1, max_size=1)
    adapter = await _keeping_adapter(pool, migrated_schema, 60)

    async def fail(tx: Any) -> None:
        await backend_pid(adapter, tx)
        raise LookupError("the application failed")

    with pytest.raises(LookupError):
        await adapter.with_transaction(fail)
    # Handed back at once: the pool's own release deals with whatever the failure left behind.
    assert pool.get_idle_size() == 1
    await adapter.close()
    await pool.close()


@pytest.mark.parametrize("entry", ["with_transaction", "open_transaction", "statement"])
@pytest.mark.parametrize("client_noticed", [True, False], ids=["client-noticed", "client-unaware"])
async def test_a_kept_connection_the_server_dropped_is_replaced(
    postgres_dsn: str,
    migrated_schema: str,
    pool: asyncpg.Pool[Any],
    new_pool: NewPool,
    client_noticed: bool,
    entry: str,
) -> None:
    worker_pool = await new_pool(postgres_dsn, min_size=1, max_size=1)
    adapter = await _keeping_adapter(worker_pool, migrated_schema, 60)
    pid = await adapter.with_transaction(lambda tx: backend_pid(adapter, tx))
    await pool.execute("SELECT pg_terminate_backend($1)", pid)
    if client_noticed:
        for _ in range(50):
            if not await pool.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
                break
            await asyncio.sleep(0.05)
    else:
        # Blocking on purpose: the backend exits while the loop cannot read the kept
        # connection's socket, so the client still believes the connection open when it
        # sends BEGIN on it.
        time.sleep(0.5)  # noqa: ASYNC251
    if entry == "with_transaction":
        replacement = await adapter.with_transaction(lambda tx: backend_pid(adapter, tx))
    elif entry == "open_transaction":
        scope = await adapter.open_transaction()
        assert scope is not None
        replacement = await backend_pid(adapter, scope.tx_ctx)
        await scope.commit()
    else:
        assert await adapter.get_job(str(uuid.uuid4())) is None
        replacement = await adapter.with_transaction(lambda tx: backend_pid(adapter, tx))
    assert replacement != pid
    await adapter.close()
    await worker_pool.close()


async def test_keep_connections_must_not_be_negative(pool: asyncpg.Pool[Any]) -> None:
    with pytest.raises(ValueError, match="keep_connections_s"):
        AsyncpgPoolProvider(pool, keep_connections_s=-1)


async def _equals(value: int, expected: int) -> bool:
    return value == expected


async def test_a_terminated_connection_fails_one_call_and_the_next_recovers(
    adapter: Adapter, pool: asyncpg.Pool[Any]
) -> None:
    async def kill_own_connection(tx: Any) -> None:
        pid = await backend_pid(adapter, tx)
        await pool.execute("SELECT pg_terminate_backend($1)", pid)
        await adapter.get_job(str(uuid.uuid4()), tx_ctx=tx)

    with pytest.raises(PostgresConnectionError):
        await adapter.with_transaction(kill_own_connection)
    job = await start(adapter)
    assert await adapter.get_job(job.id) is not None


async def test_errors_raised_inside_a_transaction_pass_unchanged(adapter: Adapter) -> None:
    class Boom(Exception):
        pass

    async def fail(tx: Any) -> None:
        await start(adapter, tx_ctx=tx)
        raise Boom

    with pytest.raises(Boom):
        await adapter.with_transaction(fail)
    assert (await adapter.list_jobs(filter=JobFilter())).items == []


# --- the application's own transaction ---------------------------------------------------------


class OrderIn(TypedDict):
    order_id: int


process_order = EntryJobType[OrderIn, None]("process-order")


@pytest_asyncio.fixture
async def orders_table(pool: asyncpg.Pool[Any], migrated_schema: str) -> AsyncIterator[str]:
    table = f"{migrated_schema}.orders_{uuid.uuid4().hex[:6]}"
    await pool.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)")
    yield table
    await pool.execute(f"DROP TABLE {table}")


async def _chains_of_type(adapter: Adapter, type_name: str) -> int:
    return len((await adapter.list_chains(filter=ChainFilter(type_name=[type_name]))).items)


async def test_asyncpg_chains_commit_and_roll_back_with_the_application(
    pool: asyncpg.Pool[Any], adapter: Adapter, orders_table: str
) -> None:
    client = await create_client(state_adapter=adapter, job_types=define_job_types(process_order))
    for order_id, fail in ((1, True), (2, False)):
        try:
            async with pool.acquire() as conn, conn.transaction(), transaction_hooks() as hooks:
                await conn.execute(f"INSERT INTO {orders_table} VALUES ($1)", order_id)
                await client.start_chain(
                    tx_ctx=conn, transaction_hooks=hooks, job_type=process_order, input=OrderIn(order_id=order_id)
                )
                if fail:
                    raise RuntimeError("payment declined")
        except RuntimeError:
            pass
    assert await pool.fetchval(f"SELECT array_agg(id) FROM {orders_table}") == [2]
    assert await _chains_of_type(adapter, "process-order") == 1


async def test_a_single_connection_provider_shares_the_applications_transaction(
    postgres_dsn: str, adapter: Adapter, orders_table: str
) -> None:
    conn = await asyncpg.connect(postgres_dsn)
    own = await create_pg_state_adapter(state_provider=AsyncpgConnectionProvider(conn), schema=adapter.schema)
    try:
        async with conn.transaction():
            await conn.execute(f"INSERT INTO {orders_table} VALUES (1)")
            await start(own, "process-order", tx_ctx=conn)
        assert await _chains_of_type(adapter, "process-order") == 1

        async def reenter(tx: Any) -> None:
            await own.get_job(str(uuid.uuid4()))

        with pytest.raises(RuntimeError, match="inside its own transaction"):
            await own.with_transaction(reenter)
    finally:
        await conn.close()


async def test_psycopg_chains_commit_and_roll_back_with_the_application(
    postgres_dsn: str, adapter: Adapter, orders_table: str
) -> None:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(postgres_dsn, min_size=1, max_size=2, open=False)
    await pool.open(wait=True)
    own = await create_pg_state_adapter(
        state_provider=PsycopgPoolProvider(pool, close_pool=True), schema=adapter.schema
    )
    try:
        for order_id, fail in ((1, True), (2, False)):
            try:
                async with pool.connection() as conn, conn.transaction():
                    await conn.execute(f"INSERT INTO {orders_table} VALUES (%s)", (order_id,))
                    await start(own, "process-order", tx_ctx=conn)
                    if fail:
                        raise RuntimeError("payment declined")
            except RuntimeError:
                pass
        async with pool.connection() as conn:
            rows = await (await conn.execute(f"SELECT id FROM {orders_table}")).fetchall()
        assert rows == [(2,)]
        assert await _chains_of_type(adapter, "process-order") == 1
    finally:
        await own.close()


async def test_sqlalchemy_sessions_commit_and_roll_back_with_the_application(
    postgres_dsn: str, adapter: Adapter, orders_table: str
) -> None:
    engine = create_async_engine(postgres_dsn.replace("postgresql://", "postgresql+asyncpg://", 1))
    own = await create_pg_state_adapter(
        state_provider=SqlAlchemyAsyncProvider(engine, dispose_engine=True), schema=adapter.schema
    )
    try:
        for order_id, fail in ((1, True), (2, False)):
            try:
                async with AsyncSession(engine) as session, session.begin():
                    await session.execute(text(f"INSERT INTO {orders_table} VALUES (:id)"), {"id": order_id})
                    await start(own, "process-order", tx_ctx=session)
                    if fail:
                        raise RuntimeError("payment declined")
            except RuntimeError:
                pass
        async with engine.connect() as conn:
            assert (await conn.execute(text(f"SELECT id FROM {orders_table}"))).scalars().all() == [2]
        assert await _chains_of_type(adapter, "process-order") == 1
    finally:
        await own.close()


async def test_sqlalchemy_provider_refuses_other_drivers(postgres_dsn: str) -> None:
    engine = create_async_engine(postgres_dsn.replace("postgresql://", "postgresql+psycopg://", 1))
    with pytest.raises(ValueError, match="postgresql\\+asyncpg"):
        SqlAlchemyAsyncProvider(engine)
    await engine.dispose()


async def test_psycopg_connection_stays_usable_after_a_call_without_transaction(
    postgres_dsn: str, adapter: Adapter
) -> None:
    conn = await psycopg.AsyncConnection.connect(postgres_dsn)
    from queuert_postgres import PsycopgConnectionProvider

    own = await create_pg_state_adapter(state_provider=PsycopgConnectionProvider(conn), schema=adapter.schema)
    try:
        job = await start(own)
        assert not conn.autocommit
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert await adapter.get_job(job.id) is not None, "committed, visible to other connections"
    finally:
        await conn.close()


class CountingProvider(AsyncpgPoolProvider):
    """Counts the statements the adapter sends."""

    statements: list[str]

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        super().__init__(pool)
        self.statements = []

    async def execute_sql(self, **kwargs: Any) -> list[Any]:
        self.statements.append(kwargs.get("statement_id") or "dynamic")
        return list(await super().execute_sql(**kwargs))


async def test_blockers_of_a_just_acquired_job_without_blockers_cost_no_round_trip(
    pool: asyncpg.Pool[Any], adapter: Adapter
) -> None:
    provider = CountingProvider(pool)
    counted = await create_pg_state_adapter(state_provider=provider, schema=adapter.schema)
    blocker = await start(counted, "blocker")
    plain = await start(counted, "plain")
    gated = await start(counted, "gated")
    await counted.add_jobs_blockers([JobBlockersParams(job_id=gated.id, blocked_by_chain_ids=[blocker.id])])
    await counted.complete_job(blocker.id, output=1, worker_id=None)
    await counted.unblock_jobs(blocker.id)

    assert (await counted.acquire_job(["plain"])).job == await counted.get_job(plain.id)
    provider.statements.clear()
    assert await counted.get_job_blockers(plain.id) == []
    assert provider.statements == [], "answered from the acquisition"
    assert await counted.get_job_blockers(plain.id) == []
    assert len(provider.statements) == 1, "the hint is used once"

    acquired = await counted.acquire_job(["gated"])
    assert acquired.job is not None
    [chain] = await counted.get_job_blockers(gated.id)
    assert chain.root.id == blocker.id


TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def statement_names(provider: CountingProvider) -> list[str]:
    return [statement.split("@")[0] for statement in provider.statements]


@pytest_asyncio.fixture
async def counted(pool: asyncpg.Pool[Any], adapter: Adapter) -> AsyncIterator[tuple[Adapter, CountingProvider]]:
    """A second adapter on the (emptied) shared schema whose provider counts statements."""
    provider = CountingProvider(pool)
    state = await create_pg_state_adapter(state_provider=provider, schema=adapter.schema)
    yield state, provider
    await state.close()


# --- starting chains without deduplication: a plain insert -----------------------------------------


async def test_new_chains_without_deduplication_take_the_plain_insert(
    counted: tuple[Adapter, CountingProvider],
) -> None:
    state, provider = counted
    taken = await start(state, "taken")
    at = datetime.now(UTC) + timedelta(hours=1)
    caller_id = str(uuid.uuid4())
    batch = [
        CreateJobParams(type_name="a", chain_type_name="a", chain_index=0, input={"n": 1}),
        CreateJobParams(
            type_name="b",
            chain_type_name="b",
            chain_index=0,
            input=[1, "x"],
            id=caller_id,
            schedule=ScheduleAfter(60_000),
        ),
        CreateJobParams(type_name="c", chain_type_name="c", chain_index=0, input=None, trace_context=TRACE),
        CreateJobParams(type_name="d", chain_type_name="d", chain_index=0, input="s", schedule=ScheduleAt(at)),
    ]
    provider.statements.clear()
    created = await state.create_jobs(batch)
    assert statement_names(provider) == ["create_root_jobs"]
    assert [c.deduplicated for c in created] == [False] * 4
    jobs = [c.job for c in created]
    assert [job.type_name for job in jobs] == ["a", "b", "c", "d"], "results follow the input order"
    assert [job.input for job in jobs] == [{"n": 1}, [1, "x"], None, "s"]
    assert jobs[1].id == caller_id
    assert all(job.chain_id == job.id and job.status == "pending" for job in jobs)
    assert jobs[2].trace_context == TRACE
    assert jobs[1].scheduled_at - jobs[1].created_at >= timedelta(seconds=59)
    assert jobs[3].scheduled_at == at
    assert [await state.get_job(job.id) for job in jobs] == jobs

    provider.statements.clear()
    [single] = await state.create_jobs([CreateJobParams(type_name="e", chain_type_name="e", chain_index=0, input=1)])
    assert statement_names(provider) == ["create_root_job"]
    assert await state.get_job(single.job.id) == single.job

    # A caller id that exists already fails as on the general path, and the batch writes nothing.
    with pytest.raises(DuplicateJobIdError) as caught:
        await state.create_jobs(
            [
                CreateJobParams(type_name="f", chain_type_name="f", chain_index=0, input=None),
                CreateJobParams(type_name="f", chain_type_name="f", chain_index=0, input=None, id=taken.id),
            ]
        )
    assert caught.value.id == taken.id
    assert (await state.list_jobs(filter=JobFilter(type_name=["f"]))).items == []

    # Deduplication keys and continuations keep the general statement.
    provider.statements.clear()
    await state.create_jobs(
        [
            CreateJobParams(type_name="g", chain_type_name="g", chain_index=0, input=None),
            CreateJobParams(
                type_name="g",
                chain_type_name="g",
                chain_index=0,
                input=None,
                deduplication=DeduplicationOptions(key="k"),
            ),
        ]
    )
    await continue_chain(state, single.job, 1)
    assert statement_names(provider) == ["lock_deduplication_keys", "create_jobs", "create_jobs"]


async def test_the_plain_insert_keeps_the_input_order_when_the_database_respells_ids(
    pool: asyncpg.Pool[Any], fresh_schema: Callable[[], Awaitable[str]]
) -> None:
    schema = await fresh_schema()
    counter = iter(range(1, 1000))
    numeric = await create_pg_state_adapter(
        state_provider=AsyncpgPoolProvider(pool),
        schema=schema,
        id_type="bigint",
        generate_id=lambda: f"00{next(counter)}",
    )
    await numeric.migrate_to_latest()
    created = await numeric.create_jobs(
        [CreateJobParams(type_name="n", chain_type_name="n", chain_index=0, input=i) for i in range(5)]
    )
    assert [c.job.input for c in created] == list(range(5))
    assert [c.job.id for c in created] == ["1", "2", "3", "4", "5"]


# --- completing a chain nobody waits on: no unblock round trip -------------------------------------


async def test_completing_a_chain_nobody_waits_on_sends_no_unblock_statement(
    counted: tuple[Adapter, CountingProvider],
) -> None:
    state, provider = counted
    await start(state, "atomic")
    staged = await start(state, "staged")

    async def atomic(tx: Any) -> UnblockedJobs:
        # A worker in atomic mode: acquisition and completion in one transaction, the
        # completion in a savepoint.
        acquired = await state.acquire_job(["atomic"], tx_ctx=tx)
        assert acquired.job is not None
        job = acquired.job

        async def complete(sp: Any) -> UnblockedJobs:
            await state.complete_job(job.id, output=1, worker_id="w", tx_ctx=sp)
            return await state.unblock_jobs(job.chain_id, tx_ctx=sp)

        return await state.with_savepoint(tx, complete)

    async def staged_completion(tx: Any) -> UnblockedJobs:
        # A staged attempt: a later transaction locks the job (the ownership check) first.
        await state.get_job(staged.id, tx_ctx=tx, lock="exclusive")

        async def complete(sp: Any) -> UnblockedJobs:
            await state.complete_job(staged.id, output=1, worker_id="w", tx_ctx=sp)
            return await state.unblock_jobs(staged.id, tx_ctx=sp)

        return await state.with_savepoint(tx, complete)

    provider.statements.clear()
    assert await state.with_transaction(atomic) == UnblockedJobs((), ())
    assert statement_names(provider) == ["acquire_job_one_type", "complete_job"]

    provider.statements.clear()
    assert await state.with_transaction(staged_completion) == UnblockedJobs((), ())
    assert statement_names(provider) == ["get_job_for_update", "complete_job"]
    assert {job.status for job in (await state.list_jobs(filter=JobFilter())).items} == {"completed"}


async def test_the_unblock_shortcut_needs_the_lock_first_and_is_used_once(
    counted: tuple[Adapter, CountingProvider],
) -> None:
    state, provider = counted
    unlocked = await start(state, "unlocked")
    locked = await start(state, "locked")

    async def without_lock(tx: Any) -> None:
        # The completion takes the row lock itself: a blocker added while it waited would be
        # invisible to its snapshot, so the unblock statements still run.
        await state.complete_job(unlocked.id, output=1, worker_id=None, tx_ctx=tx)
        assert await state.unblock_jobs(unlocked.id, tx_ctx=tx) == UnblockedJobs((), ())

    provider.statements.clear()
    await state.with_transaction(without_lock)
    assert statement_names(provider) == ["complete_job", "lock_blocked_dependents"]

    async def twice(tx: Any) -> None:
        await state.get_job(locked.id, tx_ctx=tx, lock="exclusive")
        await state.complete_job(locked.id, output=1, worker_id=None, tx_ctx=tx)
        await state.unblock_jobs(locked.id, tx_ctx=tx)
        await state.unblock_jobs(locked.id, tx_ctx=tx)

    provider.statements.clear()
    await state.with_transaction(twice)
    assert statement_names(provider) == ["get_job_for_update", "complete_job", "lock_blocked_dependents"]

    # Only the transaction that completed the chain skips: autocommit calls never do.
    provider.statements.clear()
    await state.complete_job(locked.id, output=2, worker_id=None)
    await state.unblock_jobs(locked.id)
    assert statement_names(provider) == ["complete_job", "lock_blocked_dependents"]


async def test_a_continued_chain_and_a_watched_chain_keep_the_unblock_statements(
    counted: tuple[Adapter, CountingProvider],
) -> None:
    state, provider = counted
    flow = await start(state, "flow")
    blocker = await start(state, "blocker")
    dependent = await start(state, "dependent")
    [added] = await state.add_jobs_blockers(
        [JobBlockersParams(job_id=dependent.id, blocked_by_chain_ids=[blocker.id], blocker_trace_contexts=[TRACE])]
    )
    assert added.job.status == "blocked"

    async def continue_flow(tx: Any) -> None:
        await state.get_chain(flow.id, tx_ctx=tx, lock="exclusive")
        await continue_chain(state, flow, 1, tx_ctx=tx)
        await state.complete_job(flow.id, output=None, worker_id=None, tx_ctx=tx)
        # Not the chain's end: nothing is remembered, a direct call still asks the database.
        await state.unblock_jobs(flow.id, tx_ctx=tx)

    provider.statements.clear()
    await state.with_transaction(continue_flow)
    assert statement_names(provider)[-1] == "lock_blocked_dependents"

    async def finish_blocker(tx: Any) -> UnblockedJobs:
        await state.get_job(blocker.id, tx_ctx=tx, lock="exclusive")
        await state.complete_job(blocker.id, output=1, worker_id=None, tx_ctx=tx)
        return await state.unblock_jobs(blocker.id, tx_ctx=tx)

    provider.statements.clear()
    unblocked = await state.with_transaction(finish_blocker)
    assert [job.id for job in unblocked.unblocked_jobs] == [dependent.id]
    assert unblocked.blocker_trace_contexts == (TRACE,)
    assert statement_names(provider) == [
        "get_job_for_update",
        "complete_job",
        "lock_blocked_dependents",
        "unblock_jobs",
    ]
    assert (await get_status(state, dependent.id)) == "pending"


async def get_status(state: Adapter, job_id: str) -> str:
    job = await state.get_job(job_id)
    assert job is not None
    return job.status


@pytest.mark.parametrize("lock_first", [True, False], ids=["completer-locks-first", "completer-locks-in-update"])
async def test_a_blocker_added_before_the_completion_locks_is_unblocked(
    adapter: Adapter, pool: asyncpg.Pool[Any], wait_until: WaitUntil, lock_first: bool
) -> None:
    blocker = await start(adapter, "blocker")
    dependent = await start(adapter, "dependent")
    added = asyncio.Event()
    release = asyncio.Event()
    completer_pid: list[int] = []

    async def add_blocker(tx: Any) -> None:
        [result] = await adapter.add_jobs_blockers(
            [JobBlockersParams(job_id=dependent.id, blocked_by_chain_ids=[blocker.id])], tx_ctx=tx
        )
        assert result.job.status == "blocked"
        added.set()
        await release.wait()  # holds FOR SHARE on the blocker's job until released

    async def complete_blocker(tx: Any) -> UnblockedJobs:
        await added.wait()
        completer_pid.append(await backend_pid(adapter, tx))
        if lock_first:
            await adapter.get_job(blocker.id, tx_ctx=tx, lock="exclusive")
        # Without the lock first, the UPDATE waits with a snapshot that misses the new blocker.
        await adapter.complete_job(blocker.id, output=1, worker_id=None, tx_ctx=tx)
        return await adapter.unblock_jobs(blocker.id, tx_ctx=tx)

    _, unblocked = await hold_then_wait(
        adapter,
        pool,
        wait_until,
        holder=add_blocker,
        waiter=complete_blocker,
        waiter_pid=completer_pid,
        release=release,
        what="the completion to wait for the blocker's lock",
    )
    assert [job.id for job in unblocked.unblocked_jobs] == [dependent.id]
    assert await get_status(adapter, dependent.id) == "pending", "the dependent was stranded as blocked"


async def test_a_blocker_added_while_a_locked_completion_runs_sees_the_chain_completed(
    counted: tuple[Adapter, CountingProvider], pool: asyncpg.Pool[Any], wait_until: WaitUntil
) -> None:
    state, provider = counted
    await start(state, "blocker")
    dependent = await start(state, "dependent")
    completed = asyncio.Event()
    release = asyncio.Event()
    adder_pid: list[int] = []
    blocker_id: list[str] = []

    async def complete_blocker(tx: Any) -> None:
        acquired = await state.acquire_job(["blocker"], tx_ctx=tx)
        assert acquired.job is not None
        blocker_id.append(acquired.job.id)
        await state.complete_job(acquired.job.id, output=1, worker_id="w", tx_ctx=tx)
        assert await state.unblock_jobs(acquired.job.id, tx_ctx=tx) == UnblockedJobs((), ())
        completed.set()
        await release.wait()

    async def add_blocker(tx: Any) -> Any:
        await completed.wait()
        adder_pid.append(await backend_pid(state, tx))
        return await state.add_jobs_blockers(
            [JobBlockersParams(job_id=dependent.id, blocked_by_chain_ids=blocker_id)], tx_ctx=tx
        )

    provider.statements.clear()
    _, [added] = await hold_then_wait(
        state,
        pool,
        wait_until,
        holder=complete_blocker,
        waiter=add_blocker,
        waiter_pid=adder_pid,
        release=release,
        what="the blocker to wait for the completion's lock",
    )
    assert "lock_blocked_dependents" not in statement_names(provider), "the completion took the shortcut"
    assert added.job.status == "pending"
    assert added.incomplete_blocker_chain_ids == ()


async def test_blockers_racing_locked_completions_never_strand_a_dependent(postgres_dsn: str, adapter: Adapter) -> None:
    pool = await asyncpg.create_pool(postgres_dsn, min_size=4, max_size=4)
    racer = await create_pg_state_adapter(state_provider=AsyncpgPoolProvider(pool), schema=adapter.schema)
    try:
        for _ in range(30):
            blocker = await start(racer, "blocker")

            async def start_dependent(tx: Any, blocker_id: str = blocker.id) -> StateJob:
                dependent = await start(racer, "dependent", tx_ctx=tx)
                await racer.add_jobs_blockers(
                    [JobBlockersParams(job_id=dependent.id, blocked_by_chain_ids=[blocker_id])], tx_ctx=tx
                )
                return dependent

            async def finish(tx: Any, blocker_id: str = blocker.id) -> None:
                await racer.get_job(blocker_id, tx_ctx=tx, lock="exclusive")
                await racer.complete_job(blocker_id, output=None, worker_id=None, tx_ctx=tx)
                await racer.unblock_jobs(blocker_id, tx_ctx=tx)

            dependent, _ = await asyncio.wait_for(
                asyncio.gather(racer.with_transaction(start_dependent), racer.with_transaction(finish)), timeout=10
            )
            assert await get_status(racer, dependent.id) == "pending", "a dependent was stranded as blocked"
    finally:
        await racer.close()
        await pool.close()


class Num(TypedDict):
    n: int


leaf = EntryJobType[Num, Num]("shortcut.leaf")
waiter = EntryJobType[Num, Num]("shortcut.waiter", blockers=[Rest("shortcut.leaf")])


@pytest.mark.parametrize("mode", ["atomic", "staged"])
async def test_a_worker_sends_unblock_statements_only_for_chains_with_dependents(
    counted: tuple[Adapter, CountingProvider], wait_until: WaitUntil, mode: str
) -> None:
    from queuert import Processor, create_in_process_worker, create_processors

    state, provider = counted
    client = await create_client(state_adapter=state, job_types=define_job_types(leaf, waiter))

    async def handle(ctx: Any) -> Any:
        if mode == "staged":
            await ctx.prepare("staged")

        async def produce(_: Any) -> Num:
            return Num(n=ctx.job.input["n"])

        return await ctx.complete(produce)

    async with transaction_hooks() as hooks:

        async def start_all(tx: Any) -> list[str]:
            leaves = [
                await client.start_chain(tx_ctx=tx, transaction_hooks=hooks, job_type=leaf, input=Num(n=n))
                for n in range(3)
            ]
            waiting = await client.start_chain(
                tx_ctx=tx, transaction_hooks=hooks, job_type=waiter, input=Num(n=9), blockers=[leaves[0]]
            )
            return [chain.id for chain in leaves] + [waiting.id]

        chain_ids = await state.with_transaction(start_all)

    provider.statements.clear()
    processors = create_processors(
        client=client,
        processors=[
            Processor(job_type=leaf, attempt_handler=handle),
            Processor(job_type=waiter, attempt_handler=handle),
        ],
    )
    worker = await create_in_process_worker(client=client, processors=processors, concurrency=2, poll_interval_ms=50)

    async def all_completed() -> bool:
        return all([await get_status(state, chain_id) == "completed" for chain_id in chain_ids])

    async with worker:
        await wait_until(all_completed, timeout_s=20, what="every chain to complete")
    names = statement_names(provider)
    assert names.count("complete_job") == 4
    # Only the leaf the waiter depends on needs the unblock statements.
    assert names.count("lock_blocked_dependents") == 1
    assert names.count("unblock_jobs") == 1


# --- the server dropping every connection mid-run ------------------------------------------------


class Slow(TypedDict):
    n: int


slow_job = EntryJobType[Slow, Slow]("restart.slow")


@dataclass
class _SlowChains:
    worker: Any
    chain_ids: list[str]
    completed: Callable[[], Awaitable[int]]


@asynccontextmanager
async def _slow_chains_worker(
    worker_dsn: str,
    adapter: Adapter,
    *,
    driver: str = "asyncpg",
    keep_connections_s: float = 0.0,
    application_name: str = "queuert",
) -> AsyncIterator[_SlowChains]:
    """60 pending chains of a 10 ms job, and a worker whose connections all go to `worker_dsn`.

    `driver` picks the worker's state provider: an asyncpg pool (listening on it too), a
    psycopg pool (with psycopg's own listen connection), or a SQLAlchemy engine (no notify
    adapter: the worker polls). Short backoffs everywhere, so that recovering from an outage
    takes about a second.
    """
    from queuert import (
        BackoffConfig,
        LeaseConfig,
        Processor,
        WorkerDefaults,
        create_in_process_worker,
        create_processors,
    )
    from queuert_postgres import (
        AsyncpgNotifyProvider,
        PsycopgNotifyProvider,
        PsycopgPoolProvider,
        SqlAlchemyAsyncProvider,
        create_pg_notify_adapter,
    )

    channel_prefix = f"qt_{uuid.uuid4().hex[:8]}"
    state: PgStateAdapter[Any]
    notify: Any = None
    if driver == "asyncpg":
        worker_pool = await asyncpg.create_pool(
            worker_dsn, min_size=2, max_size=8, server_settings={"application_name": application_name}
        )
        state = await create_pg_state_adapter(
            state_provider=AsyncpgPoolProvider(
                worker_pool, acquire_timeout_s=5, keep_connections_s=keep_connections_s, close_pool=True
            ),
            schema=adapter.schema,
        )
        notify = await create_pg_notify_adapter(
            notify_provider=AsyncpgNotifyProvider(worker_pool, reconnect_initial_delay_s=0.05),
            channel_prefix=channel_prefix,
        )
    elif driver == "psycopg":
        psycopg_pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            worker_dsn, min_size=2, max_size=8, open=False, reconnect_timeout=60
        )
        await psycopg_pool.open(wait=True)
        state = await create_pg_state_adapter(
            state_provider=PsycopgPoolProvider(psycopg_pool, timeout_s=5, close_pool=True), schema=adapter.schema
        )
        notify = await create_pg_notify_adapter(
            notify_provider=PsycopgNotifyProvider(worker_dsn, reconnect_initial_delay_s=0.05),
            channel_prefix=channel_prefix,
        )
    else:
        engine = create_async_engine(
            worker_dsn.replace("postgresql://", "postgresql+asyncpg://", 1), pool_size=8, pool_timeout=5
        )
        state = await create_pg_state_adapter(
            state_provider=SqlAlchemyAsyncProvider(engine, dispose_engine=True), schema=adapter.schema
        )
    job_types = define_job_types(slow_job)
    client = await create_client(state_adapter=state, notify_adapter=notify, job_types=job_types)
    starter = await create_client(state_adapter=adapter, job_types=job_types)

    async def handle(ctx: Any) -> Any:
        await asyncio.sleep(0.01)

        async def produce(_: Any) -> Slow:
            return Slow(n=ctx.job.input["n"])

        return await ctx.complete(produce)

    chain_ids: list[str] = []
    async with transaction_hooks() as hooks:

        async def start_all(tx: Any) -> None:
            for n in range(60):
                started = await starter.start_chain(
                    tx_ctx=tx, transaction_hooks=hooks, job_type=slow_job, input=Slow(n=n)
                )
                chain_ids.append(started.id)

        await adapter.with_transaction(start_all)

    worker = await create_in_process_worker(
        client=client,
        processors=create_processors(client=client, processors=[Processor(job_type=slow_job, attempt_handler=handle)]),
        concurrency=4,
        poll_interval_ms=200,
        recovery_backoff_config=BackoffConfig(initial_delay_ms=20, max_delay_ms=200),
        defaults=WorkerDefaults(
            backoff_config=BackoffConfig(initial_delay_ms=20, max_delay_ms=200),
            # Staged attempts cut off by the server leave their job leased: a short lease lets
            # the reaper hand it back quickly.
            lease_config=LeaseConfig(lease_ms=1_000, renew_interval_ms=300),
        ),
    )

    async def completed() -> int:
        page = await adapter.list_chains(
            filter=ChainFilter(type_name=["restart.slow"], status=["completed"]), limit=100
        )
        return len(page.items)

    try:
        yield _SlowChains(worker, chain_ids, completed)
    finally:
        if notify is not None:
            await notify.close()
        await state.close()


async def _wait_for_every_chain(
    slow: _SlowChains, adapter: Adapter, pool: asyncpg.Pool[Any], wait_until: WaitUntil
) -> None:
    try:
        await wait_until(lambda: _at_least(slow.completed, 60), timeout_s=30, what="every chain to complete")
    except AssertionError:
        rows = await pool.fetch(
            f"SELECT status::text, leased_until, scheduled_at, attempt FROM {adapter.schema}.queuert_job "
            "WHERE status <> 'completed'"
        )
        raise AssertionError(f"not completed: {[dict(r) for r in rows]}") from None


@pytest.mark.parametrize("keep_connections_s", [0.0, 0.5], ids=["pool", "kept-connections"])
async def test_workers_finish_every_chain_when_the_server_drops_their_connections(
    postgres_dsn: str, adapter: Adapter, pool: asyncpg.Pool[Any], wait_until: WaitUntil, keep_connections_s: float
) -> None:
    app_name = f"qt_restart_{uuid.uuid4().hex[:8]}"

    async def terminate_all() -> int:
        return int(
            await pool.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", app_name
            )
        )

    async with _slow_chains_worker(
        postgres_dsn, adapter, keep_connections_s=keep_connections_s, application_name=app_name
    ) as slow:
        async with slow.worker:
            for round_ in range(3):
                await wait_until(
                    lambda r=round_: _at_least(slow.completed, 10 * (r + 1)), timeout_s=20, what="progress"
                )
                assert await terminate_all() > 0
            await _wait_for_every_chain(slow, adapter, pool, wait_until)
    for chain_id in slow.chain_ids:
        job = await adapter.get_job(chain_id)
        assert job is not None
        assert job.status == "completed"


@pytest.mark.parametrize(
    ("driver", "keep_connections_s"),
    [("asyncpg", 0.0), ("asyncpg", 0.5), ("psycopg", 0.0), ("sqlalchemy", 0.0)],
    ids=["asyncpg-pool", "asyncpg-kept-connections", "psycopg-pool", "sqlalchemy-engine"],
)
async def test_workers_finish_every_chain_across_a_server_restart(
    adapter: Adapter,
    pool: asyncpg.Pool[Any],
    wait_until: WaitUntil,
    outage_proxy: OutageProxy,
    driver: str,
    keep_connections_s: float,
) -> None:
    async with _slow_chains_worker(
        outage_proxy.dsn, adapter, driver=driver, keep_connections_s=keep_connections_s
    ) as slow:
        async with slow.worker:
            await wait_until(lambda: _at_least(slow.completed, 15), timeout_s=20, what="progress")
            await outage_proxy.go_down()
            # What was committed before the outage is visible by now; nothing completes during it.
            await asyncio.sleep(0.2)
            during = await slow.completed()
            await asyncio.sleep(1.5)
            assert await slow.completed() == during, "a job completed while the worker could not reach the server"
            assert during < 60
            accepted_before = outage_proxy.accepted
            await outage_proxy.come_back()
            await _wait_for_every_chain(slow, adapter, pool, wait_until)
            # The worker's connections (and its listen connection, if any) came back after the restart.
            assert outage_proxy.accepted > accepted_before
    for chain_id in slow.chain_ids:
        job = await adapter.get_job(chain_id)
        assert job is not None
        assert job.status == "completed"


async def _at_least(count: Callable[[], Awaitable[int]], wanted: int) -> bool:
    return await count() >= wanted
