"""Fixtures for the NATS tests: a reachable server with JetStream, per-test prefixes and buckets, and servers to kill.

The shared server comes from `QUEUERT_NATS_URL` (default `nats://127.0.0.1:4222`). When it
cannot be reached, a throwaway `nats:2.10 -js` container is started if `testcontainers` is
installed and a Docker engine answers; otherwise the tests are skipped with a reason. With
`CI=true` they fail instead (`queuert.testing.services` holds that rule).

Tests that stop the server run their own `nats-server -js` on a free port
(`QUEUERT_NATS_SERVER_BIN`, default `nats-server` on PATH or `/usr/sbin/nats-server`), so
the shared server is never restarted.

Isolation: every test uses its own random subject prefix and key-value bucket.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import shutil
import socket
from typing import TYPE_CHECKING, Any

import nats
import pytest

from queuert.testing.services import ServerProcess, free_port, resolve_service, skip_unavailable, unique_name

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator
    from pathlib import Path

    from nats.aio.client import Client
    from nats.js.kv import KeyValue

DEFAULT_URL = "nats://127.0.0.1:4222"


# --- the shared server -----------------------------------------------------------------------


async def _quiet(_error: Exception) -> None:
    return None


async def _probe(url: str) -> None:
    # nats-py keeps retrying a refused first connection, whatever the reconnect options.
    async with asyncio.timeout(5):
        nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False, error_cb=_quiet)
    try:
        await nc.jetstream().account_info()
    finally:
        await nc.close()


def _start_container() -> tuple[str, Callable[[], None]]:
    module = importlib.import_module("testcontainers.core.container")
    waiting = importlib.import_module("testcontainers.core.waiting_utils")
    container = module.DockerContainer("nats:2.10").with_command("-js").with_exposed_ports(4222).start()
    waiting.wait_for_logs(container, "Server is ready", timeout=30)
    host = container.get_container_host_ip()
    port = container.get_exposed_port(4222)
    return f"nats://{host}:{port}", container.stop


@pytest.fixture(scope="session")
def nats_url() -> Iterator[str]:
    """A URL of a reachable NATS server with JetStream, or a skip that names why there is none."""
    with resolve_service(
        "NATS", env_var="QUEUERT_NATS_URL", default_url=DEFAULT_URL, probe=_probe, container_factory=_start_container
    ) as url:
        yield url


@pytest.fixture
def prefix() -> str:
    """A subject prefix no other test uses (dots included on purpose)."""
    return unique_name(".")


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[Client]:
    client = await nats.connect(nats_url)
    yield client
    await client.close()


@pytest.fixture
async def kv(nc: Client) -> AsyncIterator[KeyValue]:
    """A fresh bucket with a 60 s TTL, deleted after the test."""
    name = unique_name("_", prefix="queuert_hints")
    bucket = await nc.jetstream().create_key_value(bucket=name, ttl=60)
    yield bucket
    await nc.jetstream().delete_key_value(name)


# --- servers the tests kill and restart --------------------------------------------------------


def nats_server_binary() -> str:
    binary = (
        os.environ.get("QUEUERT_NATS_SERVER_BIN")
        or shutil.which("nats-server")
        or ("/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server") else None)
    )
    if binary is None:
        skip_unavailable("NATS", "these tests run their own nats-server and none is installed")
    return binary


class NatsServerProcess(ServerProcess):
    """A `nats-server -js` on a fixed port and store directory that a test can kill and start again."""

    def __init__(self, binary: str, store: Path, port: int) -> None:
        super().__init__("nats-server", port)
        self.binary = binary
        self.store = store

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)]

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                return sock.recv(4).startswith(b"INFO")
        except OSError:
            return False


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServerProcess]:
    """A private `nats-server -js` (started) that the test may kill and restart on the same port and store."""
    with NatsServerProcess(nats_server_binary(), tmp_path / "jetstream", free_port()).running() as server:
        yield server


@pytest.fixture
def reconnecting() -> dict[str, Any]:
    """Connection options for tests that kill the server: reconnect forever, quickly."""
    return {"max_reconnect_attempts": -1, "reconnect_time_wait": 0.1, "connect_timeout": 1}
