"""The notify adapter used when none is configured: nothing is published, workers rely on polling."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._notify_adapter import NotifyAdapter, Unsubscribe

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ("NoopNotifyAdapter",)


async def _noop_unsubscribe() -> None:
    return None


class NoopNotifyAdapter(NotifyAdapter):
    """Does nothing: notifications go nowhere, listeners are never called, every wake hint says "wake".

    This is the default when a client or worker is built without a notify adapter; workers
    then find new jobs by polling. It never raises, before or after `close()`.
    """

    async def notify_job_scheduled(self, type_name: str) -> None:
        """Do nothing."""

    async def listen_job_scheduled(
        self, type_names: Sequence[str], on_notification: Callable[[str], None]
    ) -> Unsubscribe:
        """Return an unsubscribe that does nothing; the callback is never called."""
        return _noop_unsubscribe

    async def provide_wake_hint(self, type_name: str, count: int) -> None:
        """Do nothing."""

    async def consume_wake_hint(self, type_name: str) -> bool:
        """Return `True`: without a budget, every listener should wake."""
        return True

    async def notify_chain_completed(self, chain_id: str) -> None:
        """Do nothing."""

    async def listen_chain_completed(self, chain_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        """Return an unsubscribe that does nothing; the callback is never called."""
        return _noop_unsubscribe

    async def notify_job_ownership_lost(self, job_id: str) -> None:
        """Do nothing."""

    async def listen_job_ownership_lost(self, job_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        """Return an unsubscribe that does nothing; the callback is never called."""
        return _noop_unsubscribe

    async def close(self) -> None:
        """Do nothing."""
