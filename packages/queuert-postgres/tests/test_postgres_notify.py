"""LISTEN/NOTIFY: reconnection after the server drops the listening connection, and the adapter's limits."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from queuert import AdapterClosedError
from queuert_postgres import (
    AsyncpgNotifyProvider,
    PgNotifyAdapter,
    PsycopgNotifyProvider,
    create_pg_notify_adapter,
)

pytestmark = pytest.mark.postgres

WaitUntil = Callable[..., Awaitable[None]]
Provider = AsyncpgNotifyProvider | PsycopgNotifyProvider


def listening_pid(provider: Provider) -> int | None:
    conn = provider.listening_connection
    if conn is None:
        return None
    if isinstance(provider, PsycopgNotifyProvider):
        return None if conn.closed else int(conn.info.backend_pid)  # type: ignore[union-attr]
    return None if conn.is_closed() else int(conn.get_server_pid())  # type: ignore[union-attr]


@pytest_asyncio.fixture(params=["asyncpg-pool", "asyncpg-dsn", "psycopg"])
async def notify(request: pytest.FixtureRequest, postgres_dsn: str) -> AsyncIterator[tuple[PgNotifyAdapter, Provider]]:
    pool: asyncpg.Pool[Any] | None = None
    provider: Provider
    if request.param == "asyncpg-pool":
        pool = await asyncpg.create_pool(postgres_dsn, min_size=1, max_size=3)
        provider = AsyncpgNotifyProvider(pool, reconnect_initial_delay_s=0.05)
    elif request.param == "asyncpg-dsn":
        provider = AsyncpgNotifyProvider(postgres_dsn, reconnect_initial_delay_s=0.05)
    else:
        provider = PsycopgNotifyProvider(postgres_dsn, reconnect_initial_delay_s=0.05)
    adapter = await create_pg_notify_adapter(notify_provider=provider, channel_prefix=f"qt_{uuid.uuid4().hex[:8]}")
    yield adapter, provider
    await adapter.close()
    if pool is not None:
        await pool.close()


async def test_listening_resumes_after_the_server_terminates_the_connection(
    notify: tuple[PgNotifyAdapter, Provider], pool: asyncpg.Pool[Any], wait_until: WaitUntil, caplog: Any
) -> None:
    adapter, provider = notify
    completed: list[str] = []
    scheduled: list[str] = []
    unsubscribe_chain = await adapter.listen_chain_completed("chain-1", lambda: completed.append("chain-1"))
    unsubscribe_types = await adapter.listen_job_scheduled(["type-a"], scheduled.append)
    old_pid = listening_pid(provider)
    assert old_pid is not None
    caplog.set_level(logging.INFO, logger="queuert")

    assert await pool.fetchval("SELECT pg_terminate_backend($1)", old_pid)

    async def reconnected() -> bool:
        pid = listening_pid(provider)
        return pid is not None and pid != old_pid

    await wait_until(reconnected, what="a new LISTEN connection")

    # Notifications sent while it was down are lost by design; new ones arrive again.
    async def delivered() -> bool:
        await adapter.notify_chain_completed("chain-1")
        await adapter.notify_job_scheduled("type-a")
        await asyncio.sleep(0.05)
        return bool(completed) and bool(scheduled)

    await wait_until(delivered, what="notifications on the new connection")
    assert set(scheduled) == {"type-a"}
    assert "LISTEN connection" in caplog.text
    await unsubscribe_chain()
    await unsubscribe_types()


async def test_the_listen_connection_closes_after_the_last_listener(notify: tuple[PgNotifyAdapter, Provider]) -> None:
    adapter, provider = notify
    first = await adapter.listen_job_ownership_lost("job-1", lambda: None)
    second = await adapter.listen_job_ownership_lost("job-2", lambda: None)
    assert listening_pid(provider) is not None
    await first()
    assert listening_pid(provider) is not None
    await second()
    assert provider.listening_connection is None


async def test_one_listen_connection_serves_every_channel(notify: tuple[PgNotifyAdapter, Provider]) -> None:
    adapter, provider = notify
    unsubscribes = [
        await adapter.listen_job_scheduled(["a", "b", "c"], lambda _t: None),
        await adapter.listen_chain_completed("x", lambda: None),
        await adapter.listen_job_ownership_lost("y", lambda: None),
    ]
    pid = listening_pid(provider)
    for _ in range(3):
        unsubscribes.append(await adapter.listen_chain_completed(str(uuid.uuid4()), lambda: None))
    assert listening_pid(provider) == pid
    for unsubscribe in unsubscribes:
        await unsubscribe()


async def test_wake_hints_are_not_budgeted(notify: tuple[PgNotifyAdapter, Provider]) -> None:
    adapter, _provider = notify
    await adapter.provide_wake_hint("t", 1)
    assert [await adapter.consume_wake_hint("t") for _ in range(3)] == [True, True, True]


async def test_after_close_every_call_raises(notify: tuple[PgNotifyAdapter, Provider]) -> None:
    adapter, provider = notify
    unsubscribe = await adapter.listen_chain_completed("c", lambda: None)
    await adapter.close()
    await adapter.close()
    await unsubscribe()
    assert provider.listening_connection is None
    with pytest.raises(AdapterClosedError):
        await adapter.notify_chain_completed("c")
    with pytest.raises(AdapterClosedError):
        await adapter.listen_job_scheduled(["t"], lambda _t: None)
    with pytest.raises(RuntimeError):
        await provider.publish("c", "x")


async def test_channel_names_are_case_sensitive(postgres_dsn: str, wait_until: WaitUntil) -> None:
    provider = AsyncpgNotifyProvider(postgres_dsn)
    upper = await create_pg_notify_adapter(notify_provider=provider, channel_prefix="QT_Case")
    lower = await create_pg_notify_adapter(
        notify_provider=AsyncpgNotifyProvider(postgres_dsn), channel_prefix="qt_case"
    )
    heard: list[str] = []
    unsubscribe = await upper.listen_chain_completed("c", lambda: heard.append("upper"))
    await lower.notify_chain_completed("c")
    await upper.notify_chain_completed("c")

    async def heard_upper() -> bool:
        return heard == ["upper"]

    await wait_until(heard_upper, what="the upper-case channel")
    await unsubscribe()
    await upper.close()
    await lower.close()
    assert heard == ["upper"]


async def test_channel_prefix_is_checked_against_the_identifier_limit(postgres_dsn: str) -> None:
    provider = AsyncpgNotifyProvider(postgres_dsn)
    longest = "p" * 56
    adapter = await create_pg_notify_adapter(notify_provider=provider, channel_prefix=longest)
    await adapter.notify_chain_completed("fits")  # 63 bytes: accepted by pg_notify
    await adapter.close()
    for bad in ("p" * 57, "é" * 29, "", "a\x00b"):
        with pytest.raises(ValueError, match="Invalid channel_prefix"):
            await create_pg_notify_adapter(notify_provider=AsyncpgNotifyProvider(postgres_dsn), channel_prefix=bad)
