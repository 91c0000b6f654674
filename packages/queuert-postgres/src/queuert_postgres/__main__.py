"""Print queuert's PostgreSQL schema SQL, for applying it with your own migration tool.

python -m queuert_postgres sql [--schema S] [--table-prefix P] [--id-type T]
[--applied NAME ...] [--no-transactions]
python -m queuert_postgres schema [--schema S] [--table-prefix P] [--id-type T]
python -m queuert_postgres migrations
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ._schema import MIGRATIONS, get_migration_sql, get_schema_sql

if TYPE_CHECKING:
    from collections.abc import Sequence


def _names(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--schema", default="public", help="schema of the tables (default: public)")
    parser.add_argument("--table-prefix", default="queuert_", help="prefix of every name (default: queuert_)")
    parser.add_argument("--id-type", default="uuid", help="SQL type of the id columns (default: uuid)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m queuert_postgres", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sql = commands.add_parser("sql", help="the migrations not applied yet, with their bookkeeping")
    _names(sql)
    sql.add_argument("--applied", nargs="*", default=[], metavar="NAME", help="migrations already applied")
    sql.add_argument(
        "--no-transactions", action="store_true", help="no BEGIN/COMMIT (your tool wraps the script in one)"
    )
    schema = commands.add_parser("schema", help="the latest schema in one script, for an empty database")
    _names(schema)
    commands.add_parser("migrations", help="the migration names, in order")
    args = parser.parse_args(argv)
    try:
        if args.command == "sql":
            print(
                get_migration_sql(
                    schema=args.schema,
                    table_prefix=args.table_prefix,
                    id_type=args.id_type,
                    applied=args.applied,
                    transactions=not args.no_transactions,
                ),
                end="",
            )
        elif args.command == "schema":
            print(get_schema_sql(schema=args.schema, table_prefix=args.table_prefix, id_type=args.id_type), end="")
        else:
            print("\n".join(MIGRATIONS))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
