"""TransactionHooks: flush after commit, discard on rollback, savepoints, manual mode."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from queuert._transaction_hooks import (
    HookDefinition,
    HookKey,
    TransactionHooks,
    create_transaction_hooks,
    transaction_hooks,
)
from queuert.errors import HookNotRegisteredError

if TYPE_CHECKING:
    from collections.abc import Callable

TIMEOUT = 2.0


class Boom(Exception):
    pass


def recording_hook(events: list[str], name: str, state: list[int] | None = None) -> HookDefinition[list[int]]:
    """A hook over a list whose checkpoint trims the list back to its length at that moment."""

    def checkpoint(items: list[int]) -> Callable[[], None]:
        length = len(items)

        def restore() -> None:
            del items[length:]

        return restore

    return HookDefinition(
        state=state if state is not None else [],
        flush=lambda items: events.append(f"flush {name} {items}"),
        discard=lambda items: events.append(f"discard {name} {items}"),
        checkpoint=checkpoint,
    )


# --- registry -----------------------------------------------------------------------------


def test_keys_compare_by_identity() -> None:
    hooks = TransactionHooks()
    first, second = HookKey[int]("same"), HookKey[int]("same")
    hooks.set(first, HookDefinition(state=1, flush=lambda _: None))

    assert hooks.has(first)
    assert not hooks.has(second)
    assert repr(first) == "HookKey('same')"


def test_get_raises_for_unregistered_key() -> None:
    key = HookKey[int]("missing")

    with pytest.raises(HookNotRegisteredError) as info:
        TransactionHooks().get(key)

    assert info.value.key is key
    assert isinstance(info.value, KeyError)


def test_get_or_insert_registers_once_and_get_returns_the_same_state() -> None:
    hooks = TransactionHooks()
    key = HookKey[list[str]]("items")
    created: list[int] = []

    def factory() -> HookDefinition[list[str]]:
        created.append(1)
        return HookDefinition(state=[], flush=lambda _: None)

    hooks.get_or_insert(key, factory).append("a")
    hooks.get_or_insert(key, factory).append("b")

    assert created == [1]
    assert hooks.get(key) == ["a", "b"]


def test_delete_removes_and_ignores_absent_keys() -> None:
    hooks = TransactionHooks()
    key = HookKey[int]("k")
    hooks.set(key, HookDefinition(state=1, flush=lambda _: None))

    hooks.delete(key)
    hooks.delete(key)

    assert not hooks.has(key)


# --- transaction_hooks() ------------------------------------------------------------------


async def test_flushes_after_the_body_and_not_before() -> None:
    events: list[str] = []
    key = HookKey[list[int]]("k")

    async with transaction_hooks() as hooks:
        hooks.get_or_insert(key, lambda: recording_hook(events, "k")).append(1)
        hooks.get(key).append(2)
        assert events == []

    assert events == ["flush k [1, 2]"]


async def test_discards_when_the_body_raises_and_reraises() -> None:
    events: list[str] = []

    async def body() -> None:
        async with transaction_hooks() as hooks:
            hooks.set(HookKey[list[int]]("k"), recording_hook(events, "k", [7]))
            raise Boom

    with pytest.raises(Boom):
        await body()

    assert events == ["discard k [7]"]


async def test_discard_errors_are_suppressed_in_favour_of_the_body_error() -> None:
    def failing_discard(_: int) -> None:
        raise RuntimeError("discard failed")

    async def body() -> None:
        async with transaction_hooks() as hooks:
            hooks.set(HookKey[int]("k"), HookDefinition(state=1, flush=lambda _: None, discard=failing_discard))
            raise Boom

    with pytest.raises(Boom):
        await body()


async def test_cancellation_discards_and_propagates() -> None:
    events: list[str] = []
    entered = asyncio.Event()
    never = asyncio.Event()

    async def body() -> None:
        async with transaction_hooks() as hooks:
            hooks.set(HookKey[list[int]]("k"), recording_hook(events, "k", [1]))
            entered.set()
            await never.wait()

    task = asyncio.create_task(body())
    await asyncio.wait_for(entered.wait(), TIMEOUT)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, TIMEOUT)
    assert events == ["discard k [1]"]


async def test_flush_errors_propagate_from_the_context_manager() -> None:
    def failing_flush(_: int) -> None:
        raise Boom

    with pytest.raises(Boom):
        async with transaction_hooks() as hooks:
            hooks.set(HookKey[int]("k"), HookDefinition(state=1, flush=failing_flush))


async def test_flushes_run_concurrently() -> None:
    first_started, second_started = asyncio.Event(), asyncio.Event()

    async def first(_: None) -> None:
        first_started.set()
        # Only completes if the second flush runs while this one is still waiting.
        await asyncio.wait_for(second_started.wait(), TIMEOUT)

    async def second(_: None) -> None:
        second_started.set()
        await asyncio.wait_for(first_started.wait(), TIMEOUT)

    async with transaction_hooks() as hooks:
        hooks.set(HookKey[None]("first"), HookDefinition(state=None, flush=first))
        hooks.set(HookKey[None]("second"), HookDefinition(state=None, flush=second))

    assert first_started.is_set()
    assert second_started.is_set()


async def test_first_flush_error_is_raised_after_all_flushes_settle() -> None:
    finished: list[str] = []
    first_error, second_error = Boom("first"), Boom("second")

    def fails_at_once(_: None) -> None:
        raise first_error

    async def fails_later(_: None) -> None:
        await asyncio.sleep(0)
        raise second_error

    async def slow_but_fine(_: None) -> None:
        for _step in range(5):
            await asyncio.sleep(0)
        finished.append("slow")

    handle = create_transaction_hooks()
    handle.hooks.set(HookKey[None]("a"), HookDefinition(state=None, flush=fails_at_once))
    handle.hooks.set(HookKey[None]("b"), HookDefinition(state=None, flush=fails_later))
    handle.hooks.set(HookKey[None]("c"), HookDefinition(state=None, flush=slow_but_fine))

    with pytest.raises(Boom) as info:
        await handle.flush()

    assert info.value is first_error
    assert finished == ["slow"]


async def test_discard_runs_every_discard_and_raises_the_first_error() -> None:
    discarded: list[str] = []

    async def fails(_: None) -> None:
        raise Boom("discard")

    async def records(_: None) -> None:
        await asyncio.sleep(0)
        discarded.append("ok")

    handle = create_transaction_hooks()
    handle.hooks.set(HookKey[None]("a"), HookDefinition(state=None, flush=lambda _: None, discard=fails))
    handle.hooks.set(HookKey[None]("b"), HookDefinition(state=None, flush=lambda _: None))
    handle.hooks.set(HookKey[None]("c"), HookDefinition(state=None, flush=lambda _: None, discard=records))

    with pytest.raises(Boom):
        await handle.discard()

    assert discarded == ["ok"]


async def test_after_flush_the_hooks_are_a_fresh_empty_buffer() -> None:
    events: list[str] = []
    handle = create_transaction_hooks()
    key = HookKey[list[int]]("k")
    handle.hooks.get_or_insert(key, lambda: recording_hook(events, "k")).append(1)

    await handle.flush()
    assert not handle.hooks.has(key)

    handle.hooks.get_or_insert(key, lambda: recording_hook(events, "k")).append(2)
    await handle.flush()
    await handle.flush()

    assert events == ["flush k [1]", "flush k [2]"]


# --- manual mode --------------------------------------------------------------------------


async def test_manual_flush_runs_hooks_with_their_state() -> None:
    events: list[str] = []
    handle = create_transaction_hooks()
    handle.hooks.set(HookKey[list[int]]("k"), recording_hook(events, "k", [3]))

    await handle.flush()

    assert events == ["flush k [3]"]


async def test_manual_discard_skips_flush() -> None:
    events: list[str] = []
    handle = create_transaction_hooks()
    handle.hooks.set(HookKey[list[int]]("k"), recording_hook(events, "k", [3]))

    await handle.discard()
    await handle.flush()

    assert events == ["discard k [3]"]


# --- savepoints ---------------------------------------------------------------------------


async def test_nested_savepoints_trim_exactly_the_later_changes() -> None:
    events: list[str] = []
    outer_key, middle_key, inner_key = HookKey[list[int]]("a"), HookKey[list[int]]("b"), HookKey[list[int]]("c")
    handle = create_transaction_hooks()
    hooks = handle.hooks
    hooks.get_or_insert(outer_key, lambda: recording_hook(events, "a")).append(1)

    outer = hooks.create_savepoint()
    hooks.get(outer_key).append(2)
    hooks.get_or_insert(middle_key, lambda: recording_hook(events, "b")).append(20)

    inner = hooks.create_savepoint()
    hooks.get(outer_key).append(3)
    hooks.get(middle_key).append(30)
    hooks.get_or_insert(inner_key, lambda: recording_hook(events, "c")).append(300)

    await inner.rollback()
    assert events == ["discard c [300]"]
    assert hooks.get(outer_key) == [1, 2]
    assert hooks.get(middle_key) == [20]
    assert not hooks.has(inner_key)

    await outer.release()
    await handle.flush()

    assert sorted(events) == ["discard c [300]", "flush a [1, 2]", "flush b [20]"]


async def test_outer_rollback_after_inner_release_undoes_both() -> None:
    events: list[str] = []
    key, later = HookKey[list[int]]("a"), HookKey[list[int]]("b")
    hooks = TransactionHooks()
    hooks.get_or_insert(key, lambda: recording_hook(events, "a")).append(1)

    outer = hooks.create_savepoint()
    inner = hooks.create_savepoint()
    hooks.get(key).append(2)
    hooks.get_or_insert(later, lambda: recording_hook(events, "b")).append(3)
    await inner.release()
    await outer.rollback()

    assert hooks.get(key) == [1]
    assert not hooks.has(later)
    assert events == ["discard b [3]"]


async def test_rollback_puts_back_deleted_and_replaced_hooks() -> None:
    events: list[str] = []
    deleted, replaced = HookKey[list[int]]("deleted"), HookKey[list[int]]("replaced")
    hooks = TransactionHooks()
    hooks.set(deleted, recording_hook(events, "deleted", [1]))
    hooks.set(replaced, recording_hook(events, "replaced", [2]))

    savepoint = hooks.create_savepoint()
    hooks.delete(deleted)
    hooks.set(replaced, recording_hook(events, "replacement", [9]))
    await savepoint.rollback()

    assert hooks.get(deleted) == [1]
    assert hooks.get(replaced) == [2]
    assert events == ["discard replacement [9]"]


async def test_rollback_awaits_async_discards_and_ignores_their_errors() -> None:
    discarded: list[str] = []

    async def records(_: None) -> None:
        await asyncio.sleep(0)
        discarded.append("async")

    def fails(_: None) -> None:
        raise Boom

    hooks = TransactionHooks()
    savepoint = hooks.create_savepoint()
    hooks.set(HookKey[None]("fails"), HookDefinition(state=None, flush=lambda _: None, discard=fails))
    hooks.set(HookKey[None]("async"), HookDefinition(state=None, flush=lambda _: None, discard=records))

    await savepoint.rollback()

    assert discarded == ["async"]


async def test_hooks_without_checkpoint_keep_their_state_on_rollback() -> None:
    key = HookKey[list[int]]("k")
    hooks = TransactionHooks()
    hooks.set(key, HookDefinition(state=[1], flush=lambda _: None))

    savepoint = hooks.create_savepoint()
    hooks.get(key).append(2)
    await savepoint.rollback()

    assert hooks.get(key) == [1, 2]


async def test_savepoint_context_manager_releases_on_success() -> None:
    events: list[str] = []
    key = HookKey[list[int]]("k")
    handle = create_transaction_hooks()

    async with handle.hooks.savepoint() as hooks:
        assert hooks is handle.hooks
        hooks.get_or_insert(key, lambda: recording_hook(events, "k")).append(1)

    await handle.flush()
    assert events == ["flush k [1]"]


async def test_savepoint_context_manager_rolls_back_and_reraises() -> None:
    events: list[str] = []
    key = HookKey[list[int]]("k")
    handle = create_transaction_hooks()
    handle.hooks.get_or_insert(key, lambda: recording_hook(events, "k")).append(1)

    async def body() -> None:
        async with handle.hooks.savepoint() as hooks:
            hooks.get(key).append(2)
            raise Boom

    with pytest.raises(Boom):
        await body()

    await handle.flush()
    assert events == ["flush k [1]"]


async def test_savepoint_context_manager_rolls_back_on_cancellation() -> None:
    key = HookKey[list[int]]("k")
    hooks = TransactionHooks()
    hooks.set(key, recording_hook([], "k", [1]))
    entered = asyncio.Event()

    async def body() -> None:
        async with hooks.savepoint():
            hooks.get(key).append(2)
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(body())
    await asyncio.wait_for(entered.wait(), TIMEOUT)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, TIMEOUT)

    assert hooks.get(key) == [1]


async def test_a_savepoint_resolves_only_once() -> None:
    hooks = TransactionHooks()
    savepoint = hooks.create_savepoint()
    await savepoint.release()

    with pytest.raises(RuntimeError):
        await savepoint.rollback()
    with pytest.raises(RuntimeError):
        await savepoint.release()


async def test_a_savepoint_cannot_outlive_a_flush() -> None:
    handle = create_transaction_hooks()
    savepoint = handle.hooks.create_savepoint()
    await handle.flush()

    with pytest.raises(RuntimeError):
        await savepoint.rollback()
