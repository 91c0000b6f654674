"""Fixtures for the Redis tests: a reachable server, per-test prefixes, and servers the tests may stop.

The shared server comes from `QUEUERT_REDIS_URL` (default `redis://127.0.0.1:6379/0`).
When it cannot be reached, a throwaway container is started if `testcontainers` is
installed and a Docker engine answers; otherwise the tests are skipped with a reason. With
`CI=true` they fail instead (`queuert.testing.services` holds that rule).

Tests that stop a server, and the Redis Cluster tests, run their own `redis-server`
processes on free ports (from `QUEUERT_REDIS_SERVER_BIN`, default `redis-server` on PATH);
a cluster from `QUEUERT_REDIS_CLUSTER_URL` is used instead when set.

Isolation: every test uses its own random channel prefix, so tests never share channels or
hint keys, and runs against a shared server do not interfere.
"""

from __future__ import annotations

import importlib
import os
import random
import shutil
import socket
import subprocess
import time
from typing import TYPE_CHECKING, Any

import pytest
import redis
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from queuert.testing.services import ServerProcess, free_port, resolve_service, skip_unavailable, unique_name

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator
    from pathlib import Path

DEFAULT_URL = "redis://127.0.0.1:6379/0"


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port_pair(bus_offset: int) -> int:
    """A port free right now with `port + bus_offset` free too (a cluster node's bus port)."""
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(20_000, 65_535 - bus_offset)
        if _bindable(port) and _bindable(port + bus_offset):
            return port
    raise RuntimeError("no free port pair found")


# --- the shared server -----------------------------------------------------------------------


async def _probe(url: str) -> None:
    client = Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        await client.ping()
    finally:
        await client.aclose()


def _start_container() -> tuple[str, Callable[[], None]]:
    module = importlib.import_module("testcontainers.redis")
    container = module.RedisContainer("redis:7").start()
    host = container.get_container_host_ip()
    port = container.get_exposed_port(6379)
    return f"redis://{host}:{port}/0", container.stop


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A URL of a reachable Redis, or a skip that names why there is none."""
    with resolve_service(
        "Redis", env_var="QUEUERT_REDIS_URL", default_url=DEFAULT_URL, probe=_probe, container_factory=_start_container
    ) as url:
        yield url


@pytest.fixture
def prefix() -> str:
    """A channel prefix no other test uses (colons included on purpose)."""
    return unique_name(":")


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


# --- servers the tests start and stop ----------------------------------------------------------


def redis_server_binary() -> str:
    binary = os.environ.get("QUEUERT_REDIS_SERVER_BIN") or shutil.which("redis-server")
    if binary is None:
        skip_unavailable("Redis", "these tests run their own redis-server and none is on PATH")
    return binary


class RedisServerProcess(ServerProcess):
    """A `redis-server` on a fixed port that a test can kill and start again."""

    def __init__(self, binary: str, directory: Path, port: int, *extra: str) -> None:
        super().__init__("redis-server", port)
        self.binary = binary
        self.directory = directory
        self.extra = extra
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
            *self.extra,
        ]

    def ready(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.exceptions.ConnectionError:
            return False
        finally:
            client.close()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServerProcess]:
    """A private `redis-server` (started) that the test may kill and restart on the same port."""
    with RedisServerProcess(redis_server_binary(), tmp_path / "redis", free_port()).running() as server:
        yield server


class LocalCluster:
    """Three primaries (no replicas) on free ports, serving even with a node down."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.nodes = [
            RedisServerProcess(
                binary,
                directory / f"node{index}",
                port,
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                str(directory / f"node{index}" / "nodes.conf"),
                "--cluster-node-timeout",
                "2000",
                "--cluster-require-full-coverage",
                "no",
            )
            for index, port in enumerate(free_port_pair(10_000) for _ in range(3))
        ]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        cli = shutil.which("redis-cli")
        if cli is None:
            self.stop()
            skip_unavailable("Redis", "building a local cluster needs redis-cli")
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        deadline = time.monotonic() + 30
        for node in self.nodes:
            client = redis.Redis(port=node.port)
            try:
                while client.cluster("INFO").get("cluster_state") != "ok":
                    if time.monotonic() > deadline:
                        raise RuntimeError("the local Redis cluster did not become ready")
                    time.sleep(0.05)
            finally:
                client.close()

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()


def _local_cluster(directory: Path) -> Iterator[LocalCluster]:
    cluster = LocalCluster(redis_server_binary(), directory)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis Cluster: `QUEUERT_REDIS_CLUSTER_URL`, else three local nodes for the session."""
    configured = os.environ.get("QUEUERT_REDIS_CLUSTER_URL")
    if configured:
        yield configured
        return
    for cluster in _local_cluster(tmp_path_factory.mktemp("redis-cluster")):
        yield cluster.url


@pytest.fixture
def local_cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    """A cluster of this test's own, whose nodes the test may kill."""
    yield from _local_cluster(tmp_path / "cluster")


@pytest.fixture
async def cluster_client(redis_cluster_url: str) -> AsyncIterator[RedisCluster]:
    client = RedisCluster.from_url(redis_cluster_url)
    await client.initialize()
    yield client
    await client.aclose()


@pytest.fixture
def outage_client_kwargs() -> dict[str, Any]:
    """Client settings for tests that kill the server: fail fast instead of retrying for seconds."""
    return {"socket_connect_timeout": 0.5, "socket_timeout": 2, "retry": Retry(NoBackoff(), 1)}
