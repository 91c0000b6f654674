"""Helpers for testing a notify adapter against its broker: record deliveries, watch an idle worker, a herd."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from .._observed import DelegatingNotifyAdapter
from ._wait import wait_until

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from .._notify_adapter import NotifyAdapter, Unsubscribe

__all__ = ("ListeningNotifyAdapter", "ReceivedNotifications", "wake_idle_listeners")


class ReceivedNotifications:
    """Records what listeners receive: pass `typed` to `listen_job_scheduled`, `bare` to the other `listen_*`."""

    def __init__(self) -> None:
        self.items: list[str] = []
        """Every delivery in order: the type name for `typed`, `"*"` for `bare`."""

    def typed(self, value: str) -> None:
        """A callback for `listen_job_scheduled`: records the type name."""
        self.items.append(value)

    def bare(self) -> None:
        """A callback for `listen_chain_completed` and `listen_job_ownership_lost`: records `"*"`."""
        self.items.append("*")

    async def expect_no_more(self, count: int, *, settle_ms: float = 300) -> None:
        """Give late (duplicate) deliveries `settle_ms` to show up, then check there were exactly `count`.

        Raises:
            AssertionError: Another number of deliveries arrived.
        """
        await asyncio.sleep(settle_ms / 1000)
        if len(self.items) != count:
            raise AssertionError(f"expected {count} deliveries, got {self.items}")

    async def publish_until_received(
        self, publish: Callable[[], Awaitable[object]], *, what: str, timeout_ms: float = 15_000
    ) -> None:
        """Publish again and again until something arrives (what is sent while a broker reconnects is lost).

        Errors of `publish` are ignored: the broker may still be coming back.

        Raises:
            AssertionError: Nothing arrived within `timeout_ms`.
        """
        deadline = time.monotonic() + timeout_ms / 1000
        while not self.items:
            if time.monotonic() >= deadline:
                raise AssertionError(f"no {what} arrived within {timeout_ms / 1000:g} s")
            with contextlib.suppress(Exception):
                await publish()
            with contextlib.suppress(TimeoutError):
                await wait_until(lambda: self.items, timeout_ms=200)


class ListeningNotifyAdapter(DelegatingNotifyAdapter):
    """Delegates to `inner`; `listening` is set while a listener for scheduled jobs is subscribed through it.

    A worker listens for scheduled jobs only while it is idle. Give a worker this adapter and a
    poll interval longer than the test, wait for `listening` before starting each job, and the
    job can only have been picked up because the notification woke the worker.
    """

    def __init__(self, inner: NotifyAdapter) -> None:
        super().__init__(inner)
        self.listening = asyncio.Event()
        """Set while a `listen_job_scheduled` subscription made through this adapter is active."""

    async def listen_job_scheduled(
        self, type_names: Sequence[str], on_notification: Callable[[str], None]
    ) -> Unsubscribe:
        """Delegate, then set `listening` until the returned unsubscribe is called."""
        unsubscribe = await super().listen_job_scheduled(type_names, on_notification)
        self.listening.set()

        async def stop() -> None:
            self.listening.clear()
            await unsubscribe()

        return stop


async def wake_idle_listeners(
    publisher: NotifyAdapter,
    listeners: Sequence[NotifyAdapter],
    type_name: str,
    count: int,
    *,
    timeout_ms: float = 5_000,
) -> list[bool]:
    """Play a herd of idle workers: return what each listener's `consume_wake_hint` answered.

    Every listener listens for `type_name`, and claims a wake hint when notified, as an idle
    worker does. `publisher` then does what the client does after committing `count` new jobs
    of the type: `provide_wake_hint(type_name, count)`, then `notify_job_scheduled(type_name)`.
    With an adapter that keeps budgets, exactly `count` of the claims are `True`. The
    adapters should share one broker but be separate instances (connections), like workers.

    Raises:
        TimeoutError: Not every listener was notified within `timeout_ms`.
    """
    claims: list[bool] = []
    tasks: set[asyncio.Task[None]] = set()
    unsubscribes: list[Unsubscribe] = []

    def on_scheduled(listener: NotifyAdapter) -> Callable[[str], None]:
        async def claim() -> None:
            claims.append(await listener.consume_wake_hint(type_name))

        return lambda _type_name: tasks.add(asyncio.create_task(claim()))

    try:
        for listener in listeners:
            unsubscribes.append(await listener.listen_job_scheduled([type_name], on_scheduled(listener)))
        await publisher.provide_wake_hint(type_name, count)
        await publisher.notify_job_scheduled(type_name)
        await wait_until(
            lambda: len(claims) == len(listeners),
            timeout_ms=timeout_ms,
            message=f"not every one of the {len(listeners)} listeners was notified",
        )
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for unsubscribe in unsubscribes:
            await unsubscribe()
    return claims
