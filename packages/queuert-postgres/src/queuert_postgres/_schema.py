"""The schema: names of the objects, the migrations, and the SQL scripts for users who migrate themselves.

Migration SQL lives in `sql/migrations/<name>.sql` (one file per migration, applied in name
order) and the consolidated latest schema in `sql/schema.sql`. Both are templates with three
placeholders, resolved per adapter: `{schema}`, `{prefix}` and `{id_type}`. The migration
names are upstream queuert's, byte for byte, so a database migrated by the TypeScript
library is recognised here and the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from queuert.adapters import Migration, render_sql_template, split_sql_statements, validate_sql_identifier

__all__ = ("MIGRATIONS", "SchemaNames", "get_migration_sql", "get_schema_sql", "load_migrations")

_NON_TRANSACTIONAL_MARKER = "-- queuert: non-transactional"


@dataclass(frozen=True, slots=True)
class SchemaNames:
    """The configurable names, validated, and the SQL names derived from them."""

    schema: str = "public"
    table_prefix: str = "queuert_"
    id_type: str = "uuid"

    def __post_init__(self) -> None:
        validate_sql_identifier(self.schema, option="schema")
        validate_sql_identifier(self.table_prefix, option="table_prefix")
        validate_sql_identifier(self.id_type, option="id_type")

    @property
    def job(self) -> str:
        """The job table, schema-qualified."""
        return f"{self.schema}.{self.table_prefix}job"

    @property
    def job_blocker(self) -> str:
        """The blocker table, schema-qualified."""
        return f"{self.schema}.{self.table_prefix}job_blocker"

    @property
    def migration(self) -> str:
        """The migration bookkeeping table, schema-qualified."""
        return f"{self.schema}.{self.table_prefix}migration"

    @property
    def status_type(self) -> str:
        """The job status enum, schema-qualified."""
        return f"{self.schema}.{self.table_prefix}job_status"

    def template_values(self) -> dict[str, str]:
        """Values for every placeholder the SQL templates use."""
        return {
            "schema": self.schema,
            "prefix": self.table_prefix,
            "id_type": self.id_type,
            "job": self.job,
            "job_blocker": self.job_blocker,
            "migration": self.migration,
            "status_t": self.status_type,
        }

    def render(self, sql: str) -> str:
        """Resolve the placeholders of one SQL template."""
        return render_sql_template(sql, self.template_values())


def _read_sql(*parts: str) -> str:
    return resources.files("queuert_postgres").joinpath("sql", *parts).read_text(encoding="utf-8")


@cache
def load_migrations() -> tuple[Migration, ...]:
    """The migrations shipped with this version, in application order, as unrendered templates."""
    directory = resources.files("queuert_postgres").joinpath("sql", "migrations")
    files = sorted(entry.name for entry in directory.iterdir() if entry.name.endswith(".sql"))
    migrations = []
    for filename in files:
        text = directory.joinpath(filename).read_text(encoding="utf-8")
        migrations.append(
            Migration(
                name=filename.removesuffix(".sql"),
                statements=tuple(split_sql_statements(text)),
                transactional=_NON_TRANSACTIONAL_MARKER not in text,
            )
        )
    return tuple(migrations)


MIGRATIONS: tuple[str, ...] = tuple(m.name for m in load_migrations())
"""Names of the migrations this version applies, in order."""


def render_migration(migration: Migration, names: SchemaNames) -> Migration:
    """The migration with its placeholders resolved for `names`."""
    return Migration(
        name=migration.name,
        statements=tuple(names.render(s) for s in migration.statements),
        transactional=migration.transactional,
    )


def migration_table_sql(names: SchemaNames) -> str:
    """Creates the bookkeeping table if it is missing."""
    return (
        f"CREATE TABLE IF NOT EXISTS {names.migration} "
        "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )


def record_migration_sql(names: SchemaNames) -> str:
    """Records one applied migration (`$1` = its name)."""
    return f"INSERT INTO {names.migration} (name) VALUES ($1::text) ON CONFLICT (name) DO NOTHING"


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def get_migration_sql(
    *,
    schema: str = "public",
    table_prefix: str = "queuert_",
    id_type: str = "uuid",
    applied: tuple[str, ...] | list[str] = (),
    transactions: bool = True,
) -> str:
    """The SQL script that brings a database to the latest schema, for applying it yourself.

    Use it to hand queuert's schema to Alembic, Django migrations, Flyway or a DBA. The
    script creates the bookkeeping table, then, for each migration not in `applied`, runs
    its statements and records its name, so `migrate_to_latest()` later agrees with what was
    applied by hand. Also available as `python -m queuert_postgres sql`.

    Args:
        schema: Schema of the tables (must exist already).
        table_prefix: Prefix of every table, type and index name.
        id_type: SQL type of the id columns.
        applied: Migration names already applied; they are left out.
        transactions: Wrap each transactional migration in `BEGIN` / `COMMIT`. Pass `False`
            when your tool runs the script inside a transaction of its own.

    Raises:
        ValueError: A name does not match `^[A-Za-z_][A-Za-z0-9_]*$`.
    """
    names = SchemaNames(schema, table_prefix, id_type)
    done = set(applied)
    parts = [
        f"-- queuert-postgres schema migrations (schema {schema}, table prefix {table_prefix}, id type {id_type})",
        migration_table_sql(names) + ";",
    ]
    for migration in load_migrations():
        if migration.name in done:
            continue
        rendered = render_migration(migration, names)
        body = [statement + ";" for statement in rendered.statements]
        record = (
            f"INSERT INTO {names.migration} (name) VALUES ({_quote_literal(migration.name)}) "
            "ON CONFLICT (name) DO NOTHING;"
        )
        if rendered.transactional and transactions:
            body = ["BEGIN;", *body, record, "COMMIT;"]
        else:
            body = [*body, record]
        parts.append(f"-- migration {migration.name}\n" + "\n\n".join(body))
    return "\n\n".join(parts) + "\n"


def get_schema_sql(*, schema: str = "public", table_prefix: str = "queuert_", id_type: str = "uuid") -> str:
    """The latest schema as one script for an empty database, with every migration recorded as applied.

    Equivalent to running all migrations (a test compares the resulting catalogs), but
    shorter to read. Use `get_migration_sql` for a database that already has an older schema.

    Raises:
        ValueError: A name does not match `^[A-Za-z_][A-Za-z0-9_]*$`.
    """
    names = SchemaNames(schema, table_prefix, id_type)
    values = ",\n".join(f"  ({_quote_literal(name)})" for name in MIGRATIONS)
    record = f"INSERT INTO {names.migration} (name) VALUES\n{values}\nON CONFLICT (name) DO NOTHING;\n"
    return names.render(_read_sql("schema.sql")).rstrip() + "\n\n" + record
