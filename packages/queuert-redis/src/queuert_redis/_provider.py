"""What the Redis notify adapter needs from a Redis driver."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ("RedisNotifyProvider",)


class RedisNotifyProvider(Protocol):
    """Publishes, subscribes and runs Lua scripts on Redis. `RedisPubSubProvider` and `RedisClusterPubSubProvider` ship.

    A connection in subscribe mode cannot run other commands, so a provider holds (at
    least) two connections: one for `PUBLISH` and `EVAL`, one for the subscriptions.

    Optional: `async def close(self) -> None`, idempotent, releasing what the provider owns
    (never the application's clients); the adapter calls it from its own `close()`.
    """

    async def publish(self, channel: str, message: str) -> None:
        """`PUBLISH message` on `channel` (classic, fire-and-forget pub/sub)."""
        ...

    async def subscribe(self, channel: str, on_message: Callable[[str], None]) -> Callable[[], Awaitable[None]]:
        """Call `on_message(text)` for every message on `channel`; return once `SUBSCRIBE` is active.

        Returns the async unsubscribe. The adapter keeps at most one subscription per
        channel at a time (it multiplexes its listeners itself).
        """
        ...

    async def eval(self, script: str, keys: list[str], args: list[str]) -> object:
        """Run the Lua `script` atomically with `KEYS` and `ARGV`; return its result as the driver gives it."""
        ...
