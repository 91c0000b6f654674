"""Migrations: from scratch, idempotent, upgrading an older schema, and the schema they produce."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

import pytest

from queuert import MigrationRequiredError, SchemaVersionError
from queuert.adapters import CreateJobParams
from queuert_sqlite import (
    IncompatibleSchemaError,
    MisconfiguredConnectionError,
    Sqlite3Provider,
    create_sqlite_state_adapter,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from queuert_sqlite import SqliteStateProvider

    ProviderOpener = Callable[[str, Path | str], Awaitable[SqliteStateProvider[Any]]]

MIGRATIONS = ("20240101000000_initial_schema", "20260430000000_rename_chain_indexes")

JOB_COLUMNS = [
    # (name, declared type, not null, default, primary key position)
    ("id", "TEXT", 0, None, 1),
    ("type_name", "TEXT", 1, None, 0),
    ("chain_id", "TEXT", 1, None, 0),
    ("chain_type_name", "TEXT", 1, None, 0),
    ("chain_index", "INTEGER", 1, None, 0),
    ("input", "TEXT", 0, None, 0),
    ("output", "TEXT", 0, None, 0),
    ("status", "TEXT", 1, "'pending'", 0),
    ("created_at", "TEXT", 1, "strftime('%Y-%m-%d %H:%M:%f', 'now')", 0),
    ("scheduled_at", "TEXT", 1, "strftime('%Y-%m-%d %H:%M:%f', 'now')", 0),
    ("completed_at", "TEXT", 0, None, 0),
    ("completed_by", "TEXT", 0, None, 0),
    ("attempt", "INTEGER", 1, "0", 0),
    ("last_attempt_at", "TEXT", 0, None, 0),
    ("last_attempt_error", "TEXT", 0, None, 0),
    ("leased_by", "TEXT", 0, None, 0),
    ("leased_until", "TEXT", 0, None, 0),
    ("deduplication_key", "TEXT", 0, None, 0),
    ("chain_trace_context", "TEXT", 0, None, 0),
    ("trace_context", "TEXT", 0, None, 0),
]

BLOCKER_COLUMNS = [
    ("job_id", "TEXT", 1, None, 1),
    ("blocked_by_chain_id", "TEXT", 1, None, 2),
    ("index", "INTEGER", 1, None, 0),
    ("trace_context", "TEXT", 0, None, 0),
]

# Final index names (upstream v0.14.1), each with its table, uniqueness, columns and partial condition.
INDEXES = {
    "job_acquisition_idx": ("job", 0, ["type_name", "scheduled_at"], "status = 'pending'"),
    "chain_index_idx": ("job", 1, ["chain_id", "chain_index"], None),
    "job_deduplication_idx": (
        "job",
        0,
        ["deduplication_key", "created_at"],
        "deduplication_key IS NOT NULL AND chain_index = 0",
    ),
    "job_expired_lease_idx": (
        "job",
        0,
        ["type_name", "leased_until"],
        "status = 'running' AND leased_until IS NOT NULL",
    ),
    "job_blocker_chain_idx": ("job_blocker", 0, ["blocked_by_chain_id"], None),
    "chain_listing_idx": ("job", 0, ["created_at"], "chain_index = 0"),
    "job_listing_idx": ("job", 0, ["created_at"], None),
    "job_listing_status_idx": ("job", 0, ["status", "created_at"], None),
    "job_listing_type_name_idx": ("job", 0, ["type_name", "created_at"], None),
    "chain_listing_type_name_idx": ("job", 0, ["type_name", "created_at"], "chain_index = 0"),
}


def _schema(path: Path, prefix: str = "queuert_") -> dict[str, Any]:
    """Tables, columns and indexes with `prefix`, read with the stdlib driver."""
    connection = sqlite3.connect(path)
    try:
        tables = sorted(
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ? ESCAPE '!'",
                (prefix.replace("_", "!_") + "%",),
            )
        )
        columns = {
            table: [(c[1], c[2], c[3], c[4], c[5]) for c in connection.execute(f"PRAGMA table_info({table})")]
            for table in tables
        }
        indexes = {}
        for name, table, sql in connection.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ):
            unique = next(row[2] for row in connection.execute(f"PRAGMA index_list({table})") if row[1] == name)
            keys = [row[2] for row in connection.execute(f"PRAGMA index_info({name})")]
            where = sql.split(" WHERE ", 1)[1].strip() if " WHERE " in sql else None
            indexes[name] = (table, unique, keys, where)
        migrations = [row[0] for row in connection.execute(f"SELECT name FROM {prefix}migration ORDER BY name")]
        return {"tables": tables, "columns": columns, "indexes": indexes, "migrations": migrations}
    finally:
        connection.close()


async def _adapter(provider_opener: ProviderOpener, path: Path, kind: str = "aiosqlite", **options: Any) -> Any:
    return await create_sqlite_state_adapter(state_provider=await provider_opener(kind, path), **options)


def _root(type_name: str = "t") -> CreateJobParams:
    return CreateJobParams(type_name=type_name, chain_type_name=type_name, chain_index=0, input={"n": 1})


async def test_migrates_an_empty_file_from_scratch(tmp_path: Path, provider_opener: ProviderOpener) -> None:
    adapter = await _adapter(provider_opener, tmp_path / "new.db")
    result = await adapter.migrate_to_latest()
    assert result.applied == MIGRATIONS
    assert result.skipped == ()
    assert result.unrecognized == ()
    [created] = await adapter.create_jobs([_root()])
    assert (await adapter.get_job(created.job.id)) == created.job
    await adapter.close()

    schema = _schema(tmp_path / "new.db")
    assert schema["tables"] == ["queuert_job", "queuert_job_blocker", "queuert_migration"]
    assert schema["columns"]["queuert_job"] == JOB_COLUMNS
    assert schema["columns"]["queuert_job_blocker"] == BLOCKER_COLUMNS
    assert schema["columns"]["queuert_migration"] == [
        ("name", "TEXT", 0, None, 1),
        ("applied_at", "TEXT", 1, "strftime('%Y-%m-%d %H:%M:%f', 'now')", 0),
    ]
    expected = {f"queuert_{name}": (f"queuert_{table}", *rest) for name, (table, *rest) in INDEXES.items()}
    assert schema["indexes"] == expected
    assert schema["migrations"] == list(MIGRATIONS)


async def test_migrating_again_changes_nothing(tmp_path: Path, provider_opener: ProviderOpener) -> None:
    adapter = await _adapter(provider_opener, tmp_path / "q.db")
    await adapter.migrate_to_latest()
    [kept] = await adapter.create_jobs([_root()])
    before = _schema(tmp_path / "q.db")

    again = await adapter.migrate_to_latest()

    assert again.applied == ()
    assert again.skipped == MIGRATIONS
    assert _schema(tmp_path / "q.db") == before
    assert await adapter.get_job(kept.job.id) == kept.job
    await adapter.close()


async def test_custom_prefix_and_id_type_name_everything(tmp_path: Path, provider_opener: ProviderOpener) -> None:
    adapter = await _adapter(provider_opener, tmp_path / "q.db", table_prefix="myapp_queue_", id_type="INTEGER")
    await adapter.migrate_to_latest()
    await adapter.close()
    schema = _schema(tmp_path / "q.db", "myapp_queue_")
    assert schema["tables"] == ["myapp_queue_job", "myapp_queue_job_blocker", "myapp_queue_migration"]
    assert schema["columns"]["myapp_queue_job"][0] == ("id", "INTEGER", 0, None, 1)
    assert set(schema["indexes"]) == {f"myapp_queue_{name}" for name in INDEXES}


async def test_two_prefixes_share_one_file(tmp_path: Path, provider_opener: ProviderOpener) -> None:
    provider = await provider_opener("aiosqlite", tmp_path / "q.db")
    first = await create_sqlite_state_adapter(state_provider=provider)
    second = await create_sqlite_state_adapter(state_provider=provider, table_prefix="other_")
    await first.migrate_to_latest()
    await second.migrate_to_latest()
    [job] = await first.create_jobs([_root()])
    assert await second.get_job(job.job.id) is None
    await provider.close()


async def test_upgrades_a_database_at_the_first_migration(tmp_path: Path, provider_opener: ProviderOpener) -> None:
    path = tmp_path / "old.db"
    adapter = await _adapter(provider_opener, path)
    first_only = adapter._migrations[:1]
    adapter._migrations = first_only
    await adapter.migrate_to_latest()
    [kept] = await adapter.create_jobs([_root()])
    await adapter.close()
    old = _schema(path)
    assert old["migrations"] == [MIGRATIONS[0]]
    assert "queuert_job_chain_index_idx" in old["indexes"]

    adapter = await _adapter(provider_opener, path)
    with pytest.raises(MigrationRequiredError) as info:
        await adapter.get_job(kept.job.id)
    assert info.value.pending_migrations == (MIGRATIONS[1],)
    assert "migrate_to_latest()" in str(info.value)

    result = await adapter.migrate_to_latest()

    assert result.applied == (MIGRATIONS[1],)
    assert result.skipped == (MIGRATIONS[0],)
    assert await adapter.get_job(kept.job.id) == kept.job
    await adapter.close()
    new = _schema(path)
    assert set(new["indexes"]) == {f"queuert_{name}" for name in INDEXES}
    assert new["columns"] == old["columns"]


async def test_a_database_without_the_schema_asks_for_migration(
    tmp_path: Path, provider_opener: ProviderOpener
) -> None:
    path = tmp_path / "app.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER)")
    connection.execute("INSERT INTO orders (total) VALUES (42)")
    connection.commit()
    connection.close()
    adapter = await _adapter(provider_opener, path, check_auto_vacuum=False)

    with pytest.raises(MigrationRequiredError) as info:
        await adapter.create_jobs([_root()])

    assert info.value.pending_migrations == MIGRATIONS
    assert "migrate_to_latest()" in str(info.value)
    await adapter.migrate_to_latest()
    await adapter.create_jobs([_root()])
    await adapter.close()
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT total FROM orders").fetchall() == [(42,)]
    connection.close()


async def test_tables_that_are_not_queuert_s_are_refused(tmp_path: Path, provider_opener: ProviderOpener) -> None:
    path = tmp_path / "app.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE queuert_job (id INTEGER PRIMARY KEY, payload TEXT)")
    connection.execute("INSERT INTO queuert_job (payload) VALUES ('mine')")
    connection.commit()
    connection.close()
    adapter = await _adapter(provider_opener, path, check_auto_vacuum=False)

    with pytest.raises(IncompatibleSchemaError):
        await adapter.get_job("x")
    with pytest.raises(IncompatibleSchemaError):
        await adapter.migrate_to_latest()
    await adapter.close()

    connection = sqlite3.connect(path)
    assert connection.execute("SELECT payload FROM queuert_job").fetchall() == [("mine",)]
    connection.close()


async def test_newer_migrations_stop_migrate_unless_allowed(tmp_path: Path, provider_opener: ProviderOpener) -> None:
    path = tmp_path / "q.db"
    adapter = await _adapter(provider_opener, path)
    await adapter.migrate_to_latest()
    await adapter.close()
    connection = sqlite3.connect(path)
    connection.execute("INSERT INTO queuert_migration (name) VALUES ('29990101000000_from_the_future')")
    connection.commit()
    connection.close()

    adapter = await _adapter(provider_opener, path)
    with pytest.raises(SchemaVersionError) as info:
        await adapter.migrate_to_latest()
    assert info.value.unrecognized_migrations == ("29990101000000_from_the_future",)
    result = await adapter.migrate_to_latest(allow_unrecognized=True)
    assert result.unrecognized == ("29990101000000_from_the_future",)
    # Older code keeps working against a newer (additive) schema, as during a rolling deploy.
    await adapter.create_jobs([_root()])
    await adapter.close()


async def test_refuses_a_connection_without_foreign_keys(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "q.db", isolation_level=None)
    connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
    adapter = await create_sqlite_state_adapter(state_provider=Sqlite3Provider(connection, close_connection=True))
    with pytest.raises(MisconfiguredConnectionError, match="foreign_keys"):
        await adapter.migrate_to_latest()
    assert _tables(tmp_path / "q.db") == []

    adapter = await create_sqlite_state_adapter(
        state_provider=Sqlite3Provider(connection, close_connection=True), check_foreign_keys=False
    )
    await adapter.migrate_to_latest()
    await adapter.close()


async def test_refuses_a_database_without_incremental_auto_vacuum(tmp_path: Path) -> None:
    connection = sqlite3.connect(tmp_path / "q.db", isolation_level=None)
    connection.execute("PRAGMA foreign_keys = ON")
    adapter = await create_sqlite_state_adapter(state_provider=Sqlite3Provider(connection, close_connection=True))
    with pytest.raises(MisconfiguredConnectionError, match="auto_vacuum"):
        await adapter.migrate_to_latest()

    adapter = await create_sqlite_state_adapter(
        state_provider=Sqlite3Provider(connection, close_connection=True), check_auto_vacuum=False
    )
    await adapter.migrate_to_latest()
    await adapter.close()


def _tables(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    finally:
        connection.close()


async def test_a_database_laid_out_by_upstream_queuert_is_used_as_is(
    tmp_path: Path, provider_opener: ProviderOpener
) -> None:
    # Upstream (TypeScript) v0.14.1 declares the time defaults as datetime('now', 'subsec'),
    # which is NULL before SQLite 3.42. The adapter always writes times itself, so such a
    # database works here too; everything else (names, types, records) is identical.
    path = tmp_path / "shared.db"
    adapter = await _adapter(provider_opener, path)
    await adapter.migrate_to_latest()
    await adapter.close()
    connection = sqlite3.connect(path, isolation_level=None)
    [table_sql] = connection.execute("SELECT sql FROM sqlite_master WHERE name = 'queuert_job'").fetchone()
    upstream_sql = table_sql.replace("strftime('%Y-%m-%d %H:%M:%f', 'now')", "datetime('now', 'subsec')")
    connection.execute("PRAGMA writable_schema = ON")
    connection.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'queuert_job'", (upstream_sql,))
    connection.execute("PRAGMA writable_schema = OFF")
    connection.close()

    adapter = await _adapter(provider_opener, path)
    assert (await adapter.migrate_to_latest()).applied == ()
    [created] = await adapter.create_jobs([_root()])
    acquired = await adapter.acquire_job(["t"])
    assert acquired.job is not None
    assert acquired.job.id == created.job.id
    await adapter.close()
