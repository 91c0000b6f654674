"""Processing capacity: how fast queuert starts and processes chains, next to the raw PostgreSQL limits.

    uv run python benchmarks/processing_capacity [--jobs 5000] [--concurrency 10] [--repeat 3]
        [--adapters ...] [--loop asyncio|uvloop]

For each state adapter, with a no-op handler and one worker process with `--concurrency`
slots: chains started one per transaction and 100 per transaction (from `--concurrency`
producers), jobs processed in atomic and in staged mode, the same atomic processing with a
backlog ten times larger, and the worker's peak RSS. Every measurement runs in a fresh
process (`scenario.py`); the PostgreSQL ones in a throwaway schema, the SQLite ones in a
temporary file. The raw limits are measured in the same run (`raw_postgres.py`). Every
figure is the median of `--repeat` runs, the adapters and the raw limits taking turns, because
a 2-core machine shared with the database server varies by 10-20 % from one run to the next.
The output is Markdown tables: the measurements, the raw limits, then the targets and whether
this run met them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import raw_postgres

from queuert_postgres import AsyncpgPoolProvider, create_pg_state_adapter
from queuert_sqlite import create_aiosqlite_provider, create_sqlite_state_adapter

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "scenario.py"
ADAPTERS = ("postgres", "sqlite", "in-process")
BACKLOG_FACTOR = 10


@dataclass
class Row:
    """One adapter's measurements."""

    adapter: str
    rates: dict[str, float] = field(default_factory=dict)
    worker_rss_mib: float = 0.0
    atomic_cpu_us_per_job: float = 0.0
    start_single_cpu_us_per_chain: float = 0.0


def median_row(runs: Sequence[Row]) -> Row:
    """Each rate's median over `runs` of one adapter; the largest RSS."""
    first = runs[0]
    return Row(
        first.adapter,
        {key: statistics.median(run.rates[key] for run in runs) for key in first.rates},
        max(run.worker_rss_mib for run in runs),
        statistics.median(run.atomic_cpu_us_per_job for run in runs),
        statistics.median(run.start_single_cpu_us_per_chain for run in runs),
    )


def median_raw(runs: Sequence[raw_postgres.RawRates]) -> raw_postgres.RawRates:
    """The median of every raw figure over `runs`."""

    def loop(pick: Callable[[raw_postgres.RawRates], raw_postgres.LoopRate]) -> raw_postgres.LoopRate:
        return raw_postgres.LoopRate(
            jobs_per_s=statistics.median(pick(run).jobs_per_s for run in runs),
            cpu_us_per_job=statistics.median(pick(run).cpu_us_per_job for run in runs),
        )

    return raw_postgres.RawRates(
        process=loop(lambda run: run.process),
        statements=loop(lambda run: run.statements),
        statements_without_savepoint=loop(lambda run: run.statements_without_savepoint),
        insert=loop(lambda run: run.insert),
        batched_insert=loop(lambda run: run.batched_insert),
        jobs=runs[0].jobs,
        concurrency=runs[0].concurrency,
    )


class Setup:
    """Creates and drops the storage each measurement runs against."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.tmp = Path(tempfile.mkdtemp(prefix="queuert-bench-"))

    async def _pg_schema(self) -> str:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=1)
        await pool.execute(f"CREATE SCHEMA {schema}")
        state = await create_pg_state_adapter(state_provider=AsyncpgPoolProvider(pool, close_pool=True), schema=schema)
        await state.migrate_to_latest()
        await state.close()
        return schema

    async def _sqlite_file(self) -> str:
        path = str(self.tmp / f"{uuid.uuid4().hex[:8]}.db")
        state = await create_sqlite_state_adapter(state_provider=await create_aiosqlite_provider(path))
        await state.migrate_to_latest()
        await state.close()
        return path

    @contextmanager
    def storage(self, adapter: str) -> Iterator[list[str]]:
        """Scenario arguments naming fresh storage for `adapter`; dropped afterwards."""
        if adapter == "postgres":
            schema = asyncio.run(self._pg_schema())
            try:
                yield ["--dsn", self.dsn, "--schema", schema]
            finally:
                asyncio.run(self._pg_execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        elif adapter == "sqlite":
            path = asyncio.run(self._sqlite_file())
            try:
                yield ["--sqlite-path", path]
            finally:
                for suffix in ("", "-wal", "-shm"):
                    Path(path + suffix).unlink(missing_ok=True)
        else:
            yield []

    async def _pg_execute(self, sql: str) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def analyze(self, adapter: str, storage: Sequence[str]) -> None:
        """Fresh planner statistics after seeding, as autovacuum would give a long-lived table."""
        if adapter == "postgres":
            schema = storage[storage.index("--schema") + 1]
            asyncio.run(self._pg_execute(f"VACUUM ANALYZE {schema}.queuert_job"))

    def close(self) -> None:
        for child in self.tmp.iterdir():
            child.unlink()
        self.tmp.rmdir()


def scenario(adapter: str, phase: str, storage: Sequence[str], **options: object) -> dict[str, float]:
    """Run one measurement in a new process and return what it printed."""
    command = [sys.executable, str(SCENARIO), "--adapter", adapter, "--phase", phase, *storage]
    for name, value in options.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure_adapter(setup: Setup, adapter: str, *, jobs: int, concurrency: int, loop: str) -> Row:
    row = Row(adapter)
    common = {"jobs": jobs, "concurrency": concurrency, "loop": loop}
    with setup.storage(adapter) as storage:
        single = scenario(adapter, "start-single", storage, **common)
        row.rates["start_single"] = single["rate"]
        row.start_single_cpu_us_per_chain = single["cpu_us_per_chain"]
        row.rates["start_batched"] = scenario(adapter, "start-batched", storage, batch=100, **common)["rate"]
    for key, mode, backlog in (
        ("process_atomic", "atomic", jobs),
        ("process_staged", "staged", jobs),
        ("process_atomic_large_backlog", "atomic", jobs * BACKLOG_FACTOR),
    ):
        with setup.storage(adapter) as storage:
            if adapter != "in-process":
                scenario(adapter, "seed", storage, backlog=backlog)
                setup.analyze(adapter, storage)
            result = scenario(adapter, "process", storage, mode=mode, backlog=backlog, **common)
        row.rates[key] = result["rate"]
        row.worker_rss_mib = max(row.worker_rss_mib, result["peak_rss_mib"])
        if key == "process_atomic":
            row.atomic_cpu_us_per_job = result["cpu_us_per_job"]
    return row


def percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "n/a"


def report(
    rows: Sequence[Row], raw: raw_postgres.RawRates | None, *, jobs: int, concurrency: int, repeat: int, loop: str
) -> str:
    large = jobs * BACKLOG_FACTOR
    lines = [
        f"{jobs:,} chains, concurrency {concurrency}, no-op handler, median of {repeat} runs, {loop} event loop; "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "",
        "| adapter | start single (chains/s) | start batched x100 (chains/s) | process atomic (jobs/s) "
        f"| worker CPU per atomic job (us) | process staged (jobs/s) | atomic, {large:,} pending (jobs/s) "
        "| worker peak RSS (MiB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        r = row.rates
        lines.append(
            f"| {row.adapter} | {r['start_single']:,.0f} | {r['start_batched']:,.0f} | {r['process_atomic']:,.0f} "
            f"| {row.atomic_cpu_us_per_job:,.0f} | {r['process_staged']:,.0f} "
            f"| {r['process_atomic_large_backlog']:,.0f} | {row.worker_rss_mib:.1f} |"
        )
    if raw is not None:
        lines += [
            "",
            "| raw PostgreSQL limit (bare asyncpg, same tables) | rate | client CPU per job (us) |",
            "| --- | ---: | ---: |",
            f"| claim + complete, one transaction per job, concurrency {raw.concurrency} (jobs/s) "
            f"| {raw.process.jobs_per_s:,.0f} | {raw.process.cpu_us_per_job:,.0f} |",
            f"| the same loop with queuert's statements and completion savepoint (jobs/s) "
            f"| {raw.statements.jobs_per_s:,.0f} | {raw.statements.cpu_us_per_job:,.0f} |",
            "| the same without the completion savepoint, which the specification requires (jobs/s) "
            f"| {raw.statements_without_savepoint.jobs_per_s:,.0f} "
            f"| {raw.statements_without_savepoint.cpu_us_per_job:,.0f} |",
            f"| single-row insert transactions, concurrency {raw.concurrency} (rows/s) "
            f"| {raw.insert.jobs_per_s:,.0f} | {raw.insert.cpu_us_per_job:,.0f} |",
            f"| 100-row insert transactions, concurrency {raw.concurrency} (rows/s) "
            f"| {raw.batched_insert.jobs_per_s:,.0f} | {raw.batched_insert.cpu_us_per_job:,.0f} |",
        ]
    pg = next((row for row in rows if row.adapter == "postgres"), None)
    if pg is not None and raw is not None:
        r = pg.rates
        checks = [
            (
                "process atomic vs raw claim + complete",
                percent(r["process_atomic"], raw.process.jobs_per_s),
                ">= 80 %",
                r["process_atomic"] >= 0.8 * raw.process.jobs_per_s,
            ),
            (
                "queuert's statements alone vs raw claim + complete",
                percent(raw.statements.jobs_per_s, raw.process.jobs_per_s),
                "(ceiling)",
                None,
            ),
            (
                "queuert's statements without the completion savepoint vs raw claim + complete",
                percent(raw.statements_without_savepoint.jobs_per_s, raw.process.jobs_per_s),
                "(context)",
                None,
            ),
            (
                "process atomic vs queuert's statements alone",
                percent(r["process_atomic"], raw.statements.jobs_per_s),
                "(context)",
                None,
            ),
            (
                "start batched x100",
                f"{r['start_batched']:,.0f} chains/s",
                ">= 20,000 chains/s",
                r["start_batched"] >= 20_000,
            ),
            (
                "start batched x100 vs raw 100-row insert",
                percent(r["start_batched"], raw.batched_insert.jobs_per_s),
                "(context)",
                None,
            ),
            (
                "start single vs raw single-row insert",
                percent(r["start_single"], raw.insert.jobs_per_s),
                ">= 80 %",
                r["start_single"] >= 0.8 * raw.insert.jobs_per_s,
            ),
            (
                "producer CPU per single start vs per raw single-row insert",
                f"{pg.start_single_cpu_us_per_chain:,.0f} vs {raw.insert.cpu_us_per_job:,.0f} us",
                "(context)",
                None,
            ),
            ("worker peak RSS", f"{pg.worker_rss_mib:.1f} MiB", "<= 60 MiB", pg.worker_rss_mib <= 60),
            (
                f"atomic with {large:,} pending vs {jobs:,}",
                percent(r["process_atomic_large_backlog"], r["process_atomic"]),
                ">= 80 %",
                r["process_atomic_large_backlog"] >= 0.8 * r["process_atomic"],
            ),
        ]
        lines += ["", "| PostgreSQL target | measured | target | met |", "| --- | ---: | ---: | --- |"]
        lines += [
            f"| {name} | {value} | {target} | {'-' if ok is None else 'yes' if ok else 'no'} |"
            for name, value, target, ok in checks
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=raw_postgres.DEFAULT_DSN)
    parser.add_argument("--jobs", type=int, default=5_000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the table shows their median")
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--adapters", default=",".join(ADAPTERS), help="comma-separated, from: " + ", ".join(ADAPTERS))
    args = parser.parse_args()
    adapters = [name.strip() for name in args.adapters.split(",") if name.strip()]
    unknown = sorted(set(adapters) - set(ADAPTERS))
    if unknown:
        parser.error(f"unknown adapters: {', '.join(unknown)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    setup = Setup(args.dsn)
    runs: dict[str, list[Row]] = {adapter: [] for adapter in adapters}
    raw_runs: list[raw_postgres.RawRates] = []
    try:
        for run in range(1, args.repeat + 1):
            for adapter in adapters:
                sys.stderr.write(f"run {run}/{args.repeat}: measuring {adapter}...\n")
                runs[adapter].append(
                    measure_adapter(setup, adapter, jobs=args.jobs, concurrency=args.concurrency, loop=args.loop)
                )
            if "postgres" in adapters:
                sys.stderr.write(f"run {run}/{args.repeat}: measuring the raw PostgreSQL limits...\n")
                raw_runs.append(
                    raw_postgres.run_on_loop(
                        raw_postgres.measure(args.dsn, jobs=args.jobs, concurrency=args.concurrency), args.loop
                    )
                )
    finally:
        setup.close()
    rows = [median_row(runs[adapter]) for adapter in adapters]
    raw = median_raw(raw_runs) if raw_runs else None
    sys.stdout.write(
        report(rows, raw, jobs=args.jobs, concurrency=args.concurrency, repeat=args.repeat, loop=args.loop)
    )


if __name__ == "__main__":
    main()
