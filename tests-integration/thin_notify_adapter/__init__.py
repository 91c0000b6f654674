"""A deliberately thin third-party notify adapter, written the way an outside author would.

It uses only public queuert API (`queuert.adapters.NotifyAdapter`, `queuert.errors`) and
asyncio primitives: every publish goes onto an `asyncio.Queue` that one background task
drains, like a tiny message broker, so delivery is asynchronous (unlike the in-process
adapter's synchronous dispatch). Wake hints are not tracked: `provide_wake_hint` is a no-op
and `consume_wake_hint` always wakes, which the contract allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Literal, TypeAlias

from queuert.adapters import NotifyAdapter, Unsubscribe
from queuert.errors import AdapterClosedError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ("ThinNotifyAdapter", "create_thin_notify_adapter")

_logger = logging.getLogger(__name__)

Channel: TypeAlias = Literal["scheduled", "chain", "lost"]


class _Listener:
    """One subscription; compared by identity, so one callback may be subscribed twice."""

    __slots__ = ("callback", "takes_key")

    def __init__(self, callback: Callable[..., None], *, takes_key: bool) -> None:
        self.callback = callback
        self.takes_key = takes_key


class ThinNotifyAdapter(NotifyAdapter):
    """Routes notifications through an asyncio queue drained by one background task."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[tuple[Channel, str]] = asyncio.Queue()
        self._listeners: dict[tuple[Channel, str], list[_Listener]] = {}
        self._dispatcher: asyncio.Task[None] | None = None
        self._closed = False

    # --- plumbing ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise AdapterClosedError(adapter="ThinNotifyAdapter")

    async def _publish(self, channel: Channel, key: str) -> None:
        self._check_open()
        if self._dispatcher is None:
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())
        self._queue.put_nowait((channel, key))

    async def _dispatch(self) -> None:
        while True:
            channel, key = await self._queue.get()
            for listener in list(self._listeners.get((channel, key), ())):
                try:
                    if listener.takes_key:
                        listener.callback(key)
                    else:
                        listener.callback()
                except Exception:
                    _logger.exception("a %s listener for %r raised; the others still run", channel, key)

    def _subscribe(self, channel: Channel, keys: Sequence[str], listener: _Listener) -> Unsubscribe:
        self._check_open()
        unique = list(dict.fromkeys(keys))
        for key in unique:
            self._listeners.setdefault((channel, key), []).append(listener)

        async def unsubscribe() -> None:
            self._unsubscribe(channel, unique, listener)

        return unsubscribe

    def _unsubscribe(self, channel: Channel, keys: Sequence[str], listener: _Listener) -> None:
        for key in keys:
            listeners = self._listeners.get((channel, key), [])
            if any(existing is listener for existing in listeners):
                listeners[:] = [existing for existing in listeners if existing is not listener]

    # --- the contract --------------------------------------------------------------------

    async def notify_job_scheduled(self, type_name: str) -> None:
        """Queue a scheduled-job hint for `type_name`."""
        await self._publish("scheduled", type_name)

    async def listen_job_scheduled(
        self, type_names: Sequence[str], on_notification: Callable[[str], None]
    ) -> Unsubscribe:
        """Subscribe to scheduled-job hints of any of `type_names`; active when this returns."""
        return self._subscribe("scheduled", type_names, _Listener(on_notification, takes_key=True))

    async def provide_wake_hint(self, type_name: str, count: int) -> None:
        """Do nothing: this adapter keeps no wake budget."""
        self._check_open()

    async def consume_wake_hint(self, type_name: str) -> bool:
        """Always wake: no budget is tracked."""
        self._check_open()
        return True

    async def notify_chain_completed(self, chain_id: str) -> None:
        """Queue a chain-completed hint for `chain_id`."""
        await self._publish("chain", chain_id)

    async def listen_chain_completed(self, chain_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        """Subscribe to the completion of `chain_id`; active when this returns."""
        return self._subscribe("chain", [chain_id], _Listener(on_notification, takes_key=False))

    async def notify_job_ownership_lost(self, job_id: str) -> None:
        """Queue an ownership-lost hint for `job_id`."""
        await self._publish("lost", job_id)

    async def listen_job_ownership_lost(self, job_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        """Subscribe to ownership-lost hints of `job_id`; active when this returns."""
        return self._subscribe("lost", [job_id], _Listener(on_notification, takes_key=False))

    async def close(self) -> None:
        """Stop the dispatcher and drop every listener. Idempotent."""
        self._closed = True
        self._listeners.clear()
        dispatcher, self._dispatcher = self._dispatcher, None
        if dispatcher is not None:
            dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await dispatcher


async def create_thin_notify_adapter() -> ThinNotifyAdapter:
    """Create the adapter (it starts its dispatcher on the first publish)."""
    return ThinNotifyAdapter()
