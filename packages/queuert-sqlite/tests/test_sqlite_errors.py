"""Bad input: foreign files, locked and read-only databases, id clashes. Typed errors, nothing lost."""

from __future__ import annotations

import asyncio
import pickle  # noqa: TID251  # errors must survive process pools, which pickle them
import sqlite3
import time
from typing import TYPE_CHECKING, Any

import aiosqlite
import pytest

from queuert import (
    ChainNotFoundError,
    DuplicateJobIdError,
    JobFilter,
    JobNotFoundError,
    MigrationRequiredError,
    QueuertError,
)
from queuert.adapters import CreateJobParams, JobBlockersParams
from queuert_sqlite import (
    AiosqliteProvider,
    CannotOpenDatabaseError,
    DatabaseLockedError,
    MisconfiguredConnectionError,
    NotADatabaseError,
    ReadOnlyDatabaseError,
    Sqlite3Provider,
    SqliteError,
    UnsupportedSqliteVersionError,
    create_aiosqlite_provider,
    create_sqlite3_provider,
    create_sqlite_state_adapter,
)
from queuert_sqlite._adapter import check_sqlite_version

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from queuert_sqlite import SqliteStateAdapter

    Adapter = SqliteStateAdapter[Any]

GARBAGE = b"This is a spreadsheet, not a database.\n" * 200


def _root(type_name: str = "t", *, id: str | None = None) -> CreateJobParams:
    return CreateJobParams(type_name=type_name, chain_type_name=type_name, chain_index=0, input=None, id=id)


def _count_jobs(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute("SELECT count(*) FROM queuert_job").fetchone()[0])
    finally:
        connection.close()


# --- files that are not queuert databases ---------------------------------------------


@pytest.mark.parametrize("factory", [create_aiosqlite_provider, create_sqlite3_provider])
async def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(tmp_path: Path, factory: Any) -> None:
    path = tmp_path / "report.xlsx"
    path.write_bytes(GARBAGE)

    with pytest.raises(NotADatabaseError) as info:
        await factory(path)

    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)
    assert info.value.sqlite_errorname == "SQLITE_NOTADB"
    assert path.read_bytes() == GARBAGE


async def test_an_application_connection_to_a_non_sqlite_file_fails_typed(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(GARBAGE)
    connection = await aiosqlite.connect(path, isolation_level=None)
    await connection.execute_fetchall("PRAGMA foreign_keys = ON")  # a per-connection flag: no file access
    adapter = await create_sqlite_state_adapter(state_provider=AiosqliteProvider(connection, close_connection=True))

    with pytest.raises(NotADatabaseError):
        await adapter.get_job("x")
    with pytest.raises(NotADatabaseError):
        await adapter.migrate_to_latest()

    await adapter.close()
    assert path.read_bytes() == GARBAGE


async def test_a_missing_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(CannotOpenDatabaseError, match="directory"):
        await create_aiosqlite_provider(tmp_path / "no" / "such" / "dir" / "q.db")
    with pytest.raises(CannotOpenDatabaseError):
        await create_sqlite3_provider(tmp_path / "no" / "q.db")


async def test_an_sqlite_file_without_queuert_tables_asks_for_migration(tmp_path: Path) -> None:
    adapter = await create_sqlite_state_adapter(state_provider=await create_aiosqlite_provider(tmp_path / "q.db"))
    with pytest.raises(MigrationRequiredError, match=r"migrate_to_latest\(\)"):
        await adapter.list_jobs(filter=JobFilter())
    await adapter.close()


# --- a database locked by another connection ------------------------------------------


async def test_a_locked_database_waits_the_busy_timeout_then_fails_typed(
    tmp_path: Path, migrated_database: Callable[..., Path]
) -> None:
    path = migrated_database(tmp_path)
    adapter = await create_sqlite_state_adapter(
        state_provider=await create_aiosqlite_provider(path, busy_timeout_ms=200)
    )
    [kept] = await adapter.create_jobs([_root()])
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO queuert_migration (name) VALUES ('held by another process')")
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseLockedError) as info:
            await adapter.create_jobs([_root()])
        waited = time.monotonic() - started
        assert 0.15 <= waited < 3, waited
        assert isinstance(info.value.__cause__, sqlite3.OperationalError)
        assert info.value.sqlite_errorname == "SQLITE_BUSY"

        with pytest.raises(DatabaseLockedError):
            await adapter.with_transaction(lambda tx: adapter.create_jobs([_root(), _root()], tx_ctx=tx))

        # Readers are not blocked by the other writer (WAL), and see only committed rows.
        assert await adapter.get_job(kept.job.id) == kept.job
    finally:
        other.execute("ROLLBACK")
        other.close()

    # Nothing half-written, and the adapter works again once the lock is gone.
    assert _count_jobs(path) == 1
    await adapter.create_jobs([_root()])
    assert _count_jobs(path) == 2
    await adapter.close()


async def test_two_connections_on_one_file_take_turns_writing(
    tmp_path: Path, migrated_database: Callable[..., Path]
) -> None:
    # Two providers stand in for two processes: SQLite's file lock and busy timeout serialize them.
    path = migrated_database(tmp_path)
    first = await create_sqlite_state_adapter(state_provider=await create_aiosqlite_provider(path))
    second = await create_sqlite_state_adapter(state_provider=await create_aiosqlite_provider(path))

    async def writer(adapter: Adapter, count: int) -> None:
        for _ in range(count):
            await adapter.with_transaction(lambda tx: adapter.create_jobs([_root(), _root()], tx_ctx=tx))

    await asyncio.gather(writer(first, 25), writer(second, 25))

    assert _count_jobs(path) == 100
    await first.close()
    await second.close()


# --- a read-only database -------------------------------------------------------------


async def test_a_read_only_database_can_be_read_but_not_written(
    tmp_path: Path, migrated_database: Callable[..., Path]
) -> None:
    path = migrated_database(tmp_path)
    writer = await create_sqlite_state_adapter(state_provider=await create_aiosqlite_provider(path))
    [kept] = await writer.create_jobs([_root()])
    await writer.close()

    reader = await create_sqlite_state_adapter(
        state_provider=await create_aiosqlite_provider(f"file:{path}?mode=ro", uri=True)
    )
    assert await reader.get_job(kept.job.id) == kept.job
    with pytest.raises(ReadOnlyDatabaseError) as info:
        await reader.create_jobs([_root()])
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    with pytest.raises(ReadOnlyDatabaseError):
        await reader.complete_job(kept.job.id, output=1, worker_id=None)
    # Nothing to migrate means nothing to write: that works on a read-only file.
    assert (await reader.migrate_to_latest()).applied == ()
    # The failed writes left the connection usable and the data untouched.
    assert await reader.get_job(kept.job.id) == kept.job
    await reader.close()
    assert _count_jobs(path) == 1


async def test_opening_a_read_only_file_that_needs_a_write_fails_typed(tmp_path: Path) -> None:
    path = tmp_path / "rollback-journal.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE t (x)")
    connection.close()
    # Switching an existing read-only file to WAL is a write.
    with pytest.raises(ReadOnlyDatabaseError):
        await create_aiosqlite_provider(f"file:{path}?mode=ro", uri=True)
    provider = await create_aiosqlite_provider(f"file:{path}?mode=ro", uri=True, journal_mode=None)
    await provider.close()


# --- ids and references ---------------------------------------------------------------


async def test_a_caller_id_already_in_use_raises_duplicate_job_id(state_adapter: Adapter) -> None:
    [first] = await state_adapter.create_jobs([_root()])
    [parent] = await state_adapter.create_jobs([_root()])

    with pytest.raises(DuplicateJobIdError) as info:
        await state_adapter.create_jobs([_root(), _root(id=first.job.id)])
    assert info.value.id == first.job.id
    assert isinstance(info.value.__cause__, sqlite3.IntegrityError)

    continuation = CreateJobParams(
        type_name="next", chain_type_name="t", chain_index=1, input=None, chain_id=parent.job.id, id=first.job.id
    )
    with pytest.raises(DuplicateJobIdError):
        await state_adapter.create_jobs([continuation])

    # Nothing of the failed batches was written.
    page = await state_adapter.list_jobs(filter=JobFilter())
    assert sorted(job.id for job in page.items) == sorted([first.job.id, parent.job.id])


async def test_a_failed_insert_leaves_the_transaction_usable(state_adapter: Adapter) -> None:
    [taken] = await state_adapter.create_jobs([_root()])

    async def body(tx: Any) -> str:
        with pytest.raises(DuplicateJobIdError):
            await state_adapter.create_jobs([_root(id=taken.job.id)], tx_ctx=tx)
        [created] = await state_adapter.create_jobs([_root()], tx_ctx=tx)
        return created.job.id

    created_id = await state_adapter.with_transaction(body)
    assert await state_adapter.get_job(created_id) is not None


async def test_continuing_a_missing_chain_raises_chain_not_found(state_adapter: Adapter) -> None:
    orphan = CreateJobParams(type_name="next", chain_type_name="t", chain_index=1, input=None, chain_id="nope")
    with pytest.raises(ChainNotFoundError) as info:
        await state_adapter.create_jobs([orphan])
    assert info.value.chain_id == "nope"


async def test_blockers_must_name_existing_jobs_and_chains(state_adapter: Adapter) -> None:
    [job] = await state_adapter.create_jobs([_root()])
    [other] = await state_adapter.create_jobs([_root()])
    with pytest.raises(JobNotFoundError):
        await state_adapter.add_jobs_blockers([JobBlockersParams(job_id="missing", blocked_by_chain_ids=[job.job.id])])
    with pytest.raises(ChainNotFoundError) as info:
        await state_adapter.add_jobs_blockers(
            [JobBlockersParams(job_id=job.job.id, blocked_by_chain_ids=[other.job.id, "missing"])]
        )
    assert info.value.chain_id == "missing"
    with pytest.raises(ValueError, match="twice"):
        await state_adapter.add_jobs_blockers(
            [JobBlockersParams(job_id=job.job.id, blocked_by_chain_ids=[other.job.id, other.job.id])]
        )
    assert await state_adapter.get_job_blockers(job.job.id) == []
    assert (await state_adapter.get_job(job.job.id)) == job.job


# --- configuration --------------------------------------------------------------------


async def test_connections_with_implicit_transactions_are_refused(tmp_path: Path) -> None:
    with pytest.raises(MisconfiguredConnectionError, match="isolation_level=None"):
        Sqlite3Provider(sqlite3.connect(tmp_path / "a.db"))
    connection = await aiosqlite.connect(tmp_path / "b.db")
    try:
        with pytest.raises(MisconfiguredConnectionError, match="isolation_level=None"):
            AiosqliteProvider(connection)
    finally:
        await connection.close()


@pytest.mark.parametrize("value", ["public; DROP TABLE", "1bad", "my-prefix-", "bad prefix", "foo'quote", ""])
async def test_identifiers_pasted_into_sql_are_checked(tmp_path: Path, value: str) -> None:
    provider = await create_sqlite3_provider(":memory:")
    with pytest.raises(ValueError, match=r"^Invalid table_prefix"):
        await create_sqlite_state_adapter(state_provider=provider, table_prefix=value)
    with pytest.raises(ValueError, match=r"^Invalid id_type"):
        await create_sqlite_state_adapter(state_provider=provider, id_type=value)
    await provider.close()


def test_sqlite_before_3_35_is_refused_with_the_reason() -> None:
    with pytest.raises(UnsupportedSqliteVersionError, match=r"3\.35"):
        check_sqlite_version((3, 34, 1))
    check_sqlite_version((3, 35, 0))
    check_sqlite_version(sqlite3.sqlite_version_info)


def test_errors_are_queuert_errors_and_pickle() -> None:
    error = DatabaseLockedError("locked", sqlite_errorname="SQLITE_BUSY")
    assert isinstance(error, SqliteError)
    assert isinstance(error, QueuertError)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is DatabaseLockedError
    assert copy.sqlite_errorname == "SQLITE_BUSY"
    assert str(copy) == "locked"
