"""Shared fixtures: real SQLite files under tmp_path, opened through each bundled provider."""

from __future__ import annotations

import asyncio
import shutil
import threading
from typing import TYPE_CHECKING, Any

import aiosqlite
import pytest

from queuert_sqlite import (
    AiosqliteProvider,
    SqliteStateAdapter,
    create_aiosqlite_provider,
    create_sqlite3_provider,
    create_sqlite_state_adapter,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

    from queuert_sqlite import SqliteStateProvider

PROVIDER_KINDS = ("aiosqlite", "aiosqlite_connection", "sqlite3", "sqlite3_offload")
"""Every way the tests open a database: aiosqlite opened by path or wrapping the
application's own connection (plain tuple rows), and stdlib sqlite3 on the loop or in a thread."""


async def open_provider(kind: str, path: Path | str) -> SqliteStateProvider[Any]:
    """Open `path` with one of the bundled providers, configured the way the docs recommend."""
    if kind == "aiosqlite":
        return await create_aiosqlite_provider(path)
    if kind == "aiosqlite_connection":
        connection = await aiosqlite.connect(path, isolation_level=None)
        for pragma in ("PRAGMA busy_timeout = 5000", "PRAGMA foreign_keys = ON", "PRAGMA journal_mode = WAL"):
            await connection.execute_fetchall(pragma)
        return AiosqliteProvider(connection, close_connection=True)
    if kind == "sqlite3":
        return await create_sqlite3_provider(path)
    if kind == "sqlite3_offload":
        return await create_sqlite3_provider(path, offload=True)
    raise ValueError(f"unknown provider kind {kind!r}")


async def _migrate(path: Path, options: dict[str, Any]) -> None:
    adapter = await create_sqlite_state_adapter(state_provider=await create_sqlite3_provider(path), **options)
    await adapter.migrate_to_latest()
    await adapter.close()


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """`migrated_database(directory, **adapter_options)`: a fresh copy of a migrated database file.

    Each distinct set of options is migrated once per session (in a thread with its own
    event loop, so any test may call this) and copied for every test that asks.
    """
    templates: dict[tuple[tuple[str, Any], ...], Path] = {}
    lock = threading.Lock()

    def copy(directory: Path, **options: Any) -> Path:
        key = tuple(sorted(options.items()))
        with lock:
            template = templates.get(key)
            if template is None:
                template = tmp_path_factory.mktemp("template") / "queuert.db"
                errors: list[BaseException] = []

                def migrate(path: Path = template) -> None:
                    try:
                        asyncio.run(_migrate(path, options))
                    except BaseException as error:
                        errors.append(error)

                worker = threading.Thread(target=migrate)
                worker.start()
                worker.join()
                if errors:
                    raise errors[0]
                templates[key] = template
        target = directory / "queuert.db"
        shutil.copyfile(template, target)
        return target

    return copy


@pytest.fixture
def provider_opener() -> Callable[[str, Path | str], Awaitable[SqliteStateProvider[Any]]]:
    """`open_provider` as a fixture, for test modules (which cannot import conftest)."""
    return open_provider


@pytest.fixture(params=PROVIDER_KINDS)
def provider_kind(request: pytest.FixtureRequest) -> str:
    """Each bundled provider in turn."""
    return str(request.param)


@pytest.fixture
async def state_adapter(
    tmp_path: Path, provider_kind: str, migrated_database: Callable[..., Path]
) -> AsyncIterator[SqliteStateAdapter[Any]]:
    """A migrated, empty database file under tmp_path, through each provider in turn."""
    provider = await open_provider(provider_kind, migrated_database(tmp_path))
    adapter = await create_sqlite_state_adapter(state_provider=provider)
    yield adapter
    await adapter.close()
