"""Helpers shared by the SQL state adapters: identifiers, templates, rows, migrations."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from queuert import SchemaVersionError
from queuert.adapters import (
    JOB_COLUMNS,
    Migration,
    MigrationResult,
    decode_json_column,
    encode_json,
    job_from_json,
    job_from_row,
    plan_migrations,
    render_sql_template,
    run_migrations,
    split_sql_statements,
    statement_id,
    validate_sql_identifier,
)


@pytest.mark.parametrize(
    "value",
    [
        "public; DROP TABLE",
        "1bad",
        "my-prefix-",
        "bad prefix",
        "foo'quote",
        'foo"quote',
        "foo\\bar",
        "",
        "a -- c",
        None,
    ],
)
def test_identifiers_that_could_change_the_sql_are_rejected(value: object) -> None:
    with pytest.raises(ValueError, match=r"^Invalid schema ") as caught:
        validate_sql_identifier(value, option="schema")
    assert repr(value) in str(caught.value)
    assert "^[A-Za-z_][A-Za-z0-9_]*$" in str(caught.value)


@pytest.mark.parametrize("value", ["public", "my_schema", "qrt_", "_x", "Q1"])
def test_plain_identifiers_are_accepted(value: str) -> None:
    assert validate_sql_identifier(value, option="table_prefix") == value


def test_templates_replace_only_the_names_given() -> None:
    sql = "SELECT '{}'::text[], '{\"a\": 1}' FROM {schema}.{prefix}job WHERE {other}"
    assert render_sql_template(sql, {"schema": "s", "prefix": "p_"}) == (
        "SELECT '{}'::text[], '{\"a\": 1}' FROM s.p_job WHERE {other}"
    )


def test_scripts_split_at_top_level_semicolons_only() -> None:
    script = """
    -- a comment; with a semicolon
    CREATE TABLE a (x text DEFAULT ';');
    DO $$ BEGIN PERFORM 1; PERFORM 2; END $$;
    /* block; comment */
    CREATE TABLE "b;c" (y int);
    SELECT $tag$ ; $tag$;
    -- trailing comment only
    """
    assert split_sql_statements(script) == [
        "-- a comment; with a semicolon\n    CREATE TABLE a (x text DEFAULT ';')",
        "DO $$ BEGIN PERFORM 1; PERFORM 2; END $$",
        '/* block; comment */\n    CREATE TABLE "b;c" (y int)',
        "SELECT $tag$ ; $tag$",
    ]


def test_statement_ids_are_stable_and_depend_on_the_text() -> None:
    first = statement_id("get_job", "SELECT 1")
    assert first == statement_id("get_job", "SELECT 1")
    assert first != statement_id("get_job", "SELECT 2")
    assert first.startswith("get_job@")
    assert len(first.split("@")[1]) == 8


def test_json_encoding_matches_upstream_and_rejects_non_finite_numbers() -> None:
    assert encode_json(None) is None
    assert encode_json("abc") == '"abc"'
    assert encode_json({"a": [1, 2.5, "日本語 🎉"]}) == '{"a":[1,2.5,"日本語 🎉"]}'
    with pytest.raises(ValueError, match="Out of range"):
        encode_json(float("nan"))
    assert decode_json_column('{"a":1}') == {"a": 1}
    assert decode_json_column(None) is None
    assert decode_json_column([1]) == [1]


def _row(**overrides: object) -> dict[str, object]:
    job_id = str(uuid.uuid4())
    row: dict[str, object] = {
        "id": uuid.UUID(job_id),
        "type_name": "t",
        "chain_id": job_id,
        "chain_type_name": "t",
        "chain_index": 0,
        "input": '{"x":"日本語"}',
        "output": None,
        "status": "running",
        "created_at": datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2))),
        "scheduled_at": "2030-01-01 10:00:00.123",
        "completed_at": None,
        "completed_by": None,
        "attempt": 2,
        "last_attempt_at": None,
        "last_attempt_error": '"boom"',
        "leased_by": "w",
        "leased_until": None,
        "deduplication_key": None,
        "chain_trace_context": None,
        "trace_context": "tp",
    }
    row.update(overrides)
    return row


def test_rows_decode_into_state_jobs() -> None:
    row = _row()
    job = job_from_row(row)
    assert job.id == str(row["id"])
    assert job.input == {"x": "日本語"}
    assert job.created_at == datetime(2030, 1, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert job.created_at.tzinfo is UTC
    assert job.scheduled_at == datetime(2030, 1, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert job.last_attempt_error == "boom"
    assert job.status == "running"


def test_prefixed_columns_decode_the_second_job_of_a_row() -> None:
    inner = _row(type_name="last")
    row = {f"lc_{k}": v for k, v in inner.items()}
    assert job_from_row(row, prefix="lc_").type_name == "last"


def test_json_built_in_sql_decodes_to_the_same_job() -> None:
    row = _row()
    as_json = {
        **row,
        "id": str(row["id"]),
        "input": json.loads(str(row["input"])),
        "last_attempt_error": "boom",
        "created_at": "2030-01-01T12:00:00.123456+02:00",
        "scheduled_at": "2030-01-01T10:00:00.123+00:00",
    }
    assert job_from_json(as_json) == job_from_row(row)


def test_bad_rows_are_reported() -> None:
    with pytest.raises(ValueError, match="unknown job status"):
        job_from_row(_row(status="failed"))
    with pytest.raises(KeyError):
        job_from_row({k: v for k, v in _row().items() if k != "attempt"})
    assert len(JOB_COLUMNS) == 20


MIGRATIONS = [Migration("001_a", ("A",)), Migration("002_b", ("B",)), Migration("003_c", ("C",))]


def test_a_plan_lists_pending_skipped_and_unrecognized() -> None:
    plan = plan_migrations(MIGRATIONS, ["002_b", "009_future", "001_a"])
    assert [m.name for m in plan.pending] == ["003_c"]
    assert plan.skipped == ("002_b", "001_a")
    assert plan.unrecognized == ("009_future",)


async def test_the_runner_applies_in_order_and_reports() -> None:
    recorded = ["001_a"]
    ran: list[str] = []

    async def read_applied() -> list[str]:
        return list(recorded)

    async def apply(migration: Migration) -> bool:
        ran.append(migration.name)
        recorded.append(migration.name)
        return migration.name != "003_c"  # pretend another process applied 003_c meanwhile

    result = await run_migrations(MIGRATIONS, read_applied=read_applied, apply=apply)
    assert ran == ["002_b", "003_c"]
    assert result == MigrationResult(applied=("002_b",), skipped=("001_a", "003_c"), unrecognized=())


async def test_the_runner_stops_at_the_first_failure() -> None:
    ran: list[str] = []

    async def read_applied() -> list[str]:
        return []

    async def apply(migration: Migration) -> bool:
        ran.append(migration.name)
        if migration.name == "002_b":
            raise RuntimeError("syntax error")
        return True

    with pytest.raises(RuntimeError):
        await run_migrations(MIGRATIONS, read_applied=read_applied, apply=apply)
    assert ran == ["001_a", "002_b"]


async def test_the_runner_refuses_a_schema_from_a_newer_version() -> None:
    async def read_applied() -> list[str]:
        return ["001_a", "009_future"]

    async def apply(migration: Migration) -> bool:
        raise AssertionError("nothing may be applied")

    with pytest.raises(SchemaVersionError) as caught:
        await run_migrations(MIGRATIONS, read_applied=read_applied, apply=apply)
    assert caught.value.unrecognized_migrations == ("009_future",)

    applied: list[str] = []

    async def record(migration: Migration) -> bool:
        applied.append(migration.name)
        return True

    result = await run_migrations(MIGRATIONS, read_applied=read_applied, apply=record, allow_unrecognized=True)
    assert result.unrecognized == ("009_future",)
    assert applied == ["002_b", "003_c"]


def test_schema_errors_name_the_fix_and_survive_pickling() -> None:
    import pickle  # noqa: TID251  # errors cross process pools, which pickle them

    from queuert import MigrationRequiredError

    required = MigrationRequiredError(pending_migrations=["001_a"])
    assert "migrate_to_latest()" in str(required)
    assert "001_a" in str(required)
    assert "migrate_to_latest()" in str(MigrationRequiredError())
    newer = SchemaVersionError(unrecognized_migrations=["009_future"])
    for error in (required, newer):
        restored = pickle.loads(pickle.dumps(error))
        assert type(restored) is type(error)
        assert str(restored) == str(error)
    assert pickle.loads(pickle.dumps(newer)).unrecognized_migrations == ("009_future",)
