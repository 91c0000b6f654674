"""Fixtures for the OpenTelemetry adapter tests: an SDK pipeline in memory, and the state adapters to run on.

`Telemetry` wires an SDK `TracerProvider` to an in-memory span exporter (simple processor,
so spans are exported the moment they end) and an SDK `MeterProvider` to an in-memory
metric reader (cumulative). Several independent `Telemetry` objects stand for processes
that share nothing but the database.

`state_adapter` runs a test on the in-process adapter and on PostgreSQL. The PostgreSQL
variant follows packages/queuert-postgres/tests/conftest.py: the server comes from
`QUEUERT_POSTGRES_DSN` (default `postgresql://postgres@127.0.0.1:5432/test`), the session
migrates one schema of its own (`qt_<random>_otel`) and drops it at the end, and each test
starts from an empty store. Without a server the variant is skipped, and with `CI=true`
that skip is reported as a failure.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, Metric, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span, SpanContext

from queuert import create_in_process_state_adapter
from queuert_otel import OtelObservabilityAdapter, RolledBackSpans, create_otel_observability_adapter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping

    from queuert.adapters import StateAdapter, StateJob

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
UNAVAILABLE = "PostgreSQL unavailable"


class Telemetry:
    """One process's OpenTelemetry SDK, exporting into memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.tracer = self.tracer_provider.get_tracer("queuert")
        self.meter = self.meter_provider.get_meter("queuert")

    async def adapter(
        self, *, meter: bool = True, tracer: bool = True, rolled_back_spans: RolledBackSpans = "error"
    ) -> OtelObservabilityAdapter:
        return await create_otel_observability_adapter(
            meter=self.meter if meter else None,
            tracer=self.tracer if tracer else None,
            rolled_back_spans=rolled_back_spans,
        )

    @staticmethod
    def traceparent(span: ReadableSpan | Span | SpanContext) -> str:
        """The `traceparent` string the adapter stores for `span`."""
        context = span if isinstance(span, SpanContext) else span.get_span_context()
        assert context is not None
        return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()

    # --- spans

    def spans(self) -> list[ReadableSpan]:
        """Every finished span, in the order they ended."""
        return list(self.exporter.get_finished_spans())

    def names(self) -> list[str]:
        return [span.name for span in self.spans()]

    def span(self, name: str) -> ReadableSpan:
        """The one finished span called `name`."""
        found = [span for span in self.spans() if span.name == name]
        assert len(found) == 1, f"expected one span {name!r}, got {len(found)} among {self.names()}"
        return found[0]

    # --- metrics

    def metrics(self) -> dict[str, Metric]:
        """Every metric with at least one data point, by instrument name."""
        data = self.reader.get_metrics_data()
        if data is None:
            return {}
        return {
            metric.name: metric
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if list(metric.data.data_points)
        }

    def values(self, name: str) -> dict[frozenset[tuple[str, Any]], float]:
        """A counter's or up-down counter's cumulative value per attribute set."""
        metric = self.metrics().get(name)
        if metric is None:
            return {}
        result: dict[frozenset[tuple[str, Any]], float] = {}
        for point in metric.data.data_points:
            assert isinstance(point, NumberDataPoint), f"{name} is not a sum"
            result[attribute_set(point.attributes)] = point.value
        return result

    def histogram(self, name: str) -> dict[frozenset[tuple[str, Any]], HistogramDataPoint]:
        """A histogram's data point per attribute set."""
        metric = self.metrics().get(name)
        if metric is None:
            return {}
        result: dict[frozenset[tuple[str, Any]], HistogramDataPoint] = {}
        for point in metric.data.data_points:
            assert isinstance(point, HistogramDataPoint), f"{name} is not a histogram"
            result[attribute_set(point.attributes)] = point
        return result


def attribute_set(attributes: Mapping[str, Any] | None) -> frozenset[tuple[str, Any]]:
    """Attributes as a hashable set, to compare or look up data points."""
    return frozenset((attributes or {}).items())


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    pipeline = Telemetry()
    yield pipeline
    pipeline.shutdown()


@pytest.fixture
def make_telemetry() -> Iterator[Callable[[], Telemetry]]:
    """Builds further independent pipelines (more processes); all are shut down after the test."""
    made: list[Telemetry] = []

    def make() -> Telemetry:
        pipeline = Telemetry()
        made.append(pipeline)
        return pipeline

    yield make
    for pipeline in made:
        pipeline.shutdown()


# --- state adapters -----------------------------------------------------------------------


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport | None:
    # In CI a PostgreSQL test that could not run is a failure, not a skip.
    if call.excinfo is None or os.environ.get("CI", "").lower() != "true":
        return None
    if not call.excinfo.errisinstance(pytest.skip.Exception) or UNAVAILABLE not in str(call.excinfo.value):
        return None
    report = pytest.TestReport.from_item_and_call(item, call)
    report.outcome = "failed"
    report.longrepr = f"{call.excinfo.value} (CI=true: a PostgreSQL test must not be skipped)"
    return report


async def _execute(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _migrate(dsn: str, schema: str) -> None:
    import asyncpg

    from queuert_postgres import AsyncpgPoolProvider, create_pg_state_adapter

    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    adapter = await create_pg_state_adapter(state_provider=AsyncpgPoolProvider(pool, close_pool=True), schema=schema)
    await adapter.migrate_to_latest()
    await adapter.close()


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[tuple[str, str]]:
    """`(dsn, schema)`: a migrated schema of this session, dropped at the end; or a skip saying why not."""
    pytest.importorskip("queuert_postgres", reason=f"{UNAVAILABLE}: queuert-postgres is not installed")
    dsn = os.environ.get("QUEUERT_POSTGRES_DSN", DEFAULT_DSN)
    try:
        asyncio.run(_execute(dsn, "SELECT 1"))
    except Exception as exc:
        pytest.skip(f"{UNAVAILABLE}: cannot connect to {dsn} ({exc})")
    schema = f"qt_{uuid.uuid4().hex[:8]}_otel"
    asyncio.run(_execute(dsn, f"CREATE SCHEMA {schema}"))
    try:
        asyncio.run(_migrate(dsn, schema))
        yield dsn, schema
    finally:
        asyncio.run(_execute(dsn, f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


@pytest.fixture(params=["in_process", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> tuple[str, str] | None:
    """`None` for the in-process adapter, else PostgreSQL's `(dsn, schema)`."""
    if request.param == "in_process":
        return None
    schema: tuple[str, str] = request.getfixturevalue("postgres_schema")
    return schema


@pytest.fixture
async def state_adapter(backend: tuple[str, str] | None) -> AsyncIterator[StateAdapter[Any]]:
    """An empty store: the in-process adapter, then PostgreSQL (asyncpg pool)."""
    if backend is None:
        state = await create_in_process_state_adapter()
        yield state
        await state.close()
        return
    import asyncpg

    from queuert.adapters import validate_uuid
    from queuert_postgres import AsyncpgPoolProvider, create_pg_state_adapter

    dsn, schema = backend
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=5)
    pg = await create_pg_state_adapter(
        state_provider=AsyncpgPoolProvider(pool, close_pool=True), schema=schema, validate_id=validate_uuid
    )
    await pg.truncate()
    yield pg
    await pg.close()


@pytest.fixture
def stored_jobs(state_adapter: StateAdapter[Any]) -> Callable[[str], Awaitable[list[StateJob]]]:
    """Reads the stored rows of a chain's jobs (with their trace contexts), by chain index."""

    async def read(chain_id: str) -> list[StateJob]:
        async def in_transaction(tx: Any) -> list[StateJob]:
            return list((await state_adapter.list_chain_jobs(chain_id, tx_ctx=tx)).items)

        return await state_adapter.with_transaction(in_transaction)

    return read
