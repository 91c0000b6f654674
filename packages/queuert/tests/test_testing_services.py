"""`queuert.testing.services`: a reachable server is used, an unreachable one skips, and fails under CI=true."""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import TYPE_CHECKING

import pytest

from queuert.testing.services import ServerProcess, TcpRelay, free_port, resolve_service, unique_name

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


async def _tcp_probe(url: str) -> None:
    host, port = url.removeprefix("tcp://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.close()
    await writer.wait_closed()


def _no_container() -> tuple[str, Callable[[], None]]:
    raise RuntimeError("containers are not wanted in this test")


@pytest.fixture
def listening_url() -> Iterator[str]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"


def _resolve(url: str, monkeypatch: pytest.MonkeyPatch, *, ci: str | None) -> str:
    monkeypatch.setenv("QUEUERT_TEST_SERVICE_URL", url)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with resolve_service(
        "Example",
        env_var="QUEUERT_TEST_SERVICE_URL",
        default_url="tcp://127.0.0.1:9",
        probe=_tcp_probe,
        container_factory=_no_container,
    ) as resolved:
        return resolved


def test_a_reachable_server_is_used_as_configured(listening_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _resolve(listening_url, monkeypatch, ci="true") == listening_url


def test_the_default_url_is_used_when_the_variable_is_unset(
    listening_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QUEUERT_TEST_SERVICE_URL", raising=False)
    with resolve_service(
        "Example",
        env_var="QUEUERT_TEST_SERVICE_URL",
        default_url=listening_url,
        probe=_tcp_probe,
        container_factory=_no_container,
    ) as resolved:
        assert resolved == listening_url


@pytest.mark.parametrize("ci", [None, "false", ""])
def test_an_unreachable_server_skips_outside_ci(ci: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(pytest.skip.Exception) as caught:
        _resolve(url, monkeypatch, ci=ci)
    message = str(caught.value)
    assert message.startswith("Example unavailable:")
    assert url in message
    assert "QUEUERT_TEST_SERVICE_URL" in message


@pytest.mark.parametrize("ci", ["true", "TRUE"])
def test_an_unreachable_server_fails_with_ci_true(ci: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(pytest.fail.Exception) as caught:
        _resolve(url, monkeypatch, ci=ci)
    message = str(caught.value)
    assert message.startswith("Example unavailable:")
    assert "CI=true" in message


def test_a_failing_container_factory_is_named_in_the_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend a container could be started, so the factory itself is called and fails.
    import queuert.testing.services as services

    monkeypatch.setattr(services, "_container_unavailable_reason", lambda: None)
    with pytest.raises(pytest.skip.Exception) as caught:
        _resolve(f"tcp://127.0.0.1:{free_port()}", monkeypatch, ci=None)
    assert "containers are not wanted in this test" in str(caught.value)


def test_a_started_container_is_used_and_stopped(monkeypatch: pytest.MonkeyPatch, listening_url: str) -> None:
    import queuert.testing.services as services

    stopped: list[bool] = []
    monkeypatch.setattr(services, "_container_unavailable_reason", lambda: None)
    monkeypatch.setenv("QUEUERT_TEST_SERVICE_URL", f"tcp://127.0.0.1:{free_port()}")
    with resolve_service(
        "Example",
        env_var="QUEUERT_TEST_SERVICE_URL",
        default_url="tcp://127.0.0.1:9",
        probe=_tcp_probe,
        container_factory=lambda: (listening_url, lambda: stopped.append(True)),
    ) as resolved:
        assert resolved == listening_url
        assert stopped == []
    assert stopped == [True]


class EchoServer(ServerProcess):
    """A Python TCP server that accepts and closes connections, or exits at once with `broken`."""

    def __init__(self, port: int, *, broken: bool = False) -> None:
        super().__init__("echo-server", port)
        self.broken = broken

    def command(self) -> list[str]:
        if self.broken:
            return [sys.executable, "-c", "raise SystemExit(3)"]
        code = (
            "import socket, sys\n"
            "server = socket.create_server(('127.0.0.1', int(sys.argv[1])))\n"
            "while True:\n"
            "    server.accept()[0].close()\n"
        )
        return [sys.executable, "-c", code, str(self.port)]

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False


async def test_a_server_process_starts_is_killed_and_starts_again_on_its_port() -> None:
    server = EchoServer(free_port())
    with server.running():
        assert server.ready()
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
        await server.akill()
        assert not server.ready()
        assert server.process is None
        await server.astart()
        assert server.ready()
    assert server.process is None
    assert not server.ready()


def test_a_server_that_exits_while_starting_is_reported() -> None:
    server = EchoServer(free_port(), broken=True)
    with pytest.raises(RuntimeError, match=r"echo-server on port \d+ did not start"):
        server.start()
    assert server.process is None
    server.kill()  # nothing to kill: harmless


def test_unique_names_differ_and_follow_the_pattern() -> None:
    first, second = unique_name(":"), unique_name(":")
    assert first != second
    assert first.startswith("queuert:")
    assert len(first.split(":")) == 3
    assert unique_name("_", prefix="queuert_hints").startswith("queuert_hints_")


class RecordingServer:
    """An asyncio TCP server that records every read and answers each one with `ok:<bytes>`."""

    def __init__(self) -> None:
        self.reads: list[bytes] = []
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                self.reads.append(data)
                writer.write(b"ok:" + data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.transport.abort()

    async def __aenter__(self) -> RecordingServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def test_a_relay_forwards_both_ways_and_plays_a_restart_on_its_port() -> None:
    async with RecordingServer() as server, TcpRelay("127.0.0.1", server.port) as relay:
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        writer.write(b"hello")
        assert await reader.readexactly(8) == b"ok:hello"
        port = relay.port
        await relay.go_down()
        assert await reader.read() == b""  # the relayed connection was cut
        writer.transport.abort()
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", port)
        await relay.come_back()
        assert relay.port == port
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"again")
        assert await reader.readexactly(8) == b"ok:again"
        assert relay.accepted == 2
        writer.transport.abort()


async def test_a_relay_with_a_gap_hands_the_server_each_piece_on_its_own() -> None:
    async with (
        RecordingServer() as server,
        TcpRelay("127.0.0.1", server.port, upstream_gap_s=0.1, upstream_delimiter=b"\r\n") as relay,
    ):
        reader, writer = await asyncio.open_connection("127.0.0.1", relay.port)
        writer.write(b"PING\r\nSUB a 1\r\ntail")
        await reader.readexactly(len(b"ok:PING\r\nok:SUB a 1\r\nok:tail"))
        # Sent in one write, the three pieces reach the server in three reads.
        assert server.reads == [b"PING\r\n", b"SUB a 1\r\n", b"tail"]
        writer.transport.abort()


def test_a_relay_refuses_an_empty_delimiter() -> None:
    with pytest.raises(ValueError, match="upstream_delimiter"):
        TcpRelay("127.0.0.1", 1, upstream_gap_s=0.1, upstream_delimiter=b"")
