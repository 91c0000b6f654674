"""Bundled providers over redis-py's asyncio clients: standalone (`Redis`) and cluster (`RedisCluster`)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from typing import TYPE_CHECKING, Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub
    from redis.asyncio.cluster import ClusterNode, RedisCluster

__all__ = ("RedisClusterPubSubProvider", "RedisPubSubProvider")

_logger = logging.getLogger("queuert.redis")

CONNECTION_ERRORS: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)
"""What a lost or unreachable server raises through redis-py (and through our own time bounds)."""

_READ_TIMEOUT_S = 1.0
_COMMAND_COOLDOWN_S = 1.0
"""After a command failed for want of a connection, later commands fail at once for this long."""
_BACKOFF_START_S = 0.1
_BACKOFF_CAP_S = 5.0


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


class _Handler:
    """One `on_message` registration; compared by identity so one callable may register twice."""

    __slots__ = ("callback",)

    def __init__(self, callback: Callable[[str], None]) -> None:
        self.callback = callback


class _PubSubProvider:
    """The machinery both bundled providers share: one `PubSub` connection, owned by one reader task.

    * `subscribe` and `unsubscribe` only change which channels are wanted (and who listens
      to each) and wake the reader; they never touch the connection. So there is never more
      than one task reading, writing or reconnecting it, and unsubscribing is instantaneous.
    * The reader sends `SUBSCRIBE`/`UNSUBSCRIBE` for whatever changed, then reads the next
      message, a read that a change interrupts (redis-py's parser resumes an interrupted
      read). `subscribe` returns once the server confirmed the channel, so a subscription is
      active when it returns.
    * When the connection drops, the reader logs it, backs off (100 ms doubling to 5 s) and
      reads again: redis-py then reconnects and subscribes every channel again. The reader
      never dies of a connection error; it stops when no channel is wanted.
    * While the reader knows the connection is down, a `subscribe` for a new channel fails at
      once instead of waiting for a timeout; channels subscribed before the outage come back
      by themselves.
    """

    def __init__(self, *, timeout_ms: float | None) -> None:
        if timeout_ms is not None and timeout_ms <= 0:
            raise ValueError(f"timeout_ms must be > 0 or None, got {timeout_ms!r}")
        self._timeout_s = None if timeout_ms is None else timeout_ms / 1000
        self._handlers: dict[str, list[_Handler]] = {}
        """Wanted channels and their handlers."""
        self._subscribed: set[str] = set()
        """Channels SUBSCRIBE was sent for (redis-py re-sends them on reconnect)."""
        self._confirmed: set[str] = set()
        """Subscribed channels whose confirmation arrived since the connection was last lost."""
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._down: BaseException | None = None
        self._closed = False
        self._scripts: dict[str, str] = {}
        self._commands_down_until = 0.0

    # --- hooks for the two providers ------------------------------------------------------

    def _commands(self) -> Any:
        """The client that runs PUBLISH and EVAL."""
        raise NotImplementedError

    async def _new_pubsub(self) -> PubSub:
        raise NotImplementedError

    async def _after_connection_error(self) -> None:
        """Called by the reader after a connection error and its backoff sleep."""

    # --- commands ---------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"{type(self).__name__} is closed")

    async def _bounded(self, call: Awaitable[Any]) -> Any:
        async with asyncio.timeout(self._timeout_s):
            return await call

    async def _command(self, run: Callable[[], Awaitable[Any]]) -> Any:
        """Run one command, bounded; after a connection failure, fail the next ones at once for a second.

        During an outage every notification after a commit would otherwise wait out the
        timeout (and redis-py's own retries) before failing.
        """
        self._check_open()
        loop = asyncio.get_running_loop()
        if loop.time() < self._commands_down_until:
            raise RedisConnectionError("Redis is unreachable (a command failed less than a second ago)")
        try:
            result = await self._bounded(run())
        except CONNECTION_ERRORS:
            self._commands_down_until = loop.time() + _COMMAND_COOLDOWN_S
            raise
        return result

    async def publish(self, channel: str, message: str) -> None:
        """`PUBLISH message` on `channel`, bounded by the provider's timeout."""
        await self._command(lambda: self._commands().publish(channel, message))

    async def eval(self, script: str, keys: list[str], args: list[str]) -> object:
        """Run `script` by its SHA1 (`EVALSHA`), falling back to `EVAL` when the server does not know it yet."""
        sha = self._scripts.get(script)
        if sha is None:
            sha = self._scripts[script] = hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest()
        commands = self._commands()
        try:
            return await self._command(lambda: commands.evalsha(sha, len(keys), *keys, *args))
        except NoScriptError:
            # EVAL also caches the script on that server, so the next EVALSHA succeeds.
            return await self._command(lambda: commands.eval(script, len(keys), *keys, *args))

    # --- subscriptions --------------------------------------------------------------------

    async def subscribe(self, channel: str, on_message: Callable[[str], None]) -> Callable[[], Awaitable[None]]:
        """Call `on_message(text)` for every message on `channel`; return once the server confirmed `SUBSCRIBE`.

        Raises:
            redis.exceptions.ConnectionError: The subscription connection is down (the
                provider is reconnecting) or was lost before the confirmation.
            TimeoutError: The server did not confirm within the provider's timeout.
            RuntimeError: The provider is closed.
        """
        self._check_open()
        handler = _Handler(on_message)
        handlers = self._handlers.get(channel)
        if handlers is None:
            if self._down is not None:
                raise RedisConnectionError(f"the Redis subscription connection is down and reconnecting ({self._down})")
            handlers = self._handlers[channel] = []
        handlers.append(handler)

        async def unsubscribe() -> None:
            self._remove(channel, handler)

        if channel not in self._confirmed:
            confirmation = self._confirmations.get(channel)
            if confirmation is None:
                confirmation = self._confirmations[channel] = asyncio.get_running_loop().create_future()
            self._wake_reader()
            try:
                async with asyncio.timeout(self._timeout_s):
                    await asyncio.shield(confirmation)
            except BaseException:
                self._remove(channel, handler)
                task = asyncio.current_task()
                if confirmation.cancelled() and self._closed and (task is None or not task.cancelling()):
                    raise RuntimeError(f"{type(self).__name__} was closed while subscribing") from None
                raise
        return unsubscribe

    def _remove(self, channel: str, handler: _Handler) -> None:
        """Remove one registration; the reader unsubscribes a channel nobody listens to any more."""
        handlers = self._handlers.get(channel)
        if handlers is None or handler not in handlers:
            return
        handlers.remove(handler)
        if handlers:
            return
        del self._handlers[channel]
        confirmation = self._confirmations.pop(channel, None)
        if confirmation is not None and not confirmation.done():
            confirmation.cancel()
        if not self._closed:
            self._wake_reader()

    def _wake_reader(self) -> None:
        self._changed.set()
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_loop(), name="queuert redis subscription reader")

    # --- the reader -----------------------------------------------------------------------

    async def _read_loop(self) -> None:
        delay = _BACKOFF_START_S
        while self._handlers or self._subscribed:
            self._changed.clear()
            try:
                if self._pubsub is None:
                    self._pubsub = await self._new_pubsub()
                pubsub = self._pubsub
                await self._sync(pubsub)
                message = await self._next_message(pubsub)
            except CONNECTION_ERRORS as error:
                self._connection_lost(error)
                if not self._handlers:
                    # Nobody listens: no reason to reconnect just to unsubscribe.
                    self._forget_subscriptions()
                    break
                await asyncio.sleep(delay)
                delay = min(delay * 2, _BACKOFF_CAP_S)
                try:
                    await self._after_connection_error()
                except CONNECTION_ERRORS as next_error:
                    _logger.debug("queuert redis: could not move the subscription yet: %s", next_error)
                continue
            except Exception:
                # An unexpected reply must not end the subscriptions of every listener.
                _logger.exception("queuert redis: unexpected error on the subscription connection")
                await asyncio.sleep(delay)
                delay = min(delay * 2, _BACKOFF_CAP_S)
                continue
            delay = _BACKOFF_START_S
            if self._down is not None:
                self._down = None
                _logger.info("queuert redis: subscription connection re-established; channels re-subscribed")
            if message is not None:
                self._handle(message)
        # Nothing wanted any more: the state of a connection nobody reads is unknown.
        self._down = None

    async def _sync(self, pubsub: PubSub) -> None:
        """Send SUBSCRIBE / UNSUBSCRIBE for the channels wanted or dropped since the last call."""
        added = [channel for channel in self._handlers if channel not in self._subscribed]
        if added:
            await self._bounded(pubsub.subscribe(*added))
            self._subscribed.update(added)
        removed = [channel for channel in self._subscribed if channel not in self._handlers]
        if removed:
            self._subscribed.difference_update(removed)
            self._confirmed.difference_update(removed)
            # Forget them now rather than at the server's confirmation, so that a reconnect
            # in between does not subscribe them again.
            self._forget(pubsub, removed)
            await self._bounded(pubsub.unsubscribe(*removed))

    @staticmethod
    def _forget(pubsub: PubSub, channels: list[str]) -> None:
        for channel in channels:
            for key in (channel, channel.encode()):
                pubsub.channels.pop(key, None)
                pubsub.pending_unsubscribe_channels.discard(key)

    def _forget_subscriptions(self) -> None:
        if self._pubsub is not None:
            self._forget(self._pubsub, list(self._subscribed))
        self._subscribed.clear()
        self._confirmed.clear()

    async def _next_message(self, pubsub: PubSub) -> dict[str, Any] | None:
        """The next message, or `None` after a quiet second or as soon as the wanted channels change."""
        if self._changed.is_set():
            return None
        if pubsub.connection is None:
            # Only after a failed move to another cluster node.
            raise RedisConnectionError("the subscription connection is not established")
        read = asyncio.ensure_future(pubsub.get_message(timeout=_READ_TIMEOUT_S))
        # If this task is cancelled (close), nobody awaits the read: retrieve its outcome anyway.
        read.add_done_callback(_retrieve)
        changed = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait((read, changed), return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()
            # Interrupting a read is safe: redis-py's parser keeps what it read and resumes.
            read.cancel()
        (result,) = await asyncio.gather(read, return_exceptions=True)
        if isinstance(result, asyncio.CancelledError):
            return None
        if isinstance(result, BaseException):
            raise result
        message: dict[str, Any] | None = result
        return message

    def _connection_lost(self, error: BaseException) -> None:
        if self._down is None:
            _logger.warning(
                "queuert redis: subscription connection lost (%s: %s); reconnecting with backoff, "
                "workers keep polling meanwhile",
                type(error).__name__,
                error,
            )
        self._down = error
        self._confirmed.clear()
        # Subscribers still waiting for a confirmation get the error now rather than a timeout.
        for confirmation in self._confirmations.values():
            if not confirmation.done():
                confirmation.set_exception(RedisConnectionError(f"the subscription connection was lost ({error})"))
        self._confirmations.clear()

    def _handle(self, message: dict[str, Any]) -> None:
        kind = _text(message.get("type"))
        channel = _text(message.get("channel"))
        if kind == "subscribe":
            if channel in self._subscribed:
                self._confirmed.add(channel)
            confirmation = self._confirmations.pop(channel, None)
            if confirmation is not None and not confirmation.done():
                confirmation.set_result(None)
        elif kind == "message":
            data = _text(message.get("data"))
            for handler in tuple(self._handlers.get(channel, ())):
                try:
                    handler.callback(data)
                except Exception:
                    _logger.exception(
                        "queuert redis: a message handler for %r raised; other handlers still run", channel
                    )

    # --- lifecycle ------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop the reader and close the subscription connection. Idempotent; the application's clients stay open."""
        if self._closed:
            return
        self._closed = True
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        for confirmation in self._confirmations.values():
            confirmation.cancel()
        self._confirmations.clear()
        self._handlers.clear()
        self._subscribed.clear()
        self._confirmed.clear()
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await self._bounded(pubsub.aclose())  # type: ignore[no-untyped-call]


class RedisPubSubProvider(_PubSubProvider):
    """A `RedisNotifyProvider` over a standalone `redis.asyncio.Redis`.

    Commands (`PUBLISH`, `EVALSHA`/`EVAL`) run on `client`. Subscriptions share one
    connection taken from `subscriber` (default: `client`'s pool), read by one background
    task that dispatches each message to its channel's handlers.

    Resilience: a lost subscription connection is logged and re-established with backoff
    (100 ms doubling to 5 s), and every channel is subscribed again; messages published
    meanwhile are lost (they are only hints). Every command is bounded by `timeout_ms`, so
    an unreachable server never stalls the caller for longer, and for a second after a
    command failed for want of a connection, commands fail at once.

    The provider never closes `client` or `subscriber`. `close()` stops the reader and
    releases the subscription connection; afterwards `publish`, `eval` and `subscribe`
    raise `RuntimeError`.

    Args:
        client: Runs the commands. Works with `decode_responses` on or off.
        subscriber: Another client to take the subscription connection from. Defaults
            to `client`.
        timeout_ms: Bound on each command and on waiting for a `SUBSCRIBE` confirmation;
            `None` leaves it to the client's own timeouts.
    """

    def __init__(self, client: Redis, subscriber: Redis | None = None, *, timeout_ms: float | None = 2_000) -> None:
        super().__init__(timeout_ms=timeout_ms)
        self._client = client
        self._subscriber = subscriber if subscriber is not None else client

    def _commands(self) -> Any:
        return self._client

    async def _new_pubsub(self) -> PubSub:
        return self._subscriber.pubsub()


class RedisClusterPubSubProvider(_PubSubProvider):
    """A `RedisNotifyProvider` over `redis.asyncio.cluster.RedisCluster`, with classic (not sharded) pub/sub.

    * `PUBLISH` goes through the cluster client; Redis Cluster broadcasts classic messages
      over the cluster bus, so a subscriber on any node receives every channel.
    * Each script touches one key, so `EVALSHA`/`EVAL` is routed to that key's node.
    * The subscription connection is a `ClusterPubSub` pinned to one node (primary or
      replica, picked at random). When that connection fails, the provider moves it to the next node the
      cluster client knows and subscribes every channel there, with the same backoff as
      the standalone provider. Messages published during the move are lost.

    Sharded pub/sub (`SSUBSCRIBE`) is deliberately not used: it would change who receives
    what, and other queuert implementations sharing the channels use classic pub/sub.

    Needs redis-py 8 or later (the first with pub/sub on the asyncio cluster client).

    Args:
        cluster: The application's cluster client; the provider never closes it.
        timeout_ms: Bound on each command and on waiting for a `SUBSCRIBE` confirmation.
    """

    def __init__(self, cluster: RedisCluster, *, timeout_ms: float | None = 2_000) -> None:
        if not hasattr(cluster, "pubsub"):
            raise RuntimeError(
                "RedisClusterPubSubProvider needs pub/sub on redis.asyncio.cluster.RedisCluster, "
                "which redis-py provides from version 8: pip install 'redis>=8'"
            )
        super().__init__(timeout_ms=timeout_ms)
        self._cluster = cluster
        self._node: ClusterNode | None = None

    @property
    def node(self) -> str | None:
        """`host:port` of the node holding the subscription connection, if one was opened."""
        return None if self._node is None else self._node.name

    def _commands(self) -> Any:
        return self._cluster

    async def _new_pubsub(self) -> PubSub:
        await self._bounded(self._cluster.initialize())
        self._node = self._next_node()
        return self._cluster.pubsub(node=self._node)

    def _next_node(self) -> ClusterNode:
        nodes = sorted(self._cluster.get_nodes(), key=lambda node: node.name)
        if not nodes:
            raise RedisConnectionError("the Redis cluster client knows no node")
        if self._node is None:
            # Processes pick different nodes, spreading the subscription connections.
            return random.choice(nodes)
        names = [node.name for node in nodes]
        index = names.index(self._node.name) + 1 if self._node.name in names else 0
        return nodes[index % len(nodes)]

    async def _after_connection_error(self) -> None:
        # Classic pub/sub reaches every node, so rather than wait for the failed node to
        # come back, move the subscription to the next one; the reader then subscribes
        # every channel there.
        if self._closed or not self._handlers:
            return
        old = self._pubsub
        self._node = self._next_node()
        self._pubsub = self._cluster.pubsub(node=self._node)
        self._subscribed.clear()
        self._confirmed.clear()
        _logger.info("queuert redis: moving the subscription connection to cluster node %s", self._node.name)
        if old is not None:
            with contextlib.suppress(Exception):
                await self._bounded(old.aclose())  # type: ignore[no-untyped-call]
