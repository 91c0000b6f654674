"""One broker subscription per channel, shared by any number of in-process listeners.

Notify adapters over a broker (PostgreSQL LISTEN/NOTIFY, Redis pub/sub, NATS) must not
open a subscription per `listen_*` call: a busy worker listens for many chains and jobs at
once. A `SharedListener` opens the underlying subscription when the first listener arrives,
routes every incoming message to the listeners of its key, and closes the subscription
after the last listener leaves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeAlias

__all__ = ("Dispatch", "OpenSubscription", "SharedListener")

_logger = logging.getLogger("queuert")

Dispatch: TypeAlias = Callable[[str, str], None]
"""`dispatch(key, payload)`: hand one incoming message to the listeners of `key`."""

OpenSubscription: TypeAlias = Callable[[Dispatch], Awaitable[Callable[[], Awaitable[None]]]]
"""Opens the broker subscription, feeding each message to `dispatch`, and returns its async teardown."""


class _Entry:
    """One listener registration. Compared by identity, so one callback may be registered twice."""

    __slots__ = ("callback",)

    def __init__(self, callback: Callable[[str], None]) -> None:
        self.callback = callback


class SharedListener:
    """Multiplexes listeners over a single subscription, routing messages by key.

    * `subscribe` opens the subscription if none is open (many concurrent first subscribers
      cause exactly one `open`); it returns once the subscription is active.
    * The returned unsubscribe removes that registration; the last one out tears the
      subscription down. Unsubscribing twice, or after `dispose()`, does nothing.
    * Incoming messages call the key's callbacks synchronously, in registration order, on a
      snapshot taken at dispatch time; a callback that raises is logged and skipped.
    * The `dispatch` handed to `open` works only until that subscription's teardown starts;
      a broker handler left behind by a failed or cancelled teardown delivers nothing.
    * Every mutation runs under one lock, so an open or a teardown is never interleaved with
      another one.

    Args:
        open: Opens the underlying subscription (see `OpenSubscription`). If it raises, the
            listener stays closed and the error goes to the `subscribe` call that triggered it.
        name: Used in log messages.
    """

    def __init__(self, open: OpenSubscription, *, name: str = "shared listener") -> None:
        self._open = open
        self._name = name
        self._lock = asyncio.Lock()
        self._teardown: Callable[[], Awaitable[None]] | None = None
        self._callbacks: dict[str, list[_Entry]] = {}
        # Identifies the current open subscription. The dispatch handed to `open` is bound to
        # it, so a broker handler that outlives its teardown (a teardown that failed or was
        # cancelled midway) can never deliver into a later subscription: no double delivery.
        self._generation: object | None = None

    @property
    def active(self) -> bool:
        """Whether the underlying subscription is open."""
        return self._teardown is not None

    @property
    def listener_count(self) -> int:
        """How many registrations are live."""
        return sum(len(entries) for entries in self._callbacks.values())

    def _bind_dispatch(self, generation: object) -> Dispatch:
        def dispatch(key: str, payload: str) -> None:
            if self._generation is generation:
                self._dispatch(key, payload)

        return dispatch

    def _dispatch(self, key: str, payload: str) -> None:
        if self._teardown is None:
            return
        for entry in tuple(self._callbacks.get(key, ())):
            try:
                entry.callback(payload)
            except Exception:
                _logger.exception("queuert %s: a listener for %r raised; other listeners still run", self._name, key)

    async def subscribe(self, key: str, callback: Callable[[str], None]) -> Callable[[], Awaitable[None]]:
        """Call `callback(payload)` for every message routed to `key`; returns the async unsubscribe.

        Raises:
            Exception: Whatever opening the underlying subscription raised.
        """
        entry = _Entry(callback)
        async with self._lock:
            if self._teardown is None:
                generation = object()
                teardown = await self._open(self._bind_dispatch(generation))
                self._teardown, self._generation = teardown, generation
            self._callbacks.setdefault(key, []).append(entry)

        async def unsubscribe() -> None:
            async with self._lock:
                entries = self._callbacks.get(key)
                if self._teardown is None or entries is None or entry not in entries:
                    return
                entries.remove(entry)
                if not entries:
                    del self._callbacks[key]
                if not self._callbacks:
                    await self._close_locked()

        return unsubscribe

    async def dispose(self) -> None:
        """Tear the subscription down whatever listeners remain; a later `subscribe` opens it again."""
        async with self._lock:
            await self._close_locked()

    async def _close_locked(self) -> None:
        teardown, self._teardown = self._teardown, None
        self._generation = None
        self._callbacks.clear()
        # Idle first: if the teardown raises, the listener can still be reopened.
        if teardown is not None:
            await teardown()
