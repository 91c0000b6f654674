"""The Redis notify adapter: pub/sub hints plus wake-hint budgets kept by two Lua scripts."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from redis.exceptions import ClusterDownError, SlotNotCoveredError, TryAgainError

from queuert.adapters import NotifyAdapter, NotifyChannels, Unsubscribe
from queuert.errors import AdapterClosedError

from ._pubsub import CONNECTION_ERRORS

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ._provider import RedisNotifyProvider

__all__ = ("CONSUME_WAKE_HINT_SCRIPT", "PROVIDE_WAKE_HINT_SCRIPT", "RedisNotifyAdapter", "create_redis_notify_adapter")

_logger = logging.getLogger("queuert.redis")

_ADAPTER_NAME = "RedisNotifyAdapter"
_HINT_TTL_S = 60

PROVIDE_WAKE_HINT_SCRIPT = f"""
local budget = (tonumber(redis.call('GET', KEYS[1])) or 0) + tonumber(ARGV[1])
redis.call('SET', KEYS[1], budget, 'EX', {_HINT_TTL_S})
return budget
"""
"""KEYS[1] = hint key, ARGV[1] = count: add `count` to the budget and restart its 60 s lifetime."""

CONSUME_WAKE_HINT_SCRIPT = """
local value = redis.call('GET', KEYS[1])
if not value then
  return 1
end
local budget = tonumber(value)
if budget and budget > 0 then
  redis.call('DECR', KEYS[1])
  return 1
end
return 0
"""
"""KEYS[1] = hint key: 1 = wake (a slot was claimed, or no budget is tracked), 0 = the budget is used up.

`DECR` keeps the key's remaining lifetime.
"""

# Also a cluster that lost the node holding the key, or is moving its slot.
_UNREACHABLE: tuple[type[BaseException], ...] = (
    *CONNECTION_ERRORS,
    ClusterDownError,
    SlotNotCoveredError,
    TryAgainError,
)


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, bytes | str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


class RedisNotifyAdapter(NotifyAdapter):
    """Wakes workers and chain waiters over Redis pub/sub. Build it with `create_redis_notify_adapter`.

    Channels (payloads are bare UTF-8 strings, no envelope):

    | channel | payload |
    | --- | --- |
    | `{prefix}:sched` | a job type name: jobs of that type became pending |
    | `{prefix}:chainc` | a chain id: the chain completed |
    | `{prefix}:owls` | a job id: its worker lost ownership |

    Each channel has at most one subscription however many listeners the process has
    (`NotifyChannels`: one `SharedListener` per channel, all on the provider's single
    subscription connection); messages are routed to listeners in the process.

    Wake hints: `provide_wake_hint(t, n)` adds `n` to the integer at `{prefix}:hint:{t}`
    and restarts its 60 s lifetime; `consume_wake_hint(t)` takes one unit atomically, so
    one scheduled job wakes one idle worker instead of all of them. A missing key means
    "wake". When Redis cannot be reached, `consume_wake_hint` logs and returns `True`
    (the worker looks for a job rather than sleep through one).

    After `close()`, every method except `close()` raises `AdapterClosedError`;
    unsubscribes returned earlier stay safe to call.
    """

    def __init__(self, *, notify_provider: RedisNotifyProvider, channel_prefix: str) -> None:
        self._provider = notify_provider
        self._prefix = channel_prefix
        self._closed = False
        self._channels = NotifyChannels(
            channel_prefix, separator=":", subscribe=notify_provider.subscribe, label="redis"
        )

    @property
    def notify_provider(self) -> RedisNotifyProvider:
        """The provider this adapter publishes and listens through."""
        return self._provider

    @property
    def channel_prefix(self) -> str:
        """The prefix of every channel and hint key."""
        return self._prefix

    def hint_key(self, type_name: str) -> str:
        """The Redis key holding the wake budget of `type_name`."""
        return f"{self._prefix}:hint:{type_name}"

    def _check_open(self) -> None:
        if self._closed:
            raise AdapterClosedError(adapter=_ADAPTER_NAME)

    async def notify_job_scheduled(self, type_name: str) -> None:
        """Publish the type name on `{prefix}:sched`."""
        self._check_open()
        await self._provider.publish(self._channels.job_scheduled, type_name)

    async def listen_job_scheduled(
        self, type_names: Sequence[str], on_notification: Callable[[str], None]
    ) -> Unsubscribe:
        """Call `on_notification(type_name)` for each scheduled-job hint of these types; active on return."""
        self._check_open()
        return await self._channels.listen_job_scheduled(type_names, on_notification)

    async def provide_wake_hint(self, type_name: str, count: int) -> None:
        """Add `count` to the type's wake budget (one atomic script) and keep it 60 s; a count below 1 does nothing.

        Raises the provider's error when Redis cannot be reached (the client logs it and
        still publishes the notification, which then wakes every listener).
        """
        self._check_open()
        if count < 1:
            return
        await self._provider.eval(PROVIDE_WAKE_HINT_SCRIPT, [self.hint_key(type_name)], [str(count)])

    async def consume_wake_hint(self, type_name: str) -> bool:
        """Claim one unit of the type's wake budget (one atomic script).

        Returns `False` only when a budget is tracked and used up. Returns `True` when a
        unit was claimed, when no budget is tracked (never provided, or expired), and when
        Redis cannot be reached (logged as a warning).
        """
        self._check_open()
        try:
            result = await self._provider.eval(CONSUME_WAKE_HINT_SCRIPT, [self.hint_key(type_name)], [])
        except _UNREACHABLE as error:
            _logger.warning(
                "queuert redis: cannot reach Redis to claim a wake hint for %r (%s: %s); waking anyway",
                type_name,
                type(error).__name__,
                error,
            )
            return True
        return _as_int(result) == 1

    async def notify_chain_completed(self, chain_id: str) -> None:
        """Publish the chain id on `{prefix}:chainc`."""
        self._check_open()
        await self._provider.publish(self._channels.chain_completed, chain_id)

    async def listen_chain_completed(self, chain_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        """Call `on_notification()` when `chain_id` is reported completed; active on return."""
        self._check_open()
        return await self._channels.listen_chain_completed(chain_id, on_notification)

    async def notify_job_ownership_lost(self, job_id: str) -> None:
        """Publish the job id on `{prefix}:owls`."""
        self._check_open()
        await self._provider.publish(self._channels.job_ownership_lost, job_id)

    async def listen_job_ownership_lost(self, job_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        """Call `on_notification()` when `job_id` is reported taken away; active on return."""
        self._check_open()
        return await self._channels.listen_job_ownership_lost(job_id, on_notification)

    async def close(self) -> None:
        """Tear down the three subscriptions, then close the provider if it has `close()`. Idempotent.

        The application's Redis clients are never closed here.
        """
        if self._closed:
            return
        self._closed = True
        for error in await self._channels.dispose():
            _logger.debug("queuert redis: a subscription teardown failed at close: %s", error)
        close = getattr(self._provider, "close", None)
        if close is not None:
            await close()


async def create_redis_notify_adapter(
    *, notify_provider: RedisNotifyProvider, channel_prefix: str = "queuert"
) -> RedisNotifyAdapter:
    """Create a notify adapter over Redis pub/sub.

    Args:
        notify_provider: `RedisPubSubProvider(client)` for a standalone Redis,
            `RedisClusterPubSubProvider(cluster)` for Redis Cluster, or your own provider.
        channel_prefix: Prefix of the channels and hint keys (`{prefix}:sched`,
            `{prefix}:hint:{type}`, ...). Colons are fine. Apps sharing a Redis use
            different prefixes; a TypeScript queuert app and a Python one share work by
            using the same prefix.

    Raises:
        ValueError: `channel_prefix` is not a non-empty string.
    """
    if not isinstance(channel_prefix, str) or not channel_prefix:
        raise ValueError(f"Invalid channel_prefix {channel_prefix!r}: it must be a non-empty string")
    return RedisNotifyAdapter(notify_provider=notify_provider, channel_prefix=channel_prefix)
