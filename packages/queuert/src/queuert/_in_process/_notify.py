"""A notify adapter that delivers hints within one process, synchronously at publish time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from .._notify_adapter import NotifyAdapter, Unsubscribe
from ..errors import AdapterClosedError

__all__ = ("InProcessNotifyAdapter", "create_in_process_notify_adapter")

_logger = logging.getLogger("queuert")

_ADAPTER_NAME = "InProcessNotifyAdapter"
_HINT_TTL_S = 60.0
_HINT_SWEEP_THRESHOLD = 1024

CallbackT = TypeVar("CallbackT", Callable[[str], None], Callable[[], None])


class _Listener(Generic[CallbackT]):
    """One subscription. Compared by identity, so the same callback may be registered twice."""

    __slots__ = ("callback",)

    def __init__(self, callback: CallbackT) -> None:
        self.callback: CallbackT = callback


class _Registry(Generic[CallbackT]):
    """Listeners by key (type name, chain id or job id)."""

    __slots__ = ("_by_key",)

    def __init__(self) -> None:
        self._by_key: dict[str, set[_Listener[CallbackT]]] = {}

    def add(self, keys: Sequence[str], listener: _Listener[CallbackT]) -> None:
        for key in keys:
            self._by_key.setdefault(key, set()).add(listener)

    def discard(self, keys: Sequence[str], listener: _Listener[CallbackT]) -> None:
        for key in keys:
            listeners = self._by_key.get(key)
            if listeners is None:
                continue
            listeners.discard(listener)
            if not listeners:
                del self._by_key[key]

    def snapshot(self, key: str) -> list[_Listener[CallbackT]]:
        # Copy so a callback that subscribes or unsubscribes does not disturb this dispatch.
        return list(self._by_key.get(key, ()))

    def clear(self) -> None:
        self._by_key.clear()


class InProcessNotifyAdapter(NotifyAdapter):
    """Delivers notifications to listeners in the same process. Build it with `create_in_process_notify_adapter`.

    Callbacks run synchronously inside the `notify_*` call, one after another. A callback
    that raises is logged on the `queuert` logger and skipped; its peers and the publisher
    are unaffected. Wake hints are counted per type and forgotten 60 s after the last
    `provide_wake_hint` (measured on the event loop clock).

    After `close()`, every method except `close()` raises `AdapterClosedError`; unsubscribe
    callables returned earlier remain safe to call.
    """

    def __init__(self) -> None:
        self._closed = False
        self._job_scheduled: _Registry[Callable[[str], None]] = _Registry()
        self._chain_completed: _Registry[Callable[[], None]] = _Registry()
        self._ownership_lost: _Registry[Callable[[], None]] = _Registry()
        self._hints: dict[str, tuple[int, float]] = {}
        """type name -> (remaining budget, loop time when it expires)."""

    def _check_open(self) -> None:
        if self._closed:
            raise AdapterClosedError(adapter=_ADAPTER_NAME)

    @staticmethod
    def _call(listener: _Listener[Callable[[], None]], channel: str, key: str) -> None:
        try:
            listener.callback()
        except Exception:
            _logger.exception("queuert notify listener for %s %r raised; other listeners still run", channel, key)

    def _subscribe(self, registry: _Registry[CallbackT], keys: Sequence[str], callback: CallbackT) -> Unsubscribe:
        listener = _Listener(callback)
        keys = tuple(dict.fromkeys(keys))
        registry.add(keys, listener)

        async def unsubscribe() -> None:
            # Safe after close: the registry was cleared and discarding is a no-op then.
            registry.discard(keys, listener)

        return unsubscribe

    async def notify_job_scheduled(self, type_name: str) -> None:
        """Call every listener of `type_name` with the type name, synchronously."""
        self._check_open()
        for listener in self._job_scheduled.snapshot(type_name):
            try:
                listener.callback(type_name)
            except Exception:
                _logger.exception(
                    "queuert notify listener for job scheduled %r raised; other listeners still run", type_name
                )

    async def listen_job_scheduled(
        self, type_names: Sequence[str], on_notification: Callable[[str], None]
    ) -> Unsubscribe:
        """Subscribe to scheduled-job hints of any of `type_names`; active when this returns."""
        self._check_open()
        return self._subscribe(self._job_scheduled, type_names, on_notification)

    async def provide_wake_hint(self, type_name: str, count: int) -> None:
        """Add `count` to the type's wake budget and restart its 60 s lifetime. A count below 1 does nothing."""
        self._check_open()
        if count < 1:
            return
        now = asyncio.get_running_loop().time()
        if len(self._hints) > _HINT_SWEEP_THRESHOLD:
            self._hints = {t: h for t, h in self._hints.items() if h[1] > now}
        remaining, expires_at = self._hints.get(type_name, (0, now))
        if expires_at <= now:
            remaining = 0
        self._hints[type_name] = (remaining + count, now + _HINT_TTL_S)

    async def consume_wake_hint(self, type_name: str) -> bool:
        """Take one unit of the type's wake budget.

        Returns `False` only when a live budget exists and is used up; `True` otherwise,
        including when no budget was provided or it expired.
        """
        self._check_open()
        hint = self._hints.get(type_name)
        if hint is None:
            return True
        remaining, expires_at = hint
        if expires_at <= asyncio.get_running_loop().time():
            del self._hints[type_name]
            return True
        if remaining <= 0:
            return False
        self._hints[type_name] = (remaining - 1, expires_at)
        return True

    async def notify_chain_completed(self, chain_id: str) -> None:
        """Call every listener of `chain_id`, synchronously."""
        self._check_open()
        for listener in self._chain_completed.snapshot(chain_id):
            self._call(listener, "chain completed", chain_id)

    async def listen_chain_completed(self, chain_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        """Subscribe to the completion of `chain_id`; active when this returns."""
        self._check_open()
        return self._subscribe(self._chain_completed, (chain_id,), on_notification)

    async def notify_job_ownership_lost(self, job_id: str) -> None:
        """Call every listener of `job_id`, synchronously."""
        self._check_open()
        for listener in self._ownership_lost.snapshot(job_id):
            self._call(listener, "job ownership lost", job_id)

    async def listen_job_ownership_lost(self, job_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        """Subscribe to ownership-lost hints of `job_id`; active when this returns."""
        self._check_open()
        return self._subscribe(self._ownership_lost, (job_id,), on_notification)

    async def close(self) -> None:
        """Drop every listener and wake budget. Idempotent."""
        self._closed = True
        self._job_scheduled.clear()
        self._chain_completed.clear()
        self._ownership_lost.clear()
        self._hints.clear()


async def create_in_process_notify_adapter() -> InProcessNotifyAdapter:
    """Create a notify adapter for workers and clients that share this process."""
    return InProcessNotifyAdapter()
