"""Schema, migrations and the SQL printed for users who migrate with their own tools."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from queuert import JobFilter, MigrationRequiredError, SchemaVersionError
from queuert.adapters import render_sql_template
from queuert_postgres import (
    MIGRATIONS,
    AsyncpgPoolProvider,
    PgStateAdapter,
    SchemaNotFoundError,
    create_pg_state_adapter,
    get_migration_sql,
    get_schema_sql,
)
from queuert_postgres._schema import SchemaNames, load_migrations, render_migration

pytestmark = pytest.mark.postgres

FreshSchema = Callable[[], Awaitable[str]]

UPSTREAM_MIGRATIONS = (
    "20240101000000_initial_schema",
    "20240102000000_vacuum_tuning",
    "20260430000000_rename_chain_indexes",
    "20260517000000_drop_job_id_default",
)


async def catalog(pool: asyncpg.Pool[Any], schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """Everything about a schema's objects that a migration could change, with the schema name neutralised."""
    queries = {
        "columns": """
            SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid)
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE c.relnamespace = $1::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY 1, 2
        """,
        "relations": """
            SELECT relname, relkind::text, coalesce(reloptions, '{}')::text[] FROM pg_class
            WHERE relnamespace = $1::regnamespace ORDER BY 1
        """,
        "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY 1",
        "constraints": """
            SELECT conrelid::regclass::text, conname, contype::text, pg_get_constraintdef(oid)
            FROM pg_constraint WHERE connamespace = $1::regnamespace ORDER BY 1, 2
        """,
        "types": """
            SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
            FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
            WHERE t.typnamespace = $1::regnamespace GROUP BY 1 ORDER BY 1
        """,
    }
    result: dict[str, list[tuple[Any, ...]]] = {}
    for name, sql in queries.items():
        rows = await pool.fetch(sql, schema)
        result[name] = [
            tuple(value.replace(schema, "<schema>") if isinstance(value, str) else value for value in row)
            for row in rows
        ]
    return result


async def applied_names(pool: asyncpg.Pool[Any], schema: str, prefix: str = "queuert_") -> list[str]:
    return [row["name"] for row in await pool.fetch(f"SELECT name FROM {schema}.{prefix}migration ORDER BY name")]


async def make_adapter(pool: asyncpg.Pool[Any], schema: str, **options: Any) -> PgStateAdapter[Any]:
    return await create_pg_state_adapter(state_provider=AsyncpgPoolProvider(pool), schema=schema, **options)


def test_migration_names_are_upstreams() -> None:
    assert MIGRATIONS == UPSTREAM_MIGRATIONS


async def test_migrate_to_latest_builds_the_upstream_schema_and_is_idempotent(
    pool: asyncpg.Pool[Any], fresh_schema: FreshSchema
) -> None:
    schema = await fresh_schema()
    adapter = await make_adapter(pool, schema)
    first = await adapter.migrate_to_latest()
    assert first.applied == UPSTREAM_MIGRATIONS
    assert first.skipped == ()
    second = await adapter.migrate_to_latest()
    assert second.applied == ()
    assert second.skipped == UPSTREAM_MIGRATIONS
    shape = await catalog(pool, schema)
    assert {row[0] for row in shape["relations"] if row[1] == "r"} == {
        "queuert_job",
        "queuert_job_blocker",
        "queuert_migration",
    }
    assert {row[0] for row in shape["indexes"]} == {
        "queuert_job_pkey",
        "queuert_job_blocker_pkey",
        "queuert_migration_pkey",
        "queuert_job_acquisition_idx",
        "queuert_chain_index_idx",
        "queuert_job_deduplication_idx",
        "queuert_job_expired_lease_idx",
        "queuert_job_blocker_chain_idx",
        "queuert_chain_listing_idx",
        "queuert_job_listing_idx",
        "queuert_job_listing_status_idx",
        "queuert_job_listing_type_name_idx",
        "queuert_chain_listing_type_name_idx",
    }
    assert shape["types"] == [("queuert_job_status", ["blocked", "pending", "running", "completed"])]
    job_options = next(row[2] for row in shape["relations"] if row[0] == "queuert_job")
    assert sorted(job_options) == sorted(
        [
            "fillfactor=75",
            "autovacuum_vacuum_scale_factor=0.02",
            "autovacuum_analyze_scale_factor=0.02",
            "autovacuum_vacuum_cost_delay=0",
        ]
    )
    id_default = next(row[5] for row in shape["columns"] if row[0] == "queuert_job" and row[2] == "id")
    assert id_default is None


@pytest.mark.parametrize("already_applied", range(len(UPSTREAM_MIGRATIONS) + 1))
async def test_upgrading_from_every_version_gives_the_fresh_schema(
    pool: asyncpg.Pool[Any], fresh_schema: FreshSchema, already_applied: int
) -> None:
    fresh = await fresh_schema()
    await (await make_adapter(pool, fresh)).migrate_to_latest()

    stepwise = await fresh_schema()
    names = SchemaNames(schema=stepwise)
    await pool.execute(
        f"CREATE TABLE {names.migration} (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    for migration in load_migrations()[:already_applied]:
        async with pool.acquire() as conn, conn.transaction():
            for statement in render_migration(migration, names).statements:
                await conn.execute(statement)
            await conn.execute(f"INSERT INTO {names.migration} (name) VALUES ($1)", migration.name)
    result = await (await make_adapter(pool, stepwise)).migrate_to_latest()
    assert result.applied == UPSTREAM_MIGRATIONS[already_applied:]
    assert await catalog(pool, stepwise) == await catalog(pool, fresh)


async def test_a_legacy_database_with_an_id_default_loses_it(
    pool: asyncpg.Pool[Any], fresh_schema: FreshSchema
) -> None:
    fresh = await fresh_schema()
    await (await make_adapter(pool, fresh)).migrate_to_latest()
    legacy = await fresh_schema()
    adapter = await make_adapter(pool, legacy)
    await adapter.migrate_to_latest()
    await pool.execute(f"ALTER TABLE {legacy}.queuert_job ALTER COLUMN id SET DEFAULT gen_random_uuid()")
    await pool.execute(f"DELETE FROM {legacy}.queuert_migration WHERE name = '20260517000000_drop_job_id_default'")
    assert (await adapter.migrate_to_latest()).applied == ("20260517000000_drop_job_id_default",)
    assert await catalog(pool, legacy) == await catalog(pool, fresh)


async def test_the_consolidated_schema_script_equals_the_migrated_schema(
    pool: asyncpg.Pool[Any], fresh_schema: FreshSchema
) -> None:
    migrated = await fresh_schema()
    await (await make_adapter(pool, migrated)).migrate_to_latest()
    scripted = await fresh_schema()
    await pool.execute(get_schema_sql(schema=scripted))
    assert await catalog(pool, scripted) == await catalog(pool, migrated)
    assert await applied_names(pool, scripted) == list(UPSTREAM_MIGRATIONS)
    assert (await (await make_adapter(pool, scripted)).migrate_to_latest()).applied == ()


@pytest.mark.parametrize("transactions", [True, False])
async def test_the_printed_migration_script_applies_and_is_recorded(
    pool: asyncpg.Pool[Any], fresh_schema: FreshSchema, transactions: bool
) -> None:
    migrated = await fresh_schema()
    await (await make_adapter(pool, migrated)).migrate_to_latest()
    scripted = await fresh_schema()
    script = get_migration_sql(schema=scripted, transactions=transactions)
    assert ("BEGIN;" in script) is transactions
    await pool.execute(script)
    assert await catalog(pool, scripted) == await catalog(pool, migrated)
    assert await applied_names(pool, scripted) == list(UPSTREAM_MIGRATIONS)
    assert (await (await make_adapter(pool, scripted)).migrate_to_latest()).applied == ()


def test_the_printed_script_leaves_out_applied_migrations() -> None:
    script = get_migration_sql(applied=list(UPSTREAM_MIGRATIONS[:3]))
    assert "20260517000000_drop_job_id_default" in script
    assert "-- migration 20240101000000_initial_schema" not in script
    assert "CREATE TABLE IF NOT EXISTS public.queuert_migration" in script


async def test_custom_schema_prefix_and_id_type(pool: asyncpg.Pool[Any], fresh_schema: FreshSchema) -> None:
    schema = await fresh_schema()
    adapter = await make_adapter(pool, schema, table_prefix="qrt_", id_type="text")
    await adapter.migrate_to_latest()
    shape = await catalog(pool, schema)
    assert {row[0] for row in shape["relations"] if row[1] == "r"} == {"qrt_job", "qrt_job_blocker", "qrt_migration"}
    id_type = next(row[3] for row in shape["columns"] if row[0] == "qrt_job" and row[2] == "id")
    assert id_type == "text"


async def test_concurrent_migrations_apply_each_migration_once(postgres_dsn: str, fresh_schema: FreshSchema) -> None:
    schema = await fresh_schema()
    pools = [await asyncpg.create_pool(postgres_dsn, min_size=1, max_size=2) for _ in range(4)]
    try:
        adapters = [await make_adapter(p, schema) for p in pools]
        results = await asyncio.gather(*(a.migrate_to_latest() for a in adapters))
    finally:
        for p in pools:
            await p.close()
    applied = [name for result in results for name in result.applied]
    # Each migration ran in exactly one process; the others found it recorded.
    assert sorted(applied) == sorted(UPSTREAM_MIGRATIONS) or all(
        r.applied in ((), UPSTREAM_MIGRATIONS) for r in results
    )


async def test_a_schema_migrated_by_a_newer_version_is_refused(
    pool: asyncpg.Pool[Any], fresh_schema: FreshSchema
) -> None:
    schema = await fresh_schema()
    adapter = await make_adapter(pool, schema)
    await adapter.migrate_to_latest()
    await pool.execute(f"INSERT INTO {schema}.queuert_migration (name) VALUES ('29990101000000_from_the_future')")
    with pytest.raises(SchemaVersionError) as caught:
        await adapter.migrate_to_latest()
    assert caught.value.unrecognized_migrations == ("29990101000000_from_the_future",)
    assert "newer" in str(caught.value)
    allowed = await adapter.migrate_to_latest(allow_unrecognized=True)
    assert allowed.unrecognized == ("29990101000000_from_the_future",)


async def test_a_missing_schema_says_to_create_it(pool: asyncpg.Pool[Any]) -> None:
    adapter = await make_adapter(pool, "qt_no_such_schema")
    with pytest.raises(SchemaNotFoundError, match="CREATE SCHEMA qt_no_such_schema"):
        await adapter.migrate_to_latest()


async def test_using_an_unmigrated_schema_says_to_run_the_migration(
    pool: asyncpg.Pool[Any], fresh_schema: FreshSchema
) -> None:
    adapter = await make_adapter(pool, await fresh_schema())
    with pytest.raises(MigrationRequiredError, match=r"migrate_to_latest\(\)"):
        await adapter.get_job("6b0c7d38-8d57-4c3e-8a43-0c6f3a1c9f4e")
    with pytest.raises(MigrationRequiredError):
        await adapter.with_transaction(lambda tx: adapter.acquire_job(["t"], tx_ctx=tx))
    other = await make_adapter(pool, "qt_no_such_schema")
    with pytest.raises(MigrationRequiredError):
        await other.list_jobs(filter=JobFilter())


BAD_NAMES = [
    "public; DROP TABLE",
    "1bad",
    "my-prefix-",
    "bad prefix",
    "foo'quote",
    'foo"quote',
    "foo\\bar",
    "",
    "a -- comment",
    "a /*x*/ b",
]


@pytest.mark.parametrize("value", BAD_NAMES)
@pytest.mark.parametrize("option", ["schema", "table_prefix", "id_type"])
async def test_identifiers_pasted_into_sql_are_validated(pool: asyncpg.Pool[Any], option: str, value: str) -> None:
    names: dict[str, Any] = {option: value}
    with pytest.raises(ValueError, match=f"^Invalid {option} ") as caught:
        await create_pg_state_adapter(state_provider=AsyncpgPoolProvider(pool), **names)
    assert repr(value) in str(caught.value)
    assert "[A-Za-z_]" in str(caught.value)
    with pytest.raises(ValueError, match=f"^Invalid {option} "):
        get_migration_sql(**names)


async def test_valid_identifiers_are_accepted(pool: asyncpg.Pool[Any]) -> None:
    await create_pg_state_adapter(state_provider=AsyncpgPoolProvider(pool), schema="my_schema", table_prefix="qrt_")
    await create_pg_state_adapter(state_provider=AsyncpgPoolProvider(pool), id_type="text", generate_id=lambda: "x")


def test_templates_resolve_every_placeholder() -> None:
    names = SchemaNames(schema="s", table_prefix="p_", id_type="uuid")
    for migration in load_migrations():
        for statement in render_migration(migration, names).statements:
            assert "{" not in statement.replace("'{}'", ""), statement
    assert "{" not in get_schema_sql()
    assert render_sql_template("{a} {b} '{}'", {"a": "x"}) == "x {b} '{}'"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "queuert_postgres", *args], capture_output=True, text=True, check=False, timeout=60
    )


def test_the_command_line_prints_the_sql() -> None:
    printed = run_cli("sql", "--schema", "app", "--table-prefix", "qrt_")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == get_migration_sql(schema="app", table_prefix="qrt_")
    schema = run_cli("schema", "--id-type", "text")
    assert schema.stdout == get_schema_sql(id_type="text")
    names = run_cli("migrations")
    assert names.stdout.split() == list(UPSTREAM_MIGRATIONS)
    bad = run_cli("sql", "--schema", "x; DROP")
    assert bad.returncode == 2
    assert "Invalid schema" in bad.stderr
