"""The bundled providers, and what the adapter stores.

Transactions shared with the application, lock discipline, lifecycle, and the on-disk
formats upstream queuert reads too.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from typing import TYPE_CHECKING, Any

import aiosqlite
import pytest

from queuert import AdapterClosedError, ChainFilter, DeduplicationOptions, JobFilter, ScheduleAfter
from queuert.adapters import CreateJobParams, JobBlockersParams
from queuert_sqlite import (
    AiosqliteProvider,
    Sqlite3Provider,
    SqliteStateAdapter,
    create_aiosqlite_provider,
    create_sqlite_state_adapter,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from queuert_sqlite import SharedConnectionProvider, SqliteStateProvider

    Adapter = SqliteStateAdapter[Any]
    ProviderOpener = Callable[[str, Path | str], Awaitable[SqliteStateProvider[Any]]]

TIMEOUT = 2.0
STORED_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$")


def _root(type_name: str = "t", *, input: Any = None, id: str | None = None) -> CreateJobParams:
    return CreateJobParams(type_name=type_name, chain_type_name=type_name, chain_index=0, input=input, id=id)


def _shared(adapter: Adapter) -> SharedConnectionProvider[Any]:
    provider = adapter.state_provider
    assert isinstance(provider, AiosqliteProvider | Sqlite3Provider)
    return provider


async def _execute(connection: Any, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Run the application's own statement on either driver's connection."""
    if isinstance(connection, aiosqlite.Connection):
        return [tuple(row) for row in await connection.execute_fetchall(sql, params)]
    return [tuple(row) for row in connection.execute(sql, params).fetchall()]


# --- the application's own transaction ----------------------------------------------


async def test_application_rows_and_jobs_commit_together(state_adapter: Adapter) -> None:
    provider = _shared(state_adapter)
    async with provider.transaction() as connection:
        await _execute(connection, "CREATE TABLE orders (id TEXT PRIMARY KEY)")
        await _execute(connection, "INSERT INTO orders (id) VALUES ('o-1')")
        [created] = await state_adapter.create_jobs([_root(input={"order": "o-1"})], tx_ctx=connection)

    assert await state_adapter.get_job(created.job.id) == created.job
    async with provider.transaction() as connection:
        assert await _execute(connection, "SELECT id FROM orders") == [("o-1",)]


async def test_application_rows_and_jobs_roll_back_together(state_adapter: Adapter) -> None:
    provider = _shared(state_adapter)
    async with provider.transaction() as connection:
        await _execute(connection, "CREATE TABLE orders (id TEXT PRIMARY KEY)")
    created_ids: list[str] = []

    async def checkout() -> None:
        async with provider.transaction() as connection:
            await _execute(connection, "INSERT INTO orders (id) VALUES ('o-2')")
            [created] = await state_adapter.create_jobs([_root()], tx_ctx=connection)
            created_ids.append(created.job.id)
            raise LookupError("payment declined")

    with pytest.raises(LookupError):
        await checkout()

    assert await state_adapter.get_job(created_ids[0]) is None
    async with provider.transaction() as connection:
        assert await _execute(connection, "SELECT id FROM orders") == []


async def test_the_connection_is_not_a_transaction_outside_one(state_adapter: Adapter) -> None:
    provider = _shared(state_adapter)
    with pytest.raises(RuntimeError, match="outside a transaction"):
        await state_adapter.create_jobs([_root()], tx_ctx=provider.connection)
    with pytest.raises(ValueError, match="not the connection"):
        await state_adapter.create_jobs([_root()], tx_ctx=object())


async def test_untransacted_calls_from_inside_a_transaction_fail_instead_of_hanging(state_adapter: Adapter) -> None:
    async def body(tx: Any) -> None:
        await state_adapter.create_jobs([_root()], tx_ctx=tx)
        await state_adapter.get_job("x")  # no tx_ctx: would wait for this very transaction

    with pytest.raises(RuntimeError, match="wait for that transaction forever"):
        await asyncio.wait_for(state_adapter.with_transaction(body), TIMEOUT)
    with pytest.raises(RuntimeError, match="nested transaction"):
        await asyncio.wait_for(state_adapter.with_transaction(lambda tx: state_adapter.with_transaction(body)), TIMEOUT)
    assert (await state_adapter.list_jobs(filter=JobFilter())).items == []


async def test_a_cancelled_transaction_rolls_back_and_frees_the_connection(state_adapter: Adapter) -> None:
    inside = asyncio.Event()
    created: list[str] = []

    async def body(tx: Any) -> None:
        [job] = await state_adapter.create_jobs([_root()], tx_ctx=tx)
        created.append(job.job.id)
        inside.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(state_adapter.with_transaction(body))
    await asyncio.wait_for(inside.wait(), TIMEOUT)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await state_adapter.get_job(created[0]) is None
    [after] = await state_adapter.create_jobs([_root()])
    assert await state_adapter.get_job(after.job.id) == after.job


async def test_savepoints_undo_only_their_own_work(state_adapter: Adapter) -> None:
    async def failing(tx: Any) -> None:
        await state_adapter.create_jobs([_root("inner")], tx_ctx=tx)
        raise KeyError("inner")

    async def body(tx: Any) -> None:
        await state_adapter.create_jobs([_root("outer")], tx_ctx=tx)
        with pytest.raises(KeyError):
            await state_adapter.with_savepoint(tx, failing)
        # A failed statement does not poison an SQLite transaction either.
        with pytest.raises(sqlite3.OperationalError):
            await state_adapter.state_provider.execute_sql(
                tx_ctx=tx, sql="SELECT * FROM no_such_table", params=(), column_types={"x": "string"}, read_only=True
            )
        await state_adapter.create_jobs([_root("after")], tx_ctx=tx)

    await state_adapter.with_transaction(body)
    types = sorted(job.type_name for job in (await state_adapter.list_jobs(filter=JobFilter())).items)
    assert types == ["after", "outer"]


async def test_transactions_from_many_tasks_run_one_at_a_time(state_adapter: Adapter) -> None:
    active = 0
    most = 0

    async def body(tx: Any) -> None:
        nonlocal active, most
        active += 1
        most = max(most, active)
        await state_adapter.create_jobs([_root()], tx_ctx=tx)
        await asyncio.sleep(0)
        active -= 1

    await asyncio.gather(*(state_adapter.with_transaction(body) for _ in range(20)))
    assert most == 1
    assert len((await state_adapter.list_jobs(filter=JobFilter(), limit=100)).items) == 20


# --- lifecycle ------------------------------------------------------------------------


async def test_close_waits_for_the_running_transaction(state_adapter: Adapter) -> None:
    inside = asyncio.Event()
    release = asyncio.Event()

    async def body(tx: Any) -> str:
        [job] = await state_adapter.create_jobs([_root()], tx_ctx=tx)
        inside.set()
        await release.wait()
        return job.job.id

    running = asyncio.create_task(state_adapter.with_transaction(body))
    await asyncio.wait_for(inside.wait(), TIMEOUT)
    closing = asyncio.create_task(state_adapter.state_provider.close())
    await asyncio.sleep(0.05)
    assert not closing.done()
    release.set()
    job_id = await asyncio.wait_for(running, TIMEOUT)
    await asyncio.wait_for(closing, TIMEOUT)
    assert job_id
    with pytest.raises(AdapterClosedError):
        await state_adapter.state_provider.with_transaction(lambda tx: asyncio.sleep(0))


async def test_closing_twice_is_fine_and_later_calls_raise(state_adapter: Adapter) -> None:
    await state_adapter.close()
    await state_adapter.close()
    with pytest.raises(AdapterClosedError):
        await state_adapter.get_job("x")
    with pytest.raises(AdapterClosedError):
        await state_adapter.migrate_to_latest()


async def test_a_connection_passed_in_stays_open_unless_handed_over(
    tmp_path: Path, migrated_database: Callable[..., Path]
) -> None:
    path = migrated_database(tmp_path)
    connection = await aiosqlite.connect(path, isolation_level=None)
    adapter = await create_sqlite_state_adapter(state_provider=AiosqliteProvider(connection))
    await adapter.create_jobs([_root()])
    await adapter.close()
    assert await _execute(connection, "SELECT count(*) FROM queuert_job") == [(1,)]
    await connection.close()

    plain = sqlite3.connect(path, isolation_level=None)
    owned = await create_sqlite_state_adapter(state_provider=Sqlite3Provider(plain, close_connection=True))
    await owned.close()
    with pytest.raises(sqlite3.ProgrammingError):
        plain.execute("SELECT 1")


async def test_async_with_closes_the_adapter(tmp_path: Path, migrated_database: Callable[..., Path]) -> None:
    provider = await create_aiosqlite_provider(migrated_database(tmp_path))
    async with await create_sqlite_state_adapter(state_provider=provider) as adapter:
        await adapter.create_jobs([_root()])
    with pytest.raises(AdapterClosedError):
        await adapter.get_job("x")


# --- several processes ----------------------------------------------------------------


async def test_begin_immediate_lets_read_then_write_transactions_share_a_file(
    tmp_path: Path, migrated_database: Callable[..., Path]
) -> None:
    # Two providers stand in for two processes. A transaction that reads before it writes
    # cannot wait for the other writer once it holds a read snapshot; BEGIN IMMEDIATE takes
    # the write lock up front instead, waiting up to the busy timeout.
    path = migrated_database(tmp_path)
    adapters = [
        await create_sqlite_state_adapter(state_provider=await create_aiosqlite_provider(path, begin_immediate=True))
        for _ in range(2)
    ]

    async def read_then_write(adapter: Adapter) -> None:
        for _ in range(20):

            async def body(tx: Any, adapter: Adapter = adapter) -> None:
                await adapter.list_jobs(filter=JobFilter(), limit=1, tx_ctx=tx)
                await adapter.create_jobs([_root()], tx_ctx=tx)

            await adapter.with_transaction(body)

    await asyncio.gather(*(read_then_write(adapter) for adapter in adapters))
    assert len((await adapters[0].list_jobs(filter=JobFilter(), limit=100)).items) == 40
    for adapter in adapters:
        await adapter.close()


async def test_deduplication_across_processes_never_inserts_twice(
    tmp_path: Path, migrated_database: Callable[..., Path]
) -> None:
    path = migrated_database(tmp_path)
    adapters = [
        await create_sqlite_state_adapter(state_provider=await create_aiosqlite_provider(path, begin_immediate=True))
        for _ in range(2)
    ]

    async def start(adapter: Adapter, key: str) -> bool:
        params = CreateJobParams(
            type_name="t", chain_type_name="t", chain_index=0, input=None, deduplication=DeduplicationOptions(key=key)
        )
        [created] = await adapter.with_transaction(lambda tx: adapter.create_jobs([params], tx_ctx=tx))
        return created.deduplicated

    for round_ in range(20):
        outcomes = await asyncio.gather(*(start(adapter, f"key-{round_}") for adapter in adapters))
        assert sorted(outcomes) == [False, True]
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("SELECT deduplication_key, count(*) FROM queuert_job GROUP BY 1").fetchall()
    finally:
        connection.close()
    assert sorted(rows) == sorted((f"key-{n}", 1) for n in range(20))
    for adapter in adapters:
        await adapter.close()


# --- what is stored -------------------------------------------------------------------


def _stored(path: Path, job_id: str) -> dict[str, Any]:
    connection = sqlite3.connect(path)
    connection.row_factory = sqlite3.Row
    try:
        row = connection.execute("SELECT * FROM queuert_job WHERE id = ?", (job_id,)).fetchone()
        return dict(row)
    finally:
        connection.close()


async def test_stored_values_use_upstream_encodings(tmp_path: Path, migrated_database: Callable[..., Path]) -> None:
    path = migrated_database(tmp_path)
    adapter = await create_sqlite_state_adapter(state_provider=await create_aiosqlite_provider(path))
    value = {"text": "日本語 🎉", "n": 1, "x": 1.5, "list": [True, None]}
    [created] = await adapter.create_jobs([_root(input=value)])
    [empty] = await adapter.create_jobs([_root(input=None)])
    await adapter.acquire_job(["t"])
    await adapter.reschedule_job(created.job.id, schedule=ScheduleAfter(after_ms=0), error="boom\nline 2")
    await adapter.complete_job(created.job.id, output=["done"], worker_id="w-1")
    await adapter.close()

    row = _stored(path, created.job.id)
    assert row["input"] == '{"text":"日本語 🎉","n":1,"x":1.5,"list":[true,null]}'
    assert row["output"] == '["done"]'
    assert row["status"] == "completed"
    assert row["completed_by"] == "w-1"
    assert json.loads(row["last_attempt_error"] or "null") is None  # cleared on completion
    for column in ("created_at", "scheduled_at", "completed_at", "last_attempt_at"):
        assert STORED_TIME.match(row[column]), (column, row[column])
    assert _stored(path, empty.job.id)["input"] is None


async def test_errors_are_stored_as_json_strings(state_adapter: Adapter) -> None:
    [created] = await state_adapter.create_jobs([_root()])
    await state_adapter.acquire_job(["t"])
    job = await state_adapter.reschedule_job(created.job.id, schedule=ScheduleAfter(after_ms=0), error='say "hi"')
    assert job.last_attempt_error == 'say "hi"'
    provider = state_adapter.state_provider
    rows = await provider.execute_sql(
        tx_ctx=None,
        sql="SELECT last_attempt_error FROM queuert_job WHERE id = ?",
        params=(created.job.id,),
        column_types={"last_attempt_error": "string?"},
        read_only=True,
    )
    assert rows == [{"last_attempt_error": '"say \\"hi\\""'}]


async def test_times_have_millisecond_precision_from_the_database_clock(state_adapter: Adapter) -> None:
    [created] = await state_adapter.create_jobs([_root()])
    job = created.job
    assert job.created_at.tzinfo is not None
    assert job.created_at.microsecond % 1000 == 0
    assert job.scheduled_at == job.created_at


async def test_a_large_batch_comes_back_in_input_order(state_adapter: Adapter) -> None:
    # RETURNING rows have no promised order; results are matched to the inputs by id.
    ids = [f"job-{n:04d}" for n in range(300)]
    params = [_root(input=n, id=job_id) for n, job_id in reversed(list(enumerate(ids)))]
    created = await state_adapter.create_jobs(params)
    assert [c.job.id for c in created] == [p.id for p in params]
    assert [c.job.input for c in created] == [p.input for p in params]
    assert not any(c.deduplicated for c in created)


async def test_vacuum_returns_freed_pages(tmp_path: Path, migrated_database: Callable[..., Path]) -> None:
    path = migrated_database(tmp_path)
    adapter = await create_sqlite_state_adapter(state_provider=await create_aiosqlite_provider(path))
    created = await adapter.create_jobs([_root(input="x" * 2000) for _ in range(200)])
    await adapter.delete_chains([c.job.id for c in created])

    def freelist() -> int:
        connection = sqlite3.connect(path)
        try:
            return int(connection.execute("PRAGMA freelist_count").fetchone()[0])
        finally:
            connection.close()

    assert freelist() > 0
    await adapter.vacuum()
    assert freelist() == 0
    await adapter.close()


async def test_truncate_empties_both_tables(state_adapter: Adapter) -> None:
    [blocker] = await state_adapter.create_jobs([_root("blocker")])
    [main] = await state_adapter.create_jobs([_root("main")])
    await state_adapter.add_jobs_blockers(
        [JobBlockersParams(job_id=main.job.id, blocked_by_chain_ids=[blocker.job.id])]
    )
    await state_adapter.truncate()
    assert (await state_adapter.list_chains(filter=ChainFilter())).items == []
    assert await state_adapter.get_job_blockers(main.job.id) == []


async def test_memory_databases_work_for_tests(provider_opener: ProviderOpener) -> None:
    provider = await provider_opener("aiosqlite", ":memory:")
    adapter = await create_sqlite_state_adapter(state_provider=provider)
    await adapter.migrate_to_latest()
    [created] = await adapter.create_jobs([_root()])
    assert (await adapter.acquire_job(["t"])).job is not None
    assert (await adapter.get_job(created.job.id)) is not None
    await adapter.close()
