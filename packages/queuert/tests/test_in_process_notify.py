"""The in-process and no-op notify adapters: the notify conformance suite, plus what only they promise.

The contract itself (conformance.md section 3) lives in `queuert.conformance`; the in-process
adapter runs it here. The tests below pin what the contract leaves open for this adapter:
synchronous dispatch, an exact wake budget with a 60 s lifetime, and logging of raising
callbacks.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from queuert import AdapterClosedError, NoopNotifyAdapter, create_in_process_notify_adapter
from queuert._in_process import _notify
from queuert.conformance import NotifyConformanceFixture
from queuert.conformance.pytest import NotifyAdapterConformance

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from queuert.adapters import NotifyAdapter

TIMEOUT = 2.0


class TestInProcessNotifyAdapter(NotifyAdapterConformance):
    @pytest_asyncio.fixture
    async def notify_conformance_fixture(self) -> AsyncIterator[NotifyConformanceFixture]:
        adapter = await create_in_process_notify_adapter()
        yield NotifyConformanceFixture(notify_adapter=adapter)
        await adapter.close()


@pytest.fixture
async def notify_adapter() -> AsyncIterator[NotifyAdapter]:
    adapter = await create_in_process_notify_adapter()
    yield adapter
    await adapter.close()


def _counter() -> tuple[list[str], Callable[[str], None]]:
    calls: list[str] = []
    return calls, calls.append


def _zero_arg_counter() -> tuple[list[None], Callable[[], None]]:
    calls: list[None] = []
    return calls, lambda: calls.append(None)


async def test_dispatch_is_synchronous_at_publish_time(notify_adapter: NotifyAdapter) -> None:
    calls, callback = _counter()
    await notify_adapter.listen_job_scheduled(["type-a"], callback)
    await notify_adapter.notify_job_scheduled("type-a")
    assert calls == ["type-a"]


async def test_multi_type_listener_receives_each_matching_type(notify_adapter: NotifyAdapter) -> None:
    calls, callback = _counter()
    await notify_adapter.listen_job_scheduled(["type-a", "type-b", "type-a"], callback)
    await notify_adapter.notify_job_scheduled("type-b")
    await notify_adapter.notify_job_scheduled("type-a")
    await notify_adapter.notify_job_scheduled("type-c")
    assert calls == ["type-b", "type-a"]


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
