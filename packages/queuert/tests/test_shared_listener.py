"""The shared listener: one underlying subscription, multiplexed by key; and the notify channels built on it."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import pytest

from queuert.adapters import Dispatch, NotifyChannels, SharedListener

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


class FakeBroker:
    """Counts opens and teardowns, and delivers messages to whoever subscribed."""

    def __init__(self) -> None:
        self.opens = 0
        self.teardowns = 0
        self.dispatch: Dispatch | None = None
        self.fail_next_open: BaseException | None = None
        self.open_gate: asyncio.Event | None = None

    async def open(self, dispatch: Dispatch) -> Callable[[], Awaitable[None]]:
        if self.open_gate is not None:
            await self.open_gate.wait()
        if self.fail_next_open is not None:
            error, self.fail_next_open = self.fail_next_open, None
            raise error
        self.opens += 1
        self.dispatch = dispatch

        async def teardown() -> None:
            self.teardowns += 1
            self.dispatch = None

        return teardown

    def publish(self, message: str) -> None:
        if self.dispatch is not None:
            self.dispatch(message, message)


async def test_one_subscription_serves_every_key_and_closes_after_the_last() -> None:
    broker = FakeBroker()
    listener = SharedListener(broker.open)
    a: list[str] = []
    b: list[str] = []
    unsubscribe_a = await listener.subscribe("a", a.append)
    unsubscribe_b = await listener.subscribe("b", b.append)
    assert broker.opens == 1
    assert listener.active
    broker.publish("a")
    broker.publish("b")
    broker.publish("c")
    assert (a, b) == (["a"], ["b"])
    await unsubscribe_a()
    assert broker.teardowns == 0
    broker.publish("a")
    assert a == ["a"]
    await unsubscribe_b()
    assert broker.teardowns == 1
    assert not listener.active
    await unsubscribe_b()  # twice is harmless
    assert broker.teardowns == 1
    await listener.subscribe("a", a.append)
    assert broker.opens == 2


async def test_concurrent_first_subscribers_open_once() -> None:
    broker = FakeBroker()
    broker.open_gate = asyncio.Event()
    listener = SharedListener(broker.open)
    tasks = [asyncio.create_task(listener.subscribe(f"k{i}", lambda _m: None)) for i in range(10)]
    await asyncio.sleep(0)
    broker.open_gate.set()
    await asyncio.gather(*tasks)
    assert broker.opens == 1
    assert listener.listener_count == 10


async def test_the_same_callback_twice_is_two_registrations() -> None:
    broker = FakeBroker()
    listener = SharedListener(broker.open)
    got: list[str] = []
    first = await listener.subscribe("k", got.append)
    await listener.subscribe("k", got.append)
    broker.publish("k")
    assert got == ["k", "k"]
    await first()
    broker.publish("k")
    assert got == ["k", "k", "k"]


async def test_a_failed_open_goes_to_its_caller_and_the_next_subscribe_retries() -> None:
    broker = FakeBroker()
    broker.fail_next_open = ConnectionError("down")
    listener = SharedListener(broker.open)
    with pytest.raises(ConnectionError):
        await listener.subscribe("k", lambda _m: None)
    assert not listener.active
    await listener.subscribe("k", lambda _m: None)
    assert broker.opens == 1


async def test_a_raising_callback_does_not_stop_its_peers(caplog: pytest.LogCaptureFixture) -> None:
    broker = FakeBroker()
    listener = SharedListener(broker.open, name="test listener")
    got: list[str] = []

    def bad(_message: str) -> None:
        raise RuntimeError("listener bug")

    await listener.subscribe("k", bad)
    await listener.subscribe("k", got.append)
    with caplog.at_level(logging.ERROR, logger="queuert"):
        broker.publish("k")
    assert got == ["k"]
    assert "test listener" in caplog.text


async def test_dispose_tears_down_regardless_and_old_unsubscribes_stay_safe() -> None:
    broker = FakeBroker()
    listener = SharedListener(broker.open)
    got: list[str] = []
    unsubscribe = await listener.subscribe("k", got.append)
    dispatch = broker.dispatch
    await listener.dispose()
    assert broker.teardowns == 1
    assert dispatch is not None
    dispatch("k", "late")  # a message racing the teardown is dropped
    assert got == []
    await unsubscribe()
    await listener.dispose()
    assert broker.teardowns == 1


async def test_a_callback_that_unsubscribes_during_dispatch_does_not_disturb_it() -> None:
    broker = FakeBroker()
    listener = SharedListener(broker.open)
    got: list[str] = []
    pending: list[asyncio.Task[None]] = []
    unsubscribe: Callable[[], Awaitable[None]] | None = None

    def once(message: str) -> None:
        got.append(message)
        assert unsubscribe is not None
        pending.append(asyncio.ensure_future(unsubscribe()))

    unsubscribe = await listener.subscribe("k", once)
    await listener.subscribe("k", got.append)
    broker.publish("k")
    await asyncio.gather(*pending)
    broker.publish("k")
    assert got == ["k", "k", "k"]


class FakeChannels:
    """A broker with named channels: subscribes one handler per channel, publishes bare strings."""

    def __init__(self) -> None:
        self.handlers: dict[str, Callable[[str], None]] = {}
        self.failing: dict[str, BaseException] = {}

    async def subscribe(self, channel: str, on_message: Callable[[str], None]) -> Callable[[], Awaitable[None]]:
        if channel in self.failing:
            raise self.failing[channel]
        assert channel not in self.handlers, "subscribed twice"
        self.handlers[channel] = on_message

        async def teardown() -> None:
            del self.handlers[channel]

        return teardown

    def publish(self, channel: str, payload: str) -> None:
        handler = self.handlers.get(channel)
        if handler is not None:
            handler(payload)


async def test_notify_channels_route_bare_payloads_by_key_on_the_protocol_channels() -> None:
    broker = FakeChannels()
    channels = NotifyChannels("app", separator=":", subscribe=broker.subscribe)
    assert (channels.job_scheduled, channels.chain_completed, channels.job_ownership_lost) == (
        "app:sched",
        "app:chainc",
        "app:owls",
    )
    scheduled: list[str] = []
    done: list[str] = []
    lost: list[str] = []
    await channels.listen_job_scheduled(["a", "b", "a"], scheduled.append)
    await channels.listen_job_scheduled(["b"], scheduled.append)
    await channels.listen_chain_completed("c1", lambda: done.append("c1"))
    await channels.listen_job_ownership_lost("j1", lambda: lost.append("j1"))
    assert sorted(broker.handlers) == ["app:chainc", "app:owls", "app:sched"], "one subscription per channel"
    for channel, payload in [("app:sched", "a"), ("app:sched", "b"), ("app:sched", "c")]:
        broker.publish(channel, payload)
    broker.publish("app:chainc", "c2")
    broker.publish("app:chainc", "c1")
    broker.publish("app:owls", "j1")
    assert (scheduled, done, lost) == (["a", "b", "b"], ["c1"], ["j1"])


async def test_notify_channels_listen_job_scheduled_is_all_or_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    broker = FakeChannels()
    channels = NotifyChannels("app", separator=".", subscribe=broker.subscribe)
    scheduled = channels.listeners[0]
    unsubscribe = await channels.listen_job_scheduled(["a", "b"], lambda _type_name: None)
    assert scheduled.listener_count == 2
    await unsubscribe()
    assert broker.handlers == {}, "one unsubscribe removes every type; the last one out closes the channel"

    subscribe = scheduled.subscribe

    async def fail_on_b(key: str, callback: Callable[[str], None]) -> Callable[[], Awaitable[None]]:
        if key == "b":
            raise ConnectionError("down")
        return await subscribe(key, callback)

    monkeypatch.setattr(scheduled, "subscribe", fail_on_b)
    with pytest.raises(ConnectionError):
        await channels.listen_job_scheduled(["a", "b"], lambda _type_name: None)
    assert scheduled.listener_count == 0, "the registration made before the failure was undone"
    assert broker.handlers == {}

    broker.failing["app.chainc"] = ConnectionError("refused")
    with pytest.raises(ConnectionError, match="refused"):
        await channels.listen_chain_completed("c", lambda: None)


async def test_notify_channels_dispose_tears_every_channel_down_and_returns_the_failures() -> None:
    broker = FakeChannels()
    channels = NotifyChannels("app", separator="_", subscribe=broker.subscribe)
    await channels.listen_job_scheduled(["t"], lambda _type_name: None)
    await channels.listen_chain_completed("c", lambda: None)
    assert [listener.active for listener in channels.listeners] == [True, True, False]

    async def failing_teardown() -> None:
        raise ConnectionError("gone")

    channels.listeners[1]._teardown = failing_teardown
    errors = await channels.dispose()
    assert [str(error) for error in errors] == ["gone"]
    assert not any(listener.active for listener in channels.listeners)
    assert list(broker.handlers) == ["app_chainc"], "the failed teardown left its handler behind"


async def test_notify_channels_name_their_listeners_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    broker = FakeChannels()
    labelled = NotifyChannels("a", separator=":", subscribe=broker.subscribe, label="redis")
    plain = NotifyChannels("b", separator=":", subscribe=broker.subscribe)

    def bad() -> None:
        raise RuntimeError("listener bug")

    await labelled.listen_chain_completed("c", bad)
    await plain.listen_job_ownership_lost("j", bad)
    with caplog.at_level(logging.ERROR, logger="queuert"):
        broker.publish("a:chainc", "c")
        broker.publish("b:owls", "j")
    assert "queuert redis chain completed listener" in caplog.text
    assert "queuert ownership lost listener" in caplog.text
