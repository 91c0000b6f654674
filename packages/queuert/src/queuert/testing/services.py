"""Find the server an adapter's tests run against: configured, else a throwaway container, else skip.

Adapter test suites share one rule for their backing service (a database, a broker):

1. probe the URL from an environment variable (with a local default);
2. when that fails, start a container with `testcontainers` if it is installed and a Docker
   engine answers, and use it for the session;
3. otherwise skip the tests with a reason that names what was tried, except with `CI=true`,
   where a test that cannot reach its server fails instead (a CI run that silently skipped
   every database test would pass while testing nothing).

```python
@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with resolve_service(
        "Redis", env_var="QUEUERT_REDIS_URL", default_url="redis://127.0.0.1:6379/0",
        probe=ping, container_factory=start_redis_container,
    ) as url:
        yield url
```

Tests that stop their server (an outage, a restart) run one of their own: a `ServerProcess`
on a `free_port()`, which they can kill and start again. Tests that play what the network
does (a server restart seen by the clients, a slow link) put a `TcpRelay` in front of the
shared server instead.

This module imports neither pytest, testcontainers nor a Docker client at import time: pytest
is imported when a skip is due, and testcontainers only by the container factories.
"""

from __future__ import annotations

import abc
import asyncio
import importlib.util
import os
import socket
import subprocess
import time
from contextlib import contextmanager
from secrets import token_hex
from typing import TYPE_CHECKING, NoReturn, Self

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

__all__ = (
    "ServerProcess",
    "TcpRelay",
    "ci_enforced",
    "docker_available",
    "free_port",
    "resolve_service",
    "skip_unavailable",
    "unique_name",
)

_DOCKER_SOCKET = "/var/run/docker.sock"


def ci_enforced() -> bool:
    """Whether skips for missing servers turn into failures (the `CI` variable is `true`)."""
    return os.environ.get("CI", "").strip().lower() == "true"


def skip_unavailable(name: str, reason: str) -> NoReturn:
    """Skip the current test because `name` cannot be reached; with `CI=true`, fail it instead.

    Args:
        name: The service, as people call it ("PostgreSQL", "Redis").
        reason: What was tried and why it did not work.

    Raises:
        pytest.skip.Exception: Outside CI.
        pytest.fail.Exception: With `CI=true`.
    """
    import pytest

    message = f"{name} unavailable: {reason}"
    if ci_enforced():
        pytest.fail(f"{message} (CI=true: tests that need {name} must run, not be skipped)", pytrace=False)
    pytest.skip(message)


def docker_available() -> bool:
    """Whether a Docker engine answers: `DOCKER_HOST` is set, or the local socket accepts a connection."""
    if os.environ.get("DOCKER_HOST"):
        return True
    if not hasattr(socket, "AF_UNIX") or not os.path.exists(_DOCKER_SOCKET):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        try:
            sock.connect(_DOCKER_SOCKET)
        except OSError:
            return False
    return True


def _container_unavailable_reason() -> str | None:
    if importlib.util.find_spec("testcontainers") is None:
        return "testcontainers is not installed"
    if not docker_available():
        return "no Docker engine answers"
    return None


async def _probe_with_timeout(probe: Callable[[str], Awaitable[None]], url: str, timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        await probe(url)


@contextmanager
def resolve_service(
    name: str,
    *,
    env_var: str,
    default_url: str,
    probe: Callable[[str], Awaitable[None]],
    container_factory: Callable[[], tuple[str, Callable[[], None]]],
    probe_timeout_s: float = 10.0,
) -> Iterator[str]:
    """Yield the URL of a reachable `name` server; a container started here is stopped on exit.

    Must be entered outside a running event loop (a sync session fixture): the probe runs in
    `asyncio.run`.

    Args:
        name: The service, as people call it; it starts the skip message ("Redis unavailable: ...").
        env_var: The variable that holds the server's URL.
        default_url: The URL when `env_var` is unset or empty.
        probe: Returns when the server at the URL answers; raises otherwise.
        container_factory: Starts a container and returns `(url, stop)`; called only when the
            probe failed, testcontainers is installed and a Docker engine answers. It should
            import testcontainers itself, so that this module works without it.
        probe_timeout_s: Bound on the probe, so an address that drops packets cannot hang the session.

    Yields:
        The configured URL, or the container's.

    Raises:
        pytest.skip.Exception: No server and no container (outside CI).
        pytest.fail.Exception: The same with `CI=true`.
    """
    url = os.environ.get(env_var) or default_url
    try:
        asyncio.run(_probe_with_timeout(probe, url, probe_timeout_s))
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        tried = f"cannot connect to {url} (from {env_var}): {detail}"
    else:
        yield url
        return
    why_not = _container_unavailable_reason()
    if why_not is not None:
        skip_unavailable(name, f"{tried}; no container fallback: {why_not}")
    try:
        container_url, stop = container_factory()
    except Exception as exc:
        skip_unavailable(name, f"{tried}; starting a container failed: {exc!r}")
    try:
        yield container_url
    finally:
        stop()


def unique_name(separator: str, *, prefix: str = "queuert") -> str:
    """A name no other test uses: `{prefix}{separator}{nanoseconds}{separator}{8 hex digits}`.

    For channel or subject prefixes, buckets and keys, so tests sharing a server never meet.
    """
    return f"{prefix}{separator}{time.time_ns()}{separator}{token_hex(4)}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess(abc.ABC):
    """A server of a test's own, on a fixed port, that the test can kill and start again.

    Subclasses say how to run it (`command`) and how to tell it answers (`ready`). The server
    keeps its port (and whatever directory the command names) across restarts, so clients
    reconnect to the same address.
    """

    def __init__(self, name: str, port: int) -> None:
        self.name = name
        """Names the server in errors, for example `"redis-server"`."""
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        """The running process, or `None` when it is not running."""

    @abc.abstractmethod
    def command(self) -> list[str]:
        """The command line that runs the server in the foreground on `port`."""

    @abc.abstractmethod
    def ready(self) -> bool:
        """Whether the server answers; polled every 20 ms while it starts."""

    def start(self, *, timeout_s: float = 10.0) -> None:
        """Run the server and return once `ready()` says it answers.

        Raises:
            RuntimeError: It is already running, or did not answer within `timeout_s` (it is
                killed then), or exited while starting.
        """
        if self.process is not None:
            raise RuntimeError(f"{self.name} on port {self.port} is already running")
        process = self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while not self.ready():
            if time.monotonic() > deadline or process.poll() is not None:
                self.kill()
                raise RuntimeError(f"{self.name} on port {self.port} did not start")
            time.sleep(0.02)

    def kill(self) -> None:
        """Kill the server (SIGKILL: no goodbye to the clients); nothing happens when it is not running."""
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            process.wait(timeout=10)

    async def astart(self) -> None:
        """`start()` in a thread, off the event loop."""
        await asyncio.to_thread(self.start)

    async def akill(self) -> None:
        """`kill()` in a thread, off the event loop."""
        await asyncio.to_thread(self.kill)

    @contextmanager
    def running(self) -> Iterator[Self]:
        """Start the server, and kill it on exit."""
        self.start()
        try:
            yield self
        finally:
            self.kill()


class TcpRelay:
    """A TCP relay on 127.0.0.1 in front of a server, playing what the network does to its clients.

    * `go_down()` cuts every relayed connection and refuses new ones, as a stopped server
      does; `come_back()` accepts connections again on the same port. The server itself
      never stops, so other tests sharing it are not disturbed.
    * With `upstream_gap_s`, what a client sends reaches the server in pieces that far
      apart, as over a congested link: each piece ends with `upstream_delimiter` (a
      protocol's line end, say), or is whatever one read from the client returned when no
      delimiter is given. Replies are never held back. This plays races that a fast local
      link hides, such as a client that reports a command done before the server has it.

    Use it as `async with TcpRelay(host, port) as relay:` and point clients at `relay.port`.

    Args:
        host: The server's host.
        port: The server's port.
        upstream_gap_s: The pause after each piece forwarded from a client to the server.
        upstream_delimiter: Where the client's bytes are cut into pieces; only used with
            `upstream_gap_s`.
    """

    def __init__(
        self, host: str, port: int, *, upstream_gap_s: float = 0.0, upstream_delimiter: bytes | None = None
    ) -> None:
        if upstream_delimiter == b"":
            raise ValueError("upstream_delimiter must not be empty")
        self._target = (host, port)
        self._upstream_gap_s = upstream_gap_s
        self._upstream_delimiter = upstream_delimiter
        self._server: asyncio.Server | None = None
        self._port = 0
        self._transports: set[asyncio.WriteTransport] = set()
        self.accepted = 0
        """Connections accepted so far: a client that reconnected after an outage shows here."""

    @property
    def port(self) -> int:
        """The relay's port on 127.0.0.1 (known once it has come up)."""
        return self._port

    async def __aenter__(self) -> Self:
        await self.come_back()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.go_down()

    async def come_back(self) -> None:
        """Accept connections (again) on the relay's port."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self._port)
        self._port = self._server.sockets[0].getsockname()[1]

    async def go_down(self) -> None:
        """Cut every relayed connection and refuse new ones."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()
        if server is not None:
            await server.wait_closed()

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        client = client_writer.transport
        # Tracked from the start, so that go_down() also cuts a connection still being relayed.
        self._transports.add(client)
        server: asyncio.WriteTransport | None = None
        try:
            server_reader, server_writer = await asyncio.open_connection(*self._target)
            server = server_writer.transport
            if client.is_closing():  # the relay went down meanwhile
                return
            self._transports.add(server)
            await asyncio.gather(
                self._pipe(client_reader, server_writer, self._upstream_gap_s),
                self._pipe(server_reader, client_writer, 0.0),
            )
        except OSError:
            pass
        finally:
            for transport in (client, server):
                if transport is not None:
                    transport.abort()
                    self._transports.discard(transport)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, gap_s: float) -> None:
        try:
            while data := await reader.read(65536):
                for piece in self._pieces(data) if gap_s else (data,):
                    writer.write(piece)
                    await writer.drain()
                    if gap_s:
                        await asyncio.sleep(gap_s)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    def _pieces(self, data: bytes) -> list[bytes]:
        delimiter = self._upstream_delimiter
        if delimiter is None:
            return [data]
        parts = data.split(delimiter)
        # Every part but the last ended with the delimiter; the last is what follows the final one.
        return [part + delimiter for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
