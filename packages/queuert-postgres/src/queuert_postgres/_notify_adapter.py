"""The LISTEN/NOTIFY notify adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar

from queuert.adapters import NotifyAdapter, NotifyChannels, Unsubscribe
from queuert.errors import AdapterClosedError

from ._errors import translate_error

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

__all__ = ("PgNotifyAdapter", "PgNotifyProvider", "create_pg_notify_adapter")

ResultT = TypeVar("ResultT")

_ADAPTER_NAME = "PgNotifyAdapter"
_MAX_CHANNEL_BYTES = 63
_LONGEST_SUFFIX = "_chainc"
MAX_CHANNEL_PREFIX_BYTES = _MAX_CHANNEL_BYTES - len(_LONGEST_SUFFIX)
"""PostgreSQL channel names are identifiers of at most 63 bytes; the longest suffix is `_chainc`."""


class PgNotifyProvider(Protocol):
    """Publishes and subscribes on PostgreSQL channels. `AsyncpgNotifyProvider` and `PsycopgNotifyProvider` ship.

    Optional: `async def close(self)`, idempotent; afterwards `publish` and `subscribe` raise.
    """

    async def publish(self, channel: str, message: str) -> None:
        """Send `message` on `channel` (`pg_notify`), delivered at once (outside any transaction)."""
        ...

    async def subscribe(self, channel: str, on_message: Callable[[str], None]) -> Callable[[], Awaitable[None]]:
        """Call `on_message(payload)` for every notification on `channel`; return once `LISTEN` is active.

        The adapter subscribes at most once per channel at a time. Returns the async unsubscribe.
        """
        ...


class PgNotifyAdapter(NotifyAdapter):
    """Wakes workers and chain waiters through PostgreSQL LISTEN/NOTIFY. Build it with `create_pg_notify_adapter`.

    Channels: `{prefix}_sched` (payload: job type name), `{prefix}_chainc` (chain id) and
    `{prefix}_owls` (job id). Each channel has at most one `LISTEN` however many listeners
    the process has (`NotifyChannels`); payloads are routed to listeners in the process.
    PostgreSQL has no atomic counter to spend, so wake hints are not budgeted:
    `provide_wake_hint` does nothing and `consume_wake_hint` always returns `True` (every
    idle worker of the type wakes and tries to acquire; `SKIP LOCKED` keeps that cheap).
    """

    def __init__(self, *, notify_provider: PgNotifyProvider, channel_prefix: str) -> None:
        self._provider = notify_provider
        self._closed = False
        self._channels = NotifyChannels(channel_prefix, separator="_", subscribe=self._subscribe)

    @property
    def notify_provider(self) -> PgNotifyProvider:
        """The provider this adapter publishes and listens through."""
        return self._provider

    async def _subscribe(self, channel: str, on_message: Callable[[str], None]) -> Callable[[], Awaitable[None]]:
        return await _translated(self._provider.subscribe(channel, on_message))

    def _check_open(self) -> None:
        if self._closed:
            raise AdapterClosedError(adapter=_ADAPTER_NAME)

    async def _publish(self, channel: str, message: str) -> None:
        self._check_open()
        await _translated(self._provider.publish(channel, message))

    async def notify_job_scheduled(self, type_name: str) -> None:
        """Publish the type name on the scheduled channel."""
        await self._publish(self._channels.job_scheduled, type_name)

    async def listen_job_scheduled(
        self, type_names: Sequence[str], on_notification: Callable[[str], None]
    ) -> Unsubscribe:
        """Call `on_notification(type_name)` for each scheduled-job hint of these types; active on return."""
        self._check_open()
        return await self._channels.listen_job_scheduled(type_names, on_notification)

    async def provide_wake_hint(self, type_name: str, count: int) -> None:
        """Do nothing: LISTEN/NOTIFY has no shared counter to budget wake-ups with."""
        self._check_open()

    async def consume_wake_hint(self, type_name: str) -> bool:
        """Return `True`: without a budget every notified worker wakes."""
        self._check_open()
        return True

    async def notify_chain_completed(self, chain_id: str) -> None:
        """Publish the chain id on the chain-completed channel."""
        await self._publish(self._channels.chain_completed, chain_id)

    async def listen_chain_completed(self, chain_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        """Call `on_notification()` when `chain_id` is reported completed; active on return."""
        self._check_open()
        return await self._channels.listen_chain_completed(chain_id, on_notification)

    async def notify_job_ownership_lost(self, job_id: str) -> None:
        """Publish the job id on the ownership-lost channel."""
        await self._publish(self._channels.job_ownership_lost, job_id)

    async def listen_job_ownership_lost(self, job_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        """Call `on_notification()` when `job_id` is reported taken away; active on return."""
        self._check_open()
        return await self._channels.listen_job_ownership_lost(job_id, on_notification)

    async def close(self) -> None:
        """Tear down the three subscriptions and close the provider (if it has `close`). Idempotent."""
        if self._closed:
            return
        self._closed = True
        # One at a time: a provider may run every LISTEN and UNLISTEN on one connection.
        for listener in self._channels.listeners:
            try:
                await listener.dispose()
            except Exception:
                continue
        close = getattr(self._provider, "close", None)
        if close is not None:
            await close()


async def _translated(operation: Awaitable[ResultT]) -> ResultT:
    """Await a provider call, raising a driver error queuert knows as its queuert error."""
    try:
        return await operation
    except Exception as exc:
        mapped = translate_error(exc, schema="", table_prefix="\x00")
        if mapped is None:
            raise
        raise mapped from exc


async def create_pg_notify_adapter(
    *, notify_provider: PgNotifyProvider, channel_prefix: str = "queuert"
) -> PgNotifyAdapter:
    """Create a notify adapter over PostgreSQL LISTEN/NOTIFY.

    Args:
        notify_provider: `AsyncpgNotifyProvider`, `PsycopgNotifyProvider`, or your own.
        channel_prefix: Prefix of the three channel names; channels are case-sensitive.

    Raises:
        ValueError: `channel_prefix` is empty, contains a NUL character, or is longer than
            56 bytes in UTF-8 (PostgreSQL truncates channel names past 63 bytes).
    """
    if not isinstance(channel_prefix, str) or not channel_prefix or "\x00" in channel_prefix:
        raise ValueError(f"Invalid channel_prefix {channel_prefix!r}: it must be a non-empty string without NUL")
    if len(channel_prefix.encode()) > MAX_CHANNEL_PREFIX_BYTES:
        raise ValueError(
            f"Invalid channel_prefix {channel_prefix!r}: at most {MAX_CHANNEL_PREFIX_BYTES} bytes in UTF-8, "
            f"because PostgreSQL channel names are limited to {_MAX_CHANNEL_BYTES} bytes"
        )
    return PgNotifyAdapter(notify_provider=notify_provider, channel_prefix=channel_prefix)
