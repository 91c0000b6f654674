"""In-process and no-op notify adapters, against the NotifyAdapter contract (conformance.md §3)."""

from __future__ import annotations

import asyncio
import gc
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from queuert import AdapterClosedError, NoopNotifyAdapter, create_in_process_notify_adapter
from queuert._in_process import _notify
from queuert.adapters import NotifyAdapter

NEGATIVE_DELAY = 0.2
TIMEOUT = 2.0


@pytest.fixture
async def notify_adapter() -> AsyncIterator[NotifyAdapter]:
    adapter = await create_in_process_notify_adapter()
    yield adapter
    await adapter.close()


async def _poll(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(TIMEOUT):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.005)


def _counter() -> tuple[list[str], Callable[[str], None]]:
    calls: list[str] = []
    return calls, calls.append


def _zero_arg_counter() -> tuple[list[None], Callable[[], None]]:
    calls: list[None] = []
    return calls, lambda: calls.append(None)


# --- job scheduled ----------------------------------------------------------------------


async def test_listener_receives_matching_type_name(notify_adapter: NotifyAdapter) -> None:
    calls, callback = _counter()
    unsubscribe = await notify_adapter.listen_job_scheduled(["type-a"], callback)
    await notify_adapter.notify_job_scheduled("type-a")
    await _poll(lambda: calls == ["type-a"])
    await unsubscribe()


async def test_dispatch_is_synchronous_at_publish_time(notify_adapter: NotifyAdapter) -> None:
    calls, callback = _counter()
    await notify_adapter.listen_job_scheduled(["type-a"], callback)
    await notify_adapter.notify_job_scheduled("type-a")
    assert calls == ["type-a"]


async def test_multiple_notifications_all_reach_the_listener(notify_adapter: NotifyAdapter) -> None:
    calls, callback = _counter()
    await notify_adapter.listen_job_scheduled(["type-a"], callback)
    for _ in range(3):
        await notify_adapter.notify_job_scheduled("type-a")
    await _poll(lambda: len(calls) == 3)


async def test_listener_ignores_other_type_names(notify_adapter: NotifyAdapter) -> None:
    calls, callback = _counter()
    await notify_adapter.listen_job_scheduled(["type-a"], callback)
    await notify_adapter.notify_job_scheduled("type-b")
    await asyncio.sleep(NEGATIVE_DELAY)
    assert calls == []


async def test_multi_type_listener_receives_each_matching_type(notify_adapter: NotifyAdapter) -> None:
    calls, callback = _counter()
    await notify_adapter.listen_job_scheduled(["type-a", "type-b", "type-a"], callback)
    await notify_adapter.notify_job_scheduled("type-b")
    await notify_adapter.notify_job_scheduled("type-a")
    await notify_adapter.notify_job_scheduled("type-c")
    assert calls == ["type-b", "type-a"]


async def test_unsubscribe_stops_job_scheduled_notifications(notify_adapter: NotifyAdapter) -> None:
    calls, callback = _counter()
    unsubscribe = await notify_adapter.listen_job_scheduled(["type-a", "type-b"], callback)
    await unsubscribe()
    await notify_adapter.notify_job_scheduled("type-a")
    await notify_adapter.notify_job_scheduled("type-b")
    await asyncio.sleep(NEGATIVE_DELAY)
    assert calls == []


async def test_publish_without_listeners_does_not_error(notify_adapter: NotifyAdapter) -> None:
    await notify_adapter.notify_job_scheduled("nobody")
    await notify_adapter.notify_chain_completed("chain-nobody")
    await notify_adapter.notify_job_ownership_lost("job-nobody")


# --- wake hints -------------------------------------------------------------------------


async def test_consume_wake_hint_without_budget_returns_true(notify_adapter: NotifyAdapter) -> None:
    assert await notify_adapter.consume_wake_hint(f"type-{uuid.uuid4()}") is True


async def test_consume_wake_hint_claims_up_to_the_budget(notify_adapter: NotifyAdapter) -> None:
    await notify_adapter.provide_wake_hint("type-a", 2)
    assert await notify_adapter.consume_wake_hint("type-a") is True
    assert await notify_adapter.consume_wake_hint("type-a") is True
    assert await notify_adapter.consume_wake_hint("type-a") is False
    assert await notify_adapter.consume_wake_hint("type-other") is True


async def test_provide_wake_hint_is_additive(notify_adapter: NotifyAdapter) -> None:
    await notify_adapter.provide_wake_hint("type-a", 2)
    await notify_adapter.provide_wake_hint("type-a", 3)
    results = await asyncio.gather(*(notify_adapter.consume_wake_hint("type-a") for _ in range(6)))
    assert results.count(True) == 5


async def test_non_positive_hint_does_not_create_an_exhausted_budget(notify_adapter: NotifyAdapter) -> None:
    await notify_adapter.provide_wake_hint("type-a", 0)
    assert await notify_adapter.consume_wake_hint("type-a") is True


async def test_expired_budget_degrades_to_waking(
    notify_adapter: NotifyAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 60 s TTL is too long for a unit test; shorten it (the clock is still the real loop clock).
    monkeypatch.setattr(_notify, "_HINT_TTL_S", 0.05)
    await notify_adapter.provide_wake_hint("type-a", 1)
    assert await notify_adapter.consume_wake_hint("type-a") is True
    assert await notify_adapter.consume_wake_hint("type-a") is False
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not await notify_adapter.consume_wake_hint("type-a"):
        assert asyncio.get_running_loop().time() < deadline, "budget never expired"
        await asyncio.sleep(0.01)


async def test_provide_refreshes_the_ttl_and_restarts_an_expired_budget(
    notify_adapter: NotifyAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_notify, "_HINT_TTL_S", 0.05)
    await notify_adapter.provide_wake_hint("type-a", 1)
    await asyncio.sleep(0.08)  # let the first budget's lifetime pass
    # The old unit expired; a new provide starts a fresh budget of exactly the new count.
    await notify_adapter.provide_wake_hint("type-a", 1)
    assert await notify_adapter.consume_wake_hint("type-a") is True
    assert await notify_adapter.consume_wake_hint("type-a") is False


# --- chain completed / ownership lost ---------------------------------------------------

KeyedListen = Callable[[NotifyAdapter, str, Callable[[], None]], Awaitable[Callable[[], Awaitable[None]]]]
KeyedNotify = Callable[[NotifyAdapter, str], Awaitable[None]]

KEYED_CHANNELS: list[Any] = [
    pytest.param(
        lambda a, k, cb: a.listen_chain_completed(k, cb),
        lambda a, k: a.notify_chain_completed(k),
        id="chain_completed",
    ),
    pytest.param(
        lambda a, k, cb: a.listen_job_ownership_lost(k, cb),
        lambda a, k: a.notify_job_ownership_lost(k),
        id="ownership_lost",
    ),
]


@pytest.mark.parametrize(("listen", "notify"), KEYED_CHANNELS)
async def test_keyed_listener_receives_matching_key(
    notify_adapter: NotifyAdapter, listen: KeyedListen, notify: KeyedNotify
) -> None:
    calls, callback = _zero_arg_counter()
    await listen(notify_adapter, "key-123", callback)
    await notify(notify_adapter, "key-123")
    await _poll(lambda: len(calls) == 1)


@pytest.mark.parametrize(("listen", "notify"), KEYED_CHANNELS)
async def test_keyed_listener_ignores_other_keys(
    notify_adapter: NotifyAdapter, listen: KeyedListen, notify: KeyedNotify
) -> None:
    calls, callback = _zero_arg_counter()
    await listen(notify_adapter, "key-123", callback)
    await notify(notify_adapter, "key-456")
    await asyncio.sleep(NEGATIVE_DELAY)
    assert calls == []


@pytest.mark.parametrize(("listen", "notify"), KEYED_CHANNELS)
async def test_keyed_listeners_of_the_same_key_all_receive(
    notify_adapter: NotifyAdapter, listen: KeyedListen, notify: KeyedNotify
) -> None:
    first, first_cb = _zero_arg_counter()
    second, second_cb = _zero_arg_counter()
    await listen(notify_adapter, "key-123", first_cb)
    await listen(notify_adapter, "key-123", second_cb)
    await notify(notify_adapter, "key-123")
    await _poll(lambda: len(first) == 1 and len(second) == 1)


@pytest.mark.parametrize(("listen", "notify"), KEYED_CHANNELS)
async def test_keyed_unsubscribe_stops_notifications(
    notify_adapter: NotifyAdapter, listen: KeyedListen, notify: KeyedNotify
) -> None:
    calls, callback = _zero_arg_counter()
    unsubscribe = await listen(notify_adapter, "key-123", callback)
    await unsubscribe()
    await unsubscribe()  # idempotent
    await notify(notify_adapter, "key-123")
    await asyncio.sleep(NEGATIVE_DELAY)
    assert calls == []


async def test_same_callback_registered_twice_is_called_twice_and_unsubscribed_separately(
    notify_adapter: NotifyAdapter,
) -> None:
    calls, callback = _zero_arg_counter()
    first = await notify_adapter.listen_chain_completed("c", callback)
    await notify_adapter.listen_chain_completed("c", callback)
    await notify_adapter.notify_chain_completed("c")
    assert len(calls) == 2
    await first()
    await notify_adapter.notify_chain_completed("c")
    assert len(calls) == 3


# --- timeliness and cross-cutting -------------------------------------------------------


async def test_notifications_dispatch_during_publish_loop(notify_adapter: NotifyAdapter) -> None:
    received = 0

    def on_completed() -> None:
        nonlocal received
        received += 1

    chain_ids = [f"chain-{i}" for i in range(50)]
    for chain_id in chain_ids:
        await notify_adapter.listen_chain_completed(chain_id, on_completed)
    for chain_id in chain_ids[:25]:
        await notify_adapter.notify_chain_completed(chain_id)
    await asyncio.sleep(0.1)
    mid_loop = received
    for chain_id in chain_ids[25:]:
        await notify_adapter.notify_chain_completed(chain_id)
    await _poll(lambda: received == 50)
    assert mid_loop > 0


async def test_listen_methods_return_async_unsubscribe(notify_adapter: NotifyAdapter) -> None:
    unsubscribes = [
        await notify_adapter.listen_job_scheduled(["t"], lambda _: None),
        await notify_adapter.listen_chain_completed("c", lambda: None),
        await notify_adapter.listen_job_ownership_lost("j", lambda: None),
    ]
    for unsubscribe in unsubscribes:
        assert callable(unsubscribe)
        awaitable = unsubscribe()
        assert asyncio.iscoroutine(awaitable)
        await awaitable


async def test_can_resubscribe_after_unsubscribe(notify_adapter: NotifyAdapter) -> None:
    calls, callback = _counter()
    unsubscribe = await notify_adapter.listen_job_scheduled(["t"], callback)
    await unsubscribe()
    await notify_adapter.listen_job_scheduled(["t"], callback)
    await notify_adapter.notify_job_scheduled("t")
    await _poll(lambda: calls == ["t"])


async def test_unsubscribing_one_of_two_listeners_keeps_the_other(notify_adapter: NotifyAdapter) -> None:
    removed, removed_cb = _counter()
    kept, kept_cb = _counter()
    unsubscribe = await notify_adapter.listen_job_scheduled(["t"], removed_cb)
    await notify_adapter.listen_job_scheduled(["t"], kept_cb)
    await unsubscribe()
    await notify_adapter.notify_job_scheduled("t")
    await _poll(lambda: kept == ["t"])
    await asyncio.sleep(NEGATIVE_DELAY)
    assert removed == []


async def test_raising_callback_does_not_affect_peers_or_publisher(
    notify_adapter: NotifyAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*_: object) -> None:
        raise RuntimeError("listener exploded")

    scheduled, scheduled_cb = _counter()
    completed, completed_cb = _zero_arg_counter()
    lost, lost_cb = _zero_arg_counter()
    await notify_adapter.listen_job_scheduled(["t"], explode)
    await notify_adapter.listen_job_scheduled(["t"], scheduled_cb)
    await notify_adapter.listen_chain_completed("c", explode)
    await notify_adapter.listen_chain_completed("c", completed_cb)
    await notify_adapter.listen_job_ownership_lost("j", explode)
    await notify_adapter.listen_job_ownership_lost("j", lost_cb)
    with caplog.at_level(logging.ERROR, logger="queuert"):
        await notify_adapter.notify_job_scheduled("t")
        await notify_adapter.notify_chain_completed("c")
        await notify_adapter.notify_job_ownership_lost("j")
    assert scheduled == ["t"]
    assert len(completed) == 1
    assert len(lost) == 1
    errors = [r for r in caplog.records if r.name == "queuert" and r.exc_info is not None]
    assert len(errors) == 3


async def test_normal_cycle_produces_no_unhandled_errors(notify_adapter: NotifyAdapter) -> None:
    loop = asyncio.get_running_loop()
    recorded: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: recorded.append(context))
    try:
        unsubscribes = [
            await notify_adapter.listen_job_scheduled(["t"], lambda _: None),
            await notify_adapter.listen_chain_completed("c", lambda: None),
            await notify_adapter.listen_job_ownership_lost("j", lambda: None),
        ]
        await notify_adapter.notify_job_scheduled("t")
        await notify_adapter.notify_chain_completed("c")
        await notify_adapter.notify_job_ownership_lost("j")
        await asyncio.sleep(NEGATIVE_DELAY)
        for unsubscribe in unsubscribes:
            await unsubscribe()
        await asyncio.sleep(NEGATIVE_DELAY)
        gc.collect()
    finally:
        loop.set_exception_handler(previous)
    assert recorded == []


# --- close ------------------------------------------------------------------------------


async def test_close_is_idempotent_rejects_later_calls_and_keeps_old_unsubscribes_safe(
    notify_adapter: NotifyAdapter,
) -> None:
    calls, callback = _counter()
    unsubscribe = await notify_adapter.listen_job_scheduled(["t"], callback)
    await notify_adapter.close()
    await notify_adapter.close()
    await unsubscribe()

    calls_after_close: list[Callable[[], Awaitable[object]]] = [
        lambda: notify_adapter.notify_job_scheduled("t"),
        lambda: notify_adapter.listen_job_scheduled(["t"], callback),
        lambda: notify_adapter.notify_chain_completed("c"),
        lambda: notify_adapter.listen_chain_completed("c", lambda: None),
        lambda: notify_adapter.notify_job_ownership_lost("j"),
        lambda: notify_adapter.listen_job_ownership_lost("j", lambda: None),
        lambda: notify_adapter.provide_wake_hint("t", 1),
        lambda: notify_adapter.consume_wake_hint("t"),
    ]
    for call in calls_after_close:
        with pytest.raises(AdapterClosedError) as info:
            await call()
        assert info.value.adapter == "InProcessNotifyAdapter"
    assert calls == []


async def test_close_drops_listeners() -> None:
    adapter = await create_in_process_notify_adapter()
    calls, callback = _counter()
    await adapter.listen_job_scheduled(["t"], callback)
    await adapter.close()
    fresh = await create_in_process_notify_adapter()
    await fresh.notify_job_scheduled("t")  # adapters are independent
    assert calls == []
    await fresh.close()


async def test_async_context_manager_closes() -> None:
    async with await create_in_process_notify_adapter() as adapter:
        await adapter.notify_job_scheduled("t")
    with pytest.raises(AdapterClosedError):
        await adapter.notify_job_scheduled("t")


# --- no-op adapter ----------------------------------------------------------------------


async def test_noop_adapter_does_nothing_and_always_wakes() -> None:
    adapter = NoopNotifyAdapter()
    calls, callback = _counter()
    unsubscribe = await adapter.listen_job_scheduled(["t"], callback)
    await adapter.notify_job_scheduled("t")
    await adapter.provide_wake_hint("t", 1)
    assert await adapter.consume_wake_hint("t") is True
    assert await adapter.consume_wake_hint("t") is True
    chain_unsubscribe = await adapter.listen_chain_completed("c", lambda: calls.append("c"))
    lost_unsubscribe = await adapter.listen_job_ownership_lost("j", lambda: calls.append("j"))
    await adapter.notify_chain_completed("c")
    await adapter.notify_job_ownership_lost("j")
    for unsub in (unsubscribe, chain_unsubscribe, lost_unsubscribe):
        await unsub()
    await adapter.close()
    await adapter.close()
    await adapter.notify_job_scheduled("t")
    assert calls == []
