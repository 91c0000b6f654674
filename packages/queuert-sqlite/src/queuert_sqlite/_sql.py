"""The adapter's SQL: named statements and migrations read from the package's `sql/` files.

Each text is a template; `resolve_statements` fills in the table prefix, the id type and
the column lists once per adapter, and names each statement with a stable id.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, cast, get_args

from queuert.adapters import JOB_COLUMNS, Migration, split_sql_statements, statement_id

from ._provider import RuntimeType

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = (
    "CHAIN_COLUMN_TYPES",
    "JOB_COLUMN_TYPES",
    "NOW",
    "Statement",
    "job_columns",
    "last_job_columns",
    "resolve_migrations",
    "resolve_statements",
    "resolve_template",
)

NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
"""The current time as stored text. The same shape as `datetime('now', 'subsec')`, which
needs SQLite 3.42; this works on every version with RETURNING (3.35+)."""

_JOB_COLUMN_KINDS: Mapping[str, RuntimeType] = {
    "id": "string",
    "type_name": "string",
    "chain_id": "string",
    "chain_type_name": "string",
    "chain_index": "number",
    "input": "string?",
    "output": "string?",
    "status": "string",
    "created_at": "string",
    "scheduled_at": "string",
    "completed_at": "string?",
    "completed_by": "string?",
    "attempt": "number",
    "last_attempt_at": "string?",
    "last_attempt_error": "string?",
    "leased_by": "string?",
    "leased_until": "string?",
    "deduplication_key": "string?",
    "chain_trace_context": "string?",
    "trace_context": "string?",
}
JOB_COLUMN_TYPES: Mapping[str, RuntimeType] = {name: _JOB_COLUMN_KINDS[name] for name in JOB_COLUMNS}
"""Every job column (the shared upstream layout) and what it holds as read from SQLite."""

_RUNTIME_TYPES: frozenset[str] = frozenset(get_args(RuntimeType))


def _nullable(kind: RuntimeType) -> RuntimeType:
    return kind if kind.endswith("?") else cast("RuntimeType", f"{kind}?")


_LAST_JOB_COLUMN_TYPES: Mapping[str, RuntimeType] = {
    f"lc_{name}": _nullable(kind) for name, kind in JOB_COLUMN_TYPES.items()
}
CHAIN_COLUMN_TYPES: Mapping[str, RuntimeType] = {**JOB_COLUMN_TYPES, **_LAST_JOB_COLUMN_TYPES}
"""A chain row: the first job's columns, then the newest job's as `lc_*`."""

_PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")
_NAME_HEADER = re.compile(r"^--\s*name:\s*(\w+)\s*$")
_RETURNS_HEADER = re.compile(r"^--\s*returns:\s*(.+?)\s*$")
_READ_ONLY_PRAGMAS = frozenset({"pragma_foreign_keys", "pragma_auto_vacuum"})


def job_columns(alias: str | None = None) -> str:
    """The job column list, qualified by `alias` when given."""
    if alias is None:
        return ", ".join(JOB_COLUMNS)
    return ", ".join(f"{alias}.{name}" for name in JOB_COLUMNS)


def last_job_columns(alias: str) -> str:
    """The job columns of `alias`, each renamed `lc_<column>` (a chain's newest job)."""
    return ", ".join(f"{alias}.{name} AS lc_{name}" for name in JOB_COLUMNS)


def resolve_template(template: str, *, prefix: str, id_type: str) -> str:
    """Fill in `{prefix}`, `{id_type}`, `{job}`, `{job_blocker}`, `{now}`, `{cols[:a]}` and `{lc_cols:a}`."""

    def substitute(match: re.Match[str]) -> str:
        name, argument = match.group(1), match.group(2)
        if name == "prefix":
            return prefix
        if name == "id_type":
            return id_type
        if name == "job":
            return f"{prefix}job"
        if name == "job_blocker":
            return f"{prefix}job_blocker"
        if name == "now":
            return NOW
        if name == "cols":
            return job_columns(argument)
        if name == "lc_cols" and argument is not None:
            return last_job_columns(argument)
        raise ValueError(f"Unknown SQL template placeholder {match.group(0)!r}")

    return _PLACEHOLDER.sub(substitute, template)


@dataclass(frozen=True, slots=True)
class Statement:
    """One resolved statement and what the provider needs to know about it."""

    name: str
    sql: str
    column_types: Mapping[str, RuntimeType]
    """Empty when the statement returns no rows."""
    read_only: bool
    statement_id: str
    """`"<name>@<8 hex>"`: FNV-1a of the resolved text, so adapters with different prefixes never share one."""


def _strip_comments(text: str) -> str:
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return "\n".join(lines).strip()


def _parse_returns(spec: str) -> dict[str, RuntimeType]:
    columns: dict[str, RuntimeType] = {}
    for token in (part.strip() for part in spec.split(",")):
        if token == "job":
            columns.update(JOB_COLUMN_TYPES)
        elif token == "lc":
            columns.update(_LAST_JOB_COLUMN_TYPES)
        else:
            name, _, kind = token.partition(":")
            if kind not in _RUNTIME_TYPES:
                raise ValueError(f"Unknown column type {kind!r} in '-- returns: {spec}'")
            columns[name] = cast("RuntimeType", kind)
    return columns


@functools.cache
def _statement_templates() -> tuple[tuple[str, str, tuple[tuple[str, RuntimeType], ...]], ...]:
    text = resources.files(__package__).joinpath("sql", "queries.sql").read_text(encoding="utf-8")
    found: list[tuple[str, str, tuple[tuple[str, RuntimeType], ...]]] = []
    name: str | None = None
    returns: dict[str, RuntimeType] = {}
    body: list[str] = []

    def flush() -> None:
        if name is not None:
            found.append((name, _strip_comments("\n".join(body)), tuple(returns.items())))

    for line in text.splitlines():
        header = _NAME_HEADER.match(line)
        if header is not None:
            flush()
            name, returns, body = header.group(1), {}, []
            continue
        returns_header = _RETURNS_HEADER.match(line)
        if returns_header is not None and name is not None and not body:
            returns = _parse_returns(returns_header.group(1))
            continue
        body.append(line)
    flush()
    return tuple(found)


def resolve_statements(*, prefix: str, id_type: str) -> dict[str, Statement]:
    """Every named statement of `sql/queries.sql`, resolved for this prefix and id type."""
    statements: dict[str, Statement] = {}
    for name, template, returns in _statement_templates():
        sql = resolve_template(template, prefix=prefix, id_type=id_type)
        first_word = sql.split(None, 1)[0].upper()
        statements[name] = Statement(
            name=name,
            sql=sql,
            column_types=dict(returns),
            read_only=first_word in ("SELECT", "WITH") or name in _READ_ONLY_PRAGMAS,
            statement_id=statement_id(name, sql),
        )
    return statements


@functools.cache
def _migration_templates() -> tuple[tuple[str, str], ...]:
    folder = resources.files(__package__).joinpath("sql", "migrations")
    files = sorted((entry.name, entry) for entry in folder.iterdir() if entry.name.endswith(".sql"))
    return tuple((name.removesuffix(".sql"), entry.read_text(encoding="utf-8")) for name, entry in files)


def resolve_migrations(*, prefix: str, id_type: str) -> tuple[Migration, ...]:
    """The migrations in the order they apply (their names sort chronologically)."""
    return tuple(
        Migration(
            name=name,
            statements=tuple(
                resolve_template(statement, prefix=prefix, id_type=id_type)
                for statement in split_sql_statements(template)
            ),
        )
        for name, template in _migration_templates()
    )
