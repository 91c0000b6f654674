"""One broker subscription per channel, shared by any number of in-process listeners.

Notify adapters over a broker (PostgreSQL LISTEN/NOTIFY, Redis pub/sub, NATS) must not
open a subscription per `listen_*` call: a busy worker listens for many chains and jobs at
once. A `SharedListener` opens the underlying subscription when the first listener arrives,
routes every incoming message to the listeners of its key, and closes the subscription
after the last listener leaves. `NotifyChannels` puts three of them together: the channels
of the notify protocol, as every broker-backed notify adapter uses them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeAlias

__all__ = ("Dispatch", "NotifyChannels", "OpenSubscription", "SharedListener", "SubscribeChannel")

_logger = logging.getLogger("queuert")

Dispatch: TypeAlias = Callable[[str, str], None]
"""`dispatch(key, payload)`: hand one incoming message to the listeners of `key`."""

OpenSubscription: TypeAlias = Callable[[Dispatch], Awaitable[Callable[[], Awaitable[None]]]]
"""Opens the broker subscription, feeding each message to `dispatch`, and returns its async teardown."""

SubscribeChannel: TypeAlias = Callable[[str, Callable[[str], None]], Awaitable[Callable[[], Awaitable[None]]]]
"""`subscribe(channel, on_message)`: call `on_message(payload)` for every message on `channel`.

Returns the async teardown, once the subscription is active.
"""


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


class NotifyChannels:
    """The three channels of the notify protocol on one broker, each shared through a `SharedListener`.

    | channel | payload |
    | --- | --- |
    | `{prefix}{separator}sched` | a job type name: jobs of that type became pending |
    | `{prefix}{separator}chainc` | a chain id: the chain completed |
    | `{prefix}{separator}owls` | a job id: its worker lost ownership |

    These are the names every queuert uses (the TypeScript one included), so applications
    share work by sharing a prefix. Payloads are bare strings, and each payload is also the
    key its message is routed by. Each channel is subscribed at most once, however many
    listeners the process has; the `listen_*` methods have the `NotifyAdapter` signatures.

    Args:
        prefix: The application's channel prefix.
        separator: What joins the prefix and the channel's own name (":" for Redis, "." for
            NATS subjects, "_" for PostgreSQL channels).
        subscribe: Subscribes to one channel (see `SubscribeChannel`); its errors go to the
            `listen_*` call that opened the subscription.
        label: Names the listeners in log messages: `"redis"` makes "redis job scheduled listener".
    """

    def __init__(self, prefix: str, *, separator: str, subscribe: SubscribeChannel, label: str | None = None) -> None:
        self.job_scheduled = f"{prefix}{separator}sched"
        """The channel of scheduled-job hints."""
        self.chain_completed = f"{prefix}{separator}chainc"
        """The channel of chain-completed hints."""
        self.job_ownership_lost = f"{prefix}{separator}owls"
        """The channel of ownership-lost hints."""

        def shared(channel: str, what: str) -> SharedListener:
            async def open_subscription(dispatch: Dispatch) -> Callable[[], Awaitable[None]]:
                # The payload is the routing key.
                return await subscribe(channel, lambda payload: dispatch(payload, payload))

            return SharedListener(open_subscription, name=f"{label} {what} listener" if label else f"{what} listener")

        self._scheduled = shared(self.job_scheduled, "job scheduled")
        self._chain_completed = shared(self.chain_completed, "chain completed")
        self._ownership_lost = shared(self.job_ownership_lost, "ownership lost")

    @property
    def listeners(self) -> tuple[SharedListener, SharedListener, SharedListener]:
        """The shared listeners of the scheduled-job, chain-completed and ownership-lost channels."""
        return self._scheduled, self._chain_completed, self._ownership_lost

    async def listen_job_scheduled(
        self, type_names: Sequence[str], on_notification: Callable[[str], None]
    ) -> Callable[[], Awaitable[None]]:
        """Call `on_notification(type_name)` for each hint of any of `type_names`; active on return.

        All or nothing: if one registration fails, those made before it are undone.
        """
        unsubscribes: list[Callable[[], Awaitable[None]]] = []
        try:
            for type_name in dict.fromkeys(type_names):
                unsubscribes.append(await self._scheduled.subscribe(type_name, on_notification))
        except BaseException:
            await asyncio.gather(*(unsubscribe() for unsubscribe in unsubscribes), return_exceptions=True)
            raise

        async def unsubscribe_all() -> None:
            await asyncio.gather(*(unsubscribe() for unsubscribe in unsubscribes))

        return unsubscribe_all

    async def listen_chain_completed(
        self, chain_id: str, on_notification: Callable[[], None]
    ) -> Callable[[], Awaitable[None]]:
        """Call `on_notification()` when `chain_id` is reported completed; active on return."""
        return await self._chain_completed.subscribe(chain_id, lambda _payload: on_notification())

    async def listen_job_ownership_lost(
        self, job_id: str, on_notification: Callable[[], None]
    ) -> Callable[[], Awaitable[None]]:
        """Call `on_notification()` when `job_id` is reported taken away; active on return."""
        return await self._ownership_lost.subscribe(job_id, lambda _payload: on_notification())

    async def dispose(self) -> list[Exception]:
        """Tear the three subscriptions down concurrently, whatever fails; returns the errors of those that failed."""
        results = await asyncio.gather(*(listener.dispose() for listener in self.listeners), return_exceptions=True)
        return [result for result in results if isinstance(result, Exception)]
