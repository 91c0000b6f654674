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

This module imports neither pytest, testcontainers nor a Docker client at import time: pytest
is imported when a skip is due, and testcontainers only by the container factories.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

__all__ = (
    "ci_enforced",
    "docker_available",
    "resolve_service",
    "skip_unavailable",
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
