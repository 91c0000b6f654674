"""The state adapter conformance suite over real SQLite files, once per provider and configuration.

SQLite has no aborted-transaction state, so no fixture provides `poison_transaction` and
the poisoned-savepoint case skips (sqlite.md §5.4).
"""

from __future__ import annotations

import itertools
import uuid
from typing import TYPE_CHECKING, Any

import pytest_asyncio

from queuert.adapters import validate_uuid
from queuert.conformance import StateConformanceFixture
from queuert.conformance.pytest import StateAdapterConformance
from queuert_sqlite import SqliteStateAdapter, create_sqlite_state_adapter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    from queuert_sqlite import SqliteStateProvider

    ProviderOpener = Callable[[str, Path | str], Awaitable[SqliteStateProvider[Any]]]


def _fixture(adapter: SqliteStateAdapter[Any], **hooks: Any) -> StateConformanceFixture[Any]:
    return StateConformanceFixture(state_adapter=adapter, reset=adapter.truncate, **hooks)


class _SqliteConformance(StateAdapterConformance):
    provider_kind = "aiosqlite"
    adapter_options: dict[str, Any] = {}  # noqa: RUF012 - read-only per class
    hooks: dict[str, Any] = {}  # noqa: RUF012 - read-only per class

    @pytest_asyncio.fixture
    async def state_conformance_fixture(
        self, tmp_path: Path, migrated_database: Callable[..., Path], provider_opener: ProviderOpener
    ) -> AsyncIterator[StateConformanceFixture[Any]]:
        path = migrated_database(tmp_path, **self.adapter_options)
        adapter = await create_sqlite_state_adapter(
            state_provider=await provider_opener(self.provider_kind, path), **self.adapter_options
        )
        yield _fixture(adapter, **self.hooks)
        await adapter.close()


class TestAiosqliteStateAdapter(_SqliteConformance):
    """aiosqlite opened by path, default options, UUID ids checked (so the invalid-id case runs)."""

    adapter_options = {"validate_id": validate_uuid}  # noqa: RUF012
    hooks = {"generate_invalid_id": lambda: "not-a-uuid"}  # noqa: RUF012


class TestAiosqliteConnectionStateAdapter(_SqliteConformance):
    """The application's own aiosqlite connection (default row factory: plain tuples)."""

    provider_kind = "aiosqlite_connection"


class TestAiosqliteCustomPrefixStateAdapter(_SqliteConformance):
    adapter_options = {"table_prefix": "myapp_queue_"}  # noqa: RUF012


_counter = itertools.count(1)


def _job_id() -> str:
    return f"job.{uuid.uuid4()}"


class TestAiosqliteAllOptionsStateAdapter(_SqliteConformance):
    """Every option at once: prefix, id type spelled differently, custom id generator and validator."""

    adapter_options = {  # noqa: RUF012
        "table_prefix": "myapp_queue_",
        "id_type": "text",
        "generate_id": _job_id,
        "validate_id": lambda job_id: job_id.startswith("job."),
        "check_foreign_keys": True,
        "check_auto_vacuum": True,
    }
    hooks = {"generate_id": _job_id, "generate_invalid_id": lambda: "not-a-job-id"}  # noqa: RUF012


class TestAiosqliteIntegerIdStateAdapter(_SqliteConformance):
    """`id_type="INTEGER"`: ids are decimal digits in the database and `str` in Python."""

    adapter_options = {"id_type": "INTEGER", "generate_id": lambda: str(next(_counter))}  # noqa: RUF012
    hooks = {"generate_id": lambda: str(10**12 + next(_counter))}  # noqa: RUF012


class TestSqlite3StateAdapter(_SqliteConformance):
    """The stdlib sqlite3 module on the event loop thread."""

    provider_kind = "sqlite3"


class TestSqlite3OffloadStateAdapter(_SqliteConformance):
    """The stdlib sqlite3 module on a worker thread of its own."""

    provider_kind = "sqlite3_offload"
