"""Built-in notify hooks: hints are published only after flush, aggregated, and best effort."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from queuert._notify_adapter import NotifyAdapter, Unsubscribe
from queuert._notify_hooks import buffer_chain_completed, buffer_job_ownership_lost, buffer_job_scheduled
from queuert._transaction_hooks import create_transaction_hooks, transaction_hooks

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

TIMEOUT = 2.0


class RecordingNotifyAdapter(NotifyAdapter):
    """Records every publish; `fail` names the operations (or `operation:argument`) that raise."""

    def __init__(self, *, fail: Sequence[str] = ()) -> None:
        self.published: list[tuple[str, object]] = []
        self.fail = set(fail)

    def _publish(self, operation: str, argument: object) -> None:
        if operation in self.fail or f"{operation}:{argument}" in self.fail:
            raise ConnectionError(f"{operation} failed")
        self.published.append((operation, argument))

    async def notify_job_scheduled(self, type_name: str) -> None:
        self._publish("notify_job_scheduled", type_name)

    async def listen_job_scheduled(
        self, type_names: Sequence[str], on_notification: Callable[[str], None]
    ) -> Unsubscribe:
        raise NotImplementedError

    async def provide_wake_hint(self, type_name: str, count: int) -> None:
        self._publish("provide_wake_hint", (type_name, count))

    async def consume_wake_hint(self, type_name: str) -> bool:
        raise NotImplementedError

    async def notify_chain_completed(self, chain_id: str) -> None:
        self._publish("notify_chain_completed", chain_id)

    async def listen_chain_completed(self, chain_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        raise NotImplementedError

    async def notify_job_ownership_lost(self, job_id: str) -> None:
        self._publish("notify_job_ownership_lost", job_id)

    async def listen_job_ownership_lost(self, job_id: str, on_notification: Callable[[], None]) -> Unsubscribe:
        raise NotImplementedError

    async def close(self) -> None:
        return None


async def test_job_scheduled_counts_add_up_per_type_and_publish_after_flush() -> None:
    notify = RecordingNotifyAdapter()

    async with transaction_hooks() as hooks:
        buffer_job_scheduled(hooks, notify, "a")
        buffer_job_scheduled(hooks, notify, "b")
        buffer_job_scheduled(hooks, notify, "a", count=2)
        assert notify.published == []

    assert sorted(notify.published, key=str) == sorted(
        [
            ("provide_wake_hint", ("a", 3)),
            ("notify_job_scheduled", "a"),
            ("provide_wake_hint", ("b", 1)),
            ("notify_job_scheduled", "b"),
        ],
        key=str,
    )
    for type_name in ("a", "b"):
        hint = notify.published.index(("provide_wake_hint", (type_name, 3 if type_name == "a" else 1)))
        assert hint < notify.published.index(("notify_job_scheduled", type_name))


async def test_nothing_is_published_on_discard() -> None:
    notify = RecordingNotifyAdapter()
    handle = create_transaction_hooks()
    buffer_job_scheduled(handle.hooks, notify, "a")
    buffer_chain_completed(handle.hooks, notify, "c1")
    buffer_job_ownership_lost(handle.hooks, notify, "j1")

    await handle.discard()

    assert notify.published == []


async def test_publish_errors_are_swallowed_per_type() -> None:
    notify = RecordingNotifyAdapter(fail=["notify_job_scheduled:a", "provide_wake_hint"])

    async with transaction_hooks() as hooks:
        buffer_job_scheduled(hooks, notify, "a")
        buffer_job_scheduled(hooks, notify, "b")

    # A failed hint does not stop the notification (listeners then wake without a budget).
    assert notify.published == [("notify_job_scheduled", "b")]


async def test_types_are_published_concurrently() -> None:
    a_started, b_started = asyncio.Event(), asyncio.Event()

    class SlowNotifyAdapter(RecordingNotifyAdapter):
        async def notify_job_scheduled(self, type_name: str) -> None:
            mine, other = (a_started, b_started) if type_name == "a" else (b_started, a_started)
            mine.set()
            # Completes only if the other type's publish runs meanwhile.
            await asyncio.wait_for(other.wait(), TIMEOUT)
            await super().notify_job_scheduled(type_name)

    notify = SlowNotifyAdapter()
    async with transaction_hooks() as hooks:
        buffer_job_scheduled(hooks, notify, "a")
        buffer_job_scheduled(hooks, notify, "b")

    assert sorted(str(arg) for op, arg in notify.published if op == "notify_job_scheduled") == ["a", "b"]


async def test_chain_completed_and_ownership_lost_publish_each_id_once() -> None:
    notify = RecordingNotifyAdapter(fail=["notify_chain_completed:c2"])

    async with transaction_hooks() as hooks:
        buffer_chain_completed(hooks, notify, "c1")
        buffer_chain_completed(hooks, notify, "c1")
        buffer_chain_completed(hooks, notify, "c2")
        buffer_job_ownership_lost(hooks, notify, "j1")
        buffer_job_ownership_lost(hooks, notify, "j1")

    assert sorted(notify.published) == [("notify_chain_completed", "c1"), ("notify_job_ownership_lost", "j1")]


async def test_savepoint_rollback_withdraws_hints_buffered_since() -> None:
    notify = RecordingNotifyAdapter()
    handle = create_transaction_hooks()
    hooks = handle.hooks
    buffer_job_scheduled(hooks, notify, "a")
    buffer_chain_completed(hooks, notify, "c1")

    savepoint = hooks.create_savepoint()
    buffer_job_scheduled(hooks, notify, "a")
    buffer_job_scheduled(hooks, notify, "b")
    buffer_chain_completed(hooks, notify, "c2")
    buffer_job_ownership_lost(hooks, notify, "j1")
    await savepoint.rollback()

    await handle.flush()

    assert sorted(notify.published, key=str) == sorted(
        [("provide_wake_hint", ("a", 1)), ("notify_job_scheduled", "a"), ("notify_chain_completed", "c1")], key=str
    )


async def test_each_notify_adapter_gets_its_own_hints() -> None:
    first, second = RecordingNotifyAdapter(), RecordingNotifyAdapter()

    async with transaction_hooks() as hooks:
        buffer_job_scheduled(hooks, first, "a")
        buffer_job_scheduled(hooks, second, "b", count=4)
        buffer_chain_completed(hooks, second, "c1")

    assert first.published == [("provide_wake_hint", ("a", 1)), ("notify_job_scheduled", "a")]
    assert sorted(second.published, key=str) == sorted(
        [("provide_wake_hint", ("b", 4)), ("notify_job_scheduled", "b"), ("notify_chain_completed", "c1")], key=str
    )
