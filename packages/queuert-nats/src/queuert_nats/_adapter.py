"""The NATS notify adapter: core-NATS subjects for hints, a JetStream key-value bucket for wake budgets."""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import re
from typing import TYPE_CHECKING

from nats.errors import (
    BadSubscriptionError,
    ConnectionClosedError,
    ConnectionDrainingError,
    ConnectionReconnectingError,
    FlushTimeoutError,
    NoRespondersError,
    OutboundBufferLimitError,
    StaleConnectionError,
)
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, ServiceUnavailableError

from queuert.adapters import NotifyAdapter, NotifyChannels, Unsubscribe
from queuert.errors import AdapterClosedError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.aio.subscription import Subscription
    from nats.js.kv import KeyValue

__all__ = ("NatsNotifyAdapter", "create_nats_notify_adapter")

_logger = logging.getLogger("queuert.nats")

_ADAPTER_NAME = "NatsNotifyAdapter"
_CAS_ATTEMPTS = 5
_KEY_PATTERN = re.compile(r"^[-/_=.a-zA-Z0-9]+$")
"""What nats-py accepts as a key-value key (and a JetStream subject token can carry)."""

_UNREACHABLE: tuple[type[BaseException], ...] = (
    TimeoutError,  # nats-py's TimeoutError (and FlushTimeoutError) derive from it, as do our own bounds
    OSError,
    ConnectionClosedError,
    ConnectionDrainingError,
    ConnectionReconnectingError,
    NoRespondersError,
    OutboundBufferLimitError,
    StaleConnectionError,
    ServiceUnavailableError,
)
"""What a lost or unreachable server (or JetStream) raises through nats-py."""


def _is_valid_key(key: str) -> bool:
    # Dots separate subject tokens, so none may be empty.
    return bool(_KEY_PATTERN.match(key)) and not key.startswith(".") and not key.endswith(".") and ".." not in key


def _check_subject_prefix(prefix: object) -> str:
    if not isinstance(prefix, str) or not prefix:
        raise ValueError(f"Invalid subject_prefix {prefix!r}: it must be a non-empty string")
    for token in prefix.split("."):
        if not token or any(char.isspace() or char in "*>" for char in token):
            raise ValueError(
                f"Invalid subject_prefix {prefix!r}: it must be dot-separated non-empty subject tokens "
                "without spaces, '*' or '>'"
            )
    return prefix


async def _unsubscribe(unsubscribe: Callable[[], Awaitable[None]]) -> None:
    try:
        await unsubscribe()
    except (ConnectionClosedError, BadSubscriptionError) as error:
        # A closed connection has no subscription left to remove.
        _logger.debug("queuert nats: unsubscribe skipped (%s)", error)


class _Barrier:
    """Waits until the server has handled every command this connection queued before the call.

    nats-py's `flush()` cannot prove that: it writes its PING straight to the socket, ahead
    of the SUB and PUB commands still queued for its flusher task (nats-py 2.16), so its PONG
    may come back before the server has seen them. A listener would then be reported active
    while its SUB is still on the way, and a message published meanwhile from another
    connection would be lost (seen in CI, about 1 run in 1,500 under load). A message sent to
    a private inbox goes through the same queue after those commands, and the server handles
    one connection's commands in order, so its echo is the proof.
    """

    def __init__(self, nc: Client) -> None:
        self._nc = nc
        self._inbox = nc.new_inbox()
        self._tokens = itertools.count()
        self._waiting: dict[bytes, asyncio.Future[None]] = {}
        self._subscription: Subscription | None = None

    async def open(self) -> None:
        # Queued ahead of every echo request, so the server has it before the first one.
        self._subscription = await self._nc.subscribe(self._inbox, cb=self._on_echo)

    async def _on_echo(self, msg: Msg) -> None:
        waiter = self._waiting.get(msg.data)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, timeout_s: float) -> None:
        """Return once the server has handled everything queued so far.

        Raises:
            FlushTimeoutError: No echo within `timeout_s` (the connection is slow or gone).
        """
        token = str(next(self._tokens)).encode()
        waiter = self._waiting[token] = asyncio.get_running_loop().create_future()
        try:
            await self._nc.publish(self._inbox, token)
            async with asyncio.timeout(timeout_s):
                await waiter
        except TimeoutError:
            raise FlushTimeoutError from None
        finally:
            del self._waiting[token]

    async def close(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            await _unsubscribe(subscription.unsubscribe)


class NatsNotifyAdapter(NotifyAdapter):
    """Wakes workers and chain waiters over core NATS. Build it with `create_nats_notify_adapter`.

    Subjects (payload: the UTF-8 bytes of a bare string, in the message body):

    | subject | payload |
    | --- | --- |
    | `{prefix}.sched` | a job type name: jobs of that type became pending |
    | `{prefix}.chainc` | a chain id: the chain completed |
    | `{prefix}.owls` | a job id: its worker lost ownership |

    Each subject has at most one NATS subscription however many listeners the process has;
    messages are routed to listeners in the process. A notify call returns once the server
    has handled the message, and a `listen_*` call once the server has the subscription (or
    they raise): both wait for the echo of a message sent after them to a private inbox,
    because nats-py's `flush()` can return before the server has what was queued ahead of it.

    Wake hints need a JetStream key-value bucket (`kv`), created by the application with a
    60 s TTL. Budgets are integers under `{prefix}_hint_{type}` (or
    `{prefix}_hint_b64_{base64url(type)}` for a type name that is not a valid key), changed
    by compare-and-set on the entry's revision. Without a bucket, `provide_wake_hint` does
    nothing and `consume_wake_hint` always returns `True`. When NATS cannot be reached,
    `consume_wake_hint` logs and returns `True`.

    Reconnecting and re-subscribing are nats-py's job; the adapter never closes or drains
    the connection or the bucket. After `close()`, every method except `close()` raises
    `AdapterClosedError`; unsubscribes returned earlier stay safe to call.
    """

    def __init__(self, *, nc: Client, kv: KeyValue | None, subject_prefix: str, timeout_ms: float) -> None:
        self._nc = nc
        self._kv = kv
        self._prefix = subject_prefix
        self._timeout_s = timeout_ms / 1000
        self._barrier = _Barrier(nc)
        self._closed = False
        self._subjects = NotifyChannels(subject_prefix, separator=".", subscribe=self._subscribe, label="nats")

    @property
    def subject_prefix(self) -> str:
        """The prefix of every subject and hint key."""
        return self._prefix

    @property
    def kv(self) -> KeyValue | None:
        """The key-value bucket holding wake budgets, if any."""
        return self._kv

    def hint_key(self, type_name: str) -> str:
        """The key-value key holding the wake budget of `type_name`.

        `{prefix}_hint_{type_name}` when that is a valid key (compatible with upstream
        queuert); otherwise `{prefix}_hint_b64_` followed by the unpadded base64url of
        the UTF-8 type name, which only uses valid characters.
        """
        key = f"{self._prefix}_hint_{type_name}"
        if _is_valid_key(key):
            return key
        encoded = base64.urlsafe_b64encode(type_name.encode()).decode().rstrip("=")
        return f"{self._prefix}_hint_b64_{encoded}"

    # --- publishing and listening -------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise AdapterClosedError(adapter=_ADAPTER_NAME)

    async def _publish(self, subject: str, text: str) -> None:
        self._check_open()
        # While reconnecting, nats-py would buffer the message and its flush would return at
        # once: report the lost hint instead (the core logs it; workers poll meanwhile).
        self._check_connection()
        await self._nc.publish(subject, text.encode())
        # "Returned" then means "the server has it"; a connection that dies now raises here
        # (bounded) instead of the message waiting silently in nats-py's buffer.
        await self._barrier.wait(self._timeout_s)

    def _check_connection(self) -> None:
        # Fail at once rather than wait for a timeout. Subscriptions made before an outage
        # are restored by nats-py itself when it reconnects.
        if self._nc.is_closed:
            raise ConnectionClosedError
        if self._nc.is_draining:
            raise ConnectionDrainingError
        if not self._nc.is_connected:
            raise ConnectionReconnectingError

    async def _subscribe(self, subject: str, on_message: Callable[[str], None]) -> Callable[[], Awaitable[None]]:
        async def handler(msg: Msg) -> None:
            on_message(msg.data.decode("utf-8", errors="replace"))

        self._check_connection()
        subscription = await self._nc.subscribe(subject, cb=handler)
        try:
            # Active once the server has processed SUB, for publishers on other connections too.
            await self._barrier.wait(self._timeout_s)
        except BaseException:
            await _unsubscribe(subscription.unsubscribe)
            raise

        async def teardown() -> None:
            await _unsubscribe(subscription.unsubscribe)

        return teardown

    async def notify_job_scheduled(self, type_name: str) -> None:
        """Publish the type name on `{prefix}.sched` and flush."""
        await self._publish(self._subjects.job_scheduled, type_name)

    async def listen_job_scheduled(
        self, type_names: Sequence[str], on_notification: Callable[[str], None]
    ) -> Unsubscribe:
        """Call `on_notification(type_name)` for each scheduled-job hint of these types; active on return."""
        self._check_open()
        self._check_connection()
        return await self._subjects.listen_job_scheduled(type_names, on_notification)

    async def notify_chain_completed(self, chain_id: str) -> None:
        """Publish the chain id on `{prefix}.chainc` and flush."""
        await self._publish(self._subjects.chain_completed, chain_id)

    async def listen_chain_completed(self, chain_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        """Call `on_notification()` when `chain_id` is reported completed; active on return."""
        self._check_open()
        self._check_connection()
        return await self._subjects.listen_chain_completed(chain_id, on_notification)

    async def notify_job_ownership_lost(self, job_id: str) -> None:
        """Publish the job id on `{prefix}.owls` and flush."""
        await self._publish(self._subjects.job_ownership_lost, job_id)

    async def listen_job_ownership_lost(self, job_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        """Call `on_notification()` when `job_id` is reported taken away; active on return."""
        self._check_open()
        self._check_connection()
        return await self._subjects.listen_job_ownership_lost(job_id, on_notification)

    # --- wake hints ---------------------------------------------------------------------------

    async def provide_wake_hint(self, type_name: str, count: int) -> None:
        """Add `count` to the type's wake budget by compare-and-set; a count below 1, or no bucket, does nothing.

        Gives up silently after 5 conflicting writers in a row (the budget is then short,
        and listeners beyond it wake anyway once it expires). Raises when NATS cannot be
        reached (the client logs it and still publishes the notification).
        """
        self._check_open()
        kv = self._kv
        if kv is None or count < 1:
            return
        self._check_connection()
        key = self.hint_key(type_name)
        async with asyncio.timeout(self._timeout_s):
            for _ in range(_CAS_ATTEMPTS):
                try:
                    entry = await kv.get(key)
                except KeyNotFoundError:
                    entry = None
                try:
                    if entry is None:
                        await kv.create(key, str(count).encode())
                    else:
                        await kv.update(key, str(_budget(entry.value) + count).encode(), last=entry.revision)
                except KeyWrongLastSequenceError:
                    continue
                return
        _logger.debug("queuert nats: gave up providing a wake hint for %r after %d conflicts", type_name, _CAS_ATTEMPTS)

    async def consume_wake_hint(self, type_name: str) -> bool:
        """Claim one unit of the type's wake budget by compare-and-set.

        Returns `False` when a budget is tracked and used up, or after 5 conflicting
        claims in a row (other workers won the slots). Returns `True` when a unit was
        claimed, when no budget is tracked (no bucket, never provided, or expired), and
        when NATS cannot be reached (logged as a warning).
        """
        self._check_open()
        kv = self._kv
        if kv is None:
            return True
        key = self.hint_key(type_name)
        try:
            self._check_connection()
            async with asyncio.timeout(self._timeout_s):
                for _ in range(_CAS_ATTEMPTS):
                    try:
                        entry = await kv.get(key)
                    except KeyNotFoundError:
                        return True
                    budget = _budget(entry.value)
                    if budget <= 0:
                        return False
                    try:
                        await kv.update(key, str(budget - 1).encode(), last=entry.revision)
                    except KeyWrongLastSequenceError:
                        continue
                    return True
        except _UNREACHABLE as error:
            _logger.warning(
                "queuert nats: cannot reach NATS to claim a wake hint for %r (%s: %s); waking anyway",
                type_name,
                type(error).__name__,
                error,
            )
            return True
        return False

    async def close(self) -> None:
        """Unsubscribe every subscription of the adapter. Idempotent; the connection and the bucket stay open."""
        if self._closed:
            return
        self._closed = True
        for error in await self._subjects.dispose():
            _logger.debug("queuert nats: a subscription teardown failed at close: %s", error)
        await self._barrier.close()


def _budget(value: bytes | None) -> int:
    try:
        return int(value or b"0")
    except ValueError:
        return 0


async def create_nats_notify_adapter(
    *, nc: Client, kv: KeyValue | None = None, subject_prefix: str = "queuert", timeout_ms: float = 2_000
) -> NatsNotifyAdapter:
    """Create a notify adapter over a connected nats-py client.

    Args:
        nc: The application's connection (`await nats.connect(...)`); for long-running
            workers connect with `max_reconnect_attempts=-1` so it never gives up.
        kv: A JetStream key-value bucket for wake hints, created with a 60 s TTL, e.g.
            `await nc.jetstream().create_key_value(bucket="queuert_hints", ttl=60)`.
            Without it every notified worker wakes.
        subject_prefix: Prefix of the three subjects (`{prefix}.sched`, ...) and of the
            hint keys; dots are fine.
        timeout_ms: Bound on each wait for the server (after a publish or a subscribe) and
            on each wake-hint operation, so a call never hangs on a dead server.

    Raises:
        ValueError: `subject_prefix` is not valid subject tokens, is not a valid key-value
            key fragment while `kv` is given, `timeout_ms` is not positive, or `nc` was
            connected with `no_echo=True`.
        nats.errors.ConnectionClosedError: `nc` is closed (`ConnectionDrainingError`: it
            is draining).
    """
    prefix = _check_subject_prefix(subject_prefix)
    if kv is not None and not _is_valid_key(f"{prefix}_hint_"):
        raise ValueError(
            f"Invalid subject_prefix {prefix!r} for wake hints: key-value keys only allow letters, digits and -/_=."
        )
    if not timeout_ms > 0:
        raise ValueError(f"timeout_ms must be > 0, got {timeout_ms!r}")
    if nc.options.get("no_echo"):
        # The listeners of a process must hear what the same process publishes (a worker and
        # an await_chain side by side), and the adapter's own confirmations are echoes.
        raise ValueError("the NATS connection was made with no_echo=True; the notify adapter needs echo")
    adapter = NatsNotifyAdapter(nc=nc, kv=kv, subject_prefix=prefix, timeout_ms=timeout_ms)
    await adapter._barrier.open()
    return adapter
